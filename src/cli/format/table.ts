// The summary table printed at the end of plain output (and after the TUI exits):
// one line per step, then the run's totals. Every server string is sanitized.
import { sanitizeLine } from "../../api/sanitize.js";
import { formatUsd } from "../../state/money.js";
import type { Summary } from "../../state/summary.js";
import type { RunState, StepRow } from "../../state/types.js";
import { displayWidth, formatCount, formatDuration, truncate, type Style } from "./style.js";

const MAX_STEP_CHARS = 40;
const MAX_MODEL_CHARS = 24;

/**
 * `name (id)`, or the id alone when the step has no name (or the name is the id);
 * sanitized. With `max`, the name is cut first so that the id stays readable.
 */
export function stepLabel(row: StepRow, style: Style, max?: number): string {
  const id = sanitizeLine(row.stepId);
  if (row.name === null || row.name === "" || row.name === row.stepId) {
    return max === undefined ? id : truncate(id, max, style.ellipsis);
  }
  const shownId = truncate(id, Math.floor((max ?? MAX_STEP_CHARS) / 2), style.ellipsis);
  const name = sanitizeLine(row.name);
  if (max === undefined) return `${name} (${shownId})`;
  return `${truncate(name, Math.max(1, max - displayWidth(shownId) - 3), style.ellipsis)} (${shownId})`;
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

export function renderSummaryTable(state: RunState, summary: Summary, style: Style): string {
  const dash = "-";
  const columns: readonly Column[] = [
    { title: "#", right: true, cell: (_row, i) => String(i + 1) },
    {
      title: "step",
      right: false,
      cell: (row) => stepLabel(row, style, MAX_STEP_CHARS),
    },
    { title: "attempt", right: true, cell: (row) => String(row.attempt) },
    { title: "iterations", right: true, cell: (row) => (row.isLoop ? String(row.iterations) : dash) },
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

  const rows = state.steps.rows();
  const cells = rows.map((row, i) => columns.map((column) => column.cell(row, i)));
  const widths = columns.map((column, c) =>
    Math.max(displayWidth(column.title), ...cells.map((line) => displayWidth(line[c] ?? ""))),
  );
  const render = (values: readonly string[]): string =>
    values
      .map((value, c) => {
        const pad = " ".repeat(Math.max(0, (widths[c] ?? 0) - displayWidth(value)));
        return columns[c]?.right === true ? pad + value : value + pad;
      })
      .join("  ")
      .trimEnd();

  let text = `${style.paint("bold", render(columns.map((column) => column.title)))}\n`;
  for (const line of cells) text += `${render(line)}\n`;
  if (rows.length === 0) text += "(no steps)\n";

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
  text += `${style.paint("bold", "total:")} ${totals.join(", ")}\n`;
  return text;
}
