// The cost view's model: each step's (or each model's) share of the run's cost and tokens,
// largest first, the cost of failed attempts apart. Amounts stay exact decimals (money.ts);
// only a bar's length is turned into a number of cells, from the exact ratio.
import { addAmounts, compareAmounts, parseUsd, subtractAmounts, toUsdString, ZERO_USD } from "../state/money.js";
import { selectStepCostWithRetries } from "../state/selectors.js";
import { attemptsKey, type IterationRow, type RunState, type StepRow, type StepTable, type UsdAmount } from "../state/types.js";
import type { CostBars, StepTarget } from "./viewReducer.js";

export interface CostItem {
  /** Step id, or the model name when grouped by model. */
  readonly key: string;
  readonly label: string;
  /** The step it opens (Enter); none for a model. */
  readonly target?: StepTarget;
  /** The latest attempt of every execution; null = unknown. */
  readonly cost: UsdAmount | null;
  /** Attempts that were retried; null = none known. */
  readonly failed: UsdAmount | null;
  /** A retried execution whose attempts are not loaded yet: `failed` is partial. */
  readonly failedUnknown: boolean;
  readonly tokens: number | null;
  /** Steps in the group (1 for a step). */
  readonly steps: number;
}

export interface CostBreakdown {
  /** Largest cost (with failed attempts) first; unknown costs last. */
  readonly items: readonly CostItem[];
  /** Sum of the items' costs and of their failed attempts; null when nothing is known. */
  readonly cost: UsdAmount | null;
  readonly failed: UsdAmount | null;
  readonly tokens: number;
  /** Steps with no known cost (code steps, skipped steps, steps not finished). */
  readonly unknownCost: number;
}

const NO_MODEL = "(no model)";

function add(a: UsdAmount | null, b: UsdAmount | null): UsdAmount | null {
  return a === null ? b : b === null ? a : addAmounts(a, b);
}

/** An item's whole cost (latest attempts and failed ones); null when neither is known. */
export function itemTotal(item: Pick<CostItem, "cost" | "failed">): UsdAmount | null {
  return add(item.cost, item.failed);
}

function tokenCount(tokens: { prompt: number | null; completion: number | null; total: number | null } | null): number | null {
  if (tokens === null) return null;
  return tokens.total ?? (tokens.prompt ?? 0) + (tokens.completion ?? 0);
}

function stepItem(state: RunState, row: StepRow): CostItem {
  const cost = parseUsd(row.costUsd);
  let failed: UsdAmount | null = null;
  let failedUnknown = false;
  if (row.retries > 0) {
    const withRetries = parseUsd(selectStepCostWithRetries(state, row.stepId));
    if (withRetries === null) failedUnknown = true;
    else failed = subtractAmounts(withRetries, cost ?? ZERO_USD);
  }
  return {
    key: row.stepId,
    label: row.name !== null && row.name !== "" ? row.name : row.stepId,
    target: { stepId: row.stepId },
    cost,
    failed,
    failedUnknown,
    tokens: tokenCount(row.tokens),
    steps: 1,
  };
}

interface ModelSums {
  cost: UsdAmount | null;
  failed: UsdAmount | null;
  failedUnknown: boolean;
  tokens: number | null;
  readonly steps: Set<string>;
}

/** The executions of a row: its iterations for a loop, else the row itself. */
function executions(row: StepRow): readonly Pick<IterationRow, "loopIndex" | "attempt" | "modelUsed" | "costUsd" | "tokens">[] {
  return row.isLoop ? row.iterationRows : [row];
}

function modelItems(state: RunState): CostItem[] {
  const models = new Map<string, ModelSums>();
  const sums = (model: string | null): ModelSums => {
    const name = model === null || model === "" ? NO_MODEL : model;
    let entry = models.get(name);
    if (entry === undefined) {
      entry = { cost: null, failed: null, failedUnknown: false, tokens: null, steps: new Set() };
      models.set(name, entry);
    }
    return entry;
  };
  for (const row of state.steps.rows()) {
    for (const it of executions(row)) {
      const entry = sums(it.modelUsed);
      entry.steps.add(row.stepId);
      entry.cost = add(entry.cost, parseUsd(it.costUsd));
      const tokens = tokenCount(it.tokens);
      if (tokens !== null) entry.tokens = (entry.tokens ?? 0) + tokens;
      if (it.attempt <= 1) continue;
      const attempts = state.attempts.get(attemptsKey(row.stepId, it.loopIndex));
      if (attempts === undefined) {
        entry.failedUnknown = true;
        continue;
      }
      // A retried attempt counts for the model it ran on.
      for (const attempt of attempts) {
        if (attempt.attempt === it.attempt) continue;
        const failedEntry = sums(attempt.modelUsed ?? it.modelUsed);
        failedEntry.steps.add(row.stepId);
        failedEntry.failed = add(failedEntry.failed, parseUsd(attempt.costUsd));
      }
    }
  }
  return [...models].map(([model, s]) => ({
    key: model,
    label: model,
    cost: s.cost,
    failed: s.failed,
    failedUnknown: s.failedUnknown,
    tokens: s.tokens,
    steps: s.steps.size,
  }));
}

/** Largest whole cost first; unknown last; ties by label. */
function byCost(a: CostItem, b: CostItem): number {
  const x = itemTotal(a);
  const y = itemTotal(b);
  if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0) || a.label.localeCompare(b.label);
  return compareAmounts(y, x) || a.label.localeCompare(b.label);
}

interface BreakdownMemo {
  readonly version: number;
  readonly byModel: boolean;
  readonly breakdown: CostBreakdown;
}

const cache = new WeakMap<StepTable, BreakdownMemo[]>();

/** The breakdown by step or by model, memoised on the state's version. */
export function costBreakdown(state: RunState, byModel: boolean): CostBreakdown {
  const memos = (cache.get(state.steps) ?? []).filter((memo) => memo.version === state.version);
  const hit = memos.find((memo) => memo.byModel === byModel);
  if (hit !== undefined) return hit.breakdown;
  const items = byModel ? modelItems(state) : state.steps.rows().map((row) => stepItem(state, row));
  items.sort(byCost);
  let cost: UsdAmount | null = null;
  let failed: UsdAmount | null = null;
  let tokens = 0;
  let unknownCost = 0;
  for (const row of state.steps.rows()) if (parseUsd(row.costUsd) === null) unknownCost += 1;
  for (const item of items) {
    cost = add(cost, item.cost);
    failed = add(failed, item.failed);
    tokens += item.tokens ?? 0;
  }
  const breakdown: CostBreakdown = { items, cost, failed, tokens, unknownCost };
  memos.push({ version: state.version, byModel, breakdown });
  cache.set(state.steps, memos);
  return breakdown;
}

const barsViews = new WeakMap<CostBreakdown, CostBars>();

/** The bars as the view reducer sees them (one per breakdown: its key index is built once, when first needed). */
export function costBars(breakdown: CostBreakdown): CostBars {
  const cached = barsViews.get(breakdown);
  if (cached !== undefined) return cached;
  let index: Map<string, number> | null = null;
  const view: CostBars = {
    count: breakdown.items.length,
    idAt: (i) => breakdown.items[i]?.key,
    indexOf(key) {
      index ??= new Map(breakdown.items.map((item, i) => [item.key, i]));
      return index.get(key) ?? -1;
    },
    targetAt: (i) => breakdown.items[i]?.target,
  };
  barsViews.set(breakdown, view);
  return view;
}

const POW10: bigint[] = [1n];
function pow10(n: number): bigint {
  for (let i = POW10.length; i <= n; i += 1) POW10.push((POW10[i - 1] ?? 1n) * 10n);
  return POW10[n] ?? 10n ** BigInt(n);
}

/** `part` and `whole` as integers of one scale. */
function aligned(part: UsdAmount, whole: UsdAmount): [bigint, bigint] {
  const scale = Math.max(part.scale, whole.scale);
  return [part.units * pow10(scale - part.scale), whole.units * pow10(scale - whole.scale)];
}

/** round(cells * part / whole), exactly; 0 when the whole is not positive. */
export function cellsOf(part: UsdAmount | null, whole: UsdAmount | null, cells: number): number {
  if (part === null || whole === null) return 0;
  const [p, w] = aligned(part, whole);
  if (w <= 0n || p <= 0n) return 0;
  const n = BigInt(cells);
  return Number((2n * p * n + w) / (2n * w));
}

/** The share as `12.3%` (rounded half up, from the exact ratio); empty when unknown. */
export function shareText(part: UsdAmount | null, whole: UsdAmount | null): string {
  if (part === null || whole === null) return "";
  const [p, w] = aligned(part, whole);
  if (w <= 0n) return "";
  const tenths = Number((2n * p * 1000n + w) / (2n * w));
  return `${(tenths / 10).toFixed(1)}%`;
}

export function usdText(amount: UsdAmount | null): string | null {
  return amount === null ? null : toUsdString(amount);
}
