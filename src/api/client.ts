// STUB (owner: api helper). The typed client for the trace API, on undici.
import type { FlowRef } from "./paths.js";
import type { JobStatus, JobSubmitted, ExecuteResult, RunRequest, StepAttempts, StepTrace, Trace } from "./schemas.js";

export interface ClientOptions {
  /** Base URL ending in /api/v1 (no trailing slash needed). */
  readonly baseUrl: string;
  /** Must start with nk_ (checked by the constructor without echoing it). */
  readonly apiKey: string;
  readonly userAgent?: string;
  /** Retries of GETs on 408/429/5xx (default 3: about 1 s, 4 s, 16 s with jitter; 429 waits Retry-After). */
  readonly maxRetries?: number;
  /** Scales every backoff delay (tests use a small value). Default 1. */
  readonly backoffScale?: number;
}

export type AttemptSelector = "latest" | "all" | number;

export interface RequestOptions {
  readonly signal?: AbortSignal;
}

export interface OpenedStream {
  /** Raw body bytes as they arrive. */
  readonly body: AsyncIterable<Uint8Array>;
  readonly requestId: string | null;
}

export declare class TraceClient {
  constructor(options: ClientOptions);
  readonly baseUrl: string;
  trace(flow: FlowRef, executionId: string, opts?: RequestOptions): Promise<Trace>;
  stepTrace(
    flow: FlowRef,
    executionId: string,
    stepId: string,
    opts?: RequestOptions & { attempt?: Exclude<AttemptSelector, "all">; loopIndex?: number | null },
  ): Promise<StepTrace>;
  stepAttempts(
    flow: FlowRef,
    executionId: string,
    stepId: string,
    opts?: RequestOptions & { loopIndex?: number | null },
  ): Promise<StepAttempts>;
  jobStatus(flow: FlowRef, executionId: string, opts?: RequestOptions): Promise<JobStatus>;
  submitJob(flow: FlowRef, body: RunRequest, opts?: RequestOptions): Promise<JobSubmitted>;
  execute(flow: FlowRef, body: RunRequest, opts?: RequestOptions): Promise<ExecuteResult>;
  /**
   * Opens the live stream once (no retry here: the monitor owns reconnects).
   * Throws ApiError for a non-2xx, a 204, or a body that is not text/event-stream.
   */
  openStream(flow: FlowRef, executionId: string, opts: RequestOptions & { lastEventId?: string | null }): Promise<OpenedStream>;
  close(): Promise<void>;
}
