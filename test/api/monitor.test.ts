import { afterEach, describe, expect, it, vi } from "vitest";
import { TraceClient } from "../../src/api/client.js";
import {
  MonitorError,
  clampServerRetry,
  monitorRun,
  reconnectDelay,
  type MonitorOptions,
  type MonitorResult,
} from "../../src/api/monitor.js";
import type { FlowRef } from "../../src/api/paths.js";
import type { MonitorSignal } from "../../src/api/signals.js";
import { frame, reply, sseStream, startSseServer, type SseServer, type SseServerScript } from "../helpers/sseServer.js";

const FLOW: FlowRef = { org: "acme", project: "proj", slug: "flow" };
const EXECUTION_ID = "exec-1";
const API_KEY = "nk_test_monitor_0123456789";

const TRACE = {
  flowRun: { id: "run-1", flowId: "flow-1", status: "completed", stepCount: 3 },
  steps: [
    { stepId: "s1", attempt: 1, status: "completed", costUsd: "0.1" },
    { stepId: "s2", attempt: 2, status: "completed", costUsd: "0.2" },
    { stepId: "loop", attempt: 3, loopIndex: 1, status: "completed", costUsd: "0.3" },
  ],
};

/** The whole run, as every connection replays it; ids 1..6. */
const HISTORY = [
  frame("run_started", { runId: "run-1", executionId: EXECUTION_ID, stepCount: 3 }, { id: "1" }),
  frame("step_started", { stepId: "s1", name: "first" }, { id: "2" }),
  frame("step_completed", { stepId: "s1", costUsd: "0.1" }, { id: "3" }),
  frame("step_started", { stepId: "s2", name: "second" }, { id: "4" }),
  frame("step_completed", { stepId: "s2", costUsd: "0.2" }, { id: "5" }),
];
const FLOW_COMPLETED = frame("flow_completed", { runId: "run-1", summary: { status: "completed" } }, { id: "6" });
const FULL_RUN = HISTORY.join("") + FLOW_COMPLETED;

const RUNNING = reply(200, { executionId: EXECUTION_ID, status: "running" });
const COMPLETED = reply(200, { executionId: EXECUTION_ID, status: "completed" });

function attemptsReply(stepId: string, query: URLSearchParams) {
  expect(query.get("attempt")).toBe("all");
  const step = TRACE.steps.find((s) => s.stepId === stepId);
  if (step === undefined) return reply(404, { detail: { code: "STEP_NOT_FOUND", message: stepId } });
  const attempts = Array.from({ length: step.attempt }, (_, i) => ({ ...step, attempt: i + 1 }));
  return reply(200, { stepId, attempts });
}

let server: SseServer | undefined;
let client: TraceClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function setup(script: SseServerScript): Promise<{ server: SseServer; client: TraceClient }> {
  server = await startSseServer({ trace: [reply(200, TRACE)], steps: attemptsReply, ...script });
  client = new TraceClient({ baseUrl: server.baseUrl, apiKey: API_KEY, backoffScale: 0.001, maxRetries: 1 });
  return { server, client };
}

interface Run {
  signals: MonitorSignal[];
  result?: MonitorResult;
  error?: unknown;
}

async function watch(
  traceClient: TraceClient,
  overrides: Partial<MonitorOptions> = {},
  controller = new AbortController(),
): Promise<Run> {
  const run: Run = { signals: [] };
  try {
    run.result = await monitorRun({
      client: traceClient,
      flow: FLOW,
      executionId: EXECUTION_ID,
      signal: controller.signal,
      onSignal: (s) => run.signals.push(s),
      backoff: { baseMs: 5, capMs: 50 },
      ...overrides,
    });
  } catch (error) {
    run.error = error;
  }
  return run;
}

const ofType = <T extends MonitorSignal["type"]>(run: Run, type: T) =>
  run.signals.filter((s): s is Extract<MonitorSignal, { type: T }> => s.type === type);

const eventIds = (run: Run, connection?: number): (string | undefined)[] => {
  // Events after the n-th stream/opened (1-based), or all events.
  let opened = 0;
  const ids: (string | undefined)[] = [];
  for (const s of run.signals) {
    if (s.type === "stream/opened") opened += 1;
    if (s.type === "stream/events" && (connection === undefined || opened === connection)) {
      ids.push(...s.events.map((e) => e.id));
    }
  }
  return ids;
};

/**
 * Active handles once earlier tests' sockets and timers are gone: sampled until two
 * samples 20 ms apart agree and no TCP socket is open (at most about 2 s).
 */
async function settledResources(): Promise<string[]> {
  let previous = "";
  for (let i = 0; i < 100; i++) {
    const sample = process.getActiveResourcesInfo().sort();
    const key = sample.join();
    if (key === previous && !sample.includes("TCPSocketWrap")) return sample;
    previous = key;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.getActiveResourcesInfo().sort();
}

/**
 * Records the timers created from now on (real timers, passed through): `pending()`
 * lists those still armed and holding the process open (unref'd ones are not leaks).
 */
function trackTimers(): { pending: () => NodeJS.Timeout[]; restore: () => void } {
  const armed = new Set<NodeJS.Timeout>();
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  const setSpy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const timer = realSetTimeout(() => {
      armed.delete(timer);
      callback(...args);
    }, ms);
    armed.add(timer);
    return timer;
  }) as typeof setTimeout);
  const clearSpy = vi.spyOn(globalThis, "clearTimeout").mockImplementation((timer) => {
    armed.delete(timer as NodeJS.Timeout);
    realClearTimeout(timer);
  });
  return {
    pending: () => [...armed].filter((timer) => timer.hasRef()),
    restore: () => {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    },
  };
}

const count = (resources: readonly string[], type: string): number => resources.filter((r) => r === type).length;

describe("monitorRun lifecycle", () => {
  it("follows a clean run, then loads the trace and the attempts of retried steps", async () => {
    const { server, client } = await setup({ streams: [sseStream([{ write: FULL_RUN }, "stall"])] });
    const run = await watch(client);
    expect(run.error).toBeUndefined();
    expect(run.result?.status).toBe("completed");
    expect(run.result?.trace?.steps).toHaveLength(3);
    expect([...(run.result?.retriedAttempts?.keys() ?? [])].sort()).toEqual(["loop#1", "s2#"]);
    expect(run.result?.retriedAttempts?.get("loop#1")?.map((a) => a.attempt)).toEqual([1, 2, 3]);

    const types = run.signals.map((s) => s.type).filter((t) => t !== "stream/events" && t !== "attempts/loaded");
    expect(types).toEqual(["stream/connecting", "stream/opened", "stream/ended", "trace/loaded"]);
    expect(eventIds(run)).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(ofType(run, "stream/opened")[0]?.resumed).toBe(false);
    expect(ofType(run, "trace/loaded")[0]?.final).toBe(true);
    expect(ofType(run, "attempts/loaded").map((s) => [s.stepId, s.loopIndex, s.attempts.length]).sort()).toEqual([
      ["loop", 1, 3],
      ["s2", null, 2],
    ]);
    const loopRequest = server.requestsOf("steps").find((r) => r.stepId === "loop");
    expect(loopRequest?.query.get("loop_index")).toBe("1");
    // flow_completed ends the watch: the stalled stream is not waited for, no status check.
    expect(server.requestsOf("job")).toHaveLength(0);
    expect(server.requestsOf("stream")[0]?.headers["last-event-id"]).toBeUndefined();
  });

  it("with newTraceStepSink, the trace's steps go to the sink and the attempts of retried steps are still loaded", async () => {
    const { client } = await setup({ streams: [sseStream([{ write: FULL_RUN }, "stall"])] });
    const sinks: string[][] = [];
    const run = await watch(client, {
      newTraceStepSink: () => {
        const ids: string[] = [];
        sinks.push(ids);
        return { add: (step) => ids.push(`${step.stepId}#${step.loopIndex ?? ""}@${step.attempt}`) };
      },
    });
    expect(run.error).toBeUndefined();
    expect(sinks).toEqual([["s1#@1", "s2#@2", "loop#1@3"]]);
    expect(run.result?.trace?.steps).toEqual([]);
    const loaded = ofType(run, "trace/loaded");
    expect(loaded.map((s) => [s.final, s.stepsTaken, s.trace.steps.length])).toEqual([[true, true, 0]]);
    expect([...(run.result?.retriedAttempts?.keys() ?? [])].sort()).toEqual(["loop#1", "s2#"]);
  });

  it("finishes at once when the run was already over: the replay ends, the status says completed", async () => {
    const { server, client } = await setup({
      streams: [sseStream([{ write: HISTORY.join("") }, "end"])],
      jobStatus: [COMPLETED],
    });
    const run = await watch(client, { fetchRetriedAttempts: false });
    expect(run.result?.status).toBe("completed");
    expect(run.result?.retriedAttempts).toBeNull();
    expect(ofType(run, "run/status").map((s) => s.status)).toEqual(["completed"]);
    expect(ofType(run, "stream/reconnecting")).toEqual([]);
    expect(server.requestsOf("stream")).toHaveLength(1);
    expect(server.requestsOf("steps")).toHaveLength(0);
  });

  it("takes a failed or cancelled status from flow_completed's summary, and the trace's status over it", async () => {
    const failedRun = HISTORY.join("") + frame("flow_completed", { summary: { status: "failed" } });
    const { client } = await setup({ streams: [sseStream([{ write: failedRun }, "end"])], trace: [reply(500, "down")] });
    const run = await watch(client);
    expect(run.result).toEqual({ status: "failed", trace: null, retriedAttempts: null, traceError: "HTTP 500: down (request id req-3)" });

    server?.setScript({
      streams: [sseStream([{ write: HISTORY.join("") + frame("flow_completed", {}) }, "end"])],
      trace: [reply(200, { ...TRACE, flowRun: { ...TRACE.flowRun, status: "cancelled" } })],
      steps: attemptsReply,
    });
    expect((await watch(client)).result?.status).toBe("cancelled");
  });

  it("gives null retriedAttempts when one attempts fetch fails", async () => {
    const { client } = await setup({
      streams: [sseStream([{ write: FULL_RUN }, "end"])],
      steps: (stepId, query) =>
        stepId === "loop" ? reply(404, { detail: { code: "STEP_NOT_FOUND", message: "gone" } }) : attemptsReply(stepId, query),
    });
    const run = await watch(client);
    expect(run.result?.trace).not.toBeNull();
    expect(run.result?.retriedAttempts).toBeNull();
  });

  it("reports malformed and unknown frames as counts", async () => {
    const stream = [
      HISTORY[0],
      "event: step_started\ndata: {oops\n\n",
      "event: step_started\ndata: {oops\n\n",
      frame("step_teleported", { stepId: "x" }),
      FLOW_COMPLETED,
    ].join("");
    const { client } = await setup({ streams: [sseStream([{ write: stream }, "end"])] });
    const run = await watch(client);
    expect(ofType(run, "stream/malformed").map((s) => [s.reason, s.count])).toEqual([["invalid JSON", 2]]);
    expect(ofType(run, "stream/unknown").map((s) => s.count)).toEqual([1]);
    expect(run.result?.status).toBe("completed");
  });

  it("passes raw frames to onRawFrame", async () => {
    const { client } = await setup({ streams: [sseStream([{ write: FULL_RUN }, "end"])] });
    const raw: string[] = [];
    await watch(client, { onRawFrame: (f) => raw.push(`${f.event}#${f.id ?? ""}`), fetchRetriedAttempts: false });
    expect(raw).toEqual([
      "run_started#1",
      "step_started#2",
      "step_completed#3",
      "step_started#4",
      "step_completed#5",
      "flow_completed#6",
    ]);
  });
});

describe("monitorRun under faults", () => {
  it("reconnects after a drop mid-frame, sends Last-Event-ID, and takes the full replay", async () => {
    const { server, client } = await setup({
      streams: [
        sseStream([{ write: HISTORY.slice(0, 3).join("") }, { wait: 20 }, { write: "event: step_started\nid: 4\ndata: {\"st" }, "reset"]),
        sseStream([{ write: FULL_RUN }, "end"]),
      ],
      jobStatus: [RUNNING],
    });
    const run = await watch(client);
    expect(run.error).toBeUndefined();
    expect(run.result?.status).toBe("completed");
    expect(server.requestsOf("stream").map((r) => r.headers["last-event-id"])).toEqual([undefined, "3"]);
    // The server ignored Last-Event-ID and replayed from the start: not a resume.
    expect(ofType(run, "stream/opened").map((s) => s.resumed)).toEqual([false, false]);
    expect(eventIds(run, 1)).toEqual(["1", "2", "3"]);
    expect(eventIds(run, 2)).toEqual(["1", "2", "3", "4", "5", "6"]);
    const closed = ofType(run, "stream/closed");
    expect(closed).toHaveLength(1);
    expect(closed[0]?.reason).toMatch(/^connection lost/);
    expect(ofType(run, "run/status").map((s) => s.status)).toEqual(["running"]);
    expect(ofType(run, "stream/reconnecting").map((s) => s.attempt)).toEqual([2]);
    expect(ofType(run, "stream/malformed")).toEqual([]);
  });

  it("marks a connection resumed when the server honoured Last-Event-ID", async () => {
    const { client } = await setup({
      streams: [
        sseStream([{ write: HISTORY.slice(0, 3).join("") }, "end"]),
        sseStream([{ write: HISTORY.slice(3).join("") + FLOW_COMPLETED }, "end"]),
      ],
      jobStatus: [RUNNING],
    });
    const run = await watch(client);
    expect(ofType(run, "stream/opened").map((s) => s.resumed)).toEqual([false, true]);
    expect(ofType(run, "stream/closed")[0]?.reason).toBe("the stream ended before the run did");
    expect(eventIds(run, 2)).toEqual(["4", "5", "6"]);
  });

  it("retries a 503 with backoff, without asking the status, and recovers", async () => {
    const { server, client } = await setup({
      streams: [
        reply(503, { detail: { code: "INTERNAL_ERROR", message: "busy" } }),
        reply(503, { detail: { code: "INTERNAL_ERROR", message: "busy" } }),
        sseStream([{ write: FULL_RUN }, "end"]),
      ],
    });
    const run = await watch(client, { random: () => 0.5 });
    expect(run.result?.status).toBe("completed");
    const reconnecting = ofType(run, "stream/reconnecting");
    expect(reconnecting.map((s) => [s.attempt, s.delayMs])).toEqual([
      [2, 7], // 5 ms + 0.5 * (10 - 5) ms, floored
      [3, 12], // 5 ms + 0.5 * (20 - 5) ms
    ]);
    expect(reconnecting[0]?.reason).toMatch(/^HTTP 503 INTERNAL_ERROR: busy \(request id req-\d+\)$/);
    expect(server.requestsOf("job")).toHaveLength(0);
    expect(ofType(run, "stream/connecting").map((s) => s.attempt)).toEqual([1, 2, 3]);
  });

  it("waits Retry-After on a 429", async () => {
    const { server, client } = await setup({
      streams: [reply(429, { detail: { code: "RATE_LIMITED", message: "slow down" } }, { "retry-after": "2" }), sseStream([{ write: FULL_RUN }, "end"])],
    });
    const run = await watch(client, { random: () => 0, delayScale: 0.001 });
    expect(run.result?.status).toBe("completed");
    expect(ofType(run, "stream/reconnecting").map((s) => s.delayMs)).toEqual([2000]);
    expect(server.requestsOf("stream")).toHaveLength(2);
  });

  it("clamps the server's retry: hint to 1-60 s and keeps it across connections", async () => {
    const partial = HISTORY.slice(0, 2).join("");
    const { client } = await setup({
      streams: [
        sseStream([{ write: `retry: 0\n\n${partial}` }, "end"]),
        sseStream([{ write: `retry: 100000000000\n\n${partial}` }, "end"]),
        sseStream([{ write: `retry: 10abc\n\nretry: 1e11\n\n${partial}` }, "end"]),
        sseStream([{ write: FULL_RUN }, "end"]),
      ],
      jobStatus: [RUNNING],
    });
    const run = await watch(client, { random: () => 0, delayScale: 0.0001 });
    expect(run.result?.status).toBe("completed");
    expect(ofType(run, "stream/reconnecting").map((s) => s.delayMs)).toEqual([1000, 60_000, 60_000]);
  });

  it("checks the status and reconnects when a stream stays silent with the socket open", async () => {
    const { server, client } = await setup({
      streams: [sseStream([{ write: HISTORY.slice(0, 2).join("") }, "stall"]), sseStream([{ write: FULL_RUN }, "end"])],
      jobStatus: [RUNNING],
    });
    const run = await watch(client, { idleTimeoutMs: 150 });
    expect(run.result?.status).toBe("completed");
    expect(ofType(run, "run/status").map((s) => s.status)).toEqual(["running"]);
    expect(ofType(run, "stream/closed").map((s) => s.reason)).toEqual(["no data for 0.2 s"]);
    expect(server.requestsOf("stream")).toHaveLength(2);
  });

  it("keeps a slow trickle alive: comments and partial frames count as activity", async () => {
    const { client } = await setup({
      streams: [sseStream([{ trickle: `: hi\n\n${HISTORY[0] ?? ""}${FLOW_COMPLETED}`, size: 8, everyMs: 10 }, "end"])],
    });
    const run = await watch(client, { idleTimeoutMs: 200, fetchRetriedAttempts: false });
    expect(run.result?.status).toBe("completed");
    expect(ofType(run, "stream/closed")).toEqual([]);
    expect(eventIds(run)).toEqual(["1", "6"]);
  });

  it("falls back to the trace's run status when the job status fails", async () => {
    const { server, client } = await setup({
      streams: [sseStream([{ write: HISTORY.join("") }, "end"])],
      jobStatus: [reply(404, { detail: { code: "RUN_NOT_FOUND", message: "not a job" } })],
    });
    const run = await watch(client, { fetchRetriedAttempts: false });
    expect(run.result?.status).toBe("completed");
    expect(ofType(run, "run/status").map((s) => s.status)).toEqual(["completed"]);
    expect(server.requestsOf("trace").length).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ["401", reply(401, { detail: { code: "UNAUTHORIZED", message: "bad key" } }), 401, /^HTTP 401 UNAUTHORIZED: bad key \(request id req-1\)$/],
    ["404", reply(404, { detail: { code: "RUN_NOT_FOUND", message: "no run exec-1" } }), 404, /HTTP 404 RUN_NOT_FOUND: no run exec-1/],
    ["403", reply(403, { detail: "forbidden" }), 403, /HTTP 403: forbidden/],
    ["204", reply(204), 204, /204/],
    ["JSON instead of a stream", sseStream([{ write: "{}" }, "end"], { contentType: "application/json" }), 200, /not text\/event-stream/],
  ] as const)("stops with a MonitorError on %s", async (_label, answer, status, message) => {
    const { server, client } = await setup({ streams: [answer] });
    const run = await watch(client);
    expect(run.error).toBeInstanceOf(MonitorError);
    const error = run.error as MonitorError;
    expect(error.exitStatus).toBe(3);
    expect(error.status).toBe(status);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(API_KEY);
    expect(server.requestsOf("stream")).toHaveLength(1);
    expect(ofType(run, "stream/reconnecting")).toEqual([]);
  });

  it("gives up after giveUpAfterMs without any successful answer", async () => {
    const { client } = await setup({ streams: [reply(502, "bad gateway")] });
    let clock = 0;
    const run = await watch(client, { now: () => (clock += 1000), giveUpAfterMs: 10_000 });
    expect(run.error).toBeInstanceOf(MonitorError);
    expect((run.error as MonitorError).status).toBeNull();
    expect((run.error as MonitorError).message).toMatch(/^no answer from the server for \d+ s \(last: HTTP 502: bad gateway/);
    // Delays never run past the deadline.
    expect(ofType(run, "stream/reconnecting").every((s) => s.delayMs <= 10_000)).toBe(true);
  });

  it("stops promptly on abort mid-stream and leaves no timer or socket behind", async () => {
    const { server, client } = await setup({ streams: [sseStream([{ write: HISTORY.join("") }, "stall"])] });
    const before = await settledResources();
    const timers = trackTimers();
    try {
      const controller = new AbortController();
      const signals: MonitorSignal[] = [];
      let streamLive: () => void = () => undefined;
      const live = new Promise<void>((resolve) => (streamLive = resolve));
      const running = monitorRun({
        client,
        flow: FLOW,
        executionId: EXECUTION_ID,
        signal: controller.signal,
        idleTimeoutMs: 60_000,
        onSignal: (s) => {
          signals.push(s);
          if (s.type === "stream/events") streamLive();
        },
      });
      await live;
      expect(timers.pending()).toHaveLength(1); // the idle watchdog
      controller.abort();
      await expect(running).rejects.toMatchObject({ name: "AbortError" });
      expect(signals.map((s) => s.type)).toEqual(["stream/connecting", "stream/opened", "stream/events"]);
      expect(timers.pending()).toEqual([]);
    } finally {
      timers.restore();
    }
    // The abort itself closed the stream: the server sees its socket go, before client.close().
    for (let i = 0; i < 100 && server.finishedStreams === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.finishedStreams).toBe(1);
    await client.close();
    // Timers are left out: undici's own timer bookkeeping moves Node's count of them
    // at unpredictable moments; the monitor's timers are checked exactly above.
    const after = await settledResources();
    expect(count(after, "TCPSocketWrap")).toBe(0);
    expect(after.filter((r) => r !== "Timeout")).toEqual(before.filter((r) => r !== "Timeout"));
  });
  it("stops promptly on abort during a reconnect wait", async () => {
    const { client } = await setup({
      streams: [reply(429, { detail: { code: "RATE_LIMITED", message: "later" } }, { "retry-after": "60" })],
    });
    const timers = trackTimers();
    try {
      const controller = new AbortController();
      const onSignal = (s: MonitorSignal): void => {
        if (s.type === "stream/reconnecting") setTimeout(() => controller.abort(), 10);
      };
      const run = await watch(client, { onSignal }, controller);
      expect((run.error as Error).name).toBe("AbortError");
      expect(timers.pending()).toEqual([]);
    } finally {
      timers.restore();
    }
  });
});

describe("reconnect delays", () => {
  const backoff = { baseMs: 1000, capMs: 30_000 };

  it("doubles the jitter ceiling per failure up to the cap, never below the base", () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 50].map((failures) =>
      reconnectDelay({ failures, backoff, random: () => 0.999_999, serverRetryMs: null, retryAfterMs: undefined }),
    );
    expect(ceilings).toEqual([1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999, 29_999]);
    for (const failures of [0, 1, 3, 50]) {
      expect(reconnectDelay({ failures, backoff, random: () => 0, serverRetryMs: null, retryAfterMs: undefined })).toBe(1000);
    }
  });

  it("treats server hints as a floor", () => {
    const base = { failures: 1, backoff, random: () => 0.5 };
    expect(reconnectDelay({ ...base, serverRetryMs: 5000, retryAfterMs: undefined })).toBe(5000);
    expect(reconnectDelay({ ...base, serverRetryMs: 1000, retryAfterMs: 7000 })).toBe(7000);
  });

  it("clamps retry: values to 1-60 s", () => {
    expect([0, 1, 999, 1000, 2500, 60_000, 60_001, 1e11, Number.NaN, -5].map(clampServerRetry)).toEqual([
      1000, 1000, 1000, 1000, 2500, 60_000, 60_000, 60_000, 1000, 1000,
    ]);
  });
});
