// What the screen fetches on demand: a step's attempts (detail view), the whole trace (`r`),
// and the export file (`e`). A live source asks the server and puts what it gets into the
// run store, so the run model knows every attempt; a local source (a saved trace, a replay)
// answers from what it was given.
import { relative, join } from "node:path";
import type { TraceClient } from "../api/client.js";
import type { ExportContent } from "../api/exportFile.js";
import type { FlowRef } from "../api/paths.js";
import type { StepTrace, Trace } from "../api/schemas.js";
import { attemptsKey, type RunState } from "../state/types.js";
import type { RunStore } from "./runStore.js";

export interface LoadedAttempts {
  readonly attempts: readonly StepTrace[];
  /** False when only the latest attempt of a retried step is known (a file saved without its attempts). */
  readonly complete: boolean;
}

export interface TraceSource {
  /** Watching a run on the server: `r` fetches the trace again. */
  readonly live: boolean;
  loadAttempts(stepId: string, loopIndex: number | null, signal: AbortSignal): Promise<LoadedAttempts>;
  reloadTrace(signal: AbortSignal): Promise<void>;
  /** Writes `<execution-id>.trace.json`; resolves with the path written, as shown to the user. */
  exportTrace(signal: AbortSignal): Promise<string>;
}

/**
 * Writes `<execution-id>.trace.json` in `dir` with the step names seen on the stream (a
 * Trace has none); resolves with the path, relative to the working directory when inside
 * it. The export code (with its schemas, zod) loads on the first export, not with the screen.
 */
async function exportRun(
  dir: string,
  state: RunState,
  content: Pick<ExportContent, "trace" | "attempts" | "executionId" | "flow">,
): Promise<string> {
  const { exportFileName, namesRecord, writeExportFile } = await import("../api/exportFile.js");
  const names: [string, string][] = [];
  for (const row of state.steps.rows()) if (row.name !== null && row.name !== "") names.push([row.stepId, row.name]);
  const path = join(dir, exportFileName(content.executionId));
  writeExportFile(path, { ...content, names: namesRecord(names) });
  const shown = relative(process.cwd(), path);
  return shown.startsWith("..") || shown === "" ? path : shown;
}

export interface LiveSourceOptions {
  readonly client: Pick<TraceClient, "trace" | "stepAttempts">;
  readonly flow: FlowRef;
  /** `org/project/slug`, recorded in the export file. */
  readonly flowLabel: string;
  readonly executionId: string;
  readonly store: RunStore;
  /** Directory of the export file (default: the working directory). */
  readonly exportDir?: string;
}

export function createTraceSource(opts: LiveSourceOptions): TraceSource {
  const { client, flow, executionId, store } = opts;
  async function loadAttempts(stepId: string, loopIndex: number | null, signal: AbortSignal): Promise<readonly StepTrace[]> {
    const { attempts } = await client.stepAttempts(flow, executionId, stepId, { loopIndex, signal });
    store.push({ type: "attempts/loaded", stepId, loopIndex, attempts, at: Date.now() });
    return attempts;
  }
  return {
    live: true,
    async loadAttempts(stepId, loopIndex, signal) {
      return { attempts: await loadAttempts(stepId, loopIndex, signal), complete: true };
    },
    async reloadTrace(signal) {
      const trace = await client.trace(flow, executionId, { signal });
      store.push({ type: "trace/loaded", trace, final: store.getState().final, at: Date.now() });
    },
    async exportTrace(signal) {
      // The trace as the server has it now (the run may still be going), with every
      // attempt of each retried step: those not loaded yet are fetched first.
      const trace = await client.trace(flow, executionId, { signal });
      const attempts = new Map(store.getState().attempts);
      for (const step of trace.steps) {
        const key = attemptsKey(step.stepId, step.loopIndex);
        if (step.attempt > 1 && !attempts.has(key)) attempts.set(key, await loadAttempts(step.stepId, step.loopIndex ?? null, signal));
      }
      return exportRun(opts.exportDir ?? process.cwd(), store.getState(), { trace, attempts, executionId, flow: opts.flowLabel });
    },
  };
}

export interface LocalSourceOptions {
  readonly executionId: string;
  readonly store: RunStore;
  /** The run's trace as known so far (a saved trace; the last one a replay loaded); null before any. */
  readonly trace: () => Trace | null;
  /** `org/project/slug` for the export file, when known. */
  readonly flow: string | null;
  readonly exportDir?: string;
}

/** A source without a server: attempts and the trace come from what a file or a replay gave. */
export function createLocalSource(opts: LocalSourceOptions): TraceSource {
  const { executionId, store } = opts;
  return {
    live: false,
    loadAttempts(stepId, loopIndex) {
      const all = store.getState().attempts.get(attemptsKey(stepId, loopIndex));
      if (all !== undefined) return Promise.resolve({ attempts: all, complete: true });
      const latest = opts.trace()?.steps.find((step) => step.stepId === stepId && (step.loopIndex ?? null) === loopIndex);
      if (latest === undefined) return Promise.reject(new Error("this step's attempts are not in the trace (yet)"));
      return Promise.resolve({ attempts: [latest], complete: latest.attempt <= 1 });
    },
    reloadTrace() {
      return Promise.reject(new Error("not watching live: nothing to reload"));
    },
    async exportTrace() {
      const trace = opts.trace();
      if (trace === null) throw new Error("no trace yet: the replay has not loaded one");
      const state = store.getState();
      return exportRun(opts.exportDir ?? process.cwd(), state, { trace, attempts: state.attempts, executionId, flow: opts.flow });
    },
  };
}
