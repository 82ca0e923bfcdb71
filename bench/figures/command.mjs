// Figure 3: the whole command. `noukai-top <id> --flow o/p/s --format json` on the
// 500,000-event run (stream to the end, then the full Trace, then the summary) against
// bench/sdk-script.mjs (SDK liveTrace() then trace()). Wall time and peak RSS of each
// process; our summary is checked for the exact cost before a run counts. Then, as
// information, the time of each phase (bench/probes/ours-command-phases.mjs, beside the
// SDK script's own two phases).
import { runProbe, timeNodeCommand } from "../lib/proc.mjs";
import { row } from "../lib/report.mjs";
import { summarize } from "../lib/stats.mjs";
import { API_KEY, FLOW_REF, RUN_STARTED_AT, canonicalDecimal, expectedTotals } from "../lib/workload.mjs";

const PAIRS = 250_000;

function checkSummary(result, expected) {
  if (result.code !== 0) throw new Error(`noukai-top exited ${result.code}: ${result.stderr.trim().split("\n").slice(-2).join(" | ")}`);
  const summary = JSON.parse(result.stdout);
  const problems = [];
  if (canonicalDecimal(summary.costUsd) !== canonicalDecimal(expected.costUsd)) problems.push(`costUsd ${summary.costUsd} != ${expected.costUsd}`);
  if (summary.steps?.length !== PAIRS) problems.push(`${summary.steps?.length} steps != ${PAIRS}`);
  if (summary.status !== "completed") problems.push(`status ${summary.status}`);
  // The run's times and the cost with retries come from the final Trace: they show it was loaded.
  if (summary.startedAt !== new Date(RUN_STARTED_AT).toISOString()) problems.push("final Trace not applied (startedAt is not the Trace's)");
  if (canonicalDecimal(summary.costWithRetriesUsd) !== canonicalDecimal(expected.costUsd)) problems.push(`costWithRetriesUsd ${summary.costWithRetriesUsd}`);
  return problems;
}

export async function run(ctx) {
  const executionId = `ingest-${PAIRS}`;
  await ctx.prepare(executionId);
  const expected = expectedTotals(PAIRS);
  const env = { NOUKAI_API_KEY: API_KEY, NOUKAI_BASE_URL: ctx.baseUrl };
  const ours = { ms: [], rss: [] };
  const sdk = { ms: [], rss: [], liveTraceMs: [], traceMs: [] };
  const problems = [];
  for (let i = 0; i < ctx.runs; i++) {
    const o = await timeNodeCommand(["dist/cli/main.js", executionId, "--flow", FLOW_REF, "--format", "json"], { env });
    problems.push(...checkSummary(o, expected));
    ours.ms.push(o.ms);
    ours.rss.push(o.maxRssKb / 1024);
    const s = await timeNodeCommand(["bench/sdk-script.mjs", FLOW_REF, executionId], { env });
    if (s.code !== 0) throw new Error(`sdk-script exited ${s.code}: ${s.stderr.trim().split("\n").pop()}`);
    sdk.ms.push(s.ms);
    sdk.rss.push(s.maxRssKb / 1024);
    const phases = JSON.parse(s.stdout);
    sdk.liveTraceMs.push(phases.liveTraceMs);
    sdk.traceMs.push(phases.traceMs);
    ctx.log(`command run ${i + 1}: ours ${o.ms.toFixed(0)} ms ${(o.maxRssKb / 1024).toFixed(0)} MB, sdk ${s.ms.toFixed(0)} ms ${(s.maxRssKb / 1024).toFixed(0)} MB`);
  }
  const wallOurs = summarize(ours.ms);
  const wallSdk = summarize(sdk.ms);
  const rssOurs = summarize(ours.rss);
  const rssSdk = summarize(sdk.rss);
  const speedup = wallSdk.median / wallOurs.median;
  const phases = { streamMs: [], traceMs: [], reconcileMs: [], summaryMs: [], totalMs: [] };
  let summaryChars = 0;
  for (let i = 0; i < ctx.runs; i++) {
    const p = await runProbe("bench/probes/ours-command-phases.mjs", [executionId], { nodeFlags: [] });
    for (const key of Object.keys(phases)) phases[key].push(p[key]);
    summaryChars = p.summaryChars;
    ctx.log(`command phases ${i + 1}: stream ${p.streamMs.toFixed(0)}, trace ${p.traceMs.toFixed(0)}, reconcile ${p.reconcileMs.toFixed(0)}, summary ${p.summaryMs.toFixed(0)} ms`);
  }
  const budget = `budget ${(wallSdk.median / 1.5).toFixed(0)} ms for the whole command`;
  const phase = (measure, ours, baseline = null, baselineLabel = "") =>
    row({ figure: "3 whole command, phases", measure, unit: "ms", ours: summarize(ours), baseline, baselineLabel, target: budget, pass: null });
  const sdkTotal = sdk.liveTraceMs.map((ms, i) => ms + sdk.traceMs[i]);
  return [
    row({
      figure: "3 whole command",
      measure: `--format json, ${PAIRS * 2 + 2} events + Trace of ${PAIRS} steps: wall time`,
      unit: "ms",
      ours: wallOurs,
      baseline: wallSdk,
      baselineLabel: "SDK script",
      ratio: speedup,
      target: ">= 1.5x faster",
      pass: speedup >= 1.5 && problems.length === 0,
      note: problems.length ? `summary wrong: ${[...new Set(problems)].join("; ")}` : "summary exact, final Trace applied",
    }),
    row({
      figure: "3 whole command",
      measure: "peak RSS",
      unit: "MB",
      ours: rssOurs,
      baseline: rssSdk,
      baselineLabel: "SDK script",
      ratio: rssSdk.median / rssOurs.median,
      target: "<= SDK script",
      pass: rssOurs.median <= rssSdk.median,
    }),
    phase("stream to the end (decoder + reducer)", phases.streamMs, summarize(sdk.liveTraceMs), "SDK liveTrace()"),
    phase("final Trace: read, validated, each step reconciled", phases.traceMs, summarize(sdk.traceMs), "SDK trace()"),
    phase("reconcile: the rows put in the table, the sums", phases.reconcileMs),
    phase(`json summary written (${(summaryChars / 1e6).toFixed(0)} MB)`, phases.summaryMs),
    phase("all phases, in one process (no start-up)", phases.totalMs, summarize(sdkTotal), "SDK both calls"),
  ];
}
