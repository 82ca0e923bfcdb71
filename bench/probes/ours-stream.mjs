// noukai-top probe: one stream through the ingest path (bytes -> validated events -> state).
// Prints one JSON line: {ms, events, malformed, unknown, maxRssKb, totals?, heap?}.
// Usage: node --expose-gc bench/probes/ours-stream.mjs <executionId> [--expect-pairs N] [--sample-every N]
//   --expect-pairs N   check the state's exact totals against steps 1..N of the workload
//   --sample-every N   after gc, sample heapUsed every N events (and the state's own size at the end)
import { parseArgs } from "node:util";
import { selectTotals } from "../../dist/state/selectors.js";
import { ingestRun } from "../lib/ours.mjs";
import { canonicalDecimal, expectedTotals } from "../lib/workload.mjs";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { "expect-pairs": { type: "string" }, "sample-every": { type: "string" } },
});
const executionId = positionals[0];
const sampleEvery = values["sample-every"] ? Number(values["sample-every"]) : 0;

function heapAfterGc() {
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

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

const baselineHeap = sampleEvery ? heapAfterGc() : 0;
const started = performance.now();
let { state, events, malformed, unknown } = await ingestRun(executionId, { onBatch });
const ms = performance.now() - started;
const maxRssKb = process.resourceUsage().maxRSS;

const result = { ms, events, malformed, unknown, maxRssKb, steps: state.steps.size };

if (values["expect-pairs"]) {
  const expected = expectedTotals(Number(values["expect-pairs"]));
  const totals = selectTotals(state);
  const got = { costUsd: canonicalDecimal(totals.costUsd), tokens: totals.tokens, steps: totals.stepsDone };
  const want = { costUsd: canonicalDecimal(expected.costUsd), tokens: expected.tokens, steps: expected.steps };
  result.totals = { got, want, exact: JSON.stringify(got) === JSON.stringify(want) };
}

if (sampleEvery) {
  const heapWithState = heapAfterGc();
  samples.push([events, heapWithState]);
  state = null;
  const heapWithoutState = heapAfterGc();
  result.heap = { baseline: baselineHeap, samples, withState: heapWithState, withoutState: heapWithoutState };
}

process.stdout.write(`${JSON.stringify(result)}\n`);
