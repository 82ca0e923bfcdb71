import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { TraceClient, type ClientOptions, type RetryInfo } from "../../src/api/client.js";
import { ApiError, ConfigError, isFinal } from "../../src/api/errors.js";
import type { FlowRef } from "../../src/api/paths.js";
import { reply, startRecordingServer, type RecordingServer, type Script } from "../helpers/recordingServer.js";
import { startConnectProxy } from "../helpers/connectProxy.js";

const KEY = "nk_live_7Hq2mZr9VtXb4LcP0sWd";
const FLOW: FlowRef = { org: "acme", project: "ops", slug: "nightly" };
const RUN = "exec_42";
const SCALE = 0.001;
const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

const TRACE_BODY = {
  flowRun: { id: "run_1", flowId: "flow_1", status: "completed", stepCount: 1, unknownField: true },
  steps: [{ stepId: "fetch", attempt: 1, status: "completed", costUsd: "0.001", tokens: { prompt: 1, completion: 2, total: 3 } }],
};
const STEP_BODY = { stepId: "fetch", attempt: 2, loopIndex: 3, status: "failed" };

const servers: RecordingServer[] = [];
const clients: TraceClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(script: Script): Promise<RecordingServer> {
  const server = await startRecordingServer(script);
  servers.push(server);
  return server;
}

function clientFor(baseUrl: string, options: Partial<ClientOptions> = {}): TraceClient {
  const client = new TraceClient({ baseUrl, apiKey: KEY, backoffScale: SCALE, ...options });
  clients.push(client);
  return client;
}

function api(server: RecordingServer): string {
  return `${server.url}/api/v1`;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const err: unknown = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw err;
  return err;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

describe("requests", () => {
  it("sends the key, the API version, the User-Agent and Accept, and validates the body", async () => {
    const server = await serve([reply(200, TRACE_BODY)]);
    const trace = await clientFor(`${api(server)}/`).trace(FLOW, RUN);

    expect(trace.flowRun.id).toBe("run_1");
    expect(trace.steps[0]?.costUsd).toBe("0.001");
    const [request] = server.requests;
    expect(request?.method).toBe("GET");
    expect(request?.rawPath).toBe("/api/v1/seq/acme/ops/nightly/runs/exec_42/trace");
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.headers["x-noukai-api-version"]).toBe("2026-05-31");
    expect(request?.headers["user-agent"]).toBe(`noukai-top/${VERSION} (node ${process.versions.node}; ${process.platform})`);
    expect(request?.headers.accept).toBe("application/json");
  });

  it("builds step trace queries: latest, attempt N, loop_index, attempt=all", async () => {
    const server = await serve((req) =>
      req.query.get("attempt") === "all" ? reply(200, { stepId: "fetch", attempts: [STEP_BODY] }) : reply(200, STEP_BODY),
    );
    const client = clientFor(api(server));
    await client.stepTrace(FLOW, RUN, "fetch");
    const step = await client.stepTrace(FLOW, RUN, "fetch", { attempt: 2, loopIndex: 3 });
    const attempts = await client.stepAttempts(FLOW, RUN, "fetch", { loopIndex: 0 });
    await client.stepAttempts(FLOW, RUN, "fetch");

    expect(step).toMatchObject({ stepId: "fetch", attempt: 2, loopIndex: 3, truncated: false });
    expect(attempts.attempts).toHaveLength(1);
    expect(server.requests.map((r) => r.rawPath)).toEqual([
      "/api/v1/seq/acme/ops/nightly/runs/exec_42/steps/fetch/trace",
      "/api/v1/seq/acme/ops/nightly/runs/exec_42/steps/fetch/trace?attempt=2&loop_index=3",
      "/api/v1/seq/acme/ops/nightly/runs/exec_42/steps/fetch/trace?attempt=all&loop_index=0",
      "/api/v1/seq/acme/ops/nightly/runs/exec_42/steps/fetch/trace?attempt=all",
    ]);
  });

  it("reads job status and posts runs as JSON", async () => {
    const server = await serve((req) => {
      if (req.method === "GET") return reply(200, { executionId: RUN, status: "running" });
      if (req.path.endsWith("/jobs")) return reply(202, { executionId: RUN, status: "pending", blockCount: 2 });
      return reply(200, { status: "completed", executionId: RUN, result: { ok: true } });
    });
    const client = clientFor(api(server));

    expect(await client.jobStatus(FLOW, RUN)).toMatchObject({ executionId: RUN, status: "running" });
    expect(await client.submitJob(FLOW, { message: "hi", trace: true })).toMatchObject({ status: "pending", blockCount: 2 });
    expect(await client.execute(FLOW, { message: "go" })).toMatchObject({ status: "completed", result: { ok: true } });
    expect(server.requests.map((r) => `${r.method} ${r.rawPath}`)).toEqual([
      "GET /api/v1/seq/acme/ops/nightly/jobs/exec_42",
      "POST /api/v1/seq/acme/ops/nightly/jobs",
      "POST /api/v1/seq/acme/ops/nightly/execute",
    ]);
    expect(server.requests[1]?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(server.requests[1]?.body ?? "")).toEqual({ message: "hi", trace: true });
  });

  it("keeps ids holding / ? # .. % (or exactly ..) inside their own segment", async () => {
    const server = await serve([reply(200, TRACE_BODY)]);
    const client = clientFor(api(server));
    const expectedSegment: Record<string, string> = {
      "..": "%2E%2E",
      ".": "%2E",
      "../../admin": "..%2F..%2Fadmin",
      "a/b": "a%2Fb",
      "x?attempt=all": "x%3Fattempt%3Dall",
      "x#frag": "x%23frag",
      "100%": "100%25",
      "%2E%2E": "%252E%252E",
      "sp ace": "sp%20ace",
    };
    for (const id of Object.keys(expectedSegment)) await client.trace(FLOW, id);

    const ids = Object.keys(expectedSegment);
    server.requests.forEach((request, i) => {
      const id = ids[i] ?? "";
      expect(request.rawPath).toBe(`/api/v1/seq/acme/ops/nightly/runs/${expectedSegment[id] ?? ""}/trace`);
      const segments = request.rawPath.split("/");
      expect(segments).toHaveLength(10);
      expect(decodeURIComponent(segments[8] ?? "")).toBe(id);
      expect([...request.query.keys()]).toEqual([]);
    });
  });

  it("keeps a hostile step id and flow parts inside their segments", async () => {
    const server = await serve([reply(200, STEP_BODY)]);
    const flow: FlowRef = { org: "..", project: "a/b", slug: "s?x#y" };
    await clientFor(api(server)).stepTrace(flow, "..", "../%2e%2e?attempt=all", { attempt: 1 });

    expect(server.requests[0]?.rawPath).toBe(
      "/api/v1/seq/%2E%2E/a%2Fb/s%3Fx%23y/runs/%2E%2E/steps/..%2F%252e%252e%3Fattempt%3Dall/trace?attempt=1",
    );
  });
});

describe("proxies", () => {
  const PROXY_VARS = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"];
  let savedEnv: Record<string, string | undefined> = {};

  afterEach(() => {
    for (const name of PROXY_VARS) {
      const value = savedEnv[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    savedEnv = {};
  });

  function setProxyEnv(values: Record<string, string>): void {
    for (const name of PROXY_VARS) {
      savedEnv[name] = process.env[name];
      delete process.env[name];
    }
    Object.assign(process.env, values);
  }

  it("goes through HTTP_PROXY, with the path unchanged", async () => {
    const server = await serve([reply(200, TRACE_BODY)]);
    const proxy = await startConnectProxy();
    try {
      setProxyEnv({ HTTP_PROXY: proxy.url });
      await clientFor(api(server)).trace(FLOW, "..");

      expect(proxy.targets).toEqual([`127.0.0.1:${String(server.port)}`]);
      expect(server.requests[0]?.rawPath).toBe("/api/v1/seq/acme/ops/nightly/runs/%2E%2E/trace");
    } finally {
      await proxy.close();
    }
  });

  it("bypasses the proxy for hosts in NO_PROXY", async () => {
    const server = await serve([reply(200, TRACE_BODY)]);
    const proxy = await startConnectProxy();
    try {
      setProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" });
      await clientFor(api(server)).trace(FLOW, RUN);

      expect(proxy.targets).toEqual([]);
      expect(server.requests).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});

describe("errors", () => {
  const cases: { name: string; status: number; body: unknown; message: string; kind: ApiError["kind"] }[] = [
    {
      name: "detail object",
      status: 404,
      body: { detail: { code: "RUN_NOT_FOUND", message: "run abc not found" } },
      message: "HTTP 404 RUN_NOT_FOUND: run abc not found (request id req_123)",
      kind: "not_found",
    },
    {
      name: "detail string",
      status: 403,
      body: { detail: "key lacks access to acme/ops" },
      message: "HTTP 403: key lacks access to acme/ops (request id req_123)",
      kind: "forbidden",
    },
    {
      name: "detail list (422)",
      status: 422,
      body: { detail: [{ loc: ["query", "attempt"], msg: "not an integer" }] },
      message: "HTTP 422: query.attempt: not an integer (request id req_123)",
      kind: "client",
    },
    {
      name: "proxy message",
      status: 402,
      body: { message: "insufficient credits" },
      message: "HTTP 402: insufficient credits (request id req_123)",
      kind: "credits",
    },
    {
      name: "proxy error",
      status: 401,
      body: { error: "invalid token" },
      message: "HTTP 401: invalid token (request id req_123)",
      kind: "auth",
    },
    {
      name: "HTML page",
      status: 400,
      body: "<html>\r\n<body><h1>400 Bad Request</h1></body>\r\n</html>",
      message: "HTTP 400: <html> <body><h1>400 Bad Request</h1></body> </html> (request id req_123)",
      kind: "client",
    },
  ];
  for (const c of cases) {
    it(`maps a ${c.name} body with its request id, without retrying`, async () => {
      const server = await serve([reply(c.status, c.body, { "x-request-id": "req_123" })]);
      const err = await rejection(clientFor(api(server)).trace(FLOW, RUN));

      expect(err.message).toBe(c.message);
      expect(err).toMatchObject({ kind: c.kind, status: c.status, requestId: "req_123" });
      expect(server.requests).toHaveLength(1);
    });
  }

  it("does not retry 404 RUN_NOT_FOUND or FLOW_NOT_FOUND", async () => {
    const server = await serve((req) =>
      reply(404, {
        detail: req.path.includes("/runs/")
          ? { code: "RUN_NOT_FOUND", message: "no such run" }
          : { code: "FLOW_NOT_FOUND", message: "no such flow" },
      }),
    );
    const client = clientFor(api(server));
    const run = await rejection(client.trace(FLOW, RUN));
    const flow = await rejection(client.jobStatus(FLOW, RUN));

    expect([run.code, flow.code]).toEqual(["RUN_NOT_FOUND", "FLOW_NOT_FOUND"]);
    expect(isFinal(run) && isFinal(flow)).toBe(true);
    expect(server.requests).toHaveLength(2);
  });

  it("names the invalid field of a body that does not match the contract, on one line", async () => {
    const server = await serve([reply(200, { flowRun: { id: 7, status: "running" }, steps: [] }, { "x-request-id": "r9" })]);
    const err = await rejection(clientFor(api(server)).trace(FLOW, RUN));

    expect(err.kind).toBe("bad_response");
    expect(err.message).toMatch(/^HTTP 200 with an unexpected body: flowRun\.id: .*expected string.* \(request id r9\)$/);
    expect(err.message).not.toContain("\n");
    expect(server.requests).toHaveLength(1);
  });

  it("reports a body that is not JSON", async () => {
    const server = await serve([reply(200, "<html>maintenance</html>")]);
    const err = await rejection(clientFor(api(server)).trace(FLOW, RUN));
    expect(err).toMatchObject({ kind: "bad_response", message: "HTTP 200 with a body that is not JSON" });
  });
});

describe("retries", () => {
  it("waits Retry-After after a 429, then retries once", async () => {
    const server = await serve([
      reply(429, { detail: { code: "RATE_LIMITED", message: "slow down" } }, { "retry-after": "2", "x-request-id": "r1" }),
      reply(200, TRACE_BODY, { "x-request-id": "r2" }),
    ]);
    const retries: RetryInfo[] = [];
    const trace = await clientFor(api(server), { onRetry: (info) => retries.push(info) }).trace(FLOW, RUN);

    expect(trace.flowRun.id).toBe("run_1");
    expect(server.requests.map((r) => r.rawPath)).toEqual([
      "/api/v1/seq/acme/ops/nightly/runs/exec_42/trace",
      "/api/v1/seq/acme/ops/nightly/runs/exec_42/trace",
    ]);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.retry).toBe(1);
    expect(retries[0]?.delayMs).toBeCloseTo(2000 * SCALE);
    expect(retries[0]?.error).toMatchObject({ kind: "rate_limited", status: 429, retryAfterMs: 2000, requestId: "r1" });
  });

  it("retries 500, 502, 503, 504 and 408 with growing jittered backoff, then succeeds", async () => {
    const server = await serve([reply(500), reply(502), reply(503), reply(200, TRACE_BODY)]);
    const retries: RetryInfo[] = [];
    await clientFor(api(server), { onRetry: (info) => retries.push(info) }).trace(FLOW, RUN);

    expect(server.requests).toHaveLength(4);
    expect(retries.map((r) => r.error.status)).toEqual([500, 502, 503]);
    retries.forEach((r, i) => {
      expect(r.delayMs).toBeGreaterThanOrEqual(0);
      expect(r.delayMs).toBeLessThan(1000 * 4 ** i * SCALE);
    });

    const other = await serve([reply(504), reply(408), reply(200, TRACE_BODY)]);
    await clientFor(api(other)).trace(FLOW, RUN);
    expect(other.requests).toHaveLength(3);
  });

  it("gives up after maxRetries with the last error", async () => {
    const server = await serve([reply(503, { detail: "overloaded" }, { "x-request-id": "last" })]);
    const err = await rejection(clientFor(api(server), { maxRetries: 2 }).trace(FLOW, RUN));

    expect(server.requests).toHaveLength(3);
    expect(err).toMatchObject({ kind: "server", status: 503, message: "HTTP 503: overloaded (request id last)" });
    expect(isFinal(err)).toBe(false);
  });

  it("never retries a POST", async () => {
    const server = await serve([reply(503)]);
    const err = await rejection(clientFor(api(server)).submitJob(FLOW, { message: "once" }));
    expect(err.status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it("stops waiting between tries when the signal aborts", async () => {
    const server = await serve([reply(429, "", { "retry-after": "60" })]);
    const controller = new AbortController();
    const reason = new Error("user quit");
    const client = clientFor(api(server), { backoffScale: 1, onRetry: () => controller.abort(reason) });

    await expect(client.trace(FLOW, RUN, { signal: controller.signal })).rejects.toBe(reason);
    expect(server.requests).toHaveLength(1);
  });

  it("aborts a request waiting for headers", async () => {
    const server = await serve([() => undefined]); // never answers
    const controller = new AbortController();
    const pending = clientFor(api(server)).trace(FLOW, RUN, { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
  });
});

describe("network failures", () => {
  it("retries a refused connection, then fails with one redacted line", async () => {
    const port = await closedPort();
    const retries: RetryInfo[] = [];
    const err = await rejection(
      clientFor(`http://127.0.0.1:${String(port)}/api/v1`, { maxRetries: 1, onRetry: (i) => retries.push(i) }).trace(
        FLOW,
        RUN,
      ),
    );

    expect(retries).toHaveLength(1);
    expect(err).toMatchObject({ kind: "network", status: null, transient: true });
    expect(err.message).toBe(`cannot connect to http://127.0.0.1:${String(port)}: connect ECONNREFUSED 127.0.0.1:${String(port)}`);
    expect(err.stack ?? "").not.toContain(KEY);
  });

  it("retries a GET whose connection drops before the answer or inside its body", async () => {
    const server = await serve([
      (_req, res) => res.socket?.destroy(),
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
        res.write('{"flowRun":{"id":');
        setImmediate(() => res.socket?.destroy());
      },
      reply(200, TRACE_BODY),
    ]);
    const retries: RetryInfo[] = [];
    const trace = await clientFor(api(server), { onRetry: (i) => retries.push(i) }).trace(FLOW, RUN);

    expect(trace.flowRun.id).toBe("run_1");
    expect(server.requests).toHaveLength(3);
    expect(retries.map((r) => [r.error.kind, r.error.status])).toEqual([
      ["network", null],
      ["network", null],
    ]);
  });

  it("times out a server that never answers or stalls inside a JSON body", async () => {
    const server = await serve([
      () => undefined, // accepts the request, never answers
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"flowRun":'); // then silence
      },
    ]);
    const client = clientFor(api(server), { headersTimeoutMs: 50, maxRetries: 0 });
    const noHeaders = await rejection(client.trace(FLOW, RUN));
    const stalled = await rejection(client.trace(FLOW, RUN));

    expect(noHeaders).toMatchObject({ kind: "timeout", status: null, transient: true });
    expect(noHeaders.message).toBe(`no response headers from ${server.url} (UND_ERR_HEADERS_TIMEOUT)`);
    expect(stalled.message).toBe(`the response body stalled from ${server.url} (UND_ERR_BODY_TIMEOUT)`);
  });

  it("reports a TLS failure as final (https to a plain HTTP port)", async () => {
    const server = await serve([reply(200, TRACE_BODY)]);
    const err = await rejection(clientFor(`https://127.0.0.1:${String(server.port)}/api/v1`).trace(FLOW, RUN));

    expect(err.kind).toBe("network");
    expect(err.message).toMatch(/^TLS failure with https:\/\/127\.0\.0\.1:\d+: /);
    expect(isFinal(err)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it("reports a DNS failure on one line", async () => {
    const err = await rejection(clientFor("http://api.noukai-top-test.invalid/api/v1", { maxRetries: 0 }).trace(FLOW, RUN));

    expect(err.kind).toBe("network");
    expect(err.message).toMatch(/^cannot resolve http:\/\/api\.noukai-top-test\.invalid: .*(ENOTFOUND|EAI_AGAIN)/);
    expect(err.message).not.toContain("\n");
    expect(String(err)).not.toContain(KEY);
  });

  it("fails the requests of a closed client", async () => {
    const server = await serve([reply(200, TRACE_BODY)]);
    const client = clientFor(api(server));
    await client.close();
    await client.close();
    const err = await rejection(client.trace(FLOW, RUN));
    expect(err).toMatchObject({ kind: "client", transient: false });
  });
});

describe("the API key", () => {
  it("never appears in an error from a server that echoes it back", async () => {
    const server = await serve([
      reply(
        401,
        { detail: { code: `BAD_KEY_${KEY}`, message: `the key Bearer ${KEY} is not valid for\x1b]0;${KEY}\x07 acme` } },
        { "x-request-id": `req_${KEY}` },
      ),
      reply(500, `<html>upstream said: Authorization: Bearer ${KEY}</html>`),
    ]);
    const client = clientFor(api(server), { maxRetries: 0 });

    for (const err of [await rejection(client.trace(FLOW, RUN)), await rejection(client.trace(FLOW, RUN))]) {
      for (const text of [err.message, String(err), err.stack ?? "", inspect(err), JSON.stringify(err)]) {
        expect(text).not.toContain(KEY);
        expect(text).not.toContain(KEY.slice(3, 15));
      }
      expect(err.message).toContain("nk_…");
      expect(err.message).not.toMatch(/[\x00-\x1f\x7f]/);
    }
  });

  it("is refused without the nk_ prefix, without being echoed", () => {
    for (const apiKey of ["sk_live_secretvalue123", "", "NK_upper", "nk_", "nk_has space"]) {
      let caught: unknown;
      try {
        new TraceClient({ baseUrl: "http://127.0.0.1:1/api/v1", apiKey });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      if (apiKey.length > 3) expect(String(caught)).not.toContain(apiKey.slice(3));
    }
  });

  it("refuses base URLs that are not http(s) or carry credentials", () => {
    for (const baseUrl of ["ftp://host/api/v1", "not a url", "https://user:pw@host/api/v1", "https://h/api/v1?x=1"]) {
      expect(() => new TraceClient({ baseUrl, apiKey: KEY })).toThrow(ConfigError);
    }
  });
});

describe("redirects", () => {
  it("follows a redirect within the same origin", async () => {
    const server = await serve([reply(307, "", { location: "/api/v1/moved/trace" }), reply(200, TRACE_BODY)]);
    await clientFor(api(server)).trace(FLOW, RUN);

    expect(server.requests.map((r) => r.rawPath)).toEqual([
      "/api/v1/seq/acme/ops/nightly/runs/exec_42/trace",
      "/api/v1/moved/trace",
    ]);
    expect(server.requests[1]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("does not follow a redirect to another origin, so the key stays home", async () => {
    const elsewhere = await serve([reply(200, TRACE_BODY)]);
    const server = await serve([reply(302, "", { location: `${elsewhere.url}/steal`, "x-request-id": "redir" })]);
    const err = await rejection(clientFor(api(server)).trace(FLOW, RUN));

    expect(err).toMatchObject({ kind: "redirect", status: 302, requestId: "redir" });
    expect(err.message).toBe(
      `HTTP 302 redirect to another origin (${elsewhere.url}) not followed: the API key is only sent to ${server.url} (request id redir)`,
    );
    expect(isFinal(err)).toBe(true);
    expect(elsewhere.requests).toHaveLength(0);
    expect(server.requests).toHaveLength(1);
  });

  it("does not follow a redirect that only changes the port, nor the stream's", async () => {
    const elsewhere = await serve([reply(200, "data: {}\n\n", { "content-type": "text/event-stream" })]);
    const server = await serve([reply(301, "", { location: `http://127.0.0.1:${String(elsewhere.port)}/x` })]);
    const err = await rejection(clientFor(api(server)).openStream(FLOW, RUN, {}));

    expect(err.kind).toBe("redirect");
    expect(elsewhere.requests).toHaveLength(0);
  });

  it("gives up on a redirect loop", async () => {
    const server = await serve([reply(302, "", { location: "/again" })]);
    const err = await rejection(clientFor(api(server)).trace(FLOW, RUN));

    expect(err.message).toBe("HTTP 302 after 5 redirects: not followed");
    expect(server.requests).toHaveLength(6);
  });
});

describe("openStream", () => {
  const SSE = "event: run_started\ndata: {\"runId\":\"r\"}\n\n: heartbeat\n\n";

  it("sends SSE headers and returns the raw body and request id", async () => {
    const server = await serve([reply(200, SSE, { "content-type": "Text/Event-Stream; charset=UTF-8", "x-request-id": "s1" })]);
    const stream = await clientFor(api(server)).openStream(FLOW, RUN, { lastEventId: "41" });

    expect(stream.requestId).toBe("s1");
    expect(await readAll(stream.body)).toBe(SSE);
    const [request] = server.requests;
    expect(request?.rawPath).toBe("/api/v1/seq/acme/ops/nightly/runs/exec_42/trace/stream");
    expect(request?.headers).toMatchObject({
      accept: "text/event-stream",
      "cache-control": "no-cache",
      "last-event-id": "41",
      authorization: `Bearer ${KEY}`,
      "x-noukai-api-version": "2026-05-31",
    });
  });

  it("omits Last-Event-ID when there is none or it cannot be a header", async () => {
    const server = await serve([reply(200, "", { "content-type": "text/event-stream" })]);
    const client = clientFor(api(server));
    await readAll((await client.openStream(FLOW, RUN, { lastEventId: null })).body);
    await readAll((await client.openStream(FLOW, RUN, { lastEventId: "bad\u2028id" })).body);

    expect(server.requests.map((r) => r.headers["last-event-id"])).toEqual([undefined, undefined]);
  });

  it("delivers bytes as they arrive and ends when the signal aborts", async () => {
    const server = await serve([
      (_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": first\n\n"); // then stays open and silent
      },
    ]);
    const controller = new AbortController();
    const stream = await clientFor(api(server)).openStream(FLOW, RUN, { signal: controller.signal });
    const iterator = stream.body[Symbol.asyncIterator]();
    const first = await iterator.next();

    expect(Buffer.from(first.value ?? new Uint8Array()).toString("utf8")).toBe(": first\n\n");
    controller.abort(new Error("watch ended"));
    await expect(iterator.next()).rejects.toThrow();
  });

  const finalCases: { name: string; script: Script; kind: ApiError["kind"]; status: number; message: string }[] = [
    {
      name: "a 204",
      script: [reply(204)],
      kind: "bad_response",
      status: 204,
      message: "HTTP 204: the server has no stream for this run",
    },
    {
      name: "a JSON answer",
      script: [reply(200, { events: [] })],
      kind: "bad_response",
      status: 200,
      message: 'HTTP 200 with content type "application/json", not text/event-stream',
    },
    {
      name: "a 401",
      script: [reply(401, { detail: "Not authenticated" })],
      kind: "auth",
      status: 401,
      message: "HTTP 401: Not authenticated",
    },
    {
      name: "a 403",
      script: [reply(403, { detail: { code: "FORBIDDEN", message: "no access" } })],
      kind: "forbidden",
      status: 403,
      message: "HTTP 403 FORBIDDEN: no access",
    },
    {
      name: "a 404",
      script: [reply(404, { detail: { code: "RUN_NOT_FOUND", message: "no run" } })],
      kind: "not_found",
      status: 404,
      message: "HTTP 404 RUN_NOT_FOUND: no run",
    },
  ];
  for (const c of finalCases) {
    it(`fails finally on ${c.name}`, async () => {
      const server = await serve(c.script);
      const err = await rejection(clientFor(api(server)).openStream(FLOW, RUN, {}));

      expect(err).toMatchObject({ kind: c.kind, status: c.status, message: c.message });
      expect(isFinal(err)).toBe(true);
      expect(server.requests).toHaveLength(1);
    });
  }

  it("maps 429 with its Retry-After and 5xx as transient, without retrying itself", async () => {
    const server = await serve([reply(429, "", { "retry-after": "7" }), reply(502, "<html>bad gateway</html>")]);
    const client = clientFor(api(server));
    const limited = await rejection(client.openStream(FLOW, RUN, {}));
    const gateway = await rejection(client.openStream(FLOW, RUN, {}));

    expect(limited).toMatchObject({ kind: "rate_limited", status: 429, retryAfterMs: 7000 });
    expect(gateway).toMatchObject({ kind: "server", status: 502, message: "HTTP 502: <html>bad gateway</html>" });
    expect(isFinal(limited) || isFinal(gateway)).toBe(false);
    expect(server.requests).toHaveLength(2);
  });
});
