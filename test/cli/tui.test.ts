// view, replay and demo in a real terminal (a pty): the TUI opens on a saved trace and
// on a replay, --notify rings while the screen is up (once, when the run ends or the watch
// cannot go on), --record
// works under the TUI, and the summary left after the screen fits a narrow terminal.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportFileText } from "../../src/api/exportFile.js";
import { Trace } from "../../src/api/schemas.js";
import { ptyAvailable, spawnInPty, type PtyProcess } from "../helpers/pty.js";
import { displayWidth } from "../../src/cli/format/style.js";
import { reply, startSseServer } from "../helpers/sseServer.js";
import { MAIN, cliEnv, ensureBuilt, runCli } from "./helpers.js";

const TERMINAL_ENV = cliEnv({ TERM: "xterm-256color", LANG: "C.UTF-8", NO_COLOR: "1" });
const BEL = "\u0007";
let dir: string;
let traceFile: string;
let recording: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "noukai-tui-"));
  recording = join(dir, "run.ndjson");
  const demo = await runCli(["demo", "--speed", "100", "--seed", "3", "--format", "json", "--record", recording], cliEnv());
  expect(demo.code).toBe(0);
  // A trace file from the recording's final trace: export needs a server, view only the file.
  traceFile = join(dir, "run.trace.json");
  const lines = readFileSync(recording, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  const traceLine = lines.find((line) => line.type === "trace/loaded") as { trace: unknown };
  writeFileSync(traceFile, exportFileText({ trace: Trace.parse(traceLine.trace), names: { "summarize-chunk": "Summarize chunk" }, flow: "demo/playground/essay-pipeline" }));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the program printed after the screen was cleared: the summary, escape sequences removed. */
function afterScreen(pty: PtyProcess): string[] {
  const text = pty.output().toString("utf8");
  const start = text.lastIndexOf("#  step");
  const end = text.indexOf("[pty: exit", start);
  const plain = text.slice(start, end).replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
  return plain.split(/\r?\n/).filter((line) => line.trim() !== "");
}

describe.runIf(ptyAvailable())("the TUI of view, replay and demo", () => {
  it("view opens a saved trace offline; q leaves a summary that fits a narrow terminal", async () => {
    const pty = spawnInPty(["node", MAIN, "view", traceFile], { env: TERMINAL_ENV, columns: 50, rows: 20 });
    await pty.waitFor((text) => text.includes("offline") && text.includes("Summarize chunk"), "the offline screen");
    pty.write("q");
    const end = await pty.done;
    expect(end.exitStatus).toBe(0);
    const summary = afterScreen(pty);
    expect(summary.join("\n")).toMatch(/total: status completed/);
    for (const line of summary) expect(displayWidth(line), line).toBeLessThanOrEqual(50);
  });

  it("view: Ctrl+C exits 130, as SIGINT would", async () => {
    const pty = spawnInPty(["node", MAIN, "view", traceFile], { env: TERMINAL_ENV });
    await pty.waitFor((text) => text.includes("offline"), "the offline screen");
    pty.write("\u0003");
    expect((await pty.done).exitStatus).toBe(130);
  });

  it("replay plays the recording on the screen and rings once when it is over, before q", async () => {
    const pty = spawnInPty(["node", MAIN, "replay", recording, "--speed", "max", "--notify"], { env: TERMINAL_ENV });
    await pty.waitFor((text) => text.includes("replay") && text.includes("12/12") && text.includes(BEL), "the end of the replay and the bell");
    const bells = pty.output().toString("utf8").split(BEL).length - 1;
    expect(bells).toBe(1);
    pty.write("q");
    const end = await pty.done;
    expect(end.exitStatus).toBe(0);
    expect(pty.output().toString("utf8").split(BEL).length - 1).toBe(1);
    expect(afterScreen(pty).join("\n")).toMatch(/total: status completed, 12\/12 steps done/);
  });

  it("watch --notify: the bell rings when the screen says it cannot monitor, before q; exit 3", async () => {
    const server = await startSseServer({ streams: [reply(404, { detail: { code: "RUN_NOT_FOUND", message: "no such run" } })] });
    try {
      const pty = spawnInPty(["node", MAIN, "exec-1", "--flow", "o/p/s", "--base-url", server.baseUrl, "--notify"], {
        env: { ...TERMINAL_ENV, NOUKAI_API_KEY: "nk_test_tui_notify_0000" },
      });
      await pty.waitFor((text) => text.includes("cannot monitor") && text.includes(BEL), "the error on screen and the bell");
      pty.write("q");
      expect((await pty.done).exitStatus).toBe(3);
      expect(pty.output().toString("utf8").split(BEL).length - 1).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("demo --record --notify under the TUI: the bell rings when the run ends, and the recording replays", async () => {
    const file = join(dir, "tui.ndjson");
    const pty = spawnInPty(["node", MAIN, "demo", "--speed", "100", "--record", file, "--notify"], { env: TERMINAL_ENV });
    await pty.waitFor((text) => text.includes(BEL) && text.includes("final"), "the bell at the end of the run");
    pty.write("q");
    expect((await pty.done).exitStatus).toBe(0);
    expect(pty.output().toString("utf8").split(BEL).length - 1).toBe(1);
    const replayed = await runCli(["replay", file, "--speed", "max", "--format", "json"], cliEnv());
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ type: "summary", status: "completed", stepCount: 12 });
  });
});
