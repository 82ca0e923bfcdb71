// Figure 2: large frames. 40 step_output frames of 8 MB in 16 KB chunks, noukai-top's
// ingest path against the SDK (whose buffer search restarts from the start of the frame
// on every chunk: quadratic in frame size); then the time per MB at 1, 2, 4 and 8 MB
// frames, which must stay flat (linear time).
import { runProbe } from "../lib/proc.mjs";
import { row } from "../lib/report.mjs";
import { summarize } from "../lib/stats.mjs";

const MB = 1024 * 1024;
const SCALE_SIZES_MB = [1, 2, 4, 8];
/** The SDK's per-MB trend is shown on a few frames per size: its 8 MB frames take seconds each. */
const SDK_SCALE_FRAMES = 4;
/** The SDK needs a minute or more per 40 x 8 MB run: at most this many runs of it (and of the scale rows). */
const SDK_MAX_RUNS = 2;

async function timeFrames(ctx, probe, sizeMb, count) {
  const executionId = `frames-${sizeMb * MB}-${count}`;
  await ctx.prepare(executionId);
  const result = await runProbe(probe, [executionId], { timeoutMs: 900_000 });
  if (result.events !== count * 2 + 2) throw new Error(`${probe} saw ${result.events} events on ${executionId}, want ${count * 2 + 2}`);
  return result.ms;
}

export async function run(ctx) {
  const count = ctx.quick ? 8 : 40;
  // Bytes of frames per scale measurement (the same total at every size, so fixed costs match).
  const scaleTotalMb = ctx.quick ? 64 : 160;
  const ours = [];
  const sdk = [];
  for (let i = 0; i < ctx.runs; i++) {
    ours.push(await timeFrames(ctx, "bench/probes/ours-stream.mjs", 8, count));
    ctx.log(`frames run ${i + 1}: ours ${ours.at(-1).toFixed(0)} ms`);
    if (i < SDK_MAX_RUNS) {
      sdk.push(await timeFrames(ctx, "bench/probes/sdk-stream.mjs", 8, count));
      ctx.log(`frames run ${i + 1}: sdk ${sdk.at(-1).toFixed(0)} ms`);
    }
  }
  const o = summarize(ours);
  const s = summarize(sdk);
  const rows = [
    row({
      figure: "2 large frames",
      measure: `${count} x 8 MB step_output, 16 KB chunks`,
      unit: "ms",
      ours: o,
      baseline: s,
      baselineLabel: "SDK liveTrace",
      ratio: s.median / o.median,
      target: ">= 20x faster",
      pass: s.median / o.median >= 20,
    }),
  ];

  const perMb = new Map();
  for (const sizeMb of SCALE_SIZES_MB) {
    const oursPerMb = [];
    const sdkPerMb = [];
    for (let i = 0; i < ctx.runs; i++) {
      const frames = scaleTotalMb / sizeMb;
      oursPerMb.push((await timeFrames(ctx, "bench/probes/ours-stream.mjs", sizeMb, frames)) / scaleTotalMb);
      if (i < SDK_MAX_RUNS) {
        sdkPerMb.push((await timeFrames(ctx, "bench/probes/sdk-stream.mjs", sizeMb, SDK_SCALE_FRAMES)) / (SDK_SCALE_FRAMES * sizeMb));
      }
    }
    perMb.set(sizeMb, { ours: summarize(oursPerMb), sdk: summarize(sdkPerMb) });
    ctx.log(`frames ${sizeMb} MB: ours ${perMb.get(sizeMb).ours.median.toFixed(2)} ms/MB, sdk ${perMb.get(sizeMb).sdk.median.toFixed(2)} ms/MB`);
  }
  const smallest = perMb.get(SCALE_SIZES_MB[0]).ours.median;
  for (const [sizeMb, { ours: oursPerMb, sdk: sdkPerMb }] of perMb) {
    const growth = oursPerMb.median / smallest;
    rows.push(
      row({
        figure: "2 large frames",
        measure: `time per MB at ${sizeMb} MB frames (${scaleTotalMb} MB; SDK: ${SDK_SCALE_FRAMES} frames)`,
        unit: "ms/MB",
        ours: oursPerMb,
        baseline: sdkPerMb,
        baselineLabel: "SDK",
        ratio: sdkPerMb.median / oursPerMb.median,
        target: "linear: <= 1.5x the 1 MB time per MB",
        pass: growth <= 1.5,
        note: `${growth.toFixed(2)}x the 1 MB figure`,
      }),
    );
  }
  return rows;
}
