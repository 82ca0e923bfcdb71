// Step table columns: on a narrow terminal they first shrink to their minimum, then drop,
// lowest priority first; the step name takes whatever width is left.

export type ColumnKey = "attempt" | "loop" | "status" | "duration" | "model" | "tokens" | "cost";

interface ColumnSpec {
  readonly key: ColumnKey;
  readonly title: string;
  readonly ideal: number;
  readonly min: number;
  /** Higher survives longer. */
  readonly priority: number;
  readonly alignRight: boolean;
}

/** In display order (after `#` and the name). */
const COLUMNS: readonly ColumnSpec[] = [
  { key: "attempt", title: "att", ideal: 3, min: 3, priority: 6, alignRight: true },
  { key: "loop", title: "loop", ideal: 4, min: 4, priority: 4, alignRight: true },
  { key: "status", title: "status", ideal: 11, min: 6, priority: 10, alignRight: false },
  { key: "duration", title: "dur", ideal: 7, min: 6, priority: 9, alignRight: true },
  { key: "model", title: "model", ideal: 18, min: 11, priority: 3, alignRight: false },
  { key: "tokens", title: "tok p/c", ideal: 11, min: 9, priority: 5, alignRight: true },
  { key: "cost", title: "cost", ideal: 10, min: 9, priority: 8, alignRight: true },
];

export interface Column {
  readonly key: ColumnKey;
  readonly title: string;
  readonly width: number;
  readonly alignRight: boolean;
}

export interface TableLayout {
  /** Selection marker + row number, e.g. `›12`. */
  readonly numberWidth: number;
  readonly nameWidth: number;
  readonly columns: readonly Column[];
}

const NAME_MIN = 16;

/** Column widths for a terminal `width` cells wide whose row numbers have `numberDigits` digits. */
export function layoutColumns(width: number, numberDigits: number): TableLayout {
  const numberWidth = 1 + Math.max(2, numberDigits);
  const widths = new Map<ColumnKey, number>(COLUMNS.map((c) => [c.key, c.ideal]));
  // One space before each column, including the name.
  const needed = (): number => {
    let sum = numberWidth + 1 + NAME_MIN;
    for (const w of widths.values()) sum += w + 1;
    return sum;
  };
  const byPriority = [...COLUMNS].sort((a, b) => a.priority - b.priority);
  for (const spec of byPriority) {
    const over = needed() - width;
    if (over <= 0) break;
    const current = widths.get(spec.key) ?? spec.ideal;
    widths.set(spec.key, current - Math.min(over, current - spec.min));
  }
  for (const spec of byPriority) {
    if (needed() <= width) break;
    widths.delete(spec.key);
  }
  const columns: Column[] = [];
  let used = numberWidth + 1;
  for (const spec of COLUMNS) {
    const w = widths.get(spec.key);
    if (w === undefined) continue;
    columns.push({ key: spec.key, title: spec.title, width: w, alignRight: spec.alignRight });
    used += w + 1;
  }
  return { numberWidth, nameWidth: Math.max(1, width - used), columns };
}
