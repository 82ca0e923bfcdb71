// Bounded memory (issue 5): a 10 MB step input, step output, step_completed output and
// flow result go from bytes through the real decoder into the run state, which keeps
// each as its size and a preview of at most PREVIEW_MAX_CHARS, never whole; a frame over
// the decoder's limit is counted as malformed and decoding goes on.
import { describe, expect, it } from "vitest";
import { PREVIEW_MAX_CHARS } from "../../src/api/preview.js";
import { DEFAULT_MAX_FRAME_BYTES, createSseDecoder } from "../../src/api/sse.js";
import { initialRunState, reduceRun } from "../../src/state/reducer.js";
import type { RunState } from "../../src/state/types.js";
import { frame } from "../helpers/sseServer.js";

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** Decodes `bytes` in socket-sized chunks and applies every batch to a run state, as the CLI does. */
function ingest(bytes: Buffer): RunState {
  const decoder = createSseDecoder();
  let state = initialRunState("exec-1");
  const apply = (batch: ReturnType<typeof decoder.push>): void => {
    if (batch.events.length > 0) state = reduceRun(state, { type: "stream/events", events: batch.events });
    for (const reason of batch.malformed) state = reduceRun(state, { type: "stream/malformed", count: 1, reason, at: 0 });
  };
  for (let i = 0; i < bytes.length; i += CHUNK) apply(decoder.push(bytes.subarray(i, i + CHUNK)));
  apply(decoder.end());
  return state;
}

/** Characters of every string reachable from `root` (objects, arrays, Maps, Sets, class instances). */
function reachableStringChars(root: unknown): number {
  const seen = new Set<object>();
  let chars = 0;
  const visit = (value: unknown): void => {
    if (typeof value === "string") {
      chars += value.length;
      return;
    }
    if (typeof value !== "object" || value === null || seen.has(value)) return;
    seen.add(value);
    if (value instanceof Map) for (const [key, item] of value) (visit(key), visit(item));
    else if (value instanceof Set || Array.isArray(value)) for (const item of value) visit(item);
    else for (const key of Reflect.ownKeys(value)) visit((value as Record<PropertyKey, unknown>)[key]);
  };
  visit(root);
  return chars;
}

describe("a 10 MB payload is kept as its size and a bounded preview", () => {
  it("in step_input, step_output, step_completed.output and flow_completed.result", () => {
    const big = "z".repeat(10 * MB);
    const stream = [
      frame("run_started", { runId: "r", stepCount: 1 }, { id: "1" }),
      frame("step_started", { stepId: "s", name: "big" }, { id: "2" }),
      frame("step_input", { stepId: "s", inputData: { prompt: big } }, { id: "3" }),
      frame("step_output", { stepId: "s", outputData: big }, { id: "4" }),
      frame("step_completed", { stepId: "s", output: { text: big }, costUsd: "0.5" }, { id: "5" }),
      frame("flow_completed", { runId: "r", result: [big], summary: { status: "completed" } }, { id: "6" }),
    ].join("");
    const state = ingest(Buffer.from(stream));

    expect(state.eventsApplied).toBe(6);
    expect(state.status).toBe("completed");
    const row = state.steps.get("s");
    expect(row?.status).toBe("completed");
    expect(row?.lastOutput).toMatchObject({ sizeBytes: 10 * MB + 2, truncated: true });
    expect(row?.lastOutput?.json.length).toBeLessThanOrEqual(PREVIEW_MAX_CHARS);
    expect(row?.lastInput).toMatchObject({ sizeBytes: 10 * MB + 13, truncated: true });
    expect(row?.lastInput?.json.length).toBeLessThanOrEqual(PREVIEW_MAX_CHARS);
    // Nothing else holds the payloads either: everything the state reaches is a few previews.
    expect(reachableStringChars(state)).toBeLessThan(8 * PREVIEW_MAX_CHARS);
  });

  it("the measure above sees a whole payload when one is kept", () => {
    expect(reachableStringChars({ rows: new Map([["s", { kept: "z".repeat(10 * MB) }]]) })).toBeGreaterThan(10 * MB);
  });
});

describe("a frame over the decoder's limit", () => {
  it("is counted as malformed, and the events around it are applied", () => {
    const stream = [
      frame("run_started", { runId: "r", stepCount: 1 }, { id: "1" }),
      frame("step_started", { stepId: "s" }, { id: "2" }),
      `event: step_output\ndata: "${"y".repeat(DEFAULT_MAX_FRAME_BYTES)}"\n\n`,
      frame("step_completed", { stepId: "s", costUsd: "0.1" }, { id: "3" }),
      frame("flow_completed", { runId: "r" }, { id: "4" }),
    ].join("");
    const state = ingest(Buffer.from(stream));
    expect(state.malformedFrames).toBe(1);
    expect(state.eventsApplied).toBe(4);
    expect(state.steps.get("s")?.status).toBe("completed");
    expect(state.status).toBe("completed");
    expect(reachableStringChars(state)).toBeLessThan(8 * PREVIEW_MAX_CHARS);
  });
});
