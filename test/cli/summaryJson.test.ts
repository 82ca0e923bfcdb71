import { describe, expect, it } from "vitest";
import { writeSummaryJson } from "../../src/cli/format/summaryJson.js";
import type { Summary, SummaryStep } from "../../src/state/summary.js";

const SUMMARY: Summary = {
  type: "summary",
  executionId: "exec-1",
  runId: "run-1",
  flow: "o/p/s",
  status: "completed",
  startedAt: "2026-06-01T12:00:00.000Z",
  completedAt: "2026-06-01T12:00:01.000Z",
  durationMs: 1000,
  stepCount: 2,
  costUsd: "0.3",
  costWithRetriesUsd: "0.4",
  tokens: { prompt: 1, completion: 2, total: 3 },
  retries: 1,
  failedSteps: 0,
  malformedFrames: 0,
};

function step(i: number, name: string | null = `step ${String(i)}`): SummaryStep {
  return {
    stepId: `s${String(i)}`,
    name,
    attempt: 1,
    loopIndex: null,
    status: "completed",
    durationMs: i,
    modelUsed: "m",
    tokens: { prompt: 1, completion: 2, total: 3 },
    costUsd: "0.1",
  };
}

function written(steps: readonly SummaryStep[], layout: "pretty" | "line"): string[] {
  const pieces: string[] = [];
  writeSummaryJson(SUMMARY, steps, layout, (text) => pieces.push(text));
  return pieces;
}

describe("writeSummaryJson", () => {
  it("line: byte-equal to JSON.stringify of the whole object, then a newline", () => {
    const steps = [step(1), step(2)];
    expect(written(steps, "line").join("")).toBe(`${JSON.stringify({ ...SUMMARY, steps })}\n`);
    expect(written([], "line").join("")).toBe(`${JSON.stringify({ ...SUMMARY, steps: [] })}\n`);
  });

  it("pretty: the fields indented by two spaces, one line per step", () => {
    const steps = [step(1), step(2)];
    const text = written(steps, "pretty").join("");
    expect(JSON.parse(text)).toEqual({ ...SUMMARY, steps });
    const lines = text.split("\n");
    expect(lines.slice(0, 3)).toEqual(["{", '  "type": "summary",', '  "executionId": "exec-1",']);
    expect(lines.slice(-6)).toEqual([
      '  "steps": [',
      `    ${JSON.stringify(steps[0])},`,
      `    ${JSON.stringify(steps[1])}`,
      "  ]",
      "}",
      "",
    ]);
  });

  it("pretty without steps is what JSON.stringify writes", () => {
    expect(written([], "pretty").join("")).toBe(`${JSON.stringify({ ...SUMMARY, steps: [] }, null, 2)}\n`);
  });

  it("writes a large summary in pieces cut between steps, each masked and escaped", () => {
    const key = "nk_live_abcdefghijklmnop";
    // About 200 bytes a step: 20,000 steps are several pieces.
    const steps = Array.from({ length: 20_000 }, (_, i) => step(i, `name ${key} \u009b${"x".repeat(120)}`));
    for (const layout of ["pretty", "line"] as const) {
      const pieces = written(steps, layout);
      expect(pieces.length).toBeGreaterThan(2);
      const text = pieces.join("");
      for (const piece of pieces) {
        expect(piece).not.toContain(key);
        expect(piece).not.toContain("\u009b");
      }
      const parsed = JSON.parse(text) as { steps: SummaryStep[] };
      expect(parsed.steps).toHaveLength(20_000);
      expect(parsed.steps[19_999]?.name).toBe(`name nk_…mnop \u009b${"x".repeat(120)}`);
    }
  });
});
