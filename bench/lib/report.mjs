// The result table: one row per measure, noukai-top beside its baseline, as markdown.
import os from "node:os";
import { readFileSync } from "node:fs";

/** Value formatters by unit. */
const FORMAT = {
  "ev/s": (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M ev/s` : `${(v / 1e3).toFixed(0)} k ev/s`),
  ms: (v) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`),
  "ms/MB": (v) => `${v.toFixed(1)} ms/MB`,
  MB: (v) => `${v.toFixed(0)} MB`,
  "%": (v) => `${v.toFixed(2)} %`,
  frames: (v) => `${v.toFixed(0)} frames`,
  "B/kev": (v) => `${v.toFixed(0)} B/1k ev`,
};

export function formatValue(value, unit) {
  return (FORMAT[unit] ?? ((v) => `${v} ${unit}`))(value);
}

/** "median (min–max)" of a summary, with its sample count when it is not the usual `runs`. */
export function formatSummary(summary, unit, runs) {
  if (!summary) return "—";
  const count = summary.n === runs ? "" : `, n=${summary.n}`;
  if (summary.n === 1 || summary.min === summary.max) return `${formatValue(summary.median, unit)}${count ? ` (${count.slice(2)})` : ""}`;
  return `${formatValue(summary.median, unit)} (${formatValue(summary.min, unit).split(" ")[0]}–${formatValue(summary.max, unit)}${count})`;
}

/**
 * One table row. `ours` / `baseline` are summaries ({median,min,max,n}) or null; `pass`
 * is true/false, or null when the row is informational.
 */
export function row({ figure, measure, unit, ours = null, baseline = null, baselineLabel = "", ratio = null, target = "", pass = null, note = "" }) {
  return { figure, measure, unit, ours, baseline, baselineLabel, ratio, target, pass, note };
}

export function errorRow(figure, error) {
  const message = String(error?.message ?? error).split("\n")[0].slice(0, 300);
  return row({ figure, measure: "error", unit: "", target: "runs", pass: false, note: message });
}

function escapeCell(text) {
  return String(text).replaceAll("|", "\\|");
}

/** The table; `runs` is the usual number of samples (other counts are shown in the cell). */
export function markdownTable(rows, runs) {
  const header = ["figure", "measure", "noukai-top", "baseline", "ratio", "target", "result"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const baseline = r.baseline ? `${formatSummary(r.baseline, r.unit, runs)}${r.baselineLabel ? ` [${r.baselineLabel}]` : ""}` : "—";
    const result = r.pass === null ? "info" : r.pass ? "PASS" : "FAIL";
    const cells = [
      r.figure,
      r.measure,
      formatSummary(r.ours, r.unit, runs),
      baseline,
      r.ratio === null ? "—" : `${r.ratio.toFixed(2)}x`,
      r.target,
      `${result}${r.note ? ` (${r.note})` : ""}`,
    ];
    lines.push(`| ${cells.map(escapeCell).join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The machine the numbers were taken on (recorded beside the table). */
export function machineDescription() {
  const cpus = os.cpus();
  let model = cpus[0]?.model ?? "unknown CPU";
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() already named it
  }
  const load = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  return {
    cpus: os.availableParallelism?.() ?? cpus.length,
    model,
    memoryGb: (os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    load,
  };
}
