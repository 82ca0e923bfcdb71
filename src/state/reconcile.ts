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
  rowExecution,
  rowFromExecutions,
  toRunStatus,
  toStepStatus,
  toTokens,
  type MutableStepTable,
} from "./rows.js";
import type { IterationRow, RunState, StepRow, StepStatus, StepTrace, Trace } from "./types.js";

export function reconcileTrace(state: RunState, trace: Trace, names?: Readonly<Record<string, string>>): RunState {
  const reconciler = new TraceReconciler(state, names);
  for (const step of trace.steps) reconciler.add(step);
  return reconciler.finish(state, trace.flowRun);
}

/** One StepTrace as read for its row: the execution, and its error line when it failed. */
interface TraceExecution {
  readonly it: IterationRow;
  readonly error: string | null;
}

/** The StepTraces of a step that has more than one (a loop), as executions. */
interface ExecutionGroup {
  readonly stepId: string;
  readonly executions: TraceExecution[];
}

/**
 * reconcileTrace one StepTrace at a time, so that a Trace read as it arrives need not be
 * kept whole (250,000 StepTraces are ~80 MB). The state's table is not changed until
 * finish(): an add() that turns out to be part of an invalid Trace costs nothing. A step
 * with one StepTrace outside a loop (nearly all of them) gets its row at once and keeps
 * nothing else; a loop step keeps its executions until finish(). A step the table knows
 * keeps its position; the others take the next ones in trace order. Positions rather than
 * a Map of every step id: a Map of hundreds of thousands of ids is slow to build.
 */
export class TraceReconciler {
  private readonly table: MutableStepTable;
  private readonly known: readonly StepRow[];
  private readonly names: Readonly<Record<string, string>> | undefined;
  /** Steps not in the table, by position. */
  private readonly added = new Map<string, number>();
  /** The row of a step with one StepTrace so far, outside a loop. */
  private readonly built: (StepRow | undefined)[] = [];
  /** The error line of a failed execution behind a row of `built`, by position (failed steps are few). */
  private readonly builtErrors = new Map<number, string>();
  private readonly groups: (ExecutionGroup | undefined)[] = [];

  constructor(state: RunState, names?: Readonly<Record<string, string>>) {
    this.table = mutableTable(state.steps);
    this.known = this.table.rows();
    this.names = names;
  }

  add(step: StepTrace): void {
    const { stepId } = step;
    let at = this.table.get(stepId)?.order;
    if (at === undefined) {
      at = this.added.get(stepId);
      if (at === undefined) {
        at = this.table.size + this.added.size;
        this.added.set(stepId, at);
      }
    }
    const known = this.known[at];
    const it = iterationFromTrace(step, known?.status ?? "pending");
    const execution: TraceExecution = { it, error: it.status === "failed" ? errorContextLine(step) : null };
    const group = this.groups[at];
    if (group !== undefined) {
      group.executions.push(execution);
      return;
    }
    const built = this.built[at];
    if (built === undefined) {
      if (it.loopIndex === null) {
        this.built[at] = this.rowOf(stepId, [execution], at);
        if (execution.error !== null) this.builtErrors.set(at, execution.error);
      } else {
        this.groups[at] = { stepId, executions: [execution] };
      }
      return;
    }
    // A second StepTrace of a step: the first one's execution is the row's own.
    this.built[at] = undefined;
    const first: TraceExecution = { it: rowExecution(built), error: this.builtErrors.get(at) ?? null };
    this.groups[at] = { stepId, executions: [first, execution] };
  }

  /** The reconciled state: `state` (the one given to the constructor, or its successor with the same table) with every row added. */
  finish(state: RunState, run: Trace["flowRun"]): RunState {
    const { table } = this;
    const end = Math.max(this.built.length, this.groups.length);
    for (let at = 0; at < end; at++) {
      const group = this.groups[at];
      const row = this.built[at] ?? (group === undefined ? undefined : this.rowOf(group.stepId, group.executions, at));
      if (row !== undefined) table.put(row);
    }
    const sums = aggregateRows(table.rows());
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

  private rowOf(stepId: string, executions: readonly TraceExecution[], order: number): StepRow {
    return rowFromTrace(stepId, executions, this.known[order], order, this.names);
  }
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
function latestPerLoopIndex(executions: readonly TraceExecution[]): readonly TraceExecution[] {
  if (executions.length === 1) return executions;
  const latest = new Map<number | null, TraceExecution>();
  for (const e of executions) {
    const seen = latest.get(e.it.loopIndex);
    if (seen === undefined || e.it.attempt >= seen.it.attempt) latest.set(e.it.loopIndex, e);
  }
  return [...latest.values()].sort((a, b) => (a.it.loopIndex ?? -1) - (b.it.loopIndex ?? -1));
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
  all: readonly TraceExecution[],
  known: StepRow | undefined,
  order: number,
  names: Readonly<Record<string, string>> | undefined,
): StepRow {
  const latest = latestPerLoopIndex(all);
  const executions = latest.map((e) => e.it);
  const isLoop = executions.some((it) => it.loopIndex !== null);
  const retries = executions.reduce((n, it) => n + it.attempt - 1, 0);
  const last = latest[latest.length - 1];
  const traceError = last !== undefined && last.it.status === "failed" ? last.error : null;
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
