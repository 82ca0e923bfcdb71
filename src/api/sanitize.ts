// Every server-provided string passes one of these before output (issue 5, "Hostile
// text"). A terminal acts on control characters: ESC starts CSI/OSC/DCS/APC
// sequences (window title, OSC 8 links, OSC 52 clipboard), C1 code points such as
// U+009B and U+009D are single-character CSI and OSC on many terminals, `\r` and
// backspace overwrite what was drawn, and bidi controls reorder what is shown.
// Stripping known sequences (strip-ansi) leaves payloads behind, so instead every
// such character becomes a visible escape: the ESC of `\x1b]0;title\x07` is shown
// as the four characters `\x1b`, and the rest is plain text that does nothing.
//
// Replacements:
// - tab: one space (in both functions);
// - `\n`: kept by sanitizeMultiline (a `\r\n` pair becomes `\n`); shown as `\n` by sanitizeLine;
// - a lone `\r`: `\r`;
// - other C0 (U+0000-U+001F), DEL (U+007F), C1 (U+0080-U+009F): `\xHH`, e.g. `\x1b`, and
//   U+009B is `\x9b`;
// - bidi controls U+202A-U+202E and U+2066-U+2069: `\uHHHH`, e.g. `\u202e`;
// - a lone surrogate (not valid Unicode; would become mojibake when encoded): U+FFFD.
//
// Both also mask API keys (redact.ts): a server may echo the key back in any string
// (an error message, a step name), and masking here, before any cut to a column's
// width, leaves no part of it on screen.
import { redactSecrets } from "./redact.js";

// Fast paths: one regex test per string; clean strings (nearly all) are returned as is.
const UNSAFE_IN_LINE =
  /[\x00-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSAFE_IN_MULTILINE =
  /[\x00-\x09\x0B-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const REPLACE_IN_LINE = new RegExp(UNSAFE_IN_LINE.source, "g");
const REPLACE_IN_MULTILINE = new RegExp(`\\r\\n|${UNSAFE_IN_MULTILINE.source}`, "g");

function visible(char: string): string {
  if (char === "\t") return " ";
  if (char === "\r\n") return "\n";
  const code = char.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) return "\uFFFD";
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
  return `\\u${code.toString(16).padStart(4, "0")}`;
}

/** One line of server text made safe for a terminal: controls become visible escapes, newlines too; keys masked. */
export function sanitizeLine(text: string): string {
  const masked = redactSecrets(text);
  if (!UNSAFE_IN_LINE.test(masked)) return masked;
  return masked.replace(REPLACE_IN_LINE, visible);
}

/** Multi-line server text (pretty JSON, error bodies): like sanitizeLine but `\n` is kept. */
export function sanitizeMultiline(text: string): string {
  const masked = redactSecrets(text);
  if (!UNSAFE_IN_MULTILINE.test(masked)) return masked;
  return masked.replace(REPLACE_IN_MULTILINE, visible);
}

/**
 * An Error safe to print: same name, message and stack with every key masked and
 * control characters made visible (message on one line). The cause is dropped: it
 * may hold the key in a field that util.inspect would print.
 */
export function redactError(err: unknown, knownKeys: readonly string[] = []): Error {
  const safeLine = (text: string): string => sanitizeLine(redactSecrets(text, knownKeys));
  if (!(err instanceof Error)) return new Error(safeLine(describe(err)));
  const safe = new Error(safeLine(err.message));
  safe.name = safeLine(err.name);
  safe.stack =
    err.stack === undefined ? `${safe.name}: ${safe.message}` : sanitizeMultiline(redactSecrets(err.stack, knownKeys));
  return safe;
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    // An object without a usable toString (Object.create(null)).
    return Object.prototype.toString.call(value);
  }
}

// JSON text safe to print on a terminal (the json and ndjson formats, the export file).
// JSON.stringify escapes C0 controls and lone surrogates, but leaves DEL, C1 controls
// (U+0080-U+009F: 0x9B is a one-byte CSI on many terminals), the line separators
// U+2028/U+2029 and bidi controls raw. They can only occur inside strings, so escaping
// them as \uXXXX keeps the JSON valid and parses back to the same strings. An API key a
// server echoed back is masked (key characters need no JSON escape, so the key appears
// as is in the text; its mask is valid inside a JSON string).
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function jsonEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** JSON text (whole values only: a key cut between two texts would not be masked) made safe. */
export function safeJsonText(text: string): string {
  return redactSecrets(text).replace(RAW_IN_JSON, jsonEscape);
}

/** Text is handed on once a piece reaches this many characters. */
const PIECE_CHARS = 1 << 20;

/**
 * A large text (a summary, an export file, the summary table) handed to `write` in pieces
 * of about a megabyte rather than as one string, each piece passed through `transform`.
 * A piece ends where an add() ended, so a transform that needs whole values (or lines)
 * gets them when each add() is one.
 */
export class TextPieces {
  private piece = "";

  constructor(
    private readonly write: (text: string) => void,
    private readonly transform: (text: string) => string = (text) => text,
  ) {}

  add(text: string): void {
    this.piece += text;
    if (this.piece.length >= PIECE_CHARS) {
      this.write(this.transform(this.piece));
      this.piece = "";
    }
  }

  /** Adds the text's last part and hands on what is left. */
  end(text: string): void {
    this.write(this.transform(this.piece + text));
    this.piece = "";
  }
}

/**
 * A large JSON text made safe (safeJsonText) in pieces. Every add() ends between two whole
 * values, so a key is never cut in two and every piece is masked as the whole text would be.
 */
export class SafeJsonPieces extends TextPieces {
  constructor(write: (text: string) => void) {
    super(write, safeJsonText);
  }
}
