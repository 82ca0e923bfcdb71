// The run model: what the reducer builds from stream events and the full Trace.
// state/ imports nothing but types (from api/schemas), so it stays pure and testable.
import type { PayloadPreview, StepTrace, Trace } from "../api/schemas.js";
import type { MonitorSignal, ReceivedEvent } from "../api/signals.js";

export type StepStatus = "pending" | "running" | "completed" | "failed" | "skipped" | "waiting_tools" | "paused";
export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled" | "unknown";

export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(["completed", "failed", "cancelled"]);

export interface Tokens {
  readonly prompt: number | null;
  readonly completion: number | null;
  readonly total: number | null;
}

/** One loop iteration (or the only execution of a step outside a loop). */
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
  /** Number of loop iterations seen (0 or 1 for a step outside a loop). */
  readonly iterations: number;
  readonly isLoop: boolean;
  readonly loopIndex: number | null;
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  /** Final duration when known (sum over iterations for a loop); while running, selectors tick it from startedAt. */
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
  /** Per-iteration detail (loop steps), ordered by loop index / appearance. */
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
  /** Steps in display order. See reducer.ts for how this is updated. */
  readonly steps: StepTable;
  readonly retries: number;
  readonly failedSteps: number;
  readonly lastError: { readonly stepId: string; readonly message: string } | null;
  readonly malformedFrames: number;
  readonly unknownEvents: number;
  readonly eventsApplied: number;
  /** Bumped on every change; cheap memo key for selectors and the UI. */
  readonly version: number;
}

/** Read-only view of the step table. */
export interface StepTable {
  readonly size: number;
  get(stepId: string): StepRow | undefined;
  /** Rows in order (first seen). */
  rows(): readonly StepRow[];
}

/** Everything the reducer understands: what the monitor reports, plus a saved trace opened offline. */
export type RunAction =
  | MonitorSignal
  | { readonly type: "offline/loaded"; readonly trace: Trace; readonly names: Readonly<Record<string, string>> };

export type { MonitorSignal, ReceivedEvent, StepTrace };
