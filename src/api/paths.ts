// Every wire path of the Noukai trace API, in one place. Paths are relative to the
// base URL (which already ends in `/api/v1`). Every segment that comes from user
// input or from the server is percent-encoded, so an id holding `/`, `..`, `?`, `#`
// or `%` can never change which route is hit.

export interface FlowRef {
  readonly org: string;
  readonly project: string;
  readonly slug: string;
}

/** Published version to pin on execute/jobs routes; traces are not versioned. */
export type FlowVersion = number | "draft";

const SEQ = "/seq";

/**
 * Percent-encodes one path segment. encodeURIComponent leaves `.` alone, so a
 * segment that is exactly `.` or `..` would still be collapsed by URL resolution
 * (here or in a proxy): those dots are encoded too.
 */
export function encodeSegment(segment: string): string {
  const encoded = encodeURIComponent(segment);
  if (encoded === "." || encoded === "..") return encoded.replaceAll(".", "%2E");
  return encoded;
}

function flowBase(flow: FlowRef, version: FlowVersion = "draft"): string {
  const base = `${SEQ}/${encodeSegment(flow.org)}/${encodeSegment(flow.project)}/${encodeSegment(flow.slug)}`;
  return typeof version === "number" ? `${base}/v${String(version)}` : base;
}

function runBase(flow: FlowRef, executionId: string): string {
  return `${flowBase(flow)}/runs/${encodeSegment(executionId)}`;
}

export const paths = {
  /** GET: whole-run Trace (latest attempt per step). */
  trace: (flow: FlowRef, executionId: string): string => `${runBase(flow, executionId)}/trace`,
  /** GET: one step's trace; query `attempt` and `loop_index` are added by the client. */
  stepTrace: (flow: FlowRef, executionId: string, stepId: string): string =>
    `${runBase(flow, executionId)}/steps/${encodeSegment(stepId)}/trace`,
  /** GET: live trace stream (SSE): replays history, then tails. */
  traceStream: (flow: FlowRef, executionId: string): string => `${runBase(flow, executionId)}/trace/stream`,
  /** GET: job status. */
  job: (flow: FlowRef, executionId: string): string => `${flowBase(flow)}/jobs/${encodeSegment(executionId)}`,
  /** POST: submit a queued run. */
  submitJob: (flow: FlowRef, version?: FlowVersion): string => `${flowBase(flow, version)}/jobs`,
  /** POST: run to completion. */
  execute: (flow: FlowRef, version?: FlowVersion): string => `${flowBase(flow, version)}/execute`,
  /** POST: step protocol (SSE). */
  step: (flow: FlowRef, version?: FlowVersion): string => `${flowBase(flow, version)}/step`,
} as const;

/** The production and dev base URLs (PROTOCOL.md; the TS SDK's production host). */
export const PRODUCTION_BASE_URL = "https://api.noukai.dev/api/v1";
export const DEV_BASE_URL = "http://localhost:8080/api/v1";
export const API_VERSION = "2026-05-31";
export const API_VERSION_HEADER = "X-Noukai-API-Version";
export const REQUEST_ID_HEADER = "X-Request-ID";

/**
 * Parses `org/project/slug`, or a bare `slug` with defaults (both or neither).
 * Returns an error message instead of throwing so the CLI can print one line.
 */
export function parseFlowRef(
  ref: string,
  defaults: { org?: string | undefined; project?: string | undefined } = {},
): FlowRef | { error: string } {
  const parts = ref.split("/");
  if (parts.length === 3 && parts.every((p) => p.length > 0)) {
    const [org, project, slug] = parts as [string, string, string];
    return { org, project, slug };
  }
  if (parts.length === 1 && ref.length > 0) {
    const { org, project } = defaults;
    if (org && project) return { org, project, slug: ref };
    if (org || project) return { error: "NOUKAI_ORG and NOUKAI_PROJECT must be set together" };
    return { error: `flow "${ref}" is a bare slug: give org/project/slug, or set NOUKAI_ORG and NOUKAI_PROJECT` };
  }
  return { error: `flow "${ref}" is not of the form org/project/slug` };
}

export function formatFlowRef(flow: FlowRef): string {
  return `${flow.org}/${flow.project}/${flow.slug}`;
}
