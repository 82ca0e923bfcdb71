// `noukai-top view FILE.trace.json`: a saved trace with no network. In a terminal the
// TUI opens on it (every view but the live ones); otherwise the file's summary is
// printed: plain = a heading and the summary table, json = the summary object,
// ndjson = the summary object on one line (offline there are no events to stream: it
// is the last line a live ndjson would have printed).
import type { ExportContent } from "../api/exportFile.js";
import { sanitizeLine } from "../api/sanitize.js";
import { initialRunState, reduceRun } from "../state/reducer.js";
import { buildSummary, summarySteps } from "../state/summary.js";
import type { RunState } from "../state/types.js";
import { quote, type ParsedArgs } from "./args.js";
import type { CommandContext, VIEW_FLAGS } from "./commands.js";
import { resolveOutput, terminalInfo, type OutputOptions } from "./config.js";
import { EXIT, UsageError } from "./exit.js";
import { createStyle } from "./format/style.js";
import { writeSummaryJson } from "./format/summaryJson.js";
import { writeSummaryTable } from "./format/table.js";
import { terminalWidth, traceCostWithRetries } from "./runOutput.js";
import { readExportFile } from "./traceFile.js";

/** One file positional (`what` names it in the error). */
export function singleFile(positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing the ${what} file`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${quote(positionals[1] as string)}`);
  return positionals[0] as string;
}

/** The run model of a saved trace: names and attempts as the file gives them. */
export function offlineState(content: ExportContent): RunState {
  let state = reduceRun(initialRunState(content.executionId), {
    type: "offline/loaded",
    trace: content.trace,
    names: content.names,
  });
  for (const attempts of content.attempts.values()) {
    const first = attempts[0];
    if (first === undefined) continue;
    state = reduceRun(state, {
      type: "attempts/loaded",
      stepId: first.stepId,
      loopIndex: first.loopIndex ?? null,
      attempts,
      at: state.completedAt ?? 0,
    });
  }
  return state;
}

export async function runViewCommand(args: ParsedArgs<typeof VIEW_FLAGS>, ctx: CommandContext): Promise<number> {
  const path = singleFile(args.positionals, ".trace.json");
  const output = resolveOutput(args.flags, ctx.env, terminalInfo(ctx.stdout, ctx.stdin));
  const content = readExportFile(path);
  if ("error" in content) {
    ctx.lifecycle.writeError(`noukai-top: ${content.error}\n`);
    return EXIT.CANNOT_READ_OR_WRITE;
  }
  if (output.format === "tui") {
    const { viewWithTui } = await import("./tui.js");
    return viewWithTui(content, output, ctx);
  }
  writeOffline(content, output, terminalWidth(ctx.stdout), (text) => ctx.lifecycle.write(text));
  return EXIT.COMPLETED;
}

function writeOffline(
  content: ExportContent,
  output: OutputOptions,
  width: number | undefined,
  write: (text: string) => void,
): void {
  const state = offlineState(content);
  const summary = buildSummary(state, {
    executionId: content.executionId,
    flow: content.flow ?? "",
    costWithRetriesUsd: traceCostWithRetries(content.trace, content.attempts),
  });
  switch (output.format) {
    case "json":
    case "ndjson":
      writeSummaryJson(summary, summarySteps(state), output.format === "json" ? "pretty" : "line", write);
      return;
    default: {
      const style = createStyle({ color: output.color, ascii: output.ascii });
      const flow = content.flow === null ? "" : ` of ${sanitizeLine(content.flow)}`;
      const when = content.exportedAt === null ? "" : `, exported ${sanitizeLine(content.exportedAt)}`;
      const heading = `run ${sanitizeLine(content.executionId)}${flow}${when}`;
      write(`${style.paint("bold", heading)}\n\n`);
      writeSummaryTable(state, summary, style, width ?? Infinity, write);
    }
  }
}
