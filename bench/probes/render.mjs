// Render probe: the real TUI screen with 10,000 steps in state on a 120x40 fake terminal.
// Times key press -> frame written while the selection moves (j/k, arrows, PgDn/PgUp),
// one press at a time. Prints {frames: [ms...], syncFrames, missing, bytesPerFrame, cpuMsPerFrame}.
// Usage: node bench/probes/render.mjs [steps] [presses]
import { createRunStore } from "../../dist/ui/runStore.js";
import { mountScreen, stateFromText } from "../lib/tui.mjs";
import { runningRunText } from "../lib/workload.mjs";

const steps = Number(process.argv[2] ?? 10_000);
const presses = Number(process.argv[3] ?? 400);
const WARMUP_PRESSES = 40;
const DOWN = "\x1b[B";
const UP = "\x1b[A";
const PAGE_DOWN = "\x1b[6~";
const PAGE_UP = "\x1b[5~";
/** Net movement is downwards, so a few hundred presses never pin the selection at an end. */
const CYCLE = ["j", DOWN, "j", "j", DOWN, "j", PAGE_DOWN, "k", UP, "k", PAGE_DOWN, "k", PAGE_UP];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const executionId = "render-bench";
const store = createRunStore(stateFromText(executionId, runningRunText(executionId, steps)));
if (store.getState().steps.size !== steps) throw new Error(`state has ${store.getState().steps.size} steps, want ${steps}`);
// maxFps high: Ink must not hold a frame back, each press is one measured frame.
const screen = mountScreen({ store, executionId, columns: 120, rows: 40, maxFps: 1000 });
const { stdout, stdin } = screen;

/** Presses a key and returns ms until its frame was written (null if none came). */
async function timedPress(key) {
  const before = stdout.writeTimes.length;
  const started = performance.now();
  stdin.press(key);
  if (stdout.writeTimes.length > before) return { ms: performance.now() - started, sync: true };
  for (let waited = 0; waited < 1000; waited += 1) {
    await sleep(1);
    if (stdout.writeTimes.length > before) return { ms: stdout.writeTimes.at(-1) - started, sync: false };
  }
  return null;
}

await sleep(50); // first frame and effects
stdin.press("g"); // top of the table, follow off
await sleep(20);
const frames = [];
let syncFrames = 0;
let missing = 0;
let bytesBefore = 0;
let cpuBefore = null;
for (let i = 0; i < WARMUP_PRESSES + presses; i++) {
  if (i === WARMUP_PRESSES) {
    bytesBefore = stdout.bytes;
    cpuBefore = process.cpuUsage();
  }
  const result = await timedPress(CYCLE[i % CYCLE.length]);
  await sleep(2); // past Ink's 1 ms throttle window: the next press renders at once
  if (i < WARMUP_PRESSES) continue;
  if (result === null) missing++;
  else {
    frames.push(result.ms);
    if (result.sync) syncFrames++;
  }
}
const cpu = process.cpuUsage(cpuBefore);
await screen.unmount();
store.close();
process.stdout.write(
  `${JSON.stringify({
    frames,
    syncFrames,
    missing,
    bytesPerFrame: (stdout.bytes - bytesBefore) / frames.length,
    cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / frames.length,
  })}\n`,
);
