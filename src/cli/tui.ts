// The TUI for view (a saved trace, no network) and replay (a recording played back):
// runTui with an offline or a signals source instead of a live client.
import type { ExportContent } from "../api/exportFile.js";
import { replayRecording, type Recording } from "../api/replay.js";
import type { MonitorSignal } from "../api/signals.js";
import type { RunTuiResult } from "../ui/runTui.js";
import type { CommandContext } from "./commands.js";
import type { OutputOptions } from "./config.js";
import { EXIT, exitCodeForRunStatus } from "./exit.js";
import type { ReplayConfig } from "./replay.js";
import { BELL, terminalWidth, tuiSummary } from "./runOutput.js";

// PENDING(G2): runTui's `source` option. Until it lands, its agreed shape is declared here.
type TuiSource =
  | {
      readonly kind: "offline";
      readonly trace: ExportContent["trace"];
      readonly names: ExportContent["names"];
      readonly attempts: ExportContent["attempts"];
    }
  | { readonly kind: "signals"; start(onSignal: (signal: MonitorSignal) => void, signal: AbortSignal): Promise<void> };
type RunTuiWithSource = (opts: {
  readonly source: TuiSource;
  readonly flowLabel: string;
  readonly executionId: string;
  readonly ascii: boolean;
  readonly color: boolean;
  readonly signal: AbortSignal;
}) => Promise<RunTuiResult>;

async function loadTui() {
  const [{ runTui }, { restoreTerminal }] = await Promise.all([import("../ui/runTui.js"), import("../ui/terminal.js")]);
  return { runTui: runTui as unknown as RunTuiWithSource, restoreTerminal };
}

export async function viewWithTui(content: ExportContent, output: OutputOptions, ctx: CommandContext): Promise<number> {
  const { runTui, restoreTerminal } = await loadTui();
  ctx.lifecycle.setRestore(restoreTerminal);
  const flowLabel = content.flow ?? "";
  const { state, error } = await runTui({
    source: { kind: "offline", trace: content.trace, names: content.names, attempts: content.attempts },
    flowLabel,
    executionId: content.executionId,
    ascii: output.ascii,
    color: output.color,
    signal: ctx.lifecycle.signal,
  });
  restoreTerminal();
  if (error !== null) throw error;
  ctx.lifecycle.write(tuiSummary(state, { ...output, executionId: content.executionId, flowLabel }, terminalWidth(ctx.stdout)));
  return EXIT.COMPLETED;
}

/**
 * The recording on the screen. Signal times are moved onto the screen's clock (the first
 * recorded time is now, later ones are compressed by the speed), so that the elapsed
 * times the screen ticks agree with the pace of the replay.
 */
export async function replayWithTui(recording: Recording, config: ReplayConfig, ctx: CommandContext): Promise<number> {
  const { runTui, restoreTerminal } = await loadTui();
  ctx.lifecycle.setRestore(restoreTerminal);
  const { executionId, flow } = recording.header;
  const startedAt = Date.now();
  let firstAt: number | null = null;
  const mapTime = (at: number): number => {
    firstAt ??= at;
    return config.speed > 0 ? startedAt + (at - firstAt) / config.speed : startedAt;
  };
  const { state, error } = await runTui({
    source: {
      kind: "signals",
      async start(onSignal: (signal: MonitorSignal) => void, signal: AbortSignal) {
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
  if (error !== null) throw error;
  ctx.lifecycle.write(tuiSummary(state, { ...config, executionId, flowLabel: flow }, terminalWidth(ctx.stdout)));
  return exitCodeForRunStatus(state.status) ?? EXIT.COMPLETED;
}
