// `noukai-top diff <a> <b> [--flow REF] [--format plain|json]`: either side is a
// .trace.json file (anything that exists as a file, or ends in .json) or an execution id
// fetched like `export` does. Server settings are only needed when an id is given.
import { statSync } from "node:fs";
import type { ExportContent } from "../api/exportFile.js";
import { sanitizeLine } from "../api/sanitize.js";
import { formatUsd } from "../state/money.js";
import { quote, type ParsedArgs } from "./args.js";
import type { CommandContext, DIFF_FLAGS } from "./commands.js";
import { colorAllowed, resolveServerConfig, type ServerConfig } from "./config.js";
import { diffRuns, type DiffInput, type RunDiff, type StepDiff, type TotalDiff } from "./diffRuns.js";
import { EXIT, UsageError } from "./exit.js";
import { safeJson } from "./format/jsonText.js";
import { columnWidths, createStyle, displayWidth, formatDuration, truncate, type Style } from "./format/style.js";
import { terminalWidth } from "./runOutput.js";
import { readExportFile } from "./traceFile.js";

/** A side that could not be had; the message is one line without a prefix. */
class SideError extends Error {}

function isFilePath(ref: string): boolean {
  try {
    return statSync(ref).isFile();
  } catch {
    return /\.json$/i.test(ref);
  }
}

function readSide(path: string): ExportContent {
  const content = readExportFile(path);
  if ("error" in content) throw new SideError(content.error);
  return content;
}

export async function runDiffCommand(args: ParsedArgs<typeof DIFF_FLAGS>, ctx: CommandContext): Promise<number> {
  const { positionals, flags } = args;
  if (positionals.length < 2) throw new UsageError("diff needs two runs: execution ids or .trace.json files");
  if (positionals.length > 2) throw new UsageError(`unexpected argument ${quote(positionals[2] as string)}`);
  const refs = positionals as [string, string];
  const kinds = refs.map((ref) => (isFilePath(ref) ? "file" : "run")) as ["file" | "run", "file" | "run"];
  const config: ServerConfig | null = kinds.includes("run") ? resolveServerConfig(flags, ctx.env) : null;
  const color = ctx.stdout.isTTY && colorAllowed(flags["no-color"] === true, ctx.env);

  const load = async (index: 0 | 1): Promise<DiffInput> => {
    const ref = refs[index];
    if (kinds[index] === "file") return { source: "file", ref, content: readSide(ref) };
    const { LoadRunError, loadRun } = await import("./loadRun.js");
    try {
      const loaded = await loadRun(config as ServerConfig, ref, ctx.lifecycle.signal);
      return { source: "run", ref, content: loaded.content };
    } catch (error) {
      if (error instanceof LoadRunError) throw new SideError(`cannot fetch run ${sanitizeLine(ref)}: ${error.message}`);
      throw error;
    }
  };

  let inputs: [DiffInput, DiffInput];
  try {
    inputs = await Promise.all([load(0), load(1)]);
  } catch (error) {
    if (ctx.lifecycle.signal.aborted) return EXIT.BUG;
    if (!(error instanceof SideError)) throw error;
    ctx.lifecycle.writeError(`noukai-top: ${error.message}\n`);
    return EXIT.CANNOT_READ_OR_WRITE;
  }
  const diff = diffRuns(inputs[0], inputs[1]);
  if (flags.format === "json") {
    ctx.lifecycle.write(`${safeJson(diff, 2)}\n`);
  } else {
    const style = createStyle({ color, ascii: flags.ascii === true });
    ctx.lifecycle.write(renderDiff(diff, style, terminalWidth(ctx.stdout)));
  }
  return EXIT.COMPLETED;
}

function signed(text: string, negative: boolean, zero: boolean): string {
  if (zero) return text;
  return negative ? `-${text}` : `+${text}`;
}

function durationDelta(ms: number | null): string {
  if (ms === null) return "-";
  return signed(formatDuration(Math.abs(ms)), ms < 0, ms === 0);
}

function costDelta(value: string | null, style: Style): string {
  if (value === null) return "-";
  const negative = value.startsWith("-");
  const magnitude = formatUsd(negative ? value.slice(1) : value, { ascii: style.ascii });
  return signed(magnitude, negative, value === "0");
}

function ratio(value: number | null, style: Style): string {
  return value === null ? "" : `${style.ascii ? "x" : "×"}${String(value)}`;
}

function stepLabel(step: StepDiff): string {
  const name = sanitizeLine(step.name === null || step.name === "" ? step.stepId : step.name);
  return step.loopIndex === null ? name : `${name} [${String(step.loopIndex)}]`;
}

function sideLine(label: string, diff: RunDiff["a"], style: Style): string {
  const where = diff.source === "file" ? `file ${sanitizeLine(diff.ref)}` : `run ${sanitizeLine(diff.ref)}`;
  const flow = diff.flow === null ? "" : ` of ${sanitizeLine(diff.flow)}`;
  const parts = [
    sanitizeLine(diff.status),
    formatDuration(diff.durationMs),
    formatUsd(diff.costUsd, { ascii: style.ascii }),
    `${String(diff.stepTraces)} step traces`,
  ];
  return `${style.paint("bold", `${label}:`)} ${where}${flow}: ${parts.join(", ")}\n`;
}

function totalLine<T>(name: string, total: TotalDiff<T>, show: (value: T | null) => string, delta: string, style: Style): string {
  const arrow = style.ascii ? "->" : "→";
  const r = ratio(total.ratio, style);
  return `${name} ${show(total.a)} ${arrow} ${show(total.b)} (${delta}${r === "" ? "" : `, ${r}`})`;
}

const MIN_STEP_CHARS = 12;
const MAX_STEP_CHARS = 40;
const GAP = "  ";

/** The diff as a table (fitted to `maxWidth` by shortening step names) and total lines. */
export function renderDiff(diff: RunDiff, style: Style, maxWidth = Infinity): string {
  const usd = (value: string | null): string => formatUsd(value, { ascii: style.ascii });
  const titles = ["#", "step", "in", "a time", "b time", "time diff", "a cost", "b cost", "cost diff"];
  const right = [true, false, false, true, true, true, true, true, true];
  const rows = diff.steps.map((step, i) => [
    String(i + 1),
    stepLabel(step),
    step.in === "both" ? "a+b" : step.in,
    step.a === null ? "" : formatDuration(step.a.durationMs),
    step.b === null ? "" : formatDuration(step.b.durationMs),
    durationDelta(step.durationDeltaMs),
    step.a === null ? "" : usd(step.a.costUsd),
    step.b === null ? "" : usd(step.b.costUsd),
    costDelta(step.costDeltaUsd, style),
  ]);
  const widths = columnWidths(titles, rows);
  const others = widths.reduce((sum, w, c) => (c === 1 ? sum : sum + w), 0) + GAP.length * (titles.length - 1);
  const stepWidth = Math.max(MIN_STEP_CHARS, Math.min(MAX_STEP_CHARS, widths[1] ?? 0, maxWidth - others));
  widths[1] = Math.max(displayWidth("step"), Math.min(widths[1] ?? 0, stepWidth));
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => {
        const width = widths[c] ?? 0;
        const text = c === 1 ? truncate(cell, width, style.ellipsis) : cell;
        const pad = " ".repeat(Math.max(0, width - displayWidth(text)));
        return right[c] === true ? pad + text : text + pad;
      })
      .join(GAP)
      .trimEnd();

  let text = sideLine("a", diff.a, style) + sideLine("b", diff.b, style) + "\n";
  text += `${style.paint("bold", render(titles))}\n`;
  for (const row of rows) text += `${render(row)}\n`;
  if (rows.length === 0) text += "(no steps)\n";
  const { totals } = diff;
  const lines = [
    totalLine("duration", totals.durationMs, (v) => formatDuration(v), durationDelta(totals.durationMs.delta), style),
    totalLine("cost", totals.costUsd, usd, costDelta(totals.costUsd.delta, style), style),
    totalLine("cost with retries", totals.costWithRetriesUsd, usd, costDelta(totals.costWithRetriesUsd.delta, style), style),
    `steps: ${String(totals.matched)} in both, ${String(totals.onlyA)} only in a, ${String(totals.onlyB)} only in b`,
  ];
  text += `\n${lines.map((line) => `${style.paint("bold", "total:")} ${line}`).join("\n")}\n`;
  return text;
}
