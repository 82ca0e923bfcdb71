// Figure 1: 500,000 events over loopback HTTP in 64 KB chunks. noukai-top's ingest path
// (openStream + SSE decoder + reduceRun, exact decimal totals checked) against the SDK's
// run.liveTrace() consuming every event, on the same bytes from the same server. Then, as
// information, where the time goes: the body read alone, read and decoded without the
// reducer, and bench/probes/bound-decoder.mjs (a decoder written for exactly these two
// payloads: what is left for the rest of the path when decoding costs as little as it can).
import { runProbe } from "../lib/proc.mjs";
import { row } from "../lib/report.mjs";
import { summarize } from "../lib/stats.mjs";
import { canonicalDecimal, expectedTotals, unitsToDecimal } from "../lib/workload.mjs";

const PAIRS = 250_000;

export async function run(ctx) {
  const executionId = `ingest-${PAIRS}`;
  await ctx.prepare(executionId);
  const ours = [];
  const oursMs = [];
  const sdk = [];
  const sdkMs = [];
  const inexact = [];
  for (let i = 0; i < ctx.runs; i++) {
    const o = await runProbe("bench/probes/ours-stream.mjs", [executionId, "--expect-pairs", String(PAIRS)]);
    if (!o.totals.exact) inexact.push(`got ${JSON.stringify(o.totals.got)}, want ${JSON.stringify(o.totals.want)}`);
    ours.push(o.events / (o.ms / 1000));
    oursMs.push(o.ms);
    const s = await runProbe("bench/probes/sdk-stream.mjs", [executionId]);
    sdk.push(s.events / (s.ms / 1000));
    sdkMs.push(s.ms);
    ctx.log(`ingest run ${i + 1}: ours ${o.ms.toFixed(0)} ms (${o.events} events), sdk ${s.ms.toFixed(0)} ms (${s.events} events)`);
  }
  const o = summarize(ours);
  const s = summarize(sdk);
  const ratio = o.median / s.median;
  // The time the target leaves: half the SDK's median time for the same events.
  const budgetMs = summarize(sdkMs).median / 2;
  const stages = [
    ["read: the body through undici, not decoded", "bench/probes/ours-stream.mjs", ["--stage", "read"]],
    ["read + decode (events built, no reducer)", "bench/probes/ours-stream.mjs", ["--stage", "decode"]],
    ["read + bound decoder, no reducer", "bench/probes/bound-decoder.mjs", []],
    ["read + bound decoder + our reducer", "bench/probes/bound-decoder.mjs", ["--state", "ours"]],
    ["read + bound decoder + a state of bytes and typed arrays (no string or object per step)", "bench/probes/bound-decoder.mjs", ["--state", "bytes"]],
  ];
  const expectedCost = canonicalDecimal(expectedTotals(PAIRS).costUsd);
  const breakdown = [];
  const budget = `budget ${budgetMs.toFixed(0)} ms (2x SDK)`;
  for (const [measure, probe, args] of stages) {
    const ms = [];
    for (let i = 0; i < ctx.runs; i++) {
      const r = await runProbe(probe, [executionId, ...args]);
      // The bytes state keeps its cost total as integer units of 1e-8 USD: it must be exact too.
      if (r.costUnits !== undefined && canonicalDecimal(unitsToDecimal(BigInt(r.costUnits))) !== expectedCost) {
        throw new Error(`bound decoder's state: cost ${r.costUnits} units, want ${expectedCost}`);
      }
      ms.push(r.ms);
    }
    ctx.log(`ingest breakdown, ${measure}: ${ms.map((v) => v.toFixed(0)).join(", ")} ms`);
    breakdown.push(
      row({
        figure: "1 ingest, breakdown",
        measure,
        unit: "ms",
        ours: summarize(ms),
        target: budget,
        pass: null,
      }),
    );
  }
  breakdown.push(
    row({
      figure: "1 ingest, breakdown",
      measure: "read + decode + reducer: the whole ingest (as above)",
      unit: "ms",
      ours: summarize(oursMs),
      baseline: summarize(sdkMs),
      baselineLabel: "SDK liveTrace",
      target: budget,
      pass: null,
    }),
  );
  return [
    row({
      figure: "1 ingest",
      measure: `${PAIRS * 2 + 2} events, 64 KB chunks`,
      unit: "ev/s",
      ours: o,
      baseline: s,
      baselineLabel: "SDK liveTrace",
      ratio,
      target: ">= 2x SDK, exact totals",
      pass: ratio >= 2 && inexact.length === 0,
      note: inexact.length ? `totals not exact: ${inexact[0]}` : "totals exact",
    }),
    ...breakdown,
  ];
}
