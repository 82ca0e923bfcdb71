// The one place where keys become view actions. Ink delivers a chunk of plain characters
// (tmux send-keys, SSH, a paste) as one input string, so splitKeys cuts it into single keys
// first; reduceKeys then applies them in order, each against the mode the previous key left.
import type { Key } from "ink";
import { HSCROLL_STEP, reduceView, type ViewAction, type ViewContext, type ViewState } from "./viewReducer.js";

/** Which set of bindings applies: the screen, or the filter prompt while it is edited. */
export type KeyMode = "table" | "filter" | "detail" | "help" | "timeline" | "cost";

export interface KeyPress {
  readonly input: string;
  readonly key: Key;
}

export function keyModeOf(state: ViewState): KeyMode {
  if (state.mode === "table" && state.filterEditing) return "filter";
  return state.mode;
}

const NO_KEY: Key = {
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

/** A Key record for one raw character of a multi-character chunk. */
function keyOfChar(ch: string): KeyPress {
  const code = ch.codePointAt(0) ?? 0;
  if (ch === "\r" || ch === "\n") return { input: "", key: { ...NO_KEY, return: true } };
  if (ch === "\t") return { input: "", key: { ...NO_KEY, tab: true } };
  if (ch === "\x7f") return { input: "", key: { ...NO_KEY, delete: true } };
  if (ch === "\b") return { input: "", key: { ...NO_KEY, backspace: true } };
  if (ch === "\x1b") return { input: "", key: { ...NO_KEY, escape: true, meta: true } };
  if (code < 0x20) return { input: String.fromCharCode(code + 0x60), key: { ...NO_KEY, ctrl: true } };
  return { input: ch, key: { ...NO_KEY, shift: /^[A-Z]$/.test(ch) } };
}

/** One key per character when Ink handed over several characters at once. */
export function splitKeys(input: string, key: Key): KeyPress[] {
  const chars = Array.from(input);
  if (chars.length <= 1) return [{ input, key }];
  return chars.map(keyOfChar);
}

function isBack(key: Key): boolean {
  return key.escape || key.leftArrow || key.backspace || key.delete;
}

function commonKeys(input: string, key: Key): ViewAction | null {
  if (key.ctrl && input === "c") return { type: "quit", key: "ctrl-c" };
  if (key.ctrl || key.meta) return null;
  switch (input) {
    case "q":
      return { type: "quit", key: "q" };
    case "?":
      return { type: "help/toggle" };
    case "r":
      return { type: "reload" };
    default:
      return null;
  }
}

/** Moving through a list, opening its step, switching lists and exporting: the table, the timeline and the cost view. */
function listKeys(input: string, key: Key): ViewAction | null {
  if (key.upArrow) return { type: "move", delta: -1 };
  if (key.downArrow) return { type: "move", delta: 1 };
  if (key.pageUp) return { type: "page", direction: -1 };
  if (key.pageDown) return { type: "page", direction: 1 };
  if (key.home) return { type: "first" };
  if (key.end) return { type: "last" };
  if (key.return || key.rightArrow) return { type: "open" };
  if (isBack(key)) return { type: "back" };
  const common = commonKeys(input, key);
  if (common !== null || key.ctrl || key.meta) return common;
  switch (input) {
    case "k":
      return { type: "move", delta: -1 };
    case "j":
      return { type: "move", delta: 1 };
    case "g":
      return { type: "first" };
    case "G":
      return { type: "last" };
    case "t":
      return { type: "view/toggle", view: "timeline" };
    case "c":
      return { type: "view/toggle", view: "cost" };
    case "e":
      return { type: "export" };
    default:
      return null;
  }
}

function tableKeys(input: string, key: Key): ViewAction | null {
  const shared = listKeys(input, key);
  if (shared !== null || key.ctrl || key.meta) return shared;
  switch (input) {
    case "f":
      return { type: "follow/toggle" };
    case "/":
      return { type: "filter/start" };
    case "s":
      return { type: "sort/cycle" };
    default:
      return null;
  }
}

function timelineKeys(input: string, key: Key): ViewAction | null {
  const shared = listKeys(input, key);
  if (shared !== null || key.ctrl || key.meta) return shared;
  return input === "x" || input === " " ? { type: "timeline/expand" } : null;
}

function costKeys(input: string, key: Key): ViewAction | null {
  const shared = listKeys(input, key);
  if (shared !== null || key.ctrl || key.meta) return shared;
  return input === "m" ? { type: "cost/group" } : null;
}

function detailKeys(input: string, key: Key): ViewAction | null {
  if (key.upArrow) return { type: "move", delta: -1 };
  if (key.downArrow) return { type: "move", delta: 1 };
  if (key.pageUp) return { type: "page", direction: -1 };
  if (key.pageDown) return { type: "page", direction: 1 };
  if (key.home) return { type: "first" };
  if (key.end) return { type: "last" };
  if (key.tab) return { type: "detail/context" };
  // Left scrolls a snapshot moved sideways back to its first column, then goes back.
  if (key.leftArrow) return { type: "detail/hscroll", delta: -HSCROLL_STEP, orBack: true };
  if (key.rightArrow) return { type: "detail/hscroll", delta: HSCROLL_STEP };
  if (isBack(key)) return { type: "back" };
  const common = commonKeys(input, key);
  if (common !== null || key.ctrl || key.meta) return common;
  switch (input) {
    case "k":
      return { type: "move", delta: -1 };
    case "j":
      return { type: "move", delta: 1 };
    case "K":
      return { type: "detail/scroll", delta: -1 };
    case "J":
      return { type: "detail/scroll", delta: 1 };
    case "h":
      return { type: "detail/hscroll", delta: -HSCROLL_STEP };
    case "l":
      return { type: "detail/hscroll", delta: HSCROLL_STEP };
    case "g":
      return { type: "first" };
    case "G":
      return { type: "last" };
    case "[":
      return { type: "detail/iteration", delta: -1 };
    case "]":
      return { type: "detail/iteration", delta: 1 };
    case "e":
      return { type: "detail/context", kind: "error" };
    case "i":
      return { type: "detail/context", kind: "input" };
    case "o":
      return { type: "detail/context", kind: "output" };
    default:
      return null;
  }
}

function filterKeys(input: string, key: Key): ViewAction | null {
  if (key.ctrl && input === "c") return { type: "quit", key: "ctrl-c" };
  if (key.return) return { type: "filter/keep" };
  if (key.escape) return { type: "filter/clear" };
  if (key.backspace || key.delete) return { type: "filter/erase" };
  if (key.upArrow) return { type: "move", delta: -1 };
  if (key.downArrow) return { type: "move", delta: 1 };
  if (key.ctrl || key.meta || key.tab || input === "") return null;
  return { type: "filter/type", text: input };
}

function helpKeys(input: string, key: Key): ViewAction | null {
  if (key.return || isBack(key)) return { type: "help/toggle" };
  return commonKeys(input, key);
}

/** The action a key stands for in a mode, or null when the key means nothing there. */
export function keyToAction(input: string, key: Key, mode: KeyMode): ViewAction | null {
  switch (mode) {
    case "table":
      return tableKeys(input, key);
    case "detail":
      return detailKeys(input, key);
    case "filter":
      return filterKeys(input, key);
    case "help":
      return helpKeys(input, key);
    case "timeline":
      return timelineKeys(input, key);
    case "cost":
      return costKeys(input, key);
  }
}

/** Applies keys in order; each is read in the mode the previous one left (e.g. `/err` then Enter). */
export function reduceKeys(state: ViewState, keys: readonly KeyPress[], ctx: ViewContext): ViewState {
  let next = state;
  for (const { input, key } of keys) {
    const action = keyToAction(input, key, keyModeOf(next));
    if (action !== null) next = reduceView(next, action, ctx);
  }
  return next;
}

/** Every binding, for the help screen and the README (README.md's keys table mirrors it). */
export const KEY_HELP: readonly { readonly screen: string; readonly keys: string; readonly does: string }[] = [
  { screen: "table", keys: "Up/Down, j/k", does: "move the selection (turns follow off)" },
  { screen: "table", keys: "PgUp/PgDn", does: "move a page" },
  { screen: "table", keys: "g/G, Home/End", does: "first / last step" },
  { screen: "table", keys: "Enter, Right", does: "open the step's detail (attempts)" },
  { screen: "table", keys: "f", does: "follow the running step on/off" },
  { screen: "table", keys: "/", does: "filter by id, name or status (Enter keeps, Esc clears)" },
  { screen: "table", keys: "Esc", does: "clear the filter" },
  { screen: "table", keys: "s", does: "cycle the sort: flow, duration, cost, tokens" },
  { screen: "table, timeline, cost", keys: "t / c", does: "timeline / cost view (again: back to the table)" },
  { screen: "table, timeline, cost", keys: "e", does: "write <execution-id>.trace.json" },
  { screen: "timeline", keys: "Up/Down, j/k, PgUp/PgDn, g/G", does: "select a line" },
  { screen: "timeline", keys: "x, Space", does: "expand / collapse a loop's iterations" },
  { screen: "timeline", keys: "Enter, Right", does: "open the step's detail" },
  { screen: "timeline", keys: "Esc, Left, Backspace", does: "back to the table" },
  { screen: "cost", keys: "Up/Down, j/k, PgUp/PgDn, g/G", does: "select a bar" },
  { screen: "cost", keys: "m", does: "group by model / by step" },
  { screen: "cost", keys: "Enter, Right", does: "open the step's detail" },
  { screen: "cost", keys: "Esc, Left, Backspace", does: "back to the table" },
  { screen: "detail", keys: "Up/Down, j/k", does: "select an attempt" },
  { screen: "detail", keys: "Tab, e/i/o", does: "show error / input / output snapshot" },
  { screen: "detail", keys: "J/K, PgUp/PgDn", does: "scroll the snapshot (line / page)" },
  { screen: "detail", keys: "h/l, Left/Right", does: "scroll the snapshot sideways" },
  { screen: "detail", keys: "g/G, Home/End", does: "top / bottom of the snapshot" },
  { screen: "detail", keys: "[ / ]", does: "previous / next loop iteration" },
  { screen: "detail", keys: "Esc, Backspace, Left", does: "back (Left: once at the first column)" },
  { screen: "any", keys: "r", does: "reload the trace (attempts in the detail) now" },
  { screen: "any", keys: "?", does: "this help (any of ? Esc Enter closes it)" },
  { screen: "any", keys: "q", does: "quit" },
  { screen: "any", keys: "Ctrl+C", does: "quit (exit status 130, as for SIGINT)" },
];
