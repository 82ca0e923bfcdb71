// Comparing two runs (`noukai-top diff`): per step execution (matched by step id and
// loop index), the duration and cost of each run and the difference b - a, the steps
// present in only one run, then run totals and the ratios b / a. Costs are exact
// decimals (state/money.ts); a difference is unknown when either side is.
import type { ExportContent } from "../api/exportFile.js";
import type { StepTrace } from "../api/schemas.js";
import { addAmounts, parseUsd, subtractAmounts, toUsdString } from "../state/money.js";
import { attemptsKey, type UsdAmount } from "../state/types.js";
import { traceCostWithRetries } from "./runOutput.js";

export interface DiffSide {
  /** What was given on the command line: a file path or an execution id. */
  readonly source: "file" | "run";
  readonly ref: string;
  readonly executionId: string;
  readonly flow: string | null;
  readonly status: string;
  readonly durationMs: number | null;
  /** Sum over the trace's steps (latest attempt of each: the documented total). */
  readonly costUsd: string | null;
  /** costUsd plus failed attempts; null when the attempts of a retried step are not known. */
  readonly costWithRetriesUsd: string | null;
  readonly stepTraces: number;
}

export interface StepSide {
  readonly status: string;
  readonly attempt: number;
  readonly durationMs: number | null;
  readonly costUsd: string | null;
}

export interface StepDiff {
  readonly stepId: string;
  readonly loopIndex: number | null;
  /** Name seen on either run's stream (a's first); null when neither file had one. */
  readonly name: string | null;
  /** `both`, or the only run that has this step execution. */
  readonly in: "both" | "a" | "b";
  readonly a: StepSide | null;
  readonly b: StepSide | null;
  /** b - a; null when a side or a value is missing. */
  readonly durationDeltaMs: number | null;
  /** b - a, exact decimal string (negative: b was cheaper); null when a side or a value is missing. */
  readonly costDeltaUsd: string | null;
}

export interface TotalDiff<T> {
  readonly a: T | null;
  readonly b: T | null;
  readonly delta: T | null;
  /** b / a rounded to 4 decimals; null when unknown or a is zero. */
  readonly ratio: number | null;
}

export interface RunDiff {
  readonly type: "diff";
  readonly a: DiffSide;
  readonly b: DiffSide;
  readonly steps: readonly StepDiff[];
  readonly totals: {
    readonly durationMs: TotalDiff<number>;
    readonly costUsd: TotalDiff<string>;
    readonly costWithRetriesUsd: TotalDiff<string>;
    /** Step executions in both runs, only in a, only in b. */
    readonly matched: number;
    readonly onlyA: number;
    readonly onlyB: number;
  };
}

export interface DiffInput {
  readonly source: "file" | "run";
  readonly ref: string;
  readonly content: ExportContent;
}

const RATIO_DIGITS = 4;

function roundRatio(value: number): number | null {
  if (!Number.isFinite(value)) return null;
  const factor = 10 ** RATIO_DIGITS;
  return Math.round(value * factor) / factor;
}

/** Exact b / a to RATIO_DIGITS decimals (half away from zero), as a number; null when a is zero. */
export function amountRatio(a: UsdAmount, b: UsdAmount): number | null {
  if (a.units === 0n) return null;
  // b/a = (b.units * 10^a.scale) / (a.units * 10^b.scale), scaled by 10^RATIO_DIGITS.
  let numerator = b.units * 10n ** BigInt(a.scale + RATIO_DIGITS);
  let denominator = a.units * 10n ** BigInt(b.scale);
  if (denominator < 0n) {
    numerator = -numerator;
    denominator = -denominator;
  }
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const quotient = magnitude / denominator + ((magnitude % denominator) * 2n >= denominator ? 1n : 0n);
  const scaled = Number(negative ? -quotient : quotient);
  return scaled / 10 ** RATIO_DIGITS;
}

function runDuration(content: ExportContent): number | null {
  const run = content.trace.flowRun;
  if (run.durationMs !== null && run.durationMs !== undefined) return run.durationMs;
  const start = run.startedAt == null ? Number.NaN : Date.parse(run.startedAt);
  const end = run.completedAt == null ? Number.NaN : Date.parse(run.completedAt);
  return Number.isFinite(start) && Number.isFinite(end) ? end - start : null;
}

function traceCost(steps: readonly StepTrace[]): string | null {
  let sum: UsdAmount | null = null;
  for (const step of steps) {
    const amount = parseUsd(step.costUsd);
    if (amount !== null) sum = sum === null ? amount : addAmounts(sum, amount);
  }
  return sum === null ? null : toUsdString(sum);
}

function side(input: DiffInput): DiffSide {
  const { content } = input;
  return {
    source: input.source,
    ref: input.ref,
    executionId: content.executionId,
    flow: content.flow,
    status: content.trace.flowRun.status,
    durationMs: runDuration(content),
    costUsd: traceCost(content.trace.steps),
    costWithRetriesUsd: traceCostWithRetries(content.trace, content.attempts),
    stepTraces: content.trace.steps.length,
  };
}

function stepSide(step: StepTrace): StepSide {
  return { status: step.status, attempt: step.attempt, durationMs: step.durationMs ?? null, costUsd: step.costUsd ?? null };
}

function costDelta(a: string | null, b: string | null): string | null {
  const x = parseUsd(a);
  const y = parseUsd(b);
  return x === null || y === null ? null : toUsdString(subtractAmounts(y, x));
}

function numberDelta(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : b - a;
}

function costTotal(a: string | null, b: string | null): TotalDiff<string> {
  const x = parseUsd(a);
  const y = parseUsd(b);
  return {
    a,
    b,
    delta: costDelta(a, b),
    ratio: x === null || y === null ? null : amountRatio(x, y),
  };
}

function nameOf(stepId: string, a: ExportContent, b: ExportContent): string | null {
  return a.names[stepId] ?? b.names[stepId] ?? null;
}

/** Steps in a's order, then those only in b in b's order. */
export function diffRuns(inputA: DiffInput, inputB: DiffInput): RunDiff {
  const a = inputA.content;
  const b = inputB.content;
  const byKeyB = new Map<string, StepTrace>();
  for (const step of b.trace.steps) byKeyB.set(attemptsKey(step.stepId, step.loopIndex), step);
  const seen = new Set<string>();
  const steps: StepDiff[] = [];
  let matched = 0;

  const entry = (stepA: StepTrace | null, stepB: StepTrace | null): StepDiff => {
    const step = (stepA ?? stepB) as StepTrace;
    const sideA = stepA === null ? null : stepSide(stepA);
    const sideB = stepB === null ? null : stepSide(stepB);
    return {
      stepId: step.stepId,
      loopIndex: step.loopIndex ?? null,
      name: nameOf(step.stepId, a, b),
      in: sideA !== null && sideB !== null ? "both" : sideA !== null ? "a" : "b",
      a: sideA,
      b: sideB,
      durationDeltaMs: numberDelta(sideA?.durationMs ?? null, sideB?.durationMs ?? null),
      costDeltaUsd: costDelta(sideA?.costUsd ?? null, sideB?.costUsd ?? null),
    };
  };

  for (const stepA of a.trace.steps) {
    const key = attemptsKey(stepA.stepId, stepA.loopIndex);
    // A trace has one StepTrace per step and loop index; a repeated one is compared once.
    if (seen.has(key)) continue;
    seen.add(key);
    const stepB = byKeyB.get(key) ?? null;
    if (stepB !== null) matched++;
    steps.push(entry(stepA, stepB));
  }
  let onlyB = 0;
  for (const stepB of b.trace.steps) {
    const key = attemptsKey(stepB.stepId, stepB.loopIndex);
    if (seen.has(key)) continue;
    seen.add(key);
    onlyB++;
    steps.push(entry(null, stepB));
  }

  const sideA = side(inputA);
  const sideB = side(inputB);
  return {
    type: "diff",
    a: sideA,
    b: sideB,
    steps,
    totals: {
      durationMs: {
        a: sideA.durationMs,
        b: sideB.durationMs,
        delta: numberDelta(sideA.durationMs, sideB.durationMs),
        ratio:
          sideA.durationMs === null || sideB.durationMs === null || sideA.durationMs === 0
            ? null
            : roundRatio(sideB.durationMs / sideA.durationMs),
      },
      costUsd: costTotal(sideA.costUsd, sideB.costUsd),
      costWithRetriesUsd: costTotal(sideA.costWithRetriesUsd, sideB.costWithRetriesUsd),
      matched,
      onlyA: steps.filter((step) => step.in === "a").length,
      onlyB,
    },
  };
}
