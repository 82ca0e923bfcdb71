// The run reducer: (state, action) -> state, pure (time only comes from the actions).
//
// Update model (issue 6: 1,000,000 events / 500,000 steps within a 300 MB process).
// Every action returns a new RunState object, and rows (StepRow, IterationRow) are
// immutable objects that are replaced, never mutated. The containers are not copied:
// the step table and a loop row's iterationRows array are updated in place (by the
// reconcile too) and `version` is bumped, so a batch costs O(events), not O(steps). The
// price: a caller must not keep using an older state (or a rows() array) after passing
// it to reduceRun; everything that reads state (selectors, the UI) keys on `version`.
// A `stream/events` batch is applied in one call with one new RunState at the end.
//
// Aggregates (cost, tokens, retries, failed and done steps) are kept incrementally:
// each row replacement adds the new row's contribution and removes the old one's. The
// cost total stays a BigInt amount; selectors turn it into a string.
//
// Loop rows keep the detail of their last LIVE_ITERATIONS_KEPT..2x iterations only (a
// long loop must not grow the state without bound); their sums, counts and the final
// trace's reconcile still cover every iteration.
//
// Replays: the stream replays the whole history on every reconnect. When a connection
// opens with resumed=false after events were already applied, a shadow state is rebuilt
// from scratch out of the new connection's events while the visible state stays on
// screen. Replayed events arrive "now": while rebuilding, an execution (same step, loop
// iteration and attempt) that the visible state already knew keeps its real start and
// end times, so derived durations come out as in one clean pass. Once the shadow has
// applied as many events as the visible state was built from, or the event carrying the
// visible state's last SSE id, it takes over (mergeReplay), keeping names and any row
// the replay lacks. On stream/ended a shadow that has not caught up takes over only if
// it reached a terminal status (then it holds the whole history); else it is dropped.
import { addAmounts, canonicalUsd, parseUsd, subtractAmounts, toUsdString, UsdSum, ZERO_USD } from "./money.js";
import { reconcileTrace } from "./reconcile.js";
import {
  addTokens,
  aggregateRows,
  executionsOf,
  isDone,
  isPlain,
  isTerminal,
  MutableStepTable,
  mutableTable,
  PlainRow,
  subtractTokens,
  toRunStatus,
  toTokens,
  withFields,
} from "./rows.js";
import type { ReceivedEvent } from "../api/signals.js";
import type { PayloadPreview, TraceEvent } from "../api/schemas.js";
import {
  attemptsKey,
  type IterationRow,
  type RunAction,
  type RunState,
  type RunStatus,
  type StepRow,
  type StepStatus,
  type StepTable,
} from "./types.js";

/** A loop row keeps between this many and twice as many iterations in iterationRows. */
export const LIVE_ITERATIONS_KEPT = 128;
/** Longest one-line error kept from an error preview. */
const ERROR_LINE_MAX = 200;

export function initialRunState(executionId: string | null = null): RunState {
  return {
    executionId,
    runId: null,
    flowId: null,
    status: "pending",
    final: false,
    startedAt: null,
    completedAt: null,
    durationMs: null,
    stepCount: null,
    connection: { kind: "idle" },
    connectAttempt: 0,
    steps: new MutableStepTable(),
    retries: 0,
    failedSteps: 0,
    lastError: null,
    malformedFrames: 0,
    unknownEvents: 0,
    eventsApplied: 0,
    lastEventId: null,
    stepsDone: 0,
    costTotal: ZERO_USD,
    costKnownRows: 0,
    costUnknown: 0,
    tokenTotals: { prompt: 0, completion: 0, total: 0 },
    attempts: new Map(),
    connectionsOpened: 0,
    replay: null,
    version: 0,
  };
}

/** A terminal status never goes back to a non-terminal one. */
function nextRunStatus(current: RunStatus, incoming: RunStatus): RunStatus {
  return isTerminal(current) && !isTerminal(incoming) ? current : incoming;
}

function bump(state: RunState, patch: Partial<RunState>): RunState {
  return { ...state, ...patch, version: state.version + 1 };
}

export function reduceRun(state: RunState, action: RunAction): RunState {
  switch (action.type) {
    case "stream/connecting":
      return bump(state, { connection: { kind: "connecting", attempt: action.attempt }, connectAttempt: action.attempt });
    case "stream/opened":
      return streamOpened(state, action.resumed);
    case "stream/events":
      return applyEvents(state, action.events);
    case "stream/malformed":
      // During a replay the frames are seen again: the shadow counts them, the merge keeps the larger count.
      if (state.replay !== null) return withShadow(state, { malformedFrames: state.replay.shadow.malformedFrames + action.count });
      return bump(state, { malformedFrames: state.malformedFrames + action.count });
    case "stream/unknown":
      if (state.replay !== null) return withShadow(state, { unknownEvents: state.replay.shadow.unknownEvents + action.count });
      return bump(state, { unknownEvents: state.unknownEvents + action.count });
    case "stream/closed":
      return bump(state, {
        connection: { kind: "reconnecting", attempt: state.connectAttempt + 1, delayMs: 0, reason: action.reason },
      });
    case "stream/reconnecting":
      return bump(state, {
        connection: { kind: "reconnecting", attempt: action.attempt, delayMs: action.delayMs, reason: action.reason },
      });
    case "stream/ended":
      return bump(settleReplay(state), { connection: { kind: "ended" } });
    case "run/status": {
      const status = nextRunStatus(state.status, toRunStatus(action.status));
      const completedAt = isTerminal(status) ? (state.completedAt ?? action.at) : state.completedAt;
      return bump(state, { status, completedAt });
    }
    case "trace/loaded": {
      // Its steps went to a TraceReconciler: trace/reconciled brings them.
      if (action.stepsTaken === true) return state;
      const reconciled = reconcileTrace(state, action.trace);
      return action.final ? { ...reconciled, final: true, replay: null } : reconciled;
    }
    case "trace/reconciled": {
      const reconciled = action.reconciler.finish(state, action.trace.flowRun);
      return action.final ? { ...reconciled, final: true, replay: null } : reconciled;
    }
    case "attempts/loaded": {
      const attempts = new Map(state.attempts);
      attempts.set(attemptsKey(action.stepId, action.loopIndex), action.attempts);
      return bump(state, { attempts });
    }
    case "offline/loaded": {
      const reconciled = reconcileTrace(state, action.trace, action.names);
      return { ...reconciled, final: true, replay: null, connection: { kind: "offline" } };
    }
  }
}

function withShadow(state: RunState, patch: Partial<RunState>): RunState {
  const replay = state.replay;
  if (replay === null) return state;
  return { ...state, replay: { ...replay, shadow: { ...replay.shadow, ...patch } } };
}

function streamOpened(state: RunState, resumed: boolean): RunState {
  const opened = { connection: { kind: "live" } as const, connectionsOpened: state.connectionsOpened + 1 };
  // resumed: the server continues where the last connection (visible or shadow) stopped.
  if (resumed || state.final || state.eventsApplied === 0) return bump(state, opened);
  return bump(state, {
    ...opened,
    replay: { shadow: initialRunState(state.executionId), targetEvents: state.eventsApplied, targetEventId: state.lastEventId },
  });
}

/** At the end of the stream: a pending shadow takes over only if it holds a whole (terminal) history. */
function settleReplay(state: RunState): RunState {
  const replay = state.replay;
  if (replay === null) return state;
  return isTerminal(replay.shadow.status) ? mergeReplay(state, replay.shadow) : { ...state, replay: null };
}

function applyEvents(state: RunState, events: readonly ReceivedEvent[]): RunState {
  if (state.final || events.length === 0) return state;
  const replay = state.replay;
  if (replay === null) return applyAll(state, events, 0);
  const draft = beginDraft(replay.shadow, state.steps);
  let i = 0;
  let caughtUp = false;
  while (i < events.length && !caughtUp) {
    const received = events[i++] as ReceivedEvent;
    applyEvent(draft, received);
    caughtUp =
      draft.eventsApplied >= replay.targetEvents ||
      (replay.targetEventId !== null && received.id === replay.targetEventId);
  }
  const shadow = finishDraft(replay.shadow, draft);
  if (!caughtUp) return { ...state, replay: { ...replay, shadow } };
  const merged = mergeReplay(state, shadow);
  return i < events.length ? applyAll(merged, events, i) : merged;
}

function applyAll(state: RunState, events: readonly ReceivedEvent[], from: number): RunState {
  const draft = beginDraft(state);
  for (let i = from; i < events.length; i++) applyEvent(draft, events[i] as ReceivedEvent);
  return finishDraft(state, draft);
}

// ---------------------------------------------------------------------------
// Draft: the mutable scalar fields of one batch; one RunState is built at the end.

interface Draft {
  readonly steps: MutableStepTable;
  /** While rebuilding a replay: the visible table, whose known times replayed events keep. */
  readonly known: StepTable | null;
  executionId: string | null;
  runId: string | null;
  flowId: string | null;
  status: RunStatus;
  startedAt: number | null;
  completedAt: number | null;
  stepCount: number | null;
  retries: number;
  failedSteps: number;
  stepsDone: number;
  /** The cost total, kept as a UsdSum for the batch (see money.ts). */
  readonly cost: UsdSum;
  costKnownRows: number;
  costUnknown: number;
  prompt: number;
  completion: number;
  total: number;
  lastError: { readonly stepId: string; readonly message: string } | null;
  eventsApplied: number;
  lastEventId: string | null;
}

function beginDraft(s: RunState, known: StepTable | null = null): Draft {
  return {
    steps: mutableTable(s.steps),
    known,
    executionId: s.executionId,
    runId: s.runId,
    flowId: s.flowId,
    status: s.status,
    startedAt: s.startedAt,
    completedAt: s.completedAt,
    stepCount: s.stepCount,
    retries: s.retries,
    failedSteps: s.failedSteps,
    stepsDone: s.stepsDone,
    cost: new UsdSum(s.costTotal),
    costKnownRows: s.costKnownRows,
    costUnknown: s.costUnknown,
    prompt: s.tokenTotals.prompt,
    completion: s.tokenTotals.completion,
    total: s.tokenTotals.total,
    lastError: s.lastError,
    eventsApplied: s.eventsApplied,
    lastEventId: s.lastEventId,
  };
}

function finishDraft(s: RunState, d: Draft): RunState {
  return {
    ...s,
    executionId: d.executionId,
    runId: d.runId,
    flowId: d.flowId,
    status: d.status,
    startedAt: d.startedAt,
    completedAt: d.completedAt,
    stepCount: d.stepCount,
    retries: d.retries,
    failedSteps: d.failedSteps,
    stepsDone: d.stepsDone,
    costTotal: d.cost.total(),
    costKnownRows: d.costKnownRows,
    costUnknown: d.costUnknown,
    tokenTotals: { prompt: d.prompt, completion: d.completion, total: d.total },
    lastError: d.lastError,
    eventsApplied: d.eventsApplied,
    lastEventId: d.lastEventId,
    version: s.version + 1,
  };
}

/** Puts `next` in the table and moves the aggregates from `old`'s contribution to `next`'s. */
function commit(d: Draft, old: StepRow | undefined, next: StepRow): void {
  d.steps.put(next);
  if (old !== undefined) {
    d.stepsDone += (isDone(next.status) ? 1 : 0) - (isDone(old.status) ? 1 : 0);
    d.failedSteps += (next.status === "failed" ? 1 : 0) - (old.status === "failed" ? 1 : 0);
    d.retries += next.retries - old.retries;
  } else {
    if (isDone(next.status)) d.stepsDone++;
    if (next.status === "failed") d.failedSteps++;
    d.retries += next.retries;
  }
  // Each read once: a PlainRow makes its tokens object when read.
  const oldTokens = old?.tokens ?? null;
  const nextTokens = next.tokens;
  if (oldTokens !== nextTokens) {
    d.prompt += (nextTokens?.prompt ?? 0) - (oldTokens?.prompt ?? 0);
    d.completion += (nextTokens?.completion ?? 0) - (oldTokens?.completion ?? 0);
    d.total += (nextTokens?.total ?? 0) - (oldTokens?.total ?? 0);
  }
  const oldCost = old?.costUsd ?? null;
  if (oldCost !== next.costUsd) {
    if (oldCost !== null && d.cost.add(oldCost, -1)) d.costKnownRows--;
    if (next.costUsd !== null && d.cost.add(next.costUsd)) d.costKnownRows++;
  }
}

// ---------------------------------------------------------------------------
// Events

function applyEvent(d: Draft, received: ReceivedEvent): void {
  const ev = received.event;
  const at = received.at;
  d.eventsApplied++;
  if (received.id !== undefined) d.lastEventId = received.id;
  switch (ev.type) {
    case "run_started":
      d.runId = ev.runId ?? d.runId;
      d.flowId = ev.flowId ?? d.flowId;
      d.stepCount = ev.stepCount ?? d.stepCount;
      d.executionId ??= ev.executionId ?? null;
      d.status = nextRunStatus(d.status, "running");
      d.startedAt ??= at;
      return;
    case "step_started":
      startStep(d, ev.stepId, ev.name ?? null, at);
      return;
    case "step_completed":
      completeStep(d, ev, at);
      return;
    case "step_error":
      failStep(d, ev, at);
      return;
    case "step_paused_for_tool_calls":
      pauseStep(d, ev.stepId, "waiting_tools", at);
      return;
    case "step_paused":
      pauseStep(d, ev.stepId, "paused", at);
      return;
    case "step_input":
      if (ev.inputData !== undefined) keepPreview(d, ev.stepId, "lastInput", ev.inputData, at);
      return;
    case "step_output":
      if (ev.outputData !== undefined) keepPreview(d, ev.stepId, "lastOutput", ev.outputData, at);
      return;
    case "step_progress":
      progressStep(d, ev.stepId, ev.name ?? null, ev.message ?? null, ev.loopIndex ?? null, at);
      return;
    case "loop_completed":
      if (ev.stepId != null && ev.iterations != null) refineIterations(d, ev.stepId, ev.iterations);
      return;
    case "flow_completed": {
      const reported = ev.summary?.["status"];
      const status = typeof reported === "string" ? toRunStatus(reported) : "completed";
      d.status = status === "failed" || status === "cancelled" ? status : "completed";
      d.completedAt = at;
      return;
    }
  }
}

/** A row for a step first seen now, not yet in the table. */
function newRow(d: Draft, stepId: string, name: string | null, status: StepStatus, startedAt: number | null): StepRow {
  return new PlainRow(stepId, name, d.steps.size, status, startedAt, null, null, null, null, null);
}

/** The current execution of a loop row (its last iteration), and the array holding it (updated in place). */
function currentIteration(row: StepRow): { readonly iterations: IterationRow[]; readonly index: number; readonly it: IterationRow } {
  const iterations = row.iterationRows as IterationRow[];
  const index = iterations.length - 1;
  return { iterations, index, it: iterations[index] as IterationRow };
}

function freshIteration(loopIndex: number, startedAt: number | null): IterationRow {
  return {
    loopIndex,
    status: "running",
    attempt: 1,
    startedAt,
    completedAt: null,
    durationMs: null,
    modelUsed: null,
    tokens: null,
    costUsd: null,
  };
}

function minus(a: number | null, b: number | null): number | null {
  return a === null ? null : a - (b ?? 0);
}

function plus(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}

/** Position of the current execution among a row's executions: its loop index, 0 outside a loop. */
function executionIndex(row: StepRow): number {
  return row.isLoop ? (row.loopIndex ?? 0) : 0;
}

type ExecutionTimes = Pick<IterationRow, "attempt" | "status" | "startedAt" | "completedAt">;

/** During a replay rebuild: the visible state's record of execution `index`, attempt `attempt` of a step. */
function knownExecution(d: Draft, stepId: string, index: number, attempt: number): ExecutionTimes | undefined {
  const known = d.known?.get(stepId);
  if (known === undefined) return undefined;
  let execution: ExecutionTimes | undefined;
  if (!known.isLoop) execution = index === 0 ? known : undefined;
  else {
    const first = known.iterationRows[0];
    const it = first === undefined ? undefined : known.iterationRows[index - (first.loopIndex ?? 0)];
    execution = it?.loopIndex === index ? it : undefined;
  }
  return execution?.attempt === attempt ? execution : undefined;
}

/** Start time of an execution: the arrival time, or the earlier one already known (replay). */
function startTime(d: Draft, stepId: string, index: number, attempt: number, at: number): number {
  if (d.known === null) return at;
  const known = knownExecution(d, stepId, index, attempt)?.startedAt ?? null;
  return known !== null && known < at ? known : at;
}

/** End time of an execution that ends as `status`: the arrival time, or the earlier one already known (replay). */
function endTime(d: Draft, row: StepRow, attempt: number, status: StepStatus, at: number): number {
  if (d.known === null) return at;
  const known = knownExecution(d, row.stepId, executionIndex(row), attempt);
  return known !== undefined && known.status === status && known.completedAt !== null && known.completedAt < at
    ? known.completedAt
    : at;
}

function startStep(d: Draft, stepId: string, eventName: string | null, at: number): void {
  if (d.status === "pending") d.status = "running";
  d.startedAt ??= at;
  const row = d.steps.get(stepId);
  if (row === undefined) {
    commit(d, undefined, newRow(d, stepId, eventName, "running", startTime(d, stepId, 0, 1, at)));
    return;
  }
  const name = eventName ?? row.name;
  const index = executionIndex(row);
  switch (row.status) {
    case "running":
      // A duplicate start: nothing new, unless the row was created before its start was seen.
      if (row.startedAt === null || name !== row.name) {
        commit(d, row, withFields(row, { name, startedAt: row.startedAt ?? startTime(d, stepId, index, row.attempt, at) }));
      }
      return;
    case "failed":
      commit(d, row, nextAttempt(row, name, startTime(d, stepId, index, row.attempt + 1, at)));
      return;
    case "completed":
      commit(d, row, nextIteration(row, name, startTime(d, stepId, row.isLoop ? index + 1 : 1, 1, at)));
      return;
    case "waiting_tools":
    case "paused":
    case "pending":
    case "skipped":
      commit(d, row, withStatus(row, "running", name, startTime(d, stepId, index, row.attempt, at)));
      return;
  }
}

function nextAttempt(row: StepRow, name: string | null, at: number): StepRow {
  const attempt = row.attempt + 1;
  if (!row.isLoop) {
    return withFields(row, { name, status: "running", attempt, retries: row.retries + 1, startedAt: at, completedAt: null, durationMs: null });
  }
  const { iterations, index, it } = currentIteration(row);
  iterations[index] = { ...it, status: "running", attempt, startedAt: at, completedAt: null, durationMs: null };
  return withFields(row, {
    name,
    status: "running",
    attempt,
    retries: row.retries + 1,
    completedAt: null,
    durationMs: minus(row.durationMs, it.durationMs),
  });
}

function nextIteration(row: StepRow, name: string | null, at: number): StepRow {
  if (!row.isLoop) {
    const first = { ...(executionsOf(row)[0] as IterationRow), loopIndex: 0 };
    return withFields(row, {
      name,
      status: "running",
      attempt: 1,
      iterations: 2,
      isLoop: true,
      loopIndex: 1,
      completedAt: null,
      iterationRows: [first, freshIteration(1, at)],
    });
  }
  const iterations = row.iterationRows as IterationRow[];
  const loopIndex = (row.loopIndex ?? iterations.length - 1) + 1;
  iterations.push(freshIteration(loopIndex, at));
  if (iterations.length >= 2 * LIVE_ITERATIONS_KEPT) iterations.splice(0, iterations.length - LIVE_ITERATIONS_KEPT);
  return withFields(row, { name, status: "running", attempt: 1, iterations: row.iterations + 1, loopIndex, completedAt: null });
}

/** Status change of the current execution (resume, pause, waiting for tools); sets a missing start. */
function withStatus(row: StepRow, status: StepStatus, name: string | null, at: number | null): StepRow {
  if (!row.isLoop) return withFields(row, { name, status, startedAt: row.startedAt ?? at });
  const { iterations, index, it } = currentIteration(row);
  iterations[index] = { ...it, status, startedAt: it.startedAt ?? at };
  return withFields(row, { name, status, startedAt: row.startedAt ?? at });
}

type CompletedEvent = Extract<TraceEvent, { type: "step_completed" }>;
type ErrorEvent = Extract<TraceEvent, { type: "step_error" }>;

function completeStep(d: Draft, ev: CompletedEvent, arrivedAt: number): void {
  const old = d.steps.get(ev.stepId);
  const row = old ?? newRow(d, ev.stepId, ev.name ?? null, "running", null);
  const name = ev.name ?? row.name;
  const current = row.isLoop ? currentIteration(row).it : row;
  const at = endTime(d, row, current.attempt, "completed", arrivedAt);
  const costUsd = canonicalUsd(ev.costUsd);
  const tokens = toTokens(ev.tokens);
  const durationMs = ev.durationMs ?? (current.startedAt === null ? null : Math.max(0, at - current.startedAt));
  const modelUsed = ev.modelUsed ?? current.modelUsed;
  // A second completion without a new start replaces the first: its cost leaves the sums.
  const wasCompleted = current.status === "completed";
  if (wasCompleted && current.costUsd === null) d.costUnknown--;
  if (costUsd === null) d.costUnknown++;
  if (!row.isLoop) {
    if (isPlain(row) && PlainRow.holds(tokens)) {
      const plain = new PlainRow(row.stepId, name, row.order, "completed", row.startedAt, at, durationMs, modelUsed, tokens, costUsd);
      commit(d, old, plain);
      return;
    }
    // Spelled out rather than spread: a spread copy costs more.
    const next: StepRow = {
      stepId: row.stepId,
      name,
      order: row.order,
      status: "completed",
      attempt: row.attempt,
      retries: row.retries,
      iterations: row.iterations,
      isLoop: false,
      loopIndex: row.loopIndex,
      startedAt: row.startedAt,
      completedAt: at,
      durationMs,
      modelUsed,
      tokens,
      costUsd,
      lastError: row.lastError,
      lastOutput: row.lastOutput,
      lastInput: row.lastInput,
      iterationRows: row.iterationRows,
    };
    commit(d, old, next);
    return;
  }
  const { iterations, index, it } = currentIteration(row);
  iterations[index] = { ...it, status: "completed", completedAt: at, durationMs, modelUsed, tokens, costUsd };
  let rowCost = parseUsd(row.costUsd);
  const replaced = wasCompleted ? parseUsd(it.costUsd) : null;
  const cost = parseUsd(costUsd);
  if (rowCost !== null && replaced !== null) rowCost = subtractAmounts(rowCost, replaced);
  if (cost !== null) rowCost = rowCost === null ? cost : addAmounts(rowCost, cost);
  const next = withFields(row, {
    name,
    status: "completed",
    completedAt: at,
    durationMs: plus(minus(row.durationMs, it.durationMs), durationMs),
    modelUsed: modelUsed ?? row.modelUsed,
    tokens: addTokens(wasCompleted ? subtractTokens(row.tokens, it.tokens) : row.tokens, tokens),
    costUsd: rowCost === null ? null : toUsdString(rowCost),
  });
  commit(d, old, next);
}

function errorLine(ev: ErrorEvent): string {
  const text = ev.errorMessage ?? previewLine(ev.error) ?? "error";
  return text.length > ERROR_LINE_MAX ? `${text.slice(0, ERROR_LINE_MAX - 1)}…` : text;
}

function previewLine(preview: PayloadPreview | undefined): string | null {
  if (preview === undefined) return null;
  const line = preview.json.replace(/\s+/g, " ").trim();
  return line.length === 0 ? null : line;
}

function failStep(d: Draft, ev: ErrorEvent, arrivedAt: number): void {
  const old = d.steps.get(ev.stepId);
  const row = old ?? newRow(d, ev.stepId, ev.name ?? null, "running", null);
  const name = ev.name ?? row.name;
  const message = errorLine(ev);
  d.lastError = { stepId: ev.stepId, message };
  const current = row.isLoop ? currentIteration(row).it : row;
  const at = endTime(d, row, current.attempt, "failed", arrivedAt);
  if (current.status === "completed" && current.costUsd === null) d.costUnknown--;
  const durationMs = current.startedAt === null ? null : Math.max(0, at - current.startedAt);
  if (!row.isLoop) {
    commit(d, old, withFields(row, { name, status: "failed", completedAt: at, durationMs, lastError: message }));
    return;
  }
  const { iterations, index, it } = currentIteration(row);
  iterations[index] = { ...it, status: "failed", completedAt: at, durationMs };
  commit(
    d,
    old,
    withFields(row, {
      name,
      status: "failed",
      completedAt: at,
      durationMs: plus(minus(row.durationMs, it.durationMs), durationMs),
      lastError: message,
    }),
  );
}

/** Paused / waiting for tools: only an execution in progress (or a step not seen yet) changes. */
function pauseStep(d: Draft, stepId: string, status: "paused" | "waiting_tools", at: number): void {
  const row = d.steps.get(stepId);
  if (row === undefined) {
    commit(d, undefined, newRow(d, stepId, null, status, null));
    return;
  }
  if (row.status === status || !(row.status === "running" || row.status === "paused" || row.status === "waiting_tools")) return;
  commit(d, row, withStatus(row, status, row.name, row.startedAt === null ? null : at));
}

function keepPreview(d: Draft, stepId: string, field: "lastInput" | "lastOutput", preview: PayloadPreview, at: number): void {
  const old = d.steps.get(stepId);
  const row = old ?? newRow(d, stepId, null, "running", at);
  commit(d, old, field === "lastInput" ? withFields(row, { lastInput: preview }) : withFields(row, { lastOutput: preview }));
}

/** The message of a step_progress that reports a skipped step ("skipped: <reason>"). */
const SKIPPED_MESSAGE = /^skipped\b/;

/**
 * step_progress, a server extra: it names the step, reports a skipped step (a
 * "skipped: <reason>" message is that step's only stream event), or the loop index of
 * the running execution (before each iteration). A step first seen here gets its row
 * now, in flow order, as skipped or running; without these events nothing changes.
 */
function progressStep(d: Draft, stepId: string, name: string | null, message: string | null, loopIndex: number | null, at: number): void {
  const skipped = message !== null && SKIPPED_MESSAGE.test(message);
  const row = d.steps.get(stepId);
  if (row === undefined) {
    commit(d, undefined, skipped ? newRow(d, stepId, name, "skipped", null) : newRow(d, stepId, name, "running", startTime(d, stepId, 0, 1, at)));
  } else if (skipped && !row.isLoop && (row.status === "pending" || row.status === "running")) {
    commit(d, row, withFields(row, { name: name ?? row.name, status: "skipped" }));
  } else if (name !== null && row.name === null) {
    commit(d, row, withFields(row, { name }));
  }
  if (!skipped && loopIndex !== null) refineLoopIndex(d, stepId, loopIndex);
}

/** step_progress names the loop index of the running execution: the step is a loop. */
function refineLoopIndex(d: Draft, stepId: string, loopIndex: number): void {
  const row = d.steps.get(stepId);
  if (row === undefined || row.loopIndex === loopIndex || row.status !== "running") return;
  const iterations = Math.max(row.iterations, loopIndex + 1);
  if (!row.isLoop) {
    const only = { ...(executionsOf(row)[0] as IterationRow), loopIndex };
    commit(d, row, withFields(row, { isLoop: true, loopIndex, iterations, iterationRows: [only] }));
    return;
  }
  const current = currentIteration(row);
  current.iterations[current.index] = { ...current.it, loopIndex };
  commit(d, row, withFields(row, { loopIndex, iterations }));
}

/** loop_completed reports the iteration count; the executions seen are the last ones. */
function refineIterations(d: Draft, stepId: string, count: number): void {
  const row = d.steps.get(stepId);
  if (row === undefined || count <= row.iterations) return;
  if (row.isLoop) {
    commit(d, row, withFields(row, { iterations: count }));
    return;
  }
  const loopIndex = count - 1;
  const only = { ...(executionsOf(row)[0] as IterationRow), loopIndex };
  commit(d, row, withFields(row, { isLoop: true, loopIndex, iterations: count, iterationRows: [only] }));
}

// ---------------------------------------------------------------------------
// Replay merge

function earlier(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** The caught-up shadow becomes the state; see the header comment. */
function mergeReplay(old: RunState, shadow: RunState): RunState {
  const table = mutableTable(shadow.steps);
  const rows = table.rows();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as StepRow;
    if (row.name !== null) continue;
    const name = old.steps.get(row.stepId)?.name ?? null;
    if (name !== null) table.put(withFields(row, { name }));
  }
  // Rows the replay does not have (events that are not stored server-side) are kept.
  const extra: StepRow[] = [];
  for (const known of old.steps.rows()) {
    if (table.get(known.stepId) !== undefined) continue;
    const row = withFields(known, { order: table.size });
    table.put(row);
    extra.push(row);
  }
  const more = aggregateRows(extra);
  const keepOldStatus = isTerminal(old.status) && !isTerminal(shadow.status);
  return {
    ...old,
    executionId: old.executionId ?? shadow.executionId,
    runId: shadow.runId ?? old.runId,
    flowId: shadow.flowId ?? old.flowId,
    status: keepOldStatus ? old.status : shadow.status,
    startedAt: earlier(old.startedAt, shadow.startedAt),
    completedAt: isTerminal(old.status) ? (old.completedAt ?? shadow.completedAt) : shadow.completedAt,
    stepCount: shadow.stepCount ?? old.stepCount,
    steps: table,
    retries: shadow.retries + more.retries,
    failedSteps: shadow.failedSteps + more.failedSteps,
    stepsDone: shadow.stepsDone + more.stepsDone,
    costTotal: addAmounts(shadow.costTotal, more.costTotal),
    costKnownRows: shadow.costKnownRows + more.costKnownRows,
    costUnknown: shadow.costUnknown + more.costUnknown,
    tokenTotals: {
      prompt: shadow.tokenTotals.prompt + more.tokenTotals.prompt,
      completion: shadow.tokenTotals.completion + more.tokenTotals.completion,
      total: shadow.tokenTotals.total + more.tokenTotals.total,
    },
    lastError: shadow.lastError ?? old.lastError,
    malformedFrames: Math.max(old.malformedFrames, shadow.malformedFrames),
    unknownEvents: Math.max(old.unknownEvents, shadow.unknownEvents),
    eventsApplied: shadow.eventsApplied,
    lastEventId: shadow.lastEventId ?? old.lastEventId,
    replay: null,
    version: old.version + 1,
  };
}
