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
import { EVENT_PAYLOADS, type TraceEvent, type TraceEventType, type WireEventType } from "./schemas.js";
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
    const isObject = isRecord(payload);
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
    const event = decodeEvent(wireType, payload);
    if (event === null) {
      unknown += 1;
      return;
    }
    if (typeof event === "string") {
      malformed.push(`invalid ${wireType}: ${event}`);
      return;
    }
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

/**
 * The TraceEvent of one payload (from JSON.parse): null for an unknown type, the
 * first problem as one line for an invalid shape. `fast: false` skips the hand
 * validators (the agreement test compares both paths).
 */
export function decodeEvent(
  wireType: string,
  payload: unknown,
  options: { fast?: boolean } = {},
): TraceEvent | string | null {
  const kind = KINDS.get(wireType);
  if (kind === undefined) return null;
  if (kind.fast !== undefined && options.fast !== false && isRecord(payload)) {
    const event = kind.fast(payload);
    if (event !== undefined) return event;
  }
  const parsed = kind.schema.safeParse(payload);
  if (!parsed.success) return describeIssue(parsed.error.issues);
  return finishEvent(kind, parsed.data as Record<string, unknown>);
}

/**
 * zod's output (a fresh object) becomes the TraceEvent in place: canonical `type`,
 * large field as a preview, and for step_error a one-line message.
 */
function finishEvent(kind: EventKind, payload: Record<string, unknown>): TraceEvent {
  payload["type"] = kind.type;
  const { largeField } = kind;
  if (largeField !== undefined) {
    const value = payload[largeField];
    if (value !== undefined) {
      payload[largeField] = toPreview(value);
      if (kind.type === "step_error") {
        const message = errorMessageOf(value);
        if (message !== null) payload["errorMessage"] = message;
      }
    }
  }
  return payload as unknown as TraceEvent;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
// about a third of the decoding time of small events (measured on 500,000), so
// step_started and step_completed are checked by hand first. Each function applies
// exactly the rules of its zod schema in schemas.ts and builds the same event as
// the zod path (unknown keys dropped, absent keys absent); on anything it does not
// accept it returns undefined and zod decides (and words the error).
// test/api/sse.test.ts checks that both paths agree on a list of edge cases.

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

function fastStepStarted(payload: Record<string, unknown>): TraceEvent | undefined {
  const { stepId, name, stepIndex } = payload;
  if (typeof stepId !== "string" || !isNullishString(name) || !isNullishInt(stepIndex)) return undefined;
  const event: Record<string, unknown> = { type: "step_started", stepId };
  if (name !== undefined) event["name"] = name;
  if (stepIndex !== undefined) event["stepIndex"] = stepIndex;
  return event as TraceEvent;
}

function fastTokens(tokens: unknown): Record<string, unknown> | null | undefined {
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

function fastStepCompleted(payload: Record<string, unknown>): TraceEvent | undefined {
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
  let checkedTokens: Record<string, unknown> | null | undefined;
  if (tokens !== undefined) {
    checkedTokens = fastTokens(tokens);
    if (checkedTokens === undefined) return undefined;
  }
  const event: Record<string, unknown> = { type: "step_completed", stepId };
  if (name !== undefined) event["name"] = name;
  if (output !== undefined) event["output"] = toPreview(output);
  if (durationMs !== undefined) event["durationMs"] = durationMs;
  if (checkedTokens !== undefined) event["tokens"] = checkedTokens;
  if (cost !== undefined) event["costUsd"] = cost;
  if (modelUsed !== undefined) event["modelUsed"] = modelUsed;
  return event as TraceEvent;
}

interface EventKind {
  /** Canonical type (`flow_started` is `run_started`). */
  readonly type: TraceEventType;
  readonly schema: (typeof EVENT_PAYLOADS)[WireEventType];
  /** The field replaced by a PayloadPreview, if any. */
  readonly largeField?: string;
  readonly fast?: (payload: Record<string, unknown>) => TraceEvent | undefined;
}

const LARGE_FIELDS: Partial<Record<WireEventType, string>> = {
  step_input: "inputData",
  step_output: "outputData",
  step_completed: "output",
  flow_completed: "result",
  step_error: "error",
};

const FAST: Partial<Record<WireEventType, EventKind["fast"]>> = {
  step_started: fastStepStarted,
  step_completed: fastStepCompleted,
};

/** Wire type -> how to decode it. A Map: a type named `__proto__` or `toString` is just unknown. */
const KINDS: ReadonlyMap<string, EventKind> = new Map(
  (Object.keys(EVENT_PAYLOADS) as WireEventType[]).map((wireType): [string, EventKind] => {
    const largeField = LARGE_FIELDS[wireType];
    const fast = FAST[wireType];
    return [
      wireType,
      {
        type: wireType === "flow_started" ? "run_started" : wireType,
        schema: EVENT_PAYLOADS[wireType],
        ...(largeField === undefined ? {} : { largeField }),
        ...(fast === undefined ? {} : { fast }),
      },
    ];
  }),
);

function describeIssue(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const issue = issues[0];
  if (issue === undefined) return "invalid shape";
  const path = issue.path.map(String).join(".");
  return path.length > 0 ? `${path}: ${issue.message}` : issue.message;
}
