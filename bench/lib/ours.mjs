// noukai-top's ingest path, as the bench drives it: TraceClient.openStream (undici) ->
// the SSE decoder -> reduceRun, one "stream/events" action per chunk read.
import { TraceClient } from "../../dist/api/client.js";
import { createSseDecoder } from "../../dist/api/sse.js";
import { initialRunState, reduceRun } from "../../dist/state/reducer.js";
import { API_KEY, FLOW } from "./workload.mjs";

export const BASE_URL = process.env.BENCH_BASE_URL ?? "http://127.0.0.1:8080/api/v1";

/**
 * Streams one run into a RunState. `onBatch(state, eventsSoFar)` runs after each chunk
 * (heap sampling uses it). Returns {state, events, malformed, unknown}.
 *
 * `stage` stops the path early, to show where the time goes: "read" only reads the body
 * (state stays initial, events 0), "decode" also decodes it (events counted, never
 * reduced), "full" (default) is the whole ingest.
 */
export async function ingestRun(executionId, { onBatch, stage = "full" } = {}) {
  const client = new TraceClient({ baseUrl: BASE_URL, apiKey: API_KEY });
  const decoder = createSseDecoder();
  let state = initialRunState(executionId);
  let events = 0;
  let malformed = 0;
  let unknown = 0;
  const reduce = stage === "full";
  const apply = (batch) => {
    if (!reduce) {
      events += batch.events.length;
      malformed += batch.malformed.length;
      unknown += batch.unknown;
      return;
    }
    const at = Date.now();
    if (batch.events.length > 0) {
      events += batch.events.length;
      state = reduceRun(state, { type: "stream/events", events: batch.events });
    }
    if (batch.malformed.length > 0) {
      malformed += batch.malformed.length;
      state = reduceRun(state, { type: "stream/malformed", count: batch.malformed.length, reason: batch.malformed[0], at });
    }
    if (batch.unknown > 0) {
      unknown += batch.unknown;
      state = reduceRun(state, { type: "stream/unknown", count: batch.unknown, at });
    }
  };
  try {
    state = reduceRun(state, { type: "stream/connecting", attempt: 1, at: Date.now() });
    const { body } = await client.openStream(FLOW, executionId, {});
    state = reduceRun(state, { type: "stream/opened", at: Date.now(), resumed: false });
    if (stage === "read") {
      let bytes = 0;
      for await (const chunk of body) bytes += chunk.length;
      return { state, events, malformed, unknown, bytes };
    }
    for await (const chunk of body) {
      apply(decoder.push(chunk));
      onBatch?.(state, events);
    }
    apply(decoder.end());
    return { state, events, malformed, unknown };
  } finally {
    await client.close();
  }
}
