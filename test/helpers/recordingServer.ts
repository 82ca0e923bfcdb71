// A scriptable HTTP server on 127.0.0.1 (port 0) that records every request.
//
//   const server = await startRecordingServer([
//     reply(503),                                   // 1st request
//     reply(200, { flowRun: ..., steps: [] }),      // 2nd and every later request
//   ]);
//   ... call server.url + "/api/v1" ...
//   server.requests[0].rawPath   // exactly what was on the request line
//   await server.close();
//
// The script is either an array (request i gets entry i; the last entry answers
// every request after it) or a function of the request and its index. An entry
// is a ReplySpec (status, headers, body), or a Responder that writes the answer
// itself (SSE, stalls, dropped sockets): it receives Node's ServerResponse.
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  /** The request target exactly as sent (path and query, not decoded or normalised). */
  readonly rawPath: string;
  /** rawPath up to the first `?`. */
  readonly path: string;
  /** Parsed from the part of rawPath after the first `?`. */
  readonly query: URLSearchParams;
  /** Lower-case names, as Node parses them. */
  readonly headers: IncomingHttpHeaders;
  /** The request body as UTF-8 text ("" for none). */
  readonly body: string;
}

export interface ReplySpec {
  readonly status?: number;
  readonly headers?: OutgoingHttpHeaders;
  /** A string or bytes are sent as is; anything else as JSON (with a JSON content type). */
  readonly body?: unknown;
}

/** Writes the whole answer itself; the server waits for the returned promise only to report errors. */
export type Responder = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export type Reply = ReplySpec | Responder;

export type Script = readonly Reply[] | ((req: RecordedRequest, index: number) => Reply);

export interface RecordingServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Replaces the script; request numbering continues. */
  setScript(script: Script): void;
  /** Resolves once `count` requests have arrived in total. */
  waitForRequests(count: number): Promise<readonly RecordedRequest[]>;
  /** Closes the server and destroys open connections (stalled streams included). */
  close(): Promise<void>;
}

/** A ReplySpec: `reply(404, { detail: { code: "RUN_NOT_FOUND", message: "..." } }, { "x-request-id": "r1" })`. */
export function reply(status: number, body?: unknown, headers?: OutgoingHttpHeaders): ReplySpec {
  return { status, ...(body === undefined ? {} : { body }), ...(headers === undefined ? {} : { headers }) };
}

function pickReply(script: Script, req: RecordedRequest, index: number): Reply {
  if (typeof script === "function") return script(req, index);
  const entry = script[Math.min(index, script.length - 1)];
  return entry ?? reply(500, "recording server: empty script");
}

function writeSpec(spec: ReplySpec, res: ServerResponse): void {
  const headers: OutgoingHttpHeaders = { ...spec.headers };
  let payload: string | Uint8Array = "";
  if (typeof spec.body === "string" || spec.body instanceof Uint8Array) payload = spec.body;
  else if (spec.body !== undefined) {
    payload = JSON.stringify(spec.body);
    headers["content-type"] ??= "application/json";
  }
  res.writeHead(spec.status ?? 200, headers);
  res.end(payload);
}

export async function startRecordingServer(initialScript: Script = [reply(200, {})]): Promise<RecordingServer> {
  let script = initialScript;
  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((incoming, res) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const rawPath = incoming.url ?? "";
      const queryStart = rawPath.indexOf("?");
      const recorded: RecordedRequest = {
        method: incoming.method ?? "",
        rawPath,
        path: queryStart === -1 ? rawPath : rawPath.slice(0, queryStart),
        query: new URLSearchParams(queryStart === -1 ? "" : rawPath.slice(queryStart + 1)),
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const index = requests.length;
      requests.push(recorded);
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      const answer = pickReply(script, recorded, index);
      if (typeof answer === "function") {
        Promise.resolve(answer(recorded, res)).catch((err: unknown) => {
          res.destroy(err instanceof Error ? err : new Error(String(err)));
        });
      } else {
        writeSpec(answer, res);
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${String(port)}`,
    port,
    requests,
    setScript(next) {
      script = next;
    },
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve(requests);
      return new Promise((resolve) => {
        waiters.push({ count, resolve: () => resolve(requests) });
      });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
