// Following one run: the monitor feeds the reducer, and the chosen format prints
// it (or the TUI takes the terminal). Used by `watch` and, once its server is up,
// by `demo`. `--record` saves what the monitor saw; `--notify` rings the bell at the end.
// The client (undici), the monitor and the recorder (zod) are imported when needed: the
// TUI draws its first frame before they load.
import type { ClientOptions, TraceClient, TraceStepSink } from "../api/client.js";
import type { Recorder } from "../api/record.js";
import { redactSecrets } from "../api/redact.js";
import { sanitizeLine } from "../api/sanitize.js";
import { TraceReconciler } from "../state/reconcile.js";
import { initialRunState, reduceRun } from "../state/reducer.js";
import { buildSummary, costWithRetries, TraceCosts } from "../state/summary.js";
import { quote } from "./args.js";
import type { CommandContext } from "./commands.js";
import type { WatchConfig } from "./config.js";
import { EXIT, exitCodeForRunStatus } from "./exit.js";
import { BELL, createOutput, terminalWidth, tuiSummary } from "./runOutput.js";

/** Runs one watch to its end; returns the exit status. Errors that mean "cannot monitor" become status 3. */
export async function watchRun(config: WatchConfig, ctx: CommandContext): Promise<number> {
  let recorder: Recorder | null = null;
  if (config.record !== null) {
    const { openRecorder } = await import("../api/record.js");
    try {
      recorder = openRecorder(config.record, {
        executionId: config.executionId,
        flow: config.flowLabel,
        startedAt: new Date().toISOString(),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "failed";
      ctx.lifecycle.writeError(`noukai-top: cannot write --record ${quote(config.record)} (${code})\n`);
      return EXIT.CANNOT_READ_OR_WRITE;
    }
  }
  // --notify: one bell when the run ends, or when the watch cannot go on; none when the user quits first.
  let rung = false;
  const ring = (): void => {
    if (!config.notify || rung) return;
    rung = true;
    ctx.lifecycle.writeError(BELL);
  };
  const backoffScale = testBackoffScale(ctx.env);
  const client = lazyClient({ baseUrl: config.baseUrl, apiKey: config.apiKey, backoffScale });
  try {
    if (config.format === "tui") return await watchWithTui(config, client.open, ctx, recorder, ring);
    const status = await watchWithOutput(config, await client.open(), ctx, backoffScale, recorder);
    ring();
    return status;
  } catch (error) {
    // Aborted by a signal or a dead stdout: that exit is under way and its status wins.
    if (ctx.lifecycle.signal.aborted) return EXIT.BUG;
    const { MonitorError } = await import("../api/monitor.js");
    if (!(error instanceof MonitorError)) throw error;
    reportCannotMonitor(error, config, ctx);
    ring();
    return EXIT.CANNOT_MONITOR;
  } finally {
    recorder?.close();
    await client.close();
  }
}

/** The watch's client, made on first use; close() closes it if it was made. */
function lazyClient(options: ClientOptions): { open(): Promise<TraceClient>; close(): Promise<void> } {
  let client: Promise<TraceClient> | null = null;
  return {
    open: () => (client ??= import("../api/client.js").then(({ TraceClient }) => new TraceClient(options))),
    async close() {
      await (await client)?.close();
    },
  };
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

async function watchWithOutput(
  config: WatchConfig,
  client: TraceClient,
  ctx: CommandContext,
  delayScale: number,
  recorder: Recorder | null,
): Promise<number> {
  const { monitorRun } = await import("../api/monitor.js");
  const output = createOutput(config, (text) => ctx.lifecycle.write(text), ctx.stdout);
  // The reducer updates the step table in place: only the latest state is kept.
  let state = initialRunState(config.executionId);
  // The final Trace is reconciled step by step as it is read, so that its steps (~80 MB for
  // 250,000) are never all held at once; --record saves the Trace whole, so it keeps them.
  const finalTrace: { reconciler: TraceReconciler | null; costs: TraceCosts | null } = { reconciler: null, costs: null };
  const newTraceStepSink = (): TraceStepSink => {
    const reconciler = new TraceReconciler(state);
    const costs = new TraceCosts();
    finalTrace.reconciler = reconciler;
    finalTrace.costs = costs;
    return {
      add(step) {
        reconciler.add(step);
        costs.add(step);
      },
    };
  };
  const result = await monitorRun({
    client,
    flow: config.flow,
    executionId: config.executionId,
    signal: ctx.lifecycle.signal,
    idleTimeoutMs: config.idleTimeoutMs,
    giveUpAfterMs: config.giveUpAfterMs,
    delayScale,
    ...(recorder === null ? { newTraceStepSink } : { onRawFrame: recorder.onRawFrame }),
    onSignal(signal) {
      recorder?.onSignal(signal);
      const { reconciler } = finalTrace;
      state =
        signal.type === "trace/loaded" && signal.stepsTaken === true && reconciler !== null
          ? reduceRun(state, { type: "trace/reconciled", trace: signal.trace, final: signal.final, reconciler })
          : reduceRun(state, signal);
      output.onSignal(signal, state);
    },
  });
  if (result.traceError !== null) {
    ctx.lifecycle.writeError(
      `noukai-top: warning: the final trace could not be loaded (${result.traceError}); the summary is the live stream's\n`,
    );
  }
  let costWithRetriesUsd: string | null = null;
  if (result.trace !== null) {
    costWithRetriesUsd =
      finalTrace.costs === null
        ? costWithRetries(result.trace, result.retriedAttempts)
        : finalTrace.costs.withRetries(result.retriedAttempts);
  }
  output.finish(
    state,
    buildSummary(state, { executionId: config.executionId, flow: config.flowLabel, costWithRetriesUsd }),
  );
  return exitCodeForRunStatus(result.status) ?? EXIT.BUG;
}

async function watchWithTui(
  config: WatchConfig,
  openClient: () => Promise<TraceClient>,
  ctx: CommandContext,
  recorder: Recorder | null,
  ring: () => void,
): Promise<number> {
  const { runTui, restoreTerminal } = await import("../ui/runTui.js");
  ctx.lifecycle.setRestore(restoreTerminal);
  const { state, error, quit } = await runTui({
    openClient,
    flow: config.flow,
    flowLabel: config.flowLabel,
    executionId: config.executionId,
    ascii: config.ascii,
    color: config.color,
    idleTimeoutMs: config.idleTimeoutMs,
    giveUpAfterMs: config.giveUpAfterMs,
    signal: ctx.lifecycle.signal,
    onSignal(signal) {
      recorder?.onSignal(signal);
      // The screen stays until q: the bell rings when the run ends (a bell moves no cursor).
      if (signal.type === "stream/ended") ring();
    },
    onCannotMonitor: ring,
    ...(recorder === null ? {} : { onRawFrame: recorder.onRawFrame }),
  });
  restoreTerminal();
  if (error !== null) throw error;
  ctx.lifecycle.write(tuiSummary(state, config, terminalWidth(ctx.stdout)));
  // Ctrl+C in the TUI (raw mode: no SIGINT reaches the process) ends as SIGINT would.
  if (quit === "ctrl-c") return EXIT.SIGINT;
  // Quitting before the run ended is the user's choice, not a failure.
  return exitCodeForRunStatus(state.status) ?? EXIT.COMPLETED;
}
