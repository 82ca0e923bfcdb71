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
import { BytePattern, UTF8_BOM, viewOf } from "./bytes.js";
import { forgetBuffers, scanEvent, SCANNED_TYPES, type ScannedType } from "./eventScan.js";
import { toPreview } from "./preview.js";
import { EVENT_PAYLOADS, type TraceEvent, type TraceEventType, type WireEventType } from "./schemas.js";
import type { ReceivedEvent } from "./signals.js";

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

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;
const EMPTY = Buffer.alloc(0);
const LF_BYTES = Buffer.from([LF]);

const DATA = BytePattern.of("data");
const EVENT = BytePattern.of("event");
const ID = BytePattern.of("id");
const RETRY = BytePattern.of("retry");
const ID_PREFIX = BytePattern.of("id: ");
const EVENT_PREFIX = BytePattern.of("event: ");
const DATA_PREFIX = BytePattern.of("data: ");
const SCANNED_NAMES: readonly (readonly [BytePattern, ScannedType])[] = SCANNED_TYPES.map((type) => [BytePattern.of(type), type]);

/** The scanned type named by the viewed bytes [start, end), or null. */
function scannedType(view: DataView, start: number, end: number): ScannedType | null {
  for (let k = 0; k < SCANNED_NAMES.length; k++) {
    const [name, type] = SCANNED_NAMES[k] as readonly [BytePattern, ScannedType];
    if (name.is(view, start, end)) return type;
  }
  return null;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export function createSseDecoder(options: SseDecoderOptions = {}): SseDecoder {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const now = options.now ?? Date.now;
  const onRawFrame = options.onRawFrame;

  // The batch being filled during one push.
  let events: ReceivedEvent[] = [];
  let malformed: string[] = [];
  let unknown = 0;
  let retryMs: number | null = null;
  let at = 0;

  // Stream start: bytes held while they may still be a BOM split across chunks.
  let atStreamStart = true;
  let head: Buffer = EMPTY;
  // The last chunk ended with CR: a leading LF of the next one completes a CRLF.
  let pendingCr = false;
  // The chunk being fed: a frame still open when its push ends copies what it views of it.
  let chunk: Buffer = EMPTY;
  // The line cut by the end of the last chunk: copies of its pieces, and its length.
  let partial: Buffer[] = [];
  let partialBytes = 0;

  // The frame in progress: bytes of its complete lines (LF included), its fields.
  let frameBytes = 0;
  // Over the limit: its lines are dropped up to its blank line.
  let skipping = false;
  let eventType: string | undefined;
  let scanned: ScannedType | null = null;
  let id: string | undefined;
  // The first data line as a range of a buffer; further lines as copies.
  let data: Buffer | null = null;
  let dataStart = 0;
  let dataEnd = 0;
  let moreData: Buffer[] | null = null;

  function takeBatch(): SseBatch {
    const batch: SseBatch = { events, malformed, unknown, retryMs };
    events = [];
    malformed = [];
    unknown = 0;
    retryMs = null;
    return batch;
  }

  function resetFrame(): void {
    eventType = undefined;
    scanned = null;
    id = undefined;
    data = null;
    moreData = null;
  }

  /** The chunk without a leading BOM; null while its first bytes may still be one. */
  function dropBom(bytes: Buffer): Buffer | null {
    const start = head.length === 0 ? bytes : Buffer.concat([head, bytes]);
    if (start.length < UTF8_BOM.length && UTF8_BOM.subarray(0, start.length).equals(start)) {
      head = Buffer.from(start);
      return null;
    }
    atStreamStart = false;
    head = EMPTY;
    return start.subarray(0, UTF8_BOM.length).equals(UTF8_BOM) ? start.subarray(UTF8_BOM.length) : start;
  }

  function normalizeLineEnds(bytes: Buffer): Buffer {
    let from = 0;
    if (pendingCr) {
      pendingCr = false;
      if (bytes[0] === LF) from = 1;
    }
    let cr = bytes.indexOf(CR, from);
    if (cr === -1) return from === 0 ? bytes : bytes.subarray(from);
    const out = Buffer.allocUnsafe(bytes.length - from);
    let length = 0;
    while (cr !== -1) {
      length += bytes.copy(out, length, from, cr);
      out[length++] = LF;
      from = cr + 1;
      if (from === bytes.length) pendingCr = true;
      else if (bytes[from] === LF) from++;
      cr = bytes.indexOf(CR, from);
    }
    length += bytes.copy(out, length, from);
    return out.subarray(0, length);
  }

  function feed(b: Buffer): void {
    chunk = b;
    let p = 0;
    if (partialBytes > 0) {
      const lf = b.indexOf(LF);
      if (lf === -1) {
        keepPartial(b, 0, b.length);
        return;
      }
      if (skipping) {
        // The rest of a line of a dropped frame.
        partialBytes = 0;
      } else {
        const line = Buffer.concat([...partial, b.subarray(0, lf)]);
        partial = [];
        partialBytes = 0;
        onLine(line, 0, line.length);
      }
      p = lf + 1;
    }
    for (;;) {
      if (frameBytes === 0 && !skipping) {
        const next = commonFrame(b, p);
        if (next !== -1) {
          p = next;
          continue;
        }
      }
      const lf = b.indexOf(LF, p);
      if (lf === -1) break;
      onLine(b, p, lf);
      p = lf + 1;
    }
    if (p < b.length) keepPartial(b, p, b.length);
  }

  /**
   * The common frame: an optional `id: ` line, `event: <scanned type>`, one `data: `
   * line and the blank line, whole in b at p, decoded without the line-by-line path
   * (which handles every other frame); returns the index past it, or -1 to leave it
   * to that path.
   */
  function commonFrame(b: Buffer, p: number): number {
    if (onRawFrame !== undefined) return -1;
    const view = viewOf(b);
    let line = p;
    let frameId: string | undefined;
    if (ID_PREFIX.at(view, line)) {
      const idEnd = b.indexOf(LF, line + ID_PREFIX.length);
      if (idEnd === -1) return -1;
      for (let k = line + ID_PREFIX.length; k < idEnd; k++) if (b[k] === 0) return -1;
      frameId = b.toString("utf8", line + ID_PREFIX.length, idEnd);
      line = idEnd + 1;
    }
    if (!EVENT_PREFIX.at(view, line)) return -1;
    const typeEnd = b.indexOf(LF, line + EVENT_PREFIX.length);
    if (typeEnd === -1) return -1;
    const type = scannedType(view, line + EVENT_PREFIX.length, typeEnd);
    if (type === null || !DATA_PREFIX.at(view, typeEnd + 1)) return -1;
    const dataStart = typeEnd + 1 + DATA_PREFIX.length;
    const dataEnd = b.indexOf(LF, dataStart);
    // (Bounds first: a read past the end would make V8 drop this function's optimised code.)
    if (dataEnd === -1 || dataEnd + 1 >= b.length || b[dataEnd + 1] !== LF || dataEnd + 2 - p > maxFrameBytes) return -1;
    const event = scanEvent(type, b, dataStart, dataEnd);
    if (event === undefined) decodeMessage(type, b.toString("utf8", dataStart, dataEnd), frameId);
    else events.push(frameId === undefined ? { event, at } : { event, id: frameId, at });
    return dataEnd + 2;
  }

  function keepPartial(b: Buffer, start: number, end: number): void {
    partialBytes += end - start;
    if (skipping) return;
    if (frameBytes + partialBytes > maxFrameBytes) dropFrame();
    else partial.push(Buffer.from(b.subarray(start, end)));
  }

  /**
   * The end of a push: a frame still open stops viewing the chunk (the caller may reuse
   * it), and nothing else keeps it (an 8 MB line must not outlive its frame).
   */
  function finishPush(): void {
    if (data !== null && data === chunk) {
      data = Buffer.from(data.subarray(dataStart, dataEnd));
      dataStart = 0;
      dataEnd = data.length;
    }
    chunk = EMPTY;
    forgetBuffers();
  }

  /** One complete line b[start, end), its LF excluded. */
  function onLine(b: Buffer, start: number, end: number): void {
    if (skipping) {
      if (start === end) {
        skipping = false;
        frameBytes = 0;
      }
      return;
    }
    frameBytes += end - start + 1;
    if (start === end) {
      const size = frameBytes;
      frameBytes = 0;
      if (size > maxFrameBytes) malformed.push(frameTooLarge());
      else if (data !== null) dispatch();
      resetFrame();
      return;
    }
    if (frameBytes > maxFrameBytes) dropFrame();
    else if (b[start] !== COLON) onField(b, start, end);
  }

  function frameTooLarge(): string {
    return `frame over ${String(maxFrameBytes)} bytes`;
  }

  /** The frame in progress is over the limit: forget it, skip to its end. */
  function dropFrame(): void {
    malformed.push(frameTooLarge());
    resetFrame();
    partial = [];
    skipping = true;
  }

  function onField(b: Buffer, start: number, end: number): void {
    const view = viewOf(b);
    let colon = start;
    while (colon < end && b[colon] !== COLON) colon++;
    let value = colon;
    if (colon < end) value = b[colon + 1] === SPACE && colon + 1 < end ? colon + 2 : colon + 1;
    switch (b[start]) {
      case 0x64:
        if (DATA.is(view, start, colon)) addData(b, value, end);
        return;
      case 0x65:
        if (EVENT.is(view, start, colon)) setEventType(b, value, end);
        return;
      case 0x69:
        if (ID.is(view, start, colon)) setId(b, value, end);
        return;
      case 0x72:
        if (RETRY.is(view, start, colon)) setRetry(b, value, end);
        return;
    }
  }

  function addData(b: Buffer, start: number, end: number): void {
    if (data === null) {
      data = b;
      dataStart = start;
      dataEnd = end;
    } else {
      (moreData ??= []).push(LF_BYTES, Buffer.from(b.subarray(start, end)));
    }
  }

  function setEventType(b: Buffer, start: number, end: number): void {
    scanned = scannedType(viewOf(b), start, end);
    eventType = scanned ?? (start === end ? undefined : b.toString("utf8", start, end));
  }

  function setId(b: Buffer, start: number, end: number): void {
    for (let k = start; k < end; k++) if (b[k] === 0) return;
    id = b.toString("utf8", start, end);
  }

  function setRetry(b: Buffer, start: number, end: number): void {
    if (start === end) return;
    for (let k = start; k < end; k++) {
      const c = b[k] as number;
      if (c < DIGIT0 || c > DIGIT9) return;
    }
    retryMs = parseInt(b.toString("latin1", start, end), 10);
  }

  function dispatch(): void {
    let b = data as Buffer;
    let start = dataStart;
    let end = dataEnd;
    if (moreData !== null) {
      b = Buffer.concat([b.subarray(start, end), ...moreData]);
      start = 0;
      end = b.length;
    }
    let text: string | undefined;
    if (onRawFrame !== undefined) {
      text = b.toString("utf8", start, end);
      const raw = { event: eventType ?? "", data: text, at };
      onRawFrame(id === undefined ? raw : { ...raw, id });
    }
    const event = scanned === null ? undefined : scanEvent(scanned, b, start, end);
    if (event === undefined) decodeMessage(eventType, text ?? b.toString("utf8", start, end), id);
    else events.push(id === undefined ? { event, at } : { event, id, at });
  }

  /** The reference path: one frame's data as text. */
  function decodeMessage(declaredType: string | undefined, text: string, frameId: string | undefined): void {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      malformed.push("invalid JSON");
      return;
    }
    const isObject = isRecord(payload);
    let wireType = declaredType;
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
    events.push(frameId === undefined ? { event, at } : { event, id: frameId, at });
  }

  return {
    push(bytes: Uint8Array): SseBatch {
      at = now();
      let b: Buffer | null = asBuffer(bytes);
      if (atStreamStart) b = dropBom(b);
      if (b !== null) {
        b = normalizeLineEnds(b);
        if (b.length > 0) feed(b);
        finishPush();
      }
      return takeBatch();
    },
    end(): SseBatch {
      at = now();
      // A line or frame not closed is dropped; a new stream may follow.
      atStreamStart = true;
      head = EMPTY;
      pendingCr = false;
      partial = [];
      partialBytes = 0;
      frameBytes = 0;
      skipping = false;
      resetFrame();
      return takeBatch();
    },
  };
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
