// Figure 1: 500,000 events over loopback HTTP in 64 KB chunks. noukai-top's ingest path
// (openStream + SSE decoder + reduceRun, exact decimal totals checked) against the SDK's
// run.liveTrace() consuming every event, on the same bytes from the same server.
import { runProbe } from "../lib/proc.mjs";
import { row } from "../lib/report.mjs";
import { summarize } from "../lib/stats.mjs";

const PAIRS = 250_000;

export async function run(ctx) {
  const executionId = `ingest-${PAIRS}`;
  await ctx.prepare(executionId);
  const ours = [];
  const sdk = [];
  const inexact = [];
  for (let i = 0; i < ctx.runs; i++) {
    const o = await runProbe("bench/probes/ours-stream.mjs", [executionId, "--expect-pairs", String(PAIRS)]);
    if (!o.totals.exact) inexact.push(`got ${JSON.stringify(o.totals.got)}, want ${JSON.stringify(o.totals.want)}`);
    ours.push(o.events / (o.ms / 1000));
    const s = await runProbe("bench/probes/sdk-stream.mjs", [executionId]);
    sdk.push(s.events / (s.ms / 1000));
    ctx.log(`ingest run ${i + 1}: ours ${o.ms.toFixed(0)} ms (${o.events} events), sdk ${s.ms.toFixed(0)} ms (${s.events} events)`);
  }
  const o = summarize(ours);
  const s = summarize(sdk);
  const ratio = o.median / s.median;
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
  ];
}
