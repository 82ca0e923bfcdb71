// The step table: one line per step, only the visible window of rows is rendered, each row a
// memoised component built as fixed-width text (cheap to lay out at thousands of steps).
import { memo } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import { formatUsd } from "../state/money.js";
import { stepElapsedMs } from "../state/selectors.js";
import { ACTIVE_STEP_STATUSES, type StepRow } from "../state/types.js";
import type { Column, TableLayout } from "./columns.js";
import { formatCount, formatDuration, STEP_COLOR, stepStatusWord } from "./format.js";
import { fit } from "./text.js";
import { Line, TextLine, type Segment } from "./Line.js";
import type { Theme } from "./theme.js";

function tokensCell(row: StepRow): string {
  const tokens = row.tokens;
  if (tokens === null) return "";
  return `${formatCount(tokens.prompt)}/${formatCount(tokens.completion)}`;
}

function cellText(column: Column, row: StepRow, now: number, theme: Theme): string {
  switch (column.key) {
    case "attempt":
      return String(row.attempt);
    case "loop":
      return row.isLoop ? `${theme.g.times}${String(row.iterations)}` : "";
    case "status":
      return `${theme.g.step[row.status]} ${stepStatusWord(row.status, column.width < 11)}`;
    case "duration":
      return formatDuration(stepElapsedMs(row, now));
    case "model":
      return row.modelUsed === null ? "" : sanitizeLine(row.modelUsed);
    case "tokens":
      return tokensCell(row);
    case "cost":
      return formatUsd(row.costUsd, { ascii: theme.ascii });
  }
}

function nameOf(row: StepRow): string {
  return sanitizeLine(row.name !== null && row.name !== "" ? row.name : row.stepId);
}

interface StepLineProps {
  readonly row: StepRow;
  readonly selected: boolean;
  readonly layout: TableLayout;
  /** Only rows in progress get the clock (others get 0 and do not re-render on ticks). */
  readonly now: number;
  readonly theme: Theme;
}

const StepLine = memo(function StepLine({ row, selected, layout, now, theme }: StepLineProps) {
  const marker = selected ? theme.g.selected : " ";
  const head = `${marker}${fit(String(row.order + 1), layout.numberWidth - 1, { alignRight: true })} ${fit(
    nameOf(row),
    layout.nameWidth,
    { ellipsis: theme.g.ellipsis },
  )}`;
  // Split around the status and attempt cells, the only coloured ones.
  const parts: Segment[] = [{ text: head }];
  for (const column of layout.columns) {
    const text = ` ${fit(cellText(column, row, now, theme), column.width, {
      alignRight: column.alignRight,
      ellipsis: theme.g.ellipsis,
    })}`;
    if (column.key === "status") parts.push({ text, color: STEP_COLOR[row.status] });
    else if (column.key === "attempt" && row.attempt > 1) parts.push({ text, color: "yellow" });
    else {
      const last = parts[parts.length - 1];
      if (last !== undefined && last.color === undefined) parts[parts.length - 1] = { text: last.text + text };
      else parts.push({ text });
    }
  }
  return <Line segments={parts} inverse={selected} theme={theme} />;
});

export const TableHeading = memo(function TableHeading({ layout, theme }: { layout: TableLayout; theme: Theme }) {
  let line = `${fit("#", layout.numberWidth, { alignRight: true })} ${fit("step", layout.nameWidth)}`;
  for (const column of layout.columns) line += ` ${fit(column.title, column.width, { alignRight: column.alignRight })}`;
  return <TextLine text={line} bold theme={theme} />;
});

export interface StepTableProps {
  readonly rows: readonly StepRow[];
  readonly start: number;
  readonly end: number;
  readonly selected: number;
  readonly layout: TableLayout;
  readonly now: number;
  readonly theme: Theme;
  readonly emptyText: string;
}

/** Memoised: on a clock tick with no row in progress on screen, `now` stays 0 and nothing re-renders. */
export const StepTable = memo(function StepTable({ rows, start, end, selected, layout, now, theme, emptyText }: StepTableProps) {
  if (rows.length === 0) return <TextLine text={` ${emptyText}`} theme={theme} />;
  const lines = [];
  for (let i = start; i < end; i += 1) {
    const row = rows[i];
    if (row === undefined) break;
    lines.push(
      <StepLine
        key={i - start}
        row={row}
        selected={i === selected}
        layout={layout}
        now={ACTIVE_STEP_STATUSES.has(row.status) ? now : 0}
        theme={theme}
      />,
    );
  }
  return <>{lines}</>;
});

/** The clock for rows [start, end): `now` when one of them is in progress, else 0. */
export function tableClock(rows: readonly StepRow[], start: number, end: number, now: number): number {
  for (let i = start; i < end; i += 1) {
    const row = rows[i];
    if (row !== undefined && ACTIVE_STEP_STATUSES.has(row.status)) return now;
  }
  return 0;
}
