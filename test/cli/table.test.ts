// The summary table fits the width it is given (a terminal's columns), whatever the
// names: wide (CJK, emoji) names count two cells a character, and a terminal too narrow
// for even the fewest columns gets lines cut rather than wrapped by the terminal.
import { describe, expect, it } from "vitest";
import { Trace } from "../../src/api/schemas.js";
import { namesRecord } from "../../src/api/exportFile.js";
import { buildSummary } from "../../src/state/summary.js";
import { columnWidths, createStyle, displayWidth, truncate } from "../../src/cli/format/style.js";
import { renderSummaryTable, writeSummaryTable } from "../../src/cli/format/table.js";
import { offlineState } from "../../src/cli/view.js";

const trace = Trace.parse({
  flowRun: { id: "run-1", status: "completed", durationMs: 123_456, stepCount: 3 },
  steps: [
    { stepId: "translate", attempt: 2, status: "completed", durationMs: 2100, modelUsed: "claude-sonnet-4-20250514-extended", tokens: { prompt: 123_456, completion: 7_890, total: 131_346 }, costUsd: "0.123456" },
    { stepId: "emoji", attempt: 1, status: "failed", durationMs: 10, costUsd: "0.000001" },
    { stepId: "loop", attempt: 1, loopIndex: 0, status: "completed", durationMs: 5 },
    { stepId: "loop", attempt: 1, loopIndex: 1, status: "completed", durationMs: 5 },
  ],
});
const names = namesRecord([
  ["translate", "翻訳して要約する長いステップの名前です"],
  ["emoji", "🚀🚀🚀 launch the rockets and then some more text"],
  ["loop", "Summarize every chunk of the document"],
]);

function table(width: number | undefined, ascii = false): string {
  const state = offlineState({ trace, names, attempts: new Map(), executionId: "exec-1", flow: "o/p/s", exportedAt: null });
  const summary = buildSummary(state, { executionId: "exec-1", flow: "o/p/s", costWithRetriesUsd: null });
  return renderSummaryTable(state, summary, createStyle({ color: false, ascii }), width);
}

describe("summary table width", () => {
  it.each([120, 100, 80, 60, 45, 40, 30, 20])("fits %i columns, counting wide characters as two cells", (width) => {
    const lines = table(width).trimEnd().split("\n");
    for (const line of lines) expect(displayWidth(line), line).toBeLessThanOrEqual(width);
    // Every step keeps a line, and the totals are all there.
    expect(lines.filter((line) => /^ *\d+ {2}/.test(line))).toHaveLength(3);
    expect(lines.join(" ")).toMatch(/total:/);
  });

  it("keeps the whole table (names cut at 40 cells) when the width is unknown (a pipe)", () => {
    const text = table(undefined);
    expect(text).toContain("claude-sonnet-4-2025051…");
    expect(text).toMatch(/tokens 131,346 \(prompt 123,456, completion 7,890\), cost \$0\.123457/);
  });

  it("truncate cuts by cells and marks the cut", () => {
    expect(truncate("翻訳して要約", 7, "…")).toBe("翻訳し…");
    expect(displayWidth(truncate("🚀🚀🚀🚀", 5, "..."))).toBeLessThanOrEqual(5);
    expect(truncate("short", 10, "…")).toBe("short");
  });
});

describe("summary table of a large run", () => {
  it("prints 200,000 steps (column widths were a Math.max over a spread, past the stack's argument limit)", () => {
    const steps = Array.from({ length: 200_000 }, (_, i) => ({ stepId: `s${i}`, attempt: 1, status: "completed", durationMs: i, costUsd: "0.01" }));
    const big = Trace.parse({ flowRun: { id: "run-big", status: "completed" }, steps });
    const state = offlineState({ trace: big, names: namesRecord([]), attempts: new Map(), executionId: "e", flow: "o/p/s", exportedAt: null });
    const summary = buildSummary(state, { executionId: "e", flow: "o/p/s", costWithRetriesUsd: null });
    const style = createStyle({ color: false, ascii: true });
    const text = renderSummaryTable(state, summary, style, 100);
    const lines = text.trimEnd().split("\n");
    expect(lines.filter((line) => /^ *\d+ {2}/.test(line))).toHaveLength(200_000);
    expect(lines.at(-1)).toMatch(/cost \$2000\b/);
    // Written in pieces of about a megabyte, each ending with a whole line: never the whole text at once.
    const pieces: string[] = [];
    writeSummaryTable(state, summary, style, 100, (piece) => pieces.push(piece));
    expect(pieces.length).toBeGreaterThan(5);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThan(1.1 * 2 ** 20);
      expect(piece.endsWith("\n") || piece === pieces.at(-1)).toBe(true);
    }
    expect(pieces.join("")).toBe(text);
  });

  it("columnWidths: the title or the widest cell of each column", () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [String(i), i === 7 ? "翻訳" : "x"]);
    expect(columnWidths(["#", "name"], rows)).toEqual([6, 4]);
  });
});
