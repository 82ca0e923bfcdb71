// Incremental decoder for the live trace stream (PROTOCOL.md "The live trace
// stream"): raw bytes in, validated and normalized TraceEvents out, one batch per
// chunk so that the consumer does one state update per socket read.
//
// Pipeline per chunk:
//   1. a streaming UTF-8 decoder (a sequence may be split across chunks; invalid
//      bytes become U+FFFD) and a leading BOM dropped. node:string_decoder, not
//      TextDecoder: its streaming mode costs about 4 times as much here;
//   2. CR and CRLF become LF (a CRLF pair may be split across chunks). After this
//      eventsource-parser always takes its LF path: its mixed CR/LF path searches
//      for the next CR and the next LF from every line start, which is quadratic
//      in the lines of a chunk when one of the two is rare (a CR-only stream);
//   3. the frame size guard (below);
//   4. eventsource-parser splits lines and frames (comments, multi-line data,
//      `id:`, `retry:`). It buffers a long line as a list of fragments joined
//      once, so an 8 MB frame in 16 KB chunks costs linear time;
//   5. JSON.parse, the type (`event:` wins over the payload's `eventType`; the
//      legacy `flow_started` becomes `run_started`), zod validation with
//      EVENT_PAYLOADS, and large fields replaced by PayloadPreviews.
// Nothing here throws on bad input: unknown types and bad frames are counted.
import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { toPreview } from "./preview.js";
import { EVENT_PAYLOADS, type TraceEvent, type WireEventType } from "./schemas.js";
import type { ReceivedEvent } from "./signals.js";

/**
 * Default limit on one frame: the UTF-8 bytes from the end of the previous frame
 * to the blank line that ends this one (counted after line ends became LF).
 * A larger frame is skipped and reported as malformed; memory stays bounded.
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** A dispatched SSE frame as received, before any validation (for `--record`). */
export interface RawFrame {
  /** The `event:` field, or "" when the frame had none. */
  readonly event: string;
  readonly data: string;
  readonly id?: string;
  readonly at: number;
}

/** What one chunk (or the end of the stream) decoded to. */
export interface SseBatch {
  /** Valid events of known types, in stream order. */
  readonly events: ReceivedEvent[];
  /** One reason per skipped frame: invalid JSON, invalid shape, over the size limit. */
  readonly malformed: string[];
  /** Frames of an event type this version does not know (or with no type at all). */
  readonly unknown: number;
  /** The last well-formed `retry:` value (digits only, in ms, unclamped) in this chunk, else null. */
  readonly retryMs: number | null;
}

export interface SseDecoderOptions {
  /** See DEFAULT_MAX_FRAME_BYTES. */
  readonly maxFrameBytes?: number;
  /** Clock for `ReceivedEvent.at` (read once per chunk). Default Date.now. */
  readonly now?: () => number;
  /** Called for every dispatched frame, valid or not (over-limit frames are never dispatched). */
  readonly onRawFrame?: (raw: RawFrame) => void;
}

/**
 * One decoder per connection (its state is the partial frame of that connection).
 * Every call to `push` is activity: comments and partial frames produce an empty batch.
 */
export interface SseDecoder {
  push(chunk: Uint8Array): SseBatch;
  /** End of stream: a frame not closed by its blank line is dropped, as SSE says. */
  end(): SseBatch;
}

const LF = 10;
const CR = 13;
const BOM = 0xfeff;
const CR_OR_CRLF = /\r\n?/g;

/** Lookup without the prototype chain: a type named `__proto__` or `toString` is just unknown. */
const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.keys(EVENT_PAYLOADS));

export function createSseDecoder(options: SseDecoderOptions = {}): SseDecoder {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const now = options.now ?? Date.now;
  const onRawFrame = options.onRawFrame;
  const utf8 = new StringDecoder("utf8");
  let atStreamStart = true;

  // The batch being filled by the parser callbacks during one push.
  let events: ReceivedEvent[] = [];
  let malformed: string[] = [];
  let unknown = 0;
  let retryMs: number | null = null;
  let at = 0;

  // Line-end normalization across chunks: the last chunk ended with CR, so a
  // leading LF of the next chunk is the second half of a CRLF pair.
  let pendingCr = false;
  // Frame guard: text seen since the last frame end, and whether the last
  // normalized character was LF (a chunk starting with LF then ends a frame).
  let frameBytes = 0;
  let endsWithLf = true; // the stream starts at a line start

  // After an over-limit frame: drop text until that frame's blank line.
  let skipping = false;

  const parser = createParser({
    onEvent(message) {
      if (onRawFrame !== undefined) {
        const raw = { event: message.event ?? "", data: message.data, at };
        onRawFrame(message.id === undefined ? raw : { ...raw, id: message.id });
      }
      decodeMessage(message);
    },
    onRetry(ms) {
      retryMs = ms;
    },
    // Unknown fields and malformed `retry:` values are ignored, as SSE says.
  });

  function decodeMessage(message: EventSourceMessage): void {
    let payload: unknown;
    try {
      payload = JSON.parse(message.data);
    } catch {
      malformed.push("invalid JSON");
      return;
    }
    const isObject = typeof payload === "object" && payload !== null && !Array.isArray(payload);
    let wireType = message.event;
    if (wireType === undefined && isObject) {
      const declared = (payload as Record<string, unknown>)["eventType"];
      if (typeof declared === "string") wireType = declared;
    }
    if (wireType === undefined) {
      if (isObject) unknown += 1;
      else malformed.push("payload is not a JSON object");
      return;
    }
    if (!KNOWN_TYPES.has(wireType)) {
      unknown += 1;
      return;
    }
    const result = validatePayload(wireType as WireEventType, payload);
    if (!result.ok) {
      malformed.push(`invalid ${wireType}: ${result.reason}`);
      return;
    }
    const event = toTraceEvent(wireType as WireEventType, result.value);
    events.push(message.id === undefined ? { event, at } : { event, id: message.id, at });
  }

  function takeBatch(): SseBatch {
    const batch: SseBatch = { events, malformed, unknown, retryMs };
    events = [];
    malformed = [];
    unknown = 0;
    retryMs = null;
    return batch;
  }

  /** Feeds normalized text, skipping over-limit frames. */
  function guardAndFeed(text: string): void {
    let lfBefore = endsWithLf;
    endsWithLf = text.charCodeAt(text.length - 1) === LF;
    let start = 0;
    if (skipping) {
      const end = nextFrameEnd(text, 0, lfBefore);
      if (end === -1) return;
      skipping = false;
      frameBytes = 0;
      start = end;
      lfBefore = true;
    }
    const lastEnd = lastFrameEnd(text, start, lfBefore);
    if (lastEnd === -1) {
      const piece = start === 0 ? text : text.slice(start);
      frameBytes += Buffer.byteLength(piece, "utf8");
      if (frameBytes <= maxFrameBytes) parser.feed(piece);
      else dropFrame();
      return;
    }
    // A UTF-16 code unit is at most 3 UTF-8 bytes: when even that bound fits, no
    // frame ending in this chunk can be over the limit, and the frames need no walk.
    if (frameBytes + (lastEnd - start) * 3 > maxFrameBytes) {
      feedFramesChecked(text, start, lastEnd, lfBefore);
    } else {
      parser.feed(start === 0 ? text.slice(0, lastEnd) : text.slice(start, lastEnd));
    }
    const tail = text.slice(lastEnd);
    frameBytes = Buffer.byteLength(tail, "utf8");
    if (frameBytes > maxFrameBytes) dropFrame();
    else if (tail.length > 0) parser.feed(tail);
  }

  /** The frame in progress is over the limit: forget what the parser holds, skip to its end. */
  function dropFrame(): void {
    malformed.push(`frame over ${String(maxFrameBytes)} bytes`);
    parser.reset();
    skipping = true;
  }

  /** Feeds the frames in text[start, lastEnd), dropping those over the limit. */
  function feedFramesChecked(text: string, start: number, lastEnd: number, lfBeforeStart: boolean): void {
    let feedFrom = start;
    let frameStart = start;
    let carried = frameBytes;
    let lfBefore = lfBeforeStart;
    while (frameStart < lastEnd) {
      const end = nextFrameEnd(text, frameStart, lfBefore);
      lfBefore = true;
      const size = carried + Buffer.byteLength(text.slice(frameStart, end), "utf8");
      if (size > maxFrameBytes) {
        if (frameStart > feedFrom) parser.feed(text.slice(feedFrom, frameStart));
        // The frame began in an earlier chunk: the parser holds its start.
        if (carried > 0) parser.reset();
        malformed.push(`frame over ${String(maxFrameBytes)} bytes`);
        feedFrom = end;
      }
      carried = 0;
      frameStart = end;
    }
    if (lastEnd > feedFrom) parser.feed(text.slice(feedFrom, lastEnd));
  }

  function normalizeLineEnds(chunkText: string): string {
    let text = chunkText;
    if (pendingCr) {
      pendingCr = false;
      if (text.charCodeAt(0) === LF) text = text.slice(1);
    }
    if (text.indexOf("\r") !== -1) {
      pendingCr = text.charCodeAt(text.length - 1) === CR;
      text = text.replace(CR_OR_CRLF, "\n");
    }
    return text;
  }

  function process(decoded: string): SseBatch {
    at = now();
    let text = decoded;
    if (atStreamStart && text.length > 0) {
      atStreamStart = false;
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    const normalized = normalizeLineEnds(text);
    if (normalized.length > 0) guardAndFeed(normalized);
    return takeBatch();
  }

  return {
    push(chunk: Uint8Array): SseBatch {
      return process(utf8.write(chunk));
    },
    end(): SseBatch {
      const batch = process(utf8.end());
      parser.reset();
      return batch;
    },
  };
}

/**
 * Index just past the first frame end (a blank line) at or after `from`, or -1.
 * `lfBefore`: the character before `from` was LF, so LF at `from` ends a frame.
 */
function nextFrameEnd(text: string, from: number, lfBefore: boolean): number {
  if (lfBefore && text.charCodeAt(from) === LF) return from + 1;
  const at = text.indexOf("\n\n", from);
  return at === -1 ? -1 : at + 2;
}

/** Index just past the last frame end at or after `from`, or -1. */
function lastFrameEnd(text: string, from: number, lfBefore: boolean): number {
  const at = text.lastIndexOf("\n\n");
  if (at >= from) return at + 2;
  if (lfBefore && text.charCodeAt(from) === LF) return from + 1;
  return -1;
}

const LARGE_FIELDS: Partial<Record<WireEventType, string>> = {
  step_input: "inputData",
  step_output: "outputData",
  step_completed: "output",
  flow_completed: "result",
  step_error: "error",
};

/**
 * The validated payload (a fresh object from zod) becomes the TraceEvent in place:
 * canonical `type`, large field as a preview, and for step_error a one-line message.
 */
function toTraceEvent(wireType: WireEventType, payload: Record<string, unknown>): TraceEvent {
  payload["type"] = wireType === "flow_started" ? "run_started" : wireType;
  const largeField = LARGE_FIELDS[wireType];
  if (largeField !== undefined) {
    const value = payload[largeField];
    if (value !== undefined) {
      payload[largeField] = toPreview(value);
      if (wireType === "step_error") {
        const message = errorMessageOf(value);
        if (message !== null) payload["errorMessage"] = message;
      }
    }
  }
  return payload as unknown as TraceEvent;
}

/** Longest error message kept (it lives in state for the whole run). */
const ERROR_MESSAGE_MAX_CHARS = 1000;

/** One line from `error.message`, `error.error`, or a string error; null when there is none. */
export function errorMessageOf(error: unknown): string | null {
  let text: unknown = error;
  if (typeof error === "object" && error !== null) {
    const record = error as Record<string, unknown>;
    text = typeof record["message"] === "string" ? record["message"] : record["error"];
  }
  if (typeof text !== "string") return null;
  const line = text.replace(/\s*[\r\n]+\s*/g, " ").trim();
  if (line.length === 0) return null;
  return line.length > ERROR_MESSAGE_MAX_CHARS ? `${line.slice(0, ERROR_MESSAGE_MAX_CHARS - 1)}…` : line;
}

// ---------------------------------------------------------------------------
// Fast validation of the two events that make up nearly all of a stream. zod costs
// about a third of the ingest time on small events (measured: 500,000 events), so
// step_started and step_completed are checked by hand first. Each function applies
// exactly the rules of its zod schema in schemas.ts and builds the same output
// (unknown keys dropped, absent keys absent); on anything it does not accept it
// returns undefined and zod decides (and words the error). test/api/sse.test.ts
// checks that both agree on a list of edge cases.

type Validator = (payload: Record<string, unknown>) => Record<string, unknown> | undefined;

/** The DecimalString pattern of schemas.ts. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function isNullishString(value: unknown): boolean {
  return value === undefined || value === null || typeof value === "string";
}

function isNullishInt(value: unknown): boolean {
  return value === undefined || value === null || Number.isSafeInteger(value);
}

function isNullishNumber(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "number" && Number.isFinite(value));
}

function validStepStarted(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  const { stepId, name, stepIndex } = payload;
  if (typeof stepId !== "string" || !isNullishString(name) || !isNullishInt(stepIndex)) return undefined;
  const out: Record<string, unknown> = { stepId };
  if (name !== undefined) out["name"] = name;
  if (stepIndex !== undefined) out["stepIndex"] = stepIndex;
  return out;
}

function validTokens(tokens: unknown): Record<string, unknown> | null | undefined {
  if (tokens === null) return null;
  if (typeof tokens !== "object" || Array.isArray(tokens)) return undefined;
  const { prompt, completion, total } = tokens as Record<string, unknown>;
  if (!isNullishInt(prompt) || !isNullishInt(completion) || !isNullishInt(total)) return undefined;
  const out: Record<string, unknown> = {};
  if (prompt !== undefined) out["prompt"] = prompt;
  if (completion !== undefined) out["completion"] = completion;
  if (total !== undefined) out["total"] = total;
  return out;
}

function validStepCompleted(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  const { stepId, name, output, durationMs, tokens, costUsd, modelUsed } = payload;
  if (typeof stepId !== "string" || !isNullishString(name) || !isNullishNumber(durationMs)) return undefined;
  if (!isNullishString(modelUsed)) return undefined;
  let cost: unknown = costUsd;
  if (typeof costUsd === "string") {
    if (!DECIMAL.test(costUsd)) return undefined;
  } else if (typeof costUsd === "number") {
    if (!Number.isFinite(costUsd)) return undefined;
    cost = String(costUsd);
  } else if (costUsd !== undefined && costUsd !== null) {
    return undefined;
  }
  const out: Record<string, unknown> = { stepId };
  if (name !== undefined) out["name"] = name;
  if (output !== undefined) out["output"] = output;
  if (durationMs !== undefined) out["durationMs"] = durationMs;
  if (tokens !== undefined) {
    const validated = validTokens(tokens);
    if (validated === undefined) return undefined;
    out["tokens"] = validated;
  }
  if (cost !== undefined) out["costUsd"] = cost;
  if (modelUsed !== undefined) out["modelUsed"] = modelUsed;
  return out;
}

const FAST_VALIDATORS: ReadonlyMap<string, Validator> = new Map<string, Validator>([
  ["step_started", validStepStarted],
  ["step_completed", validStepCompleted],
]);

/**
 * The validated payload of one event (the fast path when there is one, else zod),
 * or the first problem as one line. `payload` comes from JSON.parse (the fast path
 * reads an `undefined` value as an absent key). Exported for the agreement test.
 */
export function validatePayload(
  wireType: WireEventType,
  payload: unknown,
): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) {
    const fast = FAST_VALIDATORS.get(wireType)?.(payload as Record<string, unknown>);
    if (fast !== undefined) return { ok: true, value: fast };
  }
  const parsed = EVENT_PAYLOADS[wireType].safeParse(payload);
  if (parsed.success) return { ok: true, value: parsed.data as Record<string, unknown> };
  return { ok: false, reason: describeIssue(parsed.error.issues) };
}

function describeIssue(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const issue = issues[0];
  if (issue === undefined) return "invalid shape";
  const path = issue.path.map(String).join(".");
  return path.length > 0 ? `${path}: ${issue.message}` : issue.message;
}
