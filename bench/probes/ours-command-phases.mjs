// Where figure 3's time goes: the phases of `noukai-top <id> --format json`, run one after
// the other in one process with the same library code the command uses (the stream through
// the decoder and reducer; the final Trace, each step reconciled as it is read; the
// reconcile's end; the cost with retries and the json summary, written to a sink that only
// counts characters).
// Prints one JSON line: {streamMs, traceMs, reconcileMs, summaryMs, totalMs, summaryChars, maxRssKb}.
// Usage: node bench/probes/ours-command-phases.mjs <executionId>
import { TraceClient } from "../../dist/api/client.js";
import { writeSummaryJson } from "../../dist/cli/format/summaryJson.js";
import { TraceReconciler } from "../../dist/state/reconcile.js";
import { buildSummary, summarySteps, TraceCosts } from "../../dist/state/summary.js";
import { BASE_URL, ingestRun } from "../lib/ours.mjs";
import { API_KEY, FLOW, FLOW_REF } from "../lib/workload.mjs";

const executionId = process.argv[2];
const t0 = performance.now();
const { state } = await ingestRun(executionId);
const t1 = performance.now();
const client = new TraceClient({ baseUrl: BASE_URL, apiKey: API_KEY });
let reconciler = null;
let costs = null;
const newStepSink = () => {
  reconciler = new TraceReconciler(state);
  costs = new TraceCosts();
  return {
    add(step) {
      reconciler.add(step);
      costs.add(step);
    },
  };
};
const trace = await client.trace(FLOW, executionId, { newStepSink });
await client.close();
const t2 = performance.now();
const reconciled = reconciler.finish(state, trace.flowRun);
const t3 = performance.now();
let summaryChars = 0;
const summary = buildSummary(reconciled, { executionId, flow: FLOW_REF, costWithRetriesUsd: costs.withRetries(new Map()) });
writeSummaryJson(summary, summarySteps(reconciled), "pretty", (text) => {
  summaryChars += text.length;
});
const t4 = performance.now();
const result = {
  streamMs: t1 - t0,
  traceMs: t2 - t1,
  reconcileMs: t3 - t2,
  summaryMs: t4 - t3,
  totalMs: t4 - t0,
  summaryChars,
  maxRssKb: process.resourceUsage().maxRSS,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
