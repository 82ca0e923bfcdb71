// Follows one run to its end (issue 2 §4 "Lifecycle", issue 5 "The stream under
// faults"): open the live stream, decode it, report MonitorSignals; when the stream
// ends without a terminal event, drops, or stays silent too long, ask the run
// status and either finish or reconnect with backoff. At the end load the full
// Trace and the attempts of retried steps. Every reconnect replays the whole
// history; rebuilding state from it is the reducer's job (signals say when).
import type { TraceClient, TraceStepSink } from "./client.js";
import { ApiError, isFinal } from "./errors.js";
import type { FlowRef } from "./paths.js";
import { redactSecrets } from "./redact.js";
import { redactError, sanitizeLine } from "./sanitize.js";
import type { StepTrace, Trace } from "./schemas.js";
import type { MonitorSignal, ReceivedEvent } from "./signals.js";
import { createSseDecoder, type RawFrame, type SseBatch } from "./sse.js";
import { sleep } from "./sleep.js";

/** The part of TraceClient the monitor uses (tests and other transports can supply their own). */
export type MonitorClient = Pick<TraceClient, "openStream" | "trace" | "jobStatus" | "stepAttempts">;

export type TerminalStatus = "completed" | "failed" | "cancelled";

export interface BackoffOptions {
  /** The shortest wait before any reconnect; the jitter range above it doubles with each failure. */
  readonly baseMs: number;
  readonly capMs: number;
}

export interface MonitorOptions {
  readonly client: MonitorClient;
  readonly flow: FlowRef;
  readonly executionId: string;
  /** Aborting ends the monitor promptly: monitorRun rejects with the signal's reason. */
  readonly signal: AbortSignal;
  readonly onSignal: (signal: MonitorSignal) => void;
  /** Every dispatched SSE frame as received (for `--record`). */
  readonly onRawFrame?: (raw: RawFrame) => void;
  /** No byte at all (comments included) for this long: check the status, reconnect. Default 90 s. */
  readonly idleTimeoutMs?: number;
  /** No successful answer of any kind for this long: MonitorError. Default 5 min. */
  readonly giveUpAfterMs?: number;
  /** Reconnect backoff with jitter. Default: between 1 s and a ceiling doubling from 2 s up to 30 s. */
  readonly backoff?: BackoffOptions;
  /** Jitter source in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Clock for signal times and the give-up deadline. Default Date.now. */
  readonly now?: () => number;
  /** Fetch `attempt=all` for every step whose attempt > 1 once the run ended. Default true. */
  readonly fetchRetriedAttempts?: boolean;
  /**
   * Where the final Trace's steps go as they are read, instead of into the Trace (which
   * then has none, and its trace/loaded signal says `stepsTaken`): a Trace of 250,000 steps
   * need not be held whole. Called for each read of the Trace; the last sink made holds
   * the steps of the Trace reported.
   */
  readonly newTraceStepSink?: () => TraceStepSink;
  /** Largest SSE frame accepted (see sse.ts DEFAULT_MAX_FRAME_BYTES). */
  readonly maxFrameBytes?: number;
  /**
   * Multiplies every wait before a reconnect (tests use a small value so that
   * 1-60 s server hints stay quick). Signals report the unscaled delay. Default 1.
   */
  readonly delayScale?: number;
}

export interface MonitorResult {
  readonly status: TerminalStatus;
  /** The full Trace loaded after the run ended (without steps with newTraceStepSink); null when it could not be loaded. */
  readonly trace: Trace | null;
  /**
   * Every attempt of each retried step, keyed `${stepId}#${loopIndex ?? ""}`; null when
   * any fetch failed, the trace is missing, or fetchRetriedAttempts is false.
   */
  readonly retriedAttempts: Map<string, StepTrace[]> | null;
  /** Why the final Trace could not be loaded (one redacted line); null when it was. */
  readonly traceError: string | null;
}

/**
 * The monitor cannot follow this run (exit status 3): 401, 403, 404, 204, not a
 * stream, or no contact for too long. The message is one redacted line without a
 * prefix, e.g. `HTTP 404 RUN_NOT_FOUND: no run x (request id req_1)`.
 */
export class MonitorError extends Error {
  override readonly name = "MonitorError";
  readonly exitStatus = 3;
  /** HTTP status of the answer that ended monitoring, or null (no contact). */
  readonly status: number | null;
  readonly code: string | null;
  readonly requestId: string | null;

  constructor(message: string, apiError?: ApiError) {
    super(message, apiError === undefined ? undefined : { cause: apiError });
    this.status = apiError?.status ?? null;
    this.code = apiError?.code ?? null;
    this.requestId = apiError?.requestId ?? null;
  }
}

export const DEFAULT_IDLE_TIMEOUT_MS = 90_000;
export const DEFAULT_GIVE_UP_AFTER_MS = 300_000;
/** What a request made after the give-up deadline gets at most (less when --give-up-after is shorter). */
const LAST_ATTEMPT_GRACE_MS = 5_000;
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, capMs: 30_000 };
/** A server's `retry:` hint is clamped to this range (0 or 1e11 must not storm or stall). */
export const SERVER_RETRY_MIN_MS = 1_000;
export const SERVER_RETRY_MAX_MS = 60_000;
/** Parallel `attempt=all` fetches at the end. */
const ATTEMPT_FETCH_CONCURRENCY = 4;

/** `${stepId}#${loopIndex ?? ""}`: the key of MonitorResult.retriedAttempts. */
export function attemptsKey(stepId: string, loopIndex: number | null | undefined): string {
  return `${stepId}#${loopIndex ?? ""}`;
}

/** A server status as a terminal status, or null while the run is not over. */
export function terminalStatusOf(status: string): TerminalStatus | null {
  switch (status.toLowerCase()) {
    case "completed":
      return "completed";
    case "failed":
      return "failed";
    case "cancelled":
    case "canceled":
      return "cancelled";
    default:
      return null;
  }
}

/** A `retry:` value in the allowed range; anything unusable (NaN, negative) gives the minimum. */
export function clampServerRetry(ms: number): number {
  if (!Number.isFinite(ms) || ms < SERVER_RETRY_MIN_MS) return SERVER_RETRY_MIN_MS;
  return Math.min(ms, SERVER_RETRY_MAX_MS);
}

export interface ReconnectDelayInput {
  /** Consecutive failures so far, at least 1. */
  readonly failures: number;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
  /** The last `retry:` from the server, already clamped, or null. */
  readonly serverRetryMs: number | null;
  /** From a 429/503 answer's Retry-After, or undefined. */
  readonly retryAfterMs: number | undefined;
}

/**
 * Exponential backoff with full jitter above a floor: a uniform wait in
 * [base, min(cap, base * 2^failures)). The floor means that nothing a server does
 * (closing every stream at once, a `retry:` of 0 or one that does not parse) makes
 * reconnects come faster than one per `base`; the jitter still spreads clients that
 * lost the same server. A server hint (`retry:`, Retry-After) is a further floor:
 * the server asked us not to come back sooner.
 */
export function reconnectDelay(input: ReconnectDelayInput): number {
  const { failures, backoff, random, serverRetryMs, retryAfterMs } = input;
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(Math.max(failures, 1), 30));
  const jitter = backoff.baseMs + Math.floor(Math.min(Math.max(random(), 0), 1) * Math.max(ceiling - backoff.baseMs, 0));
  return Math.max(jitter, serverRetryMs ?? 0, retryAfterMs ?? 0);
}

/** How one connection ended. */
type ConnectionOutcome =
  | { readonly kind: "terminal"; readonly status: TerminalStatus }
  /** `opened`: the stream answered 200 (else it could not be opened: no status check then). */
  | { readonly kind: "closed"; readonly reason: string; readonly opened: boolean; readonly retryAfterMs?: number };

/** Follows the run to its end. Rejects with MonitorError (exit status 3), or the abort reason. */
export async function monitorRun(options: MonitorOptions): Promise<MonitorResult> {
  const { client, flow, executionId, signal, onSignal } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const giveUpAfterMs = options.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS;
  const delayScale = options.delayScale ?? 1;

  let lastEventId: string | null = null;
  let firstEventIdEver: string | null = null;
  let serverRetryMs: number | null = null;
  let failures = 0;
  let lastContactAt = now();

  signal.throwIfAborted();

  /** One connection: open, read until terminal, end, drop or idle. Final errors throw MonitorError. */
  async function follow(attempt: number): Promise<ConnectionOutcome> {
    onSignal({ type: "stream/connecting", attempt, at: now() });
    const connection = new AbortController();
    const stopConnection = (): void => connection.abort(signal.reason);
    signal.addEventListener("abort", stopConnection, { once: true });
    const sentLastEventId = lastEventId;
    let watchdog: NodeJS.Timeout | undefined;
    let iterator: AsyncIterator<Uint8Array> | undefined;
    try {
      let body: AsyncIterable<Uint8Array>;
      const disarmGiveUp = abortAtGiveUp(connection);
      try {
        ({ body } = await client.openStream(flow, executionId, {
          signal: connection.signal,
          lastEventId: sentLastEventId,
        }));
      } catch (err) {
        signal.throwIfAborted();
        if (isFinal(err)) throw cannotMonitor(err);
        const retryAfterMs = err instanceof ApiError ? err.retryAfterMs : undefined;
        return {
          kind: "closed",
          reason: oneLine(err),
          opened: false,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      } finally {
        disarmGiveUp();
      }
      lastContactAt = now();

      // `resumed` needs the first event when a Last-Event-ID was sent: did the
      // server skip what we had (resume) or replay from the start?
      let openedReported = sentLastEventId === null;
      if (openedReported) onSignal({ type: "stream/opened", at: now(), resumed: false });

      // Idle watchdog: one timer re-armed lazily from the time of the last byte.
      let lastByteAt = performance.now();
      let idle = false;
      const armWatchdog = (ms: number): void => {
        watchdog = setTimeout(() => {
          const silentMs = performance.now() - lastByteAt;
          if (silentMs < idleTimeoutMs) {
            armWatchdog(idleTimeoutMs - silentMs);
            return;
          }
          idle = true;
          connection.abort(new Error("idle"));
        }, ms);
      };
      armWatchdog(idleTimeoutMs);

      const decoder = createSseDecoder({
        now,
        ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
        ...(options.onRawFrame === undefined ? {} : { onRawFrame: options.onRawFrame }),
      });
      let received = false;
      iterator = body[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await iterator.next();
        } catch (err) {
          signal.throwIfAborted();
          const reason = idle ? `no data for ${formatSeconds(idleTimeoutMs)}` : `connection lost: ${oneLine(err)}`;
          return { kind: "closed", reason, opened: true };
        }
        const batch = next.done ? decoder.end() : decoder.push(next.value);
        if (!next.done) {
          lastByteAt = performance.now();
          lastContactAt = now();
          if (!received) {
            received = true;
            // Data flows again: the next failure starts the backoff from its base.
            failures = 0;
          }
        }
        if (batch.events.length > 0 && !openedReported) {
          openedReported = true;
          const firstId = batch.events[0]?.id;
          const resumed = firstId !== undefined && firstId !== firstEventIdEver;
          onSignal({ type: "stream/opened", at: now(), resumed });
        }
        const terminal = report(batch);
        if (terminal !== null) return { kind: "terminal", status: terminal };
        if (next.done) return { kind: "closed", reason: "the stream ended before the run did", opened: true };
      }
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener("abort", stopConnection);
      connection.abort();
      // Closes the response body (and its socket) when we stopped early.
      await iterator?.return?.().catch(() => undefined);
    }
  }

  /** Emits one chunk's signals; returns the terminal status when a flow_completed came. */
  function report(batch: SseBatch): TerminalStatus | null {
    const at = now();
    let terminal: TerminalStatus | null = null;
    if (batch.events.length > 0) {
      for (const received of batch.events) {
        terminal ??= terminalOf(received);
        if (received.id !== undefined) {
          lastEventId = received.id;
          firstEventIdEver ??= received.id;
        }
      }
      onSignal({ type: "stream/events", events: batch.events });
    }
    if (batch.malformed.length > 0) {
      for (const [reason, count] of countByReason(batch.malformed)) {
        onSignal({ type: "stream/malformed", count, reason: sanitizeLine(reason), at });
      }
    }
    if (batch.unknown > 0) onSignal({ type: "stream/unknown", count: batch.unknown, at });
    if (batch.retryMs !== null) serverRetryMs = clampServerRetry(batch.retryMs);
    return terminal;
  }

  /**
   * Aborts `controller` with a transient timeout when the give-up deadline (giveUpAfterMs
   * after the last contact) passes; returns what disarms it. Without it, a server that
   * accepts connections and never answers would hold a request for undici's 30 s headers
   * timeout (and a GET for its retries on top), whatever --give-up-after says. A request
   * made once the deadline has passed (the last attempt after a wait that ran up to it)
   * gets LAST_ATTEMPT_GRACE_MS at most; the check after the outcome then gives up.
   */
  function abortAtGiveUp(controller: AbortController): () => void {
    const remainingMs = giveUpAfterMs - (now() - lastContactAt);
    if (remainingMs > 0) return abortAfter(controller, remainingMs, giveUpAfterMs);
    const graceMs = Math.min(giveUpAfterMs, LAST_ATTEMPT_GRACE_MS);
    return abortAfter(controller, graceMs, graceMs);
  }

  /**
   * Runs one request of the end (the final Trace, one step's attempts) with a signal that
   * also aborts when it gets no answer within giveUpAfterMs: they come after the stream
   * ended, and a server that stalls them must not hold the watch past --give-up-after.
   */
  async function withinGiveUp<T>(load: (requestSignal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const disarm = abortAfter(deadline, giveUpAfterMs, giveUpAfterMs);
    try {
      return await load(AbortSignal.any([signal, deadline.signal]));
    } finally {
      disarm();
    }
  }

  /** The run status out of band: job status, else the trace's run summary. Null when unknown or not over. */
  async function checkStatus(): Promise<TerminalStatus | null> {
    const deadline = new AbortController();
    const disarmGiveUp = abortAtGiveUp(deadline);
    const requestSignal = AbortSignal.any([signal, deadline.signal]);
    let status: string | null = null;
    try {
      status = (await client.jobStatus(flow, executionId, { signal: requestSignal })).status;
    } catch {
      signal.throwIfAborted();
      try {
        status = (await client.trace(flow, executionId, { signal: requestSignal })).flowRun.status;
      } catch {
        signal.throwIfAborted();
      }
    } finally {
      disarmGiveUp();
    }
    if (status === null) return null;
    lastContactAt = now();
    onSignal({ type: "run/status", status, at: now() });
    return terminalStatusOf(status);
  }

  let status: TerminalStatus | null = null;
  for (let attempt = 1; status === null; attempt++) {
    const outcome = await follow(attempt);
    if (outcome.kind === "terminal") {
      status = outcome.status;
      break;
    }
    // A stream that could not be opened says nothing about the run; asking the
    // status then would only add load to a server that is failing.
    if (outcome.opened) {
      status = await checkStatus();
      if (status !== null) break;
    }
    onSignal({ type: "stream/closed", reason: outcome.reason, at: now() });
    failures += 1;
    const sinceContact = now() - lastContactAt;
    if (sinceContact >= giveUpAfterMs) {
      throw new MonitorError(
        `no answer from the server for ${formatSeconds(sinceContact)} (last: ${outcome.reason})`,
      );
    }
    const delayMs = Math.min(
      reconnectDelay({ failures, backoff, random, serverRetryMs, retryAfterMs: outcome.retryAfterMs }),
      giveUpAfterMs - sinceContact,
    );
    onSignal({ type: "stream/reconnecting", attempt: attempt + 1, delayMs, reason: outcome.reason, at: now() });
    await sleep(delayMs * delayScale, signal);
  }

  onSignal({ type: "stream/ended", at: now() });
  return finish(status);

  async function finish(streamStatus: TerminalStatus): Promise<MonitorResult> {
    let trace: Trace | null = null;
    let traceError: string | null = null;
    // The retried steps of the Trace, when its steps go to a sink (the last read's).
    let retried: StepTrace[] = [];
    const newSink = options.newTraceStepSink;
    const newStepSink =
      newSink === undefined
        ? undefined
        : (): TraceStepSink => {
            const sink = newSink();
            const retriedHere: StepTrace[] = [];
            retried = retriedHere;
            return {
              add(step) {
                if (step.attempt > 1) retriedHere.push(step);
                sink.add(step);
              },
            };
          };
    try {
      trace = await withinGiveUp((requestSignal) =>
        client.trace(flow, executionId, { signal: requestSignal, ...(newStepSink === undefined ? {} : { newStepSink }) }),
      );
    } catch (error) {
      signal.throwIfAborted();
      // Said, not swallowed: without the trace the summary is the live stream's view.
      traceError = redactError(error).message;
    }
    if (trace === null) return { status: streamStatus, trace: null, retriedAttempts: null, traceError };
    if (newStepSink === undefined) {
      retried = trace.steps.filter((step) => step.attempt > 1);
      onSignal({ type: "trace/loaded", trace, final: true, at: now() });
    } else {
      onSignal({ type: "trace/loaded", trace, final: true, at: now(), stepsTaken: true });
    }
    // The trace is the authority once loaded (a flow_completed without a summary says "completed").
    const finalStatus = terminalStatusOf(trace.flowRun.status) ?? streamStatus;
    const retriedAttempts = options.fetchRetriedAttempts === false ? null : await loadRetriedAttempts(retried);
    return { status: finalStatus, trace, retriedAttempts, traceError: null };
  }

  async function loadRetriedAttempts(retried: readonly StepTrace[]): Promise<Map<string, StepTrace[]> | null> {
    const result = new Map<string, StepTrace[]>();
    let failed = false;
    let nextIndex = 0;
    const worker = async (): Promise<void> => {
      while (!failed && nextIndex < retried.length) {
        const step = retried[nextIndex++] as StepTrace;
        const loopIndex = step.loopIndex ?? null;
        try {
          const { attempts } = await withinGiveUp((requestSignal) =>
            client.stepAttempts(flow, executionId, step.stepId, { signal: requestSignal, loopIndex }),
          );
          result.set(attemptsKey(step.stepId, loopIndex), attempts);
          onSignal({ type: "attempts/loaded", stepId: step.stepId, loopIndex, attempts, at: now() });
        } catch {
          signal.throwIfAborted();
          failed = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ATTEMPT_FETCH_CONCURRENCY, retried.length) }, worker));
    return failed ? null : result;
  }
}

function terminalOf(received: ReceivedEvent): TerminalStatus | null {
  const { event } = received;
  if (event.type !== "flow_completed") return null;
  const summaryStatus = event.summary?.["status"];
  const status = typeof summaryStatus === "string" ? terminalStatusOf(summaryStatus) : null;
  return status === "failed" || status === "cancelled" ? status : "completed";
}

function cannotMonitor(err: unknown): MonitorError {
  if (err instanceof ApiError) return new MonitorError(err.message, err);
  return new MonitorError(oneLine(err));
}

/** Any error as one redacted, printable line. */
function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return redactSecrets(sanitizeLine(text));
}

function countByReason(reasons: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return counts;
}

/** Aborts `controller` after `ms` with a transient timeout saying "no answer within `shownMs`"; returns what disarms it. */
function abortAfter(controller: AbortController, ms: number, shownMs: number): () => void {
  const timer = setTimeout(() => {
    controller.abort(new ApiError({ kind: "timeout", transient: true, summary: `no answer within ${formatSeconds(shownMs)}` }));
  }, ms);
  return () => clearTimeout(timer);
}

function formatSeconds(ms: number): string {
  return `${String(Math.round(ms / 100) / 10)} s`;
}
