// runTui end to end in-process: the embedded server, the real client and monitor, Ink on
// terminal-like streams. Quitting, aborting, a run that ends with no keyboard, a run that
// cannot be monitored, and the terminal restore.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExportFile } from "../../src/api/exportFile.js";
import { TraceClient } from "../../src/api/client.js";
import type { FlowRef } from "../../src/api/paths.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { runTui, type RunTuiOptions } from "../../src/ui/runTui.js";
import { armTerminalRestore, restoreTerminal } from "../../src/ui/terminal.js";
import { until } from "./harness.js";
import { asStreams, FakeStdin, FakeStdout } from "./fakeTty.js";

const GRADE3: FlowRef = { org: "acme", project: "spelling", slug: "grade-3" };
const ESSAY: FlowRef = { org: "demo", project: "playground", slug: "essay-pipeline" };

let server: RunningServer;
let client: TraceClient;
let exportDir: string;

beforeAll(async () => {
  server = await startServer({ port: 0, speed: 50, seed: 11 });
  client = new TraceClient({ baseUrl: server.url, apiKey: "nk_test_tui_key", backoffScale: 0.001 });
  exportDir = await mkdtemp(join(tmpdir(), "noukai-top-tui-"));
});

afterAll(async () => {
  await client.close();
  await server.close();
  await rm(exportDir, { recursive: true, force: true });
});

function start(
  flow: FlowRef,
  executionId: string,
  io: { stdin: FakeStdin; stdout: FakeStdout },
  signal = new AbortController().signal,
  openClient = () => Promise.resolve(client),
): ReturnType<typeof runTui> {
  const opts: RunTuiOptions = {
    openClient,
    flow,
    flowLabel: `${flow.org}/${flow.project}/${flow.slug}`,
    executionId,
    ascii: false,
    color: false,
    idleTimeoutMs: 5_000,
    giveUpAfterMs: 5_000,
    signal,
    exportDir,
    ...asStreams(io.stdin, io.stdout),
  };
  return runTui(opts);
}

describe("runTui", () => {
  it("shows the run live, stays after it ends, opens the retried step, and q quits restoring the terminal", async () => {
    const executionId = await server.submitRun("acme/spelling/grade-3");
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = start(GRADE3, executionId, { stdin, stdout });
    await until(() => stdout.text().includes("Spell check"), "the first rows");
    await until(() => stdout.text().includes("✓ final"), "the final trace", 15_000);
    expect(stdin.isRaw).toBe(true);

    // The screen stays: open the retried step through the filter, in one chunk of keys.
    const mark = stdout.output.length;
    stdin.type("/spell\r\r");
    await until(() => /1 ✗ failed/.test(stdout.text(mark)) && /2 ✓ completed/.test(stdout.text(mark)), "both attempts");
    expect(stdout.text(mark)).toContain("RATE_LIMITED");

    stdin.type("q");
    const { state, error, quit } = await done;
    expect(error).toBeNull();
    expect(quit).toBe("q");
    expect(state.final).toBe(true);
    expect(state.status).toBe("completed");
    expect(state.steps.get("spell-check")?.attempt).toBe(2);
    expect(stdin.isRaw).toBe(false);
    expect(stdout.output.endsWith("\x1b[0m\x1b[?25h")).toBe(true);
    // The live area was erased: the last write erases the frame's lines and draws nothing.
    const lastWrite = stdout.output.lastIndexOf("\x1b[?2026h");
    expect(stdout.output.slice(lastWrite)).toContain("\x1b[2K\x1b[1A");
    expect(stdout.text(lastWrite).trim()).toBe("");
  });

  it("Ctrl+C quits while the run is still going", async () => {
    const executionId = await server.submitRun("demo/playground/essay-pipeline");
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(80, 24);
    const done = start(ESSAY, executionId, { stdin, stdout });
    await until(() => stdout.text().includes("Load essay"), "the first row");
    stdin.type("\x03");
    const { state, error, quit } = await done;
    expect(error).toBeNull();
    // The CLI exits 130 for it, as for SIGINT.
    expect(quit).toBe("ctrl-c");
    expect(state.final).toBe(false);
    await until(() => server.debugStats().openStreams === 0, "the stream to close");
  });

  it("resolves promptly when the signal aborts", async () => {
    const executionId = await server.submitRun("demo/playground/essay-pipeline");
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const controller = new AbortController();
    const done = start(ESSAY, executionId, { stdin, stdout }, controller.signal);
    await until(() => stdout.text().includes("Load essay"), "the first row");
    controller.abort();
    const { error, quit } = await done;
    expect(error).toBeNull();
    expect(quit).toBe("aborted");
    expect(stdin.isRaw).toBe(false);
    await until(() => server.debugStats().openStreams === 0, "the stream to close");
  });

  it("without a keyboard (stdin not a TTY) ends with the run", async () => {
    const executionId = await server.submitRun("acme/spelling/grade-3");
    const { state, error, quit } = await start(GRADE3, executionId, { stdin: new FakeStdin(false), stdout: new FakeStdout(100, 30) });
    expect(error).toBeNull();
    expect(quit).toBe("run-ended");
    expect(state.final).toBe(true);
    expect(state.retries).toBe(1);
  });

  it("e writes <execution-id>.trace.json: the trace, the names seen and every attempt of the retried step", async () => {
    const executionId = await server.submitRun("acme/spelling/grade-3");
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = start(GRADE3, executionId, { stdin, stdout });
    await until(() => stdout.text().includes("✓ final"), "the final trace", 15_000);
    stdin.type("e");
    await until(() => stdout.text().includes(`${executionId}.trace.json`) && stdout.text().includes("wrote "), "the confirmation");
    const content = parseExportFile(await readFile(join(exportDir, `${executionId}.trace.json`), "utf8"));
    expect(content.executionId).toBe(executionId);
    expect(content.flow).toBe("acme/spelling/grade-3");
    expect(content.names["spell-check"]).toBe("Spell check");
    expect(content.attempts.get("spell-check#")?.map((a) => a.status)).toEqual(["failed", "completed"]);
    stdin.type("q");
    await done;
  });

  it("draws the first frame before it asks for the client, and asks once", async () => {
    const executionId = await server.submitRun("acme/spelling/grade-3");
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const screensAtOpen: string[] = [];
    const done = start(GRADE3, executionId, { stdin, stdout }, undefined, () => {
      screensAtOpen.push(stdout.text());
      return Promise.resolve(client);
    });
    await until(() => stdout.text().includes("✓ final"), "the final trace", 15_000);
    // The retried step's detail asks for its attempts: from the same client.
    const mark = stdout.output.length;
    stdin.type("/spell\r\r");
    await until(() => /1 ✗ failed/.test(stdout.text(mark)) && /2 ✓ completed/.test(stdout.text(mark)), "both attempts");
    stdin.type("q");
    expect((await done).error).toBeNull();
    expect(screensAtOpen).toHaveLength(1);
    expect(screensAtOpen[0]).toContain(executionId);
  });

  it("shows why a run cannot be monitored, and returns that error", async () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = start(GRADE3, "no-such-run", { stdin, stdout });
    await until(() => stdout.text().includes("cannot monitor"), "the error line");
    expect(stdout.text()).toContain("RUN_NOT_FOUND");
    stdin.type("q");
    const { error } = await done;
    expect(error?.message).toContain("RUN_NOT_FOUND");
  });
});

describe("restoreTerminal", () => {
  it("turns raw mode off, shows the cursor and resets SGR once, and only after a TUI took the terminal", () => {
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(80, 24);
    stdin.setRawMode(true);
    restoreTerminal();
    expect(stdin.isRaw).toBe(true);
    armTerminalRestore(asStreams(stdin, stdout));
    restoreTerminal();
    restoreTerminal();
    expect(stdin.isRaw).toBe(false);
    expect(stdout.output).toBe("\x1b[0m\x1b[?25h");
  });

  it("never writes to a terminal that is gone", () => {
    const stdin = new FakeStdin(true);
    const stdout = Object.assign(new FakeStdout(80, 24), { destroyed: true });
    armTerminalRestore(asStreams(stdin, stdout));
    restoreTerminal();
    expect(stdout.output).toBe("");
  });
});
