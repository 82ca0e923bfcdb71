// What watch, replay and view share once a RunState exists: the output format objects,
// the summary left after the TUI, the cost with retries, and the --notify bell.
import type { StepTrace, Trace } from "../api/schemas.js";
import { addUsd } from "../state/money.js";
import { selectStepCostWithRetries } from "../state/selectors.js";
import { buildSummary, costWithRetries } from "../state/summary.js";
import { attemptsKey, type RunState } from "../state/types.js";
import type { OutputOptions } from "./config.js";
import { JsonOutput } from "./format/json.js";
import { NdjsonOutput } from "./format/ndjson.js";
import type { WatchOutput } from "./format/output.js";
import { PlainOutput } from "./format/plain.js";
import { createStyle } from "./format/style.js";
import { renderSummaryTable } from "./format/table.js";

/** The terminal's width, or undefined when stdout is not a terminal (nothing is cut then). */
export function terminalWidth(stdout: NodeJS.WriteStream): number | undefined {
  return stdout.isTTY ? stdout.columns : undefined;
}

/** The plain, ndjson or json output (`tui` is not an output: the screen takes the terminal). */
export function createOutput(output: OutputOptions, write: (text: string) => void, stdout: NodeJS.WriteStream): WatchOutput {
  switch (output.format) {
    case "ndjson":
      return new NdjsonOutput(write);
    case "json":
      return new JsonOutput(write);
    default:
      return new PlainOutput(write, { color: output.color, ascii: output.ascii, width: terminalWidth(stdout) });
  }
}

/**
 * The run's cost including failed attempts, from the attempts the monitor loaded into
 * the state; null when the run did not end or a retried step's attempts are missing.
 */
export function stateCostWithRetries(state: RunState): string | null {
  if (!state.final) return null;
  let total: string | null = null;
  for (const row of state.steps.rows()) {
    const cost = row.retries > 0 ? selectStepCostWithRetries(state, row.stepId) : row.costUsd;
    if (cost === null && row.retries > 0) return null;
    total = addUsd(total, cost);
  }
  return total;
}

/** costWithRetries when every retried step's attempts are known; null otherwise (as when a fetch failed live). */
export function traceCostWithRetries(trace: Trace, attempts: ReadonlyMap<string, readonly StepTrace[]>): string | null {
  const complete = trace.steps.every((step) => step.attempt <= 1 || attempts.has(attemptsKey(step.stepId, step.loopIndex)));
  return complete ? costWithRetries(trace, attempts) : null;
}

/** The short summary left in the scrollback after the TUI exits, as wide as the terminal at most. */
export function tuiSummary(
  state: RunState,
  opts: OutputOptions & { readonly executionId: string; readonly flowLabel: string },
  width: number | undefined,
): string {
  const style = createStyle({ color: opts.color, ascii: opts.ascii });
  const summary = buildSummary(state, {
    executionId: opts.executionId,
    flow: opts.flowLabel,
    costWithRetriesUsd: stateCostWithRetries(state),
  });
  return renderSummaryTable(state, summary, style, width);
}

/**
 * --notify: the terminal bell (BEL), noukai-top's own byte, written to stderr so that
 * json and ndjson on stdout stay clean and the TUI's screen is not disturbed (BEL moves
 * no cursor). Redirect stderr elsewhere and the bell goes there.
 */
export const BELL = "\u0007";
