// Derived views of RunState; the UI and the CLI read state only through these.
import { addAmounts, compareAmounts, parseUsd, toUsdString } from "./money.js";
import { executionsOf, isTerminal } from "./rows.js";
import { ACTIVE_STEP_STATUSES, attemptsKey, type IterationRow, type RunState, type StepRow, type StepTable, type UsdAmount } from "./types.js";

export type SortKey = "flow" | "duration" | "cost" | "tokens";
export const SORT_KEYS: readonly SortKey[] = ["flow", "duration", "cost", "tokens"];

export interface RunTotals {
  readonly stepsDone: number;
  readonly stepCount: number | null;
  /** Exact sum of the known step costs; null while none is known. */
  readonly costUsd: string | null;
  /** Finished executions whose cost is unknown: when > 0, costUsd is a partial sum. */
  readonly costUnknown: number;
  readonly tokens: { readonly prompt: number; readonly completion: number; readonly total: number };
  readonly retries: number;
  readonly failedSteps: number;
}

const totalsCache = new WeakMap<RunState, RunTotals>();

export function selectTotals(state: RunState): RunTotals {
  const cached = totalsCache.get(state);
  if (cached !== undefined) return cached;
  const totals: RunTotals = {
    stepsDone: state.stepsDone,
    stepCount: state.stepCount,
    costUsd: state.costKnownRows > 0 ? toUsdString(state.costTotal) : null,
    costUnknown: state.costUnknown,
    tokens: state.tokenTotals,
    retries: state.retries,
    failedSteps: state.failedSteps,
  };
  totalsCache.set(state, totals);
  return totals;
}

interface RowsMemo {
  readonly version: number;
  readonly entries: { readonly sort: SortKey; readonly filter: string; readonly rows: readonly StepRow[] }[];
}

// Per step table (a table belongs to one run): the views of the current version, a few
// sort/filter combinations at once so that a screen asking for two does not thrash.
const rowsCache = new WeakMap<StepTable, RowsMemo>();
const VIEWS_KEPT = 4;

/** The row's token count for sorting: its total, else prompt + completion; null without tokens. */
function tokenCount(row: StepRow): number | null {
  // Read once: a PlainRow makes its tokens object on every read.
  const tokens = row.tokens;
  if (tokens === null) return null;
  return tokens.total ?? (tokens.prompt ?? 0) + (tokens.completion ?? 0);
}

/**
 * Filtered (case-insensitive substring of step id, name or status) then sorted rows:
 * flow order, or largest first by duration (ticking at `now`), cost or tokens, ties in
 * flow order, unknown values last. Memoised on state.version + sort + filter (not on
 * `now`, so a duration sort stays stable between changes). Never the table's live array.
 */
export function selectRows(state: RunState, opts: { sort: SortKey; filter: string; now: number }): readonly StepRow[] {
  let memo = rowsCache.get(state.steps);
  if (memo === undefined || memo.version !== state.version) {
    memo = { version: state.version, entries: [] };
    rowsCache.set(state.steps, memo);
  }
  const hit = memo.entries.find((e) => e.sort === opts.sort && e.filter === opts.filter);
  if (hit !== undefined) return hit.rows;
  const needle = opts.filter.trim().toLowerCase();
  const all = state.steps.rows();
  const rows =
    needle.length === 0
      ? all.slice()
      : all.filter(
          (r) =>
            r.stepId.toLowerCase().includes(needle) ||
            (r.name?.toLowerCase().includes(needle) ?? false) ||
            r.status.includes(needle),
        );
  const byOrder = (a: StepRow, b: StepRow): number => a.order - b.order;
  const descending = (a: number | null, b: number | null): number => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : b - a);
  switch (opts.sort) {
    case "flow":
      break;
    case "duration": {
      const key = new Map<StepRow, number | null>(rows.map((r) => [r, stepElapsedMs(r, opts.now)]));
      rows.sort((a, b) => descending(key.get(a) ?? null, key.get(b) ?? null) || byOrder(a, b));
      break;
    }
    case "cost": {
      const key = new Map<StepRow, UsdAmount | null>(rows.map((r) => [r, parseUsd(r.costUsd)]));
      rows.sort((a, b) => {
        const x = key.get(a) ?? null;
        const y = key.get(b) ?? null;
        if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0) || byOrder(a, b);
        return compareAmounts(y, x) || byOrder(a, b);
      });
      break;
    }
    case "tokens": {
      const key = new Map<StepRow, number | null>(rows.map((r) => [r, tokenCount(r)]));
      rows.sort((a, b) => descending(key.get(a) ?? null, key.get(b) ?? null) || byOrder(a, b));
      break;
    }
  }
  if (memo.entries.length >= VIEWS_KEPT) memo.entries.shift();
  memo.entries.push({ sort: opts.sort, filter: opts.filter, rows });
  return rows;
}

/** Run elapsed time: ticking from startedAt while the run is not terminal, the final duration after. */
export function selectElapsedMs(state: RunState, now: number): number | null {
  if (isTerminal(state.status)) {
    if (state.durationMs !== null) return state.durationMs;
    return state.startedAt !== null && state.completedAt !== null ? Math.max(0, state.completedAt - state.startedAt) : null;
  }
  return state.startedAt === null ? null : Math.max(0, now - state.startedAt);
}

/** A step's duration, ticking while it is in progress (a loop: finished iterations + the current one). */
export function stepElapsedMs(row: StepRow, now: number): number | null {
  if (!ACTIVE_STEP_STATUSES.has(row.status)) return row.durationMs;
  const current = row.isLoop ? row.iterationRows[row.iterationRows.length - 1] : row;
  const since = current?.startedAt ?? null;
  if (since === null) return row.durationMs;
  return (row.isLoop ? (row.durationMs ?? 0) : 0) + Math.max(0, now - since);
}

/**
 * Index range [start, end) of `height` rows to render so that `selected` is visible,
 * scrolling as little as possible from `previousStart`.
 */
export function visibleWindow(
  total: number,
  selected: number,
  height: number,
  previousStart: number,
): { start: number; end: number } {
  if (total <= 0 || height <= 0) return { start: 0, end: 0 };
  const sel = Math.min(Math.max(selected, 0), total - 1);
  let start = Math.min(Math.max(previousStart, 0), Math.max(0, total - height));
  if (sel < start) start = sel;
  else if (sel >= start + height) start = sel - height + 1;
  return { start, end: Math.min(total, start + height) };
}

/**
 * The step's cost including its failed attempts: the latest attempt of every execution
 * plus every earlier attempt. Needs the attempts (attempts/loaded) of each retried
 * execution: null while one is missing, or when no cost is known at all.
 */
export function selectStepCostWithRetries(state: RunState, stepId: string): string | null {
  const row = state.steps.get(stepId);
  if (row === undefined) return null;
  let sum: UsdAmount | null = parseUsd(row.costUsd);
  const add = (value: string | null | undefined): void => {
    const amount = parseUsd(value);
    if (amount !== null) sum = sum === null ? amount : addAmounts(sum, amount);
  };
  for (const it of executionsOf(row) as readonly IterationRow[]) {
    if (it.attempt <= 1) continue;
    const attempts = state.attempts.get(attemptsKey(stepId, it.loopIndex));
    if (attempts === undefined) return null;
    for (const a of attempts) if (a.attempt !== it.attempt) add(a.costUsd);
  }
  return sum === null ? null : toUsdString(sum);
}

/** Index of the row to follow: the most recently started step in progress, else the last row; -1 when empty. */
export function selectFollowIndex(rows: readonly StepRow[]): number {
  let best = -1;
  let bestStart = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as StepRow;
    if (!ACTIVE_STEP_STATUSES.has(row.status)) continue;
    const current = row.isLoop ? row.iterationRows[row.iterationRows.length - 1] : row;
    const start = current?.startedAt ?? row.startedAt ?? -Infinity;
    if (best === -1 || start >= bestStart) {
      best = i;
      bestStart = start;
    }
  }
  return best !== -1 ? best : rows.length - 1;
}
