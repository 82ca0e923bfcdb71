// The run model: what the reducer builds from stream events and the full Trace.
// state/ imports nothing but types (from api/schemas), so it stays pure and testable.
import type { PayloadPreview, StepTrace, Trace } from "../api/schemas.js";
import type { MonitorSignal, ReceivedEvent } from "../api/signals.js";
import type { TraceReconciler } from "./reconcile.js";

export type StepStatus = "pending" | "running" | "completed" | "failed" | "skipped" | "waiting_tools" | "paused";
export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled" | "unknown";

export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(["completed", "failed", "cancelled"]);
/** A step in one of these states is in progress: its duration ticks. */
export const ACTIVE_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(["running", "waiting_tools", "paused"]);

/** An exact decimal amount: units / 10^scale (money.ts; never a float). */
export interface UsdAmount {
  readonly units: bigint;
  readonly scale: number;
}

/** Run-level token sums of the known values (unknown counts as nothing). */
export interface TokenTotals {
  readonly prompt: number;
  readonly completion: number;
  readonly total: number;
}

export interface Tokens {
  readonly prompt: number | null;
  readonly completion: number | null;
  readonly total: number | null;
}

/** One loop iteration of a loop step (a step outside a loop has no IterationRow: the row is its only execution). */
export interface IterationRow {
  readonly loopIndex: number | null;
  readonly status: StepStatus;
  readonly attempt: number;
  /** Epoch ms when this iteration's current attempt started (arrival time on the stream, or the trace's startedAt). */
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  readonly durationMs: number | null;
  readonly modelUsed: string | null;
  readonly tokens: Tokens | null;
  /** Exact decimal string; null = unknown (never zero by default). */
  readonly costUsd: string | null;
}

/** One line of the step table: a step id, its loop iterations grouped under it. */
export interface StepRow {
  readonly stepId: string;
  /** Name seen on the stream; a StepTrace has none, so a reconcile keeps it. */
  readonly name: string | null;
  /** Position by first appearance (then by the trace for steps never seen live). */
  readonly order: number;
  readonly status: StepStatus;
  /** Attempt of the current (latest) iteration; 1 = first try. */
  readonly attempt: number;
  /** Retries seen for this step across all iterations (attempts beyond the first). */
  readonly retries: number;
  /** Number of executions seen: 1 for a step outside a loop, the iteration count for a loop. */
  readonly iterations: number;
  readonly isLoop: boolean;
  /** Loop index of the current iteration; null outside a loop. */
  readonly loopIndex: number | null;
  /** Epoch ms: start of the current attempt outside a loop; start of the first iteration for a loop. */
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  /**
   * Outside a loop: the current attempt's duration once it ended. For a loop: the sum of the
   * finished iterations' durations (the running one is not included). Selectors tick the rest.
   */
  readonly durationMs: number | null;
  readonly modelUsed: string | null;
  /** Summed over iterations (latest attempt of each). */
  readonly tokens: Tokens | null;
  /** Summed over iterations (latest attempt of each); null = unknown. */
  readonly costUsd: string | null;
  /** One-line error of the latest failed attempt, unsanitized (sanitize at output). */
  readonly lastError: string | null;
  readonly lastOutput: PayloadPreview | null;
  readonly lastInput: PayloadPreview | null;
  /**
   * Per-iteration detail of a loop step, ordered by loop index; empty outside a loop. On the
   * live stream only the latest iterations are kept (reducer.ts LIVE_ITERATIONS_KEPT); the
   * final trace's reconcile brings every one.
   */
  readonly iterationRows: readonly IterationRow[];
}

export type ConnectionState =
  | { readonly kind: "idle" }
  | { readonly kind: "connecting"; readonly attempt: number }
  | { readonly kind: "live" }
  | { readonly kind: "reconnecting"; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly kind: "ended" }
  | { readonly kind: "offline" };

export interface RunState {
  readonly executionId: string | null;
  readonly runId: string | null;
  readonly flowId: string | null;
  readonly status: RunStatus;
  /** True once the full Trace was loaded after the run ended and reconciled. */
  readonly final: boolean;
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  /** From the trace's RunSummary when loaded. */
  readonly durationMs: number | null;
  readonly stepCount: number | null;
  readonly connection: ConnectionState;
  /** Attempt number of the latest stream/connecting. */
  readonly connectAttempt: number;
  /** Steps in display order. See reducer.ts for how this is updated. */
  readonly steps: StepTable;
  readonly retries: number;
  readonly failedSteps: number;
  readonly lastError: { readonly stepId: string; readonly message: string } | null;
  readonly malformedFrames: number;
  readonly unknownEvents: number;
  /** Stream events behind the step table (a replay rebuild restarts the count from the replay). */
  readonly eventsApplied: number;
  /** SSE id of the last applied event, when the server sends ids. */
  readonly lastEventId: string | null;
  /** Rows whose status is completed or skipped. */
  readonly stepsDone: number;
  /** Exact sum of the rows' known costs (selectors turn it into a string). */
  readonly costTotal: UsdAmount;
  /** Rows with a known cost; the run cost is unknown (null) while this is 0. */
  readonly costKnownRows: number;
  /** Finished executions (step or loop iteration) whose cost is unknown: the total is partial when > 0. */
  readonly costUnknown: number;
  readonly tokenTotals: TokenTotals;
  /** Every attempt per step and loop index (attempts/loaded), keyed by attemptsKey(stepId, loopIndex). */
  readonly attempts: ReadonlyMap<string, readonly StepTrace[]>;
  /** Successful stream opens so far. */
  readonly connectionsOpened: number;
  /** A replay being rebuilt after a reconnect (see reducer.ts); null otherwise. */
  readonly replay: ReplayProgress | null;
  /** Bumped on every visible change; cheap memo key for selectors and the UI. */
  readonly version: number;
}

/** The shadow state built from a new connection's full replay while the visible state stays on screen. */
export interface ReplayProgress {
  readonly shadow: RunState;
  /** Events the visible state was built from: the shadow takes over once it has applied as many… */
  readonly targetEvents: number;
  /** …or once it applies the event carrying this SSE id (the last one the visible state saw). */
  readonly targetEventId: string | null;
}

/** Read-only view of the step table. */
export interface StepTable {
  readonly size: number;
  get(stepId: string): StepRow | undefined;
  /** Rows in order (first seen). A live view that the reducer updates in place: copy it to keep it. */
  rows(): readonly StepRow[];
}

/**
 * Everything the reducer understands: what the monitor reports, a saved trace opened
 * offline, and a final Trace whose steps a TraceReconciler took as they were read (its
 * trace/loaded signal says `stepsTaken`; the reducer leaves such a signal alone).
 */
export type RunAction =
  | MonitorSignal
  | { readonly type: "offline/loaded"; readonly trace: Trace; readonly names: Readonly<Record<string, string>> }
  | { readonly type: "trace/reconciled"; readonly trace: Trace; readonly final: boolean; readonly reconciler: TraceReconciler };

export type { MonitorSignal, ReceivedEvent, StepTrace, Trace };

/** Key of one step execution's attempts (the monitor's retriedAttempts map uses the same form). */
export function attemptsKey(stepId: string, loopIndex: number | null | undefined): string {
  return `${stepId}#${loopIndex ?? ""}`;
}
