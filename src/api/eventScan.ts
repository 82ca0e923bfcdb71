// The stream's common events decoded straight from a frame's UTF-8 bytes (issue 6).
//
// step_started and step_completed make up nearly all of a stream, and a step_output
// can be megabytes. JSON.parse of every payload, then JSON.stringify of its large
// field for the preview, was most of the ingest time. This scanner reads a payload's
// bytes once: it checks the JSON grammar, keeps only the fields the event needs, and
// takes a large field's preview from its bytes when they already are the text
// JSON.stringify would write (no whitespace, no escapes, plain integers, no repeated
// or digit-only keys); otherwise that one value goes through JSON.parse and toPreview.
//
// It accepts only what it decodes exactly as the reference path does (JSON.parse,
// then sse.ts's validators and zod): for anything else (escaped keys, a field of an
// unexpected type, nesting deeper than MAX_DEPTH, invalid JSON) it returns undefined
// and the caller takes the reference path, which also words the error.
// test/api/eventScan.test.ts checks the agreement on edge cases and random payloads.
import { isUtf8 } from "node:buffer";
import { BytePattern, forgetView, latin1, RecentStrings, sameRanges, viewOf } from "./bytes.js";
import { PREVIEW_MAX_CHARS, previewHead, previewOfJson, toPreview } from "./preview.js";
import type { PayloadPreview, TraceEvent } from "./schemas.js";

/** The event types decoded here; every other type takes the reference path. */
export type ScannedType = "step_started" | "step_completed" | "step_output" | "step_input";

export const SCANNED_TYPES: readonly ScannedType[] = ["step_started", "step_completed", "step_output", "step_input"];

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LOWER_B = 0x62;
const LOWER_E = 0x65;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
const LOWER_R = 0x72;
const LOWER_T = 0x74;
const LOWER_U = 0x75;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** Deeper values take the reference path (the scanner recurses). */
const MAX_DEPTH = 64;
/** Objects with more keys are not checked for repeated keys: their preview goes through JSON.parse. */
const MAX_KEYS_CHECKED = 32;
/** Integers with more digits may not be exact in a double: read by Number() and never canonical. */
const MAX_PLAIN_DIGITS = 15;


const TRUE = BytePattern.of("true");
const FALSE = BytePattern.of("false");
const NULL_BYTES = BytePattern.of("null");

// ---------------------------------------------------------------------------
// Scanner state. Module-level: a scan is synchronous and never re-entered.

/** A string scanned since the flag was cleared had an escape / a byte of a multi-byte sequence. */
let sawEscape = false;
let sawNonAscii = false;
/** The value scanned since the flag was set is the text JSON.stringify would write. */
let canonical = true;
/** The last number scanned: a plain integer of at most MAX_PLAIN_DIGITS digits, and then its value. */
let numberIsPlain = false;
let numberValue = 0;
/** Keys of the objects being scanned, for the repeated-key check: a stack of byte ranges. */
const keyStart = new Int32Array(MAX_DEPTH * MAX_KEYS_CHECKED);
const keyLength = new Int32Array(MAX_DEPTH * MAX_KEYS_CHECKED);
let keyCount = 0;

/** Kinds of the values read under a key (the last occurrence wins, as in JSON.parse). */
const ABSENT = 0;
const NULL = 1;
const STRING = 2;
const NUMBER = 3;
/** `tokens` as an object, its counts read. */
const OBJECT = 4;
/** A JSON value of another type (never valid where it was found). */
const OTHER = 5;
/** A large field: its bytes. */
const SPAN = 6;

/**
 * The last value of one field, as a string and where its bytes were: a step's started
 * and completed events repeat its id and name, usually in the same chunk, and a repeat
 * found there costs a comparison of the two byte ranges instead of a new string.
 */
class RepeatedValue {
  private buffer: Buffer | null = null;
  private start = 0;
  private length = 0;
  private text = "";

  forget(): void {
    this.buffer = null;
  }

  /** The string of the ASCII bytes b[start, end). */
  get(b: Buffer, start: number, end: number): string {
    const length = end - start;
    if (b !== this.buffer || length !== this.length || !sameRanges(viewOf(b), this.start, start, length)) {
      this.buffer = b;
      this.length = length;
      this.text = latin1(b, start, end);
    }
    this.start = start;
    return this.text;
  }
}

type Recent = RecentStrings | RepeatedValue;

const recentModels = new RecentStrings(4);
const repeatedStepId = new RepeatedValue();
const repeatedName = new RepeatedValue();

/** Drops every reference the scanner keeps to a buffer (call once a chunk is decoded). */
export function forgetBuffers(): void {
  repeatedStepId.forget();
  repeatedName.forget();
  forgetView();
}

// ---------------------------------------------------------------------------
// Keys

const K_UNKNOWN = 0;
const K_STEP_ID = 1;
const K_NAME = 2;
const K_STEP_INDEX = 3;
const K_DURATION = 4;
const K_TOKENS = 5;
const K_COST = 6;
const K_MODEL = 7;
const K_OUTPUT = 8;
const K_OUTPUT_DATA = 9;
const K_INPUT_DATA = 10;

/** The keys each type reads, as a bit set (others are validated and skipped, as zod strips them). */
/** By type index (step_started, step_completed, step_output, step_input). */
const READ_KEYS: readonly number[] = [
  (1 << K_STEP_ID) | (1 << K_NAME) | (1 << K_STEP_INDEX),
  (1 << K_STEP_ID) | (1 << K_NAME) | (1 << K_OUTPUT) | (1 << K_DURATION) | (1 << K_TOKENS) | (1 << K_COST) | (1 << K_MODEL),
  (1 << K_STEP_ID) | (1 << K_OUTPUT_DATA),
  (1 << K_STEP_ID) | (1 << K_INPUT_DATA),
];

const STEP_ID = BytePattern.of("stepId");
const NAME = BytePattern.of("name");
const STEP_INDEX = BytePattern.of("stepIndex");
const DURATION_MS = BytePattern.of("durationMs");
const TOKENS = BytePattern.of("tokens");
const COST_USD = BytePattern.of("costUsd");
const MODEL_USED = BytePattern.of("modelUsed");
const OUTPUT = BytePattern.of("output");
const OUTPUT_DATA = BytePattern.of("outputData");
const INPUT_DATA = BytePattern.of("inputData");
const PROMPT = BytePattern.of("prompt");
const COMPLETION = BytePattern.of("completion");
const TOTAL = BytePattern.of("total");

function match(data: DataView, start: number, text: BytePattern, key: number): number {
  return text.at(data, start) ? key : K_UNKNOWN;
}

/** The key whose unescaped text is b[start, start + length): chosen by length and first letter, then compared. */
function keyOf(data: DataView, start: number, length: number): number {
  const first = data.getUint8(start);
  switch (length) {
    case 4:
      return match(data, start, NAME, K_NAME);
    case 6:
      if (first === 0x73) return match(data, start, STEP_ID, K_STEP_ID);
      if (first === 0x6f) return match(data, start, OUTPUT, K_OUTPUT);
      return first === 0x74 ? match(data, start, TOKENS, K_TOKENS) : K_UNKNOWN;
    case 7:
      return match(data, start, COST_USD, K_COST);
    case 9:
      if (first === 0x73) return match(data, start, STEP_INDEX, K_STEP_INDEX);
      if (first === 0x6d) return match(data, start, MODEL_USED, K_MODEL);
      return first === 0x69 ? match(data, start, INPUT_DATA, K_INPUT_DATA) : K_UNKNOWN;
    case 10:
      if (first === 0x64) return match(data, start, DURATION_MS, K_DURATION);
      return first === 0x6f ? match(data, start, OUTPUT_DATA, K_OUTPUT_DATA) : K_UNKNOWN;
    default:
      return K_UNKNOWN;
  }
}

// ---------------------------------------------------------------------------
// Grammar

function skipWs(b: Buffer, p: number, end: number): number {
  while (p < end) {
    const c = b[p];
    if (c !== SPACE && c !== LF && c !== TAB && c !== CR) break;
    p++;
  }
  return p;
}

/** skipWs inside a value whose text is checked for canonical form: whitespace is not. */
function innerWs(b: Buffer, p: number, end: number): number {
  const q = skipWs(b, p, end);
  if (q !== p) canonical = false;
  return q;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= DIGIT0 && c <= DIGIT9) || ((c | 0x20) >= 0x61 && (c | 0x20) <= LOWER_F));
}

/** Index past the closing quote of the string opening at p, or -1. */
function scanString(b: Buffer, p: number, end: number): number {
  let i = p + 1;
  while (i < end) {
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    if (c < SPACE) return -1;
    if (c === BACKSLASH) {
      sawEscape = true;
      const e = b[i + 1];
      if (e === QUOTE || e === BACKSLASH || e === SLASH || e === LOWER_B || e === LOWER_F || e === LOWER_N || e === LOWER_R || e === LOWER_T) {
        i += 2;
      } else if (e === LOWER_U && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5])) {
        i += 6;
      } else {
        return -1;
      }
      continue;
    }
    if (c >= 0x80) sawNonAscii = true;
    i++;
  }
  return -1;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= DIGIT0 && c <= DIGIT9;
}

/** Index past the number starting at p, or -1; sets numberIsPlain and numberValue. */
function scanNumber(b: Buffer, p: number, end: number): number {
  let i = p;
  if (b[i] === MINUS) i++;
  if (i >= end) return -1;
  let c = b[i];
  let value = 0;
  let digits = 0;
  if (c === DIGIT0) {
    i++;
    digits = 1;
  } else if (c !== undefined && c > DIGIT0 && c <= DIGIT9) {
    do {
      value = value * 10 + (c - DIGIT0);
      digits++;
      i++;
    } while (i < end && (c = b[i]) !== undefined && c >= DIGIT0 && c <= DIGIT9);
  } else {
    return -1;
  }
  let plain = digits <= MAX_PLAIN_DIGITS;
  if (i < end && b[i] === DOT) {
    plain = false;
    const from = ++i;
    while (i < end && isDigit(b[i])) i++;
    if (i === from) return -1;
  }
  if (i < end && (b[i] === LOWER_E || b[i] === UPPER_E)) {
    plain = false;
    i++;
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++;
    const from = i;
    while (i < end && isDigit(b[i])) i++;
    if (i === from) return -1;
  }
  numberIsPlain = plain;
  numberValue = b[p] === MINUS ? -value : value;
  return i;
}

function scanLiteral(b: Buffer, p: number, end: number, literal: BytePattern): number {
  return p + literal.length <= end && literal.at(viewOf(b), p) ? p + literal.length : -1;
}

/** Index past the JSON value starting at p, or -1 when it is not valid JSON (or too deep). */
function skipValue(b: Buffer, p: number, end: number, depth: number): number {
  if (p >= end) return -1;
  switch (b[p]) {
    case QUOTE:
      return scanString(b, p, end);
    case LBRACE:
      return depth < MAX_DEPTH ? skipObject(b, p, end, depth + 1) : -1;
    case LBRACKET:
      return depth < MAX_DEPTH ? skipArray(b, p, end, depth + 1) : -1;
    case LOWER_T:
      return scanLiteral(b, p, end, TRUE);
    case LOWER_F:
      return scanLiteral(b, p, end, FALSE);
    case LOWER_N:
      return scanLiteral(b, p, end, NULL_BYTES);
    default: {
      const e = scanNumber(b, p, end);
      // JSON.stringify writes no fraction, exponent, or -0 of an integer, and rounds long ones.
      if (e !== -1 && (!numberIsPlain || (numberValue === 0 && b[p] === MINUS))) canonical = false;
      return e;
    }
  }
}

function skipObject(b: Buffer, p: number, end: number, depth: number): number {
  const keysBase = keyCount;
  let i = innerWs(b, p + 1, end);
  if (i < end && b[i] === RBRACE) return i + 1;
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return -1;
    const keyEnd = scanString(b, i, end);
    if (keyEnd === -1) return -1;
    if (canonical) noteKey(b, i + 1, keyEnd - 1, keysBase);
    i = innerWs(b, keyEnd, end);
    if (i >= end || b[i] !== COLON) return -1;
    i = skipValue(b, innerWs(b, i + 1, end), end, depth);
    if (i === -1) return -1;
    i = innerWs(b, i, end);
    const c = b[i];
    if (i < end && c === COMMA) {
      i = innerWs(b, i + 1, end);
    } else if (i < end && c === RBRACE) {
      keyCount = keysBase;
      return i + 1;
    } else {
      return -1;
    }
  }
}

function skipArray(b: Buffer, p: number, end: number, depth: number): number {
  let i = innerWs(b, p + 1, end);
  if (i < end && b[i] === RBRACKET) return i + 1;
  for (;;) {
    i = skipValue(b, i, end, depth);
    if (i === -1) return -1;
    i = innerWs(b, i, end);
    const c = b[i];
    if (i < end && c === COMMA) {
      i = innerWs(b, i + 1, end);
    } else if (i < end && c === RBRACKET) {
      return i + 1;
    } else {
      return -1;
    }
  }
}

/**
 * A key of an object inside a value checked for canonical form. JSON.stringify
 * writes digit-only keys first and a repeated key once; escaped or non-ASCII keys
 * may be equal once decoded, so they are not trusted either.
 */
function noteKey(b: Buffer, start: number, end: number, keysBase: number): void {
  const length = end - start;
  let digitsOnly = length > 0;
  for (let k = start; k < end; k++) {
    const c = b[k] as number;
    if (c >= 0x80 || c === BACKSLASH) {
      canonical = false;
      return;
    }
    if (c < DIGIT0 || c > DIGIT9) digitsOnly = false;
  }
  if (digitsOnly || keyCount - keysBase >= MAX_KEYS_CHECKED) {
    canonical = false;
    return;
  }
  for (let j = keysBase; j < keyCount; j++) {
    if (keyLength[j] === length && sameRanges(viewOf(b), keyStart[j] as number, start, length)) {
      canonical = false;
      return;
    }
  }
  keyStart[keyCount] = start;
  keyLength[keyCount] = length;
  keyCount++;
}

// ---------------------------------------------------------------------------
// Values: one string, number or null read at a position (valueKind and the fields below).

let valueKind = ABSENT;
let valueText = "";
let valueNumber = 0;

/**
 * Reads the value at p as a string, number or null (any other JSON value is OTHER);
 * `recent` serves repeated ASCII strings. Returns the index past it, or -1.
 */
function readValue(b: Buffer, p: number, end: number, recent: Recent | null): number {
  const c = b[p];
  if (c === QUOTE) {
    sawEscape = false;
    sawNonAscii = false;
    const e = scanString(b, p, end);
    if (e === -1) return -1;
    valueKind = STRING;
    if (sawEscape) valueText = JSON.parse(b.toString("utf8", p, e)) as string;
    else if (sawNonAscii) valueText = b.toString("utf8", p + 1, e - 1);
    else valueText = recent === null ? latin1(b, p + 1, e - 1) : recent.get(b, p + 1, e - 1);
    return e;
  }
  if (c === MINUS || isDigit(c)) {
    const e = scanNumber(b, p, end);
    if (e === -1) return -1;
    valueKind = NUMBER;
    valueNumber = numberIsPlain ? numberValue : Number(latin1(b, p, e));
    return e;
  }
  if (c === LOWER_N) {
    valueKind = NULL;
    return scanLiteral(b, p, end, NULL_BYTES);
  }
  valueKind = OTHER;
  return skipValue(b, p, end, 0);
}

/** A large field's value at p: its span, whether JSON.stringify would write the same bytes, whether they are ASCII. */
let spanCanonical = false;
let spanAscii = false;

function readSpan(b: Buffer, p: number, end: number): number {
  canonical = true;
  sawEscape = false;
  sawNonAscii = false;
  keyCount = 0;
  const e = skipValue(b, p, end, 0);
  spanCanonical = canonical && !sawEscape;
  spanAscii = !sawNonAscii;
  // Values skipped outside a large field are not checked for canonical form.
  canonical = false;
  return e;
}

/** `tokens` as an object: the counts read, as kinds and numbers. */
let promptKind = ABSENT;
let promptCount = 0;
let completionKind = ABSENT;
let completionCount = 0;
let totalKind = ABSENT;
let totalCount = 0;

/** Reads the `tokens` object at p (other keys are skipped). Returns the index past it, or -1. */
function readTokens(b: Buffer, data: DataView, p: number, end: number): number {
  promptKind = ABSENT;
  completionKind = ABSENT;
  totalKind = ABSENT;
  let i = skipWs(b, p + 1, end);
  if (i < end && b[i] === RBRACE) return i + 1;
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return -1;
    sawEscape = false;
    const keyEnd = scanString(b, i, end);
    // An escaped key may spell a count once decoded.
    if (keyEnd === -1 || sawEscape) return -1;
    const which = PROMPT.is(data, i + 1, keyEnd - 1) ? 1 : COMPLETION.is(data, i + 1, keyEnd - 1) ? 2 : TOTAL.is(data, i + 1, keyEnd - 1) ? 3 : 0;
    i = skipWs(b, keyEnd, end);
    if (i >= end || b[i] !== COLON) return -1;
    i = skipWs(b, i + 1, end);
    i = which === 0 ? skipValue(b, i, end, 1) : readValue(b, i, end, null);
    if (i === -1) return -1;
    if (which === 1) {
      promptKind = valueKind;
      promptCount = valueNumber;
    } else if (which === 2) {
      completionKind = valueKind;
      completionCount = valueNumber;
    } else if (which === 3) {
      totalKind = valueKind;
      totalCount = valueNumber;
    }
    i = skipWs(b, i, end);
    const c = b[i];
    if (i < end && c === COMMA) i = skipWs(b, i + 1, end);
    else if (i < end && c === RBRACE) return i + 1;
    else return -1;
  }
}

/** The DecimalString pattern of schemas.ts, `^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`, without a regex run. */
function isDecimal(text: string): boolean {
  let i = 0;
  let c = text.charCodeAt(0);
  if (c === PLUS || c === MINUS) c = text.charCodeAt(++i);
  let digits = 0;
  while (c >= DIGIT0 && c <= DIGIT9) {
    digits++;
    c = text.charCodeAt(++i);
  }
  if (c === DOT) {
    c = text.charCodeAt(++i);
    while (c >= DIGIT0 && c <= DIGIT9) {
      digits++;
      c = text.charCodeAt(++i);
    }
  }
  if (digits === 0) return false;
  if (c === LOWER_E || c === UPPER_E) {
    c = text.charCodeAt(++i);
    if (c === PLUS || c === MINUS) c = text.charCodeAt(++i);
    const from = i;
    while (c >= DIGIT0 && c <= DIGIT9) c = text.charCodeAt(++i);
    if (i === from) return false;
  }
  return i === text.length;
}

/** A nullish string: undefined when absent, false when of another type. */
function nullishString(kind: number, text: string): string | null | undefined | false {
  return kind === STRING ? text : kind === ABSENT ? undefined : kind === NULL ? null : false;
}

/** A nullish safe integer: undefined when absent, false when of another type. */
function nullishInt(kind: number, value: number): number | null | undefined | false {
  if (kind === NUMBER) return Number.isSafeInteger(value) ? value : false;
  return kind === ABSENT ? undefined : kind === NULL ? null : false;
}

function preview(b: Buffer, start: number, end: number, isCanonical: boolean, isAscii: boolean): PayloadPreview {
  if (!isCanonical) return toPreview(JSON.parse(b.toString("utf8", start, end)));
  const length = end - start;
  if (isAscii) {
    if (length <= PREVIEW_MAX_CHARS) return { json: latin1(b, start, end), sizeBytes: length, truncated: false };
    return { json: latin1(b, start, start + PREVIEW_MAX_CHARS), sizeBytes: length, truncated: true };
  }
  // A UTF-16 code unit takes at most 3 bytes: up to this length the text may fit.
  if (length <= PREVIEW_MAX_CHARS * 3) return previewOfJson(b.toString("utf8", start, end));
  // Only the head is decoded (the last 3 bytes cover a sequence cut at the end).
  const head = b.toString("utf8", start, start + PREVIEW_MAX_CHARS * 3 + 3);
  const sizeBytes = isUtf8(b.subarray(start, end)) ? length : Buffer.byteLength(b.toString("utf8", start, end));
  return { json: previewHead(head), sizeBytes, truncated: true };
}

type CompletedEvent = Extract<TraceEvent, { type: "step_completed" }>;

// ---------------------------------------------------------------------------
// Shapes. A server writes every payload of a type with the same keys in the same
// order, so the bytes between the values (`{"eventType":`, `,"stepId":`, ..., `}`)
// repeat. The scanner keeps them from the last payload of each type and, while the
// next payload holds the same bytes, compares them instead of scanning keys and
// punctuation; at the first difference it goes on key by key from there. The same
// bytes are the same keys and the same valid JSON, so this changes no result.

interface Shape {
  /** The bytes before each value (the first from the payload start), then those after the last value. */
  readonly gaps: readonly BytePattern[];
  /** The key of each value, as read for the type (K_UNKNOWN when skipped). */
  readonly keys: readonly number[];
}

/** Payloads with more keys are not kept as shapes. */
const MAX_SHAPE_KEYS = 16;
/** Index of a scanned type in `shapes` (a comparison of constant strings, cheaper than a keyed lookup). */
function typeIndexOf(type: ScannedType): number {
  return type === "step_completed" ? 1 : type === "step_started" ? 0 : type === "step_output" ? 2 : 3;
}
const shapes: (Shape | null)[] = [null, null, null, null];
/** Where each value of the payload being scanned starts and ends. */
const valueStarts = new Int32Array(MAX_SHAPE_KEYS);
const valueEnds = new Int32Array(MAX_SHAPE_KEYS);
const valueKeys = new Int32Array(MAX_SHAPE_KEYS);

function learnShape(typeIndex: number, b: Buffer, start: number, end: number, count: number): void {
  const gaps: BytePattern[] = [];
  const keys: number[] = [];
  let from = start;
  for (let j = 0; j < count; j++) {
    gaps.push(new BytePattern(new Uint8Array(b.subarray(from, valueStarts[j]))));
    keys.push(valueKeys[j] as number);
    from = valueEnds[j] as number;
  }
  gaps.push(new BytePattern(new Uint8Array(b.subarray(from, end))));
  shapes[typeIndex] = { gaps, keys };
}

// ---------------------------------------------------------------------------
// Events: the same objects sse.ts's validators build (absent keys absent, null kept).

/**
 * The event of type `type` whose JSON payload is b[start, end), decoded from the
 * bytes; undefined when the reference path (JSON.parse and validation) must decide.
 * One function with the read values in locals: the scan of a small payload is a few
 * hundred nanoseconds, and calls and stores to shared state were a large part of it.
 */
export function scanEvent(type: ScannedType, b: Buffer, start: number, end: number): TraceEvent | undefined {
  const typeIndex = typeIndexOf(type);
  const readKeys = READ_KEYS[typeIndex] as number;
  const shape = shapes[typeIndex] ?? null;
  const data = viewOf(b);
  let stepIdKind = ABSENT;
  let stepId = "";
  let nameKind = ABSENT;
  let name = "";
  let indexKind = ABSENT;
  let index = 0;
  let durationKind = ABSENT;
  let duration = 0;
  let costKind = ABSENT;
  let costText = "";
  let costNumber = 0;
  let modelKind = ABSENT;
  let model = "";
  let tokensKind = ABSENT;
  let prompt = 0;
  let completion = 0;
  let total = 0;
  let promptIs = ABSENT;
  let completionIs = ABSENT;
  let totalIs = ABSENT;
  let largeKind = ABSENT;
  let largeStart = 0;
  let largeEnd = 0;
  let largeCanonical = false;
  let largeAscii = false;

  canonical = false;
  let i = start;
  // Values read so far; whether they all followed the shape's gaps.
  let count = 0;
  let followsShape = shape !== null;
  for (;;) {
    let key = K_UNKNOWN;
    if (followsShape) {
      const gap = (shape as Shape).gaps[count] as BytePattern;
      if (i + gap.length <= end && gap.at(data, i)) {
        i += gap.length;
        if (count === (shape as Shape).keys.length) {
          if (i === end) break;
          followsShape = false;
          i -= gap.length;
        } else {
          key = (shape as Shape).keys[count] as number;
        }
      } else {
        followsShape = false;
      }
    }
    if (!followsShape) {
      if (count === 0) {
        i = skipWs(b, start, end);
        if (i >= end || b[i] !== LBRACE) return undefined;
        i = skipWs(b, i + 1, end);
        if (i < end && b[i] === RBRACE) {
          i = skipWs(b, i + 1, end);
          break;
        }
      } else {
        i = skipWs(b, i, end);
        const c = b[i];
        if (i >= end || (c !== COMMA && c !== RBRACE)) return undefined;
        i = skipWs(b, i + 1, end);
        if (c === RBRACE) break;
      }
      if (i >= end || b[i] !== QUOTE) return undefined;
      sawEscape = false;
      const keyEnd = scanString(b, i, end);
      // An escaped key may spell a read key once decoded.
      if (keyEnd === -1 || sawEscape) return undefined;
      const found = keyOf(data, i + 1, keyEnd - i - 2);
      key = (readKeys >> found) & 1 ? found : K_UNKNOWN;
      i = skipWs(b, keyEnd, end);
      if (i >= end || b[i] !== COLON) return undefined;
      i = skipWs(b, i + 1, end);
    }
    if (count < MAX_SHAPE_KEYS) {
      valueStarts[count] = i;
      valueKeys[count] = key;
    }
    switch (key) {
      case K_UNKNOWN:
        i = skipValue(b, i, end, 0);
        break;
      case K_OUTPUT:
      case K_OUTPUT_DATA:
      case K_INPUT_DATA:
        largeStart = i;
        i = readSpan(b, i, end);
        largeKind = SPAN;
        largeEnd = i;
        largeCanonical = spanCanonical;
        largeAscii = spanAscii;
        break;
      case K_TOKENS:
        if (b[i] === LBRACE) {
          i = readTokens(b, data, i, end);
          tokensKind = OBJECT;
          prompt = promptCount;
          completion = completionCount;
          total = totalCount;
          promptIs = promptKind;
          completionIs = completionKind;
          totalIs = totalKind;
        } else {
          i = readValue(b, i, end, null);
          tokensKind = valueKind;
        }
        break;
      case K_STEP_ID:
        i = readValue(b, i, end, repeatedStepId);
        stepIdKind = valueKind;
        stepId = valueText;
        break;
      case K_NAME:
        i = readValue(b, i, end, repeatedName);
        nameKind = valueKind;
        name = valueText;
        break;
      case K_MODEL:
        i = readValue(b, i, end, recentModels);
        modelKind = valueKind;
        model = valueText;
        break;
      case K_COST:
        i = readValue(b, i, end, null);
        costKind = valueKind;
        costText = valueText;
        costNumber = valueNumber;
        break;
      case K_STEP_INDEX:
        i = readValue(b, i, end, null);
        indexKind = valueKind;
        index = valueNumber;
        break;
      case K_DURATION:
        i = readValue(b, i, end, null);
        durationKind = valueKind;
        duration = valueNumber;
        break;
    }
    if (i === -1) return undefined;
    if (count < MAX_SHAPE_KEYS) valueEnds[count] = i;
    count++;
  }
  if (i !== end) return undefined;
  if (!followsShape && count <= MAX_SHAPE_KEYS) learnShape(typeIndex, b, start, end, count);
  if (stepIdKind !== STRING) return undefined;


  if (type === "step_started") {
    const n = nullishString(nameKind, name);
    const stepIndex = nullishInt(indexKind, index);
    if (n === false || stepIndex === false) return undefined;
    const event: { type: "step_started"; stepId: string; name?: string | null; stepIndex?: number | null } = { type, stepId };
    if (n !== undefined) event.name = n;
    if (stepIndex !== undefined) event.stepIndex = stepIndex;
    return event;
  }
  if (type !== "step_completed") {
    if (largeKind !== SPAN) return { type, stepId };
    const data = preview(b, largeStart, largeEnd, largeCanonical, largeAscii);
    return type === "step_output" ? { type, stepId, outputData: data } : { type, stepId, inputData: data };
  }

  const n = nullishString(nameKind, name);
  const modelUsed = nullishString(modelKind, model);
  if (n === false || modelUsed === false) return undefined;
  let durationMs: number | null | undefined;
  if (durationKind === NUMBER) {
    if (!Number.isFinite(duration)) return undefined;
    durationMs = duration;
  } else if (durationKind !== ABSENT) {
    if (durationKind !== NULL) return undefined;
    durationMs = null;
  }
  let costUsd: string | null | undefined;
  if (costKind === STRING) {
    if (!isDecimal(costText)) return undefined;
    costUsd = costText;
  } else if (costKind === NUMBER) {
    if (!Number.isFinite(costNumber)) return undefined;
    costUsd = String(costNumber);
  } else if (costKind !== ABSENT) {
    if (costKind !== NULL) return undefined;
    costUsd = null;
  }
  let tokens: CompletedEvent["tokens"];
  if (tokensKind === OBJECT) {
    const p = nullishInt(promptIs, prompt);
    const c = nullishInt(completionIs, completion);
    const t = nullishInt(totalIs, total);
    if (p === false || c === false || t === false) return undefined;
    if (p !== undefined && c !== undefined && t !== undefined) {
      // One literal: the compact form the reducer keeps as is.
      tokens = { prompt: p, completion: c, total: t };
    } else {
      tokens = {};
      if (p !== undefined) tokens.prompt = p;
      if (c !== undefined) tokens.completion = c;
      if (t !== undefined) tokens.total = t;
    }
  } else if (tokensKind !== ABSENT) {
    if (tokensKind !== NULL) return undefined;
    tokens = null;
  }
  if (n !== undefined && largeKind === SPAN && durationMs !== undefined && tokens !== undefined && costUsd !== undefined && modelUsed !== undefined) {
    // Every field: one literal, without a property added at a time.
    const output = preview(b, largeStart, largeEnd, largeCanonical, largeAscii);
    return { type, stepId, name: n, output, durationMs, tokens, costUsd, modelUsed };
  }
  const event: CompletedEvent = { type, stepId };
  if (n !== undefined) event.name = n;
  if (largeKind === SPAN) event.output = preview(b, largeStart, largeEnd, largeCanonical, largeAscii);
  if (durationMs !== undefined) event.durationMs = durationMs;
  if (tokens !== undefined) event.tokens = tokens;
  if (costUsd !== undefined) event.costUsd = costUsd;
  if (modelUsed !== undefined) event.modelUsed = modelUsed;
  return event;
}
