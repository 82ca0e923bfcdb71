// Loads every attempt of the step (and loop iteration) shown in the detail view. Reloads when
// `refreshKey` changes (the `r` key, or the step's status/attempt moving while the run goes
// on); keeps the previous list on screen while a reload is in flight.
import { useEffect, useState } from "react";
import type { StepTrace } from "../api/schemas.js";
import type { TraceSource } from "./source.js";

export interface AttemptsState {
  readonly status: "loading" | "loaded" | "error";
  readonly attempts: readonly StepTrace[];
  /** False when only the latest attempt of a retried step is known (see LoadedAttempts). */
  readonly complete: boolean;
  /** One line, not yet sanitized. */
  readonly error: string | null;
  /** `r` may load them again (a live source). */
  readonly retryable: boolean;
}

interface Keyed extends AttemptsState {
  readonly key: string;
}

const LOADING: AttemptsState = { status: "loading", attempts: [], complete: true, error: null, retryable: true };

export function useAttempts(
  source: TraceSource,
  target: { readonly stepId: string; readonly loopIndex: number | null } | null,
  refreshKey: string,
): AttemptsState | null {
  const key = target === null ? null : `${target.stepId}#${target.loopIndex ?? ""}`;
  const stepId = target?.stepId ?? null;
  const loopIndex = target?.loopIndex ?? null;
  const [state, setState] = useState<Keyed | null>(null);

  useEffect(() => {
    if (key === null || stepId === null) return;
    const controller = new AbortController();
    source.loadAttempts(stepId, loopIndex, controller.signal).then(
      ({ attempts, complete }) => {
        if (!controller.signal.aborted) setState({ key, status: "loaded", attempts, complete, error: null, retryable: source.live });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        const message = error instanceof Error ? error.message : String(error);
        setState((previous) => ({
          key,
          status: "error",
          attempts: previous?.key === key ? previous.attempts : [],
          complete: previous?.key === key ? previous.complete : true,
          error: message,
          retryable: source.live,
        }));
      },
    );
    return () => controller.abort();
  }, [source, key, stepId, loopIndex, refreshKey]);

  if (key === null) return null;
  return state !== null && state.key === key ? state : LOADING;
}
