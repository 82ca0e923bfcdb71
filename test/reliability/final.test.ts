// Answers that end monitoring at once (issue 5: "401, 403, 404, 204, or a response that
// is not text/event-stream are final: a clear message and exit status 3"; "a run that
// already failed before noukai-top starts: exit at once with the right status"), through
// the built CLI. The media type is compared case-insensitively, without its parameters.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../cli/helpers.js";
import { reply, sseStream, type Reply } from "../helpers/sseServer.js";
import { FULL, RUN, SECRET_KEY, closeServers, jobStatus, outputs, readNdjson, runScript, serve, watch } from "./support.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

const REQUEST_ID = { "x-request-id": "req_final_7" };

describe("final answers to the stream: exit 3 with one line naming what the server said", () => {
  it.each<[string, Reply, RegExp]>([
    [
      "403",
      reply(403, { detail: { code: "FORBIDDEN", message: "no access to acme/proj" } }, REQUEST_ID),
      /^HTTP 403 FORBIDDEN: no access to acme\/proj \(request id req_final_7\)$/,
    ],
    [
      "404",
      reply(404, { detail: { code: "RUN_NOT_FOUND", message: "run exec-1 not found" } }, REQUEST_ID),
      /^HTTP 404 RUN_NOT_FOUND: run exec-1 not found \(request id req_final_7\)$/,
    ],
    ["204", reply(204, undefined, REQUEST_ID), /^HTTP 204: the server has no stream for this run \(request id req_final_7\)$/],
    [
      "200 with JSON instead of a stream",
      sseStream([{ write: "{}" }, "end"], { contentType: "application/json; charset=utf-8", headers: REQUEST_ID }),
      /^HTTP 200 with content type "application\/json; charset=utf-8", not text\/event-stream \(request id req_final_7\)$/,
    ],
    [
      "200 with an HTML page (a captive portal)",
      sseStream([{ write: "<html>sign in</html>" }, "end"], { contentType: "text/html", headers: REQUEST_ID }),
      /^HTTP 200 with content type "text\/html", not text\/event-stream/,
    ],
    [
      "200 with text/event-stream-ish but another media type",
      sseStream([{ write: FULL }, "end"], { contentType: "text/event-streams" }),
      /not text\/event-stream/,
    ],
  ])("%s", async (_name, answer, message) => {
    const server = await serve(runScript(RUN, { streams: [answer] }));
    for (const format of ["plain", "json"] as const) {
      const result = await watch(server.baseUrl, { format });
      expect(result.code).toBe(3);
      expect(result.stdout).toBe("");
      const lines = result.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      const prefix = "noukai-top: cannot monitor run exec-1: ";
      expect(lines[0]?.startsWith(prefix)).toBe(true);
      expect(lines[0]?.slice(prefix.length)).toMatch(message);
      expect(outputs(result)).not.toContain(SECRET_KEY);
    }
    // Final: one try per run of the CLI, no reconnect, no status poll.
    expect(server.requestsOf("stream")).toHaveLength(2);
    expect(server.requestsOf("job")).toHaveLength(0);
  });

  it.each(["Text/Event-Stream; charset=utf-8", "TEXT/EVENT-STREAM", "text/event-stream;charset=UTF-8"])(
    "accepts the media type written %j",
    async (contentType) => {
      const server = await serve(runScript(RUN, { streams: [sseStream([{ write: FULL }, "end"], { contentType })] }));
      const result = await watch(server.baseUrl);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(readNdjson(result.stdout).summary).toMatchObject({ status: "completed", costUsd: "0.300001" });
    },
  );
});

describe("a run that had already failed before the watch started", () => {
  // The history ends with the failed step; no flow_completed follows (PROTOCOL.md).
  const failedHistory = RUN.frames.slice(0, 6).join("");
  const gradeAttempts = Object.values(RUN.attempts)[0] ?? [];
  const failedTrace = {
    flowRun: { ...RUN.trace.flowRun, status: "failed" },
    steps: [RUN.trace.steps[0], gradeAttempts[0]],
  };

  it("exits 4 at once: one connection, one status check, no reconnect", async () => {
    const server = await serve(
      runScript(RUN, {
        streams: [sseStream([{ write: failedHistory }, "end"])],
        jobStatus: [jobStatus("failed")],
        trace: [reply(200, failedTrace)],
      }),
    );
    const ndjson = await watch(server.baseUrl);
    expect(ndjson.stderr).toBe("");
    expect(ndjson.code).toBe(4);
    const run = readNdjson(ndjson.stdout);
    expect(run.summary).toMatchObject({ status: "failed", failedSteps: 1, costUsd: "0.15" });
    expect(run.connections.map((r) => r.state)).toEqual(["connecting", "live", "ended"]);
    expect(server.requestsOf("stream")).toHaveLength(1);
    expect(server.requestsOf("job")).toHaveLength(1);

    const plain = await watch(server.baseUrl, { format: "plain" });
    expect(plain.code).toBe(4);
    expect(plain.stdout).toMatch(/run failed/);
    expect(plain.stdout).not.toMatch(/reconnect|connection lost/);
  });
});
