// The server's HTTP surface under hostile or careless clients: errors in PROTOCOL.md's
// shape, body limits, paths that try to escape their route, and streams.
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSegment, paths } from "../../src/api/paths.js";
import { startServer, type FlowDefinition, type RunningServer } from "../../src/server/index.js";
import { AUTH, api, eventually, parseSse, raw, readStream, submitJob } from "./support.js";

const GRADE3 = "acme/spelling/grade-3";
const GRADE3_REF = { org: "acme", project: "spelling", slug: "grade-3" };
/** One step that takes a minute: the run stays active for the whole test. */
const SLOW: FlowDefinition = {
  ref: "test/slow/one-long-step",
  steps: [{ id: "think", name: "Think for a minute", model: "gpt-4o", durationMs: 60_000 }],
};
const JSON_HEADERS = { ...AUTH, "Content-Type": "application/json" };

let server: RunningServer;
let finishedRun: string;

beforeAll(async () => {
  server = await startServer({ port: 0, speed: 100, seed: 7, flows: [SLOW], heartbeatMs: 20 });
  finishedRun = await submitJob(server, GRADE3);
  await readStream(server, GRADE3, finishedRun);
});

afterAll(async () => {
  await server.close();
});

function detail(res: { json: <T>() => T }): { code: string; message: string; errors?: unknown[] } {
  return res.json<{ detail: { code: string; message: string; errors?: unknown[] } }>().detail;
}

describe("errors", () => {
  it("every response has an X-Request-ID, errors included", async () => {
    const ok = await raw(server, "GET", api(paths.trace(GRADE3_REF, finishedRun)));
    const missing = await raw(server, "GET", api("/nothing/here"));
    const stream = await readStream(server, GRADE3, finishedRun);
    const ids = [ok, missing, stream].map((res) => res.headers["x-request-id"]);
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(new Set(ids).size).toBe(3);
    expect(ok.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("401 for a missing key or one without the nk_ prefix", async () => {
    const path = api(paths.trace(GRADE3_REF, finishedRun));
    const none = await raw(server, "GET", path, { headers: {} });
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toContain("Bearer");
    expect(detail(none).code).toBe("UNAUTHORIZED");
    const wrongPrefix = await raw(server, "GET", path, { headers: { Authorization: "Bearer sk_live_123" } });
    expect(wrongPrefix.status).toBe(401);
    expect(wrongPrefix.text).not.toContain("sk_live_123");
  });

  it("unknown routes are 404, wrong methods 405 with Allow, the step protocol 501", async () => {
    const unknown = await raw(server, "GET", api("/seq/acme/spelling/grade-3/runs"));
    expect([unknown.status, detail(unknown).code]).toEqual([404, "NOT_FOUND"]);
    const outside = await raw(server, "GET", "/api/v2/seq/acme/spelling/grade-3/execute");
    expect(outside.status).toBe(404);

    const getExecute = await raw(server, "GET", api(paths.execute(GRADE3_REF)));
    expect([getExecute.status, getExecute.headers.allow, detail(getExecute).code]).toEqual([405, "POST", "METHOD_NOT_ALLOWED"]);
    const deleteTrace = await raw(server, "DELETE", api(paths.trace(GRADE3_REF, finishedRun)));
    expect([deleteTrace.status, deleteTrace.headers.allow]).toEqual([405, "GET"]);

    const step = await raw(server, "POST", api(paths.step(GRADE3_REF)), { headers: JSON_HEADERS, body: "{}" });
    expect([step.status, detail(step).code]).toEqual([501, "NOT_IMPLEMENTED"]);
  });

  it("a request that is not HTTP gets the error shape and a request id too", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, "127.0.0.1", () => socket.write("GARBAGE / NOT-HTTP\r\n\r\n"));
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (text += chunk));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/\r\nX-Request-ID: req_[0-9a-f]{24}\r\n/);
    expect(answer).toContain('{"detail":{"code":"BAD_REQUEST"');
  });

  it("versioned execute and jobs paths are accepted", async () => {
    const res = await raw(server, "POST", api(paths.submitJob(GRADE3_REF, 3)), { headers: JSON_HEADERS, body: "{}" });
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ status: "pending", blockCount: 5 });
  });
});

describe("request bodies", () => {
  const jobs = api(paths.submitJob(GRADE3_REF));

  it("malformed JSON is 422 INVALID_JSON", async () => {
    const res = await raw(server, "POST", jobs, { headers: JSON_HEADERS, body: '{"message": "unterminated' });
    expect(res.status).toBe(422);
    expect(detail(res).code).toBe("INVALID_JSON");
  });

  it("a body of the wrong shape is 422 VALIDATION_ERROR naming the field", async () => {
    const wrongType = await raw(server, "POST", jobs, { headers: JSON_HEADERS, body: '{"message": 5, "trace": "yes"}' });
    expect(wrongType.status).toBe(422);
    const d = detail(wrongType);
    expect(d.code).toBe("VALIDATION_ERROR");
    expect(d.message).toMatch(/^message: /);
    expect(d.errors).toHaveLength(2);
    const notObject = await raw(server, "POST", jobs, { headers: JSON_HEADERS, body: "[1, 2]" });
    expect([notObject.status, detail(notObject).code]).toEqual([422, "VALIDATION_ERROR"]);
  });

  it("an empty body is an empty request", async () => {
    const res = await raw(server, "POST", jobs, { headers: AUTH });
    expect(res.status).toBe(202);
  });

  it("a body over 1 MiB is 413, declared or streamed, and the server keeps serving", async () => {
    const big = JSON.stringify({ message: "x".repeat(1024 * 1024) });
    const declared = await raw(server, "POST", jobs, { headers: JSON_HEADERS, body: big });
    expect([declared.status, detail(declared).code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);

    // Chunked, no Content-Length: the limit is enforced while reading.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: "127.0.0.1", port: server.port, method: "POST", path: jobs, headers: JSON_HEADERS, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, "a");
      for (let i = 0; i < 20; i++) req.write(chunk);
      req.end();
    });
    expect(streamed).toBe(413);

    const after = await raw(server, "GET", api(paths.trace(GRADE3_REF, finishedRun)));
    expect(after.status).toBe(200);
  });
});

describe("paths cannot change the route", () => {
  const runBase = (): string => `/seq/acme/spelling/grade-3/runs/${finishedRun}`;

  it("the id encoded as paths.ts does it reaches the run", async () => {
    const res = await raw(server, "GET", api(paths.stepTrace(GRADE3_REF, finishedRun, "spell-check")));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ stepId: "spell-check", attempt: 2 });
  });

  it("encoded slashes and dots stay inside their segment", async () => {
    // `runs/{x}/trace` where x = "../jobs/<id>": still the trace route, for a run that does not exist.
    const climb = await raw(server, "GET", api(`/seq/acme/spelling/grade-3/runs/..%2Fjobs%2F${finishedRun}/trace`));
    expect([climb.status, detail(climb).code]).toEqual([404, "RUN_NOT_FOUND"]);
    const dots = await raw(server, "GET", api(`/seq/acme/spelling/grade-3/runs/%2E%2E/trace`));
    expect([dots.status, detail(dots).code]).toEqual([404, "RUN_NOT_FOUND"]);
    const stepClimb = await raw(server, "GET", api(`${runBase()}/steps/${encodeSegment("../../trace")}/trace`));
    expect([stepClimb.status, detail(stepClimb).code]).toEqual([404, "STEP_NOT_FOUND"]);
    const flowSlash = await raw(server, "POST", api(`/seq/acme%2Fspelling/grade-3/x/jobs`), { headers: JSON_HEADERS, body: "{}" });
    expect([flowSlash.status, detail(flowSlash).code]).toEqual([404, "FLOW_NOT_FOUND"]);
    const encodedQuery = await raw(server, "GET", api(`${runBase()}%3Fattempt%3Dall/trace`));
    expect([encodedQuery.status, detail(encodedQuery).code]).toEqual([404, "RUN_NOT_FOUND"]);
  });

  it("raw .. segments are never resolved", async () => {
    // Resolved, this would be GET .../jobs/<id> (a job status); unresolved it matches no route.
    const res = await raw(server, "GET", api(`${runBase()}/steps/../../../jobs/${finishedRun}`));
    expect([res.status, detail(res).code]).toEqual([404, "NOT_FOUND"]);
    const traversal = await raw(server, "GET", `/api/v1/../../etc/passwd`);
    expect(traversal.status).toBe(404);
  });

  it("a broken percent-encoding is 400", async () => {
    const res = await raw(server, "GET", api(`/seq/acme/spelling/grade-3/runs/%E0%A4%A/trace`));
    expect([res.status, detail(res).code]).toEqual([400, "INVALID_PATH"]);
    const lone = await raw(server, "GET", api(`/seq/acme/spelling/grade-3/runs/100%/trace`));
    expect(lone.status).toBe(400);
  });

  it("bad step-trace queries are 422", async () => {
    for (const query of ["attempt=0", "attempt=two", "attempt=-1", "loop_index=x", "loop_index=-2"]) {
      const res = await raw(server, "GET", api(`${runBase()}/steps/spell-check/trace?${query}`));
      expect([query, res.status]).toEqual([query, 422]);
    }
  });
});

describe("the live stream", () => {
  it("replays history with monotonic ids and closes at the end of the run", async () => {
    const res = await readStream(server, GRADE3, finishedRun);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const frames = parseSse(res.text).filter((f) => !f.comment);
    expect(frames.map((f) => f.id)).toEqual(frames.map((_, i) => String(i + 1)));
    for (const frame of frames) expect(frame.data?.eventType).toBe(frame.event);
    expect(frames.at(-1)?.event).toBe("flow_completed");
  });

  it("resumes after Last-Event-ID; an unusable id gets the full replay", async () => {
    const full = parseSse((await readStream(server, GRADE3, finishedRun)).text);
    const resumed = parseSse((await readStream(server, GRADE3, finishedRun, { "Last-Event-ID": "10" })).text);
    expect(resumed).toEqual(full.slice(10));
    const atEnd = await readStream(server, GRADE3, finishedRun, { "Last-Event-ID": String(full.length) });
    expect(atEnd.text).toBe("");
    for (const bogus of ["abc", "999999", "-3"]) {
      const res = await readStream(server, GRADE3, finishedRun, { "Last-Event-ID": bogus });
      expect(parseSse(res.text)).toEqual(full);
    }
  });

  it("sends heartbeat comments while idle", async () => {
    const executionId = await submitJob(server, SLOW.ref);
    const controller = new AbortController();
    const text = await new Promise<string>((resolve, reject) => {
      let received = "";
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: server.port,
          path: api(`/seq/${SLOW.ref}/runs/${executionId}/trace/stream`),
          headers: AUTH,
          agent: false,
          signal: controller.signal,
        },
        (res) => {
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            received += chunk;
            if ((received.match(/: heartbeat\n\n/g) ?? []).length >= 2) resolve(received);
          });
        },
      );
      req.on("error", (error) => {
        if (!controller.signal.aborted) reject(error);
      });
      req.end();
    });
    controller.abort();
    const frames = parseSse(text);
    expect(frames.filter((f) => f.comment).length).toBeGreaterThanOrEqual(2);
    expect(frames.filter((f) => !f.comment).map((f) => f.event)).toEqual(["run_started", "step_started"]);
  });

  it("a client that leaves mid-stream leaves no timer or listener behind", async () => {
    const quiet = await startServer({ port: 0, flows: [SLOW], heartbeatMs: 60_000 });
    const timeoutsBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    try {
      const executionId = await quiet.submitRun(SLOW.ref);
      const controller = new AbortController();
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port: quiet.port,
            path: api(`/seq/${SLOW.ref}/runs/${executionId}/trace/stream`),
            headers: AUTH,
            agent: false,
            signal: controller.signal,
          },
          (res) => res.once("data", () => resolve()),
        );
        req.on("error", (error) => {
          if (!controller.signal.aborted) reject(error);
        });
        req.end();
      });
      // One run clock and one heartbeat while the stream is open.
      expect(quiet.debugStats()).toMatchObject({ openStreams: 1, timers: 2 });
      controller.abort();
      await eventually(() => quiet.debugStats().openStreams === 0);
      expect(quiet.debugStats()).toMatchObject({ openStreams: 0, timers: 1, activeRuns: 1 });

      // An execute whose client leaves stops waiting; the run goes on.
      const leaving = new AbortController();
      const pending = raw(quiet, "POST", api(`/seq/${SLOW.ref}/execute`), { headers: JSON_HEADERS, body: "{}", signal: leaving.signal });
      await eventually(() => quiet.debugStats().waitingExecutes === 1);
      leaving.abort();
      await expect(pending).rejects.toThrow();
      await eventually(() => quiet.debugStats().waitingExecutes === 0);
      expect(quiet.debugStats()).toMatchObject({ activeRuns: 2, timers: 2 });
    } finally {
      await quiet.close();
    }
    expect(quiet.debugStats()).toMatchObject({ openStreams: 0, waitingExecutes: 0, timers: 0 });
    const timeoutsAfter = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    expect(timeoutsAfter).toBeLessThanOrEqual(timeoutsBefore);
  });

  it("close() ends open streams and pending executes", async () => {
    const closing = await startServer({ port: 0, flows: [SLOW] });
    const executionId = await closing.submitRun(SLOW.ref);
    const tracePath = api(`/seq/${SLOW.ref}/runs/${executionId}/trace`);
    await eventually(async () => (await raw(closing, "GET", tracePath)).json<{ steps: unknown[] }>().steps.length === 1);
    const stream = readStream(closing, SLOW.ref, executionId);
    const execute = raw(closing, "POST", api(`/seq/${SLOW.ref}/execute`), { headers: JSON_HEADERS, body: "{}" }).then(
      (res) => res.status,
      () => "closed",
    );
    await eventually(() => closing.debugStats().openStreams === 1 && closing.debugStats().waitingExecutes === 1);
    await closing.close();
    const ended = await stream;
    expect(parseSse(ended.text).map((f) => f.event)).toEqual(["run_started", "step_started"]);
    expect(await execute).toBe("closed");
    expect(closing.debugStats().timers).toBe(0);
  });

  it("200 concurrent subscribers to one run receive the identical event sequence", async () => {
    // About 2 s of run: long enough for every subscriber to connect while it is live.
    const crowd = await startServer({ port: 0, speed: 10, seed: 3, heartbeatMs: 50 });
    try {
      const executionId = await crowd.submitRun(GRADE3);
      const early = Array.from({ length: 100 }, () => readStream(crowd, GRADE3, executionId));
      await eventually(() => crowd.debugStats().openStreams === 100);
      // The other half joins once events have been sent: replay, then the same live tail.
      const tracePath = api(`/seq/${GRADE3}/runs/${executionId}/trace`);
      await eventually(async () => (await raw(crowd, "GET", tracePath)).json<{ steps: unknown[] }>().steps.length >= 2);
      const late = Array.from({ length: 100 }, () => readStream(crowd, GRADE3, executionId));
      await eventually(() => crowd.debugStats().openStreams === 200);
      const bodies = (await Promise.all([...early, ...late])).map((res) => res.text.replace(/^: heartbeat\n\n/gm, ""));
      const reference = (await readStream(crowd, GRADE3, executionId)).text;
      expect(parseSse(reference).at(-1)?.event).toBe("flow_completed");
      expect(bodies).toHaveLength(200);
      for (const body of bodies) expect(body).toBe(reference);
      expect(crowd.debugStats()).toMatchObject({ openStreams: 0, timers: 0 });
    } finally {
      await crowd.close();
    }
  });
});

describe("memory bound", () => {
  it("drops the oldest finished runs past maxRuns", async () => {
    const small = await startServer({ port: 0, speed: 1000, maxRuns: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await small.submitRun("demo/playground/always-fails");
        await readStream(small, "demo/playground/always-fails", id);
        ids.push(id);
      }
      const status = async (id: string): Promise<number> =>
        (await raw(small, "GET", api(`/seq/demo/playground/always-fails/jobs/${id}`))).status;
      expect(await Promise.all(ids.map(status))).toEqual([404, 200, 200]);
      expect(small.debugStats().runs).toBe(2);
    } finally {
      await small.close();
    }
  });
});
