// Ink composes every frame cell by cell: its Output.get() builds a width x height grid,
// splits every written line into graphemes (Intl.Segmenter), gives each its styles and
// turns the grid back into text. That is ~10 ms per 120x40 frame on a 2-core machine,
// whatever changed, and most of a frame (issue 6: p95 <= 8 ms; idle < 1% CPU with one
// redraw a second). Between two frames of this screen few rows change, so this wraps
// Output.get to reuse the text of rows whose writes were seen before.
//
// Without clipping, the rows of Ink's grid are independent: a row's text depends only on
// the writes that land on it (x and the transformed text, in order), so a row seen before
// gets the text made for it then. Frames that clip (overflow: hidden) or write outside the
// grid go to Ink's get() unchanged. test/ui/inkRowCache.test.ts checks that the output is
// Ink's, byte for byte.
//
// A new row is composed in runs of equally styled cells rather than cell by cell:
// Ink's styledCharsToString emits codes only where the style changes, so a run of cells
// with one style gives the same text as its cells one by one. Printable ASCII needs no
// grapheme split (each character is one grapheme, one cell wide); SGR codes and the few
// other characters (with their ASCII neighbours, see linePieces) are split by Ink's own
// tokenizer and measured with Ink's widths. Writes that overlap or start past the grid,
// and lines that cannot be cut safely, go to Ink's own get() on a one-row Output.
//
// Installed only on the Ink version it was checked against (package.json pins ~6.8.0).
import { findInkModules } from "./inkInternals.js";

type Transformer = (line: string, index: number) => string;

type Operation =
  | { readonly type: "write"; readonly x: number; readonly y: number; readonly text: string; readonly transformers: readonly Transformer[] }
  | { readonly type: "clip" | "unclip" };

/** Ink's per-Output caches (OutputCaches). */
interface InkOutputCaches {
  readonly widths: Map<string, number>;
}

/** The parts of Ink's internal Output class used here. */
interface InkOutput {
  readonly width: number;
  readonly height: number;
  readonly operations: readonly Operation[];
  caches: InkOutputCaches;
  write(x: number, y: number, text: string, options: { transformers: Transformer[] }): void;
  get(): { output: string; height: number };
}

export type InkOutputClass = (new (options: { width: number; height: number }) => InkOutput) & { prototype: InkOutput };

interface AnsiCode {
  readonly type: "ansi";
  readonly code: string;
  readonly endCode: string;
}

/** A run of cells with one style (Ink's StyledChar, whose value may hold several cells). */
interface StyledRun {
  readonly type: "char";
  readonly value: string;
  readonly fullWidth: boolean;
  readonly styles: readonly AnsiCode[];
}

/** The functions of @alcalzone/ansi-tokenize (Ink's tokenizer) used to compose new rows. */
export interface InkTokenizer {
  tokenize(text: string): readonly ({ readonly type: "char"; readonly value: string } | AnsiCode)[];
  reduceAnsiCodesIncremental(codes: readonly AnsiCode[], newCodes: readonly AnsiCode[]): readonly AnsiCode[];
  styledCharsToString(chars: readonly StyledRun[]): string;
}

const CHECKED_INK = /^6\.8\./;
/** Rows kept; past this the cache starts over (a screen uses a few hundred distinct rows at a time). */
const MAX_ROWS = 4096;
/** Tokenized texts kept, likewise. */
const MAX_STYLED_TEXTS = 4096;
const ASCII_AND_SGR = /^(?:[\x20-\x7e]|\x1b\[[0-9;]*m)*$/;
const SGR_OR_CHARS = /\x1b\[[0-9;]*m|[\x20-\x7e]+/g;
const NO_STYLES: readonly AnsiCode[] = [];

/** One grid row's writes in order: [x, text, x, text, ...]. */
type RowWrites = (number | string)[];

function sameStyles(a: readonly AnsiCode[], b: readonly AnsiCode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i]?.code !== b[i]?.code) return false;
  return true;
}

type Piece = { readonly sgr: string } | { readonly ascii: string } | { readonly graphemes: string };

const SGR_AT = /\x1b\[[0-9;]*m/y;
/** Characters that join the grapheme before them (Extend, SpacingMark, ZWJ). */
const JOINS_PREVIOUS = /^[\p{Grapheme_Extend}\p{Mc}\p{Emoji_Modifier}\u200d]/u;

const isPrintableAscii = (ch: string): boolean => ch.length === 1 && ch >= " " && ch <= "~";

/**
 * A line cut into SGR codes, printable ASCII runs, and the pieces Ink's tokenizer must
 * split into graphemes: each run of other characters with the ASCII character on either
 * side of it (a grapheme holds at most one ASCII character, its base, at one of its ends;
 * two printable ASCII characters are never one grapheme). Null when that does not hold
 * around a code (an escape that is not SGR; a joining character right after a code).
 */
function linePieces(line: string): Piece[] | null {
  const units: ({ readonly sgr: string } | { readonly ch: string; readonly ascii: boolean })[] = [];
  for (let i = 0; i < line.length; ) {
    if (line.charCodeAt(i) === 0x1b) {
      SGR_AT.lastIndex = i;
      const code = SGR_AT.exec(line)?.[0];
      if (code === undefined) return null;
      units.push({ sgr: code });
      i += code.length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i) ?? 0);
    units.push({ ch, ascii: isPrintableAscii(ch) });
    i += ch.length;
  }
  // Right after a code, Ink would join such a character to the code's last letter.
  const joinsCode = units.some((unit, i) => "ch" in unit && i > 0 && "sgr" in (units[i - 1] as object) && JOINS_PREVIOUS.test(unit.ch));
  if (joinsCode) return null;
  const toTokenizer = units.map((unit) => "ch" in unit && !unit.ascii);
  units.forEach((unit, i) => {
    if (!("ch" in unit) || unit.ascii) return;
    const before = units[i - 1];
    const after = units[i + 1];
    if (before !== undefined && "ch" in before) toTokenizer[i - 1] = true;
    if (after !== undefined && "ch" in after) toTokenizer[i + 1] = true;
  });
  const pieces: Piece[] = [];
  let text = "";
  let tokenized = false;
  const flush = (): void => {
    if (text !== "") pieces.push(tokenized ? { graphemes: text } : { ascii: text });
    text = "";
  };
  units.forEach((unit, i) => {
    if ("sgr" in unit) {
      flush();
      pieces.push(unit);
      return;
    }
    const mark = toTokenizer[i] === true;
    if (mark !== tokenized) {
      flush();
      tokenized = mark;
    }
    text += unit.ch;
  });
  flush();
  return pieces;
}

/** Composes rows in runs (see the top of the file). */
function rowComposer(tokenizer: InkTokenizer, widthOf: (text: string) => number) {
  // Texts Ink's tokenizer has split (SGR codes, grapheme pieces): a screen repeats them.
  const tokenized = new Map<string, readonly ({ readonly type: "char"; readonly value: string } | AnsiCode)[]>();

  function tokens(text: string): readonly ({ readonly type: "char"; readonly value: string } | AnsiCode)[] {
    let list = tokenized.get(text);
    if (list === undefined) {
      list = tokenizer.tokenize(text);
      if (tokenized.size >= MAX_STYLED_TEXTS) tokenized.clear();
      tokenized.set(text, list);
    }
    return list;
  }

  /** Ink's text for a row of `width` cells receiving `writes`; null when Ink must compose it. */
  return function composeRow(width: number, writes: RowWrites): string | null {
    const runs: StyledRun[] = [];
    const push = (value: string, styles: readonly AnsiCode[]): void => {
      const last = runs[runs.length - 1];
      if (last !== undefined && sameStyles(last.styles, styles)) runs[runs.length - 1] = { ...last, value: last.value + value };
      else runs.push({ type: "char", value, fullWidth: false, styles });
    };
    let column = 0;
    for (let i = 0; i < writes.length; i += 2) {
      const x = writes[i] as number;
      const line = writes[i + 1] as string;
      if (!Number.isInteger(x) || x < column || x > width) return null;
      if (x > column) push(" ".repeat(x - column), NO_STYLES);
      column = x;
      const pieces = ASCII_AND_SGR.test(line)
        ? (line.match(SGR_OR_CHARS) ?? []).map((text): Piece => (text.charCodeAt(0) === 0x1b ? { sgr: text } : { ascii: text }))
        : linePieces(line);
      if (pieces === null) return null;
      // Styles as Ink's styledCharsFromTokens keeps them: reduced code by code.
      let codes: readonly AnsiCode[] = NO_STYLES;
      for (const piece of pieces) {
        if ("sgr" in piece) {
          for (const token of tokens(piece.sgr)) if (token.type === "ansi") codes = tokenizer.reduceAnsiCodesIncremental(codes, [token]);
        } else if ("ascii" in piece) {
          push(piece.ascii, codes);
          column += piece.ascii.length;
        } else {
          for (const token of tokens(piece.graphemes)) {
            if (token.type === "ansi") continue;
            // As Ink: a character takes at least one cell; the cells after a wide one hold "".
            const cells = Math.max(1, widthOf(token.value));
            push(token.value, codes);
            for (let cell = 1; cell < cells; cell += 1) push("", codes);
            column += cells;
          }
        }
      }
    }
    if (column < width) push(" ".repeat(width - column), NO_STYLES);
    return tokenizer.styledCharsToString(runs).trimEnd();
  };
}

let framesAsked = 0;

/**
 * How many frames Ink has asked a wrapped get() for. Non-zero once a frame is drawn only if
 * the wrapped Output is the one that draws (in the bundled TUI: the bundled Ink's own).
 */
export function rowCacheFrames(): number {
  return framesAsked;
}

/**
 * Wraps `Output.prototype.get` with the row cache; returns false (and changes nothing) when
 * the class is not of the expected shape or is already wrapped. Without a tokenizer, new
 * rows are made entirely by Ink.
 */
export function wrapOutputGet(Output: InkOutputClass, tokenizer: InkTokenizer | null): boolean {
  const proto = Output.prototype as InkOutput & { stockGet?: InkOutput["get"] };
  if (typeof proto.get !== "function" || typeof proto.write !== "function" || Object.hasOwn(proto, "stockGet")) return false;
  const stockGet = proto.stockGet ?? proto.get;
  const rows = new Map<string, string>();
  // Cell widths as Ink measures them (its per-Output cache, kept for every row).
  const measure = new Output({ width: 0, height: 0 }).caches as InkOutputCaches & { getStringWidth(text: string): number };
  const composeRow = tokenizer === null ? null : rowComposer(tokenizer, (text) => measure.getStringWidth(text));

  /** Ink's text for one row of `width` cells that receives `writes`. */
  function rowText(width: number, writes: RowWrites): string {
    let key = String(width);
    for (let i = 0; i < writes.length; i += 2) {
      const text = writes[i + 1] as string;
      key += `|${String(writes[i])}:${String(text.length)}:${text}`;
    }
    const cached = rows.get(key);
    if (cached !== undefined) return cached;
    let text = composeRow?.(width, writes) ?? null;
    if (text === null) {
      const one = new Output({ width, height: 1 });
      for (let i = 0; i < writes.length; i += 2) one.write(writes[i] as number, 0, writes[i + 1] as string, { transformers: [] });
      text = stockGet.call(one).output;
    }
    if (rows.size >= MAX_ROWS) rows.clear();
    rows.set(key, text);
    return text;
  }

  proto.get = function get(this: InkOutput) {
    framesAsked += 1;
    const { width, height, operations } = this;
    const byRow = new Array<RowWrites | undefined>(height);
    for (const operation of operations) {
      if (operation.type !== "write") return stockGet.call(this);
      const lines = operation.text.split("\n");
      // Ink drops lines outside the grid in a way that shifts the ones after: leave it to Ink.
      if (operation.y < 0 || operation.y + lines.length > height) return stockGet.call(this);
      for (let index = 0; index < lines.length; index += 1) {
        let line = lines[index] ?? "";
        for (const transform of operation.transformers) line = transform(line, index);
        (byRow[operation.y + index] ??= []).push(operation.x, line);
      }
    }
    let output = "";
    for (let y = 0; y < height; y += 1) {
      const writes = byRow[y];
      if (y > 0) output += "\n";
      if (writes !== undefined) output += rowText(width, writes);
    }
    return { output, height };
  };
  // Ink's own get(), for the rows above and for tests that compare the two.
  proto.stockGet = stockGet;
  return true;
}

const TOKENIZER_FUNCTIONS = ["tokenize", "reduceAnsiCodesIncremental", "styledCharsToString"] as const;

export interface InkInternals {
  readonly Output: InkOutputClass;
  readonly tokenizer: InkTokenizer | null;
}

/** Ink's Output class (and its tokenizer), of the Ink that draws the screen; null for another Ink. */
export async function loadInkInternals(): Promise<InkInternals | null> {
  try {
    const ink = await findInkModules();
    const Output = ink.output["default"];
    if (!CHECKED_INK.test(ink.version) || typeof Output !== "function") return null;
    const { tokenizer } = ink;
    const usable = tokenizer !== null && TOKENIZER_FUNCTIONS.every((name) => typeof tokenizer[name] === "function");
    return { Output: Output as InkOutputClass, tokenizer: usable ? (tokenizer as unknown as InkTokenizer) : null };
  } catch {
    // Ink is laid out differently: it draws as it always does.
    return null;
  }
}

let installed: Promise<boolean> | null = null;

/** Wraps Ink's Output.get with the row cache, once; false when this Ink is not the one it was written for. */
export function installInkRowCache(): Promise<boolean> {
  installed ??= loadInkInternals().then((ink) => ink !== null && wrapOutputGet(ink.Output, ink.tokenizer));
  return installed;
}
