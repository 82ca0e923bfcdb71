// `noukai-top replay FILE.ndjson [--speed N|max] [--format ...]`: a --record file fed
// back through the SSE decoder and the reducer into any format, paced by the recorded
// arrival times divided by the speed. Outside the TUI the signals keep their recorded
// times, so the lines and the summary say what they said live.
import { openRecording, RecordingError, replayRecording, type Recording } from "../api/replay.js";
import { sanitizeLine } from "../api/sanitize.js";
import type { StepTrace, Trace } from "../api/schemas.js";
import { initialRunState, reduceRun } from "../state/reducer.js";
import { buildSummary } from "../state/summary.js";
import { attemptsKey } from "../state/types.js";
import { quote, type ParsedArgs } from "./args.js";
import type { CommandContext, REPLAY_FLAGS } from "./commands.js";
import { resolveOutput, terminalInfo, type OutputOptions } from "./config.js";
import { EXIT, UsageError, exitCodeForRunStatus } from "./exit.js";
import { BELL, createOutput, traceCostWithRetries } from "./runOutput.js";
import { singleFile } from "./view.js";

/** `--speed`: a number >= 0 or `max`; 0 and `max` mean as fast as possible. */
export function parseSpeed(text: string | undefined): number {
  if (text === undefined) return 1;
  if (text === "max") return 0;
  const value = text.trim() === "" ? Number.NaN : Number(text);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--speed expects a number >= 0 or max (got ${quote(text)})`);
  return value;
}

export interface ReplayConfig extends OutputOptions {
  readonly path: string;
  readonly speed: number;
  readonly notify: boolean;
}

export async function runReplayCommand(args: ParsedArgs<typeof REPLAY_FLAGS>, ctx: CommandContext): Promise<number> {
  const path = singleFile(args.positionals, "recording (.ndjson)");
  const config: ReplayConfig = {
    path,
    speed: parseSpeed(args.flags.speed),
    notify: args.flags.notify === true,
    ...resolveOutput(args.flags, ctx.env, terminalInfo(ctx.stdout, ctx.stdin)),
  };
  try {
    const recording = await openRecording(path);
    if (config.format === "tui") {
      // The TUI rings the bell itself when the replay ends (the screen stays until q).
      const { replayWithTui } = await import("./tui.js");
      return await replayWithTui(recording, config, ctx);
    }
    const status = await replayToOutput(recording, config, ctx);
    if (config.notify) ctx.lifecycle.writeError(BELL);
    return status;
  } catch (error) {
    if (ctx.lifecycle.signal.aborted) return EXIT.BUG;
    const why = unreadable(error);
    if (why === null) throw error;
    ctx.lifecycle.writeError(`noukai-top: cannot replay ${quote(path)}: ${why}\n`);
    return EXIT.CANNOT_READ_OR_WRITE;
  }
}

/** One line for a recording that cannot be read (bad line, fs error); null for anything else (a bug). */
function unreadable(error: unknown): string | null {
  if (error instanceof RecordingError) return sanitizeLine(error.message);
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === "string" ? code : null;
}

async function replayToOutput(recording: Recording, config: ReplayConfig, ctx: CommandContext): Promise<number> {
  const { executionId, flow } = recording.header;
  const output = createOutput(config, (text) => ctx.lifecycle.write(text), ctx.stdout);
  let state = initialRunState(executionId);
  // What the live watch's summary was built from: the final trace and the attempts loaded.
  let finalTrace: Trace | null = null;
  const attempts = new Map<string, readonly StepTrace[]>();
  await replayRecording(recording, {
    speed: config.speed,
    signal: ctx.lifecycle.signal,
    onSignal(signal) {
      if (signal.type === "trace/loaded" && signal.final) finalTrace = signal.trace;
      if (signal.type === "attempts/loaded") attempts.set(attemptsKey(signal.stepId, signal.loopIndex), signal.attempts);
      state = reduceRun(state, signal);
      output.onSignal(signal, state);
    },
  });
  const trace = finalTrace as Trace | null;
  const costWithRetriesUsd = trace === null ? null : traceCostWithRetries(trace, attempts);
  output.finish(state, buildSummary(state, { executionId, flow, costWithRetriesUsd }));
  // As the live watch would have exited; a recording stopped before the run ended exits 0.
  return exitCodeForRunStatus(state.status) ?? EXIT.COMPLETED;
}
