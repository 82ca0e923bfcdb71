// The whole-run Trace read from its response body as the bytes arrive (issue 6).
//
// A 250,000-step Trace is an 83 MB body: JSON.parse of the whole text and then zod's
// copy of every step took 1.2 s and 320 MB. This reader walks the top-level object
// from the bytes, reads the `steps` array one element at a time, builds each StepTrace
// as the zod schema would (the same keys in the same order, defaults, checks), and
// lets go of the bytes it has read. What it does not decode itself (an escaped key, a
// value of an unexpected type, invalid JSON) goes through JSON.parse and zod for that
// one element, which also words the error; so do the other top-level fields (flowRun
// is small). test/api/traceBody.test.ts checks the agreement with JSON.parse + zod.
import { BytePattern, latin1, RecentStrings, viewOf } from "./bytes.js";
import { BodyError, NOT_JSON, schemaBodyReader, unexpected, type JsonBodyReader } from "./jsonBody.js";
import { DECIMAL_TEXT, StepTrace, Trace } from "./schemas.js";

// ---------------------------------------------------------------------------
// Bytes

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
const LOWER_T = 0x74;
const LOWER_U = 0x75;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** A scan result: the bytes end before the token does (more may come). */
const NEED = -2;
/** A scan result: not what the fast path decodes (invalid, or left to JSON.parse and zod). */
const BAD = -1;
/** Deeper values are left to JSON.parse. */
const MAX_DEPTH = 64;
/** An element still incomplete past this many bytes is collected chunk by chunk, then read once. */
const COLLECT_BYTES = 256 * 1024;
/** Integers with more digits may not be exact in a double: read by Number(). */
const MAX_PLAIN_DIGITS = 15;


function isWs(c: number | undefined): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

function skipWs(b: Buffer, p: number, end: number): number {
  while (p < end && isWs(b[p])) p++;
  return p;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= DIGIT0 && c <= DIGIT9;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && (isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= LOWER_F));
}

/** Set by scanString: the string had an escape / a byte of a multi-byte sequence. */
let sawEscape = false;
let sawNonAscii = false;

/** Index past the closing quote of the string opening at p, BAD, or NEED. */
function scanString(b: Buffer, p: number, end: number): number {
  sawEscape = false;
  sawNonAscii = false;
  let i = p + 1;
  while (i < end) {
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    if (c < SPACE) return BAD;
    if (c === BACKSLASH) {
      sawEscape = true;
      if (i + 1 >= end) return NEED;
      const e = b[i + 1] as number;
      if (e === LOWER_U) {
        if (i + 6 > end) return NEED;
        if (!(isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5]))) return BAD;
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== LOWER_F && e !== LOWER_N && e !== 0x72 && e !== LOWER_T) return BAD;
      i += 2;
      continue;
    }
    if (c >= 0x80) sawNonAscii = true;
    i++;
  }
  return NEED;
}

/** The last number scanned: a plain integer of at most MAX_PLAIN_DIGITS digits, and then its value. */
let numberIsPlain = false;
let numberValue = 0;

/**
 * Index past the number at p, BAD, or NEED. A number that reaches the end of the bytes
 * may go on in the next chunk: NEED, unless `final`.
 */
function scanNumber(b: Buffer, p: number, end: number, final: boolean): number {
  let i = p;
  if (b[i] === MINUS) i++;
  let value = 0;
  let digits = 0;
  if (i >= end) return final ? BAD : NEED;
  if (b[i] === DIGIT0) {
    i++;
    digits = 1;
  } else {
    while (i < end && isDigit(b[i])) {
      value = value * 10 + ((b[i] as number) - DIGIT0);
      digits++;
      i++;
    }
    if (digits === 0) return BAD;
  }
  let plain = digits <= MAX_PLAIN_DIGITS;
  if (i < end && b[i] === DOT) {
    plain = false;
    const from = ++i;
    while (i < end && isDigit(b[i])) i++;
    if (i === from && i < end) return BAD;
  }
  if (i < end && (b[i] === LOWER_E || b[i] === UPPER_E)) {
    plain = false;
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === MINUS)) i++;
    const from = i;
    while (i < end && isDigit(b[i])) i++;
    if (i === from && i < end) return BAD;
  }
  if (i >= end && !final) return NEED;
  const last = b[i - 1];
  if (!isDigit(last)) return BAD;
  numberIsPlain = plain;
  numberValue = b[p] === MINUS ? -value : value;
  return i;
}

function scanLiteral(b: Buffer, p: number, end: number, literal: string): number {
  for (let k = 0; k < literal.length; k++) {
    if (p + k >= end) return NEED;
    if (b[p + k] !== literal.charCodeAt(k)) return BAD;
  }
  return p + literal.length;
}

/** Index past the JSON value at p (checked), BAD, or NEED. */
function skipValue(b: Buffer, p: number, end: number, depth: number, final: boolean): number {
  if (p >= end) return NEED;
  const c = b[p];
  if (c === QUOTE) return scanString(b, p, end);
  if (c === LBRACE || c === LBRACKET) {
    if (depth >= MAX_DEPTH) return BAD;
    const close = c === LBRACE ? RBRACE : RBRACKET;
    let i = skipWs(b, p + 1, end);
    if (i >= end) return NEED;
    if (b[i] === close) return i + 1;
    for (;;) {
      if (c === LBRACE) {
        if (b[i] !== QUOTE) return BAD;
        i = scanString(b, i, end);
        if (i < 0) return i;
        i = skipWs(b, i, end);
        if (i >= end) return NEED;
        if (b[i] !== COLON) return BAD;
        i = skipWs(b, i + 1, end);
      }
      i = skipValue(b, i, end, depth + 1, false);
      if (i < 0) return i;
      i = skipWs(b, i, end);
      if (i >= end) return NEED;
      if (b[i] === close) return i + 1;
      if (b[i] !== COMMA) return BAD;
      i = skipWs(b, i + 1, end);
      if (i >= end) return NEED;
    }
  }
  if (c === LOWER_T) return scanLiteral(b, p, end, "true");
  if (c === LOWER_F) return scanLiteral(b, p, end, "false");
  if (c === LOWER_N) return scanLiteral(b, p, end, "null");
  return scanNumber(b, p, end, final);
}

/**
 * Where a container or string value ends, found chunk by chunk (only brackets and
 * string quotes are followed: the value is checked once whole). For values too large
 * to scan again at every chunk.
 */
class ValueEnd {
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Index past the value's end within b[from, end), or NEED. The first call starts at the value. */
  feed(b: Buffer, from: number, end: number): number {
    for (let i = from; i < end; i++) {
      const c = b[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.depth === 0) return i + 1;
        }
      } else if (c === QUOTE) {
        this.inString = true;
      } else if (c === LBRACE || c === LBRACKET) {
        this.depth++;
      } else if (c === RBRACE || c === RBRACKET) {
        if (--this.depth <= 0) return i + 1;
      }
    }
    return NEED;
  }
}

// ---------------------------------------------------------------------------
// A StepTrace from its bytes

/** Kinds of the values read under a key (the last occurrence wins, as in JSON.parse). */
const ABSENT = 0;
const NULL = 1;
const STRING = 2;
const NUMBER = 3;
const TRUE = 4;
const FALSE = 5;
/** An object (tokens) or any JSON value kept as a span (the contexts). */
const SPAN = 6;

// A step of a sequence usually starts at the very millisecond the one before it
// completed: its startedAt is the last completedAt, one string kept once.
const statuses = new RecentStrings(4);
const models = new RecentStrings(8);
const timestamps = new RecentStrings(2);

let valueKind = ABSENT;
let valueText = "";
let valueNumber = 0;

/** Reads a string, number, boolean or null at p into valueKind/valueText/valueNumber; index past it, BAD or NEED. */
function readScalar(b: Buffer, p: number, end: number, recent: RecentStrings | null): number {
  const c = b[p];
  if (c === QUOTE) {
    const e = scanString(b, p, end);
    if (e < 0) return e;
    valueKind = STRING;
    if (sawEscape) valueText = JSON.parse(b.toString("utf8", p, e)) as string;
    else if (sawNonAscii) valueText = b.toString("utf8", p + 1, e - 1);
    else valueText = recent === null ? latin1(b, p + 1, e - 1) : recent.get(b, p + 1, e - 1);
    return e;
  }
  if (c === LOWER_N) {
    valueKind = NULL;
    return scanLiteral(b, p, end, "null");
  }
  if (c === LOWER_T) {
    valueKind = TRUE;
    return scanLiteral(b, p, end, "true");
  }
  if (c === LOWER_F) {
    valueKind = FALSE;
    return scanLiteral(b, p, end, "false");
  }
  const e = scanNumber(b, p, end, false);
  if (e < 0) return e;
  valueKind = NUMBER;
  valueNumber = numberIsPlain ? numberValue : Number(latin1(b, p, e));
  return e;
}

const K_STEP_ID = 1;
const K_ATTEMPT = 2;
const K_LOOP_INDEX = 3;
const K_STATUS = 4;
const K_STARTED_AT = 5;
const K_COMPLETED_AT = 6;
const K_DURATION = 7;
const K_MODEL = 8;
const K_TOKENS = 9;
const K_COST = 10;
const K_INPUT = 11;
const K_OUTPUT = 12;
const K_ERROR = 13;
const K_INPUT_SIZE = 14;
const K_OUTPUT_SIZE = 15;
const K_TRUNCATED = 16;
const KEY_COUNT = 17;

/** StepTrace's keys by name (index = K_*): a key read from the bytes is looked up by length, then compared. */
const KEY_NAMES = [
  "",
  "stepId",
  "attempt",
  "loopIndex",
  "status",
  "startedAt",
  "completedAt",
  "durationMs",
  "modelUsed",
  "tokens",
  "costUsd",
  "inputContext",
  "outputContext",
  "errorContext",
  "inputSizeBytes",
  "outputSizeBytes",
  "truncated",
];
const KEYS_BY_LENGTH: number[][] = [];
for (let k = 1; k < KEY_NAMES.length; k++) (KEYS_BY_LENGTH[(KEY_NAMES[k] as string).length] ??= []).push(k);

function keyAt(b: Buffer, start: number, end: number): number {
  const candidates = KEYS_BY_LENGTH[end - start];
  if (candidates === undefined) return 0;
  for (const k of candidates) {
    const name = KEY_NAMES[k] as string;
    let i = 0;
    while (i < name.length && name.charCodeAt(i) === b[start + i]) i++;
    if (i === name.length) return k;
  }
  return 0;
}

// The values of the element being read, by key (module-level: a read is synchronous).
const kinds = new Int8Array(KEY_COUNT);
const texts: string[] = new Array<string>(KEY_COUNT).fill("");
const numbers = new Float64Array(KEY_COUNT);
const spanStart = new Int32Array(KEY_COUNT);
const spanEnd = new Int32Array(KEY_COUNT);
/** tokens read as an object: its counts (kinds and values). */
const tokenKinds = new Int8Array(3);
const tokenValues = new Float64Array(3);

/** Reads the `tokens` object at p; index past it, BAD or NEED. */
function readTokens(b: Buffer, p: number, end: number): number {
  tokenKinds.fill(ABSENT);
  let i = skipWs(b, p + 1, end);
  if (i >= end) return NEED;
  if (b[i] === RBRACE) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return BAD;
    const keyEnd = scanString(b, i, end);
    if (keyEnd < 0) return keyEnd;
    if (sawEscape) return BAD;
    const length = keyEnd - i - 2;
    const which =
      length === 6 && keyAtIs(b, i + 1, "prompt") ? 0 : length === 10 && keyAtIs(b, i + 1, "completion") ? 1 : length === 5 && keyAtIs(b, i + 1, "total") ? 2 : -1;
    i = skipWs(b, keyEnd, end);
    if (i >= end) return NEED;
    if (b[i] !== COLON) return BAD;
    i = skipWs(b, i + 1, end);
    if (i >= end) return NEED;
    if (which === -1) {
      i = skipValue(b, i, end, 2, false);
    } else {
      i = readScalar(b, i, end, null);
      tokenKinds[which] = valueKind;
      tokenValues[which] = valueNumber;
    }
    if (i < 0) return i;
    i = skipWs(b, i, end);
    if (i >= end) return NEED;
    if (b[i] === RBRACE) return i + 1;
    if (b[i] !== COMMA) return BAD;
    i = skipWs(b, i + 1, end);
    if (i >= end) return NEED;
  }
}

function keyAtIs(b: Buffer, start: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) if (b[start + k] !== name.charCodeAt(k)) return false;
  return true;
}

// Shapes. A server writes every step with the same keys in the same order, so the
// bytes between the values (`{"stepId":`, `,"attempt":`, ..., `}`) repeat. The bytes
// around the values of the last step read key by key are kept; while the next step
// has the same bytes, they are compared instead of reading keys and punctuation, and
// from the first difference on it is read key by key. The same bytes are the same
// keys, so this changes no result.

/** Steps with more fields are not kept as a shape. */
const MAX_SHAPE_FIELDS = 24;
/** The bytes before each value (the first from the opening brace), then those after the last. */
let shapeGaps: BytePattern[] = [];
/** The key of each value. */
let shapeKeys: number[] = [];
const valueStarts = new Int32Array(MAX_SHAPE_FIELDS);
const valueEnds = new Int32Array(MAX_SHAPE_FIELDS);
const valueKeys = new Int32Array(MAX_SHAPE_FIELDS);

function learnShape(b: Buffer, start: number, end: number, count: number): void {
  const gaps: BytePattern[] = [];
  let from = start;
  for (let j = 0; j < count; j++) {
    gaps.push(new BytePattern(new Uint8Array(b.subarray(from, valueStarts[j]))));
    from = valueEnds[j] as number;
  }
  gaps.push(new BytePattern(new Uint8Array(b.subarray(from, end))));
  shapeGaps = gaps;
  shapeKeys = Array.from(valueKeys.subarray(0, count));
}

function recentOf(key: number): RecentStrings | null {
  if (key === K_STARTED_AT || key === K_COMPLETED_AT) return timestamps;
  return key === K_STATUS ? statuses : key === K_MODEL ? models : null;
}

/** Index past the StepTrace object at p (read into the arrays above), BAD or NEED. */
function scanStep(b: Buffer, p: number, end: number): number {
  kinds.fill(ABSENT);
  const data = viewOf(b);
  let i = p;
  let count = 0;
  let follows = shapeGaps.length > 0;
  for (;;) {
    let key = 0;
    if (follows) {
      const gap = shapeGaps[count] as BytePattern;
      if (gap.at(data, i)) {
        i += gap.length;
        if (count === shapeKeys.length) return i;
        key = shapeKeys[count] as number;
      } else {
        follows = false;
      }
    }
    if (!follows) {
      if (count === 0) {
        i = skipWs(b, p + 1, end);
        if (i >= end) return NEED;
        if (b[i] === RBRACE) return i + 1;
      } else {
        i = skipWs(b, i, end);
        if (i >= end) return NEED;
        if (b[i] === RBRACE) {
          i++;
          break;
        }
        if (b[i] !== COMMA) return BAD;
        i = skipWs(b, i + 1, end);
        if (i >= end) return NEED;
      }
      if (b[i] !== QUOTE) return BAD;
      const keyEnd = scanString(b, i, end);
      if (keyEnd < 0) return keyEnd;
      // An escaped key may spell a known key once decoded.
      if (sawEscape) return BAD;
      key = keyAt(b, i + 1, keyEnd - 1);
      i = skipWs(b, keyEnd, end);
      if (i >= end) return NEED;
      if (b[i] !== COLON) return BAD;
      i = skipWs(b, i + 1, end);
      if (i >= end) return NEED;
    }
    if (count < MAX_SHAPE_FIELDS) {
      valueStarts[count] = i;
      valueKeys[count] = key;
    }
    if (key === 0) {
      i = skipValue(b, i, end, 1, false);
    } else if (key === K_INPUT || key === K_OUTPUT || key === K_ERROR) {
      const start = i;
      i = skipValue(b, i, end, 1, false);
      // A null context (an export file writes every field) needs no JSON.parse.
      kinds[key] = b[start] === LOWER_N ? NULL : SPAN;
      spanStart[key] = start;
      spanEnd[key] = i;
    } else if (key === K_TOKENS && b[i] === LBRACE) {
      i = readTokens(b, i, end);
      kinds[key] = SPAN;
    } else {
      i = readScalar(b, i, end, recentOf(key));
      kinds[key] = valueKind;
      texts[key] = valueText;
      numbers[key] = valueNumber;
    }
    if (i < 0) return i;
    if (count < MAX_SHAPE_FIELDS) valueEnds[count] = i;
    count++;
  }
  // Read key by key to its end: the next step likely has the same bytes around its values.
  if (count <= MAX_SHAPE_FIELDS) learnShape(b, p, i, count);
  return i;
}

/** A nullish string field: the value, or BAD_FIELD when of another type. */
const BAD_FIELD = Symbol("bad field");

function nullishString(key: number): string | null | undefined | typeof BAD_FIELD {
  const kind = kinds[key];
  return kind === STRING ? texts[key] : kind === ABSENT ? undefined : kind === NULL ? null : BAD_FIELD;
}

function nullishInt(kind: number | undefined, value: number | undefined): number | null | undefined | typeof BAD_FIELD {
  if (kind === NUMBER) return Number.isSafeInteger(value) ? (value as number) : BAD_FIELD;
  return kind === ABSENT ? undefined : kind === NULL ? null : BAD_FIELD;
}

/** A context field that is present: null, or its value as JSON.parse reads it. */
function contextOf(b: Buffer, key: number): unknown {
  return kinds[key] === NULL ? null : JSON.parse(b.toString("utf8", spanStart[key], spanEnd[key]));
}

/** The StepTrace zod would make of the element just scanned; undefined when zod must decide. */
function stepFromScan(b: Buffer): StepTrace | undefined {
  if (kinds[K_STEP_ID] !== STRING || kinds[K_STATUS] !== STRING) return undefined;
  let attempt = 1;
  if (kinds[K_ATTEMPT] !== ABSENT) {
    const value = numbers[K_ATTEMPT] as number;
    if (kinds[K_ATTEMPT] !== NUMBER || !Number.isSafeInteger(value) || value < 1) return undefined;
    attempt = value;
  }
  const loopIndex = nullishInt(kinds[K_LOOP_INDEX], numbers[K_LOOP_INDEX]);
  const startedAt = nullishString(K_STARTED_AT);
  const completedAt = nullishString(K_COMPLETED_AT);
  const modelUsed = nullishString(K_MODEL);
  const inputSizeBytes = nullishInt(kinds[K_INPUT_SIZE], numbers[K_INPUT_SIZE]);
  const outputSizeBytes = nullishInt(kinds[K_OUTPUT_SIZE], numbers[K_OUTPUT_SIZE]);
  if (
    loopIndex === BAD_FIELD ||
    startedAt === BAD_FIELD ||
    completedAt === BAD_FIELD ||
    modelUsed === BAD_FIELD ||
    inputSizeBytes === BAD_FIELD ||
    outputSizeBytes === BAD_FIELD
  ) {
    return undefined;
  }
  let durationMs: number | null | undefined;
  const durationKind = kinds[K_DURATION];
  if (durationKind === NUMBER) {
    durationMs = numbers[K_DURATION] as number;
    if (!Number.isFinite(durationMs)) return undefined;
  } else if (durationKind === NULL) durationMs = null;
  else if (durationKind !== ABSENT) return undefined;
  let costUsd: string | null | undefined;
  const costKind = kinds[K_COST];
  if (costKind === STRING) {
    costUsd = texts[K_COST] as string;
    if (!DECIMAL_TEXT.test(costUsd)) return undefined;
  } else if (costKind === NUMBER) {
    const n = numbers[K_COST] as number;
    if (!Number.isFinite(n)) return undefined;
    costUsd = String(n);
  } else if (costKind === NULL) costUsd = null;
  else if (costKind !== ABSENT) return undefined;
  let tokens: StepTrace["tokens"];
  const tokensKind = kinds[K_TOKENS];
  if (tokensKind === SPAN) {
    const prompt = nullishInt(tokenKinds[0], tokenValues[0]);
    const completion = nullishInt(tokenKinds[1], tokenValues[1]);
    const total = nullishInt(tokenKinds[2], tokenValues[2]);
    if (prompt === BAD_FIELD || completion === BAD_FIELD || total === BAD_FIELD) return undefined;
    if (prompt !== undefined && completion !== undefined && total !== undefined) {
      tokens = { prompt, completion, total };
    } else {
      tokens = {};
      if (prompt !== undefined) tokens.prompt = prompt;
      if (completion !== undefined) tokens.completion = completion;
      if (total !== undefined) tokens.total = total;
    }
  } else if (tokensKind === NULL) tokens = null;
  else if (tokensKind !== ABSENT) return undefined;
  const truncatedKind = kinds[K_TRUNCATED];
  if (truncatedKind !== ABSENT && truncatedKind !== NULL && truncatedKind !== TRUE && truncatedKind !== FALSE) return undefined;

  const truncated = truncatedKind === TRUE;
  const everyScalar =
    loopIndex !== undefined &&
    startedAt !== undefined &&
    completedAt !== undefined &&
    durationMs !== undefined &&
    modelUsed !== undefined &&
    tokens !== undefined &&
    costUsd !== undefined &&
    inputSizeBytes !== undefined &&
    outputSizeBytes !== undefined;
  const contexts = kinds[K_INPUT] === kinds[K_OUTPUT] && kinds[K_OUTPUT] === kinds[K_ERROR] ? kinds[K_INPUT] : SPAN;
  if (everyScalar && contexts === ABSENT) {
    // Every field but the contexts (the usual step): one literal, not a property at a time.
    const status = texts[K_STATUS] as string;
    const stepId = texts[K_STEP_ID] as string;
    return { stepId, attempt, loopIndex, status, startedAt, completedAt, durationMs, modelUsed, tokens, costUsd, inputSizeBytes, outputSizeBytes, truncated };
  }
  if (everyScalar && contexts === NULL) {
    // Every field, the contexts null (a step of an export file): one literal too.
    const status = texts[K_STATUS] as string;
    const stepId = texts[K_STEP_ID] as string;
    const inputContext = null;
    const outputContext = null;
    const errorContext = null;
    return {
      stepId,
      attempt,
      loopIndex,
      status,
      startedAt,
      completedAt,
      durationMs,
      modelUsed,
      tokens,
      costUsd,
      inputContext,
      outputContext,
      errorContext,
      inputSizeBytes,
      outputSizeBytes,
      truncated,
    };
  }
  // The keys in the schema's order, present ones only (as zod writes them).
  const step: Record<string, unknown> = { stepId: texts[K_STEP_ID], attempt };
  if (loopIndex !== undefined) step["loopIndex"] = loopIndex;
  step["status"] = texts[K_STATUS];
  if (startedAt !== undefined) step["startedAt"] = startedAt;
  if (completedAt !== undefined) step["completedAt"] = completedAt;
  if (durationMs !== undefined) step["durationMs"] = durationMs;
  if (modelUsed !== undefined) step["modelUsed"] = modelUsed;
  if (tokens !== undefined) step["tokens"] = tokens;
  if (costUsd !== undefined) step["costUsd"] = costUsd;
  if (kinds[K_INPUT] !== ABSENT) step["inputContext"] = contextOf(b, K_INPUT);
  if (kinds[K_OUTPUT] !== ABSENT) step["outputContext"] = contextOf(b, K_OUTPUT);
  if (kinds[K_ERROR] !== ABSENT) step["errorContext"] = contextOf(b, K_ERROR);
  if (inputSizeBytes !== undefined) step["inputSizeBytes"] = inputSizeBytes;
  if (outputSizeBytes !== undefined) step["outputSizeBytes"] = outputSizeBytes;
  step["truncated"] = truncated;
  return step as StepTrace;
}

// ---------------------------------------------------------------------------
// The Trace object, chunk by chunk

const enum At {
  /** Before the opening brace. */
  Start,
  /** After the opening brace: a key or the closing brace. */
  FirstKey,
  Key,
  Colon,
  Value,
  /** After a top-level value: a comma or the closing brace. */
  AfterValue,
  /** After the steps' opening bracket: an element or the closing bracket. */
  FirstStep,
  Step,
  AfterStep,
  Done,
}

/** A value being collected chunk by chunk (see COLLECT_BYTES). */
interface Collecting {
  readonly end: ValueEnd;
  readonly pieces: Buffer[];
}

/** Takes the steps of a Trace as they are read (see traceBodyReader). */
export interface TraceStepSink {
  add(step: StepTrace): void;
}

/**
 * A top-level field of the body other than flowRun and steps, as JSON.parse reads it
 * (an export file's `noukaiTop`). Called for every such field in body order: the last
 * one of a key is the one JSON.parse keeps. A Trace body read whole (one that does not
 * start as an object) calls it for none: zod refuses such a body anyway.
 */
export type OtherFieldHandler = (key: string, value: unknown) => void;

/**
 * The Trace body reader (a fresh one per response). With `newSink`, each step goes to a
 * sink as soon as it is read and the Trace returned has no steps: a large Trace need not
 * be held whole. A sink is made for each `steps` array the body holds; only the last one's
 * steps count (the last key wins, as in JSON.parse), and none count if end() throws.
 */
export function traceBodyReader(newSink?: () => TraceStepSink, onOtherField?: OtherFieldHandler): JsonBodyReader<Trace> {
  return new TraceBodyReader(newSink, onOtherField);
}

class TraceBodyReader implements JsonBodyReader<Trace> {
  private readonly newSink: (() => TraceStepSink) | undefined;
  private readonly onOtherField: OtherFieldHandler | undefined;
  private sink: TraceStepSink | null = null;
  /** Steps read from the current `steps` array (they are in `steps`, or went to the sink). */
  private stepCount = 0;
  private buffer: Buffer | null = null;
  private pos = 0;
  private at = At.Start;
  private key = "";
  private flowRun: unknown = undefined;
  /** The steps read from a `steps` array; null when `steps` was absent or not an array. */
  private steps: StepTrace[] | null = null;
  /** `steps` when it was not an array (zod words the error at the end). */
  private otherSteps: unknown = undefined;
  /** The first step zod refused: said at the end, after flowRun's issues (zod's order) and any JSON error. */
  private stepError: BodyError | null = null;
  private collecting: Collecting | null = null;
  /** A body that does not start as an object: read whole by JSON.parse and zod. */
  private whole: JsonBodyReader<Trace> | null = null;

  constructor(newSink: (() => TraceStepSink) | undefined, onOtherField: OtherFieldHandler | undefined) {
    this.newSink = newSink;
    this.onOtherField = onOtherField;
  }

  push(chunk: Buffer): void {
    if (this.whole !== null) {
      this.whole.push(chunk);
      return;
    }
    const collecting = this.collecting;
    if (collecting !== null) {
      const end = collecting.end.feed(chunk, 0, chunk.length);
      if (end === NEED) {
        collecting.pieces.push(chunk);
        return;
      }
      collecting.pieces.push(chunk.subarray(0, end));
      this.collecting = null;
      const value = Buffer.concat(collecting.pieces);
      if (this.readAt(value, 0, value.length, true) !== value.length) throw new BodyError(NOT_JSON);
      this.buffer = chunk;
      this.pos = end;
    } else {
      const b = this.buffer;
      this.buffer = b === null || this.pos >= b.length ? chunk : Buffer.concat([b.subarray(this.pos), chunk]);
      this.pos = 0;
    }
    this.advance(false);
  }

  end(): Trace {
    if (this.whole !== null) {
      // Read whole by zod (not an object at first): its steps go to a sink at the end.
      const trace = this.whole.end();
      if (this.newSink === undefined) return trace;
      const sink = this.newSink();
      for (const step of trace.steps) sink.add(step);
      return { flowRun: trace.flowRun, steps: [] };
    }
    if (this.collecting !== null) throw new BodyError(NOT_JSON);
    this.advance(true);
    if (this.at === At.Start) throw new BodyError("with an empty body");
    if (this.at !== At.Done) throw new BodyError(NOT_JSON);
    const steps = this.steps;
    const checked = Trace.safeParse({ flowRun: this.flowRun, steps: steps === null ? this.otherSteps : [] });
    if (!checked.success) throw unexpected(checked.error);
    if (this.stepError !== null) throw this.stepError;
    // With a sink, `steps` stayed empty: its steps went to the sink (zod refuses a Trace without a steps array).
    return { flowRun: checked.data.flowRun, steps: steps ?? checked.data.steps };
  }

  /** Reads what the buffer holds; stops where more bytes are needed (or at the end when `final`). */
  private advance(final: boolean): void {
    const b = this.buffer;
    if (b === null) return;
    const end = b.length;
    for (;;) {
      const i = skipWs(b, this.pos, end);
      this.pos = i;
      if (i >= end) return;
      const c = b[i];
      switch (this.at) {
        case At.Start:
          if (c !== LBRACE) {
            this.whole = schemaBodyReader(Trace);
            this.whole.push(b.subarray(i));
            this.buffer = null;
            return;
          }
          this.pos = i + 1;
          this.at = At.FirstKey;
          break;
        case At.FirstKey:
          if (c === RBRACE) {
            this.pos = i + 1;
            this.at = At.Done;
          } else {
            this.at = At.Key;
          }
          break;
        case At.Key: {
          if (c !== QUOTE) throw new BodyError(NOT_JSON);
          const keyEnd = scanString(b, i, end);
          if (keyEnd === NEED) return;
          if (keyEnd === BAD) throw new BodyError(NOT_JSON);
          this.key = sawEscape ? (JSON.parse(b.toString("utf8", i, keyEnd)) as string) : b.toString("utf8", i + 1, keyEnd - 1);
          this.pos = keyEnd;
          this.at = At.Colon;
          break;
        }
        case At.Colon:
          if (c !== COLON) throw new BodyError(NOT_JSON);
          this.pos = i + 1;
          this.at = At.Value;
          break;
        case At.Value:
          if (this.key === "steps" && c === LBRACKET) {
            // The last `steps` wins, as in JSON.parse.
            this.steps = [];
            this.stepCount = 0;
            this.sink = this.newSink === undefined ? null : this.newSink();
            this.otherSteps = undefined;
            this.stepError = null;
            this.pos = i + 1;
            this.at = At.FirstStep;
            break;
          }
          if (!this.step(b, i, end, final)) return;
          break;
        case At.AfterValue:
          if (c !== COMMA && c !== RBRACE) throw new BodyError(NOT_JSON);
          this.pos = i + 1;
          this.at = c === COMMA ? At.Key : At.Done;
          break;
        case At.FirstStep:
          if (c === RBRACKET) {
            this.pos = i + 1;
            this.at = At.AfterValue;
          } else {
            this.at = At.Step;
          }
          break;
        case At.Step:
          if (!this.step(b, i, end, final)) return;
          break;
        case At.AfterStep:
          if (c !== COMMA && c !== RBRACKET) throw new BodyError(NOT_JSON);
          this.pos = i + 1;
          this.at = c === COMMA ? At.Step : At.AfterValue;
          break;
        case At.Done:
          throw new BodyError(NOT_JSON);
      }
    }
  }

  /**
   * Reads the value (At.Value) or step (At.Step) at i; false when more bytes are needed
   * (from a large enough value on, it is then collected chunk by chunk).
   */
  private step(b: Buffer, i: number, end: number, final: boolean): boolean {
    const next = this.readAt(b, i, end, final);
    if (next !== NEED) {
      this.pos = next;
      return true;
    }
    if (final) throw new BodyError(NOT_JSON);
    const c = b[i];
    if (end - i > COLLECT_BYTES && (c === LBRACE || c === LBRACKET || c === QUOTE)) {
      const valueEnd = new ValueEnd();
      if (valueEnd.feed(b, i, end) !== NEED) throw new BodyError(NOT_JSON);
      this.collecting = { end: valueEnd, pieces: [b.subarray(i)] };
      this.buffer = null;
    }
    return false;
  }

  /** Reads the value or step at i and moves to what follows it; its end, or NEED. */
  private readAt(b: Buffer, i: number, end: number, final: boolean): number {
    if (this.at === At.Step) {
      const next = this.readStep(b, i, end, final);
      if (next !== NEED) this.at = At.AfterStep;
      return next;
    }
    const next = delimit(b, i, end, final);
    if (next === NEED) return NEED;
    const value = parseJson(b, i, next);
    if (this.key === "flowRun") this.flowRun = value;
    else if (this.key === "steps") {
      this.steps = null;
      this.sink = null;
      this.otherSteps = value;
      this.stepError = null;
    } else this.onOtherField?.(this.key, value);
    this.at = At.AfterValue;
    return next;
  }

  private readStep(b: Buffer, i: number, end: number, final: boolean): number {
    if (b[i] === LBRACE) {
      const next = scanStep(b, i, end);
      if (next >= 0) {
        const step = stepFromScan(b);
        if (step !== undefined) {
          this.take(step);
          return next;
        }
      }
      if (next === NEED) return NEED;
    }
    // Not decoded here: JSON.parse and zod decide, and word the error.
    const next = delimit(b, i, end, final);
    if (next === NEED) return NEED;
    const parsed = StepTrace.safeParse(parseJson(b, i, next));
    if (parsed.success) this.take(parsed.data);
    else this.stepError ??= unexpected(parsed.error, ["steps", this.stepCount]);
    return next;
  }

  private take(step: StepTrace): void {
    if (this.sink === null) (this.steps as StepTrace[]).push(step);
    else this.sink.add(step);
    this.stepCount++;
  }
}

/** The end of the value at i (brackets and quotes followed for containers and strings), or NEED; BodyError when invalid. */
function delimit(b: Buffer, i: number, end: number, final: boolean): number {
  const c = b[i];
  const next = c === LBRACE || c === LBRACKET || c === QUOTE ? new ValueEnd().feed(b, i, end) : skipValue(b, i, end, 0, final);
  if (next === BAD || (next === NEED && final)) throw new BodyError(NOT_JSON);
  return next;
}

function parseJson(b: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(b.toString("utf8", start, end));
  } catch {
    throw new BodyError(NOT_JSON);
  }
}
