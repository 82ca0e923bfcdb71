// Entry point of the TUI (the CLI imports it dynamically, so Ink and React load only here).
// Renders the screen, feeds the run store from the source (the monitor on a live run by
// default, a saved trace, or a replay's signals), and resolves when the user quits (q,
// Ctrl+C) or the signal aborts. The screen stays after the run ends until q; when stdin is
// not a terminal (no keys can arrive) it resolves as soon as the source is done.
// On exit the live area is cleared, so only what the CLI prints next (the summary) stays
// in the scrollback.
//
// The first frame comes first: the HTTP client (undici) and the monitor with its schemas
// (zod) are loaded only once it is on the screen, as they take longer to load than the
// screen takes to draw. The build bundles this module with the screen, Ink and React into
// one file (scripts/build.mjs); the CLI takes restoreTerminal from here so that it restores
// the terminal this module armed.
import type { TraceClient } from "../api/client.js";
import type { FlowRef } from "../api/paths.js";
import type { StepTrace, Trace } from "../api/schemas.js";
import type { MonitorSignal } from "../api/signals.js";
import type { RawFrame } from "../api/sse.js";
import { initialRunState } from "../state/reducer.js";
import type { RunState } from "../state/types.js";
import type { AppProps, SourceKind } from "./App.js";
import { createRunStore, type RunStore } from "./runStore.js";
import { createLocalSource, createTraceSource, type TraceSource } from "./source.js";
import { armTerminalRestore, restoreTerminal } from "./terminal.js";
import type { QuitKey } from "./viewReducer.js";

export { restoreTerminal } from "./terminal.js";
// Tells that the bundled Ink draws through the row cache (test/ui/tuiBundle.test.ts).
export { rowCacheFrames } from "./inkRowCache.js";

/** A saved trace (`noukai-top view`): shown at once, connection "offline", nothing live. */
export interface OfflineTuiSource {
  readonly kind: "offline";
  readonly trace: Trace;
  /** Step names by id (the export file's `noukaiTop.names`). */
  readonly names: Readonly<Record<string, string>>;
  /** Every attempt of retried steps by attemptsKey, when the file has them; else the detail shows the latest only. */
  readonly attempts?: ReadonlyMap<string, readonly StepTrace[]>;
  /** `org/project/slug` recorded in the file, if any (written again by `e`). */
  readonly flow?: string | null;
}

/** Anything that produces monitor signals, such as a replay of a recording (`noukai-top replay`). */
export interface SignalsTuiSource {
  readonly kind: "signals";
  /** Feeds `onSignal` until the end (resolve) or until `signal` aborts; a rejection is shown as the watch's error. */
  start(onSignal: (signal: MonitorSignal) => void, signal: AbortSignal): Promise<unknown>;
  /** `org/project/slug` for the export file, if known. */
  readonly flow?: string | null;
}

export type TuiSource = OfflineTuiSource | SignalsTuiSource;

interface TuiCommonOptions {
  /** How the flow is shown in the header (e.g. `org/project/slug`, or a file name). */
  readonly flowLabel: string;
  readonly executionId: string;
  /** No Unicode glyphs or spinners. */
  readonly ascii: boolean;
  /** False for --no-color / NO_COLOR: no colour codes at all. */
  readonly color: boolean;
  readonly signal: AbortSignal;
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  /** Where `e` writes `<execution-id>.trace.json` (default: the working directory). */
  readonly exportDir?: string;
}

/** The default: watch the run live on the server (monitorRun). */
export interface LiveTuiOptions extends TuiCommonOptions {
  readonly source?: undefined;
  /** Makes (or gives) the client; called once, after the first frame is drawn. The caller closes it. */
  readonly openClient: () => Promise<TraceClient>;
  readonly flow: FlowRef;
  readonly idleTimeoutMs: number;
  readonly giveUpAfterMs: number;
  /** Sees every monitor signal before the screen does (--record). */
  readonly onSignal?: (signal: MonitorSignal) => void;
  /** Passed to the monitor: every raw frame as received (--record). */
  readonly onRawFrame?: (raw: RawFrame) => void;
  /** Told when the watch cannot go on, as the screen shows it (--notify rings then, not after q). */
  readonly onCannotMonitor?: (error: Error) => void;
}

export interface SourcedTuiOptions extends TuiCommonOptions {
  readonly source: TuiSource;
}

export type RunTuiOptions = LiveTuiOptions | SourcedTuiOptions;

/**
 * How the TUI ended: `q` or Ctrl+C pressed (the CLI exits 130 for Ctrl+C, as for SIGINT),
 * the options' signal aborted, or the run ended with no keyboard to wait for (stdin not a TTY).
 */
export type TuiQuit = QuitKey | "aborted" | "run-ended";

export interface RunTuiResult {
  /** The run as last shown (final when the run ended and its trace was loaded). */
  readonly state: RunState;
  /** Why the watch could not go on (the monitor's MonitorError, a source's rejection, a rendering bug); null otherwise. */
  readonly error: Error | null;
  readonly quit: TuiQuit;
}

/**
 * React picks its development or production build from NODE_ENV when it is first loaded
 * (the development one is several times slower per frame). Ink, React and the screen are
 * loaded here, after NODE_ENV is settled, and never by the CLI's other paths. (The bundled
 * build holds React's production build only.)
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

interface Feed {
  readonly source: TraceSource;
  readonly kind: SourceKind;
  /** Runs until the run (or the file, or the replay) is done; rejects with the reason it cannot go on. */
  run(signal: AbortSignal): Promise<unknown>;
}

/** The run store's feed and the on-demand source for each kind of TUI source. */
function feedFor(opts: RunTuiOptions, store: RunStore): Feed {
  const { executionId, exportDir } = opts;
  const common = exportDir === undefined ? { executionId, store } : { executionId, store, exportDir };
  if (opts.source === undefined) {
    const { flow } = opts;
    let opened: Promise<TraceClient> | null = null;
    const openClient = (): Promise<TraceClient> => (opened ??= opts.openClient());
    // Keys (the detail's attempts, r, e) use the client too: whichever comes first makes it.
    const client: Pick<TraceClient, "trace" | "stepAttempts"> = {
      trace: async (...args) => (await openClient()).trace(...args),
      stepAttempts: async (...args) => (await openClient()).stepAttempts(...args),
    };
    return {
      kind: "live",
      source: createTraceSource({ ...common, client, flow, flowLabel: opts.flowLabel }),
      run: async (signal) => {
        const [{ monitorRun }, liveClient] = await Promise.all([import("../api/monitor.js"), openClient()]);
        return monitorRun({
          client: liveClient,
          flow,
          executionId,
          signal,
          onSignal: (s) => {
            opts.onSignal?.(s);
            store.push(s);
          },
          idleTimeoutMs: opts.idleTimeoutMs,
          giveUpAfterMs: opts.giveUpAfterMs,
          ...(opts.onRawFrame === undefined ? {} : { onRawFrame: opts.onRawFrame }),
        });
      },
    };
  }
  const source = opts.source;
  if (source.kind === "offline") {
    return {
      kind: "offline",
      source: createLocalSource({ ...common, trace: () => source.trace, flow: source.flow ?? null }),
      run() {
        store.push({ type: "offline/loaded", trace: source.trace, names: source.names });
        for (const [key, attempts] of source.attempts ?? []) {
          const stepId = attempts[0]?.stepId ?? key.slice(0, key.lastIndexOf("#"));
          const loopIndex = attempts[0]?.loopIndex ?? null;
          store.push({ type: "attempts/loaded", stepId, loopIndex, attempts, at: Date.now() });
        }
        return Promise.resolve();
      },
    };
  }
  // A replay: the last trace it loads is what `e` exports and what the detail falls back on.
  let trace: Trace | null = null;
  return {
    kind: "replay",
    source: createLocalSource({ ...common, trace: () => trace, flow: source.flow ?? null }),
    run: (signal) =>
      source.start((s) => {
        if (s.type === "trace/loaded") trace = s.trace;
        store.push(s);
      }, signal),
  };
}

export async function runTui(opts: RunTuiOptions): Promise<RunTuiResult> {
  const { render, screen: appScreen } = await loadScreen();
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const { executionId } = opts;
  const store = createRunStore(initialRunState(executionId));
  const feed = feedFor(opts, store);
  const feedAbort = new AbortController();
  // Keys can only arrive from a terminal; without one, the TUI ends with the run.
  const interactive = stdin.isTTY;

  armTerminalRestore({ stdin, stdout });

  return new Promise<RunTuiResult>((resolve) => {
    let error: Error | null = null;
    let quit: TuiQuit | null = null;
    let feedDone: Promise<unknown> = Promise.resolve();

    const screen = (notice: string | null) =>
      appScreen({
        store,
        source: feed.source,
        sourceKind: feed.kind,
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
      // Not Ink 6.8's incrementalRendering: below a full screen (always, here) it moves the
      // cursor up one line too few, and every frame lands a line lower (seen in tmux).
    });
    let unmounted = false;
    const exited = instance.waitUntilExit().catch((renderError: unknown) => {
      // Ink has unmounted itself after an error thrown while rendering.
      unmounted = true;
      error = renderError instanceof Error ? renderError : new Error(String(renderError));
      finish("run-ended");
    });

    function finish(how: TuiQuit): void {
      if (quit !== null) return;
      quit = how;
      opts.signal.removeEventListener("abort", onAbort);
      feedAbort.abort();
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
        void Promise.allSettled([exited, feedDone]).then(() => {
          restoreTerminal();
          resolve({ state: store.getState(), error, quit: how });
        });
      });
    }

    function onAbort(): void {
      finish("aborted");
    }

    if (opts.signal.aborted) {
      finish("aborted");
      return;
    }
    opts.signal.addEventListener("abort", onAbort, { once: true });

    feedDone = feed.run(feedAbort.signal).then(
      () => {
        store.flush();
        if (!interactive) finish("run-ended");
      },
      (feedError: unknown) => {
        if (feedAbort.signal.aborted) return;
        error = feedError instanceof Error ? feedError : new Error(String(feedError));
        store.flush();
        if (quit !== null) return;
        instance.rerender(screen(`${feed.kind === "live" ? "cannot monitor" : "cannot go on"}: ${error.message}`));
        if (opts.source === undefined) opts.onCannotMonitor?.(error);
        if (!interactive) finish("run-ended");
      },
    );
  });
}
