// The TUI's view state (which screen is shown, what is selected, filtered, sorted,
// expanded) as a pure reducer over a union of actions. Keys become actions in keymap.ts;
// the run itself lives in the run store. Actions that need the rows (ids, follow target,
// page size) read them from a ViewContext built by the screen on each render, so several
// keys of one chunk apply one after the other to the latest state, never to a stale closure.
import { SORT_KEYS, visibleWindow, type SortKey } from "../state/selectors.js";

/** The screens with a list of steps; the detail returns to the one it was opened from. */
export type ListMode = "table" | "timeline" | "cost";
export type ViewMode = ListMode | "detail" | "help";
export type ContextKind = "error" | "input" | "output";
export const CONTEXT_KINDS: readonly ContextKind[] = ["error", "input", "output"];
/** The key that quit: the CLI exits 130 for Ctrl+C (as for SIGINT), as usual for q. */
export type QuitKey = "q" | "ctrl-c";
/** Columns a snapshot moves sideways per key. */
export const HSCROLL_STEP = 8;

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
  /** First column of the snapshot shown (lines are cut, never wrapped). */
  readonly hscroll: number;
  readonly returnTo: ListMode;
}

/** Where a list stands: the selected item (by id, the index as the fallback) and the first item drawn. */
export interface ListPosition {
  readonly selectedId: string | null;
  readonly selectedIndex: number;
  readonly windowStart: number;
}

export interface TimelineState extends ListPosition {
  /** Loop steps whose iterations are shown one per line. */
  readonly expanded: ReadonlySet<string>;
}

export interface CostState extends ListPosition {
  /** One bar per model instead of one per step. */
  readonly byModel: boolean;
}

export interface ViewState extends ListPosition {
  readonly mode: ViewMode;
  /** The screen `?` returns to. */
  readonly helpReturn: Exclude<ViewMode, "help">;
  /** Table: selection tracks the running step. */
  readonly follow: boolean;
  readonly filter: string;
  readonly filterEditing: boolean;
  readonly sort: SortKey;
  readonly timeline: TimelineState;
  readonly cost: CostState;
  readonly detail: DetailState | null;
  /** Bumped by `r`: the screen reloads the trace (or the attempts in the detail). */
  readonly reloads: number;
  /** Bumped by `e`: the screen writes the export file. */
  readonly exports: number;
  readonly quit: QuitKey | null;
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
  | { readonly type: "export" }
  | { readonly type: "help/toggle" }
  | { readonly type: "quit"; readonly key: QuitKey }
  | { readonly type: "view/toggle"; readonly view: "timeline" | "cost" }
  | { readonly type: "timeline/expand" }
  | { readonly type: "cost/group" }
  | { readonly type: "detail/scroll"; readonly delta: number }
  /** Sideways in the snapshot; `orBack`: at the first column, go back instead (Left). */
  | { readonly type: "detail/hscroll"; readonly delta: number; readonly orBack?: boolean }
  | { readonly type: "detail/iteration"; readonly delta: 1 | -1 }
  | { readonly type: "detail/context"; readonly kind?: ContextKind };

/** What the detail screen has loaded, as drawn. */
export interface DetailContext {
  readonly attemptCount: number;
  readonly contextKind: ContextKind;
  readonly contextLines: number;
  readonly contextPage: number;
  /** Width of the widest snapshot line, and the columns shown. */
  readonly contextColumns: number;
  readonly contextPageColumns: number;
}

/** A list as drawn: its items' ids in order. */
export interface ListRows {
  readonly count: number;
  readonly idAt: (index: number) => string | undefined;
  /** Index of an item; -1 when it is not shown. */
  readonly indexOf: (id: string) => number;
}

/** The table's rows for one sort and filter (ids are step ids). */
export interface TableRows extends ListRows {
  /** Row that follow mode selects; -1 when there are no rows. */
  readonly followIndex: number;
}

/** A step execution the detail can open. */
export interface StepTarget {
  readonly stepId: string;
  /** The loop iteration; undefined = the step's latest (a loop drawn on one line). */
  readonly loopIndex?: number | null;
}

/** The timeline's lines for one set of expanded loops (ids are lane keys). */
export interface TimelineLanes extends ListRows {
  readonly targetAt: (index: number) => StepTarget | undefined;
  /** The loop step a line belongs to (its own line or one of its iterations); undefined otherwise. */
  readonly loopAt: (index: number) => string | undefined;
}

/** The cost view's bars (ids are step ids, or model names when grouped). */
export interface CostBars extends ListRows {
  readonly targetAt: (index: number) => StepTarget | undefined;
}

/** The run as drawn on the latest render. */
export interface ViewContext {
  /**
   * The rows for a sort and filter: a key of a chunk may change either (`/spell` then
   * Enter), and the keys after it must see the rows that change makes.
   */
  readonly rows: (sort: SortKey, filter: string) => TableRows;
  readonly lanes: (expanded: ReadonlySet<string>) => TimelineLanes;
  readonly costBars: (byModel: boolean) => CostBars;
  /** List items that fit on screen. */
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
  contextColumns: 0,
  contextPageColumns: 1,
};

const START: ListPosition = { selectedId: null, selectedIndex: 0, windowStart: 0 };

export function initialViewState(): ViewState {
  return {
    mode: "table",
    helpReturn: "table",
    ...START,
    follow: true,
    filter: "",
    filterEditing: false,
    sort: "flow",
    timeline: { ...START, expanded: new Set() },
    cost: { ...START, byModel: false },
    detail: null,
    reloads: 0,
    exports: 0,
    quit: null,
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}

/** The selected index of a list as drawn: the selected item, else the remembered index; -1 when empty. */
function listSelection(position: ListPosition, rows: ListRows): number {
  if (rows.count === 0) return -1;
  if (position.selectedId !== null) {
    const index = rows.indexOf(position.selectedId);
    if (index >= 0) return index;
  }
  return clamp(position.selectedIndex, 0, rows.count - 1);
}

/** Moves a list's selection to `index` (clamped), scrolling as little as needed. */
function selectIn<P extends ListPosition>(position: P, rows: ListRows, pageSize: number, index: number): P {
  if (rows.count === 0) return position;
  const selectedIndex = clamp(index, 0, rows.count - 1);
  const { start } = visibleWindow(rows.count, selectedIndex, pageSize, position.windowStart);
  return { ...position, selectedIndex, selectedId: rows.idAt(selectedIndex) ?? null, windowStart: start };
}

/** The table's selected row index as drawn: the follow target, else the selected step, else the remembered index. */
export function resolveSelection(state: ViewState, ctx: ViewContext): number {
  const rows = ctx.rows(state.sort, state.filter);
  if (rows.count === 0) return -1;
  if (state.follow && rows.followIndex >= 0) return Math.min(rows.followIndex, rows.count - 1);
  return listSelection(state, rows);
}

/** Table rows [start, end) drawn for the current selection. */
export function resolveWindow(state: ViewState, ctx: ViewContext): { start: number; end: number } {
  const selected = resolveSelection(state, ctx);
  const { count } = ctx.rows(state.sort, state.filter);
  return visibleWindow(count, Math.max(0, selected), ctx.pageSize, state.windowStart);
}

/** A list's selected index and window as drawn (timeline, cost). */
export function resolveList(position: ListPosition, rows: ListRows, pageSize: number): { selected: number; start: number; end: number } {
  const selected = listSelection(position, rows);
  return { selected, ...visibleWindow(rows.count, Math.max(0, selected), pageSize, position.windowStart) };
}

/** Attempt index shown in the detail (the latest when none was chosen); -1 when none loaded. */
export function resolveAttempt(detail: DetailState, attemptCount: number): number {
  if (attemptCount === 0) return -1;
  return detail.attempt === null ? attemptCount - 1 : clamp(detail.attempt, 0, attemptCount - 1);
}

/** Moves the table selection to `index` (clamped); manual moves end follow mode. */
function select(state: ViewState, ctx: ViewContext, index: number): ViewState {
  const rows = ctx.rows(state.sort, state.filter);
  if (rows.count === 0) return state.follow ? { ...state, follow: false } : state;
  return { ...selectIn(state, rows, ctx.pageSize, index), follow: false };
}

/** The detail of a step, opened from a list. */
function openDetail(state: ViewState, ctx: ViewContext, target: StepTarget, returnTo: ListMode): ViewState {
  const loopIndex = target.loopIndex === undefined ? (ctx.iterationsOf(target.stepId).at(-1) ?? null) : target.loopIndex;
  return {
    ...state,
    mode: "detail",
    detail: { stepId: target.stepId, loopIndex, attempt: null, context: null, scroll: 0, hscroll: 0, returnTo },
  };
}

/** The step selected in the table, for the other lists to start on. */
function tableStepId(state: ViewState, ctx: ViewContext): string | null {
  const rows = ctx.rows(state.sort, state.filter);
  const index = resolveSelection(state, ctx);
  return index >= 0 ? (rows.idAt(index) ?? null) : null;
}

/** Moves between the list screens; `t` / `c` on their own screen goes back to the table. */
function toggleView(state: ViewState, ctx: ViewContext, view: "timeline" | "cost"): ViewState {
  if (state.mode === view) return { ...state, mode: "table" };
  const stepId = tableStepId(state, ctx);
  if (view === "timeline") {
    // The timeline starts on the table's step (its line key is the step id).
    return { ...state, mode: "timeline", timeline: stepId === null ? state.timeline : { ...state.timeline, selectedId: stepId } };
  }
  const byStep = !state.cost.byModel && stepId !== null;
  return { ...state, mode: "cost", cost: byStep ? { ...state.cost, selectedId: stepId } : state.cost };
}

/** Keys every list screen shares: moving, paging, t and c. Null when the action is not one of them. */
function reduceListKeys<P extends ListPosition>(
  state: ViewState,
  action: ViewAction,
  ctx: ViewContext,
  position: P,
  rows: ListRows,
  update: (next: P) => ViewState,
): ViewState | null {
  const current = listSelection(position, rows);
  switch (action.type) {
    case "move":
      return update(selectIn(position, rows, ctx.pageSize, current + action.delta));
    case "page":
      return update(selectIn(position, rows, ctx.pageSize, current + action.direction * Math.max(1, ctx.pageSize)));
    case "first":
      return update(selectIn(position, rows, ctx.pageSize, 0));
    case "last":
      return update(selectIn(position, rows, ctx.pageSize, rows.count - 1));
    case "view/toggle":
      return toggleView(state, ctx, action.view);
    case "back":
      return { ...state, mode: "table" };
    default:
      return null;
  }
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
      return openDetail({ ...state, selectedId: stepId, selectedIndex: current }, ctx, { stepId }, "table");
    }
    case "back":
      return state.filter !== "" || state.filterEditing ? { ...state, filter: "", filterEditing: false } : state;
    case "view/toggle":
      return toggleView(state, ctx, action.view);
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

function reduceTimeline(state: ViewState, action: ViewAction, ctx: ViewContext): ViewState {
  const { timeline } = state;
  const lanes = ctx.lanes(timeline.expanded);
  const update = (next: TimelineState): ViewState => ({ ...state, timeline: next });
  const shared = reduceListKeys(state, action, ctx, timeline, lanes, update);
  if (shared !== null) return shared;
  const current = listSelection(timeline, lanes);
  switch (action.type) {
    case "open": {
      const target = current >= 0 ? lanes.targetAt(current) : undefined;
      return target === undefined ? state : openDetail(state, ctx, target, "timeline");
    }
    case "timeline/expand": {
      const loop = current >= 0 ? lanes.loopAt(current) : undefined;
      if (loop === undefined) return state;
      const expanded = new Set(timeline.expanded);
      if (!expanded.delete(loop)) expanded.add(loop);
      // Collapsing from one of its iterations selects the loop's own line.
      return update({ ...timeline, expanded, selectedId: loop });
    }
    default:
      return state;
  }
}

function reduceCost(state: ViewState, action: ViewAction, ctx: ViewContext): ViewState {
  const { cost } = state;
  const bars = ctx.costBars(cost.byModel);
  const update = (next: CostState): ViewState => ({ ...state, cost: next });
  const shared = reduceListKeys(state, action, ctx, cost, bars, update);
  if (shared !== null) return shared;
  switch (action.type) {
    case "open": {
      const current = listSelection(cost, bars);
      const target = current >= 0 ? bars.targetAt(current) : undefined;
      return target === undefined ? state : openDetail(state, ctx, target, "cost");
    }
    case "cost/group":
      return update({ ...START, byModel: !cost.byModel });
    default:
      return state;
  }
}

function scrollDetail(state: ViewState, ctx: ViewContext, to: (current: number, max: number) => number): ViewState {
  if (state.detail === null) return state;
  const max = Math.max(0, ctx.detail.contextLines - ctx.detail.contextPage);
  const scroll = clamp(to(state.detail.scroll, max), 0, max);
  return scroll === state.detail.scroll ? state : { ...state, detail: { ...state.detail, scroll } };
}

function reduceDetail(state: ViewState, action: ViewAction, ctx: ViewContext): ViewState {
  const detail = state.detail;
  if (detail === null) return { ...state, mode: "table" };
  const back = (): ViewState => ({ ...state, mode: detail.returnTo, detail: null });
  switch (action.type) {
    case "move": {
      if (ctx.detail.attemptCount === 0) return state;
      const from = resolveAttempt(detail, ctx.detail.attemptCount);
      const attempt = clamp(from + action.delta, 0, ctx.detail.attemptCount - 1);
      return { ...state, detail: { ...detail, attempt, scroll: 0, hscroll: 0 } };
    }
    case "detail/scroll":
      return scrollDetail(state, ctx, (scroll) => scroll + action.delta);
    case "detail/hscroll": {
      if (action.orBack === true && detail.hscroll === 0) return back();
      const max = Math.max(0, ctx.detail.contextColumns - ctx.detail.contextPageColumns);
      const hscroll = clamp(detail.hscroll + action.delta, 0, max);
      return hscroll === detail.hscroll ? state : { ...state, detail: { ...detail, hscroll } };
    }
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
      return { ...state, detail: { ...detail, loopIndex, attempt: null, scroll: 0, hscroll: 0 } };
    }
    case "detail/context": {
      const kind =
        action.kind ??
        CONTEXT_KINDS[(CONTEXT_KINDS.indexOf(ctx.detail.contextKind) + 1) % CONTEXT_KINDS.length] ??
        "output";
      return { ...state, detail: { ...detail, context: kind, scroll: 0, hscroll: 0 } };
    }
    case "back":
      return back();
    default:
      return state;
  }
}

export function reduceView(state: ViewState, action: ViewAction, ctx: ViewContext): ViewState {
  switch (action.type) {
    case "quit":
      return { ...state, quit: action.key };
    case "reload":
      return { ...state, reloads: state.reloads + 1 };
    case "export":
      return { ...state, exports: state.exports + 1 };
    case "help/toggle":
      if (state.mode === "help") return { ...state, mode: state.helpReturn };
      return { ...state, mode: "help", helpReturn: state.mode, filterEditing: false };
    default:
      break;
  }
  switch (state.mode) {
    case "help":
      return action.type === "back" ? { ...state, mode: state.helpReturn } : state;
    case "detail":
      return reduceDetail(state, action, ctx);
    case "timeline":
      return reduceTimeline(state, action, ctx);
    case "cost":
      return reduceCost(state, action, ctx);
    case "table":
      return reduceTable(state, action, ctx);
  }
}
