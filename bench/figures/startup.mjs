// Figure 7: startup. `noukai-top --version` wall time (must not load Ink/React), and the
// time from spawn to the first TUI frame in a pseudo-terminal, watching a live run. The
// baselines are the floors: bare `node -e 0`, and node printing one character through the
// same pty wrapper.
import { spawn } from "node:child_process";
import { ROOT } from "../lib/proc.mjs";
import { startInPty, stopPty } from "../lib/pty.mjs";
import { row } from "../lib/report.mjs";
import { summarize } from "../lib/stats.mjs";
import { API_KEY, FLOW_REF } from "../lib/workload.mjs";

function wallTime(args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${args.join(" ")} exited ${code}`))));
  });
}

async function firstFrame(command, env, marker) {
  const session = startInPty(command, { env, marker });
  try {
    return await session.firstVisibleAt;
  } finally {
    await stopPty(session);
  }
}

export async function run(ctx) {
  const samples = Math.max(ctx.runs, 5) * 2 - 1; // cheap: take more samples than elsewhere
  const version = [];
  const bare = [];
  for (let i = 0; i < samples; i++) {
    version.push(await wallTime(["dist/cli/main.js", "--version"]));
    bare.push(await wallTime(["-e", "0"]));
  }
  const v = summarize(version);
  ctx.log(`startup --version ${v.median.toFixed(0)} ms`);

  const env = { NOUKAI_API_KEY: API_KEY, NOUKAI_BASE_URL: ctx.baseUrl };
  const tui = [];
  const floor = [];
  for (let i = 0; i < ctx.runs; i++) {
    // The header names the execution id: its appearance is the first TUI frame.
    const executionId = `idle-startup-${i}`;
    tui.push(await firstFrame(`${process.execPath} dist/cli/main.js ${executionId} --flow ${FLOW_REF}`, env, executionId));
    floor.push(await firstFrame(`${process.execPath} -e "process.stdout.write('x')"`, env, "x"));
    ctx.log(`startup first frame run ${i + 1}: ${tui.at(-1).toFixed(0)} ms (floor ${floor.at(-1).toFixed(0)} ms)`);
  }
  const f = summarize(tui);
  return [
    row({
      figure: "7 startup",
      measure: "noukai-top --version, wall",
      unit: "ms",
      ours: v,
      baseline: summarize(bare),
      baselineLabel: "node -e 0",
      target: "median <= 120 ms",
      pass: v.median <= 120,
    }),
    row({
      figure: "7 startup",
      measure: "spawn to first TUI frame (pty 100x30)",
      unit: "ms",
      ours: f,
      baseline: summarize(floor),
      baselineLabel: "node printing 1 char, same pty",
      target: "<= 400 ms",
      pass: f.median <= 400,
    }),
  ];
}
