// One idempotent terminal restore for every exit path: q, Ctrl+C, an abort, SIGINT/SIGTERM/
// SIGHUP (the CLI's handlers), an uncaught error. Ink restores on a clean unmount; this covers
// the paths where it cannot, and costs nothing when called twice.

const SHOW_CURSOR = "\x1b[?25h";
const RESET_SGR = "\x1b[0m";

interface TerminalStreams {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
}

let armed: TerminalStreams | null = null;

/** Called by runTui when it takes the terminal over; restoreTerminal then has work to do. */
export function armTerminalRestore(streams: TerminalStreams): void {
  armed = streams;
}

/**
 * Raw mode off, cursor shown, SGR attributes reset. Does nothing unless the TUI took the
 * terminal (and nothing the second time). Never writes to a stream that is gone (SSH hangup).
 */
export function restoreTerminal(): void {
  const streams = armed;
  if (streams === null) return;
  armed = null;
  const { stdin, stdout } = streams;
  try {
    if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
  } catch {
    // The terminal may already be gone; nothing left to restore on it.
  }
  if (!stdout.isTTY || stdout.destroyed || !stdout.writable) return;
  try {
    stdout.write(RESET_SGR + SHOW_CURSOR);
  } catch {
    // Same: a dead terminal cannot be restored.
  }
}
