// STUB (owner: state helper). Derived views of RunState; the UI and the CLI read state only through these.
import type { RunState, StepRow } from "./types.js";

export type SortKey = "flow" | "duration" | "cost" | "tokens";
export const SORT_KEYS: readonly SortKey[] = ["flow", "duration", "cost", "tokens"];

export interface RunTotals {
  readonly stepsDone: number;
  readonly stepCount: number | null;
  readonly costUsd: string | null;
  readonly tokens: { readonly prompt: number; readonly completion: number; readonly total: number };
  readonly retries: number;
  readonly failedSteps: number;
}

export declare function selectTotals(state: RunState): RunTotals;
/** Filtered (case-insensitive substring of id, name or status) then sorted rows; memoised on state.version. */
export declare function selectRows(state: RunState, opts: { sort: SortKey; filter: string; now: number }): readonly StepRow[];
/** Run elapsed time: ticking from startedAt while running, final duration after. */
export declare function selectElapsedMs(state: RunState, now: number): number | null;
/** A step's duration, ticking from startedAt while running. */
export declare function stepElapsedMs(row: StepRow, now: number): number | null;
/** Index range [start, end) of rows to render so that `selected` is visible in `height` rows. */
export declare function visibleWindow(
  total: number,
  selected: number,
  height: number,
  previousStart: number,
): { start: number; end: number };
