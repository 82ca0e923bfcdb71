// The single owner of the run state while the TUI is up. Monitor signals are queued and
// applied with reduceRun in batches, at most once per `intervalMs` (default 50 ms, about
// 20 frames a second), so a burst of 10,000 events costs one or two redraws, not 10,000.
// React reads it through useSyncExternalStore (useRunStore.ts).
import { reduceRun } from "../state/reducer.js";
import type { RunAction, RunState } from "../state/types.js";

export interface RunStore {
  /** Queues an action; it is applied on the next flush. */
  push(action: RunAction): void;
  /** The state as of the last flush (a new object after every flush that changed it). */
  getState(): RunState;
  subscribe(listener: () => void): () => void;
  /** Applies everything queued now (at the end of a run, before the final frame). */
  flush(): void;
  /** Flushes that applied at least one action (what a burst cost in redraws). */
  readonly flushes: number;
  /** Stops the timer; later pushes are still applied by an explicit flush. */
  close(): void;
}

export interface RunStoreOptions {
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export function createRunStore(initial: RunState, options: RunStoreOptions = {}): RunStore {
  const intervalMs = options.intervalMs ?? 50;
  const now = options.now ?? Date.now;
  let state = initial;
  let queue: RunAction[] = [];
  let timer: NodeJS.Timeout | null = null;
  let lastFlushAt = -Infinity;
  let flushes = 0;
  let closed = false;
  const listeners = new Set<() => void>();

  function flush(): void {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    // reduceRun updates the step table in place and returns a new RunState per action;
    // only the last one is published.
    for (const action of batch) state = reduceRun(state, action);
    lastFlushAt = now();
    flushes += 1;
    for (const listener of listeners) listener();
  }

  return {
    push(action) {
      queue.push(action);
      if (timer !== null || closed) return;
      // The first action after a quiet spell is shown on the next turn of the event loop
      // (every action of the current burst rides along); later ones wait out the interval.
      const wait = Math.max(0, lastFlushAt + intervalMs - now());
      timer = setTimeout(flush, wait);
    },
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    flush,
    get flushes() {
      return flushes;
    },
    close() {
      closed = true;
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    },
  };
}
