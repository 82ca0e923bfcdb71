// The typed client for the trace API (PROTOCOL.md). Paths come from paths.ts only;
// bodies are validated with the schemas of schemas.ts; failures are ApiErrors.
import { paths } from "./paths.js";
import type { FlowRef } from "./paths.js";
import {
  ExecuteResult,
  JobStatus,
  JobSubmitted,
  StepAttempts,
  StepTrace,
  type RunRequest,
  type Trace,
} from "./schemas.js";
import { traceBodyReader, type TraceStepSink } from "./traceBody.js";
import { Transport, type OpenedStream, type TransportOptions } from "./transport.js";

export type { OpenedStream, RetryInfo } from "./transport.js";
export type { TraceStepSink } from "./traceBody.js";

/** What a client is made of: the transport's options (base URL, key, retries, timeouts). */
export type ClientOptions = TransportOptions;

export type AttemptSelector = "latest" | "all" | number;

export interface RequestOptions {
  readonly signal?: AbortSignal;
}

/** `?attempt=...&loop_index=...`, or "" when neither is set. */
function stepQuery(attempt: AttemptSelector, loopIndex: number | null | undefined): string {
  const query = new URLSearchParams();
  if (attempt !== "latest") query.set("attempt", String(attempt));
  if (loopIndex !== null && loopIndex !== undefined) query.set("loop_index", String(loopIndex));
  const text = query.toString();
  return text === "" ? "" : `?${text}`;
}

export class TraceClient {
  readonly baseUrl: string;
  private readonly transport: Transport;

  /** Throws ConfigError for a key without the nk_ prefix or an unusable base URL. */
  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
    this.baseUrl = this.transport.baseUrl;
  }

  /**
   * The whole-run Trace (latest attempt of each step). With `newStepSink`, the steps go to
   * a sink as they are read and the Trace returned has none; a sink is made for each try
   * (a retried GET reads the body again), and only the last one made holds the steps.
   */
  trace(
    flow: FlowRef,
    executionId: string,
    opts: RequestOptions & { newStepSink?: () => TraceStepSink } = {},
  ): Promise<Trace> {
    const { newStepSink } = opts;
    return this.transport.getJson(paths.trace(flow, executionId), () => traceBodyReader(newStepSink), opts);
  }

  /** One attempt of one step: the latest unless `attempt` is a number; `loopIndex` for steps in a loop. */
  stepTrace(
    flow: FlowRef,
    executionId: string,
    stepId: string,
    opts: RequestOptions & { attempt?: Exclude<AttemptSelector, "all">; loopIndex?: number | null } = {},
  ): Promise<StepTrace> {
    const path = paths.stepTrace(flow, executionId, stepId) + stepQuery(opts.attempt ?? "latest", opts.loopIndex);
    return this.transport.getJson(path, StepTrace, opts);
  }

  /** Every attempt of one step (`attempt=all`), ordered by attempt number. */
  stepAttempts(
    flow: FlowRef,
    executionId: string,
    stepId: string,
    opts: RequestOptions & { loopIndex?: number | null } = {},
  ): Promise<StepAttempts> {
    const path = paths.stepTrace(flow, executionId, stepId) + stepQuery("all", opts.loopIndex);
    return this.transport.getJson(path, StepAttempts, opts);
  }

  jobStatus(flow: FlowRef, executionId: string, opts: RequestOptions = {}): Promise<JobStatus> {
    return this.transport.getJson(paths.job(flow, executionId), JobStatus, opts);
  }

  /** Queues a run (not retried). */
  submitJob(flow: FlowRef, body: RunRequest, opts: RequestOptions = {}): Promise<JobSubmitted> {
    return this.transport.postJson(paths.submitJob(flow), body, JobSubmitted, opts);
  }

  /** Runs to completion (not retried; no headers timeout: the answer comes when the run ends). */
  execute(flow: FlowRef, body: RunRequest, opts: RequestOptions = {}): Promise<ExecuteResult> {
    return this.transport.postJson(paths.execute(flow), body, ExecuteResult, { ...opts, waitForHeaders: true });
  }

  /**
   * Opens the live stream once (no retry here: the monitor owns reconnects).
   * Throws ApiError for a non-2xx, a 204, or a body that is not text/event-stream.
   */
  openStream(
    flow: FlowRef,
    executionId: string,
    opts: RequestOptions & { lastEventId?: string | null },
  ): Promise<OpenedStream> {
    return this.transport.openEventStream(paths.traceStream(flow, executionId), opts);
  }

  /** Closes every connection: requests and streams still open fail. Safe to call twice. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
