// The embedded Noukai-compatible server: node:http, the trace API of PROTOCOL.md under
// /api/v1, simulated flows, runs kept in memory.
import { createHash, randomInt, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { API_VERSION, API_VERSION_HEADER, REQUEST_ID_HEADER, formatFlowRef, parseFlowRef, type FlowRef } from "../api/paths.js";
import { RunRequest } from "../api/schemas.js";
import { BUILTIN_FLOWS } from "./builtin-flows.js";
import { validateFlow, type FlowDefinition, type ValidFlow } from "./flows.js";
import { checkAuth, newRequestId, readBody, sendError, sendJson } from "./http.js";
import { planRun } from "./plan.js";
import { hashSeed } from "./random.js";
import { BASE_PATH, matchRoute, type RouteParams } from "./router.js";
import { SimulatedRun, type TriggerType } from "./run.js";
import { SseStream } from "./sse.js";

export interface ServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Port to bind (default 8080, the official SDK's dev port); 0 picks a free port. */
  readonly port?: number;
  /** Divides every simulated duration (default 1). */
  readonly speed?: number;
  /** Seed of every draw (default: a random one, reported as `seed`). */
  readonly seed?: number;
  /** Accept only this key (otherwise any `nk_` key). */
  readonly requireKey?: string;
  /** Flows added to the built-in ones (a flow with a built-in's ref replaces it). */
  readonly flows?: readonly FlowDefinition[];
  /** Comment heartbeat on an idle stream (default 15 s). */
  readonly heartbeatMs?: number;
  /** Runs kept in memory; past this the oldest finished runs are dropped (default 1000). */
  readonly maxRuns?: number;
}

/** What is alive inside the server, for leak checks. */
export interface ServerStats {
  readonly runs: number;
  readonly activeRuns: number;
  readonly openStreams: number;
  readonly waitingExecutes: number;
  /** Armed timers: run clocks plus stream heartbeats. */
  readonly timers: number;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080/api/v1. */
  readonly url: string;
  readonly port: number;
  /** The seed in use (pass it back as `seed` to replay the same runs). */
  readonly seed: number;
  /** Stops every run and stream and closes the listener. */
  close(): Promise<void>;
  /** Starts a run as POST jobs would; resolves to its execution id. */
  submitRun(flowRef: string, body?: RunRequest): Promise<string>;
  debugStats(): ServerStats;
}

/** Stored events of finished runs are dropped (oldest first) past this many bytes. */
const MAX_STORED_EVENT_BYTES = 256 * 1024 * 1024;

interface RegisteredFlow {
  readonly ref: FlowRef;
  readonly flowId: string;
  readonly definition: ValidFlow;
  /** Runs started so far: the ordinal mixed into each run's seed. */
  runsStarted: number;
}

function flowKey(ref: FlowRef): string {
  return JSON.stringify([ref.org, ref.project, ref.slug]);
}

/** A stable UUID-shaped flow id derived from the ref. */
function flowIdOf(ref: string): string {
  const hex = createHash("sha256").update(ref).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

type AttemptQuery = { kind: "latest" } | { kind: "all" } | { kind: "number"; attempt: number };

function parseAttempt(value: string | null): AttemptQuery | null {
  if (value === null || value === "latest") return { kind: "latest" };
  if (value === "all") return { kind: "all" };
  if (/^\d{1,6}$/.test(value) && Number(value) >= 1) return { kind: "number", attempt: Number(value) };
  return null;
}

class Simulator {
  private readonly flows = new Map<string, RegisteredFlow>();
  private readonly runs = new Map<string, SimulatedRun>();
  private readonly streams = new Set<SseStream>();
  private readonly waitingExecutes = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly options: {
      readonly seed: number;
      readonly speed: number;
      readonly requireKey: string | undefined;
      readonly heartbeatMs: number;
      readonly maxRuns: number;
    },
    flows: readonly FlowDefinition[],
  ) {
    for (const definition of flows) {
      const valid = validateFlow(definition);
      const ref = parseFlowRef(valid.ref);
      if ("error" in ref) throw new Error(ref.error);
      this.flows.set(flowKey(ref), { ref, flowId: flowIdOf(valid.ref), definition: valid, runsStarted: 0 });
    }
  }

  stats(): ServerStats {
    const runs = [...this.runs.values()];
    const streams = [...this.streams];
    return {
      runs: runs.length,
      activeRuns: runs.filter((run) => !run.terminal).length,
      openStreams: streams.length,
      waitingExecutes: this.waitingExecutes.size,
      timers: runs.filter((run) => run.hasTimer).length + streams.filter((stream) => stream.hasTimer).length,
    };
  }

  shutdown(): void {
    this.closed = true;
    for (const run of this.runs.values()) run.stop();
    for (const stream of [...this.streams]) stream.end();
    for (const unsubscribe of [...this.waitingExecutes]) unsubscribe();
  }

  startRun(ref: FlowRef, request: RunRequest, triggerType: TriggerType): SimulatedRun | null {
    if (this.closed) throw new Error("the server is closed");
    const flow = this.flows.get(flowKey(ref));
    if (flow === undefined) return null;
    const ordinal = flow.runsStarted++;
    const plan = planRun(flow.definition, {
      seed: hashSeed(this.options.seed, formatFlowRef(ref), ordinal),
      speed: this.options.speed,
      trace: request.trace ?? false,
      message: request.message,
      parameters: request.parameters,
    });
    const run = new SimulatedRun({
      executionId: randomUUID(),
      runId: randomUUID(),
      flowId: flow.flowId,
      flowKey: flowKey(ref),
      stepCount: flow.definition.steps.length,
      triggerType,
      plan,
    });
    this.runs.set(run.executionId, run);
    run.subscribe({ onEnd: () => this.evict() });
    this.evict();
    return run;
  }

  /** Drops the oldest finished runs while there are too many runs or too many stored event bytes. */
  private evict(): void {
    let storedBytes = 0;
    for (const run of this.runs.values()) storedBytes += run.eventBytes;
    for (const run of this.runs.values()) {
      if (this.runs.size <= this.options.maxRuns && storedBytes <= MAX_STORED_EVENT_BYTES) return;
      if (!run.terminal) continue;
      this.runs.delete(run.executionId);
      storedBytes -= run.eventBytes;
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader(REQUEST_ID_HEADER, newRequestId());
    res.setHeader(API_VERSION_HEADER, API_VERSION);

    const auth = checkAuth(req.headers.authorization, this.options.requireKey);
    if (!auth.ok) {
      sendError(res, 401, "UNAUTHORIZED", auth.message, { headers: { "WWW-Authenticate": 'Bearer realm="noukai"' } });
      return;
    }

    const match = matchRoute(req.method ?? "GET", req.url ?? "/");
    if (match.kind === "bad_path") return sendError(res, 400, "INVALID_PATH", "the path has an invalid percent-encoding");
    if (match.kind === "not_found") return sendError(res, 404, "NOT_FOUND", `no route for ${req.method ?? "GET"} ${BASE_PATH}/...`);
    if (match.kind === "method_not_allowed") {
      return sendError(res, 405, "METHOD_NOT_ALLOWED", `use ${match.allow.join(" or ")} on this path`, {
        headers: { Allow: match.allow.join(", ") },
      });
    }

    const { params, query } = match;
    const flow = this.flows.get(flowKey(params.flow));
    if (flow === undefined) return sendError(res, 404, "FLOW_NOT_FOUND", `flow ${formatFlowRef(params.flow)} not found`);

    switch (match.name) {
      case "execute":
      case "submitJob":
        return this.submit(req, res, params, match.name === "execute" ? "execute" : "job");
      case "step":
        return sendError(res, 501, "NOT_IMPLEMENTED", "this server does not simulate the step protocol; use execute or jobs");
      case "job":
      case "trace":
      case "stepTrace":
      case "traceStream": {
        const run = this.runs.get(params.executionId ?? "");
        if (run === undefined || run.flowKey !== flowKey(params.flow)) {
          return sendError(res, 404, "RUN_NOT_FOUND", `run ${params.executionId ?? ""} not found in flow ${formatFlowRef(params.flow)}`);
        }
        if (match.name === "job") return sendJson(res, 200, this.jobStatus(run));
        if (match.name === "trace") return sendJson(res, 200, run.traceJson());
        if (match.name === "stepTrace") return this.stepTrace(res, run, flow, params.stepId ?? "", query);
        return this.stream(req, res, run);
      }
    }
  }

  private async submit(req: IncomingMessage, res: ServerResponse, params: RouteParams, trigger: TriggerType): Promise<void> {
    const body = await readBody(req);
    if (body.kind === "aborted") return;
    if (body.kind === "too_large") {
      sendError(res, 413, "PAYLOAD_TOO_LARGE", "the request body is over 1 MiB", { headers: { Connection: "close" } });
      return;
    }
    let json: unknown = {};
    if (body.text.trim() !== "") {
      try {
        json = JSON.parse(body.text);
      } catch (error) {
        sendError(res, 422, "INVALID_JSON", `the request body is not valid JSON: ${(error as Error).message}`);
        return;
      }
    }
    const parsed = RunRequest.safeParse(json);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message }));
      const first = errors[0];
      const where = first === undefined || first.path.length === 0 ? "body" : first.path.join(".");
      sendError(res, 422, "VALIDATION_ERROR", `${where}: ${first?.message ?? "invalid"}`, { extra: { errors } });
      return;
    }
    const run = this.startRun(params.flow, parsed.data, trigger);
    if (run === null) {
      sendError(res, 404, "FLOW_NOT_FOUND", `flow ${formatFlowRef(params.flow)} not found`);
      return;
    }
    if (trigger === "job") {
      sendJson(res, 202, { executionId: run.executionId, status: "pending", flowId: run.flowId, blockCount: run.stepCount });
      return;
    }
    const respond = (): void => {
      const error = run.error;
      sendJson(res, 200, {
        status: run.status,
        result: run.result ?? null,
        flowId: run.flowId,
        blockCount: run.stepCount,
        executionId: run.executionId,
        ...(error !== undefined ? { error } : {}),
      });
    };
    if (run.terminal) return respond();
    if (res.socket === null || res.socket.destroyed) return;
    // Run to completion: answer when the run ends; a client that leaves stops the wait, not the run.
    const unsubscribe = run.subscribe({
      onEnd: () => {
        this.waitingExecutes.delete(stopWaiting);
        respond();
      },
    });
    const stopWaiting = (): void => {
      unsubscribe();
      this.waitingExecutes.delete(stopWaiting);
    };
    this.waitingExecutes.add(stopWaiting);
    res.once("close", stopWaiting);
  }

  private jobStatus(run: SimulatedRun): Record<string, unknown> {
    const error = run.error;
    return {
      executionId: run.executionId,
      status: run.status,
      ...(run.status === "completed" ? { result: run.result ?? null } : {}),
      ...(error !== undefined ? { error: `step ${error.stepId} failed: ${error.message} (${error.code})` } : {}),
    };
  }

  private stepTrace(res: ServerResponse, run: SimulatedRun, flow: RegisteredFlow, stepId: string, query: URLSearchParams): void {
    const attempt = parseAttempt(query.get("attempt"));
    if (attempt === null) {
      return sendError(res, 422, "VALIDATION_ERROR", "attempt must be latest, all or a positive integer", {
        extra: { errors: [{ path: ["query", "attempt"], message: "invalid attempt" }] },
      });
    }
    const loopIndexText = query.get("loop_index");
    if (loopIndexText !== null && !/^\d{1,6}$/.test(loopIndexText)) {
      return sendError(res, 422, "VALIDATION_ERROR", "loop_index must be a non-negative integer", {
        extra: { errors: [{ path: ["query", "loop_index"], message: "invalid loop_index" }] },
      });
    }
    const loopIndex = loopIndexText === null ? undefined : Number(loopIndexText);
    const attempts = run.attemptsJson(stepId, loopIndex);
    const notFound = (why: string): void => sendError(res, 404, "STEP_NOT_FOUND", why);
    if (attempts.length === 0) {
      if (!flow.definition.steps.some((step) => step.id === stepId)) return notFound(`flow ${formatFlowRef(flow.ref)} has no step ${stepId}`);
      const which = loopIndex === undefined ? "" : ` (loop index ${String(loopIndex)})`;
      return notFound(`step ${stepId}${which} has no trace in run ${run.executionId}`);
    }
    if (attempt.kind === "all") return sendJson(res, 200, { stepId, attempts });
    const chosen = attempt.kind === "latest" ? attempts.at(-1) : attempts.filter((a) => a.attempt === attempt.attempt).at(-1);
    if (chosen === undefined) return notFound(`step ${stepId} has no attempt ${String(attempt.kind === "number" ? attempt.attempt : "")}`);
    sendJson(res, 200, chosen);
  }

  private stream(req: IncomingMessage, res: ServerResponse, run: SimulatedRun): void {
    // Last-Event-ID (an extension): resume after that id; anything unusable means a full replay.
    const lastId = req.headers["last-event-id"];
    const lastIdNumber = typeof lastId === "string" && /^\d{1,9}$/.test(lastId.trim()) ? Number(lastId.trim()) : 0;
    const after = lastIdNumber <= run.eventCount ? lastIdNumber : 0;

    let unsubscribe = (): void => {};
    const stream = new SseStream(res, this.options.heartbeatMs, () => {
      unsubscribe();
      this.streams.delete(stream);
    });
    if (stream.isClosed) return;
    this.streams.add(stream);
    for (const frame of run.framesAfter(after)) stream.write(frame);
    if (run.terminal) {
      stream.end();
      return;
    }
    unsubscribe = run.subscribe({ onFrame: (frame) => stream.write(frame), onEnd: () => stream.end() });
  }
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const speed = options.speed ?? 1;
  if (!(Number.isFinite(speed) && speed > 0)) throw new Error(`speed must be a positive number, got ${String(speed)}`);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  if (!(Number.isFinite(heartbeatMs) && heartbeatMs >= 1)) throw new Error("heartbeatMs must be at least 1");
  const maxRuns = options.maxRuns ?? 1000;
  if (!(Number.isInteger(maxRuns) && maxRuns >= 1)) throw new Error("maxRuns must be a positive integer");
  if (options.requireKey !== undefined && !options.requireKey.startsWith("nk_")) throw new Error("the required key must start with nk_");
  const seed = options.seed ?? randomInt(0, 2 ** 31);
  if (!Number.isSafeInteger(seed)) throw new Error("seed must be an integer");

  const simulator = new Simulator(
    { seed, speed, requireKey: options.requireKey, heartbeatMs, maxRuns },
    [...BUILTIN_FLOWS, ...(options.flows ?? [])],
  );
  const server = createServer((req, res) => {
    simulator.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, "INTERNAL_ERROR", error instanceof Error ? error.message : "internal error");
      else res.destroy();
    });
  });

  // Requests node:http cannot parse get the same error shape and request id as the rest.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    const body = JSON.stringify({
      detail: tooLarge
        ? { code: "HEADERS_TOO_LARGE", message: "the request headers are too large" }
        : { code: "BAD_REQUEST", message: "the request is not valid HTTP/1.1" },
    });
    socket.end(
      `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${String(Buffer.byteLength(body))}\r\n` +
        `${REQUEST_ID_HEADER}: ${newRequestId()}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: options.port ?? 8080 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${String(port)}${BASE_PATH}`,
    port,
    seed,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        simulator.shutdown();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
    async submitRun(flowRef, body = {}) {
      const ref = parseFlowRef(flowRef);
      if ("error" in ref) throw new Error(ref.error);
      const run = simulator.startRun(ref, RunRequest.parse(body), "job");
      if (run === null) throw new Error(`unknown flow ${flowRef}`);
      return run.executionId;
    },
    debugStats: () => simulator.stats(),
  };
}
