// Figure 4: render. The real TUI screen with 10,000 steps in state (120x40 terminal): time
// from a key press that moves the selection to its frame being written (React render, Ink
// layout and output). Only the visible rows may cost anything.
import { runProbe } from "../lib/proc.mjs";
import { row } from "../lib/report.mjs";
import { percentile, summarize } from "../lib/stats.mjs";

const STEPS = 10_000;

export async function run(ctx) {
  const presses = ctx.quick ? 150 : 400;
  const p95s = [];
  const medians = [];
  const cpuPerFrame = [];
  let missing = 0;
  for (let i = 0; i < ctx.runs; i++) {
    const r = await runProbe("bench/probes/render.mjs", [String(STEPS), String(presses)]);
    missing += r.missing;
    p95s.push(percentile(r.frames, 95));
    medians.push(percentile(r.frames, 50));
    cpuPerFrame.push(r.cpuMsPerFrame);
    ctx.log(`render run ${i + 1}: p50 ${medians.at(-1).toFixed(1)} ms, p95 ${p95s.at(-1).toFixed(1)} ms, cpu ${r.cpuMsPerFrame.toFixed(1)} ms/frame, ${r.bytesPerFrame.toFixed(0)} B/frame`);
  }
  const p95 = summarize(p95s);
  return [
    row({
      figure: "4 render",
      measure: `${STEPS} steps, 120x40: key press to frame, p95 of ${presses} presses`,
      unit: "ms",
      ours: p95,
      target: "p95 <= 8 ms",
      pass: p95.median <= 8 && missing === 0,
      note: `p50 ${summarize(medians).median.toFixed(1)} ms, CPU ${summarize(cpuPerFrame).median.toFixed(1)} ms/frame${missing ? `, ${missing} presses drew no frame` : ""}`,
    }),
  ];
}
