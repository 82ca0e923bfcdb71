// Runs a command in a real pseudo-terminal, with util-linux `script` as the terminal:
// its stdin is typed into the terminal, everything the program writes comes back as raw
// bytes. The program runs under `sh`, which sets the terminal size first and, once the
// program has exited, prints its exit status and the terminal's settings (`stty -a`), so
// a test can see whether raw mode was left on. Killing `script` closes the terminal, as
// a dropped SSH connection does: the program gets SIGHUP and EIO on its next write.
//
//   const pty = spawnInPty(["node", "dist/cli/main.js", "demo"], { env, columns: 100, rows: 30 });
//   await pty.waitFor((text) => text.includes("steps"), "the first frame");
//   pty.write("q");
//   const end = await pty.done;   // end.exitStatus, end.sttyAfter, pty.output()
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PtyOptions {
  readonly env: Record<string, string>;
  readonly columns?: number;
  readonly rows?: number;
}

export interface PtyEnd {
  /** The program's exit status as `sh` saw it (128+n when a signal killed it); null when the terminal was killed first. */
  readonly exitStatus: number | null;
  /** `stty -a` of the terminal after the program exited (null when the terminal was killed first). */
  readonly sttyAfter: string | null;
}

export interface PtyProcess {
  /** Every byte written to the terminal so far (by the program, then by `sh`'s epilogue). */
  output(): Buffer;
  /** Types `data` into the terminal. */
  write(data: string): void;
  /** Bytes of output so far: pass it as `after` to wait for what a key press draws. */
  mark(): number;
  /**
   * Polls the output (as UTF-8; from byte `after` on, default 0) until `predicate` holds;
   * fails after `timeoutMs` (default 10 s).
   */
  waitFor(predicate: (text: string) => boolean, what: string, options?: { timeoutMs?: number; after?: number }): Promise<void>;
  /** The program's own pid (written by the program at startup, see pidImport). */
  pid(): Promise<number>;
  /** Closes the terminal the way a dropped connection does (SIGKILL to `script`). */
  hangUp(): void;
  readonly done: Promise<PtyEnd>;
}

/** True when `script` (util-linux) can run a command in a pseudo-terminal here. */
export function ptyAvailable(): boolean {
  const probe = spawnSync("script", ["-qfec", "true", "/dev/null"], { stdio: "ignore" });
  return probe.status === 0;
}

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * A node `--import` argument that writes the process's pid to PTY_PID_FILE, plus any
 * `extra` module source (a test hook, e.g. a signal that throws). Put it before the script.
 */
export function pidImport(extra = ""): string {
  const source = `import{writeFileSync}from"node:fs";writeFileSync(process.env.PTY_PID_FILE,String(process.pid));${extra}`;
  return `--import=data:text/javascript,${encodeURIComponent(source)}`;
}

const EXIT_MARK = "\n[pty: exit ";

export function spawnInPty(command: readonly string[], options: PtyOptions): PtyProcess {
  const dir = mkdtempSync(join(tmpdir(), "noukai-top-pty-"));
  const pidFile = join(dir, "pid");
  const columns = options.columns ?? 100;
  const rows = options.rows ?? 30;
  const shell = [
    `stty rows ${String(rows)} cols ${String(columns)}`,
    `${command.map(quote).join(" ")}`,
    `status=$?`,
    `printf '${EXIT_MARK.replace("\n", "\\n")}%d]\\n' "$status"`,
    `stty -a`,
    `exit "$status"`,
  ].join("; ");
  const child = spawn("script", ["-qfec", shell, "/dev/null"], {
    env: { ...options.env, PTY_PID_FILE: pidFile },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stdin.on("error", () => undefined);
  const output = (): Buffer => Buffer.concat(chunks);

  const done = new Promise<PtyEnd>((resolve) => {
    child.on("close", () => {
      rmSync(dir, { recursive: true, force: true });
      const text = output().toString("utf8");
      const mark = text.lastIndexOf(EXIT_MARK.replace("\n", "\r\n"));
      if (mark === -1) {
        resolve({ exitStatus: null, sttyAfter: null });
        return;
      }
      const after = text.slice(mark + EXIT_MARK.length + 1);
      const status = /^(\d+)\]/.exec(after);
      resolve({ exitStatus: status === null ? null : Number(status[1]), sttyAfter: after.slice(after.indexOf("\n") + 1) });
    });
  });

  return {
    output,
    write: (data) => {
      child.stdin.write(data);
    },
    mark: () => output().length,
    async waitFor(predicate, what, { timeoutMs = 10_000, after = 0 } = {}) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(output().subarray(after).toString("utf8"))) {
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}; last output:\n${output().toString("utf8").slice(-1500)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async pid() {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          const text = readFileSync(pidFile, "utf8");
          if (text !== "") return Number(text);
        } catch {
          // Not written yet.
        }
        if (Date.now() > deadline) throw new Error("the program never wrote its pid");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    hangUp: () => {
      child.kill("SIGKILL");
    },
    done,
  };
}
