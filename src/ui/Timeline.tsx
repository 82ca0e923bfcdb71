// Timeline view (`t`): a waterfall of step attempts on one time axis from the run's start
// to its end (now while it runs). Each line is a step (a loop on one line until expanded
// with x/Space, then one line per iteration); retries are separate segments, failed ones
// drawn apart; running bars grow with the clock. Only the visible lines are drawn.
import { memo } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import { ACTIVE_STEP_STATUSES, type RunState } from "../state/types.js";
import { formatDuration, STEP_COLOR } from "./format.js";
import { Line, TextLine, type Segment } from "./Line.js";
import { fit } from "./text.js";
import type { Theme } from "./theme.js";
import { axisText, barCells, laneDurationMs, laneSegments, type BarKind, type Lane, type TimeSpan } from "./timeline.js";

const DURATION_WIDTH = 7;

export interface TimelineLayout {
  readonly labelWidth: number;
  readonly barWidth: number;
}

/** Label, one space, the bar, one space, the duration. */
export function timelineLayout(width: number): TimelineLayout {
  const labelWidth = Math.max(10, Math.min(32, Math.floor(width * 0.28)));
  return { labelWidth, barWidth: Math.max(4, width - labelWidth - DURATION_WIDTH - 2) };
}

const BAR_COLOR: Readonly<Record<BarKind, string>> = { done: "green", running: "cyan", failed: "red", other: "gray" };

function barSegments(cells: readonly (BarKind | null)[], theme: Theme): Segment[] {
  const out: Segment[] = [];
  let kind: BarKind | null | undefined;
  let text = "";
  const flush = (): void => {
    if (text !== "") out.push(kind === null || kind === undefined ? { text } : { text, color: BAR_COLOR[kind] });
    text = "";
  };
  for (const cell of cells) {
    if (cell !== kind) {
      flush();
      kind = cell;
    }
    text += cell === null ? " " : theme.g.bar[cell];
  }
  flush();
  return out;
}

function laneLabel(lane: Lane, expanded: boolean, theme: Theme): string {
  const { row } = lane;
  if (lane.loopIndex !== undefined) return `    [${String(lane.loopIndex ?? "-")}]`;
  const name = sanitizeLine(row.name !== null && row.name !== "" ? row.name : row.stepId);
  const loop = row.isLoop ? `${expanded ? theme.g.expanded : theme.g.collapsed} ` : "";
  const count = row.isLoop ? ` ${theme.g.times}${String(row.iterations)}` : "";
  return `${loop}${String(row.order + 1)} ${name}${count}`;
}

interface TimelineLineProps {
  readonly run: RunState;
  readonly lane: Lane;
  readonly selected: boolean;
  readonly expanded: boolean;
  readonly layout: TimelineLayout;
  readonly span: TimeSpan;
  readonly now: number;
  readonly theme: Theme;
}

const TimelineLine = memo(function TimelineLine({ run, lane, selected, expanded, layout, span, now, theme }: TimelineLineProps) {
  const marker = selected ? theme.g.selected : " ";
  const label = `${marker}${fit(laneLabel(lane, expanded, theme), layout.labelWidth - 1, { ellipsis: theme.g.ellipsis })} `;
  const segments = laneSegments(run, lane);
  const status = lane.loopIndex === undefined ? lane.row.status : lane.row.iterationRows.find((it) => it.loopIndex === lane.loopIndex)?.status;
  // A step with no time on the axis (skipped, not started) says so where its bar would be.
  const bar =
    segments.length === 0
      ? [{ text: fit(status === undefined ? "" : `(${status.replace("_", " ")})`, layout.barWidth), color: "gray" }]
      : barSegments(barCells(segments, span, layout.barWidth, now), theme);
  const duration = ` ${fit(formatDuration(laneDurationMs(lane, now)), DURATION_WIDTH, { alignRight: true })}`;
  return (
    <Line
      segments={[{ text: label }, ...bar, { text: duration, color: status === undefined ? undefined : STEP_COLOR[status] }]}
      inverse={selected}
      theme={theme}
    />
  );
});

export interface TimelineProps {
  readonly run: RunState;
  readonly lanes: readonly Lane[];
  readonly start: number;
  readonly end: number;
  readonly selected: number;
  readonly expanded: ReadonlySet<string>;
  readonly span: TimeSpan | null;
  readonly width: number;
  readonly now: number;
  /** The run is over: lines not in progress do not depend on the clock (and are not redrawn for it). */
  readonly over: boolean;
  readonly theme: Theme;
}

export function Timeline({ run, lanes, start, end, selected, expanded, span, width, now, over, theme }: TimelineProps) {
  const layout = timelineLayout(width);
  if (span === null || lanes.length === 0) {
    return <TextLine text={` ${lanes.length === 0 ? "waiting for the first step" : "no step has started yet"}${theme.g.ellipsis}`} theme={theme} />;
  }
  const axis = `${fit(" time", layout.labelWidth)} ${axisText(span, layout.barWidth)} ${fit(formatDuration(span.end - span.start), DURATION_WIDTH, { alignRight: true })}`;
  const lines = [<TextLine key="axis" text={axis} bold theme={theme} />];
  for (let i = start; i < end; i += 1) {
    const lane = lanes[i];
    if (lane === undefined) break;
    lines.push(
      <TimelineLine
        key={i - start}
        run={run}
        lane={lane}
        selected={i === selected}
        expanded={expanded.has(lane.row.stepId)}
        layout={layout}
        span={span}
        now={over && !ACTIVE_STEP_STATUSES.has(lane.row.status) ? 0 : now}
        theme={theme}
      />,
    );
  }
  return <>{lines}</>;
}
