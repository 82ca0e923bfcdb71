// The simulated flows: their shapes, exact prices, and determinism from the seed.
import { describe, expect, it } from "vitest";
import { Trace as TraceSchema, type StepTrace, type Trace } from "../../src/api/schemas.js";
import { BUILTIN_FLOWS, LIST_PRICES, startServer, type RunningServer } from "../../src/server/index.js";
import { validateFlow } from "../../src/server/flows.js";
import { planRun, type RunPlan } from "../../src/server/plan.js";
import { costUsd } from "../../src/server/pricing.js";
import { AUTH, api, parseSse, raw, readStream } from "./support.js";

function builtin(ref: string): ReturnType<typeof validateFlow> {
  const definition = BUILTIN_FLOWS.find((flow) => flow.ref === ref);
  if (definition === undefined) throw new Error(`no built-in ${ref}`);
  return validateFlow(definition);
}

function plannedDurationMs(plan: RunPlan): number {
  return plan.entries.at(-1)?.at ?? 0;
}

/** Runs one flow to its end and returns the trace (validated by the client's schema) and the raw stream. */
async function runToEnd(server: RunningServer, ref: string, body: Record<string, unknown> = {}): Promise<{ trace: Trace; stream: string; executionId: string }> {
  const submitted = await raw(server, "POST", api(`/seq/${ref}/jobs`), { headers: { ...AUTH, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const executionId = submitted.json<{ executionId: string }>().executionId;
  const stream = (await readStream(server, ref, executionId)).text;
  const trace = TraceSchema.parse((await raw(server, "GET", api(`/seq/${ref}/runs/${executionId}/trace`))).json());
  return { trace, stream, executionId };
}

describe("prices", () => {
  it("computes costs exactly from decimal list prices", () => {
    expect(costUsd({ input: "2.50", output: "10.00" }, 1000, 500)).toBe("0.007500");
    expect(costUsd({ input: "0.15", output: "0.60" }, 1, 0)).toBe("0.00000015");
    expect(costUsd({ input: "0.000001", output: "0" }, 1, 0)).toBe("0.000000000001");
    // Large counts stay exact where a float would not: 123456789 x 15 / 1e6 = 1851.851835.
    expect(costUsd({ input: "15.00", output: "75.00" }, 123_456_789, 0)).toBe("1851.851835");
    expect(costUsd({ input: "3", output: "15" }, 0, 0)).toBe("0.000000");
    expect(() => costUsd({ input: "1e-3", output: "1" }, 1, 1)).toThrow();
  });
});

describe("built-in flows (planned at speed 1)", () => {
  const seeds = Array.from({ length: 20 }, (_, i) => i * 7919 + 1);

  it("acme/spelling/grade-3: 5 steps, one fails once then succeeds, 15-30 s", () => {
    const flow = builtin("acme/spelling/grade-3");
    for (const seed of seeds) {
      const plan = planRun(flow, { seed, speed: 1, trace: false });
      const duration = plannedDurationMs(plan);
      expect(duration).toBeGreaterThanOrEqual(15_000);
      expect(duration).toBeLessThanOrEqual(30_000);
      const failed = plan.records.filter((r) => r.status === "failed").map((r) => [r.stepId, r.attempt]);
      expect(failed).toEqual([["spell-check", 1]]);
      expect(plan.records.filter((r) => r.stepId === "spell-check").map((r) => r.status)).toEqual(["failed", "completed"]);
      expect(plan.entries.at(-1)).toMatchObject({ kind: "run_finished", status: "completed" });
    }
  });

  it("demo/playground/essay-pipeline: 12 steps, a loop of 8 with a retry, a skip, a truncated 1.2 MB output, about 45 s", () => {
    const flow = builtin("demo/playground/essay-pipeline");
    expect(flow.steps).toHaveLength(12);
    for (const seed of seeds) {
      const plan = planRun(flow, { seed, speed: 1, trace: true });
      const duration = plannedDurationMs(plan);
      expect(duration).toBeGreaterThanOrEqual(38_000);
      expect(duration).toBeLessThanOrEqual(52_000);
      const loop = plan.records.filter((r) => r.stepId === "summarize-chunk");
      expect(loop.map((r) => [r.loopIndex, r.attempt])).toEqual([
        [0, 1], [1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [5, 2], [6, 1], [7, 1],
      ]);
      expect(plan.records.filter((r) => r.status === "skipped").map((r) => r.stepId)).toEqual(["translate-summary"]);
      const report = plan.records.find((r) => r.stepId === "render-report");
      expect(report).toMatchObject({ truncated: true, status: "completed" });
      expect(report?.outputSizeBytes).toBeGreaterThan(1024 * 1024);
      expect(Buffer.byteLength(JSON.stringify(report?.outputContext))).toBeLessThanOrEqual(64 * 1024);
      const reasoning = plan.records.find((r) => r.modelUsed === "o4-mini");
      expect(reasoning?.tokens?.total).toBeGreaterThan((reasoning?.tokens?.prompt ?? 0) + (reasoning?.tokens?.completion ?? 0));
    }
    const models = new Set(flow.steps.map((s) => s.model).filter((m) => m !== undefined));
    for (const model of ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "o4-mini"]) expect(models).toContain(model);
  });

  it("demo/playground/always-fails: one step fails all 3 attempts and the run fails", () => {
    const plan = planRun(builtin("demo/playground/always-fails"), { seed: 5, speed: 1, trace: false });
    expect(plan.records.map((r) => [r.stepId, r.attempt, r.status])).toEqual([
      ["prepare-prompt", 1, "completed"],
      ["call-provider", 1, "failed"],
      ["call-provider", 2, "failed"],
      ["call-provider", 3, "failed"],
    ]);
    expect(plan.records.at(-1)?.error).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", willRetry: false });
    expect(plan.entries.at(-1)).toMatchObject({ kind: "run_finished", status: "failed", error: { stepId: "call-provider" } });
  });

  it("every cost is the list price times the tokens", () => {
    const plan = planRun(builtin("demo/playground/essay-pipeline"), { seed: 99, speed: 1, trace: false });
    for (const record of plan.records) {
      if (record.modelUsed === undefined || record.tokens === undefined) {
        expect(record.costUsd).toBeUndefined();
        continue;
      }
      const price = LIST_PRICES[record.modelUsed];
      if (price === undefined) throw new Error(`no price for ${record.modelUsed}`);
      const billedCompletion = record.tokens.total - record.tokens.prompt;
      expect(record.costUsd).toBe(costUsd(price, record.tokens.prompt, billedCompletion));
    }
  });
});

describe("runs over HTTP", () => {
  /** The trace and stream without what differs between two runs: ids and wall-clock times. */
  function normalized(result: { trace: Trace; stream: string }, ids: readonly string[]): string {
    let text = JSON.stringify({ trace: result.trace, stream: result.stream });
    for (const id of ids) text = text.replaceAll(id, "<id>");
    return text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>");
  }

  function idsOf(result: { trace: Trace; executionId: string }): string[] {
    return [result.executionId, result.trace.flowRun.id];
  }

  it("the same seed gives the same run; another seed does not", async () => {
    const servers = await Promise.all([42, 42, 43].map((seed) => startServer({ port: 0, speed: 200, seed })));
    try {
      const [a, b, c] = await Promise.all(servers.map((server) => runToEnd(server, "acme/spelling/grade-3", { message: "m", trace: true })));
      if (a === undefined || b === undefined || c === undefined) throw new Error("missing run");
      expect(normalized(a, idsOf(a))).toBe(normalized(b, idsOf(b)));
      expect(normalized(a, idsOf(a))).not.toBe(normalized(c, idsOf(c)));
      // Timestamps are consistent with the durations.
      const first = a.trace.steps[0] as StepTrace;
      expect(Date.parse(first.completedAt ?? "") - Date.parse(first.startedAt ?? "")).toBe(first.durationMs);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });

  it("successive runs of one flow differ, and the n-th run is the same after a restart", async () => {
    const first = await startServer({ port: 0, speed: 200, seed: 8 });
    const one = await runToEnd(first, "acme/spelling/grade-3");
    const two = await runToEnd(first, "acme/spelling/grade-3");
    await first.close();
    const again = await startServer({ port: 0, speed: 200, seed: 8 });
    const oneAgain = await runToEnd(again, "acme/spelling/grade-3");
    await again.close();
    expect(normalized(one, idsOf(one))).not.toBe(normalized(two, idsOf(two)));
    expect(normalized(one, idsOf(one))).toBe(normalized(oneAgain, idsOf(oneAgain)));
  });

  it("the essay run: trace shapes, skipped and truncated steps, loop events", async () => {
    const server = await startServer({ port: 0, speed: 200, seed: 11 });
    try {
      const { trace, stream } = await runToEnd(server, "demo/playground/essay-pipeline", { message: "essay", trace: true });
      expect(trace.flowRun).toMatchObject({ status: "completed", stepCount: 12 });
      expect(trace.steps.filter((s) => s.stepId === "summarize-chunk").map((s) => [s.loopIndex, s.attempt])).toEqual([
        [0, 1], [1, 1], [2, 1], [3, 1], [4, 1], [5, 2], [6, 1], [7, 1],
      ]);
      expect(trace.steps.find((s) => s.stepId === "translate-summary")).toMatchObject({ status: "skipped", attempt: 1 });
      const report = trace.steps.find((s) => s.stepId === "render-report");
      expect(report?.truncated).toBe(true);
      expect(report?.outputSizeBytes).toBeGreaterThan(1024 * 1024);
      expect(JSON.stringify(report?.outputContext).length).toBeLessThan(70_000);

      const frames = parseSse(stream);
      expect(frames.filter((f) => f.event === "loop_completed").map((f) => f.data)).toEqual([
        { eventType: "loop_completed", stepId: "summarize-chunk", iterations: 8 },
      ]);
      expect(frames.filter((f) => f.event === "step_progress" && f.data?.stepId === "summarize-chunk").map((f) => f.data?.loopIndex)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7,
      ]);
      const output = frames.find((f) => f.event === "step_output" && f.data?.stepId === "render-report");
      expect(JSON.stringify(output?.data?.outputData).length).toBeGreaterThan(1024 * 1024);
    } finally {
      await server.close();
    }
  });

  it("without trace: true there are no snapshots and no step_input, but sizes and error contexts remain", async () => {
    const server = await startServer({ port: 0, speed: 200, seed: 12 });
    try {
      const { trace, stream, executionId } = await runToEnd(server, "acme/spelling/grade-3", { message: "m" });
      expect(parseSse(stream).map((f) => f.event)).not.toContain("step_input");
      for (const step of trace.steps) {
        expect(step.inputContext).toBeUndefined();
        expect(step.outputContext).toBeUndefined();
        expect(step.inputSizeBytes).toBeGreaterThan(0);
        expect(step.outputSizeBytes).toBeGreaterThan(0);
      }
      const failed = await raw(server, "GET", api(`/seq/acme/spelling/grade-3/runs/${executionId}/steps/spell-check/trace?attempt=1`));
      expect(failed.json()).toMatchObject({ status: "failed", errorContext: { code: "RATE_LIMITED" } });
      expect(failed.json()).not.toHaveProperty("inputContext");
    } finally {
      await server.close();
    }
  });

  it("a run in progress shows its running step, and a pending run no steps", async () => {
    const server = await startServer({
      port: 0,
      flows: [{ ref: "test/slow/two-steps", steps: [{ id: "quick", durationMs: 0 }, { id: "long", model: "gpt-4o", durationMs: 60_000 }] }],
    });
    try {
      const executionId = await server.submitRun("test/slow/two-steps", { trace: true });
      const tracePath = api(`/seq/test/slow/two-steps/runs/${executionId}/trace`);
      const pending = (await raw(server, "GET", tracePath)).json<Trace>();
      expect(pending.flowRun.status).toBe("pending");
      expect(pending.steps).toEqual([]);
      const job = (await raw(server, "GET", api(`/seq/test/slow/two-steps/jobs/${executionId}`))).json();
      expect(job).toEqual({ executionId, status: "pending" });

      let running: Trace | undefined;
      for (let i = 0; i < 200 && running?.steps.length !== 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        running = (await raw(server, "GET", tracePath)).json<Trace>();
      }
      expect(running?.flowRun.status).toBe("running");
      const long = running?.steps[1];
      expect(long).toMatchObject({ stepId: "long", status: "running", attempt: 1, modelUsed: "gpt-4o" });
      expect(long).toHaveProperty("startedAt");
      expect(long).toHaveProperty("inputContext");
      expect(long).not.toHaveProperty("completedAt");
      expect(long).not.toHaveProperty("costUsd");
    } finally {
      await server.close();
    }
  });
});
