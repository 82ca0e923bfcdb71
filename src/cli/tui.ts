// The TUI for view (a saved trace, no network) and replay (a recording played back):
// runTui with an offline or a signals source instead of a live client.
import type { ExportContent } from "../api/exportFile.js";
import { replayRecording, type Recording } from "../api/replay.js";
import type { RunTuiResult } from "../ui/runTui.js";
import type { CommandContext } from "./commands.js";
import type { OutputOptions } from "./config.js";
import { EXIT, exitCodeForRunStatus } from "./exit.js";
import type { ReplayConfig } from "./replay.js";
import { BELL, terminalWidth, tuiSummary } from "./runOutput.js";

/** The summary after the screen, then the exit status: 130 for Ctrl+C (as SIGINT), else `status`. */
function afterTui(
  result: RunTuiResult,
  opts: OutputOptions & { readonly executionId: string; readonly flowLabel: string },
  ctx: CommandContext,
  status: number,
): number {
  if (result.error !== null) throw result.error;
  ctx.lifecycle.write(tuiSummary(result.state, opts, terminalWidth(ctx.stdout)));
  return result.quit === "ctrl-c" ? EXIT.SIGINT : status;
}

export async function viewWithTui(content: ExportContent, output: OutputOptions, ctx: CommandContext): Promise<number> {
  const { runTui, restoreTerminal } = await import("../ui/runTui.js");
  ctx.lifecycle.setRestore(restoreTerminal);
  const flowLabel = content.flow ?? "";
  const result = await runTui({
    source: { kind: "offline", trace: content.trace, names: content.names, attempts: content.attempts, flow: content.flow },
    flowLabel,
    executionId: content.executionId,
    ascii: output.ascii,
    color: output.color,
    signal: ctx.lifecycle.signal,
  });
  restoreTerminal();
  return afterTui(result, { ...output, executionId: content.executionId, flowLabel }, ctx, EXIT.COMPLETED);
}

/**
 * The recording on the screen. Signal times are moved onto the screen's clock (the first
 * recorded time is when the replay starts, later ones are compressed by the speed), so that the elapsed
 * times the screen ticks agree with the pace of the replay.
 */
export async function replayWithTui(recording: Recording, config: ReplayConfig, ctx: CommandContext): Promise<number> {
  const { runTui, restoreTerminal } = await import("../ui/runTui.js");
  ctx.lifecycle.setRestore(restoreTerminal);
  const { executionId, flow } = recording.header;
  // Set by the first signal: the screen (Ink, React) takes a while to load before the replay starts.
  let origin: { readonly at: number; readonly now: number } | null = null;
  const mapTime = (at: number): number => {
    origin ??= { at, now: Date.now() };
    return config.speed > 0 ? origin.now + (at - origin.at) / config.speed : origin.now;
  };
  const result = await runTui({
    source: {
      kind: "signals",
      flow,
      async start(onSignal, signal) {
        await replayRecording(recording, { speed: config.speed, signal, onSignal, mapTime });
        // The screen stays until q: the bell says the replay is over.
        if (config.notify) ctx.lifecycle.writeError(BELL);
      },
    },
    flowLabel: flow,
    executionId,
    ascii: config.ascii,
    color: config.color,
    signal: ctx.lifecycle.signal,
  });
  recording.close();
  restoreTerminal();
  const status = exitCodeForRunStatus(result.state.status) ?? EXIT.COMPLETED;
  return afterTui(result, { ...config, executionId, flowLabel: flow }, ctx, status);
}
