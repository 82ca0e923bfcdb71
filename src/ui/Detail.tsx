// Step detail: every attempt of the step (or of one loop iteration), and the selected
// attempt's error / input / output snapshot as pretty-printed JSON that scrolls down and
// sideways: a line longer than the screen is cut at its edge with a marker, never wrapped.
import { memo, type ReactNode } from "react";
import type { StepTrace } from "../api/schemas.js";
import { sanitizeLine } from "../api/sanitize.js";
import { formatUsd, sumUsd } from "../state/money.js";
import type { StepRow, StepStatus } from "../state/types.js";
import { formatBytes, formatCount, formatDuration, formatTimeOfDay, STEP_COLOR, stepStatusWord } from "./format.js";
import { errorLine, type Snapshot } from "./snapshot.js";
import { Line, TextLine } from "./Line.js";
import { fit, sliceColumns, textWidth } from "./text.js";
import type { Theme } from "./theme.js";
import type { AttemptsState } from "./useAttempts.js";
import { CONTEXT_KINDS, type DetailState } from "./viewReducer.js";

const MAX_ATTEMPT_LINES = 5;

/** How the detail body's `height` lines are shared between the attempts and the snapshot. */
export function detailLayout(height: number, attemptCount: number): { attemptLines: number; snapshotLines: number } {
  const attemptLines = Math.max(1, Math.min(MAX_ATTEMPT_LINES, attemptCount));
  // Title, costs, attempts heading, snapshot tab line.
  return { attemptLines, snapshotLines: Math.max(1, height - 4 - attemptLines) };
}

function asStepStatus(status: string): StepStatus | null {
  const s = status.toLowerCase();
  return s in STEP_COLOR ? (s as StepStatus) : null;
}

interface AttemptColumns {
  readonly status: number;
  readonly started: number;
  readonly duration: number;
  readonly model: number;
  readonly tokens: number;
  readonly cost: number;
  readonly error: number;
}

function attemptColumns(width: number): AttemptColumns {
  const wide = width >= 100;
  const status = width >= 80 ? 11 : 7;
  const started = width >= 90 ? 8 : 0;
  const tokens = width >= 70 ? (wide ? 11 : 9) : 0;
  const model = wide ? 16 : 10;
  const fixed = 3 + status + started + 7 + model + tokens + 10;
  const separators = 7 - (started === 0 ? 1 : 0) - (tokens === 0 ? 1 : 0);
  return { status, started, duration: 7, model, tokens, cost: 10, error: Math.max(4, width - fixed - separators - 1) };
}

function attemptLine(attempt: StepTrace, cols: AttemptColumns, theme: Theme): string {
  const status = asStepStatus(attempt.status);
  const statusText =
    status === null ? sanitizeLine(attempt.status) : `${theme.g.step[status]} ${stepStatusWord(status, cols.status < 11)}`;
  const tokens = attempt.tokens
    ? `${formatCount(attempt.tokens.prompt ?? null)}/${formatCount(attempt.tokens.completion ?? null)}`
    : "";
  const cells = [
    fit(String(attempt.attempt), 3, { alignRight: true }),
    fit(statusText, cols.status),
    cols.started > 0 ? fit(formatTimeOfDay(attempt.startedAt), cols.started) : null,
    fit(formatDuration(attempt.durationMs ?? null), cols.duration, { alignRight: true }),
    fit(sanitizeLine(attempt.modelUsed ?? ""), cols.model, { ellipsis: theme.g.ellipsis }),
    cols.tokens > 0 ? fit(tokens, cols.tokens, { alignRight: true }) : null,
    fit(formatUsd(attempt.costUsd ?? null, { ascii: theme.ascii }), cols.cost, { alignRight: true }),
    fit(errorLine(attempt.errorContext), cols.error, { ellipsis: theme.g.ellipsis }),
  ];
  return cells.filter((c): c is string => c !== null).join(" ");
}

function attemptHeading(cols: AttemptColumns): string {
  const cells = [
    fit("att", 3, { alignRight: true }),
    fit("status", cols.status),
    cols.started > 0 ? fit("started", cols.started) : null,
    fit("dur", cols.duration, { alignRight: true }),
    fit("model", cols.model),
    cols.tokens > 0 ? fit("tok p/c", cols.tokens, { alignRight: true }) : null,
    fit("cost", cols.cost, { alignRight: true }),
    fit("error", cols.error),
  ];
  return cells.filter((c): c is string => c !== null).join(" ");
}

export interface DetailProps {
  readonly row: StepRow | undefined;
  readonly detail: DetailState;
  readonly attempts: AttemptsState;
  /** Index of the selected attempt; -1 when none is loaded. */
  readonly attemptIndex: number;
  readonly snapshot: Snapshot | null;
  readonly iterations: readonly (number | null)[];
  /** selectStepCostWithRetries: null until the attempts of every retried iteration are known. */
  readonly costWithRetries: string | null;
  readonly width: number;
  readonly height: number;
  readonly theme: Theme;
}

function titleLine(props: DetailProps): string {
  const { row, detail, iterations, theme } = props;
  const name = row?.name ? `${sanitizeLine(row.name)} (${sanitizeLine(detail.stepId)})` : sanitizeLine(detail.stepId);
  const position = row === undefined ? "" : `step ${String(row.order + 1)} `;
  const status = row === undefined ? "" : `  ${theme.g.step[row.status]} ${row.status}`;
  let loop = "";
  if (iterations.length > 1 || row?.isLoop === true) {
    const at = iterations.indexOf(detail.loopIndex);
    loop = `  iteration ${String(detail.loopIndex ?? "-")} (${String(at + 1)}/${String(iterations.length)}, [ ] to change)`;
  }
  return `${position}${name}${status}${loop}`;
}

function costLine(props: DetailProps): string {
  const { row, attempts, iterations, theme } = props;
  const usd = (value: string | null): string => formatUsd(value, { ascii: theme.ascii, digits: 12 });
  const loaded = attempts.status === "loaded" && attempts.attempts.length > 0;
  const shown = loaded ? sumUsd(attempts.attempts.map((a) => a.costUsd ?? null)) : null;
  const isLoop = iterations.length > 1;
  // The step's cost with every failed attempt needs the attempts of each retried iteration;
  // outside a loop the attempts on screen are all of them.
  const withRetries = props.costWithRetries ?? (isLoop ? null : shown);
  const cost = `cost ${usd(row?.costUsd ?? null)}`;
  const retries = withRetries === null ? "" : `  incl. failed attempts ${usd(withRetries)}`;
  const iteration = isLoop && loaded ? `  this iteration, all attempts ${usd(shown)}` : "";
  return `${cost}${retries}${iteration}`;
}

function tabLine(snapshot: Snapshot | null, detail: DetailState, page: number, width: number, theme: Theme): string {
  const tabs = CONTEXT_KINDS.map((k) => (k === (snapshot?.kind ?? "output") ? `[${k}]` : ` ${k} `)).join(" ");
  if (snapshot === null) return tabs;
  const size = snapshot.present ? `  ${formatBytes(snapshot.sizeBytes)}` : "";
  const truncated = snapshot.truncated ? `  ${theme.ascii ? "!" : "⚠"} TRUNCATED by the server` : "";
  const total = snapshot.lines.length;
  const { scroll, hscroll } = detail;
  const range = total > page ? `  lines ${String(scroll + 1)}-${String(Math.min(total, scroll + page))}/${String(total)}` : "";
  const columns = snapshot.columns > width || hscroll > 0 ? `  col ${String(hscroll + 1)}/${String(snapshot.columns)} (h/l)` : "";
  return `${tabs}${size}${truncated}${range}${columns}`;
}

/**
 * One snapshot line as shown from column `hscroll`: cut at the screen's edge, with a
 * marker in the first cell when there is more on the left and in the last when more
 * follows on the right.
 */
export function snapshotLine(line: string, hscroll: number, width: number, theme: Theme): { left: string; text: string; right: string } {
  const lineWidth = textWidth(line);
  const left = hscroll > 0 && lineWidth > 0 ? theme.g.cutLeft : "";
  const right = lineWidth > hscroll + width ? theme.g.cutRight : "";
  const room = width - left.length - right.length;
  const text = sliceColumns(line, hscroll + left.length, room);
  return { left, text: right === "" ? text : fit(text, room), right };
}

export const Detail = memo(function Detail(props: DetailProps) {
  const { detail, attempts, attemptIndex, snapshot, width, height, theme } = props;
  const { g } = theme;
  const cols = attemptColumns(width);
  const { attemptLines, snapshotLines } = detailLayout(height, attempts.attempts.length);

  const attemptRows: ReactNode[] = [];
  if (attempts.attempts.length === 0) {
    const text =
      attempts.status === "loading"
        ? `  loading attempts${g.ellipsis}`
        : attempts.status === "error"
          ? `  could not load attempts: ${sanitizeLine(attempts.error ?? "")}${attempts.retryable ? " (r retries)" : ""}`
          : "  no attempts recorded";
    attemptRows.push(
      <TextLine key="state" text={fit(text, width, { ellipsis: g.ellipsis })} color={attempts.status === "error" ? "red" : undefined} theme={theme} />,
    );
  } else {
    const count = attempts.attempts.length;
    const start = Math.max(0, Math.min(attemptIndex - attemptLines + 1, count - attemptLines));
    for (let i = Math.max(0, start); i < Math.min(count, start + attemptLines); i += 1) {
      const attempt = attempts.attempts[i];
      if (attempt === undefined) continue;
      const selected = i === attemptIndex;
      const status = asStepStatus(attempt.status);
      attemptRows.push(
        <TextLine
          key={i - start}
          text={fit(`${selected ? g.selected : " "}${attemptLine(attempt, cols, theme)}`, width)}
          color={status === null ? undefined : STEP_COLOR[status]}
          inverse={selected}
          theme={theme}
        />,
      );
    }
  }

  const snapshotRows: ReactNode[] = [];
  if (snapshot !== null) {
    const lines = snapshot.lines.slice(detail.scroll, detail.scroll + snapshotLines);
    lines.forEach((line, i) => {
      const { left, text, right } = snapshotLine(line, detail.hscroll, width, theme);
      snapshotRows.push(
        <Line
          key={i}
          segments={[
            { text: left, color: "cyan" },
            { text: text === "" && left === "" && right === "" ? " " : text },
            { text: right, color: "cyan" },
          ]}
          theme={theme}
        />,
      );
    });
  }
  let status = "";
  if (attempts.status === "error" && attempts.attempts.length > 0) status = `  (reload failed: ${sanitizeLine(attempts.error ?? "")})`;
  else if (!attempts.complete) status = "  (latest attempt only: the earlier ones are not in this trace)";

  return (
    <>
      <TextLine text={fit(titleLine(props), width, { ellipsis: g.ellipsis })} bold theme={theme} />
      <TextLine text={fit(costLine(props) + status, width, { ellipsis: g.ellipsis })} theme={theme} />
      <TextLine text={fit(` ${attemptHeading(cols)}`, width)} bold theme={theme} />
      {attemptRows}
      <TextLine text={fit(tabLine(snapshot, detail, snapshotLines, width, theme), width, { ellipsis: g.ellipsis })} color="cyan" theme={theme} />
      {snapshotRows}
    </>
  );
});
