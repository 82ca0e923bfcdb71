// The TUI's view state (what is selected, filtered, sorted, which screen is shown) as a pure
// reducer over a union of actions. Keys become actions in keymap.ts; the run itself lives in
// the run store. Actions that need the rows (ids, follow target, page size) read them from a
// ViewContext built by the screen on each render, so several keys of one chunk apply one
// after the other to the latest state, never to a stale closure.
import { SORT_KEYS, visibleWindow, type SortKey } from "../state/selectors.js";

export type ViewMode = "table" | "detail" | "help";
export type ContextKind = "error" | "input" | "output";
export const CONTEXT_KINDS: readonly ContextKind[] = ["error", "input", "output"];

export interface DetailState {
  readonly stepId: string;
  /** Loop iteration shown; null outside loops. */
  readonly loopIndex: number | null;
  /** Selected attempt as an index into the loaded attempts; null = the latest. */
  readonly attempt: number | null;
  /** Snapshot shown; null = automatic (the error of a failed attempt, else the output). */
  readonly context: ContextKind | null;
  /** First line of the snapshot shown. */
  readonly scroll: number;
}

export interface ViewState {
  readonly mode: ViewMode;
  /** The screen `?` returns to. */
  readonly helpReturn: "table" | "detail";
  /** Selected step; the index is the fallback when that step is filtered out. */
  readonly selectedId: string | null;
  readonly selectedIndex: number;
  /** First table row drawn; the window moves only as much as the selection needs. */
  readonly windowStart: number;
  /** Selection tracks the running step. */
  readonly follow: boolean;
  readonly filter: string;
  readonly filterEditing: boolean;
  readonly sort: SortKey;
  readonly detail: DetailState | null;
  /** Bumped by `r`: the screen reloads the trace (or the attempts in the detail). */
  readonly reloads: number;
  readonly quit: boolean;
}

export type ViewAction =
  | { readonly type: "move"; readonly delta: number }
  | { readonly type: "page"; readonly direction: 1 | -1 }
  | { readonly type: "first" }
  | { readonly type: "last" }
  | { readonly type: "open" }
  | { readonly type: "back" }
  | { readonly type: "follow/toggle" }
  | { readonly type: "filter/start" }
  | { readonly type: "filter/type"; readonly text: string }
  | { readonly type: "filter/erase" }
  | { readonly type: "filter/keep" }
  | { readonly type: "filter/clear" }
  | { readonly type: "sort/cycle" }
  | { readonly type: "reload" }
  | { readonly type: "help/toggle" }
  | { readonly type: "quit" }
  | { readonly type: "detail/scroll"; readonly delta: number }
  | { readonly type: "detail/iteration"; readonly delta: 1 | -1 }
  | { readonly type: "detail/context"; readonly kind?: ContextKind };

/** What the detail screen has loaded, as drawn. */
export interface DetailContext {
  readonly attemptCount: number;
  readonly contextKind: ContextKind;
  readonly contextLines: number;
  readonly contextPage: number;
}

/** The table's rows for one sort and filter. */
export interface TableRows {
  readonly count: number;
  /** Step id of the row at an index. */
  readonly idAt: (index: number) => string | undefined;
  /** Index of a step's row; -1 when it is not shown. */
  readonly indexOf: (stepId: string) => number;
  /** Row that follow mode selects; -1 when there are no rows. */
  readonly followIndex: number;
}

/** The run as drawn on the latest render. */
export interface ViewContext {
  /**
   * The rows for a sort and filter: a key of a chunk may change either (`/spell` then
   * Enter), and the keys after it must see the rows that change makes.
   */
  readonly rows: (sort: SortKey, filter: string) => TableRows;
  /** Table rows that fit on screen. */
  readonly pageSize: number;
  /** Loop indexes of a step's iterations in order ([null] outside loops). */
  readonly iterationsOf: (stepId: string) => readonly (number | null)[];
  readonly detail: DetailContext;
}

export const EMPTY_DETAIL_CONTEXT: DetailContext = {
  attemptCount: 0,
  contextKind: "output",
  contextLines: 0,
  contextPage: 1,
};

export function initialViewState(): ViewState {
  return {
    mode: "table",
    helpReturn: "table",
    selectedId: null,
    selectedIndex: 0,
    windowStart: 0,
    follow: true,
    filter: "",
    filterEditing: false,
    sort: "flow",
    detail: null,
    reloads: 0,
    quit: false,
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}

/** The selected row index as drawn: the follow target, else the selected step, else the remembered index. */
export function resolveSelection(state: ViewState, ctx: ViewContext): number {
  const rows = ctx.rows(state.sort, state.filter);
  const count = rows.count;
  if (count === 0) return -1;
  if (state.follow && rows.followIndex >= 0) return Math.min(rows.followIndex, count - 1);
  if (state.selectedId !== null) {
    const index = rows.indexOf(state.selectedId);
    if (index >= 0) return index;
  }
  return clamp(state.selectedIndex, 0, count - 1);
}

/** Rows [start, end) drawn for the current selection. */
export function resolveWindow(state: ViewState, ctx: ViewContext): { start: number; end: number } {
  const selected = resolveSelection(state, ctx);
  const { count } = ctx.rows(state.sort, state.filter);
  return visibleWindow(count, Math.max(0, selected), ctx.pageSize, state.windowStart);
}

/** Attempt index shown in the detail (the latest when none was chosen); -1 when none loaded. */
export function resolveAttempt(detail: DetailState, attemptCount: number): number {
  if (attemptCount === 0) return -1;
  return detail.attempt === null ? attemptCount - 1 : clamp(detail.attempt, 0, attemptCount - 1);
}

/** Moves the table selection to `index` (clamped); manual moves end follow mode. */
function select(state: ViewState, ctx: ViewContext, index: number): ViewState {
  const rows = ctx.rows(state.sort, state.filter);
  const count = rows.count;
  if (count === 0) return state.follow ? { ...state, follow: false } : state;
  const selectedIndex = clamp(index, 0, count - 1);
  const { start } = visibleWindow(count, selectedIndex, ctx.pageSize, state.windowStart);
  return {
    ...state,
    follow: false,
    selectedIndex,
    selectedId: rows.idAt(selectedIndex) ?? null,
    windowStart: start,
  };
}

function scrollDetail(state: ViewState, ctx: ViewContext, to: (current: number, max: number) => number): ViewState {
  if (state.detail === null) return state;
  const max = Math.max(0, ctx.detail.contextLines - ctx.detail.contextPage);
  const scroll = clamp(to(state.detail.scroll, max), 0, max);
  return scroll === state.detail.scroll ? state : { ...state, detail: { ...state.detail, scroll } };
}

function reduceTable(state: ViewState, action: ViewAction, ctx: ViewContext): ViewState {
  const rows = ctx.rows(state.sort, state.filter);
  const current = resolveSelection(state, ctx);
  switch (action.type) {
    case "move":
      return select(state, ctx, current + action.delta);
    case "page":
      return select(state, ctx, current + action.direction * Math.max(1, ctx.pageSize));
    case "first":
      return select(state, ctx, 0);
    case "last":
      return select(state, ctx, rows.count - 1);
    case "open": {
      const stepId = current >= 0 ? rows.idAt(current) : undefined;
      if (stepId === undefined) return state;
      const iterations = ctx.iterationsOf(stepId);
      return {
        ...state,
        mode: "detail",
        selectedId: stepId,
        selectedIndex: current,
        detail: { stepId, loopIndex: iterations.at(-1) ?? null, attempt: null, context: null, scroll: 0 },
      };
    }
    case "back":
      return state.filter !== "" || state.filterEditing ? { ...state, filter: "", filterEditing: false } : state;
    case "follow/toggle": {
      if (state.follow) {
        const stepId = current >= 0 ? (rows.idAt(current) ?? null) : null;
        return { ...state, follow: false, selectedId: stepId, selectedIndex: Math.max(0, current) };
      }
      return { ...state, follow: true };
    }
    case "filter/start":
      return { ...state, filterEditing: true };
    case "filter/type":
      return { ...state, filter: state.filter + action.text, windowStart: 0 };
    case "filter/erase":
      return { ...state, filter: Array.from(state.filter).slice(0, -1).join(""), windowStart: 0 };
    case "filter/keep":
      return { ...state, filterEditing: false };
    case "filter/clear":
      return { ...state, filter: "", filterEditing: false, windowStart: 0 };
    case "sort/cycle": {
      const next = SORT_KEYS[(SORT_KEYS.indexOf(state.sort) + 1) % SORT_KEYS.length] ?? "flow";
      return { ...state, sort: next };
    }
    default:
      return state;
  }
}

function reduceDetail(state: ViewState, action: ViewAction, ctx: ViewContext): ViewState {
  const detail = state.detail;
  if (detail === null) return { ...state, mode: "table" };
  switch (action.type) {
    case "move": {
      if (ctx.detail.attemptCount === 0) return state;
      const from = resolveAttempt(detail, ctx.detail.attemptCount);
      const attempt = clamp(from + action.delta, 0, ctx.detail.attemptCount - 1);
      return { ...state, detail: { ...detail, attempt, scroll: 0 } };
    }
    case "detail/scroll":
      return scrollDetail(state, ctx, (scroll) => scroll + action.delta);
    case "page":
      return scrollDetail(state, ctx, (scroll) => scroll + action.direction * Math.max(1, ctx.detail.contextPage));
    case "first":
      return scrollDetail(state, ctx, () => 0);
    case "last":
      return scrollDetail(state, ctx, (_scroll, max) => max);
    case "detail/iteration": {
      const iterations = ctx.iterationsOf(detail.stepId);
      if (iterations.length < 2) return state;
      const at = iterations.indexOf(detail.loopIndex);
      const next = clamp((at < 0 ? iterations.length - 1 : at) + action.delta, 0, iterations.length - 1);
      const loopIndex = iterations[next] ?? null;
      if (loopIndex === detail.loopIndex) return state;
      return { ...state, detail: { ...detail, loopIndex, attempt: null, scroll: 0 } };
    }
    case "detail/context": {
      const kind =
        action.kind ??
        CONTEXT_KINDS[(CONTEXT_KINDS.indexOf(ctx.detail.contextKind) + 1) % CONTEXT_KINDS.length] ??
        "output";
      return { ...state, detail: { ...detail, context: kind, scroll: 0 } };
    }
    case "back":
      return { ...state, mode: "table", detail: null };
    default:
      return state;
  }
}

export function reduceView(state: ViewState, action: ViewAction, ctx: ViewContext): ViewState {
  switch (action.type) {
    case "quit":
      return { ...state, quit: true };
    case "reload":
      return { ...state, reloads: state.reloads + 1 };
    case "help/toggle":
      if (state.mode === "help") return { ...state, mode: state.helpReturn };
      return { ...state, mode: "help", helpReturn: state.mode, filterEditing: false };
    default:
      break;
  }
  if (state.mode === "help") return action.type === "back" ? { ...state, mode: state.helpReturn } : state;
  if (state.mode === "detail") return reduceDetail(state, action, ctx);
  return reduceTable(state, action, ctx);
}
