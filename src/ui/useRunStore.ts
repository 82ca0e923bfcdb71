// React bindings: the run store, the 1 Hz clock, the terminal size, when a value appeared.
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { RunState } from "../state/types.js";
import type { RunStore } from "./runStore.js";

/** The run state as of the store's last flush; re-renders at most once per flush. */
export function useRunState(store: RunStore): RunState {
  return useSyncExternalStore(store.subscribe, store.getState);
}

/**
 * Re-renders once a second while `ticking` (a running run: elapsed times move), and
 * not at all otherwise, so an idle finished screen costs nothing. Returns the tick count;
 * the screen reads the time itself when it renders.
 */
export function useClock(ticking: boolean, intervalMs = 1000): number {
  const [ticks, setTicks] = useState(0);
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setTicks((n) => n + 1), intervalMs);
    return () => clearInterval(timer);
  }, [ticking, intervalMs]);
  return ticks;
}

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

function sizeOf(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

/** Ink 6 has no useWindowSize: follow the stream's 'resize' events. */
export function useTerminalSize(stdout: NodeJS.WriteStream): TerminalSize {
  const [size, setSize] = useState(() => sizeOf(stdout));
  useEffect(() => {
    const onResize = (): void => {
      setSize((previous) => {
        const next = sizeOf(stdout);
        return next.columns === previous.columns && next.rows === previous.rows ? previous : next;
      });
    };
    stdout.on("resize", onResize);
    onResize();
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

/** When `value` was first seen (epoch ms), per identity: e.g. when the current reconnect wait began. */
export function useSince(value: unknown): number {
  const seen = useRef<{ value: unknown; at: number } | null>(null);
  if (seen.current === null || seen.current.value !== value) seen.current = { value, at: Date.now() };
  return seen.current.at;
}
