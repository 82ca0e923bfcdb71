// Entry point of the live TUI (the CLI imports it dynamically, so Ink and React load only
// here). Renders the screen, runs the monitor into the run store, and resolves when the user
// quits (q, Ctrl+C) or the signal aborts. The screen stays after the run ends until q; when
// stdin is not a terminal (no keys can arrive) it resolves as soon as the monitor is done.
// On exit the live area is cleared, so only what the CLI prints next (the summary) stays
// in the scrollback.
import type { TraceClient } from "../api/client.js";
import { monitorRun } from "../api/monitor.js";
import type { FlowRef } from "../api/paths.js";
import { initialRunState } from "../state/reducer.js";
import type { RunState } from "../state/types.js";
import type { AppProps } from "./App.js";
import { createRunStore } from "./runStore.js";
import { createTraceSource } from "./source.js";
import { armTerminalRestore, restoreTerminal } from "./terminal.js";

export interface RunTuiOptions {
  readonly client: TraceClient;
  readonly flow: FlowRef;
  /** How the flow is shown in the header (e.g. `org/project/slug`). */
  readonly flowLabel: string;
  readonly executionId: string;
  /** No Unicode glyphs or spinners. */
  readonly ascii: boolean;
  /** False for --no-color / NO_COLOR: no colour codes at all. */
  readonly color: boolean;
  readonly idleTimeoutMs: number;
  readonly giveUpAfterMs: number;
  readonly signal: AbortSignal;
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
}

export interface RunTuiResult {
  /** The run as last shown (final when the run ended and its trace was loaded). */
  readonly state: RunState;
  /** Why the watch could not go on (the monitor's MonitorError, or a rendering bug); null otherwise. */
  readonly error: Error | null;
}

/**
 * React picks its development or production build from NODE_ENV when it is first loaded
 * (the development one is several times slower per frame). Ink, React and the screen are
 * loaded here, after NODE_ENV is settled, and never by the CLI's other paths.
 */
async function loadScreen() {
  process.env["NODE_ENV"] ??= "production";
  const [{ render }, { createElement }, { App }] = await Promise.all([
    import("ink"),
    import("react"),
    import("./App.js"),
  ]);
  return { render, screen: (props: AppProps) => createElement(App, props) };
}

export async function runTui(opts: RunTuiOptions): Promise<RunTuiResult> {
  const { render, screen: appScreen } = await loadScreen();
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const { client, flow, executionId } = opts;
  const store = createRunStore(initialRunState(executionId));
  const source = createTraceSource({ client, flow, executionId, store });
  const monitorAbort = new AbortController();
  // Keys can only arrive from a terminal; without one, the TUI ends with the run.
  const interactive = stdin.isTTY;

  armTerminalRestore({ stdin, stdout });

  return new Promise<RunTuiResult>((resolve) => {
    let error: Error | null = null;
    let finished = false;
    let monitorDone: Promise<unknown> = Promise.resolve();

    const screen = (notice: string | null) =>
      appScreen({
        store,
        source,
        flowLabel: opts.flowLabel,
        executionId,
        ascii: opts.ascii,
        color: opts.color,
        onQuit: finish,
        notice,
      });

    const instance = render(screen(null), {
      stdin,
      stdout,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 20,
      // Only the lines that changed are rewritten: a clock tick rewrites two lines, not the screen.
      incrementalRendering: true,
    });
    let unmounted = false;
    const exited = instance.waitUntilExit().catch((renderError: unknown) => {
      // Ink has unmounted itself after an error thrown while rendering.
      unmounted = true;
      error = renderError instanceof Error ? renderError : new Error(String(renderError));
      finish();
    });

    function finish(): void {
      if (finished) return;
      finished = true;
      opts.signal.removeEventListener("abort", finish);
      monitorAbort.abort();
      store.flush();
      store.close();
      // finish() may run inside a React effect (q), where a render cannot commit at once:
      // tear down on the next turn. An empty last frame erases the live area, then Ink
      // lets go of the terminal.
      setImmediate(() => {
        if (!unmounted) {
          instance.rerender(null);
          instance.unmount();
        }
        void Promise.allSettled([exited, monitorDone]).then(() => {
          restoreTerminal();
          resolve({ state: store.getState(), error });
        });
      });
    }

    if (opts.signal.aborted) {
      finish();
      return;
    }
    opts.signal.addEventListener("abort", finish, { once: true });

    monitorDone = monitorRun({
      client,
      flow,
      executionId,
      signal: monitorAbort.signal,
      onSignal: (signal) => store.push(signal),
      idleTimeoutMs: opts.idleTimeoutMs,
      giveUpAfterMs: opts.giveUpAfterMs,
    }).then(
      () => {
        store.flush();
        if (!interactive) finish();
      },
      (monitorError: unknown) => {
        if (monitorAbort.signal.aborted) return;
        error = monitorError instanceof Error ? monitorError : new Error(String(monitorError));
        store.flush();
        if (finished) return;
        instance.rerender(screen(`cannot monitor: ${error.message}`));
        if (!interactive) finish();
      },
    );
  });
}
