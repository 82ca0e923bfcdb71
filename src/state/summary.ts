// The summary object of the watch command (issue 2 §4), built from a (reconciled) RunState.
import { toUsdString, UsdSum } from "./money.js";
import { executionsOf } from "./rows.js";
import { selectElapsedMs, selectTotals } from "./selectors.js";
import { attemptsKey, type RunState, type RunStatus, type StepStatus, type StepTrace, type Trace } from "./types.js";

export interface SummaryTokens {
  readonly prompt: number | null;
  readonly completion: number | null;
  readonly total: number | null;
}

export interface SummaryStep {
  readonly stepId: string;
  readonly name: string | null;
  readonly attempt: number;
  readonly loopIndex: number | null;
  readonly status: StepStatus;
  readonly durationMs: number | null;
  readonly modelUsed: string | null;
  readonly tokens: SummaryTokens | null;
  readonly costUsd: string | null;
}

/**
 * The summary object without its steps: a writer appends `steps` from summarySteps(state)
 * piece by piece, so a run of hundreds of thousands of steps is never one array or one string.
 */
export interface Summary {
  readonly type: "summary";
  readonly executionId: string;
  readonly runId: string | null;
  readonly flow: string;
  readonly status: RunStatus;
  /** ISO 8601, or null when unknown. */
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly durationMs: number | null;
  readonly stepCount: number | null;
  /** Exact sum of the latest attempt of every step and loop iteration (the documented total). */
  readonly costUsd: string | null;
  /** costUsd plus every failed attempt; null when the attempts could not all be fetched. */
  readonly costWithRetriesUsd: string | null;
  readonly tokens: { readonly prompt: number; readonly completion: number; readonly total: number };
  readonly retries: number;
  readonly failedSteps: number;
  readonly malformedFrames: number;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The summary's `steps`, one entry per step, or per iteration for a loop step. */
export function* summarySteps(state: RunState): Generator<SummaryStep> {
  for (const row of state.steps.rows()) {
    for (const it of executionsOf(row)) {
      yield {
        stepId: row.stepId,
        name: row.name,
        attempt: it.attempt,
        loopIndex: it.loopIndex,
        status: it.status,
        durationMs: it.durationMs,
        modelUsed: it.modelUsed,
        tokens: it.tokens,
        costUsd: it.costUsd,
      };
    }
  }
}

export function buildSummary(
  state: RunState,
  opts: { readonly executionId: string; readonly flow: string; readonly costWithRetriesUsd: string | null },
): Summary {
  const totals = selectTotals(state);
  return {
    type: "summary",
    executionId: opts.executionId,
    runId: state.runId,
    flow: opts.flow,
    status: state.status,
    startedAt: iso(state.startedAt),
    completedAt: iso(state.completedAt),
    // The end time is the only "now" a finished run has; a running one has no duration yet.
    durationMs: state.completedAt === null ? state.durationMs : selectElapsedMs(state, state.completedAt),
    stepCount: state.stepCount,
    costUsd: totals.costUsd,
    costWithRetriesUsd: opts.costWithRetriesUsd,
    tokens: totals.tokens,
    retries: totals.retries,
    failedSteps: totals.failedSteps,
    malformedFrames: state.malformedFrames,
  };
}

/**
 * The trace's documented total (latest attempt of every step and loop iteration) plus
 * the cost of every earlier attempt in `attemptsByKey` (keyed by attemptsKey); null
 * when the attempts are unknown (map null) or no cost at all is known.
 */
export function costWithRetries(
  trace: Trace,
  attemptsByKey: ReadonlyMap<string, readonly StepTrace[]> | null,
): string | null {
  if (attemptsByKey === null) return null;
  const costs = new TraceCosts();
  for (const step of trace.steps) costs.add(step);
  return costs.withRetries(attemptsByKey);
}

/** costWithRetries one StepTrace at a time (for a Trace whose steps are not kept). */
export class TraceCosts {
  private readonly sum = new UsdSum();
  private known = false;
  // What withRetries needs of each step, in columns rather than one object per step.
  private readonly stepIds: string[] = [];
  private readonly loopIndexes: (number | null)[] = [];
  private readonly attempts: number[] = [];

  add(step: StepTrace): void {
    if (step.costUsd != null && this.sum.add(step.costUsd)) this.known = true;
    this.stepIds.push(step.stepId);
    this.loopIndexes.push(step.loopIndex ?? null);
    this.attempts.push(step.attempt);
  }

  withRetries(attemptsByKey: ReadonlyMap<string, readonly StepTrace[]> | null): string | null {
    if (attemptsByKey === null) return null;
    const sum = new UsdSum(this.sum.total());
    let known = this.known;
    // The trace's attempt of each retried execution (keys for those steps only: a key
    // per step of a 250,000-step trace costs more than the whole sum).
    const retried = new Set<string>();
    for (const key of attemptsByKey.keys()) retried.add(key.slice(0, key.lastIndexOf("#")));
    const latest = new Map<string, number>();
    if (retried.size > 0) {
      for (let k = 0; k < this.stepIds.length; k++) {
        const stepId = this.stepIds[k] as string;
        if (retried.has(stepId)) latest.set(attemptsKey(stepId, this.loopIndexes[k]), this.attempts[k] as number);
      }
    }
    for (const [key, attempts] of attemptsByKey) {
      const current = latest.get(key) ?? Math.max(...attempts.map((a) => a.attempt));
      for (const a of attempts) if (a.attempt !== current && a.costUsd != null && sum.add(a.costUsd)) known = true;
    }
    return known ? toUsdString(sum.total()) : null;
  }
}
