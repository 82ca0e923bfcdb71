// What the monitor (follow the stream, reconnect, load the final trace) reports.
// The state reducer consumes these as actions; the api layer knows nothing of state.
import type { StepTrace, Trace, TraceEvent } from "./schemas.js";

export interface ReceivedEvent {
  readonly event: TraceEvent;
  /** SSE `id:` when the server sent one. */
  readonly id?: string;
  /** Epoch ms of arrival. */
  readonly at: number;
}

export type MonitorSignal =
  /** A (re)connection attempt starts (attempt 1 is the first connection). */
  | { readonly type: "stream/connecting"; readonly attempt: number; readonly at: number }
  /**
   * The stream answered 200. `resumed` is true when the server honoured Last-Event-ID
   * (its first event is not the first event ever seen, so no replay follows);
   * otherwise the whole history is replayed and state is rebuilt from it.
   */
  | { readonly type: "stream/opened"; readonly at: number; readonly resumed: boolean }
  /** Decoded events, batched (one action per chunk read, not per event). */
  | { readonly type: "stream/events"; readonly events: readonly ReceivedEvent[] }
  /** Frames skipped: invalid JSON, invalid shape, or over the frame size limit. */
  | { readonly type: "stream/malformed"; readonly count: number; readonly reason: string; readonly at: number }
  /** Frames of an event type this version does not know (forward compatibility). */
  | { readonly type: "stream/unknown"; readonly count: number; readonly at: number }
  /** The connection ended or failed; `reason` is one redacted line. */
  | { readonly type: "stream/closed"; readonly reason: string; readonly at: number }
  | {
      readonly type: "stream/reconnecting";
      readonly attempt: number;
      readonly delayMs: number;
      readonly reason: string;
      readonly at: number;
    }
  /** The run is terminal: no more connections. */
  | { readonly type: "stream/ended"; readonly at: number }
  /** A run status learnt out of band (job status, trace summary). */
  | { readonly type: "run/status"; readonly status: string; readonly at: number }
  /**
   * The full Trace; `final` marks the load after the run ended. `stepsTaken`: its steps
   * went to the monitor's newTraceStepSink as they were read, and `trace.steps` is empty.
   */
  | {
      readonly type: "trace/loaded";
      readonly trace: Trace;
      readonly final: boolean;
      readonly at: number;
      readonly stepsTaken?: true;
    }
  /** Every attempt of one step (and loop iteration), from `attempt=all`. */
  | {
      readonly type: "attempts/loaded";
      readonly stepId: string;
      readonly loopIndex: number | null;
      readonly attempts: readonly StepTrace[];
      readonly at: number;
    };
