// Builders for reducer tests: normalized events (as the SSE decoder emits them) and actions.
import type { PayloadPreview, StepTrace, TokenBreakdown, Trace, TraceEvent } from "../../src/api/schemas.js";
import type { ReceivedEvent } from "../../src/api/signals.js";
import { initialRunState, reduceRun } from "../../src/state/reducer.js";
import type { RunAction, RunState, StepRow } from "../../src/state/types.js";

export const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

export const runStarted = (stepCount = 3): TraceEvent => ({ type: "run_started", runId: "run_1", executionId: "exec_1", flowId: "flow_1", stepCount });
export const started = (stepId: string, name?: string): TraceEvent => ({ type: "step_started", stepId, ...(name === undefined ? {} : { name }) });
export const completed = (
  stepId: string,
  extra: { costUsd?: string; durationMs?: number; tokens?: TokenBreakdown | null; modelUsed?: string; name?: string } = {},
): TraceEvent => ({ type: "step_completed", stepId, ...extra });
export const failed = (stepId: string, errorMessage = "boom"): TraceEvent => ({ type: "step_error", stepId, errorMessage });
export const flowCompleted = (status?: string): TraceEvent => ({
  type: "flow_completed",
  runId: "run_1",
  ...(status === undefined ? {} : { summary: { status } }),
});

export function preview(value: unknown): PayloadPreview {
  const json = JSON.stringify(value);
  return { json, sizeBytes: Buffer.byteLength(json), truncated: false };
}

/** Events arriving one millisecond apart from `at`, with SSE ids from `firstId` when given. */
export function received(events: readonly TraceEvent[], at: number, firstId?: number): ReceivedEvent[] {
  return events.map((event, i) => ({ event, at: at + i, ...(firstId === undefined ? {} : { id: String(firstId + i) }) }));
}

export const batch = (events: readonly ReceivedEvent[]): RunAction => ({ type: "stream/events", events });
export const opened = (at: number, resumed = false): RunAction => ({ type: "stream/opened", at, resumed });

export function reduceAll(actions: readonly RunAction[], state: RunState = initialRunState("exec_1")): RunState {
  return actions.reduce(reduceRun, state);
}

/** A fresh live state fed with `events` in one batch from T0. */
export function live(events: readonly TraceEvent[]): RunState {
  return reduceAll([opened(T0), batch(received(events, T0 + 1))]);
}

export function row(state: RunState, stepId: string): StepRow {
  const r = state.steps.get(stepId);
  if (r === undefined) throw new Error(`no row ${stepId}`);
  return r;
}

export function stepTrace(stepId: string, extra: Partial<StepTrace> = {}): StepTrace {
  return { stepId, attempt: 1, status: "completed", truncated: false, ...extra };
}

export function trace(steps: StepTrace[], flowRun: Partial<Trace["flowRun"]> = {}): Trace {
  return { flowRun: { id: "run_1", flowId: "flow_1", status: "completed", ...flowRun }, steps };
}
