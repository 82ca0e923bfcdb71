// The byte-level decoder (sse.ts framing, eventScan.ts payloads) against a reference
// built the plain way: the text of the whole stream, eventsource-parser for the
// framing, JSON.parse and decodeEvent (the validators and zod) for every frame. Both
// must report the same events, malformed frames and unknown types, for hand-picked
// edge cases and for random payloads, formattings and chunkings.
import { createParser } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { PREVIEW_MAX_CHARS } from "../../src/api/preview.js";
import type { ReceivedEvent } from "../../src/api/signals.js";
import { createSseDecoder, decodeEvent } from "../../src/api/sse.js";
import { mulberry32 } from "../../src/server/random.js";

interface Decoded {
  events: ReceivedEvent[];
  malformed: string[];
  unknown: number;
}

/** The reference: one text, CR/CRLF as LF, eventsource-parser, JSON.parse, decodeEvent. */
function reference(bytes: Uint8Array): Decoded {
  const out: Decoded = { events: [], malformed: [], unknown: 0 };
  let text = new TextDecoder().decode(bytes).replace(/\r\n?/g, "\n");
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const parser = createParser({
    onEvent(message) {
      let payload: unknown;
      try {
        payload = JSON.parse(message.data);
      } catch {
        out.malformed.push("invalid JSON");
        return;
      }
      const isObject = typeof payload === "object" && payload !== null && !Array.isArray(payload);
      let type = message.event;
      if (type === undefined && isObject) {
        const declared = (payload as Record<string, unknown>)["eventType"];
        if (typeof declared === "string") type = declared;
      }
      if (type === undefined) {
        if (isObject) out.unknown++;
        else out.malformed.push("payload is not a JSON object");
        return;
      }
      const event = decodeEvent(type, payload);
      if (event === null) out.unknown++;
      else if (typeof event === "string") out.malformed.push(`invalid ${type}: ${event}`);
      else out.events.push(message.id === undefined ? { event, at: 1 } : { event, id: message.id, at: 1 });
    },
  });
  parser.feed(text);
  return out;
}

function decodeChunks(chunks: readonly Uint8Array[]): Decoded {
  const decoder = createSseDecoder({ now: () => 1 });
  const out: Decoded = { events: [], malformed: [], unknown: 0 };
  for (const batch of [...chunks.map((chunk) => decoder.push(chunk)), decoder.end()]) {
    out.events.push(...batch.events);
    out.malformed.push(...batch.malformed);
    out.unknown += batch.unknown;
  }
  return out;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const frame = (type: string, data: string): string => `event: ${type}\ndata: ${data}\n\n`;

/** Decodes `text` whole, and cut at every position in `cuts`, and expects the reference's result each time. */
function expectAgreement(text: string | Uint8Array, cuts: readonly number[] = []): Decoded {
  const bytes = typeof text === "string" ? utf8(text) : text;
  const want = reference(bytes);
  expect(decodeChunks([bytes])).toStrictEqual(want);
  for (const cut of cuts) {
    expect(decodeChunks([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toStrictEqual(want);
  }
  return want;
}

// ---------------------------------------------------------------------------
// Hand-picked payloads: each is decoded after a run of well-formed payloads of the
// same type, so that the scanner has learnt their shape (the case it is fast for).

const STARTED = '{"eventType":"step_started","stepId":"s-1","name":"first","stepIndex":0}';
const COMPLETED =
  '{"eventType":"step_completed","stepId":"s-1","name":"first","output":{"text":"done"},"durationMs":12,' +
  '"tokens":{"prompt":1,"completion":2,"total":3},"costUsd":"0.000123","modelUsed":"m"}';

const EDGE_CASES: readonly [string, string][] = [
  ["step_started", STARTED],
  ["step_started", '{"stepId":"s"}'],
  ["step_started", '{ "stepId" : "s" , "name" : null , "stepIndex" : 3 }'],
  ["step_started", '\t{"stepId":"s","stepIndex":-0}\t'],
  ["step_started", '{"stepId":"s","stepIndex":1.5}'],
  ["step_started", '{"stepId":"s","stepIndex":9007199254740992}'],
  ["step_started", '{"stepId":"s","stepIndex":1e2}'],
  ["step_started", '{"stepId":"s","name":5}'],
  ["step_started", '{"stepId":5}'],
  ["step_started", "{}"],
  ["step_started", "[]"],
  ["step_started", '"text"'],
  ["step_started", "42"],
  ["step_started", '{"stepId":"a","stepId":"b"}'],
  ["step_started", '{"step\\u0049d":"escaped key"}'],
  ["step_started", '{"stepId":"esc\\"aped\\n\\u00e9\\ud83d\\ude00"}'],
  ["step_started", '{"stepId":"r\u00e9sum\u00e9 \ud83d\udc69\u200d\ud83d\udcbb"}'],
  ["step_started", '{"stepId":"tab\there"}'],
  ["step_started", '{"stepId":"bad \\x escape"}'],
  ["step_started", '{"stepId":"s",}'],
  ["step_started", '{"stepId":"s"} x'],
  ["step_started", '{"stepId":"s"'],
  ["step_started", '{"stepId":"s","extra":{"deep":[1,{"x":null}],"t":true,"f":false}}'],
  ["step_started", '{"__proto__":{"stepId":"p"},"stepId":"s"}'],
  ["step_started", '{"stepId":"s","extra":[1,2,]}'],
  ["step_started", '{"stepId":"s","extra":01}'],
  ["step_started", '{"stepId":"s","extra":-}'],
  ["step_started", '{"stepId":"s","extra":tru}'],
  ["step_started", `{"stepId":"s","deep":${"[".repeat(70)}${"]".repeat(70)}}`],
  ["step_completed", COMPLETED],
  ["step_completed", '{"stepId":"s","costUsd":0.1}'],
  ["step_completed", '{"stepId":"s","costUsd":1e-7}'],
  ["step_completed", '{"stepId":"s","costUsd":"-.5"}'],
  ["step_completed", '{"stepId":"s","costUsd":"+1."}'],
  ["step_completed", '{"stepId":"s","costUsd":"1.2.3"}'],
  ["step_completed", '{"stepId":"s","costUsd":" 1"}'],
  ["step_completed", '{"stepId":"s","costUsd":"1e5"}'],
  ["step_completed", '{"stepId":"s","costUsd":"e5"}'],
  ["step_completed", '{"stepId":"s","costUsd":"\\u0031"}'],
  ["step_completed", '{"stepId":"s","costUsd":true}'],
  ["step_completed", '{"stepId":"s","costUsd":{}}'],
  ["step_completed", '{"stepId":"s","costUsd":1e999}'],
  ["step_completed", '{"stepId":"s","durationMs":"12"}'],
  ["step_completed", '{"stepId":"s","durationMs":1e999}'],
  ["step_completed", '{"stepId":"s","durationMs":12.5,"modelUsed":null,"name":null}'],
  ["step_completed", '{"stepId":"s","tokens":null}'],
  ["step_completed", '{"stepId":"s","tokens":{}}'],
  ["step_completed", '{"stepId":"s","tokens":{"prompt":null,"total":3,"other":[1]}}'],
  ["step_completed", '{"stepId":"s","tokens":{"prompt":1.5}}'],
  ["step_completed", '{"stepId":"s","tokens":{"prompt":"1"}}'],
  ["step_completed", '{"stepId":"s","tokens":{"pr\\u006fmpt":1}}'],
  ["step_completed", '{"stepId":"s","tokens":[]}'],
  ["step_completed", '{"stepId":"s","tokens":{"prompt":1,"prompt":2}}'],
  ["step_completed", '{"stepId":"s","modelUsed":3}'],
  ["step_completed", '{"stepId":"s","output":null}'],
  ["step_completed", '{"stepId":"s","output":"text"}'],
  ["step_completed", '{"stepId":"s","output":[1, 2]}'],
  ["step_completed", '{"stepId":"s","output":{"b":1,"a":2,"b":3}}'],
  ["step_completed", '{"stepId":"s","output":{"b":1,"2":2,"1":3}}'],
  ["step_completed", '{"stepId":"s","output":{"01":1,"x":2}}'],
  ["step_completed", '{"stepId":"s","output":{"a\\u0062":1,"ab":2}}'],
  ["step_completed", '{"stepId":"s","output":{"\u00e9":1,"\u00e9":2}}'],
  ["step_completed", '{"stepId":"s","output":[1.50,1e3,-0,0.1,12345678901234567890]}'],
  ["step_completed", '{"stepId":"s","output":"\\u00e9\\n\\/"}'],
  ["step_completed", '{"stepId":"s","output":{"a":{"b":{"c":[true,false,null]}}}}'],
  ["step_completed", `{"stepId":"s","output":{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(",")}}}`],
  ["step_completed", `{"stepId":"s","output":"${"x".repeat(PREVIEW_MAX_CHARS - 2)}"}`],
  ["step_completed", `{"stepId":"s","output":"${"x".repeat(PREVIEW_MAX_CHARS - 1)}"}`],
  ["step_completed", `{"stepId":"s","output":"${"é".repeat(PREVIEW_MAX_CHARS)}"}`],
  ["step_completed", `{"stepId":"s","output":"${"😀".repeat(PREVIEW_MAX_CHARS)}"}`],
  ["step_completed", `{"stepId":"s","output":"${"é".repeat(3 * PREVIEW_MAX_CHARS)}"}`],
  ["step_completed", `{"stepId":"s","output":["${"a".repeat(PREVIEW_MAX_CHARS)}", 1]}`],
  ["step_output", '{"stepId":"s","outputData":{"rows":[{"row":1,"text":"x"}]}}'],
  ["step_output", '{"stepId":"s"}'],
  ["step_output", '{"stepId":"s","outputData":undefined}'],
  ["step_output", '{"stepId":1,"outputData":2}'],
  ["step_input", '{"stepId":"s","inputData":{"q":"hi"},"outputData":1}'],
  ["step_input", '{"stepId":"s","inputData":{"q":"h\\u0069"}}'],
];

describe("byte-level decoding agrees with JSON.parse and the validators", () => {
  it.each(EDGE_CASES.map(([type, data]) => [type, data.length > 120 ? `${data.slice(0, 117)}...` : data, data] as const))(
    "%s %s",
    (type, _label, data) => {
      const learnt = type === "step_completed" ? COMPLETED : type === "step_started" ? STARTED : '{"stepId":"s","outputData":1}';
      const text = frame(type, learnt).repeat(3) + frame(type, data) + frame(type, learnt);
      expectAgreement(text, [text.length - 10]);
      // The same payload first, before any shape of its type is known to this decoder.
      expectAgreement(frame(type, data));
    },
  );

  it("decodes invalid UTF-8 in names, values and previews as the text decoder does", () => {
    const bytes = new Uint8Array([
      ...utf8('event: step_completed\ndata: {"stepId":"a\u00e9'),
      0xff,
      0xe2,
      0x82,
      ...utf8('","name":"n'),
      0xc3,
      ...utf8('","output":"'),
      0xed,
      0xa0,
      0x80,
      ...utf8('x"}\n\n'),
    ]);
    expect(expectAgreement(bytes).events).toHaveLength(1);
  });

  it("keeps a long ASCII preview as its first characters and its full size", () => {
    const value = "y".repeat(100_000);
    const got = expectAgreement(frame("step_output", `{"stepId":"big","outputData":"${value}"}`));
    expect(got.events[0]?.event).toMatchObject({ outputData: { sizeBytes: 100_002, truncated: true } });
  });
});

// ---------------------------------------------------------------------------
// Random payloads

const CHARS = ["a", "b", "Z", " ", "0", "9", '"', "\\", "/", "\n", "\t", "é", "€", "😀", "\u2028", "\u0001", "{", "]", ":", ","];
const NUMBERS = ["0", "-0", "1", "-12", "1.5", "1.50", "1e3", "2E-2", "123456789012345", "1234567890123456789", "0.000123", "1e400"];
const KEYS = ["stepId", "name", "stepIndex", "output", "outputData", "inputData", "durationMs", "tokens", "costUsd", "modelUsed", "eventType", "prompt", "completion", "total", "x", "1", "é", "__proto__"];

/** A random JSON text, formatted in one of several ways (escapes, spaces), sometimes broken. */
function randomJson(random: () => number, depth: number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const space = (): string => (random() < 0.15 ? pick([" ", "\t", "  ", "\n"]) : "");
  const string = (): string => {
    let text = "";
    const length = Math.floor(random() * 8);
    for (let i = 0; i < length; i++) text += pick(CHARS);
    const json = JSON.stringify(text);
    // Sometimes an escape where none is needed.
    return random() < 0.1 ? json.replace(/a/g, "\\u0061") : json;
  };
  const r = random();
  if (depth > 3 || r < 0.25) return string();
  if (r < 0.45) return pick(NUMBERS);
  if (r < 0.5) return pick(["true", "false", "null"]);
  if (r < 0.7) {
    const items = Array.from({ length: Math.floor(random() * 4) }, () => space() + randomJson(random, depth + 1) + space());
    return `[${items.join(",")}]`;
  }
  const entries = Array.from({ length: Math.floor(random() * 5) }, () => {
    const key = random() < 0.7 ? JSON.stringify(pick(KEYS)) : string();
    return `${space()}${key}${space()}:${space()}${randomJson(random, depth + 1)}${space()}`;
  });
  return `{${entries.join(",")}}`;
}

/** A payload for `type`: mostly well-formed with random values for the fields it reads, some random extra keys. */
function randomPayload(random: () => number, type: string): string {
  const fields: string[] = [];
  const value = (good: () => string): string => (random() < 0.8 ? good() : randomJson(random, 1));
  const int = (): string => String(Math.floor(random() * 1000));
  if (random() < 0.7) fields.push(`"eventType":"${type}"`);
  fields.push(`"stepId":${value(() => JSON.stringify(`step-${int()}`))}`);
  if (random() < 0.7) fields.push(`"name":${value(() => JSON.stringify(`name ${int()}`))}`);
  if (type === "step_started" && random() < 0.5) fields.push(`"stepIndex":${value(int)}`);
  if (type === "step_completed") {
    if (random() < 0.7) fields.push(`"output":${randomJson(random, 0)}`);
    if (random() < 0.7) fields.push(`"durationMs":${value(int)}`);
    if (random() < 0.7) fields.push(`"tokens":${value(() => `{"prompt":${int()},"completion":${int()},"total":${int()}}`)}`);
    if (random() < 0.7) fields.push(`"costUsd":${value(() => `"0.${int()}"`)}`);
    if (random() < 0.7) fields.push(`"modelUsed":${value(() => '"gpt-4o-mini"')}`);
  }
  if (type === "step_output" && random() < 0.9) fields.push(`"outputData":${randomJson(random, 0)}`);
  if (type === "step_input" && random() < 0.9) fields.push(`"inputData":${randomJson(random, 0)}`);
  if (random() < 0.3) fields.push(`${JSON.stringify(KEYS[Math.floor(random() * KEYS.length)])}:${randomJson(random, 1)}`);
  // Same keys in the same order most of the time, as a server writes them.
  if (random() < 0.1) fields.reverse();
  let text = `{${fields.join(",")}}`;
  if (random() < 0.05) {
    // A broken byte somewhere.
    const at = Math.floor(random() * text.length);
    text = text.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + text.slice(at + 1);
  }
  return text.replace(/[\r\n]/g, " ");
}

describe("random payloads, formattings and chunkings", () => {
  it("agree with the reference (2,000 frames in 40 streams, cut at random places)", () => {
    const random = mulberry32(20260601);
    const types = ["step_started", "step_completed", "step_completed", "step_output", "step_input"];
    let frames = 0;
    for (let stream = 0; stream < 40; stream++) {
      let text = "";
      for (let i = 0; i < 50; i++) {
        const type = types[Math.floor(random() * types.length)] as string;
        const data = randomPayload(random, type);
        const id = random() < 0.5 ? `id: ${i}\n` : random() < 0.1 ? "id: x\u0000y\n" : "";
        text += random() < 0.9 ? id + frame(type, data) : `data: ${data}\n${id}\n`;
        frames++;
      }
      const bytes = utf8(text);
      const cuts = Array.from({ length: 3 }, () => Math.floor(random() * bytes.length));
      expectAgreement(bytes, cuts);
      // Small chunks: every frame crosses chunk ends.
      expect(decodeChunks(Array.from({ length: Math.ceil(bytes.length / 97) }, (_, i) => bytes.subarray(i * 97, i * 97 + 97)))).toStrictEqual(
        reference(bytes),
      );
    }
    expect(frames).toBe(2000);
  });
});
