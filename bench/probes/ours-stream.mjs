// noukai-top probe: one stream through the ingest path (bytes -> validated events -> state).
// Prints one JSON line: {ms, events, malformed, unknown, steps, maxRssKb, totals?, heap?}.
// Usage: node --expose-gc bench/probes/ours-stream.mjs <executionId> [--stage read|decode|full] [--expect-pairs N] [--sample-every N --warmup-id ID]
//   --stage S          stop early to show where the time goes (see ingestRun); default full
//   --expect-pairs N   check the state's exact totals against steps 1..N of the workload
//   --sample-every N   sample heapUsed after gc every N events; at the end, the heap with
//                      the state and after dropping it. The heap baseline is taken after a
//                      whole warm-up stream (--warmup-id) was ingested and dropped, so code
//                      compiled and connections opened on first use do not count as growth.
import { parseArgs } from "node:util";
import { selectTotals } from "../../dist/state/selectors.js";
import { ingestRun } from "../lib/ours.mjs";
import { canonicalDecimal, expectedTotals } from "../lib/workload.mjs";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { stage: { type: "string", default: "full" }, "expect-pairs": { type: "string" }, "sample-every": { type: "string" }, "warmup-id": { type: "string" } },
});
const executionId = positionals[0];
const sampleEvery = values["sample-every"] ? Number(values["sample-every"]) : 0;
const stage = values.stage;
if (!["read", "decode", "full"].includes(stage)) throw new Error(`--stage ${stage}: expected read, decode or full`);

function heapAfterGc() {
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** Checks the exact totals; the state is only reachable from here, so it is dropped on return. */
function checkTotals(state, pairs) {
  const expected = expectedTotals(pairs);
  const totals = selectTotals(state);
  const got = { costUsd: canonicalDecimal(totals.costUsd), tokens: totals.tokens, steps: totals.stepsDone };
  const want = { costUsd: canonicalDecimal(expected.costUsd), tokens: expected.tokens, steps: expected.steps };
  return { got, want, exact: JSON.stringify(got) === JSON.stringify(want) };
}

/** One timed ingest. Returns numbers only, so the state dies with this frame. */
async function measure() {
  const samples = [];
  let nextSample = 0;
  const onBatch = sampleEvery
    ? (_state, events) => {
        if (events >= nextSample) {
          samples.push([events, heapAfterGc()]);
          nextSample = events + sampleEvery;
        }
      }
    : undefined;
  const started = performance.now();
  const { state, events, malformed, unknown } = await ingestRun(executionId, { onBatch, stage });
  const ms = performance.now() - started;
  const result = { ms, events, malformed, unknown, steps: state.steps.size, maxRssKb: process.resourceUsage().maxRSS };
  if (values["expect-pairs"]) result.totals = checkTotals(state, Number(values["expect-pairs"]));
  if (sampleEvery) {
    const withState = heapAfterGc();
    samples.push([events, withState]);
    result.heap = { samples, withState };
  }
  return result;
}

/** Ingests the warm-up stream and drops it (nothing of it is returned). */
async function warmUp(id) {
  await ingestRun(id);
}

let baseline = 0;
if (sampleEvery) {
  if (values["warmup-id"]) await warmUp(values["warmup-id"]);
  baseline = heapAfterGc();
}
const result = await measure();
if (sampleEvery) Object.assign(result.heap, { baseline, withoutState: heapAfterGc() });
process.stdout.write(`${JSON.stringify(result)}\n`);
