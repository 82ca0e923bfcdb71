import { describe, expect, it } from "vitest";
import { reduceRun } from "../../src/state/reducer.js";
import {
  selectElapsedMs,
  selectFollowIndex,
  selectRows,
  selectStepCostWithRetries,
  selectTotals,
  stepElapsedMs,
  visibleWindow,
} from "../../src/state/selectors.js";
import { batch, completed, failed, live, received, row, runStarted, started, stepTrace, T0 } from "./fixtures.js";

const ids = (rows: readonly { stepId: string }[]): string[] => rows.map((r) => r.stepId);

function table() {
  return live([
    runStarted(5),
    started("fetch", "Fetch page"),
    completed("fetch", { durationMs: 300, costUsd: "0.002", tokens: { prompt: 10, completion: 5, total: 15 } }),
    started("summarize", "Summarize"),
    completed("summarize", { durationMs: 1200, costUsd: "0.0105", tokens: { prompt: 900, completion: 100, total: 1000 } }),
    started("grade", "Grade"),
    completed("grade", { durationMs: 800 }),
    started("publish", "Publish"),
    failed("publish"),
    started("notify"),
  ]);
}

describe("selectRows", () => {
  it("flow order by default, then by duration, cost or tokens (largest first, unknown last)", () => {
    const s = table();
    const now = T0 + 10_000;
    expect(ids(selectRows(s, { sort: "flow", filter: "", now }))).toEqual(["fetch", "summarize", "grade", "publish", "notify"]);
    // notify is running since T0+10: it ticks to ~9990 ms
    expect(ids(selectRows(s, { sort: "duration", filter: "", now }))).toEqual(["notify", "summarize", "grade", "fetch", "publish"]);
    expect(ids(selectRows(s, { sort: "cost", filter: "", now }))).toEqual(["summarize", "fetch", "grade", "publish", "notify"]);
    expect(ids(selectRows(s, { sort: "tokens", filter: "", now }))).toEqual(["summarize", "fetch", "grade", "publish", "notify"]);
  });

  it("filters by a case-insensitive substring of id, name or status", () => {
    const s = table();
    const now = T0;
    expect(ids(selectRows(s, { sort: "flow", filter: "SUMM", now }))).toEqual(["summarize"]);
    expect(ids(selectRows(s, { sort: "flow", filter: "page", now }))).toEqual(["fetch"]);
    expect(ids(selectRows(s, { sort: "flow", filter: "failed", now }))).toEqual(["publish"]);
    expect(ids(selectRows(s, { sort: "flow", filter: "running", now }))).toEqual(["notify"]);
    expect(selectRows(s, { sort: "flow", filter: "nothing-like-this", now })).toEqual([]);
  });

  it("is memoised on version, sort and filter", () => {
    let s = table();
    const a = selectRows(s, { sort: "cost", filter: "", now: T0 });
    expect(selectRows(s, { sort: "cost", filter: "", now: T0 + 5000 })).toBe(a);
    const flow = selectRows(s, { sort: "flow", filter: "", now: T0 });
    expect(flow).not.toBe(a);
    expect(flow).not.toBe(s.steps.rows());
    // a second view does not evict the first
    expect(selectRows(s, { sort: "cost", filter: "", now: T0 })).toBe(a);
    s = reduceRun(s, batch(received([completed("notify", { costUsd: "1" })], T0 + 20)));
    const b = selectRows(s, { sort: "cost", filter: "", now: T0 });
    expect(b).not.toBe(a);
    expect(ids(b)[0]).toBe("notify");
  });
});

describe("totals and elapsed time", () => {
  it("selectTotals: steps done / count, exact cost, tokens, retries, failed steps", () => {
    expect(selectTotals(table())).toEqual({
      stepsDone: 3,
      stepCount: 5,
      costUsd: "0.0125",
      costUnknown: 1,
      tokens: { prompt: 910, completion: 105, total: 1015 },
      retries: 0,
      failedSteps: 1,
    });
  });

  it("run elapsed ticks while running and stops at the end", () => {
    let s = live([runStarted()]);
    expect(selectElapsedMs(s, T0 + 1001)).toBe(1000);
    expect(selectElapsedMs(s, T0 + 5001)).toBe(5000);
    s = reduceRun(s, batch(received([{ type: "flow_completed" }], T0 + 3001)));
    expect(selectElapsedMs(s, T0 + 99_999)).toBe(3000);
    expect(selectElapsedMs(live([]), T0)).toBeNull();
  });

  it("a step's duration ticks while it runs; a loop adds its finished iterations", () => {
    const s = live([started("a")]);
    expect(stepElapsedMs(row(s, "a"), T0 + 101)).toBe(100);
    expect(stepElapsedMs(row(s, "a"), T0 + 201)).toBe(200);
    const done = live([started("a"), completed("a", { durationMs: 42 })]);
    expect(stepElapsedMs(row(done, "a"), T0 + 99_999)).toBe(42);
    const loop = live([started("l"), completed("l", { durationMs: 50 }), started("l")]);
    expect(stepElapsedMs(row(loop, "l"), T0 + 3 + 10)).toBe(60);
  });
});

describe("visibleWindow", () => {
  it("keeps the selection visible with minimal scrolling", () => {
    expect(visibleWindow(100, 0, 10, 0)).toEqual({ start: 0, end: 10 });
    expect(visibleWindow(100, 9, 10, 0)).toEqual({ start: 0, end: 10 });
    expect(visibleWindow(100, 10, 10, 0)).toEqual({ start: 1, end: 11 });
    expect(visibleWindow(100, 5, 10, 3)).toEqual({ start: 3, end: 13 });
    expect(visibleWindow(100, 2, 10, 3)).toEqual({ start: 2, end: 12 });
    expect(visibleWindow(100, 99, 10, 0)).toEqual({ start: 90, end: 100 });
  });

  it("clamps odd inputs", () => {
    expect(visibleWindow(5, 3, 10, 4)).toEqual({ start: 0, end: 5 });
    expect(visibleWindow(0, 0, 10, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleWindow(100, 500, 10, 0)).toEqual({ start: 90, end: 100 });
    expect(visibleWindow(100, -3, 10, 50)).toEqual({ start: 0, end: 10 });
    expect(visibleWindow(100, 20, 0, 0)).toEqual({ start: 0, end: 0 });
  });
});

describe("selectStepCostWithRetries", () => {
  it("latest attempt plus failed attempts once they are loaded", () => {
    let s = live([started("a"), failed("a"), started("a"), completed("a", { costUsd: "0.2" }), started("b"), completed("b", { costUsd: "0.5" })]);
    expect(selectStepCostWithRetries(s, "b")).toBe("0.5");
    expect(selectStepCostWithRetries(s, "a")).toBeNull();
    s = reduceRun(s, {
      type: "attempts/loaded",
      stepId: "a",
      loopIndex: null,
      attempts: [stepTrace("a", { attempt: 1, status: "failed", costUsd: "0.05" }), stepTrace("a", { attempt: 2, costUsd: "0.2" })],
      at: T0,
    });
    expect(selectStepCostWithRetries(s, "a")).toBe("0.25");
    expect(selectStepCostWithRetries(s, "missing")).toBeNull();
  });
});

describe("selectFollowIndex", () => {
  it("follows the most recently started running row, else the last row", () => {
    const s = live([started("a"), started("b"), started("c"), completed("c")]);
    expect(selectFollowIndex(s.steps.rows())).toBe(1);
    const done = live([started("a"), completed("a"), started("b"), completed("b")]);
    expect(selectFollowIndex(done.steps.rows())).toBe(1);
    expect(selectFollowIndex([])).toBe(-1);
  });
});
