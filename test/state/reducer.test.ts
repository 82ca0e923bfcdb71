import { describe, expect, it } from "vitest";
import { TraceReconciler } from "../../src/state/reconcile.js";
import { initialRunState, LIVE_ITERATIONS_KEPT, reduceRun } from "../../src/state/reducer.js";
import { PlainRow } from "../../src/state/rows.js";
import { selectTotals } from "../../src/state/selectors.js";
import type { TraceEvent } from "../../src/api/schemas.js";
import {
  batch,
  completed,
  failed,
  flowCompleted,
  live,
  opened,
  preview,
  received,
  reduceAll,
  row,
  runStarted,
  started,
  stepTrace,
  T0,
  trace,
} from "./fixtures.js";

const tokens = (prompt: number, completion: number) => ({ prompt, completion, total: prompt + completion });

describe("connection actions", () => {
  it("stream/connecting, opened, closed, reconnecting, ended", () => {
    let s = initialRunState("exec_1");
    expect(s.connection).toEqual({ kind: "idle" });
    s = reduceRun(s, { type: "stream/connecting", attempt: 1, at: T0 });
    expect(s.connection).toEqual({ kind: "connecting", attempt: 1 });
    s = reduceRun(s, opened(T0));
    expect(s.connection).toEqual({ kind: "live" });
    expect(s.connectionsOpened).toBe(1);
    s = reduceRun(s, { type: "stream/closed", reason: "socket hang up", at: T0 + 5 });
    expect(s.connection).toEqual({ kind: "reconnecting", attempt: 2, delayMs: 0, reason: "socket hang up" });
    s = reduceRun(s, { type: "stream/reconnecting", attempt: 2, delayMs: 1500, reason: "socket hang up", at: T0 + 6 });
    expect(s.connection).toEqual({ kind: "reconnecting", attempt: 2, delayMs: 1500, reason: "socket hang up" });
    s = reduceRun(s, { type: "stream/ended", at: T0 + 7 });
    expect(s.connection).toEqual({ kind: "ended" });
  });

  it("stream/malformed and stream/unknown add up", () => {
    const s = reduceAll([
      opened(T0),
      { type: "stream/malformed", count: 2, reason: "invalid JSON", at: T0 },
      { type: "stream/malformed", count: 1, reason: "frame over 16777216 bytes", at: T0 },
      { type: "stream/unknown", count: 3, at: T0 },
    ]);
    expect(s.malformedFrames).toBe(3);
    expect(s.unknownEvents).toBe(3);
  });

  it("every change bumps the version", () => {
    const a = initialRunState();
    const b = reduceRun(a, { type: "stream/connecting", attempt: 1, at: T0 });
    const c = reduceRun(b, batch(received([started("a")], T0)));
    expect(b.version).toBe(a.version + 1);
    expect(c.version).toBe(b.version + 1);
  });
});

describe("run events", () => {
  it("run_started sets run id, flow, step count, status and start", () => {
    const s = live([runStarted(5)]);
    expect(s).toMatchObject({ runId: "run_1", flowId: "flow_1", stepCount: 5, status: "running", startedAt: T0 + 1 });
  });

  it("flow_completed: completed, or the summary's failed/cancelled", () => {
    expect(live([runStarted(), flowCompleted()]).status).toBe("completed");
    expect(live([runStarted(), flowCompleted("failed")]).status).toBe("failed");
    expect(live([runStarted(), flowCompleted("CANCELLED")]).status).toBe("cancelled");
    expect(live([runStarted(), flowCompleted("weird")]).status).toBe("completed");
    expect(live([runStarted(), flowCompleted()]).completedAt).toBe(T0 + 2);
  });

  it("run/status maps server statuses, anything else is unknown", () => {
    const base = live([runStarted()]);
    for (const status of ["pending", "running", "completed", "failed", "cancelled"] as const) {
      expect(reduceRun(base, { type: "run/status", status, at: T0 }).status).toBe(status);
    }
    expect(reduceRun(base, { type: "run/status", status: "tool_calls_required", at: T0 }).status).toBe("unknown");
  });

  it("a terminal status never goes back to running", () => {
    let s = live([runStarted(), flowCompleted("failed")]);
    s = reduceRun(s, { type: "run/status", status: "running", at: T0 + 10 });
    expect(s.status).toBe("failed");
    s = reduceRun(s, batch(received([runStarted()], T0 + 11)));
    expect(s.status).toBe("failed");
    s = reduceRun(s, { type: "trace/loaded", trace: trace([], { status: "running" }), final: false, at: T0 + 12 });
    expect(s.status).toBe("failed");
    // terminal to another terminal status is the server correcting itself
    s = reduceRun(s, { type: "run/status", status: "cancelled", at: T0 + 13 });
    expect(s.status).toBe("cancelled");
  });

  it("a terminal run/status stops the clock", () => {
    const s = reduceRun(live([runStarted()]), { type: "run/status", status: "completed", at: T0 + 500 });
    expect(s.completedAt).toBe(T0 + 500);
  });
});

describe("step events", () => {
  it("step_started adds rows in first-seen order, running, attempt 1", () => {
    const s = live([runStarted(), started("b", "Bee"), started("a"), started("c")]);
    expect(s.steps.rows().map((r) => r.stepId)).toEqual(["b", "a", "c"]);
    expect(row(s, "b")).toMatchObject({ name: "Bee", order: 0, status: "running", attempt: 1, iterations: 1, isLoop: false, startedAt: T0 + 2 });
    expect(row(s, "a").name).toBeNull();
  });

  it("a duplicate step_started while running changes nothing", () => {
    const once = live([started("a", "A")]);
    const twice = live([started("a", "A"), started("a", "A")]);
    expect(twice.steps.rows()).toEqual(once.steps.rows());
    expect(twice.retries).toBe(0);
  });

  it("step_completed: status, duration, tokens, cost, model, name; totals add", () => {
    const s = live([
      runStarted(2),
      started("a"),
      completed("a", { name: "Alpha", durationMs: 1200, tokens: tokens(10, 5), costUsd: "0.1", modelUsed: "gpt-x" }),
      started("b"),
      completed("b", { costUsd: "0.2", tokens: tokens(1, 1) }),
    ]);
    expect(row(s, "a")).toMatchObject({
      name: "Alpha",
      status: "completed",
      durationMs: 1200,
      tokens: tokens(10, 5),
      costUsd: "0.1",
      modelUsed: "gpt-x",
      completedAt: T0 + 3,
    });
    // no durationMs on the event: arrival minus start
    expect(row(s, "b").durationMs).toBe(1);
    expect(selectTotals(s)).toEqual({
      stepsDone: 2,
      stepCount: 2,
      costUsd: "0.3",
      costUnknown: 0,
      tokens: { prompt: 11, completion: 6, total: 17 },
      retries: 0,
      failedSteps: 0,
    });
  });

  it("step_completed: partial or null token counts are kept as sent, and summed as known", () => {
    const s = live([
      runStarted(3),
      started("a"),
      completed("a", { tokens: { prompt: 5 } }),
      started("b"),
      completed("b", { tokens: null }),
      started("c"),
      completed("c", { tokens: tokens(1, 2) }),
    ]);
    expect(row(s, "a").tokens).toEqual({ prompt: 5, completion: null, total: null });
    expect(row(s, "b").tokens).toBeNull();
    expect(row(s, "c").tokens).toEqual(tokens(1, 2));
    expect(selectTotals(s).tokens).toEqual({ prompt: 6, completion: 2, total: 3 });
  });

  it("costs are canonical and summed exactly; an absent cost is unknown", () => {
    const events: TraceEvent[] = [];
    for (let i = 0; i < 1000; i++) events.push(started(`s${i}`), completed(`s${i}`, { costUsd: i === 0 ? "1e-6" : "0.000001" }));
    events.push(started("free"), completed("free"));
    const s = live(events);
    expect(row(s, "s0").costUsd).toBe("0.000001");
    expect(row(s, "free").costUsd).toBeNull();
    expect(selectTotals(s).costUsd).toBe("0.001");
    expect(selectTotals(s).costUnknown).toBe(1);
    expect(selectTotals(live([started("x"), completed("x")])).costUsd).toBeNull();
  });

  it("step_error: failed, last error, failed step counted", () => {
    const s = live([runStarted(), started("a"), failed("a", "rate limited")]);
    expect(row(s, "a")).toMatchObject({ status: "failed", lastError: "rate limited", attempt: 1, durationMs: 1 });
    expect(s.failedSteps).toBe(1);
    expect(s.lastError).toEqual({ stepId: "a", message: "rate limited" });
  });

  it("step_error without a message keeps a one-line form of the error preview", () => {
    const s = live([started("a"), { type: "step_error", stepId: "a", error: preview({ code: "E1", detail: "multi\nline" }) }]);
    expect(row(s, "a").lastError).toBe('{"code":"E1","detail":"multi\\nline"}');
    const long = live([started("a"), { type: "step_error", stepId: "a", errorMessage: "x".repeat(500) }]);
    expect(row(long, "a").lastError?.length).toBe(200);
  });

  it("retry: step_started after step_error is the next attempt", () => {
    const s = live([
      started("a"),
      failed("a"),
      started("a"),
      failed("a"),
      started("a"),
      completed("a", { costUsd: "0.5", durationMs: 10 }),
    ]);
    expect(row(s, "a")).toMatchObject({ status: "completed", attempt: 3, retries: 2, iterations: 1, isLoop: false, startedAt: T0 + 5 });
    expect(s.retries).toBe(2);
    // the step succeeded on retry: no longer a failed step
    expect(s.failedSteps).toBe(0);
    expect(selectTotals(s).costUsd).toBe("0.5");
  });

  it("loop: step_started after step_completed is the next iteration (8 iterations)", () => {
    const events: TraceEvent[] = [];
    for (let i = 0; i < 8; i++) {
      events.push(started("loop", "Loop"), completed("loop", { costUsd: "0.125", durationMs: 100, tokens: tokens(2, 1) }));
    }
    const s = live(events);
    const r = row(s, "loop");
    expect(r).toMatchObject({
      status: "completed",
      isLoop: true,
      iterations: 8,
      loopIndex: 7,
      attempt: 1,
      retries: 0,
      durationMs: 800,
      costUsd: "1",
      tokens: tokens(16, 8),
      startedAt: T0 + 1,
    });
    expect(r.iterationRows.map((it) => it.loopIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(r.iterationRows.every((it) => it.status === "completed" && it.costUsd === "0.125")).toBe(true);
    expect(s.steps.size).toBe(1);
    expect(selectTotals(s).costUsd).toBe("1");
  });

  it("a retry inside a loop iteration counts once and keeps the iteration", () => {
    const s = live([
      started("loop"),
      completed("loop", { costUsd: "0.1", durationMs: 5 }),
      started("loop"),
      failed("loop"),
      started("loop"),
      completed("loop", { costUsd: "0.2", durationMs: 7 }),
    ]);
    const r = row(s, "loop");
    expect(r).toMatchObject({ iterations: 2, loopIndex: 1, attempt: 2, retries: 1, durationMs: 12, costUsd: "0.3", status: "completed" });
    expect(r.iterationRows.map((it) => [it.loopIndex, it.attempt, it.status])).toEqual([
      [0, 1, "completed"],
      [1, 2, "completed"],
    ]);
    expect(s.failedSteps).toBe(0);
  });

  it("a long loop keeps bounded iteration detail but counts and sums every iteration", () => {
    const n = 2 * LIVE_ITERATIONS_KEPT + 10;
    const events: TraceEvent[] = [];
    for (let i = 0; i < n; i++) events.push(started("loop"), completed("loop", { costUsd: "0.001", durationMs: 1 }));
    const r = row(live(events), "loop");
    expect(r.iterations).toBe(n);
    expect(r.costUsd).toBe(String(n / 1000));
    expect(r.durationMs).toBe(n);
    expect(r.iterationRows.length).toBeLessThan(2 * LIVE_ITERATIONS_KEPT);
    expect(r.iterationRows.at(-1)?.loopIndex).toBe(n - 1);
  });

  it("tool pause: waiting_tools, then running again on the next start of the same attempt", () => {
    let s = live([started("a"), { type: "step_paused_for_tool_calls", stepId: "a", iterationsUsed: 1, toolCalls: [] }]);
    expect(row(s, "a")).toMatchObject({ status: "waiting_tools", attempt: 1 });
    s = reduceRun(s, batch(received([started("a")], T0 + 50)));
    expect(row(s, "a")).toMatchObject({ status: "running", attempt: 1, retries: 0, iterations: 1, startedAt: T0 + 1 });
  });

  it("step_paused: paused; a finished step is not paused afterwards", () => {
    const s = live([started("a"), { type: "step_paused", stepId: "a" }]);
    expect(row(s, "a").status).toBe("paused");
    const done = live([started("a"), completed("a"), { type: "step_paused", stepId: "a" }]);
    expect(row(done, "a").status).toBe("completed");
  });

  it("step_input / step_output keep the last previews", () => {
    const s = live([
      started("a"),
      { type: "step_input", stepId: "a", inputData: preview({ q: 1 }) },
      { type: "step_output", stepId: "a", outputData: preview("partial") },
      { type: "step_output", stepId: "a", outputData: preview("final") },
    ]);
    expect(row(s, "a").lastInput?.json).toBe('{"q":1}');
    expect(row(s, "a").lastOutput?.json).toBe('"final"');
  });

  it("step_progress with a loop index marks a loop; loop_completed refines the count", () => {
    let s = live([started("l"), { type: "step_progress", stepId: "l", loopIndex: 0 }]);
    expect(row(s, "l")).toMatchObject({ isLoop: true, loopIndex: 0, iterations: 1 });
    s = reduceRun(s, batch(received([completed("l"), started("l"), { type: "step_progress", stepId: "l", loopIndex: 1 }], T0 + 10)));
    expect(row(s, "l")).toMatchObject({ loopIndex: 1, iterations: 2 });
    s = reduceRun(s, batch(received([completed("l"), { type: "loop_completed", stepId: "l", iterations: 5 }], T0 + 20)));
    expect(row(s, "l").iterations).toBe(5);
    // without the extras, the model still works (see the loop test)
    const plain = live([started("m"), { type: "loop_completed", stepId: "m", iterations: 3 }]);
    expect(row(plain, "m")).toMatchObject({ isLoop: true, iterations: 3, loopIndex: 2 });
  });

  it("a skipped step (step_progress \"skipped: ...\", its only event) is a named row in flow order", () => {
    const skip = (stepId: string, name: string): TraceEvent => ({ type: "step_progress", stepId, name, message: "skipped: condition false" });
    const s = live([
      runStarted(3),
      started("a", "Alpha"),
      completed("a", { costUsd: "0.1" }),
      skip("b", "Beta"),
      started("c", "Gamma"),
      completed("c", { costUsd: "0.2" }),
    ]);
    expect(s.steps.rows().map((r) => [r.stepId, r.name, r.status, r.order])).toEqual([
      ["a", "Alpha", "completed", 0],
      ["b", "Beta", "skipped", 1],
      ["c", "Gamma", "completed", 2],
    ]);
    expect(row(s, "b")).toMatchObject({ startedAt: null, completedAt: null, durationMs: null, costUsd: null });
    // Done, and not an unknown cost (it never ran).
    expect(selectTotals(s)).toMatchObject({ stepsDone: 3, costUsd: "0.3", costUnknown: 0 });
    // The final trace keeps it in place, with its name.
    const final = reduceRun(s, {
      type: "trace/loaded",
      final: true,
      trace: trace([stepTrace("a", { costUsd: "0.1" }), stepTrace("b", { status: "skipped" }), stepTrace("c", { costUsd: "0.2" })]),
      at: T0 + 100,
    });
    expect(final.steps.rows().map((r) => [r.stepId, r.name, r.status])).toEqual([
      ["a", "Alpha", "completed"],
      ["b", "Beta", "skipped"],
      ["c", "Gamma", "completed"],
    ]);
  });

  it("a skip message marks a step waiting to run, not one that ran; other progress only names and places", () => {
    const skip: TraceEvent = { type: "step_progress", stepId: "a", message: "skipped: nothing to do" };
    // A step a trace lists as pending is skipped; a completed or paused one stays so.
    const pending = reduceRun(live([runStarted()]), { type: "trace/loaded", final: false, trace: trace([stepTrace("a", { status: "pending" })], { status: "running" }), at: T0 });
    expect(row(reduceRun(pending, batch(received([skip], T0 + 5))), "a").status).toBe("skipped");
    expect(row(live([started("a"), completed("a"), skip]), "a").status).toBe("completed");
    expect(row(live([{ type: "step_paused", stepId: "a" }, skip]), "a").status).toBe("paused");
    const named = live([started("a"), { type: "step_progress", stepId: "a", name: "Alpha", message: "50%" }]);
    expect(row(named, "a")).toMatchObject({ name: "Alpha", status: "running", startedAt: T0 + 1 });
    // Progress before the step's start (as the server sends it before each loop
    // iteration): the row starts then, in flow order, and the start adds nothing.
    const early = live([
      { type: "step_progress", stepId: "loop", loopIndex: 0, message: "item 1 of 2" },
      started("loop", "Loop"),
      completed("loop", { costUsd: "0.5" }),
      { type: "step_progress", stepId: "loop", loopIndex: 1, message: "item 2 of 2" },
      started("loop", "Loop"),
      completed("loop", { costUsd: "0.5" }),
      started("next"),
    ]);
    expect(early.steps.rows().map((r) => r.stepId)).toEqual(["loop", "next"]);
    expect(row(early, "loop")).toMatchObject({ name: "Loop", isLoop: true, iterations: 2, loopIndex: 1, startedAt: T0 + 1, costUsd: "1" });
    expect(row(early, "loop").iterationRows.map((it) => [it.loopIndex, it.status])).toEqual([
      [0, "completed"],
      [1, "completed"],
    ]);
  });

  it("most rows are compact PlainRows; a retry, an error, a preview or a loop makes a full row with the same reads", () => {
    const s = live([
      started("a", "Alpha"),
      completed("a", { costUsd: "0.1", durationMs: 5 }),
      started("b"),
      failed("b", "flaky"),
      started("b"),
      completed("b"),
      started("c"),
      { type: "step_output", stepId: "c", outputData: preview("x") },
    ]);
    expect(row(s, "a")).toBeInstanceOf(PlainRow);
    expect(row(s, "a")).toMatchObject({ attempt: 1, retries: 0, isLoop: false, lastError: null, costUsd: "0.1", durationMs: 5 });
    expect(row(s, "b")).not.toBeInstanceOf(PlainRow);
    expect(row(s, "b")).toMatchObject({ attempt: 2, retries: 1, status: "completed", lastError: "flaky" });
    expect(row(s, "c").lastOutput?.json).toBe('"x"');
  });

  it("events for a step never started still make a row", () => {
    const s = live([completed("late", { costUsd: "0.4" }), failed("orphan")]);
    expect(row(s, "late")).toMatchObject({ status: "completed", costUsd: "0.4", startedAt: null, durationMs: null });
    expect(row(s, "orphan").status).toBe("failed");
    expect(s.steps.rows().map((r) => r.order)).toEqual([0, 1]);
  });

  it("a batch applies many events in one call", () => {
    const one = live([started("a"), completed("a", { costUsd: "0.1" }), started("b")]);
    let split = reduceAll([opened(T0)]);
    for (const e of received([started("a"), completed("a", { costUsd: "0.1" }), started("b")], T0 + 1)) split = reduceRun(split, batch([e]));
    expect(one.steps.rows()).toEqual(split.steps.rows());
    expect(one.version).toBe(2);
    expect(one.eventsApplied).toBe(3);
    // the step table is updated in place (never copied per event); the state object is new
    const next = reduceRun(one, batch(received([completed("b")], T0 + 10)));
    expect(next).not.toBe(one);
    expect(next.steps).toBe(one.steps);
  });

  it("events after the final trace are ignored", () => {
    let s = live([started("a")]);
    s = reduceRun(s, { type: "trace/loaded", trace: trace([stepTrace("a")]), final: true, at: T0 + 5 });
    const after = reduceRun(s, batch(received([started("a")], T0 + 6)));
    expect(after).toBe(s);
  });
});

describe("trace and attempts actions", () => {
  it("trace/loaded reconciles; final marks the state final", () => {
    const s0 = live([runStarted(), started("a", "Alpha")]);
    const loaded = reduceRun(s0, {
      type: "trace/loaded",
      trace: trace([stepTrace("a", { attempt: 2, costUsd: "0.02" })], { stepCount: 1 }),
      final: false,
      at: T0 + 9,
    });
    expect(loaded.final).toBe(false);
    expect(row(loaded, "a")).toMatchObject({ name: "Alpha", attempt: 2, retries: 1, costUsd: "0.02", status: "completed" });
    const fin = reduceRun(loaded, { type: "trace/loaded", trace: trace([stepTrace("a")]), final: true, at: T0 + 10 });
    expect(fin.final).toBe(true);
  });

  it("trace/loaded whose steps a sink took leaves the state; trace/reconciled brings the sink's steps", () => {
    const s0 = live([runStarted(), started("a", "Alpha")]);
    const head = trace([], { stepCount: 2, status: "failed" });
    expect(reduceRun(s0, { type: "trace/loaded", trace: head, final: true, at: T0 + 9, stepsTaken: true })).toBe(s0);
    const reconciler = new TraceReconciler(s0);
    reconciler.add(stepTrace("a", { attempt: 2, costUsd: "0.02" }));
    reconciler.add(stepTrace("b", { status: "failed", costUsd: "0.01" }));
    const s = reduceRun(s0, { type: "trace/reconciled", trace: head, final: true, reconciler });
    expect(s).toMatchObject({ final: true, replay: null, status: "failed", stepCount: 2 });
    expect(s.steps.rows().map((r) => [r.stepId, r.name, r.attempt, r.status])).toEqual([
      ["a", "Alpha", 2, "completed"],
      ["b", null, 1, "failed"],
    ]);
    expect(selectTotals(s)).toMatchObject({ costUsd: "0.03", retries: 1, failedSteps: 1 });
  });

  it("attempts/loaded stores every attempt per step and loop index", () => {
    const attempts = [stepTrace("a", { attempt: 1, status: "failed", costUsd: "0.1" }), stepTrace("a", { attempt: 2, costUsd: "0.2" })];
    let s = reduceRun(live([started("a")]), { type: "attempts/loaded", stepId: "a", loopIndex: null, attempts, at: T0 });
    s = reduceRun(s, { type: "attempts/loaded", stepId: "a", loopIndex: 3, attempts: [], at: T0 });
    expect(s.attempts.get("a#")).toBe(attempts);
    expect(s.attempts.get("a#3")).toEqual([]);
  });

  it("offline/loaded shows a saved trace with the saved names, final and offline", () => {
    const s = reduceRun(initialRunState("exec_1"), {
      type: "offline/loaded",
      trace: trace([stepTrace("a", { costUsd: "0.1" }), stepTrace("b", { costUsd: "0.2" })], { status: "failed" }),
      names: { a: "Alpha" },
    });
    expect(s).toMatchObject({ final: true, status: "failed", connection: { kind: "offline" } });
    expect(s.steps.rows().map((r) => [r.stepId, r.name])).toEqual([
      ["a", "Alpha"],
      ["b", null],
    ]);
    expect(selectTotals(s).costUsd).toBe("0.3");
  });
});
