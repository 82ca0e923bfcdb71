// Child processes for the bench: every sample runs in a fresh process, so one side's JIT
// warm-up, heap and RSS never leak into the other's numbers.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GNU_TIME = "/usr/bin/time";
const RSS_REPORTER = fileURLToPath(new URL("./report-rss.mjs", import.meta.url));

function collect(child, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs `node [nodeFlags] <probe> ...args` and returns the probe's last stdout line as JSON.
 * A probe that fails throws with the tail of its stderr.
 */
export async function runProbe(probe, args = [], { env = {}, timeoutMs = 300_000, nodeFlags = ["--expose-gc"] } = {}) {
  const child = spawn(process.execPath, [...nodeFlags, join(ROOT, probe), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { code, signal, stdout, stderr } = await collect(child, timeoutMs, probe);
  const last = stdout.trim().split("\n").pop() ?? "";
  if (code !== 0) throw new Error(`${probe} exited ${code ?? signal}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`${probe} printed no result: ${last.slice(0, 200)}`);
  }
}

/**
 * Runs a node script as a whole command, stdout into a file, and measures its wall time
 * and peak RSS (GNU time's %M when present, else a preloaded reporter of the child's own
 * process.resourceUsage()). Returns {ms, maxRssKb, code, stdout (file text), stderr}.
 */
export async function timeNodeCommand(args, { env = {}, timeoutMs = 300_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "noukai-bench-"));
  const outFile = join(dir, "stdout");
  const rssFile = join(dir, "rss");
  const outFd = openSync(outFile, "w");
  const useGnuTime = existsSync(GNU_TIME);
  const [command, commandArgs] = useGnuTime
    ? [GNU_TIME, ["-f", "%M", "-o", rssFile, process.execPath, ...args]]
    : [process.execPath, ["--import", RSS_REPORTER, ...args]];
  try {
    const started = performance.now();
    const child = spawn(command, commandArgs, {
      cwd: ROOT,
      env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile },
      stdio: ["ignore", outFd, "pipe"],
    });
    const { code, stderr } = await collect(child, timeoutMs, args.join(" "));
    const ms = performance.now() - started;
    const maxRssKb = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop());
    return { ms, maxRssKb, code, stdout: readFileSync(outFile, "utf8"), stderr };
  } finally {
    closeSync(outFd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Spawns a long-lived process (the bench server, a pty wrapper); the caller stops it by pid. */
export function spawnLongLived(command, args, options = {}) {
  return spawn(command, args, { cwd: ROOT, ...options });
}
