// STUB (owner: state helper).
import type { RunAction, RunState } from "./types.js";

export declare function initialRunState(executionId?: string | null): RunState;
export declare function reduceRun(state: RunState, action: RunAction): RunState;
