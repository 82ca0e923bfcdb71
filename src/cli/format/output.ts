// What every watch output format implements: it sees each monitor signal after
// the reducer applied it, and the final state and summary once the run ended.
import type { MonitorSignal } from "../../api/signals.js";
import type { Summary } from "../../state/summary.js";
import type { RunState } from "../../state/types.js";

export interface WatchOutput {
  onSignal(signal: MonitorSignal, state: RunState): void;
  finish(state: RunState, summary: Summary): void;
}
