// What the screen fetches on demand: a step's attempts (detail view) and the whole trace
// (`r`). Results also go into the run store, so the run model knows every attempt.
import type { TraceClient } from "../api/client.js";
import type { FlowRef } from "../api/paths.js";
import type { StepTrace } from "../api/schemas.js";
import type { RunStore } from "./runStore.js";

export interface TraceSource {
  loadAttempts(stepId: string, loopIndex: number | null, signal: AbortSignal): Promise<readonly StepTrace[]>;
  reloadTrace(signal: AbortSignal): Promise<void>;
}

export function createTraceSource(opts: {
  readonly client: Pick<TraceClient, "trace" | "stepAttempts">;
  readonly flow: FlowRef;
  readonly executionId: string;
  readonly store: RunStore;
}): TraceSource {
  const { client, flow, executionId, store } = opts;
  return {
    async loadAttempts(stepId, loopIndex, signal) {
      const { attempts } = await client.stepAttempts(flow, executionId, stepId, { loopIndex, signal });
      store.push({ type: "attempts/loaded", stepId, loopIndex, attempts, at: Date.now() });
      return attempts;
    },
    async reloadTrace(signal) {
      const trace = await client.trace(flow, executionId, { signal });
      store.push({ type: "trace/loaded", trace, final: store.getState().final, at: Date.now() });
    },
  };
}
