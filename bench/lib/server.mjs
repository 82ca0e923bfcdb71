// The benchmark's trace server: a tiny node:http server that serves generated workloads
// over loopback. It runs in its own process (`node bench/lib/server.mjs [port]`) so that
// writing the bytes never competes with the measured consumer for its event loop.
//
// The scenario is encoded in the execution id:
//   ingest-<pairs>            run_started, <pairs> step_started/step_completed pairs, flow_completed; 64 KB chunks
//   loop-<events>-<steps>     a long loop over <steps> steps, <events> events, generated while sent; 64 KB chunks
//   frames-<bytes>-<count>    <count> step_output frames of <bytes> bytes each; 16 KB chunks
//   idle-<tag>                run_started + one step_started, then the stream stays open (run "running")
// GET /_bench/prepare?id=<executionId> builds and caches a body before it is timed.
import http from "node:http";
import {
  idleStreamText,
  idleTraceJson,
  ingestStreamText,
  ingestTraceJson,
  largeFramesText,
  loopStreamText,
} from "./workload.mjs";

const INGEST_CHUNK = 64 * 1024;
const FRAMES_CHUNK = 16 * 1024;
const MAX_CACHED_BODIES = 3;

function parseScenario(executionId) {
  let m = /^ingest-(\d+)$/.exec(executionId);
  if (m) return { kind: "ingest", pairs: Number(m[1]), chunk: INGEST_CHUNK };
  m = /^loop-(\d+)-(\d+)$/.exec(executionId);
  if (m) return { kind: "loop", events: Number(m[1]), steps: Number(m[2]), chunk: INGEST_CHUNK };
  m = /^frames-(\d+)-(\d+)$/.exec(executionId);
  if (m) return { kind: "frames", bytes: Number(m[1]), count: Number(m[2]), chunk: FRAMES_CHUNK };
  if (/^idle-[\w.-]+$/.test(executionId)) return { kind: "idle" };
  return null;
}

/** Small LRU of generated bodies (Buffers), keyed by execution id and kind. */
const cache = new Map();
function cached(key, build) {
  let value = cache.get(key);
  if (value === undefined) {
    value = build();
    if (cache.size >= MAX_CACHED_BODIES) cache.delete(cache.keys().next().value);
  } else {
    cache.delete(key);
  }
  cache.set(key, value);
  return value;
}

function streamBody(executionId, scenario) {
  return cached(`stream:${executionId}`, () => {
    const pieces =
      scenario.kind === "ingest"
        ? [...ingestStreamText(executionId, scenario.pairs)]
        : largeFramesText(executionId, scenario.bytes, scenario.count);
    return Buffer.concat(pieces.map((p) => Buffer.from(p, "utf8")));
  });
}

function traceBody(executionId, scenario) {
  if (scenario.kind === "idle") return Buffer.from(idleTraceJson(executionId, idleStartedAt(executionId)));
  const steps = scenario.kind === "ingest" ? scenario.pairs : scenario.kind === "loop" ? scenario.steps : scenario.count;
  return cached(`trace:${executionId}`, () => Buffer.from(ingestTraceJson(executionId, steps)));
}

const idleStarts = new Map();
function idleStartedAt(executionId) {
  if (!idleStarts.has(executionId)) idleStarts.set(executionId, Date.now());
  return idleStarts.get(executionId);
}

async function writeChunked(res, buffer, chunkBytes) {
  for (let offset = 0; offset < buffer.length && !res.destroyed; offset += chunkBytes) {
    if (!res.write(buffer.subarray(offset, offset + chunkBytes))) {
      // Whichever comes first; the other listener is removed so that none pile up.
      await new Promise((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.once("drain", done);
        res.once("close", done);
      });
    }
  }
}

async function writeGenerated(res, pieces, chunkBytes) {
  let pending = Buffer.alloc(0);
  for (const piece of pieces) {
    pending = Buffer.concat([pending, Buffer.from(piece, "utf8")]);
    const whole = pending.length - (pending.length % chunkBytes);
    await writeChunked(res, pending.subarray(0, whole), chunkBytes);
    pending = pending.subarray(whole);
    if (res.destroyed) return;
  }
  await writeChunked(res, pending, chunkBytes);
}

let requestCounter = 0;

function sendJson(res, status, body) {
  const bytes = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(bytes) });
  res.end(bytes);
}

async function handleStream(res, executionId, scenario) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  if (scenario.kind === "idle") {
    idleStartedAt(executionId);
    res.write(idleStreamText(executionId));
    return; // stays open until the client goes away
  }
  if (scenario.kind === "loop") {
    await writeGenerated(res, loopStreamText(executionId, scenario.events, scenario.steps), scenario.chunk);
  } else {
    await writeChunked(res, streamBody(executionId, scenario), scenario.chunk);
  }
  res.end();
}

const ROUTE = /^\/api\/v1\/seq\/([^/]+)\/([^/]+)\/([^/]+)\/(?:runs\/([^/]+)\/(trace\/stream|trace|steps\/([^/]+)\/trace)|jobs\/([^/]+))$/;

function handle(req, res) {
  res.setHeader("x-request-id", `bench-${++requestCounter}`);
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (url.pathname === "/_bench/prepare") {
    const executionId = url.searchParams.get("id") ?? "";
    const scenario = parseScenario(executionId);
    if (!scenario) return sendJson(res, 404, { detail: { code: "RUN_NOT_FOUND", message: executionId } });
    if (scenario.kind === "ingest" || scenario.kind === "frames") streamBody(executionId, scenario);
    if (scenario.kind !== "idle") traceBody(executionId, scenario);
    return sendJson(res, 200, { ok: true });
  }
  if (!/^Bearer nk_/.test(req.headers.authorization ?? "")) {
    return sendJson(res, 401, { detail: { code: "UNAUTHORIZED", message: "missing or bad key" } });
  }
  const m = ROUTE.exec(url.pathname);
  const executionId = m ? decodeURIComponent(m[4] ?? m[7] ?? "") : "";
  const scenario = parseScenario(executionId);
  if (!m || !scenario) return sendJson(res, 404, { detail: { code: "RUN_NOT_FOUND", message: `no run ${executionId}` } });
  const running = scenario.kind === "idle";
  if (m[7] !== undefined) return sendJson(res, 200, { executionId, status: running ? "running" : "completed" });
  if (m[5] === "trace/stream") {
    handleStream(res, executionId, scenario).catch((error) => {
      process.stderr.write(`bench server: ${error}\n`);
      res.destroy();
    });
    return;
  }
  if (m[5] === "trace") return sendJson(res, 200, traceBody(executionId, scenario));
  const trace = JSON.parse(traceBody(executionId, scenario).toString("utf8"));
  const stepId = decodeURIComponent(m[6]);
  const step = trace.steps.find((s) => s.stepId === stepId);
  if (!step) return sendJson(res, 404, { detail: { code: "STEP_NOT_FOUND", message: stepId } });
  return sendJson(res, 200, url.searchParams.get("attempt") === "all" ? { stepId, attempts: [step] } : step);
}

export function startBenchServer(port) {
  const server = http.createServer(handle);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] ?? 8080);
  startBenchServer(port).then(
    (server) => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`),
    (error) => {
      process.stderr.write(`bench server cannot listen on 127.0.0.1:${port}: ${error.message}\n`);
      process.exit(1);
    },
  );
}
