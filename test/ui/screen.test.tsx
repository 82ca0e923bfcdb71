import { afterEach, describe, expect, it } from "vitest";
import { initialRunState } from "../../src/state/reducer.js";
import { KEY_HELP } from "../../src/ui/keymap.js";
import { createRunStore } from "../../src/ui/runStore.js";
import { textWidth } from "../../src/ui/text.js";
import {
  completed,
  completedSteps,
  events,
  failed,
  KEYS,
  renderScreen,
  runStarted,
  selectedLine,
  started,
  tick,
  type Screen,
  until,
} from "./harness.js";

let screen: Screen | null = null;
afterEach(() => {
  screen?.unmount();
  screen = null;
});

async function open(opts: Parameters<typeof renderScreen>[0] = {}): Promise<Screen> {
  screen = await renderScreen(opts);
  return screen;
}

/** Step lines of the table: they start with the selection marker or a space, then the row number. */
function stepLines(frame: string): string[] {
  return frame.split("\n").filter((line) => /^[ ›>]\s*\d+ /.test(line));
}

describe("step table", () => {
  it("shows rows as events arrive and updates them in place", async () => {
    const s = await open();
    expect(s.frame()).toContain("waiting for the first step");
    await s.feed(
      { type: "stream/connecting", attempt: 1, at: 1 },
      { type: "stream/opened", at: 2, resumed: false },
      events(runStarted(3), started("fetch", "Fetch sources")),
    );
    let frame = s.frame();
    expect(frame).toContain("● live");
    expect(frame).toContain("▶ running");
    expect(stepLines(frame)).toHaveLength(1);
    expect(stepLines(frame)[0]).toMatch(/Fetch sources.*▶ running/);
    expect(frame).toContain("steps 0/3");

    await s.feed(events(completed("fetch", { costUsd: "0.0012", model: "gpt-4o" }), started("draft")));
    frame = s.frame();
    expect(stepLines(frame)).toHaveLength(2);
    expect(stepLines(frame)[0]).toMatch(/Fetch sources.*✓ completed.*gpt-4o.*\$0\.0012/);
    expect(stepLines(frame)[1]).toMatch(/draft.*▶ running/);
    expect(frame).toContain("steps 1/3");
    expect(frame).toContain("cost $0.0012");
  });

  it("shows a retry as attempt 2 and counts it in the header", async () => {
    const s = await open();
    await s.feed(events(runStarted(1), started("grade"), failed("grade", "rate limited"), started("grade")));
    const line = stepLines(s.frame())[0] ?? "";
    expect(line).toMatch(/grade\s+2 .*▶ running/);
    expect(s.frame()).toContain("retries 1");
  });

  it("redraws a burst of 10,000 events once or twice, not 10,000 times", async () => {
    const s = await open();
    const before = s.frameCount();
    const n = 5000;
    for (let i = 0; i < n; i += 1) {
      s.store.push(events(started(`s${String(i)}`)));
      s.store.push(events(completed(`s${String(i)}`)));
    }
    await s.waitFor((f) => f.includes(`/${String(n)}`), "all rows");
    await tick(120);
    expect(s.store.getState().steps.size).toBe(n);
    expect(s.store.flushes).toBeLessThanOrEqual(2);
    expect(s.frameCount() - before).toBeLessThanOrEqual(3);
  });

  it("follows the running step, and moving by hand turns follow off", async () => {
    const s = await open();
    await s.feed(completedSteps(5), events(started("s6", "Step 6")));
    expect(selectedLine(s.frame())).toMatch(/Step 6/);
    await s.press("k");
    expect(selectedLine(s.frame())).toMatch(/Step 5/);
    expect(s.frame()).toContain("follow:off");
    await s.feed(events(completed("s6"), started("s7", "Step 7")));
    expect(selectedLine(s.frame())).toMatch(/Step 5/);
    await s.press("f");
    expect(s.frame()).toContain("follow:on");
    expect(selectedLine(s.frame())).toMatch(/Step 7/);
  });

  it("moves the selection with j/k, arrows, g/G, Home/End, PgUp/PgDn, and every key of a chunk", async () => {
    const s = await open({ rows: 20 });
    await s.feed(completedSteps(40));
    expect(selectedLine(s.frame())).toMatch(/Step 40\b/);
    await s.press("g");
    expect(selectedLine(s.frame())).toMatch(/Step 1\b/);
    await s.press("jjj");
    expect(selectedLine(s.frame())).toMatch(/Step 4\b/);
    await s.press(KEYS.down);
    expect(selectedLine(s.frame())).toMatch(/Step 5\b/);
    await s.press(KEYS.up);
    await s.press("k");
    expect(selectedLine(s.frame())).toMatch(/Step 3\b/);
    await s.press(KEYS.pageDown);
    const page = stepLines(s.frame()).length;
    expect(selectedLine(s.frame())).toMatch(new RegExp(`Step ${String(3 + page)}\\b`));
    await s.press(KEYS.pageUp);
    expect(selectedLine(s.frame())).toMatch(/Step 3\b/);
    await s.press("G");
    expect(selectedLine(s.frame())).toMatch(/Step 40\b/);
    await s.press(KEYS.home);
    expect(selectedLine(s.frame())).toMatch(/Step 1\b/);
    await s.press(KEYS.end);
    expect(selectedLine(s.frame())).toMatch(/Step 40\b/);
    await s.press("gjj\x1b[Bk");
    expect(selectedLine(s.frame())).toMatch(/Step 3\b/);
  });

  it("filters by id, name or status: typing edits, Enter keeps, Esc clears", async () => {
    const s = await open();
    await s.feed(
      events(
        runStarted(4),
        started("parse", "Parse input"),
        completed("parse"),
        started("grade", "Grade answers"),
        failed("grade", "boom"),
        started("report"),
        completed("report"),
      ),
    );
    expect(stepLines(s.frame())).toHaveLength(3);
    await s.press("/fai");
    expect(s.frame()).toContain("/fai_");
    expect(stepLines(s.frame())).toHaveLength(1);
    await s.press("l\r");
    expect(stepLines(s.frame())[0]).toMatch(/Grade answers.*failed/);
    expect(s.frame()).toContain('filter "fail"');
    await s.press("/\x7f\x7f\x7f\x7fPARSE\r");
    expect(stepLines(s.frame())).toHaveLength(1);
    expect(stepLines(s.frame())[0]).toMatch(/Parse input/);
    await s.press("/zzz");
    expect(s.frame()).toContain('no step matches "PARSEzzz"');
    await s.press(KEYS.escape);
    expect(stepLines(s.frame())).toHaveLength(3);
    expect(s.frame()).not.toContain('filter "');
    await s.press("/report\r");
    expect(stepLines(s.frame())).toHaveLength(1);
    await s.press(KEYS.escape);
    expect(stepLines(s.frame())).toHaveLength(3);
  });

  it("cycles the sort: flow, duration, cost, tokens", async () => {
    const s = await open();
    await s.feed(
      events(
        runStarted(3),
        started("a", "Alpha"),
        completed("a", { durationMs: 2000, costUsd: "0.5", prompt: 10, completion: 10 }),
        started("b", "Beta"),
        completed("b", { durationMs: 9000, costUsd: "0.1", prompt: 5, completion: 5 }),
        started("c", "Gamma"),
        completed("c", { durationMs: 100, costUsd: "0.2", prompt: 900, completion: 900 }),
      ),
    );
    const names = (): string[] => stepLines(s.frame()).map((l) => /(Alpha|Beta|Gamma)/.exec(l)?.[1] ?? "?");
    expect(names()).toEqual(["Alpha", "Beta", "Gamma"]);
    await s.press("s");
    expect(s.frame()).toContain("sort:duration");
    expect(names()).toEqual(["Beta", "Alpha", "Gamma"]);
    await s.press("s");
    expect(names()).toEqual(["Alpha", "Gamma", "Beta"]);
    await s.press("s");
    expect(names()).toEqual(["Gamma", "Alpha", "Beta"]);
    await s.press("s");
    expect(s.frame()).toContain("sort:flow");
    expect(names()).toEqual(["Alpha", "Beta", "Gamma"]);
  });

  it("? shows every key and closes again", async () => {
    const s = await open({ columns: 140, rows: 40 });
    await s.feed(completedSteps(2));
    await s.press("?");
    const frame = s.frame();
    for (const entry of KEY_HELP) {
      expect(frame).toContain(entry.keys);
      expect(frame).toContain(entry.does);
    }
    await s.press("?");
    expect(stepLines(s.frame())).toHaveLength(2);
    await s.press("?");
    await s.press(KEYS.escape);
    expect(stepLines(s.frame())).toHaveLength(2);
  });

  it("q and Ctrl+C quit; in the filter prompt q is typed", async () => {
    const s = await open();
    await s.press("/q");
    expect(s.quits()).toBe(0);
    await s.press("\r");
    await s.press("q");
    await until(() => s.quits() === 1, "q to quit");
    const again = await renderScreen();
    await again.press(KEYS.ctrlC);
    await until(() => again.quits() === 1, "Ctrl+C to quit");
    again.unmount();
  });

  it("is usable at 80x24: every line fits, at most 23 lines, the main columns are there", async () => {
    const s = await open({ columns: 80, rows: 24 });
    await s.feed(
      events(
        runStarted(2),
        started("summarize_chunks", "Summarize every chunk of the essay"),
        completed("summarize_chunks", { model: "claude-sonnet-4-20250514", costUsd: "0.012345" }),
        started("grade"),
      ),
    );
    const lines = s.lines();
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(80);
    const heading = lines.find((l) => l.includes("status")) ?? "";
    for (const title of ["#", "step", "att", "status", "dur", "cost"]) expect(heading).toContain(title);
    expect(stepLines(s.frame())[0]).toMatch(/Summarize every.*✓ completed.*\$0\.012345/);
  });

  it("narrower terminals drop the lowest-priority columns first", async () => {
    const s = await open({ columns: 60, rows: 24 });
    await s.feed(completedSteps(3));
    const heading = s.lines().find((l) => l.includes("status")) ?? "";
    expect(heading).not.toContain("model");
    expect(heading).toContain("cost");
    for (const line of s.lines()) expect(textWidth(line)).toBeLessThanOrEqual(60);
  });

  it("never draws beyond the terminal height: only the visible rows of 2,000 steps", async () => {
    const s = await open({ columns: 80, rows: 24 });
    await s.feed(completedSteps(2000));
    const lines = s.lines();
    expect(lines.length).toBeLessThanOrEqual(23);
    const rows = stepLines(s.frame());
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThanOrEqual(19);
    expect(s.frame()).toMatch(/\d+-2000\/2000 ↑$/m);
    await s.press("g");
    expect(s.frame()).toMatch(/1-\d+\/2000  ↓/);
  });

  it("follows a resize to a smaller terminal", async () => {
    const s = await open({ columns: 100, rows: 30 });
    await s.feed(completedSteps(100));
    const tall = stepLines(s.frame()).length;
    expect(s.lines().length).toBeLessThanOrEqual(29);
    await s.resize(70, 12);
    expect(s.lines().length).toBeLessThanOrEqual(11);
    expect(stepLines(s.frame()).length).toBeLessThan(tall);
    for (const line of s.lines()) expect(textWidth(line)).toBeLessThanOrEqual(70);
  });

  it("--ascii draws no character outside ASCII", async () => {
    const s = await open({ ascii: true });
    await s.feed(
      { type: "stream/opened", at: 1, resumed: false },
      events(runStarted(3), started("a", "Alpha"), completed("a"), started("b"), failed("b", "x"), started("c")),
    );
    expect(s.frame()).toMatch(/Alpha/);
    expect(s.frame()).not.toMatch(/[^\x00-\x7e]/);
    await s.press("?");
    expect(s.frame()).not.toMatch(/[^\x00-\x7e]/);
  });

  it("neutralises control characters in server strings", async () => {
    const s = await open();
    await s.feed(
      events(
        runStarted(1),
        started("evil\x1b]0;pwned\x07", "name\x1b[31m\r\x9b2J\u202e"),
        completed("evil\x1b]0;pwned\x07", { model: "gpt\x1b]52;c;AAAA\x07" }),
      ),
    );
    const frame = s.frame();
    expect(frame).toContain("name\\x1b[31m");
    expect(frame).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  });

  it("redraws on the clock only while the run is under way", async () => {
    const s = await open({ tickMs: 10 });
    await s.feed({ type: "stream/opened", at: Date.now(), resumed: false }, events(runStarted(1), started("slow")));
    let before = s.frameCount();
    await tick(120);
    expect(s.frameCount() - before).toBeGreaterThanOrEqual(3);
    await s.feed(events(completed("slow"), { type: "flow_completed", summary: { status: "completed" } }), {
      type: "stream/ended",
      at: Date.now(),
    });
    expect(s.frame()).toContain("✓ completed");
    before = s.frameCount();
    await tick(120);
    expect(s.frameCount()).toBe(before);
  });

  it("shows the connection state and a notice line", async () => {
    const s = await open({ notice: "cannot monitor: HTTP 404 RUN_NOT_FOUND" });
    await s.feed({ type: "stream/reconnecting", attempt: 3, delayMs: 4000, reason: "socket hang up", at: 5 });
    expect(s.frame()).toContain("reconnecting (attempt 3, in 4s)");
    expect(s.frame()).toContain("cannot monitor: HTTP 404 RUN_NOT_FOUND");
    await s.feed({ type: "stream/ended", at: 6 });
    expect(s.frame()).toContain("ended");
  });
});

describe("run store", () => {
  it("applies queued actions in one flush per interval", async () => {
    const store = createRunStore(initialRunState("x"), { intervalMs: 20 });
    let notified = 0;
    store.subscribe(() => {
      notified += 1;
    });
    for (let i = 0; i < 1000; i += 1) store.push(events(started(`s${String(i)}`)));
    expect(store.getState().steps.size).toBe(0);
    await tick(1);
    await tick(40);
    expect(store.getState().steps.size).toBe(1000);
    expect(notified).toBe(1);
    store.push(events(started("late")));
    store.flush();
    expect(store.getState().steps.get("late")).toBeDefined();
    expect(notified).toBe(2);
    store.close();
  });
});
