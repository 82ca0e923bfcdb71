// Contract tests: the official SDK (@noukai/sdk 0.3.0, env "dev") drives the embedded
// server. The SDK's dev base URL is http://localhost:8080/api/v1, so the server binds
// 127.0.0.1:8080. When that port is taken (another server on this machine), the server
// takes a free port and the SDK client's transport is pointed at it (its `baseUrl`
// field, which the SDK documents for tests); every call still goes through the SDK.
import { FlowNotFoundError, Noukai, type StepAttempts, type StepTrace, type StreamEvent } from "@noukai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../src/server/index.js";

const KEY = "nk_contract_test_key";
let server: RunningServer;
let noukai: Noukai;

async function startOnDevPort(): Promise<RunningServer> {
  const options = { host: "127.0.0.1", speed: 100, seed: 1234 } as const;
  try {
    return await startServer({ ...options, port: 8080 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    console.warn("sdk-contract: port 8080 is in use; the SDK client is pointed at a free port instead");
    return startServer({ ...options, port: 0 });
  }
}

beforeAll(async () => {
  server = await startOnDevPort();
  noukai = new Noukai({ env: "dev", apiKey: KEY, maxRetries: 0 });
  const transport = (noukai as unknown as { _transport: { baseUrl: string } })._transport;
  expect(transport.baseUrl).toBe("http://localhost:8080/api/v1");
  if (server.port !== 8080) transport.baseUrl = server.url;
});

afterAll(async () => {
  await noukai.close();
  await server.close();
});

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("official SDK against the embedded server", () => {
  it("executeAsync, then liveTrace replays and tails through flow_completed", async () => {
    const runsBefore = server.debugStats().runs;
    const flow = noukai.flow("acme/spelling/grade-3");
    const job = await flow.executeAsync({ message: "The cat sat on the mat.", trace: true });
    // The request reached this server, not something else on the port.
    expect(server.debugStats().runs).toBe(runsBefore + 1);
    expect(job.executionId).toMatch(/^[0-9a-f-]{36}$/);

    const events = await collect(flow.run(job.executionId).liveTrace());
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("run_started");
    expect(types.at(-1)).toBe("flow_completed");
    expect(types.filter((t) => t === "step_completed")).toHaveLength(5);
    expect(types.filter((t) => t === "step_error")).toHaveLength(1);
    expect(types).toContain("step_input");

    const started = events[0];
    if (started?.type !== "run_started") throw new Error("first event is not run_started");
    expect(started.executionId).toBe(job.executionId);
    expect(started.stepCount).toBe(5);
    expect(started.flowId).toBe(job.flowId);

    // spell-check: started, failed, started again (the server-side retry), completed.
    const spell = events.filter((e) => "stepId" in e && e.stepId === "spell-check").map((e) => e.type);
    expect(spell).toEqual(["step_started", "step_input", "step_error", "step_started", "step_input", "step_output", "step_completed"]);
    const completed = events.find((e) => e.type === "step_completed");
    if (completed?.type !== "step_completed") throw new Error("no step_completed");
    expect(completed.name).toBe("Detect language");
    expect(completed.costUsd).toMatch(/^\d+\.\d{6,}$/);
    expect(completed.tokens?.total).toBe((completed.tokens?.prompt ?? 0) + (completed.tokens?.completion ?? 0));
    const end = events.at(-1);
    if (end?.type !== "flow_completed") throw new Error("last event is not flow_completed");
    expect(end.executionId).toBe(job.executionId);
    expect(end.summary).toMatchObject({ status: "completed", stepCount: 5 });
  });

  it("trace and stepTrace (all / 1 / latest) after the run", async () => {
    const flow = noukai.flow("acme/spelling/grade-3");
    const job = await flow.executeAsync({ message: "Teh cat", trace: true });
    const status = await job.wait({ pollInterval: 20, timeout: 20_000 });
    expect(status.status).toBe("completed");

    const run = flow.run(job.executionId);
    const trace = await run.trace();
    expect(trace.flowRun).toMatchObject({ flowId: job.flowId, status: "completed", stepCount: 5, triggerType: "job" });
    expect(Date.parse(trace.flowRun.completedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(trace.flowRun.startedAt ?? ""));
    expect(trace.steps.map((s) => s.stepId)).toEqual(["detect-language", "spell-check", "grammar-review", "grade-level", "feedback"]);
    const spell = trace.steps.find((s) => s.stepId === "spell-check");
    expect(spell).toMatchObject({ attempt: 2, status: "completed", modelUsed: "gpt-4o", truncated: false });
    for (const step of trace.steps) {
      expect(step.inputContext).toBeDefined();
      expect(step.outputContext).toBeDefined();
      expect(step.durationMs).toBe(Date.parse(step.completedAt ?? "") - Date.parse(step.startedAt ?? ""));
    }

    const all = (await run.stepTrace("spell-check", { attempt: "all" })) as StepAttempts;
    expect(all.stepId).toBe("spell-check");
    expect(all.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, "failed"],
      [2, "completed"],
    ]);
    const first = (await run.stepTrace("spell-check", { attempt: 1 })) as StepTrace;
    expect(first).toMatchObject({ attempt: 1, status: "failed", errorContext: { code: "RATE_LIMITED", attempt: 1, willRetry: true } });
    expect(first.costUsd).toMatch(/^\d+\.\d+$/);
    const latest = (await run.stepTrace("spell-check")) as StepTrace;
    expect(latest).toEqual(spell);
  });

  it("stepTrace of one loop iteration (loopIndex), with its retry", async () => {
    const flow = noukai.flow("demo/playground/essay-pipeline");
    const job = await flow.executeAsync({ message: "An essay" });
    await job.wait({ pollInterval: 20, timeout: 20_000 });
    const run = flow.run(job.executionId);
    const iteration = (await run.stepTrace("summarize-chunk", { attempt: "all", loopIndex: 5 })) as StepAttempts;
    expect(iteration.attempts.map((a) => [a.loopIndex, a.attempt, a.status])).toEqual([
      [5, 1, "failed"],
      [5, 2, "completed"],
    ]);
    const other = (await run.stepTrace("summarize-chunk", { loopIndex: 2 })) as StepTrace;
    expect(other).toMatchObject({ loopIndex: 2, attempt: 1, status: "completed" });
  });

  it("liveTrace of the 1.2 MB output run decodes every frame", async () => {
    const flow = noukai.flow("demo/playground/essay-pipeline");
    const job = await flow.executeAsync({ message: "An essay" });
    const events = await collect(flow.run(job.executionId).liveTrace());
    expect(events.at(-1)?.type).toBe("flow_completed");
    const report = events.find((e) => e.type === "step_output" && e.stepId === "render-report");
    if (report?.type !== "step_output") throw new Error("no render-report output");
    expect(JSON.stringify(report.outputData).length).toBeGreaterThan(1_000_000);
    // step_progress and loop_completed are server extras the SDK drops.
    expect(events.map((e) => e.type as string)).not.toContain("loop_completed");
  });

  it("execute runs to completion", async () => {
    const result = await noukai.flow("acme/spelling/grade-3").execute({ message: "hello" });
    if (result.requiresToolCalls) throw new Error("unexpected tool-call pause");
    expect(result.status).toBe("completed");
    expect(result.blockCount).toBe(5);
    expect(result.flowId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.result).toHaveProperty("text");
    const trace = await noukai.flow("acme/spelling/grade-3").run(result.executionId ?? "").trace();
    expect(trace.flowRun.triggerType).toBe("execute");
    // trace: false (the SDK's default) captures no snapshots.
    expect(trace.steps.every((s) => s.inputContext === undefined && s.outputContext === undefined)).toBe(true);
  });

  it("a failed run: execute says failed, job.wait says failed, liveTrace ends on the final step_error", async () => {
    const flow = noukai.flow("demo/playground/always-fails");
    const executed = await flow.execute({ message: "x" });
    expect(executed.status).toBe("failed");

    const job = await flow.executeAsync({ message: "x" });
    const events = await collect(flow.run(job.executionId).liveTrace());
    expect(events.map((e) => e.type)).not.toContain("flow_completed");
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "step_error", stepId: "call-provider", error: { code: "UPSTREAM_UNAVAILABLE", willRetry: false } });
    expect(events.filter((e) => e.type === "step_error")).toHaveLength(3);

    const status = await job.wait({ pollInterval: 20, timeout: 20_000 });
    expect(status.status).toBe("failed");
    expect(status.error).toContain("call-provider");
    const trace = await flow.run(job.executionId).trace();
    expect(trace.flowRun.status).toBe("failed");
    expect(trace.steps.map((s) => [s.stepId, s.attempt, s.status])).toEqual([
      ["prepare-prompt", 1, "completed"],
      ["call-provider", 3, "failed"],
    ]);
  });

  it("404s carry the codes FLOW_NOT_FOUND, RUN_NOT_FOUND and STEP_NOT_FOUND", async () => {
    const missingFlow = noukai.flow("acme/spelling/no-such-flow");
    await expect(missingFlow.executeAsync({ message: "x" })).rejects.toMatchObject({ statusCode: 404, code: "FLOW_NOT_FOUND" });
    await expect(missingFlow.execute({ message: "x" })).rejects.toBeInstanceOf(FlowNotFoundError);

    const flow = noukai.flow("acme/spelling/grade-3");
    const missingRun = flow.run("00000000-0000-4000-8000-000000000000");
    await expect(missingRun.trace()).rejects.toMatchObject({ statusCode: 404, code: "RUN_NOT_FOUND" });
    await expect(collect(missingRun.liveTrace())).rejects.toMatchObject({ statusCode: 404, code: "RUN_NOT_FOUND" });

    const result = await flow.execute({ message: "x" });
    const run = flow.run(result.executionId ?? "");
    await expect(run.stepTrace("no-such-step")).rejects.toMatchObject({ statusCode: 404, code: "STEP_NOT_FOUND" });
    await expect(run.stepTrace("spell-check", { attempt: 3 })).rejects.toMatchObject({ statusCode: 404, code: "STEP_NOT_FOUND" });
    const requestId = await run.stepTrace("no-such-step").catch((error: unknown) => (error as { requestId?: string }).requestId);
    expect(requestId).toMatch(/^req_[0-9a-f]{24}$/);
  });

  it("a key other than the required one is refused with 401", async () => {
    const strict = await startServer({ port: 0, requireKey: "nk_the_only_key" });
    try {
      const other = new Noukai({ env: "dev", apiKey: KEY, maxRetries: 0 });
      (other as unknown as { _transport: { baseUrl: string } })._transport.baseUrl = strict.url;
      await expect(other.flow("acme/spelling/grade-3").executeAsync({ message: "x" })).rejects.toMatchObject({
        statusCode: 401,
        code: "UNAUTHORIZED",
      });
      const allowed = new Noukai({ env: "dev", apiKey: "nk_the_only_key", maxRetries: 0 });
      (allowed as unknown as { _transport: { baseUrl: string } })._transport.baseUrl = strict.url;
      const job = await allowed.flow("acme/spelling/grade-3").executeAsync({ message: "x" });
      expect(job.executionId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await strict.close();
    }
  });
});
