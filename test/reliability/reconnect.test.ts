// Reconnect pacing and idle handling of the built CLI (issue 5, "The stream under faults"):
// a server's retry: value (0, 10abc, 1e11, 100000000000) never causes a reconnect storm;
// silence is not failure (heartbeats keep a stream, a silent one is re-checked, not given
// up while the server still answers); a server that accepts connections and never answers
// is given up after --give-up-after, not after undici's timeouts.
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, ensureBuilt, type CliResult, type RunningCli } from "../cli/helpers.js";
import { sseStream } from "../helpers/sseServer.js";
import { ENV, FULL, RUN, SECRET_KEY, closeServers, outputs, readNdjson, runScript, serve, startWatch, watch } from "./support.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

const head = (n: number): string => RUN.frames.slice(0, n).join("");
const tail = (n: number): string => RUN.frames.slice(n).join("");
const ALL_IDS = RUN.frames.map((_f, i) => String(i + 1));
const MIN_RECONNECT_MS = 1000;

describe("a server's retry: value never causes a reconnect storm", () => {
  it.each([
    // [retry value, backoff scale of the run, the wait every reconnect must report (null: 1-60 s)]
    ["0", 0.05, null],
    ["10abc", 0.05, null],
    ["1e11", 0.05, null],
    ["100000000000", 0.003, 60_000],
  ] as const)("retry: %s", async (retry, scale, exactDelay) => {
    const closing = sseStream([{ write: `retry: ${retry}\n\n${head(2)}` }, "end"]);
    const server = await serve(runScript(RUN, { streams: [closing, closing, closing, closing, sseStream([{ write: FULL }, "end"])] }));
    const result = await watch(server.baseUrl, { env: { ...ENV, NOUKAI_TOP_BACKOFF_SCALE: String(scale) } });
    expect(result.code).toBe(0);
    const run = readNdjson(result.stdout);
    expect(run.eventIds).toEqual(ALL_IDS);

    const delays = run.connections.filter((r) => r.state === "reconnecting").map((r) => r.delayMs ?? 0);
    expect(delays).toHaveLength(4);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(MIN_RECONNECT_MS);
      expect(delay).toBeLessThanOrEqual(60_000);
      if (exactDelay !== null) expect(delay).toBe(exactDelay);
    }
    // Counted on the server: five connections in all, never two closer than the (scaled)
    // shortest wait allows (10% slack for timer granularity).
    const arrivals = server.requestsOf("stream").map((r) => r.at);
    expect(arrivals).toHaveLength(5);
    const floor = (exactDelay ?? MIN_RECONNECT_MS) * scale * 0.9;
    for (let i = 1; i < arrivals.length; i++) {
      expect((arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0)).toBeGreaterThanOrEqual(floor);
    }
  });
});

describe("idle is not failure", () => {
  it("heartbeat comments keep a stream that sends no event for 4 idle timeouts", async () => {
    const heartbeats = ": heartbeat\n\n".repeat(12);
    const server = await serve(
      runScript(RUN, { streams: [sseStream([{ write: head(3) }, { trickle: heartbeats, size: 13, everyMs: 70 }, { write: tail(3) }, "end"])] }),
    );
    const result = await watch(server.baseUrl, { idleTimeout: "200ms" });
    expect(result.code).toBe(0);
    const run = readNdjson(result.stdout);
    expect(run.connections.filter((r) => r.state === "lost")).toEqual([]);
    expect(server.requestsOf("stream")).toHaveLength(1);
    expect(server.requestsOf("job")).toHaveLength(0);
    expect(run.eventIds).toEqual(ALL_IDS);
  });

  it("a stream silent for longer than --give-up-after is re-checked, not given up, while the server answers", async () => {
    const server = await serve(
      runScript(RUN, {
        streams: [sseStream([{ write: head(3) }, "stall"]), sseStream(["stall"]), sseStream(["stall"]), sseStream([{ write: FULL }, "end"])],
      }),
    );
    // Three silent connections of 200 ms each: 600 ms without a byte of the stream.
    const result = await watch(server.baseUrl, { idleTimeout: "200ms", extra: ["--give-up-after", "500ms"] });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const run = readNdjson(result.stdout);
    expect(run.connections.filter((r) => r.state === "lost").map((r) => r.reason)).toEqual([
      "no data for 0.2 s",
      "no data for 0.2 s",
      "no data for 0.2 s",
    ]);
    expect(run.eventIds).toEqual(ALL_IDS);
    expect(run.summary).toMatchObject({ status: "completed", costUsd: "0.300001" });
  });
});

/**
 * Accepts TCP connections and never answers (a dead proxy, a hung server); with `first`,
 * the first connection gets that raw HTTP answer instead.
 */
async function startBlackHole(first?: string): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    if (connections === 1 && first !== undefined) socket.end(first);
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/api/v1`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The CLI's result, or a failure (after killing it) when it has not ended within `ms`. */
async function endsWithin(cli: RunningCli, ms: number): Promise<CliResult> {
  const timer = setTimeout(() => cli.child.kill("SIGKILL"), ms);
  try {
    const result = await cli.done;
    expect(result.signal, `still running after ${String(ms)} ms`).toBeNull();
    return result;
  } finally {
    clearTimeout(timer);
  }
}

describe("--give-up-after bounds requests that never get an answer", () => {
  it("a server that accepts the connection and never answers: exit 3", async () => {
    const hole = await startBlackHole();
    try {
      // Without a deadline on the request itself this waits for undici's 30 s headers timeout.
      const cli = startWatch(hole.url, { format: "plain", extra: ["--give-up-after", "400ms"], env: cliEnv({ NOUKAI_API_KEY: SECRET_KEY }) });
      const result = await endsWithin(cli, 10_000);
      expect(result.code).toBe(3);
      expect(result.stderr).toBe(
        "noukai-top: cannot monitor run exec-1: no answer from the server for 0.4 s (last: no answer within 0.4 s)\n",
      );
      expect(outputs(result)).not.toContain(SECRET_KEY);
      expect(hole.connections()).toBeGreaterThanOrEqual(1);
    } finally {
      await hole.close();
    }
  });

  it("the last attempt, made when the wait before it ran up to the deadline, is bounded too: exit 3", async () => {
    // The first open fails at once (no contact); the wait before the next one is cut at the
    // deadline (no backoff scale here), so that attempt starts with no time left. Unbounded,
    // it would wait for undici's 30 s headers timeout.
    const hole = await startBlackHole("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 11\r\nconnection: close\r\n\r\nbad gateway");
    try {
      const cli = startWatch(hole.url, { format: "plain", extra: ["--give-up-after", "400ms"], env: cliEnv({ NOUKAI_API_KEY: SECRET_KEY }) });
      const result = await endsWithin(cli, 10_000);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^noukai-top: cannot monitor run exec-1: no answer from the server for 0\.\d s \(last: no answer within 0\.4 s\)\n$/);
      expect(hole.connections()).toBe(2);
    } finally {
      await hole.close();
    }
  });

  it("a final Trace whose answer stalls: the stream's summary and a warning, by --give-up-after", async () => {
    const stalled = sseStream(["stall"], { contentType: "application/json" });
    const server = await serve(runScript(RUN, { trace: [stalled] }));
    const result = await endsWithin(startWatch(server.baseUrl, { format: "json", extra: ["--give-up-after", "400ms"] }), 10_000);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      "noukai-top: warning: the final trace could not be loaded (no answer within 0.4 s); the summary is the live stream's\n",
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "summary", status: "completed", costWithRetriesUsd: null });
    expect(server.requestsOf("trace")).toHaveLength(1);
  });

  it("a run status check whose answer stalls after the stream ended: exit 3", async () => {
    const stalled = sseStream(["stall"], { contentType: "application/json" });
    const server = await serve(
      runScript(RUN, { streams: [sseStream([{ write: head(3) }, "end"])], jobStatus: [stalled], trace: [stalled] }),
    );
    const result = await endsWithin(startWatch(server.baseUrl, { extra: ["--give-up-after", "400ms"] }), 10_000);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^noukai-top: cannot monitor run exec-1: no answer from the server for 0\.\d s \(last: the stream ended before the run did\)\n$/);
    expect(server.requestsOf("job")).toHaveLength(1);
    expect(server.requestsOf("stream")).toHaveLength(1);
  });
});
