// Terminal cell width and fitting of plain (already sanitized) text. Rows are built as
// fixed-width strings rather than one Ink box per cell: it keeps a frame cheap to lay out
// (issue 6: one frame of a 10,000-step table in a few milliseconds).

/** East Asian wide and fullwidth ranges, plus the common emoji blocks: two cells each. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Combining marks and zero-width characters take no cell. */
function isZeroWidth(cp: number): boolean {
  return (
    (cp >= 0x0300 && cp <= 0x036f) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0x20d0 && cp <= 0x20ff)
  );
}

/** Cells taken by one code point. */
export function charWidth(cp: number): number {
  if (cp < 0x300) return 1;
  if (isZeroWidth(cp)) return 0;
  return isWide(cp) ? 2 : 1;
}

const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

export function textWidth(text: string): number {
  if (ASCII_PRINTABLE.test(text)) return text.length;
  let width = 0;
  for (const ch of text) width += charWidth(ch.codePointAt(0) ?? 0);
  return width;
}

/**
 * Cuts `text` to at most `width` cells, ending with `ellipsis` when something was cut,
 * then pads it with spaces to exactly `width` cells (on the left when `alignRight`).
 */
export function fit(text: string, width: number, opts: { alignRight?: boolean; ellipsis?: string } = {}): string {
  if (width <= 0) return "";
  const ellipsis = opts.ellipsis ?? "…";
  let cut = text;
  let used = textWidth(text);
  if (used > width) {
    const room = width - textWidth(ellipsis);
    let out = "";
    used = 0;
    for (const ch of text) {
      const w = charWidth(ch.codePointAt(0) ?? 0);
      if (used + w > room) break;
      out += ch;
      used += w;
    }
    cut = room > 0 ? out + ellipsis : ellipsis.slice(0, width);
    used += room > 0 ? textWidth(ellipsis) : Math.min(width, ellipsis.length);
  }
  const pad = " ".repeat(Math.max(0, width - used));
  return opts.alignRight ? pad + cut : cut + pad;
}

/**
 * The part of `text` in display columns [from, from + width): a wide character cut by
 * either edge becomes a space, so the result is never wider than `width`. No padding.
 */
export function sliceColumns(text: string, from: number, width: number): string {
  if (width <= 0) return "";
  if (ASCII_PRINTABLE.test(text)) return text.slice(from, from + width);
  let out = "";
  let column = 0;
  for (const ch of text) {
    const w = charWidth(ch.codePointAt(0) ?? 0);
    const end = column + w;
    if (end > from + width) break;
    if (column >= from) out += ch;
    else if (end > from) out += " ".repeat(end - from);
    column = end;
  }
  return out;
}
