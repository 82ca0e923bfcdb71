import { describe, expect, it, vi } from "vitest";
import { PREVIEW_MAX_CHARS, toPreview } from "../../src/api/preview.js";
import { EVENT_PAYLOADS, type WireEventType } from "../../src/api/schemas.js";
import type { ReceivedEvent } from "../../src/api/signals.js";
import { createSseDecoder, decodeEvent, errorMessageOf, type RawFrame, type SseBatch } from "../../src/api/sse.js";

const encoder = new TextEncoder();
const bytesOf = (text: string): Uint8Array => encoder.encode(text);

interface Collected {
  events: ReceivedEvent[];
  malformed: string[];
  unknown: number;
  retries: number[];
}

function collect(batches: SseBatch[]): Collected {
  const out: Collected = { events: [], malformed: [], unknown: 0, retries: [] };
  for (const batch of batches) {
    out.events.push(...batch.events);
    out.malformed.push(...batch.malformed);
    out.unknown += batch.unknown;
    if (batch.retryMs !== null) out.retries.push(batch.retryMs);
  }
  return out;
}

/** Decodes `chunks` with a fresh decoder (clock fixed at 1000) and ends the stream. */
function decode(chunks: readonly Uint8Array[], maxFrameBytes?: number): Collected {
  const decoder = createSseDecoder({ now: () => 1000, ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }) });
  const batches = chunks.map((chunk) => decoder.push(chunk));
  batches.push(decoder.end());
  return collect(batches);
}

function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

/** A CRLF stream exercising every field, with multi-byte characters in and around frames. */
const CRLF_STREAM = [
  ": keep-alive ☕",
  "retry: 2500",
  "",
  "event: run_started",
  "id: 1",
  'data: {"runId":"r-1","executionId":"ex-1","stepCount":2}',
  "",
  "event: step_started",
  "id: 2",
  'data: {"stepId":"s-1",',
  'data: "name":"résumé 👩‍💻","stepIndex":0}',
  "",
  ": heartbeat",
  "event: step_completed",
  "id: 3",
  'data: {"stepId":"s-1","durationMs":12,"tokens":{"prompt":1,"completion":2,"total":3},"costUsd":"0.000123","modelUsed":"m"}',
  "",
  'data: {"eventType":"flow_completed","runId":"r-1","summary":{"status":"completed"}}',
  "",
  "",
].join("\r\n");

const EXPECTED_EVENTS: ReceivedEvent[] = [
  { event: { type: "run_started", runId: "r-1", executionId: "ex-1", stepCount: 2 }, id: "1", at: 1000 },
  { event: { type: "step_started", stepId: "s-1", name: "résumé 👩‍💻", stepIndex: 0 }, id: "2", at: 1000 },
  {
    event: {
      type: "step_completed",
      stepId: "s-1",
      durationMs: 12,
      tokens: { prompt: 1, completion: 2, total: 3 },
      costUsd: "0.000123",
      modelUsed: "m",
    },
    id: "3",
    at: 1000,
  },
  { event: { type: "flow_completed", runId: "r-1", summary: { status: "completed" } }, at: 1000 },
];

describe("SSE decoder framing", () => {
  it("decodes a CRLF stream identically at every chunk boundary (inside CRLF pairs and UTF-8 sequences)", () => {
    const bytes = bytesOf(CRLF_STREAM);
    for (let split = 0; split <= bytes.length; split++) {
      const got = decode([bytes.subarray(0, split), bytes.subarray(split)]);
      expect(got.events, `split at byte ${split}`).toEqual(EXPECTED_EVENTS);
      expect(got.malformed).toEqual([]);
      expect(got.retries).toEqual([2500]);
    }
  });

  it("decodes the same stream fed one byte at a time", () => {
    const got = decode(splitEvery(bytesOf(CRLF_STREAM), 1));
    expect(got.events).toEqual(EXPECTED_EVENTS);
  });

  it("accepts CR-only and LF-only line ends", () => {
    for (const eol of ["\r", "\n"]) {
      const text = CRLF_STREAM.replaceAll("\r\n", eol);
      expect(decode([bytesOf(text)]).events).toEqual(EXPECTED_EVENTS);
      expect(decode(splitEvery(bytesOf(text), 7)).events).toEqual(EXPECTED_EVENTS);
    }
  });

  it("drops a leading BOM, also when it is split across chunks", () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf(CRLF_STREAM)]);
    expect(decode([bytes]).events).toEqual(EXPECTED_EVENTS);
    expect(decode([bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)]).events).toEqual(EXPECTED_EVENTS);
  });

  it("joins multi-line data with \\n and accepts an empty data line", () => {
    const text = 'event: step_started\ndata:\ndata: {"stepId":\ndata:"x"}\n\nevent: step_started\ndata:\n\n';
    const got = decode([bytesOf(text)]);
    expect(got.events.map((e) => e.event)).toEqual([{ type: "step_started", stepId: "x" }]);
    // A frame whose only data is empty is not JSON.
    expect(got.malformed).toEqual(["invalid JSON"]);
  });

  it("ignores comments, unknown fields and frames without data", () => {
    const text = ': only a comment\n\n:another\nfoo: bar\n\nevent: step_started\nid: 7\n\n';
    const got = decode([bytesOf(text)]);
    expect(got).toEqual({ events: [], malformed: [], unknown: 0, retries: [] });
  });

  it("drops an event cut by the end of the stream", () => {
    const text = 'event: step_started\ndata: {"stepId":"a"}\n\nevent: step_started\ndata: {"stepId":"b"}\n';
    const got = decode([bytesOf(text)]);
    expect(got.events.map((e) => e.event)).toEqual([{ type: "step_started", stepId: "a" }]);
    expect(got.malformed).toEqual([]);
  });

  it("reports well-formed retry: values and ignores the others", () => {
    const lines = ["retry: 0\n\n", "retry: 10abc\n\n", "retry: 1e11\n\n", "retry: 100000000000\n\n"];
    expect(decode(lines.map(bytesOf)).retries).toEqual([0, 100000000000]);
    // Within one chunk the last value counts.
    expect(decode([bytesOf(lines.join(""))]).retries).toEqual([100000000000]);
  });

  it("replaces invalid UTF-8 instead of failing", () => {
    const bytes = new Uint8Array([
      ...bytesOf('event: step_started\ndata: {"stepId":"a'),
      0xff,
      0xc3,
      ...bytesOf('"}\n\n'),
    ]);
    const got = decode(splitEvery(bytes, 3));
    expect(got.events).toHaveLength(1);
    expect(got.events[0]?.event).toMatchObject({ type: "step_started" });
    expect((got.events[0]?.event as { stepId: string }).stepId).toMatch(/^a\uFFFD+$/);
  });

  it("passes every dispatched frame to onRawFrame, valid or not", () => {
    const frames: RawFrame[] = [];
    const decoder = createSseDecoder({ now: () => 5, onRawFrame: (raw) => frames.push(raw) });
    decoder.push(bytesOf('event: step_started\nid: 9\ndata: {"stepId":"a"}\n\ndata: nope\n\n'));
    expect(frames).toEqual([
      { event: "step_started", data: '{"stepId":"a"}', id: "9", at: 5 },
      { event: "", data: "nope", at: 5 },
    ]);
  });
});

describe("SSE decoder events", () => {
  function eventsOf(text: string): Collected {
    return decode([bytesOf(text)]);
  }

  it("lets the event: line win over the payload's eventType", () => {
    const got = eventsOf('event: step_started\ndata: {"eventType":"step_completed","stepId":"a"}\n\n');
    expect(got.events.map((e) => e.event)).toEqual([{ type: "step_started", stepId: "a" }]);
    // An unknown event: line is not rescued by a known eventType.
    const unknown = eventsOf('event: step_teleported\ndata: {"eventType":"step_started","stepId":"a"}\n\n');
    expect(unknown.events).toEqual([]);
    expect(unknown.unknown).toBe(1);
  });

  it("uses eventType when there is no event: line, and maps flow_started to run_started", () => {
    const got = eventsOf(
      'data: {"eventType":"flow_started","runId":"r","flowId":"f"}\n\nevent: flow_started\ndata: {"runId":"r2"}\n\n',
    );
    expect(got.events.map((e) => e.event)).toEqual([
      { type: "run_started", runId: "r", flowId: "f" },
      { type: "run_started", runId: "r2" },
    ]);
  });

  it("skips and counts unknown types, including prototype names and frames with no type", () => {
    const got = eventsOf(
      [
        'event: step_teleported\ndata: {"stepId":"a"}',
        'event: __proto__\ndata: {"stepId":"a"}',
        'event: toString\ndata: {"stepId":"a"}',
        'data: {"stepId":"a"}',
        'event: step_started\ndata: {"stepId":"ok"}',
      ].join("\n\n") + "\n\n",
    );
    expect(got.unknown).toBe(4);
    expect(got.events.map((e) => e.event)).toEqual([{ type: "step_started", stepId: "ok" }]);
    expect(got.malformed).toEqual([]);
  });

  it("skips and counts malformed JSON and invalid shapes without stopping", () => {
    const got = eventsOf(
      [
        "event: step_started\ndata: {not json",
        'event: step_started\ndata: {"name":"no id"}',
        'event: step_completed\ndata: {"stepId":"a","costUsd":"free"}',
        "event: step_started\ndata: [1,2]",
        "data: 42",
        'event: step_started\ndata: {"stepId":"after"}',
      ].join("\n\n") + "\n\n",
    );
    expect(got.malformed).toHaveLength(5);
    expect(got.malformed[0]).toBe("invalid JSON");
    expect(got.malformed[1]).toMatch(/^invalid step_started: stepId: /);
    expect(got.malformed[2]).toMatch(/^invalid step_completed: costUsd: /);
    expect(got.malformed[3]).toMatch(/^invalid step_started: /);
    expect(got.malformed[4]).toBe("payload is not a JSON object");
    expect(got.events.map((e) => e.event)).toEqual([{ type: "step_started", stepId: "after" }]);
  });

  it("replaces large fields by previews and pulls a one-line error message", () => {
    const got = eventsOf(
      [
        'event: step_input\ndata: {"stepId":"a","inputData":{"q":"hi"}}',
        'event: step_output\ndata: {"stepId":"a","outputData":"partial"}',
        'event: step_completed\ndata: {"stepId":"a","output":null,"costUsd":0.5}',
        'event: step_error\ndata: {"stepId":"a","error":{"message":"boom\\n  at line 2","code":7}}',
        'event: step_error\ndata: {"stepId":"b","error":{"error":"rate limited"}}',
        'event: step_error\ndata: {"stepId":"c","error":"plain text"}',
        'event: step_error\ndata: {"stepId":"d","error":{"code":7}}',
        'event: flow_completed\ndata: {"result":[1,2,3]}',
      ].join("\n\n") + "\n\n",
    );
    const preview = (json: string) => ({ json, sizeBytes: Buffer.byteLength(json), truncated: false });
    expect(got.events.map((e) => e.event)).toEqual([
      { type: "step_input", stepId: "a", inputData: preview('{"q":"hi"}') },
      { type: "step_output", stepId: "a", outputData: preview('"partial"') },
      { type: "step_completed", stepId: "a", output: preview("null"), costUsd: "0.5" },
      {
        type: "step_error",
        stepId: "a",
        error: preview('{"message":"boom\\n  at line 2","code":7}'),
        errorMessage: "boom at line 2",
      },
      { type: "step_error", stepId: "b", error: preview('{"error":"rate limited"}'), errorMessage: "rate limited" },
      { type: "step_error", stepId: "c", error: preview('"plain text"'), errorMessage: "plain text" },
      { type: "step_error", stepId: "d", error: preview('{"code":7}') },
      { type: "flow_completed", result: preview("[1,2,3]") },
    ]);
  });

  it("accepts step_progress, loop_completed and step_paused_for_tool_calls", () => {
    const got = eventsOf(
      [
        'event: step_progress\ndata: {"stepId":"a","loopIndex":2,"progress":0.5}',
        'event: loop_completed\ndata: {"stepId":"a","iterations":3}',
        'event: step_paused_for_tool_calls\ndata: {"runId":"r","executionId":"e","stepId":"a","stepIndex":1,"iterationsUsed":1,"toolCalls":[]}',
      ].join("\n\n") + "\n\n",
    );
    expect(got.events.map((e) => e.event.type)).toEqual(["step_progress", "loop_completed", "step_paused_for_tool_calls"]);
    // A skipped step's only event names it.
    const skipped = eventsOf('event: step_progress\ndata: {"stepId":"s","name":"Skip me","message":"skipped: no input"}\n\n');
    expect(skipped.events.map((e) => e.event)).toEqual([{ type: "step_progress", stepId: "s", name: "Skip me", message: "skipped: no input" }]);
  });
});

describe("SSE decoder frame limit", () => {
  const small = (id: string) => `event: step_started\ndata: {"stepId":"${id}"}\n\n`;
  const huge = (size: number) => `event: step_output\ndata: {"stepId":"big","outputData":"${"x".repeat(size)}"}\n\n`;
  const ids = (got: Collected) => got.events.map((e) => (e.event as { stepId: string }).stepId);

  it("reports a frame over the limit that spans many chunks, and keeps decoding after it", () => {
    const bytes = bytesOf(small("a") + huge(5000) + small("b"));
    for (const size of [16, 100, 999, 4096]) {
      const got = decode(splitEvery(bytes, size), 1000);
      expect(got.malformed, `chunks of ${size}`).toEqual(["frame over 1000 bytes"]);
      expect(ids(got)).toEqual(["a", "b"]);
    }
  });

  it("reports an over-limit frame that arrives inside one chunk among others", () => {
    const got = decode([bytesOf(small("a") + huge(5000) + small("b") + huge(3000) + small("c"))], 1000);
    expect(got.malformed).toEqual(["frame over 1000 bytes", "frame over 1000 bytes"]);
    expect(ids(got)).toEqual(["a", "b", "c"]);
  });

  it("counts bytes, not characters", () => {
    const text = `event: step_output\ndata: {"stepId":"u","outputData":"${"é".repeat(400)}"}\n\n`; // ~850 bytes, ~450 chars
    expect(decode([bytesOf(text)], 800).malformed).toEqual(["frame over 800 bytes"]);
    expect(decode([bytesOf(text)], 900).events).toHaveLength(1);
  });

  it("decodes a frame of several megabytes in 16 KB chunks under the default limit", () => {
    const got = decode(splitEvery(bytesOf(huge(3 * 1024 * 1024)), 16 * 1024));
    expect(got.malformed).toEqual([]);
    const event = got.events[0]?.event;
    expect(event?.type).toBe("step_output");
    const preview = (event as { outputData: { sizeBytes: number; truncated: boolean; json: string } }).outputData;
    expect(preview.sizeBytes).toBe(3 * 1024 * 1024 + 2);
    expect(preview.truncated).toBe(true);
    expect(preview.json).toHaveLength(PREVIEW_MAX_CHARS);
  });
});

describe("fast validation agrees with the zod schemas", () => {
  // Payloads come from JSON.parse: no `undefined` values, no prototypes other than Object's.
  const cases: [WireEventType, unknown][] = [
    ["step_started", { stepId: "a" }],
    ["step_started", { stepId: "a", name: null, stepIndex: null, extra: 1, eventType: "step_started" }],
    ["step_started", { stepId: "a", name: "n", stepIndex: 3 }],
    ["step_started", { stepId: "a", stepIndex: 1.5 }],
    ["step_started", { stepId: "a", stepIndex: 2 ** 53 }],
    ["step_started", { stepId: "a", stepIndex: -0 }],
    ["step_started", { stepId: 1 }],
    ["step_started", { stepId: "a", name: 5 }],
    ["step_started", {}],
    ["step_completed", { stepId: "a" }],
    ["step_completed", { stepId: "a", output: null, durationMs: 1.5, costUsd: null, tokens: null, modelUsed: null }],
    ["step_completed", { stepId: "a", output: { deep: [1] }, costUsd: "1e-6", tokens: { prompt: 1, x: 2 } }],
    ["step_completed", { stepId: "a", costUsd: 0.1 }],
    ["step_completed", { stepId: "a", costUsd: "-.5" }],
    ["step_completed", { stepId: "a", costUsd: "+1." }],
    ["step_completed", { stepId: "a", costUsd: "1.2.3" }],
    ["step_completed", { stepId: "a", costUsd: " 1" }],
    ["step_completed", { stepId: "a", costUsd: true }],
    ["step_completed", { stepId: "a", costUsd: {} }],
    ["step_completed", { stepId: "a", durationMs: "12" }],
    ["step_completed", { stepId: "a", tokens: { prompt: 1.5 } }],
    ["step_completed", { stepId: "a", tokens: { prompt: null, total: 3 } }],
    ["step_completed", { stepId: "a", tokens: [] }],
    ["step_completed", { stepId: "a", tokens: "3" }],
    ["step_completed", { stepId: "a", modelUsed: 3 }],
    ["step_completed", { stepId: "a", name: "n", output: "o", durationMs: 0, costUsd: "0", modelUsed: "m" }],
  ];

  it.each(cases.map(([type, payload]) => [type, JSON.stringify(payload), payload] as const))(
    "%s %s",
    (type, _label, payload) => {
      const viaZod = decodeEvent(type, payload, { fast: false });
      expect(typeof viaZod === "string").toBe(!EVENT_PAYLOADS[type].safeParse(payload).success);
      expect(decodeEvent(type, payload)).toStrictEqual(viaZod);
    },
  );
});

describe("previews", () => {
  it("keeps small values whole with their UTF-8 size", () => {
    expect(toPreview({ a: "é" })).toEqual({ json: '{"a":"é"}', sizeBytes: 10, truncated: false });
    expect(toPreview(undefined)).toEqual({ json: "null", sizeBytes: 4, truncated: false });
  });

  it("cuts large values to PREVIEW_MAX_CHARS with one stringify", () => {
    const value = { text: "😀".repeat(5 * 1024 * 1024) };
    const stringify = vi.spyOn(JSON, "stringify");
    try {
      const preview = toPreview(value);
      expect(stringify).toHaveBeenCalledTimes(1);
      expect(preview.truncated).toBe(true);
      expect(preview.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(value)));
      // `{"text":"` is 9 code units, then pairs: the cut falls inside one and drops its half.
      expect(preview.json.length).toBe(PREVIEW_MAX_CHARS - 1);
      expect(preview.json).not.toMatch(/[\uD800-\uDBFF]$/);
    } finally {
      stringify.mockRestore();
    }
  });

  it("pulls one bounded line from an error", () => {
    expect(errorMessageOf({ message: "a\r\n\n b" })).toBe("a b");
    expect(errorMessageOf({ message: "   " })).toBeNull();
    expect(errorMessageOf(42)).toBeNull();
    expect(errorMessageOf("x".repeat(5000))).toHaveLength(1000);
  });
});
