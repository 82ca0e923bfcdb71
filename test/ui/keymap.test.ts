import type { Key } from "ink";
import { describe, expect, it } from "vitest";
import { keyModeOf, keyToAction, reduceKeys, splitKeys, type KeyMode } from "../../src/ui/keymap.js";
import {
  EMPTY_DETAIL_CONTEXT,
  HSCROLL_STEP,
  initialViewState,
  type CostBars,
  type TimelineLanes,
  type ViewContext,
} from "../../src/ui/viewReducer.js";

const NO_LANES = (): TimelineLanes => ({ count: 0, idAt: () => undefined, indexOf: () => -1, targetAt: () => undefined, loopAt: () => undefined });
const NO_BARS = (): CostBars => ({ count: 0, idAt: () => undefined, indexOf: () => -1, targetAt: () => undefined });

const NONE: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

const key = (flags: Partial<Key>): Key => ({ ...NONE, ...flags });
const action = (input: string, flags: Partial<Key>, mode: KeyMode) => keyToAction(input, key(flags), mode);

describe("keyToAction", () => {
  it("table: movement keys", () => {
    expect(action("", { downArrow: true }, "table")).toEqual({ type: "move", delta: 1 });
    expect(action("j", {}, "table")).toEqual({ type: "move", delta: 1 });
    expect(action("", { upArrow: true }, "table")).toEqual({ type: "move", delta: -1 });
    expect(action("k", {}, "table")).toEqual({ type: "move", delta: -1 });
    expect(action("", { pageDown: true }, "table")).toEqual({ type: "page", direction: 1 });
    expect(action("", { pageUp: true }, "table")).toEqual({ type: "page", direction: -1 });
    expect(action("g", {}, "table")).toEqual({ type: "first" });
    expect(action("", { home: true }, "table")).toEqual({ type: "first" });
    expect(action("G", { shift: true }, "table")).toEqual({ type: "last" });
    expect(action("", { end: true }, "table")).toEqual({ type: "last" });
  });

  it("table: Enter/Right open, Esc/Left/Backspace go back", () => {
    expect(action("", { return: true }, "table")).toEqual({ type: "open" });
    expect(action("", { rightArrow: true }, "table")).toEqual({ type: "open" });
    for (const flags of [{ escape: true }, { leftArrow: true }, { backspace: true }, { delete: true }]) {
      expect(action("", flags, "table")).toEqual({ type: "back" });
    }
  });

  it("table: f, /, s, t, c, e, r, ?, q and Ctrl+C", () => {
    expect(action("f", {}, "table")).toEqual({ type: "follow/toggle" });
    expect(action("/", {}, "table")).toEqual({ type: "filter/start" });
    expect(action("s", {}, "table")).toEqual({ type: "sort/cycle" });
    expect(action("t", {}, "table")).toEqual({ type: "view/toggle", view: "timeline" });
    expect(action("c", {}, "table")).toEqual({ type: "view/toggle", view: "cost" });
    expect(action("e", {}, "table")).toEqual({ type: "export" });
    expect(action("r", {}, "table")).toEqual({ type: "reload" });
    expect(action("?", {}, "table")).toEqual({ type: "help/toggle" });
    expect(action("q", {}, "table")).toEqual({ type: "quit", key: "q" });
    expect(action("c", { ctrl: true }, "table")).toEqual({ type: "quit", key: "ctrl-c" });
    expect(action("j", { ctrl: true }, "table")).toBeNull();
    expect(action("x", {}, "table")).toBeNull();
    expect(action("m", {}, "table")).toBeNull();
  });

  it("timeline: the list keys, x/Space expand, t back, c to the cost view, Esc back", () => {
    expect(action("j", {}, "timeline")).toEqual({ type: "move", delta: 1 });
    expect(action("", { pageDown: true }, "timeline")).toEqual({ type: "page", direction: 1 });
    expect(action("G", {}, "timeline")).toEqual({ type: "last" });
    expect(action("", { return: true }, "timeline")).toEqual({ type: "open" });
    expect(action("x", {}, "timeline")).toEqual({ type: "timeline/expand" });
    expect(action(" ", {}, "timeline")).toEqual({ type: "timeline/expand" });
    expect(action("t", {}, "timeline")).toEqual({ type: "view/toggle", view: "timeline" });
    expect(action("c", {}, "timeline")).toEqual({ type: "view/toggle", view: "cost" });
    expect(action("e", {}, "timeline")).toEqual({ type: "export" });
    expect(action("", { escape: true }, "timeline")).toEqual({ type: "back" });
    expect(action("", { leftArrow: true }, "timeline")).toEqual({ type: "back" });
    expect(action("q", {}, "timeline")).toEqual({ type: "quit", key: "q" });
    expect(action("f", {}, "timeline")).toBeNull();
    expect(action("/", {}, "timeline")).toBeNull();
    expect(action("m", {}, "timeline")).toBeNull();
  });

  it("cost: the list keys, m groups by model, c back, t to the timeline", () => {
    expect(action("k", {}, "cost")).toEqual({ type: "move", delta: -1 });
    expect(action("", { return: true }, "cost")).toEqual({ type: "open" });
    expect(action("m", {}, "cost")).toEqual({ type: "cost/group" });
    expect(action("c", {}, "cost")).toEqual({ type: "view/toggle", view: "cost" });
    expect(action("t", {}, "cost")).toEqual({ type: "view/toggle", view: "timeline" });
    expect(action("e", {}, "cost")).toEqual({ type: "export" });
    expect(action("", { backspace: true }, "cost")).toEqual({ type: "back" });
    expect(action("c", { ctrl: true }, "cost")).toEqual({ type: "quit", key: "ctrl-c" });
    expect(action("x", {}, "cost")).toBeNull();
  });

  it("detail: attempts, snapshot scrolling, iterations, snapshot kind", () => {
    expect(action("j", {}, "detail")).toEqual({ type: "move", delta: 1 });
    expect(action("k", {}, "detail")).toEqual({ type: "move", delta: -1 });
    expect(action("J", { shift: true }, "detail")).toEqual({ type: "detail/scroll", delta: 1 });
    expect(action("K", { shift: true }, "detail")).toEqual({ type: "detail/scroll", delta: -1 });
    expect(action("", { pageDown: true }, "detail")).toEqual({ type: "page", direction: 1 });
    expect(action("g", {}, "detail")).toEqual({ type: "first" });
    expect(action("G", {}, "detail")).toEqual({ type: "last" });
    expect(action("[", {}, "detail")).toEqual({ type: "detail/iteration", delta: -1 });
    expect(action("]", {}, "detail")).toEqual({ type: "detail/iteration", delta: 1 });
    expect(action("", { tab: true }, "detail")).toEqual({ type: "detail/context" });
    expect(action("e", {}, "detail")).toEqual({ type: "detail/context", kind: "error" });
    expect(action("i", {}, "detail")).toEqual({ type: "detail/context", kind: "input" });
    expect(action("o", {}, "detail")).toEqual({ type: "detail/context", kind: "output" });
    expect(action("h", {}, "detail")).toEqual({ type: "detail/hscroll", delta: -HSCROLL_STEP });
    expect(action("l", {}, "detail")).toEqual({ type: "detail/hscroll", delta: HSCROLL_STEP });
    expect(action("", { rightArrow: true }, "detail")).toEqual({ type: "detail/hscroll", delta: HSCROLL_STEP });
    expect(action("", { leftArrow: true }, "detail")).toEqual({ type: "detail/hscroll", delta: -HSCROLL_STEP, orBack: true });
    expect(action("", { escape: true }, "detail")).toEqual({ type: "back" });
    expect(action("", { backspace: true }, "detail")).toEqual({ type: "back" });
    expect(action("q", {}, "detail")).toEqual({ type: "quit", key: "q" });
    expect(action("s", {}, "detail")).toBeNull();
    expect(action("t", {}, "detail")).toBeNull();
  });

  it("filter: characters are typed (q too), Enter keeps, Esc clears, Backspace erases, Ctrl+C quits", () => {
    expect(action("q", {}, "filter")).toEqual({ type: "filter/type", text: "q" });
    expect(action("", { return: true }, "filter")).toEqual({ type: "filter/keep" });
    expect(action("", { escape: true }, "filter")).toEqual({ type: "filter/clear" });
    expect(action("", { delete: true }, "filter")).toEqual({ type: "filter/erase" });
    expect(action("c", { ctrl: true }, "filter")).toEqual({ type: "quit", key: "ctrl-c" });
  });

  it("help: ?, Esc or Enter close it; q quits", () => {
    expect(action("?", {}, "help")).toEqual({ type: "help/toggle" });
    expect(action("", { escape: true }, "help")).toEqual({ type: "help/toggle" });
    expect(action("", { return: true }, "help")).toEqual({ type: "help/toggle" });
    expect(action("q", {}, "help")).toEqual({ type: "quit", key: "q" });
    expect(action("j", {}, "help")).toBeNull();
  });
});

describe("splitKeys and reduceKeys", () => {
  it("splits a chunk of characters into keys, control characters included", () => {
    const keys = splitKeys("jk\r\x7f\x1b\x03G", NONE);
    expect(keys.map((k) => k.input)).toEqual(["j", "k", "", "", "", "c", "G"]);
    expect(keys[2]?.key.return).toBe(true);
    expect(keys[3]?.key.delete).toBe(true);
    expect(keys[4]?.key.escape).toBe(true);
    expect(keys[5]?.key.ctrl).toBe(true);
    expect(keys[6]?.key.shift).toBe(true);
    expect(splitKeys("j", NONE)).toEqual([{ input: "j", key: NONE }]);
  });

  it("applies every key of a chunk, each in the mode the previous one left", () => {
    const ids = ["a", "b", "c", "d", "e"];
    const ctx: ViewContext = {
      rows: () => ({ count: ids.length, idAt: (i) => ids[i], indexOf: (id) => ids.indexOf(id), followIndex: 0 }),
      lanes: NO_LANES,
      costBars: NO_BARS,
      pageSize: 10,
      iterationsOf: () => [null],
      detail: EMPTY_DETAIL_CONTEXT,
    };
    const moved = reduceKeys(initialViewState(), splitKeys("jjj", NONE), ctx);
    expect(moved.selectedId).toBe("d");
    const filtered = reduceKeys(moved, splitKeys("/fail\rj", NONE), ctx);
    expect(filtered).toMatchObject({ filter: "fail", filterEditing: false, selectedId: "e" });
    expect(keyModeOf({ ...filtered, filterEditing: true })).toBe("filter");
    const opened = reduceKeys(filtered, splitKeys("", key({ return: true })), ctx);
    expect(opened.mode).toBe("detail");
  });

  it("keys after a filter in the same chunk act on the filtered rows", () => {
    const ids = ["parse", "spell-check", "grade", "feedback"];
    const ctx: ViewContext = {
      rows: (_sort, filter) => {
        const shown = ids.filter((id) => id.includes(filter));
        return { count: shown.length, idAt: (i) => shown[i], indexOf: (id) => shown.indexOf(id), followIndex: shown.length - 1 };
      },
      lanes: NO_LANES,
      costBars: NO_BARS,
      pageSize: 10,
      iterationsOf: () => [null],
      detail: EMPTY_DETAIL_CONTEXT,
    };
    const opened = reduceKeys(initialViewState(), splitKeys("/spell\r\r", NONE), ctx);
    expect(opened.mode).toBe("detail");
    expect(opened.detail?.stepId).toBe("spell-check");
  });
});
