// Every exit status of noukai-top, in one place (README "Exit status" mirrors this).

export const EXIT = {
  /** The watched run completed (or `serve` stopped on SIGINT/SIGTERM). */
  COMPLETED: 0,
  /** A bug: an uncaught error. Nothing else uses 1. */
  BUG: 1,
  /** Usage or configuration error (bad flag, missing key, bad flow ref). */
  USAGE: 2,
  /** Cannot monitor: 401, 403, 404, or no contact for longer than --give-up-after. */
  CANNOT_MONITOR: 3,
  /**
   * The same status for the other commands' inputs and outputs: a run that cannot be
   * fetched (export, diff), a file that cannot be read or parsed (view, replay, diff) or
   * written (export, --record).
   */
  CANNOT_READ_OR_WRITE: 3,
  /** The watched run failed. */
  RUN_FAILED: 4,
  /** The watched run was cancelled. */
  RUN_CANCELLED: 5,
  /** 128 + signal number, as shells report a process ended by that signal. */
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
  /** stdout was closed by the reader (`| head`): 128 + SIGPIPE, as if killed by it. */
  BROKEN_PIPE: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Exit status for a run's final status; null when the run did not end. */
export function exitCodeForRunStatus(status: string): ExitCode | null {
  switch (status) {
    case "completed":
      return EXIT.COMPLETED;
    case "failed":
      return EXIT.RUN_FAILED;
    case "cancelled":
      return EXIT.RUN_CANCELLED;
    default:
      return null;
  }
}

/** A usage or configuration problem: main prints `noukai-top: <message>` plus the help hint and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The message line and hint for a usage error (stderr). */
export function usageErrorText(message: string): string {
  return `noukai-top: ${message}\nTry 'noukai-top --help'.\n`;
}
