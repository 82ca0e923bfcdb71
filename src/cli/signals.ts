// Process lifecycle: one AbortController for the whole process, the signal
// handlers, the one terminal restore, and the exit path. Every way out of
// noukai-top (run ended, Ctrl+C, kill, hangup, dead stdout, crash) goes through
// `exit`, so the terminal is restored exactly once and output is flushed.
import { EXIT } from "./exit.js";

const SIGNAL_EXIT = { SIGINT: EXIT.SIGINT, SIGTERM: EXIT.SIGTERM, SIGHUP: EXIT.SIGHUP } as const;
export type HandledSignal = keyof typeof SIGNAL_EXIT;

/** A command's own answer to a signal (serve closes its server and exits 0); returns the exit status. */
export type SignalHandler = (signal: HandledSignal) => Promise<number> | number;

export interface Lifecycle {
  /** Aborted on SIGINT/SIGTERM/SIGHUP, on a dead stdout, and before any exit. */
  readonly signal: AbortSignal;
  /** Registers how to restore the terminal (only the TUI sets one). Called at most once. */
  setRestore(restore: () => void): void;
  /** Replaces the default signal behaviour (abort, restore, exit 128+n) for one command. */
  setSignalHandler(handler: SignalHandler | null): void;
  /** Writes to stdout unless it is dead. */
  write(text: string): void;
  /** Writes to stderr, ignoring failures (there is nowhere else to report them). */
  writeError(text: string): void;
  /** Aborts everything, restores the terminal, flushes stdout/stderr and exits. */
  exit(code: number): Promise<never>;
}

export interface LifecycleOptions {
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
  readonly process?: NodeJS.Process;
}

/** How long the exit waits for a blocked stdout (a pipe nobody reads) before leaving anyway. */
const FLUSH_TIMEOUT_MS = 1_000;

/** Waits until a stream has handed everything written so far to the OS, failed, or the timeout passed. */
function flush(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    setTimeout(resolve, FLUSH_TIMEOUT_MS).unref();
    stream.write("", () => resolve());
  });
}

export function installLifecycle(options: LifecycleOptions = {}): Lifecycle {
  const proc = options.process ?? process;
  const stdout = options.stdout ?? proc.stdout;
  const stderr = options.stderr ?? proc.stderr;
  const controller = new AbortController();
  let restore: (() => void) | null = null;
  let restored = false;
  let signalHandler: SignalHandler | null = null;
  let stdoutDead = false;

  const restoreOnce = (): void => {
    if (restored || restore === null) return;
    restored = true;
    // The terminal is gone when stdout is dead: writing the restore sequence would only fail again.
    if (stdoutDead) return;
    try {
      restore();
    } catch {
      // Restoring is best effort on the way out.
    }
  };

  let exiting: Promise<never> | null = null;
  /** The first caller's status wins: a command returning after a signal's abort must not replace 130. */
  const exit = (code: number): Promise<never> => {
    exiting ??= (async () => {
      controller.abort();
      restoreOnce();
      if (!stdoutDead) await flush(stdout);
      await flush(stderr);
      proc.exit(code);
      // process.exit does not return; this keeps the type honest under a mocked process.
      return new Promise<never>(() => {});
    })();
    return exiting;
  };

  const onSignal = (name: HandledSignal): void => {
    // A second signal while a handler runs (or while exiting) ends at once.
    if (exiting !== null || controller.signal.aborted) {
      proc.exit(SIGNAL_EXIT[name]);
      return;
    }
    controller.abort();
    const handler = signalHandler;
    if (handler === null) {
      void exit(SIGNAL_EXIT[name]);
      return;
    }
    Promise.resolve()
      .then(() => handler(name))
      .then(
        (code) => exit(code),
        () => exit(SIGNAL_EXIT[name]),
      );
  };
  for (const name of Object.keys(SIGNAL_EXIT) as HandledSignal[]) proc.on(name, () => onSignal(name));

  // EPIPE (`| head` closed the pipe) or EIO (the SSH session or terminal is gone):
  // stop writing, abort everything, and leave without touching the dead stream.
  stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (stdoutDead) return;
    stdoutDead = true;
    void exit(error.code === "EPIPE" ? EXIT.BROKEN_PIPE : EXIT.SIGHUP);
  });
  stderr.on("error", () => {
    // Nothing can report a broken stderr; the exit status still tells.
  });

  return {
    signal: controller.signal,
    setRestore(fn) {
      restore = fn;
    },
    setSignalHandler(handler) {
      signalHandler = handler;
    },
    write(text) {
      if (!stdoutDead && !stdout.destroyed) stdout.write(text);
    },
    writeError(text) {
      if (!stderr.destroyed) stderr.write(text);
    },
    exit,
  };
}
