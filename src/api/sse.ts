// Incremental decoder for the live trace stream (PROTOCOL.md "The live trace
// stream"): raw bytes in, validated and normalized TraceEvents out, one batch per
// chunk so that the consumer does one state update per socket read.
//
// The framing works on bytes (issue 6: decoding the whole stream to text, splitting
// it into frames, then JSON.parse of every payload was most of the ingest time):
//   1. a leading UTF-8 BOM is dropped, also when split across chunks;
//   2. CR and CRLF become LF (a CRLF pair may be split across chunks);
//   3. lines end at LF. A line cut by the end of a chunk is kept as copies of its
//      pieces, joined once when its end arrives: an 8 MB line in 16 KB chunks costs
//      linear time;
//   4. the frame size guard (below);
//   5. SSE fields: `event:`, `data:` (several lines joined with LF), `id:` (ignored
//      when it holds NUL), `retry:` (digits only); comments and other fields are
//      ignored; a blank line dispatches a frame that has data. The common frame,
//      `id: `, `event: <type>` and one `data: ` line whole in a chunk, is recognised
//      as such without going through the lines one by one;
//   6. step_started, step_completed, step_output and step_input payloads are decoded
//      from their bytes by eventScan.ts. Every other frame, and any payload that the
//      scanner leaves, takes the reference path: the data as text, JSON.parse, the
//      type (`event:` wins over the payload's `eventType`; the legacy `flow_started`
//      becomes `run_started`), validation (by hand for the two common events, then
//      zod with EVENT_PAYLOADS), and large fields replaced by PayloadPreviews.
// Text is decoded per field value. Every byte that delimits one (LF, `:`, space,
// quotes) is ASCII and never inside a multi-byte sequence, so this reads the same
// characters as decoding the whole stream (invalid bytes become U+FFFD).
// Nothing here throws on bad input: unknown types and bad frames are counted.
import { eventOf, scanned } from "./eventScan.js";
import { toPreview } from "./preview.js";
import { EVENT_PAYLOADS, type TraceEvent, type TraceEventType, type WireEventType } from "./schemas.js";
import type { ReceivedEvent } from "./signals.js";
import { asBuffer, createFrameReader, type FrameSink } from "./sseFrames.js";

/**
 * Default limit on one frame: the bytes from the end of the previous frame to the
 * blank line that ends this one (counted after line ends became LF). A larger frame
 * is skipped and reported as malformed; memory stays bounded.
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

export function createSseDecoder(options: SseDecoderOptions = {}): SseDecoder {
  const now = options.now ?? Date.now;
  const onRawFrame = options.onRawFrame;
  const sink = new BatchSink();
  const reader = createFrameReader(
    {
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      onRawFrame:
        onRawFrame === undefined
          ? undefined
          : (event, data, id) => onRawFrame(id === undefined ? { event, data, at: sink.at } : { event, data, id, at: sink.at }),
    },
    sink,
  );
  return {
    push(bytes: Uint8Array): SseBatch {
      sink.at = now();
      reader.push(asBuffer(bytes));
      return sink.take();
    },
    end(): SseBatch {
      sink.at = now();
      reader.end();
      return sink.take();
    },
  };
}

/** Frames to a batch of ReceivedEvents (scanned events built here, others by the reference path). */
export class BatchSink implements FrameSink {
  /** Arrival time of the chunk being decoded. */
  at = 0;
  private events: ReceivedEvent[] = [];
  private malformedReasons: string[] = [];
  private unknown = 0;
  private retryMs: number | null = null;

  take(): SseBatch {
    const batch: SseBatch = { events: this.events, malformed: this.malformedReasons, unknown: this.unknown, retryMs: this.retryMs };
    this.events = [];
    this.malformedReasons = [];
    this.unknown = 0;
    this.retryMs = null;
    return batch;
  }

  scannedEvent(id: string | undefined): void {
    this.add(eventOf(scanned), id);
  }

  /** An event decoded elsewhere (the decoding thread's results). */
  add(event: TraceEvent, id: string | undefined): void {
    const { at } = this;
    this.events.push(id === undefined ? { event, at } : { event, id, at });
  }

  /** The reference path: one frame's data as text. */
  message(eventType: string | undefined, data: string, id: string | undefined): void {
    const decoded = decodeMessage(eventType, data);
    if (decoded === null) this.unknown += 1;
    else if (typeof decoded === "string") this.malformedReasons.push(decoded);
    else this.add(decoded, id);
  }

  malformed(reason: string): void {
    this.malformedReasons.push(reason);
  }

  retry(ms: number): void {
    this.retryMs = ms;
  }
}

/**
 * The reference path for one frame's data: the event, null for a frame of an unknown
 * type (or none), or why it is malformed.
 */
function decodeMessage(declaredType: string | undefined, text: string): TraceEvent | string | null {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return "invalid JSON";
  }
  const isObject = isRecord(payload);
  let wireType = declaredType;
  if (wireType === undefined && isObject) {
    const declared = (payload as Record<string, unknown>)["eventType"];
    if (typeof declared === "string") wireType = declared;
  }
  if (wireType === undefined) return isObject ? null : "payload is not a JSON object";
  const event = decodeEvent(wireType, payload);
  return typeof event === "string" ? `invalid ${wireType}: ${event}` : event;
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
