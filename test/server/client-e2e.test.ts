// noukai-top's own client (TraceClient + monitorRun) follows every built-in flow on the
// embedded server to its end: both outcomes, no malformed or unknown frames.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TraceClient } from "../../src/api/client.js";
import { monitorRun } from "../../src/api/monitor.js";
import { parseFlowRef, type FlowRef } from "../../src/api/paths.js";
import type { MonitorSignal, ReceivedEvent } from "../../src/api/signals.js";
import { BUILTIN_FLOWS, startServer, type RunningServer } from "../../src/server/index.js";
import { KEY } from "./support.js";

let server: RunningServer;
let client: TraceClient;

beforeAll(async () => {
  server = await startServer({ port: 0, speed: 100, seed: 21, requireKey: KEY });
  client = new TraceClient({ baseUrl: server.url, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await client.close();
  await server.close();
});

function refOf(text: string): FlowRef {
  const ref = parseFlowRef(text);
  if ("error" in ref) throw new Error(ref.error);
  return ref;
}

async function follow(flow: FlowRef, executionId: string): Promise<{ signals: MonitorSignal[]; events: ReceivedEvent[]; result: Awaited<ReturnType<typeof monitorRun>> }> {
  const signals: MonitorSignal[] = [];
  const result = await monitorRun({
    client,
    flow,
    executionId,
    signal: new AbortController().signal,
    onSignal: (signal) => signals.push(signal),
  });
  const events = signals.flatMap((s) => (s.type === "stream/events" ? s.events : []));
  return { signals, events, result };
}

const EXPECTED: Record<string, { status: string; retried: string[] }> = {
  "acme/spelling/grade-3": { status: "completed", retried: ["spell-check#"] },
  "demo/playground/essay-pipeline": { status: "completed", retried: ["summarize-chunk#5", "extract-claims#"] },
  "demo/playground/always-fails": { status: "failed", retried: ["call-provider#"] },
};

describe("TraceClient and monitorRun against the embedded server", () => {
  it.each(BUILTIN_FLOWS.map((flow) => flow.ref))("%s", async (ref) => {
    const flow = refOf(ref);
    const expected = EXPECTED[ref];
    if (expected === undefined) throw new Error(`no expectation for ${ref}`);
    const submitted = await client.submitJob(flow, { message: "hello", trace: true });
    const { signals, events, result } = await follow(flow, submitted.executionId);

    expect(result.status).toBe(expected.status);
    expect(signals.filter((s) => s.type === "stream/malformed" || s.type === "stream/unknown")).toEqual([]);
    expect(signals.filter((s) => s.type === "stream/opened")).toHaveLength(1);
    expect(events[0]?.event.type).toBe("run_started");
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i + 1)));
    const lastType = events.at(-1)?.event.type;
    expect(lastType).toBe(expected.status === "completed" ? "flow_completed" : "step_error");

    expect(result.trace?.flowRun.status).toBe(expected.status);
    expect(result.trace?.flowRun.stepCount).toBe(submitted.blockCount);
    expect([...(result.retriedAttempts?.keys() ?? [])].sort()).toEqual([...expected.retried].sort());
    for (const attempts of result.retriedAttempts?.values() ?? []) {
      expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
      expect(attempts[0]?.status).toBe("failed");
    }
  });

  it("a stream reopened with Last-Event-ID continues where it left off", async () => {
    const flow = refOf("acme/spelling/grade-3");
    const { executionId } = await client.submitJob(flow, {});
    const { events } = await follow(flow, executionId);
    const opened = await client.openStream(flow, executionId, { lastEventId: String(events.length - 1) });
    let text = "";
    for await (const chunk of opened.body) text += Buffer.from(chunk).toString("utf8");
    expect(text).toMatch(new RegExp(`^id: ${String(events.length)}\nevent: flow_completed\n`));
    expect(opened.requestId).toMatch(/^req_/);
  });

  it("execute and job status through the client", async () => {
    const flow = refOf("demo/playground/always-fails");
    const executed = await client.execute(flow, { message: "x" });
    expect(executed.status).toBe("failed");
    const job = await client.jobStatus(flow, executed.executionId);
    expect(job.status).toBe("failed");
    expect(String(job.error)).toContain("UPSTREAM_UNAVAILABLE");
  });
});
