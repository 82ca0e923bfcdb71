// One simulated run in memory: it releases its plan on a timer, turns each entry into
// stream events (encoded once, replayed to every subscriber) and answers trace queries
// from the attempts released so far.
import { performance } from "node:perf_hooks";
import type { AttemptRecord, PlanEntry, RunPlan, StepError } from "./plan.js";

export type RunStatus = "pending" | "running" | "completed" | "failed";
export type TriggerType = "execute" | "job";

export interface RunListener {
  /** A new encoded SSE frame. */
  readonly onFrame?: (frame: Buffer) => void;
  /** The run became terminal; no frame follows. */
  readonly onEnd?: () => void;
}

export interface RunInit {
  readonly executionId: string;
  readonly runId: string;
  readonly flowId: string;
  readonly flowKey: string;
  readonly stepCount: number;
  readonly triggerType: TriggerType;
  readonly plan: RunPlan;
}

/** The JSON of a StepTrace (PROTOCOL.md). */
export type StepTraceJson = Record<string, unknown>;

const MAX_TIMER_MS = 2 ** 31 - 1;

function isoAt(anchorMs: number, offsetMs: number): string {
  return new Date(anchorMs + offsetMs).toISOString();
}

export class SimulatedRun {
  readonly executionId: string;
  readonly runId: string;
  readonly flowId: string;
  readonly flowKey: string;
  readonly stepCount: number;
  readonly triggerType: TriggerType;
  status: RunStatus = "pending";
  /** Epoch ms of submission: plan offsets are relative to it. */
  readonly submittedAt = Date.now();
  private readonly submittedMono = performance.now();
  private readonly plan: RunPlan;
  private nextEntry = 0;
  /** Per released record: still running, or finished (its final form). */
  private readonly released: ("running" | "finished")[] = [];
  private readonly frames: Buffer[] = [];
  private storedBytes = 0;
  private readonly listeners = new Set<RunListener>();
  private timer: NodeJS.Timeout | undefined;
  private startedAtMs: number | undefined;
  private completedAtMs: number | undefined;
  private outcome: { result?: unknown; error?: StepError & { stepId: string } } = {};

  constructor(init: RunInit) {
    this.executionId = init.executionId;
    this.runId = init.runId;
    this.flowId = init.flowId;
    this.flowKey = init.flowKey;
    this.stepCount = init.stepCount;
    this.triggerType = init.triggerType;
    this.plan = init.plan;
    this.schedule();
  }

  get terminal(): boolean {
    return this.status === "completed" || this.status === "failed";
  }

  get hasTimer(): boolean {
    return this.timer !== undefined;
  }

  /** Bytes of encoded events held for replay. */
  get eventBytes(): number {
    return this.storedBytes;
  }

  get eventCount(): number {
    return this.frames.length;
  }

  get result(): unknown {
    return this.outcome.result;
  }

  get error(): (StepError & { stepId: string }) | undefined {
    return this.outcome.error;
  }

  /** Stored frames with an id greater than `afterId` (ids start at 1). */
  framesAfter(afterId: number): readonly Buffer[] {
    return this.frames.slice(afterId);
  }

  /** Listens for new frames and the end; returns the unsubscribe function. */
  subscribe(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the clock for good (server shutdown); listeners are dropped without onEnd. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private schedule(): void {
    const entry = this.plan.entries[this.nextEntry];
    if (entry === undefined) return;
    // setTimeout takes at most 2^31-1 ms; a longer wait just wakes up early and reschedules.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, entry.at - (performance.now() - this.submittedMono)));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.releaseDue();
    }, delay);
  }

  /** Applies every entry whose time has come (a late timer catches up in plan order). */
  private releaseDue(): void {
    const now = performance.now() - this.submittedMono;
    for (let entry = this.plan.entries[this.nextEntry]; entry !== undefined && entry.at <= now; entry = this.plan.entries[this.nextEntry]) {
      this.nextEntry += 1;
      this.apply(entry);
    }
    if (this.terminal) {
      const listeners = [...this.listeners];
      this.listeners.clear();
      for (const listener of listeners) listener.onEnd?.();
    } else {
      this.schedule();
    }
  }

  private record(index: number): AttemptRecord {
    const record = this.plan.records[index];
    if (record === undefined) throw new Error(`plan has no record ${String(index)}`);
    return record;
  }

  private apply(entry: PlanEntry): void {
    switch (entry.kind) {
      case "run_started":
        this.status = "running";
        this.startedAtMs = entry.at;
        this.emit("run_started", { runId: this.runId, executionId: this.executionId, flowId: this.flowId, stepCount: this.stepCount });
        return;
      case "step_skipped": {
        const record = this.record(entry.record);
        this.released[entry.record] = "finished";
        this.emit("step_progress", { stepId: record.stepId, name: record.name, message: `skipped: ${record.skipReason ?? ""}` });
        return;
      }
      case "attempt_started": {
        const record = this.record(entry.record);
        this.released[entry.record] = "running";
        if (record.loopIndex !== null && entry.iterations !== null && record.attempt === 1) {
          this.emit("step_progress", {
            stepId: record.stepId,
            loopIndex: record.loopIndex,
            message: `item ${String(record.loopIndex + 1)} of ${String(entry.iterations)}`,
            progress: record.loopIndex / entry.iterations,
          });
        }
        this.emit("step_started", { stepId: record.stepId, name: record.name, stepIndex: record.stepIndex });
        if (record.inputContext !== undefined) this.emit("step_input", { stepId: record.stepId, inputData: record.input });
        return;
      }
      case "attempt_finished": {
        const record = this.record(entry.record);
        this.released[entry.record] = "finished";
        if (record.status === "failed") {
          this.emit("step_error", { stepId: record.stepId, name: record.name, error: record.error });
          return;
        }
        this.emit("step_output", { stepId: record.stepId, outputData: record.output });
        this.emit("step_completed", {
          stepId: record.stepId,
          name: record.name,
          output: record.output,
          durationMs: record.durationMs,
          tokens: record.tokens,
          costUsd: record.costUsd,
          modelUsed: record.modelUsed,
        });
        return;
      }
      case "loop_completed":
        this.emit("loop_completed", { stepId: entry.stepId, iterations: entry.iterations });
        return;
      case "run_finished":
        this.status = entry.status;
        this.completedAtMs = entry.at;
        this.outcome = entry.status === "completed" ? { result: entry.result } : entry.error === undefined ? {} : { error: entry.error };
        // A failed run ends on its final step_error, without flow_completed: clients ask the run status.
        if (entry.status === "completed") {
          this.emit("flow_completed", {
            runId: this.runId,
            executionId: this.executionId,
            result: entry.result,
            summary: { status: "completed", durationMs: entry.at - (this.startedAtMs ?? 0), stepCount: this.stepCount },
          });
        }
        return;
    }
  }

  private emit(eventType: string, payload: Record<string, unknown>): void {
    const id = this.frames.length + 1;
    const data = JSON.stringify({ eventType, ...payload });
    const frame = Buffer.from(`id: ${String(id)}\nevent: ${eventType}\ndata: ${data}\n\n`, "utf8");
    this.frames.push(frame);
    this.storedBytes += frame.length;
    for (const listener of [...this.listeners]) listener.onFrame?.(frame);
  }

  // --- trace views -------------------------------------------------------------

  private stepTraceJson(index: number): StepTraceJson {
    const record = this.record(index);
    const state = this.released[index];
    const at = (offset: number | undefined): string | undefined =>
      offset === undefined ? undefined : isoAt(this.submittedAt, offset);
    const base = {
      stepId: record.stepId,
      attempt: record.attempt,
      loopIndex: record.loopIndex,
    };
    if (state === "running") {
      return {
        ...base,
        status: "running",
        startedAt: at(record.startedAtMs),
        modelUsed: record.modelUsed,
        inputContext: record.inputContext,
        inputSizeBytes: record.inputSizeBytes,
        truncated: false,
      };
    }
    return {
      ...base,
      status: record.status,
      startedAt: at(record.startedAtMs),
      completedAt: at(record.completedAtMs),
      durationMs: record.durationMs,
      modelUsed: record.modelUsed,
      tokens: record.tokens,
      costUsd: record.costUsd,
      inputContext: record.inputContext,
      outputContext: record.outputContext,
      errorContext: record.errorContext,
      inputSizeBytes: record.inputSizeBytes,
      outputSizeBytes: record.outputSizeBytes,
      truncated: record.truncated,
    };
  }

  summaryJson(): Record<string, unknown> {
    const iso = (offset: number | undefined): string | undefined => (offset === undefined ? undefined : isoAt(this.submittedAt, offset));
    return {
      id: this.runId,
      flowId: this.flowId,
      status: this.status,
      triggerType: this.triggerType,
      startedAt: iso(this.startedAtMs),
      completedAt: iso(this.completedAtMs),
      durationMs:
        this.startedAtMs !== undefined && this.completedAtMs !== undefined ? this.completedAtMs - this.startedAtMs : undefined,
      stepCount: this.stepCount,
    };
  }

  /** The whole-run Trace: the latest attempt of each step and loop iteration, in order of first appearance. */
  traceJson(): { flowRun: Record<string, unknown>; steps: StepTraceJson[] } {
    const latest = new Map<string, number>();
    this.released.forEach((_, index) => {
      const record = this.record(index);
      latest.set(`${record.stepId}\u0000${String(record.loopIndex)}`, index);
    });
    return { flowRun: this.summaryJson(), steps: [...latest.values()].map((index) => this.stepTraceJson(index)) };
  }

  /** Released attempts of one step, in order (all loop iterations unless `loopIndex` is given). */
  attemptsJson(stepId: string, loopIndex: number | undefined): StepTraceJson[] {
    const out: StepTraceJson[] = [];
    this.released.forEach((_, index) => {
      const record = this.record(index);
      if (record.stepId === stepId && (loopIndex === undefined || record.loopIndex === loopIndex)) out.push(this.stepTraceJson(index));
    });
    return out;
  }
}
