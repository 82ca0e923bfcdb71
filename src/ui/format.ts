// Display forms shared by the TUI components: glyphs (Unicode or --ascii), durations,
// token counts, byte sizes. Pure functions; callers sanitize server text before these.
import type { ConnectionState, RunStatus, StepStatus } from "../state/types.js";

export interface Glyphs {
  readonly step: Readonly<Record<StepStatus, string>>;
  readonly run: Readonly<Record<RunStatus, string>>;
  readonly live: string;
  readonly connecting: string;
  readonly reconnecting: string;
  readonly ended: string;
  readonly final: string;
  readonly offline: string;
  readonly ellipsis: string;
  readonly selected: string;
  readonly rule: string;
  readonly times: string;
  /** Timeline and cost bars: a finished (or the latest) attempt, one running, a failed one, anything else. */
  readonly bar: { readonly done: string; readonly running: string; readonly failed: string; readonly other: string };
  /** A loop line in the timeline, collapsed / expanded. */
  readonly collapsed: string;
  readonly expanded: string;
  /** Ends of a snapshot line cut at the screen's edge. */
  readonly cutLeft: string;
  readonly cutRight: string;
}

const UNICODE: Glyphs = {
  step: {
    pending: "·",
    running: "▶",
    completed: "✓",
    failed: "✗",
    skipped: "↷",
    waiting_tools: "⧗",
    paused: "‖",
  },
  run: { pending: "·", running: "▶", completed: "✓", failed: "✗", cancelled: "⊘", unknown: "?" },
  live: "●",
  connecting: "○",
  reconnecting: "↻",
  ended: "■",
  final: "✓",
  offline: "□",
  ellipsis: "…",
  selected: "›",
  rule: "─",
  times: "×",
  bar: { done: "█", running: "▓", failed: "░", other: "▒" },
  collapsed: "▸",
  expanded: "▾",
  cutLeft: "«",
  cutRight: "»",
};

const ASCII: Glyphs = {
  step: {
    pending: ".",
    running: ">",
    completed: "+",
    failed: "x",
    skipped: "-",
    waiting_tools: "?",
    paused: "=",
  },
  run: { pending: ".", running: ">", completed: "+", failed: "x", cancelled: "/", unknown: "?" },
  live: "*",
  connecting: "o",
  reconnecting: "~",
  ended: "#",
  final: "+",
  offline: "-",
  ellipsis: "~",
  selected: ">",
  rule: "-",
  times: "x",
  bar: { done: "#", running: "=", failed: "x", other: "-" },
  collapsed: "+",
  expanded: "-",
  cutLeft: "<",
  cutRight: ">",
};

export function glyphs(ascii: boolean): Glyphs {
  return ascii ? ASCII : UNICODE;
}

const STEP_WORDS: Readonly<Record<StepStatus, readonly [long: string, short: string]>> = {
  pending: ["pending", "pend"],
  running: ["running", "run"],
  completed: ["completed", "done"],
  failed: ["failed", "fail"],
  skipped: ["skipped", "skip"],
  waiting_tools: ["tools", "tools"],
  paused: ["paused", "pause"],
};

export function stepStatusWord(status: StepStatus, short: boolean): string {
  return STEP_WORDS[status][short ? 1 : 0];
}

/** Colour names Ink understands, by status; callers skip them when colour is off. */
export const STEP_COLOR: Readonly<Record<StepStatus, string | undefined>> = {
  pending: "gray",
  running: "cyan",
  completed: "green",
  failed: "red",
  skipped: "gray",
  waiting_tools: "magenta",
  paused: "yellow",
};

export const RUN_COLOR: Readonly<Record<RunStatus, string | undefined>> = {
  pending: "gray",
  running: "cyan",
  completed: "green",
  failed: "red",
  cancelled: "yellow",
  unknown: undefined,
};

function pad2(n: number): string {
  return n < 10 ? `0${String(n)}` : String(n);
}

/** Step durations: `850ms`, `12.3s`, `4m05s`, `1h02m`; empty when unknown. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${String(Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) return `${String(Math.floor(totalSeconds / 60))}m${pad2(totalSeconds % 60)}s`;
  return `${String(Math.floor(totalSeconds / 3600))}h${pad2(Math.floor(totalSeconds / 60) % 60)}m`;
}

/** The run clock: `mm:ss`, or `h:mm:ss` past an hour. */
export function formatClock(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return "--:--";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const mmss = `${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
  return h > 0 ? `${String(h)}:${mmss}` : mmss;
}

/** Compact counts: 950, 12.3k, 4.5M. */
export function formatCount(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "?";
  if (Math.abs(n) < 10_000) return String(n);
  if (Math.abs(n) < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Thousands separators for exact totals. */
export function formatInteger(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return "? B";
  if (bytes < 1024) return `${String(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * The header's connection word. `reconnectInMs` is the time left before the next attempt
 * (it counts down while reconnecting); the delay announced is shown without it.
 */
export function connectionLabel(connection: ConnectionState, final: boolean, g: Glyphs, reconnectInMs?: number): string {
  if (connection.kind === "offline") return `${g.offline} offline`;
  if (final) return `${g.final} final`;
  switch (connection.kind) {
    case "idle":
      return `${g.connecting} starting`;
    case "connecting":
      return connection.attempt > 1
        ? `${g.connecting} connecting (attempt ${String(connection.attempt)})`
        : `${g.connecting} connecting`;
    case "live":
      return `${g.live} live`;
    case "reconnecting": {
      const seconds = Math.max(0, Math.ceil((reconnectInMs ?? connection.delayMs) / 1000));
      return `${g.reconnecting} reconnecting (attempt ${String(connection.attempt)}, in ${String(seconds)}s)`;
    }
    case "ended":
      return `${g.ended} ended`;
  }
}

/** ISO time of day (local) for an attempt's start, `HH:MM:SS`; empty when unknown or invalid. */
export function formatTimeOfDay(iso: string | null | undefined): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const d = new Date(t);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}
