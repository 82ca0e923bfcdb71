// The timeline (t) and cost (c) views on a finished run with known times and costs, and
// the timeline growing live: bars, order, grouping, expanding a loop, Enter into the same
// detail, narrow terminals and --ascii.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ReceivedEvent } from "../../src/api/signals.js";
import type { TraceEvent } from "../../src/api/schemas.js";
import { initialRunState } from "../../src/state/reducer.js";
import type { RunAction } from "../../src/state/types.js";
import { costLayout } from "../../src/ui/CostView.js";
import { cellsOf, costBreakdown } from "../../src/ui/costModel.js";
import { createRunStore } from "../../src/ui/runStore.js";
import { createLocalSource } from "../../src/ui/source.js";
import { textWidth } from "../../src/ui/text.js";
import { makeTheme } from "../../src/ui/theme.js";
import { timelineLayout } from "../../src/ui/Timeline.js";
import { axisText, formatTick } from "../../src/ui/timeline.js";
import { KEYS, renderScreen, selectedLine, type Screen } from "./harness.js";
import { SAMPLE_ATTEMPTS, SAMPLE_NAMES, SAMPLE_TRACE, T0 } from "./sampleRun.js";

let screen: Screen | null = null;
afterEach(() => {
  screen?.unmount();
  screen = null;
  vi.useRealTimers();
});

/** The sample run loaded as `noukai-top view` loads a file. */
async function openSample(opts: { columns?: number; rows?: number; ascii?: boolean } = {}): Promise<Screen> {
  const store = createRunStore(initialRunState("exec-1"));
  const source = createLocalSource({ executionId: "exec-1", store, trace: () => SAMPLE_TRACE, flow: null });
  screen = await renderScreen({ store, source, ...opts });
  const actions: RunAction[] = [{ type: "offline/loaded", trace: SAMPLE_TRACE, names: SAMPLE_NAMES }];
  for (const [, attempts] of SAMPLE_ATTEMPTS) {
    actions.push({ type: "attempts/loaded", stepId: attempts[0]!.stepId, loopIndex: attempts[0]!.loopIndex ?? null, attempts, at: T0 });
  }
  await screen.feed(...actions);
  return screen;
}

function lineWith(frame: string, text: string): string {
  const line = frame.split("\n").find((l) => l.includes(text));
  expect(line, `a line with ${text}`).toBeDefined();
  return line!;
}

const count = (line: string, glyph: string): number => line.split(glyph).length - 1;

describe("timeline view", () => {
  it("draws each step's attempts on one axis from the run's start to its end", async () => {
    const s = await openSample();
    await s.press("t");
    const frame = s.frame();
    const { barWidth } = timelineLayout(100);
    // 12 s over the bar: ticks every 2 s.
    expect(lineWith(frame, " time")).toContain(axisText({ start: T0, end: T0 + 12_000 }, barWidth).trimEnd());
    expect(lineWith(frame, " time")).toContain("|2s");
    const fetch = lineWith(frame, "Fetch sources");
    expect(count(fetch, "█")).toBe(cellsOf({ units: 2n, scale: 0 }, { units: 12n, scale: 0 }, barWidth));
    expect(fetch).toMatch(/2\.0s$/);
    // The retried step: its failed attempt (2 s) apart from the one that completed (4 s), on one line.
    const draft = lineWith(frame, "Write draft");
    expect(draft).toMatch(/^[ ›]\s*2 Write draft\s+░+█+\s+4\.0s$/);
    expect(count(draft, "░")).toBeGreaterThanOrEqual(Math.floor((barWidth * 2) / 12));
    // It starts where the first step ended (the same cell at most).
    expect(draft.indexOf("░")).toBeGreaterThanOrEqual(fetch.lastIndexOf("█"));
    // The loop on one line, its iterations' bars (with the retried one's failure) drawn on it.
    const loop = lineWith(frame, "Summarize chunk");
    expect(loop).toContain("▸ 3 Summarize chunk ×3");
    expect(loop).toContain("░");
    expect(lineWith(frame, "publish")).toContain("(skipped)");
    expect(frame).toContain("x expand");
  });

  it("x expands a loop into one line per iteration and collapses it again", async () => {
    const s = await openSample();
    await s.press("t");
    await s.press("ggjj");
    expect(selectedLine(s.frame())).toContain("Summarize chunk");
    await s.press("x");
    let frame = s.frame();
    expect(frame).toContain("▾ 3 Summarize chunk");
    for (const i of [0, 1, 2]) expect(frame).toContain(`[${String(i)}]`);
    expect(lineWith(frame, "[1]")).toMatch(/░+█+/);
    expect(lineWith(frame, "[0]")).not.toContain("░");
    await s.press(" ");
    frame = s.frame();
    expect(frame).not.toContain("[1]");
    expect(selectedLine(s.frame())).toContain("Summarize chunk");
  });

  it("Enter on a bar opens the same step detail; Esc comes back to the timeline", async () => {
    const s = await openSample();
    await s.press("t");
    await s.press("ggj");
    await s.press(KEYS.enter);
    let frame = await s.waitFor((f) => f.includes("2 ✓ completed"), "the attempts");
    expect(frame).toContain("Write draft (draft)");
    expect(frame).toMatch(/1 ✗ failed .*INVALID_JSON_OUTPUT/);
    await s.press(KEYS.escape);
    expect(s.frame()).toContain(" time");
    // An iteration's line opens that iteration.
    await s.press("jx");
    await s.press("jj");
    await s.press(KEYS.enter);
    frame = await s.waitFor((f) => f.includes("iteration 1 (2/3"), "iteration 1's detail");
    expect(frame).toMatch(/1 ✗ failed/);
  });

  it("t again, Esc or Left go back to the table", async () => {
    const s = await openSample();
    for (const back of ["t", KEYS.escape, KEYS.left]) {
      await s.press("t");
      expect(s.frame()).toContain(" time");
      await s.press(back);
      expect(s.frame()).toContain("tok p/c");
    }
  });

  it("fits narrow terminals and draws only ASCII with --ascii", async () => {
    const s = await openSample({ columns: 60, rows: 20, ascii: true });
    await s.press("t");
    const frame = s.frame();
    for (const line of frame.split("\n")) expect(textWidth(line)).toBeLessThanOrEqual(60);
    expect(frame.split("\n").length).toBeLessThanOrEqual(19);
    expect(frame).not.toMatch(/[^\x20-\x7e\n]/);
    expect(lineWith(frame, "Write draft")).toMatch(/x+#+/);
    expect(lineWith(frame, "Summarize")).toContain("+ 3 Summarize");
  });

  it("formats ticks and spaces them at least ten cells apart", () => {
    expect([500, 1500, 30_000, 120_000, 270_000, 3_600_000, 5_400_000].map(formatTick)).toEqual([
      "500ms",
      "1.5s",
      "30s",
      "2m",
      "4m30s",
      "1h",
      "1h30m",
    ]);
    const axis = axisText({ start: 0, end: 60_000 }, 60);
    expect(axis).toHaveLength(60);
    expect(axis.startsWith("|0ms")).toBe(true);
    const ticks = [...axis.matchAll(/\|/g)].map((m) => m.index);
    for (let i = 1; i < ticks.length; i += 1) expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThanOrEqual(10);
  });
});

describe("timeline view, live", () => {
  const event = (e: TraceEvent, at: number): ReceivedEvent => ({ event: e, at });

  it("the running step's bar grows with the clock", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0 + 2_000);
    screen = await renderScreen({ tickMs: 10 });
    const s = screen;
    await s.feed(
      { type: "stream/opened", at: T0, resumed: false },
      {
        type: "stream/events",
        events: [
          event({ type: "run_started", runId: "run-1", executionId: "exec-1", stepCount: 2 }, T0),
          event({ type: "step_started", stepId: "a", name: "First" }, T0),
          event({ type: "step_completed", stepId: "a", durationMs: 1000, costUsd: "0.001" }, T0 + 1_000),
          event({ type: "step_started", stepId: "b", name: "Second" }, T0 + 1_000),
        ],
      },
    );
    await s.press("t");
    const early = count(lineWith(s.frame(), "Second"), "▓");
    vi.setSystemTime(T0 + 10_000);
    const frame = await s.waitFor((f) => count(lineWith(f, "Second"), "▓") > early, "the bar to grow");
    // The axis now spans 10 s: the first step's second covers a tenth of it (cells it touches).
    const { barWidth } = timelineLayout(100);
    expect(count(lineWith(frame, "First"), "█")).toBe(Math.ceil(barWidth / 10));
    expect(lineWith(frame, "Second")).toMatch(/9\.0s$/);
  });
});

describe("cost view", () => {
  it("one bar per step, largest first, failed attempts apart, exact amounts and shares", async () => {
    const s = await openSample();
    await s.press("c");
    const frame = s.frame();
    const lines = frame.split("\n");
    const order = ["Write draft", "Fetch sources", "Summarize chunk", "Grade essay", "publish"].map((name) =>
      lines.findIndex((l) => l.includes(name)),
    );
    expect(order.every((index, i) => index > 0 && (i === 0 || index > order[i - 1]!))).toBe(true);
    expect(frame).toContain("by step  cost $0.0073500000001 = $0.0053000000001 + $0.00205 failed  tokens 3,750  1 without cost");
    const draft = lineWith(frame, "Write draft");
    expect(draft).toContain("$0.004");
    expect(draft).toContain("+$0.002 failed");
    expect(draft).toContain("81.6%");
    // Bar lengths from the exact ratios of the whole ($0.0073500000001).
    const breakdown = costBreakdown(s.store.getState(), false);
    const { costBar } = costLayout(100, breakdown, makeTheme({ ascii: false, color: false }));
    const whole = { units: 73500000001n, scale: 13 };
    expect(count(draft, "░")).toBe(cellsOf({ units: 2n, scale: 3 }, whole, costBar));
    expect(count(draft, "█") + count(draft, "░")).toBe(cellsOf({ units: 6n, scale: 3 }, whole, costBar));
    // A tiny cost keeps every digit and still gets a cell.
    const grade = lineWith(frame, "Grade essay");
    expect(grade).toContain("$0.0000000000001");
    expect(count(grade, "█")).toBe(1);
    expect(grade).toContain("0.0%");
    expect(lineWith(frame, "publish")).toContain("—");
  });

  it("m groups the bars by model, failed attempts under the model they ran on", async () => {
    const s = await openSample();
    await s.press("c");
    await s.press("m");
    const frame = s.frame();
    expect(frame).toContain("by model");
    const claude = lineWith(frame, "claude-sonnet-4 (1)");
    expect(claude).toContain("$0.004");
    expect(claude).toContain("+$0.002 failed");
    expect(lineWith(frame, "gpt-4o-mini (2)")).toContain("+$0.00005 failed");
    expect(lineWith(frame, "o4-mini (1)")).toContain("$0.0000000000001");
    expect(frame).toContain("(no model) (1)");
    expect(frame.split("\n").findIndex((l) => l.includes("claude"))).toBeLessThan(frame.split("\n").findIndex((l) => l.includes("gpt-4o-mini")));
    await s.press("m");
    expect(s.frame()).toContain("by step");
  });

  it("Enter opens the selected step's detail; Esc comes back to the cost view", async () => {
    const s = await openSample();
    await s.press("c");
    await s.press("g");
    expect(selectedLine(s.frame())).toContain("Write draft");
    await s.press(KEYS.enter);
    await s.waitFor((f) => f.includes("incl. failed attempts $0.006"), "the detail with the cost of both attempts");
    await s.press(KEYS.escape);
    expect(s.frame()).toContain("by step");
  });

  it("fits 80 columns and draws only ASCII with --ascii", async () => {
    const s = await openSample({ columns: 80, rows: 24, ascii: true });
    await s.press("c");
    const frame = s.frame();
    for (const line of frame.split("\n")) expect(textWidth(line)).toBeLessThanOrEqual(80);
    expect(frame).not.toMatch(/[^\x20-\x7e\n]/);
    expect(lineWith(frame, "Write draft")).toMatch(/#+x+/);
  });
});

describe("snapshot lines in the detail", () => {
  async function openDraftOutput(columns = 100): Promise<Screen> {
    const s = await openSample({ columns });
    await s.press("/draft\r\r");
    await s.waitFor((f) => f.includes("2 ✓ completed"), "the attempts");
    await s.press("o");
    await s.waitFor((f) => f.includes('"draft"'), "the output snapshot");
    return s;
  }

  it("are cut at the screen's edge with a marker, never wrapped", async () => {
    const s = await openDraftOutput();
    const frame = s.frame();
    for (const line of frame.split("\n")) expect(textWidth(line)).toBeLessThanOrEqual(100);
    const draft = lineWith(frame, '"draft"');
    expect(textWidth(draft)).toBe(100);
    expect(draft.endsWith("»")).toBe(true);
    expect(draft.startsWith('  "draft": "a long line')).toBe(true);
    // The rest of the value is not on a line of its own.
    expect(frame).not.toContain('end",');
    expect(frame).toMatch(/col 1\/\d+ \(h\/l\)/);
  });

  it("scroll sideways with l / Right and back with h / Left; Left at the first column goes back", async () => {
    const s = await openDraftOutput();
    await s.press("l");
    let draft = lineWith(s.frame(), "a long line");
    expect(draft.startsWith("«")).toBe(true);
    expect(s.frame()).toContain("col 9/");
    await s.press(KEYS.right);
    expect(s.frame()).toContain("col 17/");
    // To the far right: the end of the value shows, with no marker on the right.
    for (let i = 0; i < 60; i += 1) await s.press("l");
    draft = lineWith(s.frame(), "end");
    expect(draft).toMatch(/end",$/);
    expect(draft.endsWith("»")).toBe(false);
    for (let i = 0; i < 60; i += 1) await s.press("h");
    expect(s.frame()).toContain("col 1/");
    await s.press("l");
    await s.press(KEYS.left);
    expect(s.frame()).toContain("col 1/");
    expect(s.frame()).toContain("Write draft (draft)");
    await s.press(KEYS.left);
    expect(s.frame()).toContain("tok p/c");
  });

  it("keeps wide characters whole at either edge", async () => {
    const { snapshotLine } = await import("../../src/ui/Detail.js");
    const theme = makeTheme({ ascii: false, color: false });
    const cut = snapshotLine("日本語のテキストです", 1, 8, theme);
    expect(cut.left).toBe("«");
    expect(cut.right).toBe("»");
    expect(textWidth(cut.left + cut.text + cut.right)).toBe(8);
    expect(snapshotLine("short", 0, 8, theme)).toEqual({ left: "", text: "short", right: "" });
  });
});

describe("header", () => {
  it("counts the reconnect wait down", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
    screen = await renderScreen({ tickMs: 10 });
    const s = screen;
    await s.feed({ type: "stream/reconnecting", attempt: 2, delayMs: 3000, reason: "socket hang up", at: T0 });
    expect(s.frame()).toContain("reconnecting (attempt 2, in 3s)");
    vi.setSystemTime(T0 + 1_200);
    await s.waitFor((f) => f.includes("in 2s"), "the countdown");
    vi.setSystemTime(T0 + 5_000);
    await s.waitFor((f) => f.includes("in 0s"), "the end of the wait");
  });
});
