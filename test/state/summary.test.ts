import { describe, expect, it } from "vitest";
import { reduceRun } from "../../src/state/reducer.js";
import { buildSummary, costWithRetries, summarySteps, TraceCosts } from "../../src/state/summary.js";
import { attemptsKey } from "../../src/state/types.js";
import { completed, failed, live, runStarted, started, stepTrace, T0, trace } from "./fixtures.js";

const iso = (ms: number): string => new Date(ms).toISOString();

const finalTrace = trace(
  [
    stepTrace("a", { costUsd: "0.1", durationMs: 10, modelUsed: "m", tokens: { prompt: 1, completion: 2, total: 3 } }),
    stepTrace("b", { attempt: 2, costUsd: "0.2", durationMs: 20 }),
    stepTrace("loop", { loopIndex: 0, costUsd: "0.01" }),
    stepTrace("loop", { loopIndex: 1, costUsd: "0.02", tokens: { prompt: 5, completion: 5, total: 10 } }),
  ],
  { status: "completed", startedAt: iso(T0), completedAt: iso(T0 + 1234), durationMs: 1234, stepCount: 3 },
);

describe("buildSummary", () => {
  it("has exactly the documented shape, one entry per step or loop iteration", () => {
    let s = live([
      runStarted(3),
      started("a", "Alpha"),
      completed("a"),
      started("b", "Beta"),
      failed("b"),
      started("b"),
      completed("b"),
      started("loop", "Loop"),
      completed("loop"),
      started("loop"),
      completed("loop"),
      { type: "flow_completed" },
    ]);
    s = reduceRun(s, { type: "stream/malformed", count: 2, reason: "bad", at: T0 });
    s = reduceRun(s, { type: "trace/loaded", trace: finalTrace, final: true, at: T0 + 2000 });
    const summary = { ...buildSummary(s, { executionId: "exec_1", flow: "acme/spelling/grade-3", costWithRetriesUsd: "0.4" }), steps: [...summarySteps(s)] };
    expect(summary).toEqual({
      type: "summary",
      executionId: "exec_1",
      runId: "run_1",
      flow: "acme/spelling/grade-3",
      status: "completed",
      startedAt: iso(T0),
      completedAt: iso(T0 + 1234),
      durationMs: 1234,
      stepCount: 3,
      costUsd: "0.33",
      costWithRetriesUsd: "0.4",
      tokens: { prompt: 6, completion: 7, total: 13 },
      retries: 1,
      failedSteps: 0,
      malformedFrames: 2,
      steps: [
        { stepId: "a", name: "Alpha", attempt: 1, loopIndex: null, status: "completed", durationMs: 10, modelUsed: "m", tokens: { prompt: 1, completion: 2, total: 3 }, costUsd: "0.1" },
        { stepId: "b", name: "Beta", attempt: 2, loopIndex: null, status: "completed", durationMs: 20, modelUsed: null, tokens: null, costUsd: "0.2" },
        { stepId: "loop", name: "Loop", attempt: 1, loopIndex: 0, status: "completed", durationMs: null, modelUsed: null, tokens: null, costUsd: "0.01" },
        { stepId: "loop", name: "Loop", attempt: 1, loopIndex: 1, status: "completed", durationMs: null, modelUsed: null, tokens: { prompt: 5, completion: 5, total: 10 }, costUsd: "0.02" },
      ],
    });
    expect(Object.keys(summary)).toEqual([
      "type", "executionId", "runId", "flow", "status", "startedAt", "completedAt", "durationMs", "stepCount",
      "costUsd", "costWithRetriesUsd", "tokens", "retries", "failedSteps", "malformedFrames", "steps",
    ]);
    expect(Object.keys(summary.steps[0] ?? {})).toEqual(["stepId", "name", "attempt", "loopIndex", "status", "durationMs", "modelUsed", "tokens", "costUsd"]);
  });

  it("before any trace: unknowns are null, the duration comes from the stream", () => {
    const summary = buildSummary(live([runStarted(), started("a")]), { executionId: "e", flow: "f", costWithRetriesUsd: null });
    expect(summary).toMatchObject({ status: "running", completedAt: null, durationMs: null, costUsd: null, costWithRetriesUsd: null });
    expect(summary.startedAt).toBe(iso(T0 + 1));
    const done = buildSummary(live([runStarted(), { type: "flow_completed" }]), { executionId: "e", flow: "f", costWithRetriesUsd: null });
    expect(done.durationMs).toBe(1);
  });
});

describe("costWithRetries", () => {
  it("adds every earlier attempt's cost to the documented total", () => {
    const attempts = new Map([
      [
        attemptsKey("b", null),
        [
          stepTrace("b", { attempt: 1, status: "failed", costUsd: "0.07" }),
          stepTrace("b", { attempt: 2, costUsd: "0.2" }),
        ],
      ],
      [
        attemptsKey("loop", 1),
        [
          stepTrace("loop", { loopIndex: 1, attempt: 1, status: "failed", costUsd: "0.003" }),
          stepTrace("loop", { loopIndex: 1, attempt: 2, status: "failed" }),
          stepTrace("loop", { loopIndex: 1, attempt: 3, costUsd: "0.02" }),
        ],
      ],
    ]);
    const retried = trace(finalTrace.steps.map((st) => (st.stepId === "loop" && st.loopIndex === 1 ? { ...st, attempt: 3 } : st)));
    expect(costWithRetries(retried, attempts)).toBe("0.403");
    expect(costWithRetries(retried, new Map())).toBe("0.33");
    // The same one step at a time, asked twice (asking adds nothing to what was added).
    const costs = new TraceCosts();
    for (const step of retried.steps) costs.add(step);
    expect([costs.withRetries(attempts), costs.withRetries(attempts), costs.withRetries(new Map()), costs.withRetries(null)]).toEqual([
      "0.403",
      "0.403",
      "0.33",
      null,
    ]);
  });

  it("finds the trace's attempt of a step whose id holds the key separator", () => {
    const odd = trace([stepTrace("x#1", { attempt: 2, costUsd: "0.5" }), stepTrace("x", { costUsd: "0.25" })]);
    const attempts = new Map([
      [attemptsKey("x#1", null), [stepTrace("x#1", { attempt: 1, status: "failed", costUsd: "0.125" }), stepTrace("x#1", { attempt: 2, costUsd: "0.5" })]],
    ]);
    expect(costWithRetries(odd, attempts)).toBe("0.875");
  });

  it("is null when the attempts are unknown", () => {
    expect(costWithRetries(finalTrace, null)).toBeNull();
  });
});
