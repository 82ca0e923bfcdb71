import { describe, expect, it } from "vitest";
import {
  EMPTY_DETAIL_CONTEXT,
  HSCROLL_STEP,
  initialViewState,
  reduceView,
  resolveAttempt,
  resolveList,
  resolveSelection,
  resolveWindow,
  type CostBars,
  type DetailContext,
  type StepTarget,
  type TableRows,
  type TimelineLanes,
  type ViewContext,
  type ViewState,
} from "../../src/ui/viewReducer.js";

/** A timeline line: a step (`id`) or one of its iterations (`id#n`); `loop` marks loop steps. */
interface LaneSpec {
  readonly key: string;
  readonly target: StepTarget;
  readonly loop?: string;
}

/** Timeline lines for ids; a loop in `loops` lists its iterations when expanded. */
function lanesFor(ids: readonly string[], loops: Record<string, readonly number[]>): (expanded: ReadonlySet<string>) => TimelineLanes {
  return (expanded) => {
    const lanes: LaneSpec[] = [];
    for (const id of ids) {
      const iterations = loops[id];
      lanes.push(iterations === undefined ? { key: id, target: { stepId: id } } : { key: id, target: { stepId: id }, loop: id });
      if (iterations !== undefined && expanded.has(id)) {
        for (const n of iterations) lanes.push({ key: `${id}#${String(n)}`, target: { stepId: id, loopIndex: n }, loop: id });
      }
    }
    return {
      count: lanes.length,
      idAt: (i) => lanes[i]?.key,
      indexOf: (key) => lanes.findIndex((lane) => lane.key === key),
      targetAt: (i) => lanes[i]?.target,
      loopAt: (i) => lanes[i]?.loop,
    };
  };
}

/** Cost bars: by step (the ids, as given) or by model (the models, opening nothing). */
function barsFor(ids: readonly string[], models: readonly string[]): (byModel: boolean) => CostBars {
  return (byModel) => {
    const keys = byModel ? models : ids;
    return {
      count: keys.length,
      idAt: (i) => keys[i],
      indexOf: (key) => keys.indexOf(key),
      targetAt: (i) => (byModel || keys[i] === undefined ? undefined : { stepId: keys[i] }),
    };
  };
}

function context(
  ids: readonly string[],
  opts: {
    followIndex?: number;
    pageSize?: number;
    iterations?: Record<string, readonly (number | null)[]>;
    loops?: Record<string, readonly number[]>;
    models?: readonly string[];
    detail?: Partial<DetailContext>;
  } = {},
): ViewContext {
  const index = new Map(ids.map((id, i) => [id, i]));
  const rows: TableRows = {
    count: ids.length,
    idAt: (i) => ids[i],
    indexOf: (id) => index.get(id) ?? -1,
    followIndex: opts.followIndex ?? ids.length - 1,
  };
  return {
    rows: () => rows,
    lanes: lanesFor(ids, opts.loops ?? {}),
    costBars: barsFor(ids, opts.models ?? []),
    pageSize: opts.pageSize ?? 5,
    iterationsOf: (id) => opts.iterations?.[id] ?? [null],
    detail: { ...EMPTY_DETAIL_CONTEXT, ...opts.detail },
  };
}

const IDS = Array.from({ length: 20 }, (_, i) => `s${String(i)}`);

function manual(state: Partial<ViewState> = {}): ViewState {
  return { ...initialViewState(), follow: false, ...state };
}

function inDetail(ctx: ViewContext, stepId = "s3"): ViewState {
  const state = reduceView(manual({ selectedId: stepId, selectedIndex: IDS.indexOf(stepId) }), { type: "open" }, ctx);
  expect(state.mode).toBe("detail");
  return state;
}

describe("viewReducer (table)", () => {
  it("starts in the table, following, sorted by flow order", () => {
    const state = initialViewState();
    expect(state).toMatchObject({ mode: "table", follow: true, sort: "flow", filter: "", quit: null, exports: 0 });
    expect(resolveSelection(state, context(IDS, { followIndex: 7 }))).toBe(7);
  });

  it("move: starts from the followed row, turns follow off, clamps at both ends", () => {
    const ctx = context(IDS, { followIndex: 7 });
    const down = reduceView(initialViewState(), { type: "move", delta: 1 }, ctx);
    expect(down.follow).toBe(false);
    expect(down.selectedId).toBe("s8");
    expect(resolveSelection(down, ctx)).toBe(8);
    const top = reduceView(manual({ selectedId: "s0" }), { type: "move", delta: -1 }, ctx);
    expect(top.selectedId).toBe("s0");
    const bottom = reduceView(manual({ selectedId: "s19" }), { type: "move", delta: 1 }, ctx);
    expect(bottom.selectedId).toBe("s19");
  });

  it("move: scrolls the window only as much as the selection needs", () => {
    const ctx = context(IDS, { pageSize: 5 });
    let state = manual({ selectedId: "s0" });
    for (let i = 0; i < 6; i += 1) state = reduceView(state, { type: "move", delta: 1 }, ctx);
    expect(state.selectedId).toBe("s6");
    const window = resolveWindow(state, ctx);
    expect(window.end - window.start).toBe(5);
    expect(window.start).toBeLessThanOrEqual(6);
    expect(window.end).toBeGreaterThan(6);
  });

  it("page: moves by the page size", () => {
    const ctx = context(IDS, { pageSize: 5 });
    const down = reduceView(manual({ selectedId: "s2" }), { type: "page", direction: 1 }, ctx);
    expect(down.selectedId).toBe("s7");
    const up = reduceView(down, { type: "page", direction: -1 }, ctx);
    expect(up.selectedId).toBe("s2");
  });

  it("first and last", () => {
    const ctx = context(IDS);
    expect(reduceView(manual({ selectedId: "s5" }), { type: "first" }, ctx).selectedId).toBe("s0");
    expect(reduceView(manual({ selectedId: "s5" }), { type: "last" }, ctx).selectedId).toBe("s19");
  });

  it("keeps the selected step when rows reorder, and falls back to the index when it is filtered out", () => {
    const state = manual({ selectedId: "s4", selectedIndex: 4 });
    expect(resolveSelection(state, context(["s9", "s4", "s1"]))).toBe(1);
    expect(resolveSelection(state, context(["s9", "s1"]))).toBe(1);
    expect(resolveSelection(state, context([]))).toBe(-1);
  });

  it("open: shows the selected step's detail at its latest loop iteration", () => {
    const ctx = context(IDS, { iterations: { s3: [0, 1, 2] } });
    const state = inDetail(ctx);
    expect(state.detail).toEqual({ stepId: "s3", loopIndex: 2, attempt: null, context: null, scroll: 0, hscroll: 0, returnTo: "table" });
    expect(reduceView(manual(), { type: "open" }, context([]))).toEqual(manual());
  });

  it("back: leaves the detail; in the table it clears the filter", () => {
    const ctx = context(IDS);
    const back = reduceView(inDetail(ctx), { type: "back" }, ctx);
    expect(back.mode).toBe("table");
    expect(back.detail).toBeNull();
    expect(reduceView(manual({ filter: "x" }), { type: "back" }, ctx).filter).toBe("");
  });

  it("follow/toggle: off pins the row being followed, on tracks again", () => {
    const ctx = context(IDS, { followIndex: 11 });
    const off = reduceView(initialViewState(), { type: "follow/toggle" }, ctx);
    expect(off.follow).toBe(false);
    expect(off.selectedId).toBe("s11");
    const on = reduceView(off, { type: "follow/toggle" }, ctx);
    expect(on.follow).toBe(true);
  });

  it("filter/start, filter/type, filter/erase, filter/keep, filter/clear", () => {
    const ctx = context(IDS);
    let state = reduceView(manual(), { type: "filter/start" }, ctx);
    expect(state.filterEditing).toBe(true);
    state = reduceView(state, { type: "filter/type", text: "fa" }, ctx);
    state = reduceView(state, { type: "filter/type", text: "x" }, ctx);
    expect(state.filter).toBe("fax");
    state = reduceView(state, { type: "filter/erase" }, ctx);
    expect(state.filter).toBe("fa");
    state = reduceView(state, { type: "filter/keep" }, ctx);
    expect(state).toMatchObject({ filter: "fa", filterEditing: false });
    state = reduceView(state, { type: "filter/clear" }, ctx);
    expect(state).toMatchObject({ filter: "", filterEditing: false });
  });

  it("sort/cycle: flow, duration, cost, tokens, then flow again", () => {
    const ctx = context(IDS);
    const seen: string[] = [];
    let state = initialViewState();
    for (let i = 0; i < 4; i += 1) {
      state = reduceView(state, { type: "sort/cycle" }, ctx);
      seen.push(state.sort);
    }
    expect(seen).toEqual(["duration", "cost", "tokens", "flow"]);
  });

  it("reload bumps the reload counter in every screen", () => {
    const ctx = context(IDS);
    expect(reduceView(manual(), { type: "reload" }, ctx).reloads).toBe(1);
    expect(reduceView(inDetail(ctx), { type: "reload" }, ctx).reloads).toBe(1);
  });

  it("help/toggle opens the help and returns to the screen it came from", () => {
    const ctx = context(IDS);
    const help = reduceView(manual(), { type: "help/toggle" }, ctx);
    expect(help.mode).toBe("help");
    expect(reduceView(help, { type: "help/toggle" }, ctx).mode).toBe("table");
    const fromDetail = reduceView(inDetail(ctx), { type: "help/toggle" }, ctx);
    expect(reduceView(fromDetail, { type: "back" }, ctx).mode).toBe("detail");
    expect(reduceView(help, { type: "move", delta: 1 }, ctx)).toBe(help);
  });

  it("quit remembers the key: q, or Ctrl+C (the CLI exits 130 for it)", () => {
    expect(reduceView(manual(), { type: "quit", key: "q" }, context(IDS)).quit).toBe("q");
    expect(reduceView(inDetail(context(IDS)), { type: "quit", key: "ctrl-c" }, context(IDS)).quit).toBe("ctrl-c");
  });

  it("export bumps the export counter", () => {
    const ctx = context(IDS);
    const once = reduceView(manual(), { type: "export" }, ctx);
    expect(once.exports).toBe(1);
    expect(reduceView(once, { type: "export" }, ctx).exports).toBe(2);
  });
});

describe("viewReducer (detail)", () => {
  const detailCtx = (detail: Partial<DetailContext>, iterations: readonly (number | null)[] = [null]) =>
    context(IDS, { detail, iterations: { s3: iterations } });

  it("move selects an attempt, starting from the latest", () => {
    const ctx = detailCtx({ attemptCount: 3 });
    const state = inDetail(ctx);
    expect(resolveAttempt(state.detail!, 3)).toBe(2);
    const up = reduceView(state, { type: "move", delta: -1 }, ctx);
    expect(up.detail?.attempt).toBe(1);
    const top = reduceView(reduceView(up, { type: "move", delta: -5 }, ctx), { type: "move", delta: -1 }, ctx);
    expect(top.detail?.attempt).toBe(0);
    expect(reduceView(state, { type: "move", delta: 1 }, detailCtx({ attemptCount: 0 }))).toBe(state);
  });

  it("detail/scroll, page, first and last scroll the snapshot within its length", () => {
    const ctx = detailCtx({ attemptCount: 1, contextLines: 100, contextPage: 10 });
    let state = inDetail(ctx);
    state = reduceView(state, { type: "detail/scroll", delta: 3 }, ctx);
    expect(state.detail?.scroll).toBe(3);
    state = reduceView(state, { type: "page", direction: 1 }, ctx);
    expect(state.detail?.scroll).toBe(13);
    state = reduceView(state, { type: "last" }, ctx);
    expect(state.detail?.scroll).toBe(90);
    state = reduceView(state, { type: "detail/scroll", delta: 1 }, ctx);
    expect(state.detail?.scroll).toBe(90);
    state = reduceView(state, { type: "first" }, ctx);
    expect(state.detail?.scroll).toBe(0);
    state = reduceView(state, { type: "page", direction: -1 }, ctx);
    expect(state.detail?.scroll).toBe(0);
  });

  it("detail/iteration walks the loop indexes and resets the attempt", () => {
    const ctx = detailCtx({ attemptCount: 2 }, [0, 1, 2, 3]);
    let state = inDetail(ctx);
    expect(state.detail?.loopIndex).toBe(3);
    state = reduceView(state, { type: "move", delta: -1 }, ctx);
    state = reduceView(state, { type: "detail/iteration", delta: -1 }, ctx);
    expect(state.detail).toMatchObject({ loopIndex: 2, attempt: null, scroll: 0 });
    state = reduceView(state, { type: "detail/iteration", delta: 1 }, ctx);
    state = reduceView(state, { type: "detail/iteration", delta: 1 }, ctx);
    expect(state.detail?.loopIndex).toBe(3);
    const single = inDetail(detailCtx({}));
    expect(reduceView(single, { type: "detail/iteration", delta: 1 }, detailCtx({}))).toBe(single);
  });

  it("detail/hscroll moves sideways within the widest line; Left at the first column goes back", () => {
    const ctx = detailCtx({ attemptCount: 1, contextColumns: 100, contextPageColumns: 80 });
    let state = inDetail(ctx);
    state = reduceView(state, { type: "detail/hscroll", delta: HSCROLL_STEP }, ctx);
    expect(state.detail?.hscroll).toBe(HSCROLL_STEP);
    for (let i = 0; i < 5; i += 1) state = reduceView(state, { type: "detail/hscroll", delta: HSCROLL_STEP }, ctx);
    expect(state.detail?.hscroll).toBe(20);
    state = reduceView(state, { type: "detail/hscroll", delta: -HSCROLL_STEP, orBack: true }, ctx);
    expect(state.detail?.hscroll).toBe(12);
    state = reduceView(state, { type: "detail/hscroll", delta: -100 }, ctx);
    expect(state).toMatchObject({ mode: "detail", detail: { hscroll: 0 } });
    expect(reduceView(state, { type: "detail/hscroll", delta: -HSCROLL_STEP, orBack: true }, ctx).mode).toBe("table");
    // A snapshot narrower than the screen does not move.
    const narrow = detailCtx({ attemptCount: 1, contextColumns: 40, contextPageColumns: 80 });
    const still = inDetail(narrow);
    expect(reduceView(still, { type: "detail/hscroll", delta: HSCROLL_STEP }, narrow)).toBe(still);
  });

  it("another attempt, iteration or snapshot starts at the first column", () => {
    const ctx = detailCtx({ attemptCount: 2, contextColumns: 100, contextPageColumns: 80 }, [0, 1]);
    const moved = reduceView(inDetail(ctx), { type: "detail/hscroll", delta: HSCROLL_STEP }, ctx);
    expect(reduceView(moved, { type: "move", delta: -1 }, ctx).detail?.hscroll).toBe(0);
    expect(reduceView(moved, { type: "detail/iteration", delta: -1 }, ctx).detail?.hscroll).toBe(0);
    expect(reduceView(moved, { type: "detail/context", kind: "input" }, ctx).detail?.hscroll).toBe(0);
  });

  it("detail/context picks a snapshot, or cycles error, input, output", () => {
    const ctx = detailCtx({ attemptCount: 1, contextKind: "output" });
    const state = inDetail(ctx);
    expect(reduceView(state, { type: "detail/context", kind: "input" }, ctx).detail?.context).toBe("input");
    expect(reduceView(state, { type: "detail/context" }, ctx).detail?.context).toBe("error");
    const fromError = detailCtx({ attemptCount: 1, contextKind: "error" });
    expect(reduceView(state, { type: "detail/context" }, fromError).detail?.context).toBe("input");
  });
});

describe("viewReducer (timeline)", () => {
  const ctx = context(["a", "loop", "b"], { loops: { loop: [0, 1, 2] }, iterations: { loop: [0, 1, 2] }, pageSize: 3 });

  function inTimeline(selectedId = "a"): ViewState {
    const state = reduceView(manual({ selectedId }), { type: "view/toggle", view: "timeline" }, ctx);
    expect(state.mode).toBe("timeline");
    return state;
  }

  it("view/toggle opens the timeline on the table's step, and again goes back to the table", () => {
    const state = inTimeline("b");
    expect(state.timeline.selectedId).toBe("b");
    expect(reduceView(state, { type: "view/toggle", view: "timeline" }, ctx).mode).toBe("table");
    expect(reduceView(state, { type: "view/toggle", view: "cost" }, ctx).mode).toBe("cost");
    expect(reduceView(state, { type: "back" }, ctx).mode).toBe("table");
  });

  it("move, page, first and last select lines and scroll the window", () => {
    let state = inTimeline();
    state = reduceView(state, { type: "move", delta: 1 }, ctx);
    expect(state.timeline.selectedId).toBe("loop");
    state = reduceView(state, { type: "last" }, ctx);
    expect(state.timeline.selectedId).toBe("b");
    state = reduceView(state, { type: "first" }, ctx);
    expect(state.timeline.selectedId).toBe("a");
    state = reduceView(state, { type: "page", direction: 1 }, ctx);
    expect(state.timeline.selectedId).toBe("b");
    // The table's own selection is left alone.
    expect(state.selectedId).toBe("a");
  });

  it("timeline/expand lists a loop's iterations, and collapsing from one selects the loop", () => {
    let state = reduceView(inTimeline(), { type: "move", delta: 1 }, ctx);
    expect(reduceView(state, { type: "timeline/expand" }, context(["a"])).timeline.expanded.size).toBe(0);
    state = reduceView(state, { type: "timeline/expand" }, ctx);
    expect([...state.timeline.expanded]).toEqual(["loop"]);
    expect(ctx.lanes(state.timeline.expanded).count).toBe(6);
    state = reduceView(state, { type: "move", delta: 2 }, ctx);
    expect(state.timeline.selectedId).toBe("loop#1");
    const window = resolveList(state.timeline, ctx.lanes(state.timeline.expanded), ctx.pageSize);
    expect(window).toMatchObject({ selected: 3 });
    state = reduceView(state, { type: "timeline/expand" }, ctx);
    expect(state.timeline.expanded.size).toBe(0);
    expect(state.timeline.selectedId).toBe("loop");
    // A step that is not a loop has nothing to expand.
    const plain = inTimeline("a");
    expect(reduceView(plain, { type: "timeline/expand" }, ctx)).toBe(plain);
  });

  it("open shows the line's step (an iteration line: that iteration) and back returns to the timeline", () => {
    let state = reduceView(reduceView(inTimeline(), { type: "move", delta: 1 }, ctx), { type: "timeline/expand" }, ctx);
    const loopDetail = reduceView(state, { type: "open" }, ctx);
    expect(loopDetail.detail).toMatchObject({ stepId: "loop", loopIndex: 2, returnTo: "timeline" });
    state = reduceView(state, { type: "move", delta: 1 }, ctx);
    const iteration = reduceView(state, { type: "open" }, ctx);
    expect(iteration.detail).toMatchObject({ stepId: "loop", loopIndex: 0 });
    const back = reduceView(iteration, { type: "back" }, ctx);
    expect(back.mode).toBe("timeline");
    expect(back.timeline.selectedId).toBe("loop#0");
  });
});

describe("viewReducer (cost)", () => {
  const ctx = context(["a", "b", "c"], { models: ["gpt-4o", "claude"], pageSize: 2 });

  it("view/toggle opens the cost view on the table's step", () => {
    const state = reduceView(manual({ selectedId: "c" }), { type: "view/toggle", view: "cost" }, ctx);
    expect(state.mode).toBe("cost");
    expect(state.cost.selectedId).toBe("c");
    expect(reduceView(state, { type: "view/toggle", view: "cost" }, ctx).mode).toBe("table");
    expect(reduceView(state, { type: "view/toggle", view: "timeline" }, ctx).mode).toBe("timeline");
  });

  it("move selects bars; open shows the step and back returns to the cost view", () => {
    let state = reduceView(manual({ selectedId: "a" }), { type: "view/toggle", view: "cost" }, ctx);
    state = reduceView(state, { type: "move", delta: 1 }, ctx);
    expect(state.cost.selectedId).toBe("b");
    const opened = reduceView(state, { type: "open" }, ctx);
    expect(opened.detail).toMatchObject({ stepId: "b", returnTo: "cost" });
    expect(reduceView(opened, { type: "back" }, ctx).mode).toBe("cost");
  });

  it("cost/group switches to one bar per model (from the top) and back; a model opens nothing", () => {
    let state = reduceView(manual({ selectedId: "b" }), { type: "view/toggle", view: "cost" }, ctx);
    state = reduceView(state, { type: "cost/group" }, ctx);
    expect(state.cost).toMatchObject({ byModel: true, selectedId: null, selectedIndex: 0 });
    state = reduceView(state, { type: "move", delta: 1 }, ctx);
    expect(state.cost.selectedId).toBe("claude");
    expect(reduceView(state, { type: "open" }, ctx)).toBe(state);
    expect(reduceView(state, { type: "cost/group" }, ctx).cost.byModel).toBe(false);
  });
});
