import { describe, expect, it } from "vitest";
import {
  EMPTY_DETAIL_CONTEXT,
  initialViewState,
  reduceView,
  resolveAttempt,
  resolveSelection,
  resolveWindow,
  type DetailContext,
  type TableRows,
  type ViewContext,
  type ViewState,
} from "../../src/ui/viewReducer.js";

function context(
  ids: readonly string[],
  opts: {
    followIndex?: number;
    pageSize?: number;
    iterations?: Record<string, readonly (number | null)[]>;
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
    expect(state).toMatchObject({ mode: "table", follow: true, sort: "flow", filter: "", quit: false });
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
    expect(state.detail).toEqual({ stepId: "s3", loopIndex: 2, attempt: null, context: null, scroll: 0 });
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

  it("quit", () => {
    expect(reduceView(manual(), { type: "quit" }, context(IDS)).quit).toBe(true);
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

  it("detail/context picks a snapshot, or cycles error, input, output", () => {
    const ctx = detailCtx({ attemptCount: 1, contextKind: "output" });
    const state = inDetail(ctx);
    expect(reduceView(state, { type: "detail/context", kind: "input" }, ctx).detail?.context).toBe("input");
    expect(reduceView(state, { type: "detail/context" }, ctx).detail?.context).toBe("error");
    const fromError = detailCtx({ attemptCount: 1, contextKind: "error" });
    expect(reduceView(state, { type: "detail/context" }, fromError).detail?.context).toBe("input");
  });
});
