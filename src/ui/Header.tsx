// Two header lines: what is watched and how (flow, execution, status, clock, connection),
// then the running totals (steps, retries, failures, exact cost, tokens).
import { memo } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import { formatUsd } from "../state/money.js";
import { selectElapsedMs, selectTotals } from "../state/selectors.js";
import type { RunState } from "../state/types.js";
import { connectionLabel, formatClock, formatInteger, RUN_COLOR } from "./format.js";
import { fit, textWidth } from "./text.js";
import { Line, TextLine } from "./Line.js";
import type { Theme } from "./theme.js";

const EXACT_DIGITS = 30;

export interface HeaderProps {
  readonly run: RunState;
  /** Epoch ms the elapsed clock is drawn at (it only matters while the run is under way). */
  readonly now: number;
  readonly flowLabel: string;
  readonly executionId: string;
  readonly width: number;
  readonly theme: Theme;
  /** Time left before the next connection attempt while reconnecting (it counts down). */
  readonly reconnectInMs?: number;
  /** A replay says so next to its connection state. */
  readonly replay?: boolean;
}

export const Header = memo(function Header({ run, now, flowLabel, executionId, width, theme, reconnectInMs, replay = false }: HeaderProps) {
  const { g } = theme;
  const status = `${g.run[run.status]} ${run.status}`;
  const clock = formatClock(selectElapsedMs(run, now));
  const connection = `${replay ? "replay " : ""}${connectionLabel(run.connection, run.final, g, reconnectInMs)}`;
  const right = `  ${status}  ${clock}  ${connection}`;
  const leftWidth = Math.max(0, width - textWidth(right));
  const left = fit(`${sanitizeLine(flowLabel)}  ${sanitizeLine(executionId)}`, leftWidth, { ellipsis: g.ellipsis });

  const totals = selectTotals(run);
  const steps = `steps ${String(totals.stepsDone)}/${totals.stepCount === null ? "?" : String(totals.stepCount)}`;
  const tokens = `tokens ${formatInteger(totals.tokens.total)}`;
  const tokenParts = ` (${formatInteger(totals.tokens.prompt)}/${formatInteger(totals.tokens.completion)})`;
  // The total is exact: every fraction digit the sum has (no rounding in the header).
  const cost = `cost ${formatUsd(totals.costUsd, { ascii: theme.ascii, digits: EXACT_DIGITS })}`;
  const unknown = totals.costUnknown > 0 ? ` (+${String(totals.costUnknown)} unknown)` : "";
  const counts = `${steps}  retries ${String(totals.retries)}  failed ${String(totals.failedSteps)}`;
  // The longest form that fits: the token breakdown goes first, then the unknown-cost note.
  const forms = [
    `${counts}  ${cost}${unknown}  ${tokens}${tokenParts}`,
    `${counts}  ${cost}${unknown}  ${tokens}`,
    `${counts}  ${cost}  ${tokens}`,
  ];
  const line2 = forms.find((form) => textWidth(form) <= width) ?? forms[forms.length - 1] ?? "";
  const connectionColor =
    run.connection.kind === "live" ? "green" : run.connection.kind === "reconnecting" ? "yellow" : undefined;

  return (
    <>
      <Line
        segments={[
          { text: left, bold: true },
          { text: "  " },
          { text: status, color: RUN_COLOR[run.status] },
          { text: `  ${clock}  ` },
          { text: connection, color: connectionColor },
        ]}
        theme={theme}
      />
      <TextLine text={fit(line2, width, { ellipsis: g.ellipsis })} theme={theme} />
    </>
  );
});
