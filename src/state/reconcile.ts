// The full Trace is the authority: attempts, loop indexes, statuses, times, models,
// tokens, costs and the run summary come from it. What it lacks is kept from the
// stream: names (a StepTrace has none), previews, the last error, and the display
// order (rows keep their first-seen position; steps only in the trace are appended in
// trace order). Loop steps (several StepTraces with one stepId) become one row with
// an IterationRow per loop index.
import { canonicalUsd } from "./money.js";
import {
  aggregateRows,
  isTerminal,
  mutableTable,
  parseTimestamp,
  rowFromExecutions,
  toRunStatus,
  toStepStatus,
  toTokens,
} from "./rows.js";
import type { IterationRow, RunState, StepRow, StepStatus, StepTrace, Trace } from "./types.js";

export function reconcileTrace(state: RunState, trace: Trace, names?: Readonly<Record<string, string>>): RunState {
  // In place, like the reducer: the old rows become garbage as they are replaced.
  const table = mutableTable(state.steps);
  const rows = table.rows();
  // StepTraces grouped by row position (loop steps have several; most steps one, kept
  // without an array). A step the table knows keeps its position; the others take the
  // next ones in trace order. Positions rather than a Map of every step id: a Map of
  // hundreds of thousands of ids is slow to build.
  const groups: (StepTrace | StepTrace[] | undefined)[] = [];
  const added = new Map<string, number>();
  for (const step of trace.steps) {
    let at = table.get(step.stepId)?.order;
    if (at === undefined) {
      at = added.get(step.stepId);
      if (at === undefined) {
        at = table.size + added.size;
        added.set(step.stepId, at);
      }
    }
    const group = groups[at];
    if (group === undefined) groups[at] = step;
    else if (Array.isArray(group)) group.push(step);
    else groups[at] = [group, step];
  }
  for (let at = 0; at < groups.length; at++) {
    const group = groups[at];
    if (group === undefined) continue;
    const traces = Array.isArray(group) ? group : [group];
    const known = at < rows.length ? rows[at] : undefined;
    table.put(rowFromTrace((traces[0] as StepTrace).stepId, traces, known, at, names));
  }
  const sums = aggregateRows(table.rows());
  const run = trace.flowRun;
  const incoming = toRunStatus(run.status);
  const status = isTerminal(state.status) && !isTerminal(incoming) ? state.status : incoming;
  return {
    ...state,
    ...sums,
    runId: run.id,
    flowId: run.flowId ?? state.flowId,
    status,
    startedAt: parseTimestamp(run.startedAt) ?? state.startedAt,
    completedAt: parseTimestamp(run.completedAt) ?? state.completedAt,
    durationMs: run.durationMs ?? state.durationMs,
    stepCount: run.stepCount ?? state.stepCount,
    steps: table,
    version: state.version + 1,
  };
}

function iterationFromTrace(t: StepTrace, fallback: StepStatus): IterationRow {
  const startedAt = parseTimestamp(t.startedAt);
  const completedAt = parseTimestamp(t.completedAt);
  return {
    loopIndex: t.loopIndex ?? null,
    status: toStepStatus(t.status) ?? fallback,
    attempt: t.attempt,
    startedAt,
    completedAt,
    durationMs: t.durationMs ?? (startedAt !== null && completedAt !== null ? completedAt - startedAt : null),
    modelUsed: t.modelUsed ?? null,
    tokens: toTokens(t.tokens),
    costUsd: canonicalUsd(t.costUsd),
  };
}

/** Latest attempt per loop index (a Trace should hold one already), ordered by loop index. */
function latestPerLoopIndex(traces: readonly StepTrace[]): readonly StepTrace[] {
  if (traces.length === 1) return traces;
  const latest = new Map<number | null, StepTrace>();
  for (const t of traces) {
    const key = t.loopIndex ?? null;
    const seen = latest.get(key);
    if (seen === undefined || t.attempt >= seen.attempt) latest.set(key, t);
  }
  return [...latest.values()].sort((a, b) => (a.loopIndex ?? -1) - (b.loopIndex ?? -1));
}

function errorContextLine(t: StepTrace): string | null {
  const ctx = t.errorContext;
  if (typeof ctx === "string") return ctx;
  if (ctx !== null && typeof ctx === "object") {
    for (const key of ["message", "error"]) {
      const value = (ctx as Record<string, unknown>)[key];
      if (typeof value === "string") return value;
    }
  }
  return null;
}

function rowFromTrace(
  stepId: string,
  traces: readonly StepTrace[],
  known: StepRow | undefined,
  order: number,
  names: Readonly<Record<string, string>> | undefined,
): StepRow {
  const latest = latestPerLoopIndex(traces);
  const fallback = known?.status ?? "pending";
  const executions = latest.map((t) => iterationFromTrace(t, fallback));
  const isLoop = latest.some((t) => t.loopIndex != null);
  const retries = executions.reduce((n, it) => n + it.attempt - 1, 0);
  const last = latest[latest.length - 1];
  const traceError = last !== undefined && executions[executions.length - 1]?.status === "failed" ? errorContextLine(last) : null;
  return rowFromExecutions(
    {
      stepId,
      name: known?.name ?? names?.[stepId] ?? null,
      order,
      lastError: known?.lastError ?? traceError,
      lastInput: known?.lastInput ?? null,
      lastOutput: known?.lastOutput ?? null,
    },
    executions,
    isLoop,
    retries,
    executions.length,
  );
}
