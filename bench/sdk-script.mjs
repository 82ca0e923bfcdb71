// The whole-command baseline: what a script using the official SDK does to get the same
// answer as `noukai-top <id> --format json`: follow the live trace to the end, then load
// the full trace. Prints a one-line JSON result (with the time of each of the two phases).
// Usage: NOUKAI_API_KEY=nk_... node bench/sdk-script.mjs <org/project/slug> <executionId>
import { Noukai } from "@noukai/sdk";

const [flow, executionId] = process.argv.slice(2);
const noukai = new Noukai({ env: "dev" });
const run = noukai.flow(flow).run(executionId);

const t0 = performance.now();
let events = 0;
for await (const event of run.liveTrace()) {
  if (event.type !== undefined) events++;
}
const t1 = performance.now();
const trace = await run.trace();
const t2 = performance.now();
await noukai.close();
const result = { events, status: trace.flowRun.status, steps: trace.steps.length, liveTraceMs: t1 - t0, traceMs: t2 - t1 };
process.stdout.write(`${JSON.stringify(result)}\n`);
