// Burst probe: 10,000 events through the TUI's run store into the real screen, as runTui
// wires them (createRunStore defaults, Ink maxFps 20), on a 120x40 fake terminal.
//   at-once: 10,000 single-event actions pushed in one go (one socket read each);
//   spread:  the same 10,000 spread over about 1 s (50 actions every 5 ms).
// Prints {atOnce: {...}, spread: {...}}, each {frames, flushes, minGapMs, spanMs}:
// frames written after the first push, the store's flushes, the shortest gap between
// two frames, and the time from the first push to the last frame.
import { initialRunState } from "../../dist/state/reducer.js";
import { createRunStore } from "../../dist/ui/runStore.js";
import { decodeEvents, mountScreen } from "../lib/tui.mjs";
import { stepEventTexts } from "../lib/workload.mjs";

const EVENTS = 10_000;
const SPREAD_EVERY_MS = 5;
const SPREAD_PER_TICK = 50;
const SETTLE_MS = 500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function actionsFor(executionId) {
  const at = Date.now();
  const events = decodeEvents(stepEventTexts(EVENTS).join(""));
  if (events.length !== EVENTS) throw new Error(`decoded ${events.length} events, want ${EVENTS}`);
  return [
    [{ type: "stream/connecting", attempt: 1, at }, { type: "stream/opened", at, resumed: false }],
    events.map((event) => ({ type: "stream/events", events: [event] })),
  ];
}

async function scenario(name, deliver) {
  const executionId = `burst-${name}`;
  const store = createRunStore(initialRunState(executionId));
  const screen = mountScreen({ store, executionId, columns: 120, rows: 40, maxFps: 20 });
  const [opening, actions] = actionsFor(executionId);
  for (const action of opening) store.push(action);
  await sleep(300); // first frames
  const framesBefore = screen.stdout.writeTimes.length;
  const flushesBefore = store.flushes;
  const started = performance.now();
  await deliver(store, actions);
  await sleep(SETTLE_MS);
  const times = screen.stdout.writeTimes.slice(framesBefore);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  const result = {
    frames: times.length,
    flushes: store.flushes - flushesBefore,
    minGapMs: gaps.length ? Math.min(...gaps) : null,
    spanMs: times.length ? times.at(-1) - started : 0,
    applied: store.getState().eventsApplied,
  };
  await screen.unmount();
  store.close();
  return result;
}

const atOnce = await scenario("at-once", async (store, actions) => {
  for (const action of actions) store.push(action);
});
const spread = await scenario("spread", async (store, actions) => {
  for (let i = 0; i < actions.length; i += SPREAD_PER_TICK) {
    for (const action of actions.slice(i, i + SPREAD_PER_TICK)) store.push(action);
    await sleep(SPREAD_EVERY_MS);
  }
});
process.stdout.write(`${JSON.stringify({ atOnce, spread })}\n`);
