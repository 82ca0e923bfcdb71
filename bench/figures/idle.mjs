// Figure 6: idle. noukai-top's TUI in a pseudo-terminal watching a run whose one step
// runs for a long time (the stream stays open and silent): the process's CPU time
// (/proc/<pid>/stat utime + stime, all threads) over ~10 s windows, after start-up settled.
import { cpuSeconds, ptyProgramPid, startInPty, stopPty, visibleText } from "../lib/pty.mjs";
import { row } from "../lib/report.mjs";
import { summarize } from "../lib/stats.mjs";
import { API_KEY, FLOW_REF } from "../lib/workload.mjs";

// Start-up leaves work behind (JIT, the GC shrinking the heap): idle is measured after it.
const SETTLE_MS = 5000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function run(ctx) {
  const windowMs = ctx.quick ? 5000 : 10_000;
  const windows = ctx.quick ? 1 : Math.min(ctx.runs, 3);
  const env = { NOUKAI_API_KEY: API_KEY, NOUKAI_BASE_URL: ctx.baseUrl };
  const executionId = "idle-watch";
  const session = startInPty(`${process.execPath} dist/cli/main.js ${executionId} --flow ${FLOW_REF}`, { env, marker: executionId });
  const percents = [];
  try {
    await session.firstVisibleAt;
    await sleep(SETTLE_MS);
    const pid = ptyProgramPid(session.child.pid);
    for (let i = 0; i < windows; i++) {
      const cpuBefore = cpuSeconds(pid);
      const wallBefore = performance.now();
      await sleep(windowMs);
      const percent = ((cpuSeconds(pid) - cpuBefore) / ((performance.now() - wallBefore) / 1000)) * 100;
      percents.push(percent);
      ctx.log(`idle window ${i + 1}: ${percent.toFixed(2)} % CPU`);
    }
    if (!visibleText(session.output()).includes("longLLM")) throw new Error("the TUI never showed the running step");
  } finally {
    await stopPty(session);
  }
  const p = summarize(percents);
  return [
    row({
      figure: "6 idle",
      measure: `TUI, one long running step: CPU over ${windowMs / 1000} s windows`,
      unit: "%",
      ours: p,
      target: "< 1 %",
      pass: p.median < 1,
    }),
  ];
}
