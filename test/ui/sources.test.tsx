// runTui fed by something other than the live monitor: a saved trace (offline) and a
// stream of signals (a replay), on terminal-like streams; `e` writing the export file.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExportFile } from "../../src/api/exportFile.js";
import type { MonitorSignal } from "../../src/api/signals.js";
import { runTui, type TuiSource } from "../../src/ui/runTui.js";
import { until } from "./harness.js";
import { asStreams, FakeStdin, FakeStdout } from "./fakeTty.js";
import { SAMPLE_ATTEMPTS, SAMPLE_NAMES, SAMPLE_TRACE, T0 } from "./sampleRun.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "noukai-top-ui-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(source: TuiSource, io: { stdin: FakeStdin; stdout: FakeStdout }, signal = new AbortController().signal) {
  return runTui({
    source,
    flowLabel: "demo/playground/essay-pipeline",
    executionId: "exec-1",
    ascii: false,
    color: false,
    signal,
    exportDir: dir,
    ...asStreams(io.stdin, io.stdout),
  });
}

const offline = (attempts = SAMPLE_ATTEMPTS): TuiSource => ({
  kind: "offline",
  trace: SAMPLE_TRACE,
  names: SAMPLE_NAMES,
  attempts,
  flow: "demo/playground/essay-pipeline",
});

describe("runTui with a saved trace (offline)", () => {
  it("shows the run at once, offline and final, with the file's attempts in the detail", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = start(offline(), { stdin, stdout });
    await until(() => stdout.text().includes("Write draft"), "the rows");
    expect(stdout.text()).toContain("□ offline");
    expect(stdout.text()).toContain("steps 5/5");
    // No reload hint: there is nothing live to reload.
    expect(stdout.text()).not.toContain("r reload");
    let mark = stdout.output.length;
    stdin.type("/draft\r\r");
    await until(() => /1 ✗ failed .*INVALID_JSON_OUTPUT/.test(stdout.text(mark)) && stdout.text(mark).includes("2 ✓ completed"), "both attempts");
    mark = stdout.output.length;
    stdin.type("\x1b");
    await until(() => stdout.text(mark).includes("tok p/c"), "the table again");
    mark = stdout.output.length;
    stdin.type("r");
    await until(() => stdout.text(mark).includes("nothing to reload"), "the reload answer");
    stdin.type("q");
    const { state, error, quit } = await done;
    expect({ error, quit }).toEqual({ error: null, quit: "q" });
    expect(state.connection.kind).toBe("offline");
    expect(state.attempts.size).toBe(2);
  });

  it("without the attempts in the file, the detail shows the latest attempt and says so", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = start(offline(new Map()), { stdin, stdout });
    await until(() => stdout.text().includes("Write draft"), "the rows");
    const mark = stdout.output.length;
    stdin.type("/draft\r\r");
    await until(() => stdout.text(mark).includes("latest attempt only"), "the note");
    expect(stdout.text(mark)).toMatch(/2 ✓ completed/);
    expect(stdout.text(mark)).not.toMatch(/1 ✗ failed/);
    stdin.type("\x03");
    expect((await done).quit).toBe("ctrl-c");
  });

  it("e writes <execution-id>.trace.json with the names and attempts, and says where", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = start(offline(), { stdin, stdout });
    await until(() => stdout.text().includes("Write draft"), "the rows");
    stdin.type("e");
    await until(() => stdout.text().includes("wrote "), "the confirmation");
    expect(stdout.text()).toContain("exec-1.trace.json");
    const content = parseExportFile(await readFile(join(dir, "exec-1.trace.json"), "utf8"));
    expect(content.trace.steps).toHaveLength(SAMPLE_TRACE.steps.length);
    expect(content.names).toMatchObject(SAMPLE_NAMES);
    expect([...content.attempts.keys()].sort()).toEqual([...SAMPLE_ATTEMPTS.keys()].sort());
    expect(content.flow).toBe("demo/playground/essay-pipeline");
    // The next key clears the confirmation.
    const mark = stdout.output.length;
    stdin.type("j");
    await until(() => stdout.text(mark).includes("j/k move"), "the key bar");
    stdin.type("q");
    await done;
  });

  it("says why an export fails", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = runTui({
      source: offline(),
      flowLabel: "x",
      executionId: "exec-1",
      ascii: false,
      color: false,
      signal: new AbortController().signal,
      exportDir: join(dir, "no", "such", "dir"),
      ...asStreams(stdin, stdout),
    });
    await until(() => stdout.text().includes("Write draft"), "the rows");
    stdin.type("e");
    await until(() => stdout.text().includes("export failed: ENOENT"), "the error");
    stdin.type("q");
    await done;
  });

  it("without a keyboard, it ends at once", async () => {
    const { state, quit } = await start(offline(), { stdin: new FakeStdin(false), stdout: new FakeStdout(100, 30) });
    expect(quit).toBe("run-ended");
    expect(state.final).toBe(true);
  });
});

describe("runTui with a stream of signals (a replay)", () => {
  const signals = (): MonitorSignal[] => [
    { type: "stream/connecting", attempt: 1, at: T0 },
    { type: "stream/opened", at: T0, resumed: false },
    {
      type: "stream/events",
      events: [
        { event: { type: "run_started", runId: "run-1", executionId: "exec-1", stepCount: 2 }, at: T0 },
        { event: { type: "step_started", stepId: "fetch", name: "Fetch sources" }, at: T0 },
      ],
    },
    { type: "trace/loaded", trace: SAMPLE_TRACE, final: true, at: T0 + 12_000 },
  ];

  it("feeds the signals to the screen, which stays until q and says it is a replay", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    let started = 0;
    const source: TuiSource = {
      kind: "signals",
      async start(onSignal, signal) {
        started += 1;
        for (const s of signals()) {
          signal.throwIfAborted();
          onSignal(s);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
    };
    const done = start(source, { stdin, stdout });
    await until(() => stdout.text().includes("replay ✓ final"), "the replay's end");
    expect(stdout.text()).toContain("Fetch sources");
    // The detail falls back on the last trace the replay loaded.
    const mark = stdout.output.length;
    stdin.type("/grade\r\r");
    await until(() => stdout.text(mark).includes("1 ✓ completed"), "grade's attempt");
    stdin.type("q");
    const { quit, state } = await done;
    expect(quit).toBe("q");
    expect(started).toBe(1);
    expect(state.final).toBe(true);
  });

  it("shows why the source cannot go on, and returns that error", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const source: TuiSource = { kind: "signals", start: () => Promise.reject(new Error("line 3: not JSON")) };
    const done = start(source, { stdin, stdout });
    await until(() => stdout.text().includes("cannot go on: line 3: not JSON"), "the notice");
    stdin.type("q");
    expect((await done).error?.message).toBe("line 3: not JSON");
  });

  it("an abort stops the source and ends the TUI as aborted", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const controller = new AbortController();
    let sourceSignal: AbortSignal | null = null;
    const source: TuiSource = {
      kind: "signals",
      start(_onSignal, signal) {
        sourceSignal = signal;
        return new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      },
    };
    const done = start(source, { stdin, stdout }, controller.signal);
    await until(() => sourceSignal !== null, "the source to start");
    controller.abort();
    const { quit, error } = await done;
    expect({ quit, error }).toEqual({ quit: "aborted", error: null });
    expect(sourceSignal!.aborted).toBe(true);
  });
});
