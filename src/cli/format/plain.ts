// The plain format: one readable line per change, then a summary table.
//
// Lines are derived from the reducer's state, not from raw events: after each
// signal the rows it may have changed are compared with what was already
// reported. Each row's progress is a (iteration, attempt, status rank) triple
// that only moves forward, so a reconnect's full replay (or a trace reconcile
// that agrees with the stream) prints nothing twice. Loops are summarised: a
// line when a second iteration shows the step is a loop, a progress line at
// most every LOOP_PROGRESS_INTERVAL_MS, and one line when the loop ends.
import { sanitizeLine } from "../../api/sanitize.js";
import type { MonitorSignal } from "../../api/signals.js";
import { formatUsd } from "../../state/money.js";
import type { Summary } from "../../state/summary.js";
import { TERMINAL_RUN_STATUSES, type RunState, type StepRow, type StepStatus, type StepTable } from "../../state/types.js";
import { rowTokens, writeSummaryTable } from "./table.js";
import { createStyle, formatClock, formatCount, formatDuration, truncate, type Style, type StyleOptions } from "./style.js";
import type { WatchOutput } from "./output.js";

/** A loop's progress line is printed at most this often. */
export const LOOP_PROGRESS_INTERVAL_MS = 5_000;
/** A step id shown beside a name is cut to this many characters. */
const MAX_ID_CHARS = 40;
/** Server error text in a line is cut to this many characters. */
const MAX_ERROR_CHARS = 300;

const STATUS_RANK: Readonly<Record<StepStatus, number>> = {
  pending: 0,
  running: 1,
  waiting_tools: 2,
  paused: 2,
  completed: 3,
  failed: 3,
  skipped: 3,
};

interface Reported {
  iterations: number;
  attempt: number;
  rank: number;
  /** Highest attempt whose failure was printed. */
  failedAttempt: number;
  /** The second iteration was announced: the row is a loop being summarised. */
  loop: boolean;
  lastProgressAt: number;
}

/** `name (id)`, or the id alone when the step has no name (or the name is the id); sanitized. */
function stepLabel(row: StepRow, style: Style): string {
  const id = sanitizeLine(row.stepId);
  if (row.name === null || row.name === "" || row.name === row.stepId) return id;
  return `${sanitizeLine(row.name)} (${truncate(id, MAX_ID_CHARS, style.ellipsis)})`;
}

function isAhead(row: StepRow, seen: Reported | undefined): boolean {
  if (seen === undefined) return STATUS_RANK[row.status] > 0;
  if (row.iterations !== seen.iterations) return row.iterations > seen.iterations;
  if (row.attempt !== seen.attempt) return row.attempt > seen.attempt;
  return STATUS_RANK[row.status] > seen.rank;
}

function signalTime(signal: MonitorSignal): number | null {
  if (signal.type === "stream/events") return signal.events.at(-1)?.at ?? null;
  return "at" in signal ? signal.at : null;
}

export class PlainOutput implements WatchOutput {
  private readonly style: Style;
  private readonly reported = new Map<string, Reported>();
  /** Loops announced and not yet summarised (a later iteration reopens one). */
  private readonly openLoops = new Set<string>();
  private runStartReported = false;
  private runEndReported = false;
  private opens = 0;
  /** A stream is open (a close is a lost connection, not a failed attempt). */
  private connected = false;
  /** Clock origin of the `[mm:ss.d]` prefix: the run's start once known, else the first signal. */
  private origin: number | null = null;
  private originIsRunStart = false;
  /** Time of the latest signal (the final lines are stamped with it). */
  private lastAt = 0;
  private lastTable: StepTable | null = null;
  private lastReplaying = false;

  /** The terminal's width for the summary table; undefined when stdout is not a terminal. */
  private readonly width: number | undefined;

  constructor(
    private readonly write: (text: string) => void,
    options: StyleOptions & { readonly width?: number | undefined },
  ) {
    this.style = createStyle(options);
    this.width = options.width;
  }

  onSignal(signal: MonitorSignal, state: RunState): void {
    const at = signalTime(signal) ?? this.origin ?? 0;
    if (this.origin === null) this.origin = at;
    if (!this.originIsRunStart && state.startedAt !== null) {
      this.origin = Math.min(state.startedAt, at);
      this.originIsRunStart = true;
    }
    const lines: string[] = [];
    const { style } = this;
    switch (signal.type) {
      case "stream/opened":
        this.opens++;
        this.connected = true;
        if (this.opens > 1) {
          lines.push(
            `${style.paint("yellow", style.glyph("connection"))} ${signal.resumed ? "connection resumed" : "reconnected; replaying the run's history"}`,
          );
        }
        break;
      case "stream/closed": {
        // The monitor's reason may already say "connection lost: …" (a dropped socket).
        const reason = sanitizeLine(signal.reason).replace(/^connection lost: /, "");
        const what = this.connected ? "connection lost" : "stream unavailable";
        this.connected = false;
        lines.push(`${style.paint("yellow", style.glyph("connection"))} ${what}: ${reason}`);
        break;
      }
      case "stream/reconnecting":
        lines.push(
          `${style.paint("yellow", style.glyph("connection"))} reconnecting in ${(signal.delayMs / 1000).toFixed(1)} s (attempt ${String(signal.attempt)})`,
        );
        break;
      case "stream/malformed":
        lines.push(
          `${style.paint("yellow", style.glyph("connection"))} skipped ${String(signal.count)} malformed frame${signal.count === 1 ? "" : "s"}: ${sanitizeLine(signal.reason)}`,
        );
        break;
      default:
        break;
    }
    this.reportRows(signal, state, at, lines);
    this.writeLines(lines, at);
    this.lastAt = at;
  }

  private writeLines(lines: readonly string[], at: number): void {
    if (lines.length === 0) return;
    const prefix = this.style.paint("dim", formatClock(at - (this.origin ?? at)));
    this.write(lines.map((line) => `${prefix} ${line}\n`).join(""));
  }

  finish(state: RunState, summary: Summary): void {
    const lines: string[] = [];
    // A run whose end was never seen on the stream (learnt from the final trace) still gets its lines.
    this.reportRows(null, state, this.lastAt, lines);
    this.writeLines(lines, this.lastAt);
    this.write("\n");
    writeSummaryTable(state, summary, this.style, this.width ?? Infinity, this.write);
  }

  private reportRows(signal: MonitorSignal | null, state: RunState, at: number, lines: string[]): void {
    if (!this.runStartReported && state.status !== "pending" && state.status !== "unknown") {
      this.runStartReported = true;
      const count = state.stepCount === null ? "" : ` (${String(state.stepCount)} steps)`;
      lines.push(`${this.style.paint("cyan", this.style.glyph("run"))} run started${count}`);
    }

    for (const row of this.candidateRows(signal, state)) {
      const seen = this.reported.get(row.stepId);
      if (!isAhead(row, seen)) continue;
      // A step seen for the first time: the run moved past every loop that finished its iteration.
      if (seen === undefined) this.closeLoops(state, lines, () => true);
      this.reportRow(row, seen, at, lines);
    }

    const runEnded = TERMINAL_RUN_STATUSES.has(state.status);
    const finalTrace = signal === null || (signal.type === "trace/loaded" && signal.final);
    if (runEnded || finalTrace) {
      this.closeLoops(state, lines, () => true);
    } else if (signal?.type === "stream/events") {
      const ended = new Set<string>();
      for (const { event } of signal.events) {
        if (event.type === "loop_completed" && event.stepId != null) ended.add(event.stepId);
      }
      if (ended.size > 0) this.closeLoops(state, lines, (stepId) => ended.has(stepId));
    }

    // The run's end is reported with the final trace, so that what only the trace tells
    // (a skipped step the stream never mentioned) comes before it.
    if (runEnded && finalTrace && !this.runEndReported) {
      this.runEndReported = true;
      lines.push(this.runEndLine(state));
    }
  }

  /** One summary line for each open loop whose current iteration is over (and `which` accepts). */
  private closeLoops(state: RunState, lines: string[], which: (stepId: string) => boolean): void {
    for (const stepId of this.openLoops) {
      const row = state.steps.get(stepId);
      if (row === undefined || STATUS_RANK[row.status] < 3 || !which(stepId)) continue;
      this.openLoops.delete(stepId);
      lines.push(this.loopDoneLine(row));
    }
  }

  /**
   * Rows a signal may have changed: those named by its events, or every row for
   * other signals and when a replay rebuild took over (the step table changed).
   */
  private candidateRows(signal: MonitorSignal | null, state: RunState): readonly StepRow[] {
    const replaying = state.replay !== null;
    const tableChanged = state.steps !== this.lastTable || (this.lastReplaying && !replaying);
    this.lastTable = state.steps;
    this.lastReplaying = replaying;
    if (signal?.type !== "stream/events" || tableChanged) return state.steps.rows();
    const rows: StepRow[] = [];
    const ids = new Set<string>();
    for (const { event } of signal.events) {
      const stepId = "stepId" in event ? event.stepId : null;
      if (typeof stepId !== "string" || ids.has(stepId)) continue;
      ids.add(stepId);
      const row = state.steps.get(stepId);
      if (row !== undefined) rows.push(row);
    }
    // Report in table order, as a full scan would.
    return rows.sort((a, b) => a.order - b.order);
  }

  /** Prints what changed for one row. */
  private reportRow(row: StepRow, seen: Reported | undefined, at: number, lines: string[]): void {
    const { style } = this;
    const label = stepLabel(row, style);
    const prev: Reported = seen ?? {
      iterations: 0,
      attempt: 0,
      rank: 0,
      failedAttempt: 0,
      loop: false,
      lastProgressAt: at,
    };
    const rank = STATUS_RANK[row.status];
    const loopAdvance = row.iterations >= 2 && row.iterations > prev.iterations;

    if (loopAdvance) {
      const where = `iteration ${String(row.iterations)}`;
      if (!prev.loop || at - prev.lastProgressAt >= LOOP_PROGRESS_INTERVAL_MS) {
        const done = rank === 3 ? row.iterations : row.iterations - 1;
        const progress = prev.loop ? ` (${String(done)} done, ${formatDuration(row.durationMs)} so far)` : "";
        lines.push(`${style.paint("magenta", style.glyph("loop"))} ${label} loop: ${where} ${row.status}${progress}`);
        prev.loop = true;
        prev.lastProgressAt = at;
      }
      this.openLoops.add(row.stepId);
      if (row.attempt > 1) {
        if (row.lastError !== null) lines.push(this.failedLine(label, row.attempt - 1, row.lastError, where));
        lines.push(this.retryLine(label, row.attempt, where));
      }
      if (row.status === "failed") lines.push(this.failedLine(label, row.attempt, row.lastError, where));
      prev.iterations = row.iterations;
      prev.attempt = row.attempt;
      prev.rank = rank;
      prev.failedAttempt = row.status === "failed" ? row.attempt : row.attempt - 1;
    } else {
      const where = prev.loop ? `iteration ${String(row.iterations)}` : null;
      const retried = row.attempt > Math.max(prev.attempt, 1);
      if (retried) {
        // An attempt that failed and was retried between two looks (one batch) still gets its failure line.
        if (prev.failedAttempt < row.attempt - 1 && row.lastError !== null) {
          lines.push(this.failedLine(label, row.attempt - 1, row.lastError, where));
        }
        lines.push(this.retryLine(label, row.attempt, where));
      }
      const advanced = row.attempt > prev.attempt || rank > prev.rank;
      if (advanced) {
        switch (row.status) {
          case "running":
            if (!retried && prev.rank === 0) {
              lines.push(`${style.paint("cyan", style.glyph("started"))} ${label} started`);
            }
            break;
          case "completed":
            // A loop's iterations are summarised; its end gets one line (loopDoneLine).
            if (!prev.loop) lines.push(this.completedLine(row, label));
            break;
          case "failed":
            lines.push(this.failedLine(label, row.attempt, row.lastError, where));
            prev.failedAttempt = row.attempt;
            break;
          case "skipped":
            lines.push(`${style.paint("dim", style.glyph("skipped"))} ${label} skipped`);
            break;
          case "waiting_tools":
            lines.push(`${style.paint("yellow", style.glyph("paused"))} ${label} waiting for tool results`);
            break;
          case "paused":
            lines.push(`${style.paint("yellow", style.glyph("paused"))} ${label} paused`);
            break;
          case "pending":
            break;
        }
      }
      if (row.attempt > prev.attempt) {
        prev.attempt = row.attempt;
        prev.rank = rank;
      } else {
        prev.rank = Math.max(prev.rank, rank);
      }
      prev.iterations = Math.max(prev.iterations, row.iterations);
    }
    if (seen === undefined) this.reported.set(row.stepId, prev);
  }

  private retryLine(label: string, attempt: number, where: string | null): string {
    const suffix = where === null ? "" : ` (${where})`;
    return `${this.style.paint("yellow", this.style.glyph("retry"))} ${label} retry: attempt ${String(attempt)}${suffix}`;
  }

  private completedLine(row: StepRow, label: string): string {
    const { style } = this;
    const parts = [`in ${formatDuration(row.durationMs)}`];
    const tokens = rowTokens(row);
    if (tokens !== null) parts.push(`${formatCount(tokens)} tokens`);
    if (row.costUsd !== null) parts.push(formatUsd(row.costUsd, { ascii: style.ascii }));
    if (row.modelUsed !== null) parts.push(sanitizeLine(row.modelUsed));
    return `${style.paint("green", style.glyph("completed"))} ${label} completed ${parts.join(", ")}`;
  }

  private failedLine(label: string, attempt: number, error: string | null, where: string | null): string {
    const { style } = this;
    const place = where === null ? `attempt ${String(attempt)}` : `${where}, attempt ${String(attempt)}`;
    const message = error === null ? "" : `: ${truncate(sanitizeLine(error), MAX_ERROR_CHARS, style.ellipsis)}`;
    return `${style.paint("red", style.glyph("failed"))} ${label} failed (${place})${message}`;
  }

  private loopDoneLine(row: StepRow): string {
    const { style } = this;
    const label = stepLabel(row, style);
    const parts = [`${String(row.iterations)} iterations`, `${formatDuration(row.durationMs)} in total`];
    const tokens = rowTokens(row);
    if (tokens !== null) parts.push(`${formatCount(tokens)} tokens`);
    if (row.costUsd !== null) parts.push(formatUsd(row.costUsd, { ascii: style.ascii }));
    if (row.status === "failed") {
      return `${style.paint("red", style.glyph("failed"))} ${label} loop failed after ${parts.join(", ")}`;
    }
    return `${style.paint("green", style.glyph("completed"))} ${label} loop ${row.status}: ${parts.join(", ")}`;
  }

  private runEndLine(state: RunState): string {
    const { style } = this;
    const duration =
      state.durationMs ??
      (state.startedAt !== null && state.completedAt !== null ? state.completedAt - state.startedAt : null);
    const parts: string[] = [];
    if (duration !== null) parts.push(`in ${formatDuration(duration)}`);
    const total = state.stepCount ?? state.steps.size;
    parts.push(`${String(state.stepsDone)}/${String(total)} steps done`);
    switch (state.status) {
      case "completed":
        return `${style.paint("green", style.glyph("run"))} run completed ${parts.join(", ")}`;
      case "cancelled":
        return `${style.paint("yellow", style.glyph("run"))} run cancelled ${parts.join(", ")}`;
      default: {
        const error =
          state.lastError === null
            ? ""
            : `: ${truncate(sanitizeLine(state.lastError.message), MAX_ERROR_CHARS, style.ellipsis)}`;
        return `${style.paint("red", style.glyph("run"))} run failed ${parts.join(", ")}${error}`;
      }
    }
  }
}
