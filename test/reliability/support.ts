// Shared pieces of the reliability suite: one canonical run (a retried step, exact costs)
// as SSE frames, Trace and attempts; a scripted server playing it (test/helpers/sseServer.ts)
// with any route replaced by a fault; the built CLI run against it as a child process; and
// readers for its ndjson and json output.
import type { OutgoingHttpHeaders } from "node:http";
import { SECRET_KEY, cliEnv, runCli, startCli, type CliResult, type RunningCli } from "../cli/helpers.js";
import {
  frame,
  reply,
  startSseServer,
  type Reply,
  type SseServer,
  type SseServerOptions,
  type SseServerScript,
} from "../helpers/sseServer.js";

export const FLOW = "acme/proj/flow";
export const EXECUTION_ID = "exec-1";
export { SECRET_KEY };

/** Retry and reconnect waits of the CLI under test are 1/100 of the real ones (NOUKAI_TOP_BACKOFF_SCALE). */
export const BACKOFF_SCALE = 0.01;

/** Text a hostile server puts in its strings: every kind of control the suite must neutralise. */
export const HOSTILE_PARTS = {
  osc0: "\u001b]0;pwned-title\u0007",
  osc8: "\u001b]8;;https://e.vil/\u001b\\link\u001b]8;;\u001b\\",
  osc52: "\u001b]52;c;cm0gLXJmIH4=\u0007",
  csi: "\u001b[31mred\u001b[2J",
  dcs: "\u001bP1$qm\u001b\\",
  apc: "\u001b_Gf=100;payload\u001b\\",
  c1Csi: "\u009b6n",
  c1Osc: "\u009d0;c1-title\u0007",
  cr: "over\rwrite",
  backspace: "x\b\by",
  nul: "nul\u0000byte",
  bidi: "\u202eevil",
  // Last: an OSC without its terminator would swallow whatever a terminal receives next.
  unterminatedOsc: "\u001b]0;never-ended",
} as const;
export const HOSTILE = Object.values(HOSTILE_PARTS).join("");

const T0 = Date.parse("2026-01-01T10:00:00.000Z");
const iso = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();
const tokens = (prompt: number, completion: number) => ({ prompt, completion, total: prompt + completion });

export interface CanonicalRun {
  /** One SSE frame per event, ids 1..n; the last is flow_completed. */
  readonly frames: readonly string[];
  readonly trace: { flowRun: Record<string, unknown>; steps: Record<string, unknown>[] };
  readonly attempts: Readonly<Record<string, Record<string, unknown>[]>>;
}

/**
 * The run every fault test plays: "fetch" completes, "grade" fails once and completes on
 * attempt 2, "report" completes. `h` is appended to every server string that does not
 * steer the protocol (ids, names, models, error messages, snapshots, flow id).
 */
export function canonicalRun(h = ""): CanonicalRun {
  const fetch = `fetch${h}`;
  const grade = `grade${h}`;
  const report = `report${h}`;
  const events: [string, Record<string, unknown>][] = [
    ["run_started", { runId: `run-1${h}`, executionId: EXECUTION_ID, flowId: `flow-1${h}`, stepCount: 3 }],
    ["step_started", { stepId: fetch, name: `Fetch ${h}data`, stepIndex: 0 }],
    ["step_output", { stepId: fetch, outputData: { text: `fetched ${h}`, nested: { note: h } } }],
    [
      "step_completed",
      { stepId: fetch, name: `Fetch ${h}data`, durationMs: 1200, tokens: tokens(100, 20), costUsd: "0.1", modelUsed: `gpt-4o${h}` },
    ],
    ["step_started", { stepId: grade, name: `Grade${h}`, stepIndex: 1 }],
    ["step_error", { stepId: grade, name: `Grade${h}`, error: { code: `UPSTREAM${h}`, message: `upstream 503${h}`, willRetry: true } }],
    ["step_started", { stepId: grade, name: `Grade${h}`, stepIndex: 1 }],
    [
      "step_completed",
      { stepId: grade, name: `Grade${h}`, durationMs: 800, tokens: tokens(200, 40), costUsd: "0.2", modelUsed: `claude-sonnet-4${h}` },
    ],
    ["step_started", { stepId: report, name: `Report${h}`, stepIndex: 2 }],
    [
      "step_completed",
      { stepId: report, name: `Report${h}`, durationMs: 500, tokens: tokens(10, 5), costUsd: "0.000001", modelUsed: "gpt-4o-mini" },
    ],
    ["flow_completed", { runId: `run-1${h}`, executionId: EXECUTION_ID, summary: { status: "completed" } }],
  ];
  const frames = events.map(([type, data], i) => frame(type, { eventType: type, ...data }, { id: String(i + 1) }));
  const gradeFailed = {
    stepId: grade,
    attempt: 1,
    loopIndex: null,
    status: "failed",
    startedAt: iso(1200),
    completedAt: iso(1500),
    durationMs: 300,
    modelUsed: `claude-sonnet-4${h}`,
    tokens: tokens(50, 0),
    costUsd: "0.05",
    inputContext: { essay: `input ${h}` },
    errorContext: { code: `UPSTREAM${h}`, message: `upstream 503${h}` },
  };
  const gradeDone = {
    stepId: grade,
    attempt: 2,
    loopIndex: null,
    status: "completed",
    startedAt: iso(1500),
    completedAt: iso(2300),
    durationMs: 800,
    modelUsed: `claude-sonnet-4${h}`,
    tokens: tokens(200, 40),
    costUsd: "0.2",
    inputContext: { essay: `input ${h}` },
    outputContext: { grade: `B ${h}`, comments: [`good ${h}`, h] },
  };
  const steps = [
    {
      stepId: fetch,
      attempt: 1,
      loopIndex: null,
      status: "completed",
      startedAt: iso(0),
      completedAt: iso(1200),
      durationMs: 1200,
      modelUsed: `gpt-4o${h}`,
      tokens: tokens(100, 20),
      costUsd: "0.1",
      outputContext: { text: `fetched ${h}` },
    },
    gradeDone,
    {
      stepId: report,
      attempt: 1,
      loopIndex: null,
      status: "completed",
      startedAt: iso(2300),
      completedAt: iso(2800),
      durationMs: 500,
      modelUsed: "gpt-4o-mini",
      tokens: tokens(10, 5),
      costUsd: "0.000001",
    },
  ];
  return {
    frames,
    trace: {
      flowRun: { id: `run-1${h}`, flowId: `flow-1${h}`, status: "completed", startedAt: iso(0), completedAt: iso(3000), durationMs: 3000, stepCount: 3 },
      steps,
    },
    attempts: { [grade]: [gradeFailed, gradeDone] },
  };
}

export const RUN = canonicalRun();
/** The whole history as one write. */
export const FULL = RUN.frames.join("");

export const jobStatus = (status: string, headers?: OutgoingHttpHeaders): Reply =>
  reply(200, { executionId: EXECUTION_ID, status }, headers);
export const RUNNING = jobStatus("running");

/** The server's answers for `run`: the live stream plays it whole unless `script` replaces a route. */
export function runScript(run: CanonicalRun, script: SseServerScript = {}): SseServerScript {
  return {
    streams: [{ kind: "stream", steps: [{ write: run.frames.join("") }, "end"] }],
    trace: [reply(200, run.trace)],
    // Until the stream says otherwise the run is going on: every fault must end in a reconnect.
    jobStatus: [RUNNING],
    steps: (stepId, query) => {
      const attempts = run.attempts[stepId] ?? run.trace.steps.filter((s) => s.stepId === stepId);
      if (query.get("attempt") === "all") return reply(200, { stepId, attempts });
      return reply(200, attempts.at(-1));
    },
    ...script,
  };
}

const servers: SseServer[] = [];

/** A server for `script` (see runScript), closed by closeServers(). */
export async function serve(script: SseServerScript, options: SseServerOptions = {}): Promise<SseServer> {
  const server = await startSseServer(script, options);
  servers.push(server);
  return server;
}

export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((server) => server.close()));
}

export const ENV = cliEnv({ NOUKAI_API_KEY: SECRET_KEY, NOUKAI_TOP_BACKOFF_SCALE: String(BACKOFF_SCALE) });

export interface WatchOptions {
  readonly format?: "plain" | "ndjson" | "json";
  /** Default 300ms: short enough for stall faults, long enough for a 10 ms trickle. */
  readonly idleTimeout?: string;
  readonly extra?: readonly string[];
  readonly env?: Record<string, string>;
  readonly executionId?: string;
  readonly flow?: string;
}

export function watchArgs(baseUrl: string, options: WatchOptions = {}): string[] {
  return [
    "watch",
    options.executionId ?? EXECUTION_ID,
    "--flow",
    options.flow ?? FLOW,
    "--base-url",
    baseUrl,
    "--format",
    options.format ?? "ndjson",
    "--idle-timeout",
    options.idleTimeout ?? "300ms",
    ...(options.extra ?? []),
  ];
}

/** The CLI watching `baseUrl` to its end. */
export function watch(baseUrl: string, options: WatchOptions = {}): Promise<CliResult> {
  return runCli(watchArgs(baseUrl, options), options.env ?? ENV);
}

export function startWatch(baseUrl: string, options: WatchOptions = {}): RunningCli {
  return startCli(watchArgs(baseUrl, options), options.env ?? ENV);
}

export interface NdjsonRecord {
  readonly type: string;
  readonly id?: string;
  readonly state?: string;
  readonly delayMs?: number;
  readonly reason?: string;
  readonly [field: string]: unknown;
}

export interface NdjsonRun {
  readonly records: NdjsonRecord[];
  /** Ids of the stream events printed, in order. */
  readonly eventIds: string[];
  /** The last line. */
  readonly summary: Record<string, unknown>;
  readonly connections: NdjsonRecord[];
}

export function readNdjson(stdout: string): NdjsonRun {
  const records = stdout
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as NdjsonRecord);
  const summary = records.at(-1);
  if (summary?.type !== "summary") throw new Error(`the last ndjson line is not the summary:\n${stdout.slice(-2000)}`);
  return {
    records,
    eventIds: records.flatMap((r) => (r.id === undefined ? [] : [r.id])),
    summary,
    connections: records.filter((r) => r.type === "connection"),
  };
}

/** A summary without the fields a fault may legitimately change (frames skipped as malformed). */
export function comparable(summary: Record<string, unknown>): Record<string, unknown> {
  const { malformedFrames: _malformed, ...rest } = summary;
  return rest;
}

/** Every place a run's output could leak the key. */
export function outputs(result: CliResult): string {
  return `${result.stdout}\n${result.stderr}`;
}
