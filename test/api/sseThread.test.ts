// The stream decoded with the decoding thread agrees with the decoder on this thread.
// The worker runs the built dist/api/sseWorker.js, so this file uses dist throughout.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { SseBatch, SseDecoderOptions } from "../../src/api/sse.js";
import type { StreamDecoderOptions } from "../../src/api/sseThread.js";
import { ensureBuilt, ROOT } from "../cli/helpers.js";

type SseModule = typeof import("../../src/api/sse.js");
type ThreadModule = typeof import("../../src/api/sseThread.js");

let sse: SseModule;
let thread: ThreadModule;

beforeAll(async () => {
  await ensureBuilt();
  sse = (await import(pathToFileURL(join(ROOT, "dist", "api", "sse.js")).href)) as SseModule;
  thread = (await import(pathToFileURL(join(ROOT, "dist", "api", "sseThread.js")).href)) as ThreadModule;
  expect(await thread.startDecodingThread()).toBe(true);
}, 120_000);

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Payloads the scanner decodes, and ones it leaves to the reference path (escapes, bad types, unknown events). */
function frame(n: number, pick: () => number): string {
  const id = `step-${String(n).padStart(6, "0")}`;
  const variants = [
    () => `event: step_started\ndata: {"eventType":"step_started","stepId":"${id}","name":"summarize chunk ${n}","stepIndex":${n}}\n\n`,
    () =>
      `event: step_completed\ndata: {"eventType":"step_completed","stepId":"${id}","name":"summarize chunk ${n}","output":{"text":"summary ${n}"},"durationMs":${n}.5,"tokens":{"prompt":${n},"completion":2,"total":${n + 2}},"costUsd":"0.00${n}","modelUsed":"m-${n % 3}"}\n\n`,
    () => `id: ${n}\nevent: step_completed\ndata: {"stepId":"${id}","name":null,"tokens":{"prompt":1},"costUsd":0.25,"modelUsed":null}\n\n`,
    () => `event: step_completed\ndata: {"stepId":"${id}","durationMs":"slow"}\n\n`,
    () => `event: step_output\ndata: {"stepId":"${id}","outputData":{ "b": [1, 2.50, "\\u00e9"], "a": "ü${"x".repeat(n % 5000)}" }}\n\n`,
    () => `event: step_input\ndata: {"stepId":"${id}","inputData":"${"y".repeat((n * 37) % 9000)}"}\n\n`,
    () => `data: {"eventType":"step_started","stepId":"${id}","name":"caf\\u00e9"}\n\n`,
    () => `event: run_started\ndata: {"runId":"r","stepCount":${n}}\n\n`,
    () => `event: some_future_event\ndata: {"x":1}\n\n`,
    () => `event: step_started\ndata: {not json\n\n`,
    () => `: comment\nretry: ${n}\n\n`,
    () => `event: step_output\ndata: {"stepId":"${id}","outputData":"${"z".repeat(3000)}"}\n\n`,
  ];
  // CR line ends are rare: no cut is made in a chunk that holds one.
  if (n % 97 === 0) return `event: step_started\r\ndata: {"stepId":"${id}",\r\ndata: "name":"split"}\r\n\r\n`;
  return (variants[Math.floor(pick() * variants.length)] as () => string)();
}

function streamBytes(seed: number, frames: number): Buffer {
  const pick = random(seed);
  const parts: string[] = [];
  for (let n = 1; n <= frames; n++) parts.push(frame(n, pick));
  return Buffer.from(parts.join(""), "utf8");
}

function chunksOf(bytes: Buffer, seed: number, maxChunk: number): Buffer[] {
  const pick = random(seed);
  const chunks: Buffer[] = [];
  for (let p = 0; p < bytes.length; ) {
    const size = 1 + Math.floor(pick() * maxChunk);
    chunks.push(bytes.subarray(p, p + size));
    p += size;
  }
  return chunks;
}

/** Everything the batches said, in order (times included: the clock counts pushes). */
function flatten(batches: SseBatch[]): { events: unknown[]; malformed: string[]; unknown: number; retries: (number | null)[] } {
  return {
    events: batches.flatMap((b) => b.events),
    malformed: batches.flatMap((b) => b.malformed),
    unknown: batches.reduce((sum, b) => sum + b.unknown, 0),
    retries: batches.map((b) => b.retryMs).filter((r) => r !== null),
  };
}

function clock(): () => number {
  let t = 0;
  return () => ++t;
}

function decodeHere(chunks: Buffer[], options: SseDecoderOptions): SseBatch[] {
  const decoder = sse.createSseDecoder(options);
  return [...chunks.map((c) => decoder.push(c)), decoder.end()];
}

async function decodeThreaded(chunks: Buffer[], options: Omit<StreamDecoderOptions, "onBatch" | "onError">): Promise<{ batches: SseBatch[]; threaded: boolean }> {
  const batches: SseBatch[] = [];
  let failure: Error | null = null;
  const decoder = thread.createStreamDecoder({
    ...options,
    threadAfterBytes: 0,
    onBatch: (batch) => batches.push(batch),
    onError: (error) => {
      failure = error;
    },
  });
  for (const chunk of chunks) decoder.push(chunk);
  await decoder.end();
  expect(failure).toBeNull();
  return { batches, threaded: decoder.threaded };
}

describe("the decoding thread", () => {
  it("gives the same events, reasons, counts and retry values as this thread, cut at random places", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const bytes = streamBytes(seed, 1500);
      const chunks = chunksOf(bytes, seed * 7, seed % 2 === 0 ? 70_000 : 5_000);
      const options = { maxFrameBytes: 8_000 };
      const expected = flatten(decodeHere(chunks, { ...options, now: clock() }));
      const got = await decodeThreaded(chunks, { ...options, now: clock() });
      expect(got.threaded).toBe(true);
      expect(flatten(got.batches)).toEqual(expected);
      // Not a vacuous comparison: the stream has events, over-limit frames, unknown types and retries.
      expect(expected.events.length).toBeGreaterThan(500);
      expect(expected.malformed).toContain("frame over 8000 bytes");
      expect(expected.unknown).toBeGreaterThan(0);
      expect(expected.retries.length).toBeGreaterThan(0);
    }
  });

  it("takes over only at the end of a frame: a stream of one frame larger than every chunk stays whole", async () => {
    const big = `event: step_output\ndata: {"stepId":"s","outputData":"${"q".repeat(200_000)}"}\n\n`;
    const bytes = Buffer.from(`event: step_started\ndata: {"stepId":"s"}\n\n${big}${big}`);
    const chunks = chunksOf(bytes, 3, 16_384);
    const expected = flatten(decodeHere(chunks, { now: clock() }));
    const got = await decodeThreaded(chunks, { now: clock() });
    expect(flatten(got.batches)).toEqual(expected);
    expect(expected.events).toHaveLength(3);
  });

  it("stays on this thread with onRawFrame (--record sees every frame)", async () => {
    const bytes = streamBytes(5, 200);
    const raw: string[] = [];
    const got = await decodeThreaded(chunksOf(bytes, 5, 4_000), { onRawFrame: (frame) => raw.push(frame.data) });
    expect(got.threaded).toBe(false);
    expect(raw.length).toBeGreaterThan(150);
  });
});
