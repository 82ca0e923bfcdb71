// STUB (owner: state helper). Exact decimal money: costs are decimal strings, summed exactly.

/** Exact sum of decimal strings; null when every input is null/unknown. */
export function sumUsd(values: Iterable<string | null | undefined>): string | null {
  void values;
  throw new Error("not implemented");
}

/** Display form, e.g. "$0.001234"; "—" (or "-" in ASCII) for unknown. */
export function formatUsd(value: string | null, opts?: { digits?: number; ascii?: boolean }): string {
  void opts;
  return value === null ? "-" : `$${value}`;
}
