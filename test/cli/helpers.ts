// Runs the built CLI (dist/cli/main.js) as a child process. `npm test` builds
// first; when run alone (npx vitest run test/cli), ensureBuilt() rebuilds once if
// any source file is newer than dist (a lock directory serialises parallel files).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const MAIN = join(ROOT, "dist", "cli", "main.js");

/** A distinctive key: every test greps stdout and stderr for it. */
export const SECRET_KEY = "nk_cliTestSecret_7f3a9c2e1b5d4a6f8e0c";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtMtime(): number {
  try {
    return statSync(MAIN).mtimeMs;
  } catch {
    return 0;
  }
}

/** A build takes well under this; an older lock was left by a killed process. */
const STALE_LOCK_MS = 120_000;

function lockCreatedAt(lock: string): number {
  try {
    return statSync(lock).mtimeMs;
  } catch {
    return Date.now();
  }
}

export async function ensureBuilt(): Promise<void> {
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const lock = join(ROOT, "dist", ".build-lock");
  for (;;) {
    // While another test file builds (it holds the lock), dist is half written: wait.
    if (!existsSync(lock) && builtMtime() >= newestMtime(join(ROOT, "src"))) return;
    try {
      mkdirSync(lock);
    } catch {
      // A lock left by a killed run would block every later one.
      if (Date.now() - lockCreatedAt(lock) > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    try {
      if (builtMtime() < newestMtime(join(ROOT, "src"))) {
        try {
          // The whole build, as `npm run build`: tsc alone would leave dist/ui/runTui.js unbundled.
          execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "ignore" });
        } catch {
          // tsc emits despite type errors in files other helpers are still writing.
        }
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
    return;
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as raw bytes (for escape-byte checks). */
  readonly stdoutBytes: Buffer;
}

/** A clean environment: no inherited NOUKAI_* or colour settings. */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** Resolves when the process exits. */
  readonly done: Promise<CliResult>;
  /** Resolves once stdout has contained `text`. */
  waitForStdout(text: string): Promise<void>;
  /** Everything written to stdout so far. */
  stdoutText(): string;
}

export function startCli(args: readonly string[], env: Record<string, string>, options: { cwd?: string } = {}): RunningCli {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    out.push(chunk);
    const text = Buffer.concat(out).toString("utf8");
    for (const waiter of waiters.splice(0)) {
      if (text.includes(waiter.text)) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stdoutBytes });
    });
  });
  return {
    child,
    done,
    waitForStdout(text) {
      if (Buffer.concat(out).toString("utf8").includes(text)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ text, resolve }));
    },
    stdoutText: () => Buffer.concat(out).toString("utf8"),
  };
}

export function runCli(
  args: readonly string[],
  env: Record<string, string> = cliEnv(),
  options: { cwd?: string } = {},
): Promise<CliResult> {
  return startCli(args, env, options).done;
}

/** Bytes a terminal would act on: C0 except \n, DEL, C1 (UTF-8 C2 80-9F), and raw bidi controls. */
export function controlBytes(bytes: Buffer): string[] {
  const found: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if ((b < 0x20 && b !== 0x0a) || b === 0x7f) found.push(`0x${b.toString(16)} at ${String(i)}`);
    if (b === 0xc2 && (bytes[i + 1] as number) >= 0x80 && (bytes[i + 1] as number) <= 0x9f) found.push(`C1 at ${String(i)}`);
  }
  const text = bytes.toString("utf8");
  if (/[\u202a-\u202e\u2066-\u2069\u2028\u2029]/.test(text)) found.push("bidi or line separator");
  return found;
}
