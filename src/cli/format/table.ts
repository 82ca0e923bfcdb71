// The summary table printed at the end of plain output (and after the TUI exits):
// one line per step, then the run's totals. Every server string is sanitized.
import { sanitizeLine, TextPieces } from "../../api/sanitize.js";
import { formatUsd } from "../../state/money.js";
import type { Summary } from "../../state/summary.js";
import type { RunState, StepRow } from "../../state/types.js";
import { columnWidths, displayWidth, formatCount, formatDuration, truncate, type Style } from "./style.js";

const MAX_STEP_CHARS = 40;
const MAX_MODEL_CHARS = 24;

/** The step's name, or its id when it has none; sanitized. */
export function stepName(row: StepRow): string {
  return sanitizeLine(row.name === null || row.name === "" ? row.stepId : row.name);
}

/** The server's total when it gave one, else prompt + completion when both are known. */
export function rowTokens(row: StepRow): number | null {
  const tokens = row.tokens;
  if (tokens === null) return null;
  if (tokens.total !== null) return tokens.total;
  return tokens.prompt !== null && tokens.completion !== null ? tokens.prompt + tokens.completion : null;
}

interface Column {
  readonly title: string;
  readonly right: boolean;
  readonly cell: (row: StepRow, index: number) => string;
}

/** Columns left out, in this order, when the table is wider than the terminal. */
const DROP_ORDER: readonly string[] = ["model", "tokens", "iter", "att", "duration"];
/** The step column shrinks to this before any column is left out… */
const FIRST_STEP_FLOOR = 24;
/** …and to this after… */
const MIN_STEP_CHARS = 16;
/** …and to this when nothing more can be left out (a very narrow terminal). */
const LAST_STEP_CHARS = 6;
const GAP = "  ";

function columnsFor(style: Style, stepChars: number): Column[] {
  const dash = "-";
  return [
    { title: "#", right: true, cell: (_row, i) => String(i + 1) },
    // The name alone (the id when there is none): the lines above already paired them.
    { title: "step", right: false, cell: (row) => truncate(stepName(row), stepChars, style.ellipsis) },
    { title: "att", right: true, cell: (row) => String(row.attempt) },
    { title: "iter", right: true, cell: (row) => (row.isLoop ? String(row.iterations) : dash) },
    { title: "status", right: false, cell: (row) => row.status },
    { title: "duration", right: true, cell: (row) => formatDuration(row.durationMs) },
    {
      title: "model",
      right: false,
      cell: (row) => (row.modelUsed === null ? dash : truncate(sanitizeLine(row.modelUsed), MAX_MODEL_CHARS, style.ellipsis)),
    },
    {
      title: "tokens",
      right: true,
      cell: (row) => {
        const tokens = rowTokens(row);
        return tokens === null ? dash : formatCount(tokens);
      },
    },
    { title: "cost", right: true, cell: (row) => formatUsd(row.costUsd, { ascii: style.ascii }) },
  ];
}

interface Layout {
  readonly columns: readonly Column[];
  readonly cells: readonly (readonly string[])[];
  readonly widths: readonly number[];
}

function layout(rows: readonly StepRow[], columns: readonly Column[]): Layout {
  const cells = rows.map((row, i) => columns.map((column) => column.cell(row, i)));
  const widths = columnWidths(columns.map((column) => column.title), cells);
  return { columns, cells, widths };
}

function tableWidth(widths: readonly number[]): number {
  return widths.reduce((sum, w) => sum + w, 0) + GAP.length * Math.max(0, widths.length - 1);
}

/**
 * Fits the table in `maxWidth` columns: the step column shrinks (to FIRST_STEP_FLOOR),
 * then columns are left out in DROP_ORDER, the step column shrinking further (to
 * MIN_STEP_CHARS) each time, until the table fits or nothing more can go.
 */
function fitLayout(rows: readonly StepRow[], style: Style, maxWidth: number): Layout {
  let fitted: Layout | null = null;
  for (let dropped = 0; dropped <= DROP_ORDER.length; dropped++) {
    const left = new Set(DROP_ORDER.slice(0, dropped));
    const columns = (stepChars: number): Column[] =>
      columnsFor(style, stepChars).filter((column) => !left.has(column.title));
    fitted = layout(rows, columns(MAX_STEP_CHARS));
    const overflow = tableWidth(fitted.widths) - maxWidth;
    if (overflow <= 0) return fitted;
    const floor = dropped === 0 ? FIRST_STEP_FLOOR : MIN_STEP_CHARS;
    const last = dropped === DROP_ORDER.length;
    fitted = layout(rows, columns(Math.max(last ? LAST_STEP_CHARS : floor, (fitted.widths[1] ?? MAX_STEP_CHARS) - overflow)));
    if (tableWidth(fitted.widths) <= maxWidth) return fitted;
  }
  // Still too wide: renderSummaryTable cuts the lines.
  return fitted ?? layout(rows, columnsFor(style, MAX_STEP_CHARS));
}

/**
 * `total: a, b, c` broken after a comma wherever a line would pass maxWidth; a part
 * wider than a whole line is broken between words (and a word wider than that is cut).
 */
function wrapTotals(label: string, parts: readonly string[], maxWidth: number): string {
  const lines: string[] = [];
  let line = label;
  const add = (piece: string): void => {
    if (line !== "" && displayWidth(line) + 1 + displayWidth(piece) > maxWidth) {
      lines.push(line);
      line = ` ${piece}`;
    } else {
      line += line === "" ? piece : ` ${piece}`;
    }
  };
  for (const [i, part] of parts.entries()) {
    const piece = i < parts.length - 1 ? `${part},` : part;
    if (displayWidth(piece) + 1 <= maxWidth) add(piece);
    else for (const word of piece.split(" ")) add(word);
  }
  lines.push(line);
  return `${lines.map((text) => cut(text, maxWidth)).join("\n")}\n`;
}

/** A line cut to maxWidth cells (the last resort on a terminal too narrow for the table). */
function cut(line: string, maxWidth: number): string {
  return displayWidth(line) <= maxWidth ? line : truncate(line, maxWidth, "");
}

/** The table as one string (writeSummaryTable's pieces joined). */
export function renderSummaryTable(state: RunState, summary: Summary, style: Style, maxWidth = Infinity): string {
  const pieces: string[] = [];
  writeSummaryTable(state, summary, style, maxWidth, (text) => pieces.push(text));
  return pieces.join("");
}

/**
 * One line per step, then the totals, handed to `write` in pieces of about a megabyte.
 * `maxWidth` (a terminal's columns) narrows the table to fit; without it (a pipe, a
 * file) nothing is cut but long names.
 */
export function writeSummaryTable(
  state: RunState,
  summary: Summary,
  style: Style,
  maxWidth: number,
  write: (text: string) => void,
): void {
  const rows = state.steps.rows();
  const { columns, cells, widths } = fitLayout(rows, style, maxWidth);
  const render = (values: readonly string[]): string =>
    values
      .map((value, c) => {
        const pad = " ".repeat(Math.max(0, (widths[c] ?? 0) - displayWidth(value)));
        return columns[c]?.right === true ? pad + value : value + pad;
      })
      .join(GAP)
      .trimEnd();
  const fits = tableWidth(widths) <= maxWidth;
  const line = (values: readonly string[]): string => (fits ? render(values) : cut(render(values), maxWidth));

  // A table of 250,000 steps is ~50 MB of text: handed on a line at a time, in pieces.
  const pieces = new TextPieces(write);
  pieces.add(`${style.paint("bold", line(columns.map((column) => column.title)))}\n`);
  for (const values of cells) pieces.add(`${line(values)}\n`);
  if (rows.length === 0) pieces.add("(no steps)\n");

  const tokens = summary.tokens;
  const totals = [
    `status ${summary.status}`,
    `${String(state.stepsDone)}/${String(summary.stepCount ?? rows.length)} steps done`,
    `duration ${formatDuration(summary.durationMs)}`,
    `tokens ${formatCount(tokens.total)} (prompt ${formatCount(tokens.prompt)}, completion ${formatCount(tokens.completion)})`,
    `cost ${formatUsd(summary.costUsd, { ascii: style.ascii })}`,
    `cost with retries ${formatUsd(summary.costWithRetriesUsd, { ascii: style.ascii })}`,
    `${String(summary.retries)} ${summary.retries === 1 ? "retry" : "retries"}`,
    `${String(summary.failedSteps)} failed`,
  ];
  if (summary.malformedFrames > 0) totals.push(`${String(summary.malformedFrames)} malformed frames skipped`);
  // The label is painted after wrapping so that escape codes do not count as width.
  pieces.end(wrapTotals("total:", totals, maxWidth).replace(/^total:/, style.paint("bold", "total:")));
}
