// Test helpers for the screen: render <App> with ink-testing-library at a chosen terminal
// size, feed MonitorSignals through a real run store, press keys, wait for frames.
import { render } from "ink-testing-library";
import type { ReceivedEvent } from "../../src/api/signals.js";
import type { TraceEvent } from "../../src/api/schemas.js";
import { initialRunState } from "../../src/state/reducer.js";
import type { RunAction } from "../../src/state/types.js";
import { App } from "../../src/ui/App.js";
import { createRunStore, type RunStore } from "../../src/ui/runStore.js";
import type { TraceSource } from "../../src/ui/source.js";

/** Lets Ink read stdin, render and run effects (an Esc alone waits one setImmediate). */
export function tick(ms = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` until it holds (effects run asynchronously); fails after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick(10);
  }
}

export const KEYS = {
  up: "\x1b[A",
  down: "\x1b[B",
  right: "\x1b[C",
  left: "\x1b[D",
  pageUp: "\x1b[5~",
  pageDown: "\x1b[6~",
  home: "\x1b[H",
  end: "\x1b[F",
  enter: "\r",
  escape: "\x1b",
  backspace: "\x7f",
  tab: "\t",
  ctrlC: "\x03",
} as const;

/** A source for screens that never open the detail: any call is a test failure. */
export const NO_SOURCE: TraceSource = {
  live: true,
  loadAttempts: () => Promise.reject(new Error("no attempts in this test")),
  reloadTrace: () => Promise.reject(new Error("no trace in this test")),
  exportTrace: () => Promise.reject(new Error("no export in this test")),
};

export interface Screen {
  readonly store: RunStore;
  /** The last frame written by Ink (debug mode: one whole frame per render). */
  frame(): string;
  lines(): string[];
  frameCount(): number;
  /** Writes to stdin as one chunk, then waits for the frame it causes (at most 500 ms). */
  press(data: string): Promise<void>;
  /** Pushes actions through the store and flushes them like the timer would. */
  feed(...actions: RunAction[]): Promise<void>;
  /** Polls until a frame satisfies `predicate` (fails with the last frame after `timeoutMs`). */
  waitFor(predicate: (frame: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Changes the terminal size and emits 'resize', as a terminal would. */
  resize(columns: number, rows: number): Promise<void>;
  quits(): number;
  unmount(): void;
}

export async function renderScreen(
  opts: {
    columns?: number;
    rows?: number;
    ascii?: boolean;
    color?: boolean;
    source?: TraceSource;
    store?: RunStore;
    notice?: string | null;
    tickMs?: number;
  } = {},
): Promise<Screen> {
  const store = opts.store ?? createRunStore(initialRunState("exec-1"));
  let quits = 0;
  const app = render(
    <App
      store={store}
      source={opts.source ?? NO_SOURCE}
      flowLabel="demo/playground/essay-pipeline"
      executionId="exec-1"
      ascii={opts.ascii ?? false}
      color={opts.color ?? false}
      onQuit={() => {
        quits += 1;
      }}
      notice={opts.notice ?? null}
      {...(opts.tickMs === undefined ? {} : { tickMs: opts.tickMs })}
    />,
  );
  // ink-testing-library's stdout is 100 columns with no rows: set the size, then resize.
  const resize = async (columns: number, rows: number): Promise<void> => {
    Object.defineProperty(app.stdout, "columns", { value: columns, configurable: true });
    Object.defineProperty(app.stdout, "rows", { value: rows, configurable: true });
    app.stdout.emit("resize");
    await tick();
  };
  await resize(opts.columns ?? 100, opts.rows ?? 30);

  const frame = (): string => app.lastFrame() ?? "";
  const screen: Screen = {
    store,
    frame,
    lines: () => frame().split("\n"),
    frameCount: () => app.frames.length,
    async press(data) {
      // Nearly every key commits a new view state, and Ink (debug mode) writes one frame per
      // commit: wait for it. How long that takes varies (a cold JIT, a lone Esc waits a turn).
      const before = app.frames.length;
      app.stdin.write(data);
      const deadline = Date.now() + 500;
      while (app.frames.length === before && Date.now() < deadline) await tick(2);
      await tick(2);
    },
    async feed(...actions) {
      const before = app.frames.length;
      for (const action of actions) store.push(action);
      store.flush();
      const deadline = Date.now() + 500;
      while (app.frames.length === before && Date.now() < deadline) await tick(2);
      await tick(2);
    },
    async waitFor(predicate, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(frame())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${frame()}`);
        await tick(10);
      }
      return frame();
    },
    resize,
    quits: () => quits,
    unmount: () => app.unmount(),
  };
  return screen;
}

let clock = 1_700_000_000_000;

/** Arrival times move forward by `ms` per event. */
export function received(event: TraceEvent, ms = 100): ReceivedEvent {
  clock += ms;
  return { event, at: clock };
}

export function events(...list: TraceEvent[]): RunAction {
  return { type: "stream/events", events: list.map((e) => received(e)) };
}

export const started = (stepId: string, name?: string): TraceEvent => ({
  type: "step_started",
  stepId,
  ...(name === undefined ? {} : { name }),
});

export const completed = (
  stepId: string,
  opts: { durationMs?: number; costUsd?: string; model?: string; prompt?: number; completion?: number } = {},
): TraceEvent => ({
  type: "step_completed",
  stepId,
  durationMs: opts.durationMs ?? 1000,
  costUsd: opts.costUsd ?? "0.001",
  modelUsed: opts.model ?? "gpt-4o-mini",
  tokens: { prompt: opts.prompt ?? 100, completion: opts.completion ?? 50, total: (opts.prompt ?? 100) + (opts.completion ?? 50) },
});

export const failed = (stepId: string, message: string): TraceEvent => ({
  type: "step_error",
  stepId,
  errorMessage: message,
});

export const runStarted = (stepCount: number): TraceEvent => ({
  type: "run_started",
  runId: "run-1",
  executionId: "exec-1",
  stepCount,
});

/** `n` completed steps s1..sn named "Step i", durations i seconds and costs i thousandths. */
export function completedSteps(n: number): RunAction {
  const list: TraceEvent[] = [runStarted(n)];
  for (let i = 1; i <= n; i += 1) {
    list.push(started(`s${String(i)}`, `Step ${String(i)}`));
    list.push(completed(`s${String(i)}`, { durationMs: i * 1000, costUsd: `0.00${String(i)}` }));
  }
  return events(...list);
}

/** The line drawn with the selection marker. */
export function selectedLine(frame: string, marker = "›"): string | undefined {
  return frame.split("\n").find((line) => line.startsWith(marker));
}
