// Following one run: the monitor feeds the reducer, and the chosen format prints
// it (or the TUI takes the terminal). Used by `watch` and, once its server is up,
// by `demo`.
import { TraceClient } from "../api/client.js";
import { MonitorError, monitorRun } from "../api/monitor.js";
import { redactSecrets } from "../api/redact.js";
import { sanitizeLine } from "../api/sanitize.js";
import { addUsd } from "../state/money.js";
import { initialRunState, reduceRun } from "../state/reducer.js";
import { selectStepCostWithRetries } from "../state/selectors.js";
import { buildSummary, costWithRetries } from "../state/summary.js";
import type { RunState } from "../state/types.js";
import type { CommandContext } from "./commands.js";
import type { WatchConfig } from "./config.js";
import { EXIT, exitCodeForRunStatus } from "./exit.js";
import { JsonOutput } from "./format/json.js";
import { NdjsonOutput } from "./format/ndjson.js";
import type { WatchOutput } from "./format/output.js";
import { PlainOutput } from "./format/plain.js";
import { createStyle } from "./format/style.js";
import { renderSummaryTable } from "./format/table.js";

/** Runs one watch to its end; returns the exit status. Errors that mean "cannot monitor" become status 3. */
export async function watchRun(config: WatchConfig, ctx: CommandContext): Promise<number> {
  const backoffScale = testBackoffScale(ctx.env);
  const client = new TraceClient({ baseUrl: config.baseUrl, apiKey: config.apiKey, backoffScale });
  try {
    return config.format === "tui"
      ? await watchWithTui(config, client, ctx)
      : await watchWithOutput(config, client, ctx, backoffScale);
  } catch (error) {
    // Aborted by a signal or a dead stdout: that exit is under way and its status wins.
    if (ctx.lifecycle.signal.aborted) return EXIT.BUG;
    if (!(error instanceof MonitorError)) throw error;
    reportCannotMonitor(error, config, ctx);
    return EXIT.CANNOT_MONITOR;
  } finally {
    await client.close();
  }
}

/**
 * NOUKAI_TOP_BACKOFF_SCALE, for tests only (not in --help): multiplies every wait before a
 * retry or a reconnect, so that fault tests stay fast while the waits still follow the
 * server's hints in proportion. Only 0 < scale <= 1 is taken; anything else means 1.
 */
function testBackoffScale(env: NodeJS.ProcessEnv): number {
  const scale = Number(env.NOUKAI_TOP_BACKOFF_SCALE);
  return scale > 0 && scale <= 1 ? scale : 1;
}

function reportCannotMonitor(error: Error, config: WatchConfig, ctx: CommandContext): void {
  const message = redactSecrets(sanitizeLine(error.message), [config.apiKey]);
  ctx.lifecycle.writeError(`noukai-top: cannot monitor run ${sanitizeLine(config.executionId)}: ${message}\n`);
}

function createOutput(config: WatchConfig, write: (text: string) => void, stdout: NodeJS.WriteStream): WatchOutput {
  switch (config.format) {
    case "ndjson":
      return new NdjsonOutput(write);
    case "json":
      return new JsonOutput(write);
    default:
      return new PlainOutput(write, { color: config.color, ascii: config.ascii, width: terminalWidth(stdout) });
  }
}

function terminalWidth(stdout: NodeJS.WriteStream): number | undefined {
  return stdout.isTTY ? stdout.columns : undefined;
}

async function watchWithOutput(
  config: WatchConfig,
  client: TraceClient,
  ctx: CommandContext,
  delayScale: number,
): Promise<number> {
  const output = createOutput(config, (text) => ctx.lifecycle.write(text), ctx.stdout);
  // The reducer updates the step table in place: only the latest state is kept.
  let state = initialRunState(config.executionId);
  const result = await monitorRun({
    client,
    flow: config.flow,
    executionId: config.executionId,
    signal: ctx.lifecycle.signal,
    idleTimeoutMs: config.idleTimeoutMs,
    giveUpAfterMs: config.giveUpAfterMs,
    delayScale,
    onSignal(signal) {
      state = reduceRun(state, signal);
      output.onSignal(signal, state);
    },
  });
  const costWithRetriesUsd = result.trace === null ? null : costWithRetries(result.trace, result.retriedAttempts);
  output.finish(
    state,
    buildSummary(state, { executionId: config.executionId, flow: config.flowLabel, costWithRetriesUsd }),
  );
  return exitCodeForRunStatus(result.status) ?? EXIT.BUG;
}

async function watchWithTui(config: WatchConfig, client: TraceClient, ctx: CommandContext): Promise<number> {
  const [{ runTui }, { restoreTerminal }] = await Promise.all([import("../ui/runTui.js"), import("../ui/terminal.js")]);
  ctx.lifecycle.setRestore(restoreTerminal);
  const { state, error } = await runTui({
    client,
    flow: config.flow,
    flowLabel: config.flowLabel,
    executionId: config.executionId,
    ascii: config.ascii,
    color: config.color,
    idleTimeoutMs: config.idleTimeoutMs,
    giveUpAfterMs: config.giveUpAfterMs,
    signal: ctx.lifecycle.signal,
  });
  restoreTerminal();
  if (error !== null) throw error;
  ctx.lifecycle.write(tuiSummary(state, config, terminalWidth(ctx.stdout)));
  // Quitting before the run ended is the user's choice, not a failure.
  return exitCodeForRunStatus(state.status) ?? EXIT.COMPLETED;
}

/**
 * The run's cost including failed attempts, from the attempts the monitor loaded into
 * the state; null when the run did not end or a retried step's attempts are missing.
 */
function stateCostWithRetries(state: RunState): string | null {
  if (!state.final) return null;
  let total: string | null = null;
  for (const row of state.steps.rows()) {
    const cost = row.retries > 0 ? selectStepCostWithRetries(state, row.stepId) : row.costUsd;
    if (cost === null && row.retries > 0) return null;
    total = addUsd(total, cost);
  }
  return total;
}

/** The short summary left in the scrollback after the TUI exits. */
function tuiSummary(state: RunState, config: WatchConfig, width: number | undefined): string {
  const style = createStyle({ color: config.color, ascii: config.ascii });
  const summary = buildSummary(state, {
    executionId: config.executionId,
    flow: config.flowLabel,
    costWithRetriesUsd: stateCostWithRetries(state),
  });
  return renderSummaryTable(state, summary, style, width);
}
