// The timeline's model: one line per step (a loop's iterations on their own lines when it
// is expanded), each execution's attempts as segments on one time axis from the run's
// start to its end (or now while it runs), and the axis scaled to a number of cells.
// Pure functions of the run state; Timeline.tsx draws them.
import type { StepTrace } from "../api/schemas.js";
import { executionsOf } from "../state/rows.js";
import { stepElapsedMs } from "../state/selectors.js";
import { ACTIVE_STEP_STATUSES, TERMINAL_RUN_STATUSES, attemptsKey, type IterationRow, type RunState, type StepRow, type StepStatus, type StepTable } from "../state/types.js";
import type { StepTarget, TimelineLanes } from "./viewReducer.js";

/** What a piece of bar shows: the latest attempt finished, an attempt running, a failed attempt, anything else. */
export type BarKind = "done" | "running" | "failed" | "other";

/** A cell takes the strongest kind among the segments over it: a short failure stays visible. */
const STRENGTH: Readonly<Record<BarKind, number>> = { other: 0, done: 1, running: 2, failed: 3 };

export interface Segment {
  readonly start: number;
  /** Epoch ms; null while running (the bar grows to now). */
  readonly end: number | null;
  readonly kind: BarKind;
}

export interface Lane {
  /** The step id for a step's line; step id + loop index for an iteration's line. */
  readonly key: string;
  readonly row: StepRow;
  /** The iteration shown on this line; undefined on a step's own line (for a loop: every iteration). */
  readonly loopIndex?: number | null;
}

function iterationKey(stepId: string, loopIndex: number | null): string {
  return `${stepId}\u0000${String(loopIndex)}`;
}

interface LanesMemo {
  readonly version: number;
  readonly expanded: ReadonlySet<string>;
  readonly lanes: readonly Lane[];
}

const lanesCache = new WeakMap<StepTable, LanesMemo>();

/** Every line of the timeline in flow order, memoised on the state's version and the expanded loops. */
export function laneList(state: RunState, expanded: ReadonlySet<string>): readonly Lane[] {
  const memo = lanesCache.get(state.steps);
  if (memo !== undefined && memo.version === state.version && memo.expanded === expanded) return memo.lanes;
  const lanes: Lane[] = [];
  for (const row of state.steps.rows()) {
    lanes.push({ key: row.stepId, row });
    if (!row.isLoop || !expanded.has(row.stepId)) continue;
    for (const it of row.iterationRows) lanes.push({ key: iterationKey(row.stepId, it.loopIndex), row, loopIndex: it.loopIndex });
  }
  lanesCache.set(state.steps, { version: state.version, expanded, lanes });
  return lanes;
}

const lanesViews = new WeakMap<readonly Lane[], TimelineLanes>();

/** The lines as the view reducer sees them (one per line list: its key index is built once, when first needed). */
export function timelineLanes(lanes: readonly Lane[]): TimelineLanes {
  const cached = lanesViews.get(lanes);
  if (cached !== undefined) return cached;
  let index: Map<string, number> | null = null;
  const view: TimelineLanes = {
    count: lanes.length,
    idAt: (i) => lanes[i]?.key,
    indexOf(key) {
      index ??= new Map(lanes.map((lane, i) => [lane.key, i]));
      return index.get(key) ?? -1;
    },
    targetAt(i): StepTarget | undefined {
      const lane = lanes[i];
      if (lane === undefined) return undefined;
      return lane.loopIndex === undefined ? { stepId: lane.row.stepId } : { stepId: lane.row.stepId, loopIndex: lane.loopIndex };
    },
    loopAt: (i) => {
      const row = lanes[i]?.row;
      return row?.isLoop === true ? row.stepId : undefined;
    },
  };
  lanesViews.set(lanes, view);
  return view;
}

function kindOf(status: string): BarKind {
  const s = status.toLowerCase();
  if (s === "failed") return "failed";
  if (s === "completed") return "done";
  return ACTIVE_STEP_STATUSES.has(s as StepStatus) ? "running" : "other";
}

function time(iso: string | null | undefined): number | null {
  if (iso === null || iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

function attemptSegment(attempt: StepTrace): Segment | null {
  const start = time(attempt.startedAt);
  if (start === null) return null;
  const kind = kindOf(attempt.status);
  const end = time(attempt.completedAt) ?? (attempt.durationMs !== null && attempt.durationMs !== undefined ? start + attempt.durationMs : null);
  return { start, end: end ?? (kind === "running" ? null : start), kind };
}

/**
 * One execution's attempts: every attempt when they were loaded (attempt=all), and the
 * execution's current attempt from the stream when it is newer than those (or when
 * nothing was loaded: earlier attempts of a live retry are not known yet).
 */
function executionSegments(state: RunState, stepId: string, it: IterationRow, out: Segment[]): void {
  let listed = 0;
  for (const attempt of state.attempts.get(attemptsKey(stepId, it.loopIndex)) ?? []) {
    const segment = attemptSegment(attempt);
    if (segment !== null) out.push(segment);
    listed = Math.max(listed, attempt.attempt);
  }
  if (it.attempt <= listed || it.startedAt === null) return;
  const kind = kindOf(it.status);
  const end = it.completedAt ?? (kind !== "running" && it.durationMs !== null ? it.startedAt + it.durationMs : null);
  out.push({ start: it.startedAt, end: end ?? (kind === "running" ? null : it.startedAt), kind });
}

/** The segments drawn on a line. */
export function laneSegments(state: RunState, lane: Lane): Segment[] {
  const out: Segment[] = [];
  const { row } = lane;
  if (lane.loopIndex !== undefined) {
    const it = row.iterationRows.find((candidate) => candidate.loopIndex === lane.loopIndex);
    if (it !== undefined) executionSegments(state, row.stepId, it, out);
    return out;
  }
  for (const it of executionsOf(row)) executionSegments(state, row.stepId, it, out);
  return out;
}

/** The duration shown at the end of a line (ticking while in progress); null when unknown. */
export function laneDurationMs(lane: Lane, now: number): number | null {
  if (lane.loopIndex === undefined) return stepElapsedMs(lane.row, now);
  const it = lane.row.iterationRows.find((candidate) => candidate.loopIndex === lane.loopIndex);
  if (it === undefined) return null;
  if (ACTIVE_STEP_STATUSES.has(it.status) && it.startedAt !== null) return Math.max(0, now - it.startedAt);
  return it.durationMs;
}

interface Extent {
  readonly version: number;
  readonly start: number | null;
  readonly end: number | null;
}

const extentCache = new WeakMap<StepTable, Extent>();

/** Earliest start and latest end of every segment of the run (memoised on the version). */
function extentOf(state: RunState): Extent {
  const cached = extentCache.get(state.steps);
  if (cached !== undefined && cached.version === state.version) return cached;
  let start: number | null = null;
  let end: number | null = null;
  const add = (t: number | null): void => {
    if (t === null) return;
    start = start === null ? t : Math.min(start, t);
    end = end === null ? t : Math.max(end, t);
  };
  const segments: Segment[] = [];
  for (const row of state.steps.rows()) for (const it of executionsOf(row)) executionSegments(state, row.stepId, it, segments);
  for (const segment of segments) {
    add(segment.start);
    add(segment.end);
  }
  const extent = { version: state.version, start, end };
  extentCache.set(state.steps, extent);
  return extent;
}

/** The time axis: from the run's start to its end, or to now while the run is under way. */
export interface TimeSpan {
  readonly start: number;
  readonly end: number;
}

export function timeSpan(state: RunState, now: number): TimeSpan | null {
  const extent = extentOf(state);
  const start = state.startedAt ?? extent.start;
  if (start === null) return null;
  const over = TERMINAL_RUN_STATUSES.has(state.status) || state.final;
  let end = over ? (state.completedAt ?? extent.end ?? start) : now;
  if (extent.end !== null) end = Math.max(end, extent.end);
  // A span of at least a second keeps the scale sane for a run that has just started.
  return { start: Math.min(start, extent.start ?? start), end: Math.max(end, start + 1000) };
}

/** Which kind each of `width` cells shows (null = empty). A segment covers at least one cell. */
export function barCells(segments: readonly Segment[], span: TimeSpan, width: number, now: number): (BarKind | null)[] {
  const cells = new Array<BarKind | null>(Math.max(0, width)).fill(null);
  if (width <= 0) return cells;
  const msPerCell = (span.end - span.start) / width;
  for (const segment of segments) {
    const end = segment.end ?? Math.max(segment.start, now);
    const from = Math.min(width - 1, Math.max(0, Math.floor((segment.start - span.start) / msPerCell)));
    const to = Math.min(width - 1, Math.max(from, Math.ceil((end - span.start) / msPerCell) - 1));
    for (let c = from; c <= to; c += 1) {
      const current = cells[c] ?? null;
      if (current === null || STRENGTH[segment.kind] >= STRENGTH[current]) cells[c] = segment.kind;
    }
  }
  return cells;
}

const TICK_STEPS_MS = [
  100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
  7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/** A tick's label: `500ms`, `1.5s`, `30s`, `2m`, `4m30s`, `1h`, `1h30m`. */
export function formatTick(ms: number): string {
  if (ms < 1000) return `${String(ms)}ms`;
  if (ms < 60_000) return ms % 1000 === 0 ? `${String(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) {
    const s = seconds % 60;
    return `${String(Math.floor(seconds / 60))}m${s === 0 ? "" : `${String(s).padStart(2, "0")}s`}`;
  }
  const minutes = Math.floor(seconds / 60) % 60;
  return `${String(Math.floor(seconds / 3600))}h${minutes === 0 ? "" : `${String(minutes).padStart(2, "0")}m`}`;
}

/** The axis over `width` cells: `|0s      |10s     |20s`, ticks at least ~10 cells apart. */
export function axisText(span: TimeSpan, width: number): string {
  if (width <= 0) return "";
  const msPerCell = (span.end - span.start) / width;
  const step = TICK_STEPS_MS.find((candidate) => candidate / msPerCell >= 10) ?? TICK_STEPS_MS[TICK_STEPS_MS.length - 1] ?? 1000;
  let text = "";
  for (let t = 0; ; t += step) {
    const column = Math.round(t / msPerCell);
    if (column >= width) break;
    if (column < text.length) continue;
    text = text.padEnd(column) + `|${formatTick(t)}`;
  }
  return text.slice(0, width).padEnd(width);
}
