// Figure 8: memory. (a) 1,000,000 events / 500,000 steps through the ingest path: peak RSS
// of the whole process (the SDK consuming the same stream is shown for reference).
// (b) A time-compressed 24-hour stream at 50 events/s (4.32 M events: a long loop over
// the same steps), heapUsed sampled after gc: after the state is dropped the heap must be
// back where it started, i.e. nothing grew but the state itself.
import { runProbe } from "../lib/proc.mjs";
import { row } from "../lib/report.mjs";
import { slope, summarize } from "../lib/stats.mjs";

const MB = 1024 * 1024;
const LARGE_PAIRS = 500_000;
const DAY_EVENTS = 24 * 3600 * 50;
const LOOP_STEPS = 100;
const HEAP_SAMPLES = 40;
/** A short stream of the same shape ingested (and dropped) before the heap baseline is taken. */
const WARMUP_EVENTS = 50_000;
/** Heap left over after dropping the state that still counts as "no growth" (allocator noise). */
const RESIDUAL_TOLERANCE_MB = 5;

export async function run(ctx) {
  const largeId = `ingest-${LARGE_PAIRS}`;
  await ctx.prepare(largeId);
  const ours = [];
  const sdk = [];
  let inexact = null;
  // Peak RSS varies little from run to run: at most three runs of each side.
  for (let i = 0; i < Math.min(ctx.runs, 3); i++) {
    const o = await runProbe("bench/probes/ours-stream.mjs", [largeId, "--expect-pairs", String(LARGE_PAIRS)]);
    if (!o.totals.exact) inexact = `got ${JSON.stringify(o.totals.got)}`;
    ours.push(o.maxRssKb / 1024);
    const s = await runProbe("bench/probes/sdk-stream.mjs", [largeId]);
    sdk.push(s.maxRssKb / 1024);
    ctx.log(`memory run ${i + 1}: ours ${ours.at(-1).toFixed(0)} MB in ${o.ms.toFixed(0)} ms, sdk ${sdk.at(-1).toFixed(0)} MB`);
  }
  const rssOurs = summarize(ours);
  const rows = [
    row({
      figure: "8 memory",
      measure: `${LARGE_PAIRS * 2 + 2} events / ${LARGE_PAIRS} steps: peak RSS`,
      unit: "MB",
      ours: rssOurs,
      baseline: summarize(sdk),
      baselineLabel: "SDK liveTrace, no state",
      target: "<= 300 MB",
      pass: rssOurs.median <= 300 && inexact === null,
      note: inexact ? `totals not exact: ${inexact}` : "",
    }),
  ];

  const dayEvents = ctx.quick ? DAY_EVENTS / 4 : DAY_EVENTS;
  const loopId = `loop-${dayEvents}-${LOOP_STEPS}`;
  const warmupId = `loop-${WARMUP_EVENTS}-${LOOP_STEPS}`;
  const sampleEvery = String(Math.round(dayEvents / HEAP_SAMPLES));
  const day = await runProbe("bench/probes/ours-stream.mjs", [loopId, "--sample-every", sampleEvery, "--warmup-id", warmupId], {
    timeoutMs: 900_000,
  });
  const { baseline, samples, withState, withoutState } = day.heap;
  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  const slopeBytesPerKev = slope(secondHalf.map(([events]) => events / 1000), secondHalf.map(([, heap]) => heap));
  const stateMb = (withState - withoutState) / MB;
  const residualMb = (withoutState - baseline) / MB;
  const first = samples[0][1] / MB;
  const last = samples.at(-1)[1] / MB;
  ctx.log(`memory 24h: ${day.events} events in ${day.ms.toFixed(0)} ms, heap ${first.toFixed(1)} -> ${last.toFixed(1)} MB, state ${stateMb.toFixed(1)} MB`);
  rows.push(
    row({
      figure: "8 memory",
      measure: `24 h at 50 ev/s compressed (${day.events} events, loop over ${LOOP_STEPS} steps): heap after gc, first -> last`,
      unit: "MB",
      ours: { median: last, min: last, max: last, n: 1 },
      target: `no growth beyond the state (residual <= ${RESIDUAL_TOLERANCE_MB} MB)`,
      pass: residualMb <= RESIDUAL_TOLERANCE_MB,
      note: `first ${first.toFixed(1)} MB, last ${last.toFixed(1)} MB, late slope ${slopeBytesPerKev.toFixed(0)} B/1k ev, state ${stateMb.toFixed(1)} MB, residual ${residualMb.toFixed(1)} MB`,
    }),
  );
  return rows;
}
