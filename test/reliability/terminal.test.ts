// Signals and the terminal (issue 5), with the built CLI's TUI in a real pseudo-terminal:
// every way out (q, Ctrl+C typed in raw mode, SIGINT, SIGTERM, SIGHUP, an uncaught error)
// leaves the terminal restored (raw mode off, cursor shown, colours reset) with the
// documented exit status; a dropped connection (the terminal closed under the program,
// as an SSH disconnect does) ends the program promptly, in the TUI and in plain output.
import { readFileSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAIN, ensureBuilt } from "../cli/helpers.js";
import { pidImport, ptyAvailable, spawnInPty, type PtyEnd, type PtyProcess } from "../helpers/pty.js";
import { sseStream, type SseServer } from "../helpers/sseServer.js";
import { ENV, RUN, SECRET_KEY, closeServers, runScript, serve, watchArgs } from "./support.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

const EPILOGUE = Buffer.from("\r\n[pty: exit ");
const TERMINAL_ENV = { ...ENV, TERM: "xterm-256color", LANG: "C.UTF-8" };

/** A run still going: the history so far, then the stream stays open (progress every 50 ms). */
async function runningServer(): Promise<SseServer> {
  const progress = "event: step_progress\ndata: {\"stepId\":\"grade\",\"message\":\"working\"}\n\n";
  return serve(
    runScript(RUN, {
      streams: [sseStream([{ write: RUN.frames.slice(0, 5).join("") }, { trickle: progress.repeat(2000), size: progress.length, everyMs: 50 }])],
    }),
  );
}

function tuiCommand(server: SseServer, format: "tui" | "plain", hook = ""): string[] {
  const args = watchArgs(server.baseUrl).map((arg) => (arg === "ndjson" ? format : arg));
  return ["node", pidImport(hook), MAIN, ...args];
}

/** The program's own output (without the pty epilogue). */
function programOutput(pty: PtyProcess): Buffer {
  const all = pty.output();
  const end = all.lastIndexOf(EPILOGUE);
  return end === -1 ? all : all.subarray(0, end);
}

/** Whether any SGR attribute (colour, bold, reverse...) is still on at the end of `text`. */
function attributesLeftOn(text: string): string[] {
  const on = new Set<string>();
  const OFF: Record<number, string[]> = { 22: ["bold", "dim"], 23: ["italic"], 24: ["underline"], 25: ["blink"], 27: ["reverse"], 28: ["hidden"], 29: ["strike"], 39: ["fg"], 49: ["bg"] };
  const ON: Record<number, string> = { 1: "bold", 2: "dim", 3: "italic", 4: "underline", 5: "blink", 7: "reverse", 8: "hidden", 9: "strike" };
  for (const match of text.matchAll(/\x1b\[([0-9;:]*)m/g)) {
    const codes = (match[1] ?? "").split(";").map((code) => (code === "" ? 0 : Number(code)));
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i] ?? 0;
      if (code === 0) on.clear();
      else if (ON[code] !== undefined) on.add(ON[code]);
      else if (OFF[code] !== undefined) for (const name of OFF[code]) on.delete(name);
      else if ((code >= 30 && code <= 38) || (code >= 90 && code <= 97)) on.add("fg");
      else if ((code >= 40 && code <= 48) || (code >= 100 && code <= 107)) on.add("bg");
      // 38;5;n and 38;2;r;g;b carry their colour in the next codes.
      if (code === 38 || code === 48) i += codes[i + 1] === 5 ? 2 : 4;
    }
  }
  return [...on];
}

function expectRestored(pty: PtyProcess, end: PtyEnd): void {
  const text = programOutput(pty).toString("utf8");
  // The TUI did take the terminal over (so the checks below can fail).
  expect(text).toContain("\x1b[?25l");
  expect(end.sttyAfter, "stty -a after the program").not.toBeNull();
  const modes = (end.sttyAfter ?? "").split(/[\s;]+/);
  expect(modes).toContain("icanon");
  expect(modes).toContain("echo");
  expect(modes).not.toContain("-icanon");
  const cursor = [...text.matchAll(/\x1b\[\?25([hl])/g)].map((m) => m[1]);
  expect(cursor.at(-1)).toBe("h");
  expect(attributesLeftOn(text)).toEqual([]);
}

async function startTui(hook = ""): Promise<{ pty: PtyProcess; pid: number }> {
  const server = await runningServer();
  const pty = spawnInPty(tuiCommand(server, "tui", hook), { env: TERMINAL_ENV });
  const pid = await pty.pid();
  await pty.waitFor((text) => text.includes("acme/proj/flow") && text.includes("Grade"), "the first frame");
  return { pty, pid };
}

describe.runIf(ptyAvailable())("every way out restores the terminal once, with the documented status", () => {
  type Act = (pty: PtyProcess, pid: number) => void;
  const signal =
    (name: NodeJS.Signals): Act =>
    (_pty, pid) => {
      process.kill(pid, name);
    };
  it.each<[string, number, Act]>([
    ["q", 0, (pty) => pty.write("q")],
    ["Ctrl+C typed in raw mode", 130, (pty) => pty.write("\x03")],
    ["SIGINT", 130, signal("SIGINT")],
    ["SIGTERM", 143, signal("SIGTERM")],
    ["SIGHUP", 129, signal("SIGHUP")],
  ])("%s exits %i", async (_way, status, act) => {
    const { pty, pid } = await startTui();
    try {
      act(pty, pid);
      const end = await pty.done;
      expect(end.exitStatus).toBe(status);
      expectRestored(pty, end);
    } finally {
      pty.hangUp();
    }
  });

  it("an uncaught error exits 1 with one redacted line and the terminal restored", async () => {
    // A test hook loaded before the CLI: SIGUSR2 throws from a listener, an uncaught exception.
    const hook = `process.on("SIGUSR2",()=>{throw new Error("boom with "+process.env.NOUKAI_API_KEY)});`;
    const { pty, pid } = await startTui(hook);
    try {
      process.kill(pid, "SIGUSR2");
      const end = await pty.done;
      expect(end.exitStatus).toBe(1);
      expectRestored(pty, end);
      const text = programOutput(pty).toString("utf8");
      expect(text).toContain(`noukai-top: internal error: Error: boom with nk_…${SECRET_KEY.slice(-4)}`);
      expect(text).not.toContain(SECRET_KEY);
    } finally {
      pty.hangUp();
    }
  });
});

/** True once `pid` has exited (gone, or a zombie nobody reaps in this container). */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (exited(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!exited(pid)) process.kill(pid, "SIGKILL");
  return false;
}

describe.runIf(ptyAvailable())("an SSH disconnect: the terminal closes under the program", () => {
  it.each(["tui", "plain"] as const)("%s: the program ends promptly instead of writing to the dead terminal or spinning", async (format) => {
    const server = await runningServer();
    const pty = spawnInPty(tuiCommand(server, format), { env: TERMINAL_ENV });
    const pid = await pty.pid();
    await pty.waitFor((text) => text.includes("Grade"), "output");
    pty.hangUp();
    await pty.done;
    // A bounded wait, not a speed assertion: a process that spins or blocks on the dead terminal never exits.
    expect(await waitForExit(pid, 10_000)).toBe(true);
    // Its streams were closed too: the server saw the connection go.
    await server.waitForRequests("stream", 1);
    for (let i = 0; i < 200 && server.finishedStreams === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(server.finishedStreams).toBe(1);
  });
});
