// A scriptable trace server on 127.0.0.1 (port 0) for stream fault tests. It
// answers the four routes the monitor uses and records every request:
//
//   const server = await startSseServer({
//     streams: [
//       sseStream([{ write: frame("step_started", { stepId: "a" }, { id: "1" }) }, { write: "event: step_st" }, "reset"]),
//       sseStream([{ write: frames }, "end"]),        // 2nd and every later connection
//     ],
//     jobStatus: [reply(200, { executionId: "x", status: "running" })],
//   });
//   ... new TraceClient({ baseUrl: server.baseUrl, apiKey: "nk_..." }) ...
//   server.requests.filter((r) => r.route === "stream")[1].headers["last-event-id"]
//   await server.close();
//
// Each route's script is a list: connection or request i of that route gets entry
// i, the last entry answers every later one. A stream entry is either a plain
// reply (503, 429 with Retry-After, 401, JSON instead of a stream...) or a list of
// steps: write raw bytes, wait, trickle bytes slowly, then end cleanly, reset the
// connection, or stall with the socket open until the client leaves.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";

export type Route = "stream" | "trace" | "job" | "steps" | "other";

export interface RecordedRequest {
  readonly route: Route;
  readonly method: string;
  /** The request target exactly as sent. */
  readonly rawPath: string;
  /** Lower-case names (Last-Event-ID is `headers["last-event-id"]`). */
  readonly headers: IncomingHttpHeaders;
  /** Parsed query (attempt, loop_index). */
  readonly query: URLSearchParams;
  /** Decoded step id of a steps route, else null. */
  readonly stepId: string | null;
  /** Epoch ms of arrival. */
  readonly at: number;
}

export interface PlainReply {
  readonly kind: "reply";
  readonly status: number;
  readonly headers?: OutgoingHttpHeaders;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
}

export type StreamStep =
  /** One write of these bytes. */
  | { readonly write: string | Uint8Array }
  /** Pause before the next step. */
  | { readonly wait: number }
  /** Writes `bytes` in pieces of `size` bytes (default 1), one every `everyMs`. */
  | { readonly trickle: string | Uint8Array; readonly size?: number; readonly everyMs: number }
  /** Ends the response cleanly (the terminating chunk is sent). */
  | "end"
  /** Destroys the connection with a TCP reset, mid-body. */
  | "reset"
  /** Leaves the socket open and silent until the client goes away or the server closes. */
  | "stall";

export interface StreamReply {
  readonly kind: "stream";
  readonly steps: readonly StreamStep[];
  /** Default `text/event-stream`. */
  readonly contentType?: string;
  readonly headers?: OutgoingHttpHeaders;
}

export type Reply = PlainReply | StreamReply;

export interface SseServerScript {
  /** Answers of the live stream route, one per connection. Default: an empty stream that ends. */
  readonly streams?: readonly Reply[];
  /** Answers of the trace route. Default: 404 RUN_NOT_FOUND. */
  readonly trace?: readonly Reply[];
  /** Answers of the job status route. Default: 404 RUN_NOT_FOUND. */
  readonly jobStatus?: readonly Reply[];
  /** Answers of the step trace route, per request (step id, query). Default: 404 STEP_NOT_FOUND. */
  readonly steps?: (stepId: string, query: URLSearchParams) => Reply;
}

export interface SseServerOptions {
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface SseServer {
  /** `http://127.0.0.1:<port>/api/v1` (`https://` with the tls option). */
  readonly baseUrl: string;
  readonly requests: readonly RecordedRequest[];
  /** Requests of one route, in order. */
  requestsOf(route: Route): RecordedRequest[];
  /** Stream connections whose response has been fully written or torn down. */
  readonly finishedStreams: number;
  /** Resolves once `count` requests of `route` have arrived. */
  waitForRequests(route: Route, count: number): Promise<RecordedRequest[]>;
  setScript(script: SseServerScript): void;
  /** Closes the server and destroys every open connection (stalled streams included). */
  close(): Promise<void>;
}

export function reply(status: number, body?: unknown, headers?: OutgoingHttpHeaders): PlainReply {
  return { kind: "reply", status, ...(body === undefined ? {} : { body }), ...(headers === undefined ? {} : { headers }) };
}

export function sseStream(
  steps: readonly StreamStep[],
  options: { contentType?: string; headers?: OutgoingHttpHeaders } = {},
): StreamReply {
  return { kind: "stream", steps, ...options };
}

/** One SSE frame: `event:` (unless null), `id:` when given, one `data:` line of JSON, a blank line. */
export function frame(
  event: string | null,
  data: unknown,
  options: { id?: string; eol?: "\n" | "\r\n" | "\r" } = {},
): string {
  const eol = options.eol ?? "\n";
  let text = "";
  if (event !== null) text += `event: ${event}${eol}`;
  if (options.id !== undefined) text += `id: ${options.id}${eol}`;
  return `${text}data: ${typeof data === "string" ? data : JSON.stringify(data)}${eol}${eol}`;
}

const ROUTE =
  /^\/api\/v1\/seq\/[^/?]+\/[^/?]+\/[^/?]+\/(?:runs\/[^/?]+\/(trace\/stream|trace|steps\/([^/?]+)\/trace)|jobs\/[^/?]+)(?:\?|$)/;

function routeOf(rawPath: string): { route: Route; stepId: string | null } {
  const m = ROUTE.exec(rawPath);
  if (m === null) return { route: "other", stepId: null };
  if (m[1] === undefined) return { route: "job", stepId: null };
  if (m[1] === "trace/stream") return { route: "stream", stepId: null };
  if (m[1] === "trace") return { route: "trace", stepId: null };
  return { route: "steps", stepId: decodeURIComponent(m[2] ?? "") };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function writePlain(res: ServerResponse, spec: PlainReply): void {
  const headers: OutgoingHttpHeaders = { ...spec.headers };
  let body = "";
  if (typeof spec.body === "string") body = spec.body;
  else if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers["content-type"] ??= "application/json";
  }
  res.writeHead(spec.status, headers);
  res.end(body);
}

/** Resolves when `res` accepted the write (or the connection went away). */
function write(res: ServerResponse, bytes: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) {
      resolve();
      return;
    }
    res.write(bytes, () => resolve());
  });
}

async function writeStream(res: ServerResponse, spec: StreamReply): Promise<void> {
  res.writeHead(200, { "content-type": spec.contentType ?? "text/event-stream", "cache-control": "no-cache", ...spec.headers });
  res.flushHeaders();
  for (const step of spec.steps) {
    if (res.destroyed) return;
    if (step === "end") {
      res.end();
      return;
    }
    if (step === "reset") {
      res.socket?.resetAndDestroy();
      return;
    }
    if (step === "stall") {
      await new Promise<void>((resolve) => res.once("close", () => resolve()));
      return;
    }
    if ("write" in step) await write(res, step.write);
    else if ("wait" in step) await delay(step.wait);
    else {
      const bytes = typeof step.trickle === "string" ? Buffer.from(step.trickle) : step.trickle;
      const size = step.size ?? 1;
      for (let i = 0; i < bytes.length && !res.destroyed; i += size) {
        await write(res, bytes.subarray(i, i + size));
        await delay(step.everyMs);
      }
    }
  }
  // A script without an ending step ends cleanly.
  res.end();
}

export async function startSseServer(initial: SseServerScript = {}, options: SseServerOptions = {}): Promise<SseServer> {
  let script = initial;
  const requests: RecordedRequest[] = [];
  const counts: Record<Route, number> = { stream: 0, trace: 0, job: 0, steps: 0, other: 0 };
  const waiters: { route: Route; count: number; resolve: (r: RecordedRequest[]) => void }[] = [];
  const sockets = new Set<Socket>();
  let finishedStreams = 0;

  const requestsOf = (route: Route): RecordedRequest[] => requests.filter((r) => r.route === route);
  const pick = (list: readonly Reply[] | undefined, index: number, fallback: Reply): Reply =>
    list === undefined || list.length === 0 ? fallback : (list[Math.min(index, list.length - 1)] ?? fallback);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const rawPath = req.url ?? "/";
    const { route, stepId } = routeOf(rawPath);
    const queryStart = rawPath.indexOf("?");
    const recorded: RecordedRequest = {
      route,
      method: req.method ?? "GET",
      rawPath,
      headers: req.headers,
      query: new URLSearchParams(queryStart === -1 ? "" : rawPath.slice(queryStart + 1)),
      stepId,
      at: Date.now(),
    };
    requests.push(recorded);
    const index = counts[route]++;
    for (const waiter of [...waiters]) {
      if (waiter.route === route && counts[route] >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(requestsOf(route));
      }
    }
    res.setHeader("x-request-id", `req-${String(requests.length)}`);
    let answer: Reply;
    switch (route) {
      case "stream":
        answer = pick(script.streams, index, sseStream(["end"]));
        break;
      case "trace":
        answer = pick(script.trace, index, reply(404, { detail: { code: "RUN_NOT_FOUND", message: "no such run" } }));
        break;
      case "job":
        answer = pick(script.jobStatus, index, reply(404, { detail: { code: "RUN_NOT_FOUND", message: "no such run" } }));
        break;
      case "steps":
        answer =
          script.steps?.(stepId ?? "", recorded.query) ??
          reply(404, { detail: { code: "STEP_NOT_FOUND", message: "no such step" } });
        break;
      default:
        answer = reply(404, { detail: "no such route" });
    }
    if (answer.kind === "reply") {
      writePlain(res, answer);
      return;
    }
    res.once("close", () => {
      finishedStreams += 1;
    });
    writeStream(res, answer).catch(() => res.destroy());
  };
  const server = options.tls === undefined ? createServer(handle) : createHttpsServer(options.tls, handle);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${String(port)}/api/v1`,
    requests,
    requestsOf,
    get finishedStreams() {
      return finishedStreams;
    },
    waitForRequests(route, count) {
      if (counts[route] >= count) return Promise.resolve(requestsOf(route));
      return new Promise((resolve) => waiters.push({ route, count, resolve }));
    },
    setScript(next) {
      script = next;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
