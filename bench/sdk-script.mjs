// The whole-command baseline: what a script using the official SDK does to get the same
// answer as `noukai-top <id> --format json`: follow the live trace to the end, then load
// the full trace. Prints a one-line JSON result.
// Usage: NOUKAI_API_KEY=nk_... node bench/sdk-script.mjs <org/project/slug> <executionId>
import { Noukai } from "@noukai/sdk";

const [flow, executionId] = process.argv.slice(2);
const noukai = new Noukai({ env: "dev" });
const run = noukai.flow(flow).run(executionId);

let events = 0;
for await (const event of run.liveTrace()) {
  if (event.type !== undefined) events++;
}
const trace = await run.trace();
await noukai.close();
process.stdout.write(`${JSON.stringify({ events, status: trace.flowRun.status, steps: trace.steps.length })}\n`);
