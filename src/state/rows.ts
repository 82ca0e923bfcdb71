// Building blocks shared by the reducer, the reconcile and the replay merge: the step
// table, token sums, and rows seen as a list of executions (loop iterations).
import { toUsdString, UsdSum } from "./money.js";
import type { PayloadPreview, TokenBreakdown } from "../api/schemas.js";
import { TERMINAL_RUN_STATUSES } from "./types.js";
import type { IterationRow, RunStatus, StepRow, StepStatus, StepTable, TokenTotals, Tokens, UsdAmount } from "./types.js";

/** Shared by every row outside a loop (never mutated). */
export const NO_ITERATIONS: readonly IterationRow[] = Object.freeze([]);

/**
 * A row outside a loop, on its first attempt, without error or previews: most rows of
 * a large run (issue 6: 500,000 steps in a 300 MB process). Those nine fields hold
 * their defaults on the prototype, and its token counts are numbers in the row rather
 * than an object of their own: 12 fields (120 bytes), where a full row is 19 fields
 * (176) and its tokens object 48 more. Rows are only read by property, never spread or
 * serialised whole; the reducer builds a changed row with withFields (which copies
 * every field). `tokens` is made when read: compare its counts, not its identity.
 */
export class PlainRow implements StepRow {
  /** The token counts; promptTokens is NO_TOKENS when the row has none. */
  private readonly promptTokens: number;
  private readonly completionTokens: number;
  private readonly totalTokens: number;

  constructor(
    readonly stepId: string,
    readonly name: string | null,
    readonly order: number,
    readonly status: StepStatus,
    readonly startedAt: number | null,
    readonly completedAt: number | null,
    readonly durationMs: number | null,
    readonly modelUsed: string | null,
    tokens: Tokens | null,
    readonly costUsd: string | null,
  ) {
    if (tokens === null) {
      this.promptTokens = NO_TOKENS;
      this.completionTokens = 0;
      this.totalTokens = 0;
    } else {
      this.promptTokens = tokens.prompt as number;
      this.completionTokens = tokens.completion as number;
      this.totalTokens = tokens.total as number;
    }
  }

  /** Whether a PlainRow holds `tokens` as they are: none, or three counts of zero or more. */
  static holds(tokens: Tokens | null): boolean {
    return tokens === null || (isCount(tokens.prompt) && isCount(tokens.completion) && isCount(tokens.total));
  }

  get tokens(): Tokens | null {
    const prompt = this.promptTokens;
    return prompt === NO_TOKENS ? null : { prompt, completion: this.completionTokens, total: this.totalTokens };
  }
}

const NO_TOKENS = -1;

function isCount(n: number | null): n is number {
  return n !== null && n >= 0;
}

export interface PlainRow {
  readonly attempt: number;
  readonly retries: number;
  readonly iterations: number;
  readonly isLoop: boolean;
  readonly loopIndex: number | null;
  readonly lastError: string | null;
  readonly lastOutput: PayloadPreview | null;
  readonly lastInput: PayloadPreview | null;
  readonly iterationRows: readonly IterationRow[];
}

const PLAIN_DEFAULTS: Pick<
  StepRow,
  "attempt" | "retries" | "iterations" | "isLoop" | "loopIndex" | "lastError" | "lastOutput" | "lastInput" | "iterationRows"
> = {
  attempt: 1,
  retries: 0,
  iterations: 1,
  isLoop: false,
  loopIndex: null,
  lastError: null,
  lastOutput: null,
  lastInput: null,
  iterationRows: NO_ITERATIONS,
};
Object.assign(PlainRow.prototype, PLAIN_DEFAULTS);

/** The row's other fields have their PlainRow defaults. */
export function isPlain(row: StepRow): boolean {
  return (
    row.attempt === 1 &&
    row.retries === 0 &&
    row.iterations === 1 &&
    !row.isLoop &&
    row.loopIndex === null &&
    row.lastError === null &&
    row.lastOutput === null &&
    row.lastInput === null &&
    row.iterationRows === NO_ITERATIONS
  );
}

/** `row` with `patch` applied, as a new object with every field (whatever kind `row` is). */
export function withFields(row: StepRow, patch: Partial<StepRow>): StepRow {
  return {
    stepId: row.stepId,
    name: row.name,
    order: row.order,
    status: row.status,
    attempt: row.attempt,
    retries: row.retries,
    iterations: row.iterations,
    isLoop: row.isLoop,
    loopIndex: row.loopIndex,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    durationMs: row.durationMs,
    modelUsed: row.modelUsed,
    tokens: row.tokens,
    costUsd: row.costUsd,
    lastError: row.lastError,
    lastOutput: row.lastOutput,
    lastInput: row.lastInput,
    iterationRows: row.iterationRows,
    ...patch,
  };
}

/**
 * Step id -> row position: open addressing over typed arrays. A Map of 500,000 string
 * keys cost most of the reducer's time (issue 6): a new step is a miss, and a Map miss
 * walks a bucket chain and reads each stored key string, one cache miss per link.
 * Here a probe reads one slot of two flat arrays (hash, position); the key string is
 * only read when the hashes match. The seed is per process, so crafted step ids
 * cannot make every id collide.
 */
class StepIndex {
  private hashes = new Int32Array(1024);
  /** Row position + 1; 0 marks an empty slot. */
  private positions = new Int32Array(1024);
  private used = 0;

  /** Position of the row whose step id is `stepId` (`rows` holds them by position), or -1. */
  find(stepId: string, hash: number, rows: readonly StepRow[]): number {
    const mask = this.positions.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const stored = this.positions[slot] as number;
      if (stored === 0) return -1;
      if (this.hashes[slot] === hash && (rows[stored - 1] as StepRow).stepId === stepId) return stored - 1;
    }
  }

  /** Adds a step id known to be absent. */
  add(hash: number, position: number): void {
    if (2 * (this.used + 1) > this.positions.length) this.grow();
    this.insert(hash, position + 1);
    this.used++;
  }

  private insert(hash: number, stored: number): void {
    const mask = this.positions.length - 1;
    let slot = hash & mask;
    while (this.positions[slot] !== 0) slot = (slot + 1) & mask;
    this.hashes[slot] = hash;
    this.positions[slot] = stored;
  }

  private grow(): void {
    const { hashes, positions } = this;
    this.hashes = new Int32Array(hashes.length * 2);
    this.positions = new Int32Array(positions.length * 2);
    for (let slot = 0; slot < positions.length; slot++) {
      const stored = positions[slot] as number;
      if (stored !== 0) this.insert(hashes[slot] as number, stored);
    }
  }
}

const HASH_SEED = (Math.random() * 0x100000000) | 0;

/** FNV-1a over the UTF-16 code units, from a per-process seed (exported for the collision test). */
export function hashStepId(stepId: string): number {
  let hash = HASH_SEED ^ 0x811c9dc5;
  for (let i = 0; i < stepId.length; i++) hash = Math.imul(hash ^ stepId.charCodeAt(i), 0x01000193);
  return hash;
}

/**
 * The step table: rows in display order (row.order is the index) and an index from
 * step id to position. Replacing a row is an array store; events of one step tend to
 * follow each other (started, then completed), so the last row looked up is checked
 * before the index. The reducer replaces rows in place; see reducer.ts for why.
 */
export class MutableStepTable implements StepTable {
  private readonly index = new StepIndex();
  private readonly list: StepRow[] = [];
  private lastRow: StepRow | undefined = undefined;
  private missed: string | null = null;
  private missedHash = 0;

  get size(): number {
    return this.list.length;
  }

  get(stepId: string): StepRow | undefined {
    const last = this.lastRow;
    if (last !== undefined && last.stepId === stepId) return last;
    const hash = hashStepId(stepId);
    const at = this.index.find(stepId, hash, this.list);
    if (at !== -1) return this.list[at];
    // A miss is usually followed by put() of that step: its hash is kept.
    this.missed = stepId;
    this.missedHash = hash;
    return undefined;
  }

  rows(): readonly StepRow[] {
    return this.list;
  }

  /** Adds a row (its order must be `size`, its step id new) or replaces the row of the same step (same order). */
  put(row: StepRow): void {
    if (row.order === this.list.length) {
      this.index.add(row.stepId === this.missed ? this.missedHash : hashStepId(row.stepId), row.order);
    }
    this.list[row.order] = row;
    this.lastRow = row;
  }
}

/** The table of a state built by the reducer (every RunState's is). */
export function mutableTable(table: StepTable): MutableStepTable {
  if (!(table instanceof MutableStepTable)) throw new Error("RunState.steps was not built by the reducer");
  return table;
}

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.has(status);
}

const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(["pending", "running", "completed", "failed", "cancelled"]);

/** A server run status as a RunStatus: the five known ones, anything else "unknown". */
export function toRunStatus(status: string): RunStatus {
  const s = status.toLowerCase();
  return RUN_STATUSES.has(s) ? (s as RunStatus) : "unknown";
}

export function isDone(status: StepStatus): boolean {
  return status === "completed" || status === "skipped";
}

const STEP_STATUSES: ReadonlySet<string> = new Set<StepStatus>([
  "pending",
  "running",
  "completed",
  "failed",
  "skipped",
  "waiting_tools",
  "paused",
]);

export function toStepStatus(status: string): StepStatus | null {
  const s = status.toLowerCase();
  return STEP_STATUSES.has(s) ? (s as StepStatus) : null;
}

/** Epoch ms of an ISO 8601 timestamp; null when absent or unreadable. */
export function parseTimestamp(iso: string | null | undefined): number | null {
  if (iso == null) return null;
  const ms = iso.length === 24 ? utcMillis(iso) : NaN;
  if (!Number.isNaN(ms)) return ms;
  const parsed = Date.parse(iso);
  return Number.isFinite(parsed) ? parsed : null;
}

function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    value = value * 10 + c;
  }
  return value;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (toISOString's form, as a trace of hundreds of thousands
 * of steps holds twice per step) read without Date.parse; NaN for any other text, and
 * for years before 1000, days 29 to 31 and other edges, which Date.parse decides.
 */
function utcMillis(iso: string): number {
  if (iso.charCodeAt(4) !== 45 || iso.charCodeAt(7) !== 45 || iso.charCodeAt(10) !== 84 || iso.charCodeAt(13) !== 58) return NaN;
  if (iso.charCodeAt(16) !== 58 || iso.charCodeAt(19) !== 46 || iso.charCodeAt(23) !== 90) return NaN;
  const month = digits(iso, 5, 2);
  const day = digits(iso, 8, 2);
  const hour = digits(iso, 11, 2);
  const minute = digits(iso, 14, 2);
  const second = digits(iso, 17, 2);
  const year = digits(iso, 0, 4);
  // Date.UTC reads years 0 to 99 as 1900 to 1999.
  if (!(year >= 1000 && month >= 1 && month <= 12 && day >= 1 && day <= 28 && hour <= 23 && minute <= 59 && second <= 59)) {
    return NaN;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, digits(iso, 20, 3));
}

/**
 * The decoder's object when it has all three counts (eventScan.ts builds it as one
 * literal, as compact as this one), else a fresh literal: smaller than an object built
 * key by key (48 vs 56 bytes per row).
 */
export function toTokens(t: TokenBreakdown | null | undefined): Tokens | null {
  if (t == null) return null;
  if (t.prompt !== undefined && t.completion !== undefined && t.total !== undefined) return t as Tokens;
  return { prompt: t.prompt ?? null, completion: t.completion ?? null, total: t.total ?? null };
}

function addCount(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}

/** Field-wise sum; a field stays null only when unknown on both sides. */
export function addTokens(a: Tokens | null, b: Tokens | null): Tokens | null {
  if (a === null) return b;
  if (b === null) return a;
  return {
    prompt: addCount(a.prompt, b.prompt),
    completion: addCount(a.completion, b.completion),
    total: addCount(a.total, b.total),
  };
}

/** a - b field-wise, for replacing one execution inside a sum. */
export function subtractTokens(a: Tokens | null, b: Tokens | null): Tokens | null {
  if (b === null || a === null) return a;
  const minus = (x: number | null, y: number | null): number | null => (x === null ? null : x - (y ?? 0));
  return { prompt: minus(a.prompt, b.prompt), completion: minus(a.completion, b.completion), total: minus(a.total, b.total) };
}

/** The execution a step's own line stands for: the row itself outside a loop. */
export function rowExecution(row: StepRow): IterationRow {
  return {
    loopIndex: row.loopIndex,
    status: row.status,
    attempt: row.attempt,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    durationMs: row.durationMs,
    modelUsed: row.modelUsed,
    tokens: row.tokens,
    costUsd: row.costUsd,
  };
}

/** The executions behind a row: its iterations for a loop, else the row itself as one execution. */
export function executionsOf(row: StepRow): readonly IterationRow[] {
  return row.isLoop ? row.iterationRows : [rowExecution(row)];
}

/** Row fields derived from its executions (the last one is the current); identity and previews come from `base`. */
export function rowFromExecutions(
  base: Pick<StepRow, "stepId" | "name" | "order" | "lastError" | "lastInput" | "lastOutput">,
  executions: readonly IterationRow[],
  isLoop: boolean,
  retries: number,
  iterations: number,
): StepRow {
  const current = executions[executions.length - 1];
  if (current === undefined) throw new Error("a row needs at least one execution");
  // Whole literals, not a spread of `base` plus fields: a reconcile builds one per step.
  if (!isLoop) {
    if (
      current.attempt === 1 &&
      retries === 0 &&
      current.loopIndex === null &&
      base.lastError === null &&
      base.lastOutput === null &&
      base.lastInput === null &&
      PlainRow.holds(current.tokens)
    ) {
      return new PlainRow(
        base.stepId,
        base.name,
        base.order,
        current.status,
        current.startedAt,
        current.completedAt,
        current.durationMs,
        current.modelUsed,
        current.tokens,
        current.costUsd,
      );
    }
    return {
      stepId: base.stepId,
      name: base.name,
      order: base.order,
      status: current.status,
      attempt: current.attempt,
      retries,
      iterations: 1,
      isLoop: false,
      loopIndex: current.loopIndex,
      startedAt: current.startedAt,
      completedAt: current.completedAt,
      durationMs: current.durationMs,
      modelUsed: current.modelUsed,
      tokens: current.tokens,
      costUsd: current.costUsd,
      lastError: base.lastError,
      lastOutput: base.lastOutput,
      lastInput: base.lastInput,
      iterationRows: NO_ITERATIONS,
    };
  }
  let startedAt: number | null = null;
  let durationMs: number | null = null;
  let modelUsed: string | null = null;
  let tokens: Tokens | null = null;
  const cost = new UsdSum();
  let costKnown = false;
  for (const it of executions) {
    if (it.startedAt !== null && (startedAt === null || it.startedAt < startedAt)) startedAt = it.startedAt;
    durationMs = addCount(durationMs, it.durationMs);
    modelUsed = it.modelUsed ?? modelUsed;
    tokens = addTokens(tokens, it.tokens);
    if (it.costUsd !== null && cost.add(it.costUsd)) costKnown = true;
  }
  return {
    stepId: base.stepId,
    name: base.name,
    order: base.order,
    status: current.status,
    attempt: current.attempt,
    retries,
    iterations: Math.max(iterations, executions.length),
    isLoop: true,
    loopIndex: current.loopIndex,
    startedAt,
    completedAt: current.completedAt,
    durationMs,
    modelUsed,
    tokens,
    costUsd: costKnown ? toUsdString(cost.total()) : null,
    lastError: base.lastError,
    lastOutput: base.lastOutput,
    lastInput: base.lastInput,
    iterationRows: executions,
  };
}

/** Run-level sums over a whole table (reconcile and replay merge; the reducer keeps them incrementally). */
export interface RunAggregates {
  readonly stepsDone: number;
  readonly retries: number;
  readonly failedSteps: number;
  readonly costTotal: UsdAmount;
  readonly costKnownRows: number;
  readonly costUnknown: number;
  readonly tokenTotals: TokenTotals;
}

export function aggregateRows(rows: Iterable<StepRow>): RunAggregates {
  let stepsDone = 0;
  let retries = 0;
  let failedSteps = 0;
  const cost = new UsdSum();
  let costKnownRows = 0;
  let costUnknown = 0;
  let prompt = 0;
  let completion = 0;
  let total = 0;
  for (const row of rows) {
    if (isDone(row.status)) stepsDone++;
    if (row.status === "failed") failedSteps++;
    retries += row.retries;
    if (row.costUsd !== null && cost.add(row.costUsd)) costKnownRows++;
    if (!row.isLoop) {
      if (row.status === "completed" && row.costUsd === null) costUnknown++;
    } else {
      for (const it of row.iterationRows) if (it.status === "completed" && it.costUsd === null) costUnknown++;
    }
    const tokens = row.tokens;
    prompt += tokens?.prompt ?? 0;
    completion += tokens?.completion ?? 0;
    total += tokens?.total ?? 0;
  }
  return {
    stepsDone,
    retries,
    failedSteps,
    costTotal: cost.total(),
    costKnownRows,
    costUnknown,
    tokenTotals: { prompt, completion, total },
  };
}
