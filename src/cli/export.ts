// `noukai-top export <execution-id> --flow REF [-o FILE|-]`: the run's trace, the step
// names seen on its stream and the attempts of its retried steps, in one .trace.json
// file (exportFile.ts describes it).
import { exportFileName, writeExportFile, writeExportFileText } from "../api/exportFile.js";
import { sanitizeLine } from "../api/sanitize.js";
import { quote, type ParsedArgs } from "./args.js";
import type { CommandContext, EXPORT_FLAGS } from "./commands.js";
import { resolveServerConfig, singleExecutionId } from "./config.js";
import { EXIT } from "./exit.js";

export async function runExportCommand(args: ParsedArgs<typeof EXPORT_FLAGS>, ctx: CommandContext): Promise<number> {
  const executionId = singleExecutionId(args.positionals, "to export");
  const config = resolveServerConfig(args.flags, ctx.env);
  const target = args.flags.output ?? exportFileName(executionId);

  const { LoadRunError, loadRun } = await import("./loadRun.js");
  let loaded;
  try {
    loaded = await loadRun(config, executionId, ctx.lifecycle.signal);
  } catch (error) {
    if (ctx.lifecycle.signal.aborted) return EXIT.BUG;
    if (!(error instanceof LoadRunError)) throw error;
    ctx.lifecycle.writeError(`noukai-top: cannot export run ${sanitizeLine(executionId)}: ${error.message}\n`);
    return EXIT.CANNOT_READ_OR_WRITE;
  }
  if (!loaded.attemptsComplete) {
    ctx.lifecycle.writeError("noukai-top: warning: the attempts of some retried steps could not be fetched; the file lacks them\n");
  }

  if (target === "-") {
    writeExportFileText(loaded.content, (text) => ctx.lifecycle.write(text));
    return EXIT.COMPLETED;
  }
  try {
    writeExportFile(target, loaded.content);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "failed";
    ctx.lifecycle.writeError(`noukai-top: cannot write ${quote(target)} (${code})\n`);
    return EXIT.CANNOT_READ_OR_WRITE;
  }
  ctx.lifecycle.writeError(`noukai-top: wrote ${quote(target)} (${String(loaded.content.trace.steps.length)} step traces)\n`);
  return EXIT.COMPLETED;
}
