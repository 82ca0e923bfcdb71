// Strings made from bytes (Latin-1 slices, recurring values kept once), and byte
// comparisons four bytes at a time. The SSE decoder and the event scanner compare
// the same short byte strings at every frame (`event: `, type names, the text between
// a payload's values) and check whether a value repeats the previous one. A DataView
// read is one load for four bytes, where indexing a Buffer costs two loads and a
// bounds check per byte (issue 6: these comparisons were a tenth of the decoding time).

/** The UTF-8 byte order mark, which a text may start with (the SSE stream, an export file). */
export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
let viewed: Uint8Array | null = null;
let view: DataView = EMPTY_VIEW;

/** A DataView over b; the one of the last buffer asked for is kept (a chunk serves hundreds of frames) until forgetView. */
export function viewOf(b: Uint8Array): DataView {
  if (b !== viewed) {
    viewed = b;
    view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return view;
}

/** Drops the kept view, so that no chunk outlives its decoding. */
export function forgetView(): void {
  viewed = null;
  view = EMPTY_VIEW;
}

/** A fixed byte string, matched in place. */
export class BytePattern {
  readonly bytes: Uint8Array;
  private readonly words: Uint32Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.words = new Uint32Array(bytes.length >> 2);
    for (let k = 0; k < this.words.length; k++) this.words[k] = data.getUint32(4 * k, true);
  }

  static of(text: string): BytePattern {
    return new BytePattern(Buffer.from(text, "latin1"));
  }

  get length(): number {
    return this.bytes.length;
  }

  /** The bytes at `at` of the viewed buffer are the pattern; false when they run past its end. */
  at(data: DataView, at: number): boolean {
    const { bytes, words } = this;
    if (at + bytes.length > data.byteLength) return false;
    for (let k = 0; k < words.length; k++) if (data.getUint32(at + 4 * k, true) !== words[k]) return false;
    for (let k = words.length * 4; k < bytes.length; k++) if (data.getUint8(at + k) !== bytes[k]) return false;
    return true;
  }

  /** b[start, end) is exactly the pattern. */
  is(data: DataView, start: number, end: number): boolean {
    return end - start === this.bytes.length && this.at(data, start);
  }
}

/** Two ranges of the viewed buffer, of `length` bytes each, hold the same bytes (both lie within it). */
export function sameRanges(data: DataView, a: number, b: number, length: number): boolean {
  let k = 0;
  for (; k + 4 <= length; k += 4) if (data.getUint32(a + k, true) !== data.getUint32(b + k, true)) return false;
  for (; k < length; k++) if (data.getUint8(a + k) !== data.getUint8(b + k)) return false;
  return true;
}

/**
 * Buffer's own Latin-1 decoder (as toString("latin1") uses it, without looking the
 * encoding up on every call: a tenth of the string cost of the scanners). Not in the typings.
 */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

/** The string of the bytes b[start, end), one character per byte. */
export function latin1(b: Buffer, start: number, end: number): string {
  return (b as Latin1Buffer).latin1Slice(start, end);
}

/**
 * The last few values of one field: a few models or statuses recur over thousands of
 * steps, and a repeat costs a byte comparison instead of a new string, and no memory
 * in what keeps it.
 */
export class RecentStrings {
  private readonly slots: string[];
  private next = 0;

  constructor(size: number) {
    this.slots = new Array<string>(size).fill("");
  }

  /** The string of the ASCII bytes b[start, end). */
  get(b: Buffer, start: number, end: number): string {
    const length = end - start;
    for (let k = 0; k < this.slots.length; k++) {
      const slot = this.slots[k] as string;
      if (slot.length === length && sameAscii(slot, b, start)) return slot;
    }
    const text = latin1(b, start, end);
    this.slots[this.next] = text;
    this.next = (this.next + 1) % this.slots.length;
    return text;
  }
}

function sameAscii(text: string, b: Buffer, start: number): boolean {
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) !== b[start + k]) return false;
  return true;
}
