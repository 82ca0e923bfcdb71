// noukai-top in a pseudo-terminal (util-linux `script`), as a person runs it: the TUI sees
// a TTY of a fixed size, its output comes back timestamped, keys go in through stdin.
import { readFileSync } from "node:fs";
import { spawnLongLived } from "./proc.mjs";

const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-B]|[=>78MDEHc])/g;

/** Text a person would see in some output bytes (escape sequences and whitespace removed). */
export function visibleText(text) {
  return text.replace(ANSI, "").replace(/\s+/g, "");
}

/**
 * Starts `command` (a shell command line, run with `exec`) in a pty of columns x rows.
 * Returns {child, spawnedAt, firstVisibleAt, output(), exited}; `firstVisibleAt` resolves
 * to the ms from spawn until the output first shows `marker` (whitespace ignored).
 */
export function startInPty(command, { columns = 100, rows = 30, env = {}, marker, timeoutMs = 10_000 }) {
  const spawnedAt = performance.now();
  const child = spawnLongLived("script", ["-qfec", `stty cols ${columns} rows ${rows}; exec ${command}`, "/dev/null"], {
    env: { ...process.env, TERM: "xterm-256color", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  let resolveFirst;
  let timer;
  const firstVisibleAt = new Promise((resolve, reject) => {
    resolveFirst = resolve;
    timer = setTimeout(() => {
      resolveFirst = undefined;
      reject(new Error(`"${marker}" not shown within ${timeoutMs} ms; the screen showed: ${visibleText(output).slice(-200)}`));
    }, timeoutMs);
  });
  child.stdout.setEncoding("utf8").on("data", (data) => {
    output += data;
    if (resolveFirst && visibleText(output).includes(marker)) {
      clearTimeout(timer);
      resolveFirst(performance.now() - spawnedAt);
      resolveFirst = undefined;
    }
  });
  child.stderr.resume();
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  firstVisibleAt.catch(() => {}); // a caller that stops early does not await it
  return { child, spawnedAt, firstVisibleAt, exited, output: () => output };
}

/** The pty's program (script's child, which exec'd the command). */
export function ptyProgramPid(scriptPid) {
  const children = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, "utf8").trim().split(/\s+/);
  if (!children[0]) throw new Error("the pty program is not running");
  return Number(children[0]);
}

/** CPU time (user + system, all threads) of a process in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100; // USER_HZ, fixed at 100 on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Ends a pty session: the key first (how a person quits), then SIGTERM, then SIGKILL, all by pid. */
export async function stopPty(session, key = "q") {
  const timeout = (ms) => new Promise((resolve) => setTimeout(() => resolve("timeout"), ms));
  if (session.child.exitCode !== null || session.child.signalCode !== null) return session.exited;
  session.child.stdin.write(key);
  if ((await Promise.race([session.exited, timeout(3000)])) !== "timeout") return session.exited;
  session.child.kill("SIGTERM");
  if ((await Promise.race([session.exited, timeout(3000)])) !== "timeout") return session.exited;
  session.child.kill("SIGKILL");
  return session.exited;
}
