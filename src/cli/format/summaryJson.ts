// The summary object as JSON text, written in pieces of about a megabyte: a run of
// 250,000 steps is an 80 MB text, and building it as one string (then masking and
// escaping it) cost half a second and 160 MB. `pretty` (the json format) indents the
// summary's fields by two spaces and writes each step on one line of its own, so a
// large summary stays readable, greppable and a third smaller; `line` (ndjson) is
// the whole object on one line.
import type { Summary, SummaryStep } from "../../state/summary.js";
import { SafeJsonPieces } from "../../api/sanitize.js";

export type SummaryLayout = "pretty" | "line";

/** Writes `summary` with `steps` as its last field, then a newline. */
export function writeSummaryJson(
  summary: Summary,
  steps: Iterable<SummaryStep>,
  layout: SummaryLayout,
  write: (text: string) => void,
): void {
  const pretty = layout === "pretty";
  // The fields as JSON.stringify writes them, up to the steps' opening bracket
  // (the text ends with `[]\n}` pretty, `[]}` on one line).
  const head = JSON.stringify({ ...summary, steps: [] }, null, pretty ? 2 : undefined);
  const pieces = new SafeJsonPieces(write);
  pieces.add(head.slice(0, head.length - (pretty ? 3 : 2)));
  const before = pretty ? "\n    " : "";
  const between = pretty ? ",\n    " : ",";
  let first = true;
  for (const step of steps) {
    // Pieces end between steps: a key inside a value is never cut in two.
    pieces.add((first ? before : between) + JSON.stringify(step));
    first = false;
  }
  pieces.end(`${first || !pretty ? "]" : "\n  ]"}${pretty ? "\n}" : "}"}\n`);
}
