// Glyphs, colours and number formats shared by the plain line output and the summary table.
// Colours are SGR codes only, and only when the caller says stdout is a terminal.
import { charWidth, textWidth } from "../../ui/text.js";

export interface StyleOptions {
  readonly color: boolean;
  readonly ascii: boolean;
}

const SGR = { dim: 2, red: 31, green: 32, yellow: 33, magenta: 35, cyan: 36, bold: 1 } as const;
export type Tone = keyof typeof SGR;

export interface Style {
  readonly ascii: boolean;
  paint(tone: Tone, text: string): string;
  glyph(name: GlyphName): string;
  /** The ellipsis used when text is cut. */
  readonly ellipsis: string;
}

const GLYPHS = {
  started: ["▶", ">"],
  completed: ["✓", "+"],
  failed: ["✗", "x"],
  retry: ["↻", "~"],
  loop: ["⟳", "@"],
  skipped: ["–", "-"],
  paused: ["⏸", "="],
  connection: ["!", "!"],
  run: ["■", "#"],
} as const;
export type GlyphName = keyof typeof GLYPHS;

export function createStyle(options: StyleOptions): Style {
  return {
    ascii: options.ascii,
    paint: options.color ? (tone, text) => `\u001b[${SGR[tone]}m${text}\u001b[0m` : (_tone, text) => text,
    glyph: (name) => GLYPHS[name][options.ascii ? 1 : 0],
    ellipsis: options.ascii ? "..." : "…",
  };
}

/** 850ms, 2.1s, 1m05s, 1h02m. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${String(Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) {
    return `${String(Math.floor(totalSeconds / 60))}m${String(totalSeconds % 60).padStart(2, "0")}s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  return `${String(Math.floor(totalMinutes / 60))}h${String(totalMinutes % 60).padStart(2, "0")}m`;
}

/** `[00:12.3]` (minutes:seconds.tenths), `[1:02:03.4]` past an hour; relative to the run start. */
export function formatClock(ms: number): string {
  const tenths = Math.floor(Math.max(0, ms) / 100);
  const seconds = Math.floor(tenths / 10);
  const s = `${String(seconds % 60).padStart(2, "0")}.${String(tenths % 10)}`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `[${String(minutes).padStart(2, "0")}:${s}]`;
  return `[${String(Math.floor(minutes / 60))}:${String(minutes % 60).padStart(2, "0")}:${s}]`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Cuts text to `max` terminal cells (a CJK character or an emoji takes two), marking the cut. */
export function truncate(text: string, max: number, ellipsis: string): string {
  if (textWidth(text) <= max) return text;
  const room = max - textWidth(ellipsis);
  if (room <= 0) return ellipsis.slice(0, Math.max(0, max));
  let out = "";
  let used = 0;
  for (const ch of text) {
    const width = charWidth(ch.codePointAt(0) ?? 0);
    if (used + width > room) break;
    out += ch;
    used += width;
  }
  return out + ellipsis;
}

/** Terminal cells taken by (already sanitized, escape-free) text. */
export function displayWidth(text: string): number {
  return textWidth(text);
}

/**
 * The width of each column: its title or its widest cell. A loop, not Math.max over a
 * spread: a run of 250,000 steps has that many cells per column, past the call stack's
 * limit for arguments.
 */
export function columnWidths(titles: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return titles.map((title, c) => {
    let width = displayWidth(title);
    for (const row of rows) width = Math.max(width, displayWidth(row[c] ?? ""));
    return width;
  });
}
