// What may reach a terminal. Server text must never contribute a control: no C0 byte
// but `\n` (a `\r` only as the terminal's own `\r\n`), no DEL, no C1, no bidi control,
// and no escape sequence at all except the few cursor and erase sequences Ink and the
// terminal restore use to draw (with colours off). Anything else (OSC 0 title, OSC 8
// link, OSC 52 clipboard, DCS, APC, a colour, a clear screen) is a violation.

/**
 * Escape sequences the TUI itself writes with colours off: cursor moves (up, down, forward,
 * back, next/previous line, column), erase in line, cursor hide/show, synchronized output,
 * and the attribute reset of the terminal restore. Neither colours nor a screen clear.
 */
const DRAWING = /^\x1b\[(?:\d*[A-G]|[0-2]?K|0?m|\?25[hl]|\?2026[hl])/;

/** A description of each thing in `bytes` a terminal would act on that is not drawing. */
export function terminalViolations(bytes: Buffer, options: { allowDrawing: boolean }): string[] {
  const found: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x1b) {
      const rest = bytes.subarray(i, i + 16).toString("latin1");
      const drawing = options.allowDrawing ? DRAWING.exec(rest) : null;
      if (drawing === null) found.push(`ESC ${JSON.stringify(rest.slice(1, 8))} at ${String(i)}`);
      else i += drawing[0].length - 1;
      continue;
    }
    if (b === 0x0d && bytes[i + 1] === 0x0a && options.allowDrawing) continue;
    if ((b < 0x20 && b !== 0x0a) || b === 0x7f) found.push(`0x${b.toString(16).padStart(2, "0")} at ${String(i)}`);
  }
  const text = bytes.toString("utf8");
  for (const match of text.matchAll(/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/g)) {
    found.push(`U+${(match[0].codePointAt(0) ?? 0).toString(16).padStart(4, "0")} at char ${String(match.index)}`);
  }
  return found;
}
