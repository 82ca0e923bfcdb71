// Plans a simulated run: every attempt, its timing, tokens, cost, output and error,
// drawn from a seeded PRNG before the run starts. A run then only releases the plan's
// entries on a timer, so the same seed gives the same trace whatever the timers do.
import type { ValidFlow, ValidStep } from "./flows.js";
import { LIST_PRICES, costUsd, type ModelPrice } from "./pricing.js";
import { drawInt, mulberry32, textOfSize, words, type Random } from "./random.js";

/** Snapshots larger than this (JSON text, UTF-8 bytes) are stored truncated in the trace. */
export const SNAPSHOT_LIMIT_BYTES = 64 * 1024;
/** Time between submission and run_started, at speed 1. */
const QUEUE_DELAY_MS = 300;

export interface StepError {
  readonly code: string;
  readonly message: string;
}

/** One attempt (of one loop iteration) of one step, as finally recorded. Times are ms after submission. */
export interface AttemptRecord {
  readonly stepId: string;
  readonly name: string;
  /** Position of the step in the flow (0-based). */
  readonly stepIndex: number;
  readonly attempt: number;
  readonly loopIndex: number | null;
  /** Final status; the trace shows `running` while a released attempt has not finished. */
  readonly status: "completed" | "failed" | "skipped";
  readonly startedAtMs?: number;
  readonly completedAtMs?: number;
  readonly durationMs?: number;
  readonly modelUsed?: string;
  readonly tokens?: { readonly prompt: number; readonly completion: number; readonly total: number };
  readonly costUsd?: string;
  /** Present only when the run was started with `trace: true`. */
  readonly inputContext?: unknown;
  readonly outputContext?: unknown;
  /** Present on every failed attempt. */
  readonly errorContext?: Record<string, unknown>;
  readonly inputSizeBytes?: number;
  readonly outputSizeBytes?: number;
  readonly truncated: boolean;
  /** What the attempt received and produced, whole (stream payloads). */
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: StepError & { readonly willRetry: boolean };
  readonly skipReason?: string;
}

/** One moment of the run; `record` indexes RunPlan.records. */
export type PlanEntry =
  | { readonly at: number; readonly kind: "run_started" }
  | { readonly at: number; readonly kind: "attempt_started"; readonly record: number; readonly iterations: number | null }
  | { readonly at: number; readonly kind: "attempt_finished"; readonly record: number }
  | { readonly at: number; readonly kind: "step_skipped"; readonly record: number }
  | { readonly at: number; readonly kind: "loop_completed"; readonly stepId: string; readonly iterations: number }
  | {
      readonly at: number;
      readonly kind: "run_finished";
      readonly status: "completed" | "failed";
      readonly result?: unknown;
      readonly error?: StepError & { readonly stepId: string };
    };

export interface RunPlan {
  readonly records: readonly AttemptRecord[];
  /** Ordered by `at`; entries with the same `at` happen in this order. */
  readonly entries: readonly PlanEntry[];
}

export interface PlanOptions {
  /** The run's own seed (the server mixes its seed with the flow and the run's ordinal). */
  readonly seed: number;
  /** Every duration is divided by this. */
  readonly speed: number;
  readonly trace: boolean;
  readonly message?: string | undefined;
  readonly parameters?: Record<string, unknown> | undefined;
}

const DEFAULT_ERROR: StepError = { code: "MODEL_ERROR", message: "model call failed" };

function draw(random: Random, range: number | readonly [number, number]): number {
  return typeof range === "number" ? range : drawInt(random, range[0], range[1]);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "null", "utf8");
}

/** Cuts the strings of a JSON value (depth first) so that its text fits in about `budget` characters. */
function truncateSnapshot(value: unknown, budget: { left: number }): unknown {
  if (typeof value === "string") {
    const kept = value.slice(0, Math.max(0, budget.left));
    budget.left -= kept.length;
    return kept;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      if (budget.left <= 0) break;
      out.push(truncateSnapshot(item, budget));
    }
    return out;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (budget.left <= 0) break;
      budget.left -= key.length;
      out[key] = truncateSnapshot(item, budget);
    }
    return out;
  }
  budget.left -= String(value).length;
  return value;
}

/** A stored snapshot: the value itself, or a truncated copy when it is over the limit. */
function snapshot(value: unknown): { stored: unknown; sizeBytes: number; truncated: boolean } {
  const sizeBytes = jsonBytes(value);
  if (sizeBytes <= SNAPSHOT_LIMIT_BYTES) return { stored: value, sizeBytes, truncated: false };
  return { stored: truncateSnapshot(value, { left: SNAPSHOT_LIMIT_BYTES - 1024 }), sizeBytes, truncated: true };
}

function textOf(output: unknown): string {
  if (output !== null && typeof output === "object" && "text" in output && typeof output.text === "string") return output.text;
  return JSON.stringify(output) ?? "";
}

export function planRun(flow: ValidFlow, options: PlanOptions): RunPlan {
  const random = mulberry32(options.seed);
  const scaled = (ms: number): number => Math.round(ms / options.speed);
  const prices: Record<string, ModelPrice> = { ...LIST_PRICES, ...flow.prices };
  const records: AttemptRecord[] = [];
  const entries: PlanEntry[] = [];

  let at = scaled(QUEUE_DELAY_MS);
  entries.push({ at, kind: "run_started" });
  let previous: { stepId: string; output: unknown } | null = null;

  const inputFor = (step: ValidStep, loopIndex: number | null): unknown => {
    const upstream = previous === null ? (options.message ?? "") : textOf(previous.output).slice(0, 200);
    const base: Record<string, unknown> =
      step.model === undefined
        ? { from: previous?.stepId ?? "request" }
        : {
            model: step.model,
            messages: [
              { role: "system", content: `You are the "${step.name ?? step.id}" step of ${flow.ref}.` },
              { role: "user", content: upstream },
            ],
          };
    if (loopIndex !== null) base.loopIndex = loopIndex;
    if (previous === null && options.parameters !== undefined) base.parameters = options.parameters;
    return base;
  };

  const outputFor = (step: ValidStep, loopIndex: number | null): unknown => {
    if (step.output !== undefined) return step.output;
    const text = step.outputBytes !== undefined ? textOfSize(random, step.outputBytes) : words(random, drawInt(random, 20, 60));
    return loopIndex === null ? { text } : { loopIndex, text };
  };

  for (const [stepIndex, step] of flow.steps.entries()) {
    const name = step.name ?? step.id;
    if (step.skip !== false) {
      const skipReason = step.skip === true ? "skipped by the flow definition" : step.skip;
      records.push({ stepId: step.id, name, stepIndex, attempt: 1, loopIndex: null, status: "skipped", truncated: false, skipReason });
      entries.push({ at, kind: "step_skipped", record: records.length - 1 });
      continue;
    }
    const iterations = step.loop?.iterations ?? null;
    for (let iteration = 0; iteration < (iterations ?? 1); iteration++) {
      const loopIndex = iterations === null ? null : iteration;
      for (let attempt = 1; attempt <= step.maxAttempts; attempt++) {
        const scripted = attempt <= step.failAttempts && (step.failLoopIndex === undefined || step.failLoopIndex === loopIndex);
        const fails = scripted || (step.failureRate > 0 && random() < step.failureRate);
        const fullDuration = draw(random, step.durationMs);
        const durationMs = scaled(fails ? fullDuration * (0.3 + 0.6 * random()) : fullDuration);

        let tokens: AttemptRecord["tokens"];
        let cost: string | undefined;
        if (step.model !== undefined) {
          const prompt = draw(random, step.promptTokens);
          const completion = fails ? Math.floor(draw(random, step.completionTokens) * random() * 0.5) : draw(random, step.completionTokens);
          const reasoning = step.reasoningTokens === undefined ? 0 : draw(random, step.reasoningTokens);
          tokens = { prompt, completion, total: prompt + completion + reasoning };
          const price = prices[step.model];
          if (price !== undefined) cost = costUsd(price, prompt, completion + reasoning);
        }

        const input = inputFor(step, loopIndex);
        const inputSnapshot = snapshot(input);
        const common = {
          stepId: step.id,
          name,
          stepIndex,
          attempt,
          loopIndex,
          startedAtMs: at,
          completedAtMs: at + durationMs,
          durationMs,
          ...(step.model !== undefined ? { modelUsed: step.model } : {}),
          ...(tokens !== undefined ? { tokens } : {}),
          ...(cost !== undefined ? { costUsd: cost } : {}),
          ...(options.trace ? { inputContext: inputSnapshot.stored } : {}),
          inputSizeBytes: inputSnapshot.sizeBytes,
          input,
        };
        entries.push({ at, kind: "attempt_started", record: records.length, iterations });
        at += durationMs;

        if (fails) {
          const willRetry = attempt < step.maxAttempts;
          const error = step.error ?? DEFAULT_ERROR;
          records.push({
            ...common,
            status: "failed",
            errorContext: { ...error, attempt, willRetry, ...(step.model !== undefined ? { model: step.model } : {}) },
            truncated: inputSnapshot.truncated,
            error: { ...error, willRetry },
          });
          entries.push({ at, kind: "attempt_finished", record: records.length - 1 });
          if (!willRetry) {
            entries.push({ at, kind: "run_finished", status: "failed", error: { ...error, stepId: step.id } });
            return { records, entries };
          }
          at += scaled(draw(random, step.retryDelayMs));
          continue;
        }

        const output = outputFor(step, loopIndex);
        const outputSnapshot = snapshot(output);
        records.push({
          ...common,
          status: "completed",
          ...(options.trace ? { outputContext: outputSnapshot.stored } : {}),
          outputSizeBytes: outputSnapshot.sizeBytes,
          truncated: inputSnapshot.truncated || outputSnapshot.truncated,
          output,
        });
        entries.push({ at, kind: "attempt_finished", record: records.length - 1 });
        previous = { stepId: step.id, output };
        break;
      }
    }
    if (iterations !== null) entries.push({ at, kind: "loop_completed", stepId: step.id, iterations });
  }
  entries.push({ at, kind: "run_finished", status: "completed", result: previous?.output ?? null });
  return { records, entries };
}
