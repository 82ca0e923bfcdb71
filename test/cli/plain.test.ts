// The plain format in process: MonitorSignals go through the real reducer into
// PlainOutput, as watch does. Checks what the child-process tests cannot drive
// cheaply: a 1,000-iteration loop, a replay mid-run, and colours on a terminal.
import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/api/schemas.js";
import type { MonitorSignal } from "../../src/api/signals.js";
import { LOOP_PROGRESS_INTERVAL_MS, PlainOutput } from "../../src/cli/format/plain.js";
import { initialRunState, reduceRun } from "../../src/state/reducer.js";
import { buildSummary } from "../../src/state/summary.js";
import type { RunState } from "../../src/state/types.js";

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

class Harness {
  state: RunState = initialRunState("exec-1");
  text = "";
  private nextId = 1;
  readonly output: PlainOutput;

  constructor(options: { color: boolean; ascii: boolean } = { color: false, ascii: false }) {
    this.output = new PlainOutput((chunk) => (this.text += chunk), options);
  }

  signal(signal: MonitorSignal): void {
    this.state = reduceRun(this.state, signal);
    this.output.onSignal(signal, this.state);
  }

  /** One batch of events arriving at `at` with consecutive SSE ids (`fromId` restarts them, for a replay). */
  events(at: number, events: readonly TraceEvent[], fromId?: number): void {
    if (fromId !== undefined) this.nextId = fromId;
    this.signal({ type: "stream/events", events: events.map((event) => ({ event, at, id: String(this.nextId++) })) });
  }

  finish(): void {
    this.output.finish(this.state, buildSummary(this.state, { executionId: "exec-1", flow: "a/b/c", costWithRetriesUsd: null }));
  }

  lines(): string[] {
    return this.text.split("\n").filter((line) => line.startsWith("["));
  }
}

const runStarted: TraceEvent = { type: "run_started", runId: "run-1", executionId: "exec-1", stepCount: 2 };
const start = (stepId: string, name?: string): TraceEvent => ({ type: "step_started", stepId, ...(name === undefined ? {} : { name }) });
const done = (stepId: string, costUsd = "0.001"): TraceEvent => ({ type: "step_completed", stepId, durationMs: 10, costUsd });
const error = (stepId: string, message: string): TraceEvent => ({ type: "step_error", stepId, errorMessage: message });

describe("plain output", () => {
  it("summarises a 1,000-iteration loop instead of a line per iteration", () => {
    const h = new Harness();
    h.signal({ type: "stream/opened", at: T0, resumed: false });
    h.events(T0, [runStarted]);
    // 1,000 iterations, one every 10 ms: 10 s in all.
    for (let i = 0; i < 1000; i++) h.events(T0 + i * 10, [start("chunk", "Chunk"), done("chunk")]);
    h.events(T0 + 10_000, [start("merge", "Merge"), done("merge")]);
    h.events(T0 + 10_001, [{ type: "flow_completed", summary: { status: "completed" } }]);
    h.finish();
    const chunkLines = h.lines().filter((line) => line.includes("Chunk (chunk)"));
    // First iteration, the loop line, a progress line every 5 s, the end.
    expect(chunkLines.length).toBeLessThanOrEqual(2 + 10_000 / LOOP_PROGRESS_INTERVAL_MS + 1);
    expect(chunkLines.at(-1)).toMatch(/Chunk \(chunk\) loop completed: 1000 iterations, .*\$1\.00$/);
    expect(chunkLines.some((line) => /loop: iteration \d+ (running|completed) \(\d+ done, /.test(line))).toBe(true);
    // The loop's end comes before the next step's line.
    const lines = h.lines();
    expect(lines.findIndex((l) => l.includes("loop completed"))).toBeLessThan(lines.findIndex((l) => l.includes("Merge (merge)")));
  });

  it("prints nothing twice when a reconnect replays the history, and goes on after it", () => {
    const h = new Harness();
    const history: TraceEvent[] = [runStarted, start("a", "Alpha"), done("a"), start("b", "Beta"), error("b", "flaky")];
    h.signal({ type: "stream/opened", at: T0, resumed: false });
    h.events(T0 + 1, history, 1);
    const before = h.lines().length;
    h.signal({ type: "stream/closed", reason: "connection lost: socket hang up", at: T0 + 2 });
    h.signal({ type: "stream/reconnecting", attempt: 2, delayMs: 1500, reason: "connection lost", at: T0 + 3 });
    h.signal({ type: "stream/opened", at: T0 + 1500, resumed: false });
    // The replay arrives in a different chunking.
    h.events(T0 + 1501, history.slice(0, 2), 1);
    h.events(T0 + 1502, history.slice(2), 3);
    h.events(T0 + 1503, [start("b", "Beta"), done("b"), { type: "flow_completed", summary: { status: "completed" } }]);
    h.finish();
    const lines = h.lines().map((line) => line.replace(/^\[[^\]]*\] /, ""));
    expect(lines.slice(before)).toEqual([
      "! connection lost: socket hang up",
      "! reconnecting in 1.5 s (attempt 2)",
      "! reconnected; replaying the run's history",
      "↻ Beta (b) retry: attempt 2",
      "✓ Beta (b) completed in 10ms, $0.001",
      "■ run completed in 1.5s, 2/2 steps done",
    ]);
    expect(lines.slice(0, before)).toEqual([
      "■ run started (2 steps)",
      "✓ Alpha (a) completed in 10ms, $0.001",
      "✗ Beta (b) failed (attempt 1): flaky",
    ]);
  });

  it("times lines from the run's start as [mm:ss.d]", () => {
    const h = new Harness();
    h.events(T0, [runStarted]);
    h.events(T0 + 72_345, [start("a")]);
    expect(h.lines()).toEqual(["[00:00.0] ■ run started (2 steps)", "[01:12.3] ▶ a started"]);
  });

  it("colours only when asked (a terminal without NO_COLOR), and --ascii has ASCII glyphs", () => {
    const plain = new Harness({ color: false, ascii: true });
    const coloured = new Harness({ color: true, ascii: false });
    for (const h of [plain, coloured]) {
      h.events(T0, [runStarted, start("a"), done("a"), start("b"), error("b", "bad")]);
      h.events(T0 + 5, [{ type: "flow_completed", summary: { status: "failed" } }]);
      h.finish();
    }
    expect(plain.text).not.toContain("\u001b");
    expect([...plain.text].every((c) => c.charCodeAt(0) < 0x7f)).toBe(true);
    expect(plain.text).toContain("x b failed (attempt 1): bad");
    expect(coloured.text).toContain("\u001b[31m✗\u001b[0m b failed (attempt 1): bad");
  });

  it("neutralises server text in every field it prints", () => {
    const h = new Harness();
    const hostile = "\u001b]0;title\u0007\r\u202e\u009b";
    h.events(T0, [
      runStarted,
      start(`id${hostile}`, `name${hostile}`),
      { type: "step_completed", stepId: `id${hostile}`, modelUsed: `model${hostile}`, durationMs: 1 },
      start("b"),
      error("b", `error${hostile}`),
    ]);
    h.signal({ type: "stream/closed", reason: `reason${hostile}`, at: T0 + 1 });
    h.signal({ type: "stream/malformed", count: 2, reason: `bad${hostile}`, at: T0 + 2 });
    h.events(T0 + 3, [{ type: "flow_completed", summary: { status: "failed" } }]);
    h.finish();
    expect(h.text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(h.text.match(/\\x1b\]0;title\\x07/g)?.length).toBeGreaterThanOrEqual(6);
  });
});

describe("summary table", () => {
  function finishedRun(): Harness {
    const h = new Harness();
    h.events(T0, [
      runStarted,
      start("draft-the-long-essay-outline", "Draft a very long outline for the essay, with sections"),
      { type: "step_completed", stepId: "draft-the-long-essay-outline", durationMs: 1234, costUsd: "0.123456", modelUsed: "claude-sonnet-4-20250514", tokens: { prompt: 12_000, completion: 3_456, total: 15_456 } },
      { type: "flow_completed", summary: { status: "completed" } },
    ]);
    return h;
  }

  it("fits a terminal's width: the step column shrinks, then columns drop", async () => {
    const { renderSummaryTable } = await import("../../src/cli/format/table.js");
    const { createStyle } = await import("../../src/cli/format/style.js");
    const h = finishedRun();
    const summary = buildSummary(h.state, { executionId: "exec-1", flow: "a/b/c", costWithRetriesUsd: "0.2" });
    const style = createStyle({ color: false, ascii: false });
    const wide = renderSummaryTable(h.state, summary, style);
    expect(wide).toMatch(/^ *# +step +att +iter +status +duration +model +tokens +cost$/m);
    for (const width of [100, 80, 60]) {
      const text = renderSummaryTable(h.state, summary, style, width);
      for (const line of text.trimEnd().split("\n")) expect([...line].length).toBeLessThanOrEqual(width);
      expect(text).toMatch(/^1 {2}Draft a very [^(]*… /m);
      expect(text).toMatch(/cost with retries \$0\.20/);
    }
    expect(renderSummaryTable(h.state, summary, style, 60)).not.toMatch(/ model /);
  });
});
