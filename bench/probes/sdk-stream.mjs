// Baseline probe: the official SDK's `run.liveTrace()`, used the documented way, consuming
// every event of one stream. Prints one JSON line: {ms, events, maxRssKb}.
// Usage: node bench/probes/sdk-stream.mjs <executionId>
import { Noukai } from "@noukai/sdk";
import { API_KEY, FLOW_REF } from "../lib/workload.mjs";

const executionId = process.argv[2];
const noukai = new Noukai({ apiKey: API_KEY, env: "dev" });
const run = noukai.flow(FLOW_REF).run(executionId);

const started = performance.now();
let events = 0;
for await (const event of run.liveTrace()) {
  if (event.type !== undefined) events++;
}
const ms = performance.now() - started;
await noukai.close();
process.stdout.write(`${JSON.stringify({ ms, events, maxRssKb: process.resourceUsage().maxRSS })}\n`);
