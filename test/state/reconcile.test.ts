import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/api/schemas.js";
import type { StepTrace } from "../../src/api/schemas.js";
import { reconcileTrace, TraceReconciler } from "../../src/state/reconcile.js";
import { initialRunState } from "../../src/state/reducer.js";
import { selectTotals } from "../../src/state/selectors.js";
import { completed, failed, live, row, runStarted, started, stepTrace, T0, trace } from "./fixtures.js";

const iso = (ms: number): string => new Date(ms).toISOString();

describe("reconcileTrace", () => {
  it("the trace is the authority; stream names and first-seen order are kept", () => {
    const s = live([
      runStarted(3),
      started("b", "Beta"),
      started("a", "Alpha"),
      completed("a", { costUsd: "0.5", durationMs: 1 }),
      started("b"),
    ]);
    const r = reconcileTrace(
      s,
      trace(
        [
          stepTrace("a", {
            attempt: 1,
            costUsd: "0.25",
            durationMs: 900,
            modelUsed: "m2",
            tokens: { prompt: 7, completion: 3, total: 10 },
            startedAt: iso(T0),
            completedAt: iso(T0 + 900),
          }),
          stepTrace("b", { attempt: 3, status: "failed", errorContext: { message: "quota" }, costUsd: "0.1" }),
          stepTrace("z", { status: "skipped" }),
        ],
        { status: "failed", startedAt: iso(T0 - 5), completedAt: iso(T0 + 5000), durationMs: 5005, stepCount: 3 },
      ),
    );
    expect(r.steps.rows().map((x) => [x.stepId, x.name, x.order])).toEqual([
      ["b", "Beta", 0],
      ["a", "Alpha", 1],
      ["z", null, 2],
    ]);
    expect(row(r, "a")).toMatchObject({
      status: "completed",
      durationMs: 900,
      modelUsed: "m2",
      costUsd: "0.25",
      tokens: { prompt: 7, completion: 3, total: 10 },
      startedAt: T0,
      completedAt: T0 + 900,
    });
    expect(row(r, "b")).toMatchObject({ status: "failed", attempt: 3, retries: 2, lastError: "quota" });
    expect(row(r, "z").status).toBe("skipped");
    expect(r).toMatchObject({ status: "failed", startedAt: T0 - 5, completedAt: T0 + 5000, durationMs: 5005, stepCount: 3 });
    expect(selectTotals(r)).toMatchObject({ costUsd: "0.35", retries: 2, failedSteps: 1, stepsDone: 2, tokens: { prompt: 7, completion: 3, total: 10 } });
  });

  it("loop StepTraces become one row with an iteration per loop index", () => {
    const events: TraceEvent[] = [];
    for (let i = 0; i < 3; i++) events.push(started("loop", "Loop"), completed("loop", { costUsd: "0.1" }));
    const s = live(events);
    const r = reconcileTrace(
      s,
      trace([
        stepTrace("loop", { loopIndex: 2, costUsd: "0.3", durationMs: 30 }),
        stepTrace("loop", { loopIndex: 0, costUsd: "0.1", durationMs: 10 }),
        stepTrace("loop", { loopIndex: 1, attempt: 2, costUsd: "0.2", durationMs: 20 }),
        stepTrace("loop", { loopIndex: 3, status: "running", startedAt: iso(T0 + 100) }),
      ]),
    );
    const loop = row(r, "loop");
    expect(loop).toMatchObject({
      name: "Loop",
      isLoop: true,
      iterations: 4,
      loopIndex: 3,
      status: "running",
      attempt: 1,
      retries: 1,
      durationMs: 60,
      costUsd: "0.6",
    });
    expect(loop.iterationRows.map((it) => [it.loopIndex, it.attempt, it.status, it.costUsd])).toEqual([
      [0, 1, "completed", "0.1"],
      [1, 2, "completed", "0.2"],
      [2, 1, "completed", "0.3"],
      [3, 1, "running", null],
    ]);
    expect(r.steps.size).toBe(1);
  });

  it("keeps only the latest attempt when a trace repeats one", () => {
    const r = reconcileTrace(
      initialRunState(),
      trace([stepTrace("a", { attempt: 2, costUsd: "0.2" }), stepTrace("a", { attempt: 1, status: "failed", costUsd: "0.1" })]),
    );
    expect(row(r, "a")).toMatchObject({ attempt: 2, status: "completed", costUsd: "0.2", isLoop: false });
  });

  it("names given for a saved trace fill rows without a stream name", () => {
    const s = live([started("a", "Stream A")]);
    const r = reconcileTrace(s, trace([stepTrace("a"), stepTrace("b")]), { a: "Saved A", b: "Saved B" });
    expect(r.steps.rows().map((x) => x.name)).toEqual(["Stream A", "Saved B"]);
  });

  it("rows the trace does not have yet stay as the stream left them", () => {
    const s = live([started("a"), completed("a", { costUsd: "0.1" }), started("b"), failed("b")]);
    const r = reconcileTrace(s, trace([stepTrace("a", { costUsd: "0.1" })], { status: "running" }));
    expect(row(r, "b")).toMatchObject({ status: "failed", lastError: "boom" });
    expect(r.failedSteps).toBe(1);
  });

  it("unknown costs stay unknown; odd statuses fall back to the stream's", () => {
    const s = live([started("a")]);
    const r = reconcileTrace(s, trace([stepTrace("a", { status: "mystery" }), stepTrace("b", { status: "mystery" })]));
    expect(row(r, "a")).toMatchObject({ status: "running", costUsd: null });
    expect(row(r, "b").status).toBe("pending");
    expect(selectTotals(r).costUsd).toBeNull();
  });

  it("a step's second StepTrace replaces the row built from its first, as if both came at once", () => {
    const s = live([started("a", "A"), started("b", "B"), started("c", "C"), started("d", "D")]);
    const r = reconcileTrace(
      s,
      trace([
        // a: a later, higher attempt wins; b: a later, lower one does not (its error stays);
        // c: an equal attempt, the later wins; d: the first outside a loop, then a loop index.
        stepTrace("a", { attempt: 1, status: "failed", errorContext: { message: "first" }, costUsd: "0.1" }),
        stepTrace("b", { attempt: 3, status: "failed", errorContext: { message: "kept" }, costUsd: "0.3" }),
        stepTrace("c", { attempt: 2, costUsd: "0.2" }),
        stepTrace("d", { costUsd: "0.4", durationMs: 4 }),
        stepTrace("a", { attempt: 2, costUsd: "0.5" }),
        stepTrace("b", { attempt: 2, costUsd: "9" }),
        stepTrace("c", { attempt: 2, costUsd: "0.25" }),
        stepTrace("d", { loopIndex: 0, costUsd: "0.6", durationMs: 6 }),
      ]),
    );
    expect(row(r, "a")).toMatchObject({ attempt: 2, retries: 1, status: "completed", costUsd: "0.5", lastError: null, isLoop: false });
    expect(row(r, "b")).toMatchObject({ attempt: 3, retries: 2, status: "failed", costUsd: "0.3", lastError: "kept" });
    expect(row(r, "c")).toMatchObject({ attempt: 2, costUsd: "0.25" });
    expect(row(r, "d")).toMatchObject({ isLoop: true, iterations: 2, costUsd: "1", durationMs: 10 });
    expect(row(r, "d").iterationRows.map((it) => [it.loopIndex, it.costUsd])).toEqual([
      [null, "0.4"],
      [0, "0.6"],
    ]);
    expect(r.steps.rows().map((x) => [x.stepId, x.name])).toEqual([
      ["a", "A"],
      ["b", "B"],
      ["c", "C"],
      ["d", "D"],
    ]);
    expect(selectTotals(r).costUsd).toBe("2.05");
  });

  it("token counts a plain row cannot hold (negative, missing) are kept as the trace says", () => {
    const r = reconcileTrace(
      initialRunState(),
      trace([
        stepTrace("neg", { tokens: { prompt: -1, completion: 2, total: 1 } }),
        stepTrace("part", { tokens: { total: 5 } }),
      ]),
    );
    expect(row(r, "neg").tokens).toEqual({ prompt: -1, completion: 2, total: 1 });
    expect(row(r, "part").tokens).toEqual({ prompt: null, completion: null, total: 5 });
  });

  it("add() changes no row of the state until finish()", () => {
    const events: TraceEvent[] = [runStarted(4), started("x", "X"), completed("x", { costUsd: "0.1" }), started("y", "Y")];
    const steps: StepTrace[] = [
      stepTrace("y", { attempt: 2, status: "failed", errorContext: { error: "late" } }),
      stepTrace("x", { costUsd: "0.2" }),
      stepTrace("w", { loopIndex: 1, costUsd: "0.3" }),
      stepTrace("w", { loopIndex: 0, costUsd: "0.4" }),
      stepTrace("y", { attempt: 1 }),
    ];
    const whole = reconcileTrace(live(events), trace(steps));
    const s = live(events);
    const before = s.steps.rows().slice();
    const reconciler = new TraceReconciler(s);
    for (const step of steps) reconciler.add(step);
    expect(s.steps.rows()).toEqual(before);
    const r = reconciler.finish(s, trace([]).flowRun);
    const view = (state: typeof r): unknown => state.steps.rows().map((x) => ({ ...x, tokens: x.tokens, iterationRows: x.iterationRows }));
    expect(view(r)).toEqual(view(whole));
    expect(selectTotals(r)).toEqual(selectTotals(whole));
  });
});
