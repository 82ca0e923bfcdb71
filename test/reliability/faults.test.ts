// The fault suite (issue 5): the built CLI watches the canonical run from a local server
// that injects one scripted fault, and must end with the same summary (totals, steps,
// attempts) and the same stream events, each printed once, as the fault-free run; or
// with the documented exit status (401: 3). Retry and reconnect waits are scaled down
// with NOUKAI_TOP_BACKOFF_SCALE; the waits the CLI reports are the unscaled ones.
import { beforeAll, afterEach, describe, expect, it } from "vitest";
import { controlBytes, ensureBuilt } from "../cli/helpers.js";
import { reply, sseStream, type SseServerScript, type StreamStep } from "../helpers/sseServer.js";
import {
  FULL,
  RUN,
  SECRET_KEY,
  closeServers,
  comparable,
  outputs,
  readNdjson,
  runScript,
  serve,
  watch,
  type NdjsonRun,
} from "./support.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

const head = (n: number): string => RUN.frames.slice(0, n).join("");
const tail = (n: number): string => RUN.frames.slice(n).join("");
/** The first `n` frames and half of the next one. */
const cutInside = (n: number): string => head(n) + (RUN.frames[n] ?? "").slice(0, 25);
const fullStream = sseStream([{ write: FULL }, "end"]);
const MB = 1024 * 1024;

/** A stream whose first connection gets `steps`; every later one replays the whole run. */
function firstConnection(steps: readonly StreamStep[]): SseServerScript {
  return { streams: [sseStream(steps), fullStream] };
}

async function watchNdjson(script: SseServerScript) {
  const server = await serve(runScript(RUN, script));
  const result = await watch(server.baseUrl);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(outputs(result)).not.toContain(SECRET_KEY);
  expect(controlBytes(result.stdoutBytes)).toEqual([]);
  return { server, result, run: readNdjson(result.stdout) };
}

let clean: NdjsonRun;

beforeAll(async () => {
  clean = (await watchNdjson({})).run;
  // The reference itself: every event once, a retried step with its attempts fetched.
  expect(clean.eventIds).toEqual(RUN.frames.map((_f, i) => String(i + 1)));
  expect(clean.summary).toMatchObject({ status: "completed", costUsd: "0.300001", costWithRetriesUsd: "0.350001", retries: 1 });
});

interface Fault {
  readonly name: string;
  readonly script: SseServerScript;
  /** Last-Event-ID sent by each stream connection (undefined: none); their number is the connections made. */
  readonly lastEventIds: readonly (string | undefined)[];
  readonly malformed?: number;
  readonly check?: (run: NdjsonRun) => void;
}

const faults: Fault[] = [
  {
    name: "the connection drops mid-frame (clean FIN)",
    script: firstConnection([{ write: cutInside(4) }, "end"]),
    lastEventIds: [undefined, "4"],
  },
  {
    name: "the connection is reset mid-frame (TCP RST)",
    script: firstConnection([{ write: cutInside(6) }, { wait: 10 }, "reset"]),
    lastEventIds: [undefined, "6"],
  },
  {
    name: "the stream stalls with the socket open, twice",
    script: { streams: [sseStream([{ write: head(3) }, "stall"]), sseStream(["stall"]), fullStream] },
    lastEventIds: [undefined, "3", "3"],
    check: (run) => {
      const lost = run.connections.filter((r) => r.state === "lost").map((r) => r.reason);
      expect(lost).toEqual(["no data for 0.3 s", "no data for 0.3 s"]);
      expect(run.records.filter((r) => r.type === "run_status").map((r) => r.status)).toEqual(["running", "running"]);
    },
  },
  {
    name: "503 twice, then the stream recovers",
    script: {
      streams: [
        reply(503, { detail: { code: "INTERNAL_ERROR", message: "busy" } }),
        reply(503, { detail: { code: "INTERNAL_ERROR", message: "busy" } }),
        fullStream,
      ],
    },
    lastEventIds: [undefined, undefined, undefined],
    check: (run) => {
      const reasons = run.connections.filter((r) => r.state === "reconnecting").map((r) => r.reason);
      expect(reasons).toHaveLength(2);
      for (const reason of reasons) expect(reason).toMatch(/^HTTP 503 INTERNAL_ERROR: busy \(request id req-\d+\)$/);
    },
  },
  {
    name: "429 with Retry-After: 2",
    script: {
      streams: [reply(429, { detail: { code: "RATE_LIMITED", message: "slow down" } }, { "retry-after": "2" }), fullStream],
    },
    lastEventIds: [undefined, undefined],
    check: (run) => {
      // The wait reported is the real one (the test scales it down): Retry-After is a floor.
      const delays = run.connections.filter((r) => r.state === "reconnecting").map((r) => r.delayMs);
      expect(delays).toHaveLength(1);
      expect(delays[0]).toBeGreaterThanOrEqual(2000);
    },
  },
  {
    name: "a slow trickle, 1 byte every 10 ms across a frame boundary (each gap shorter than the idle timeout: no reconnect)",
    script: {
      streams: [
        sseStream([
          { write: head(1).slice(0, -30) },
          { trickle: head(1).slice(-30) + (RUN.frames[1] ?? "").slice(0, 30), everyMs: 10 },
          { write: tail(1).slice(30) },
          "end",
        ]),
      ],
    },
    lastEventIds: [undefined],
  },
  {
    name: "a 10 MB frame (a step_output) is decoded to a bounded preview",
    script: {
      streams: [
        sseStream([
          { write: head(3) },
          { write: `event: step_output\ndata: ${JSON.stringify({ stepId: "fetch", outputData: "x".repeat(10 * MB) })}\n\n` },
          { write: tail(3) },
          "end",
        ]),
      ],
    },
    lastEventIds: [undefined],
    check: (run) => {
      const big = run.records.find((r) => r.type === "step_output" && r.id === undefined);
      const preview = big?.outputData as { json: string; sizeBytes: number; truncated: boolean } | undefined;
      expect(preview?.truncated).toBe(true);
      expect(preview?.sizeBytes).toBe(10 * MB + 2);
      expect(preview?.json.length).toBeLessThanOrEqual(4096);
    },
  },
  {
    name: "a frame over the 16 MiB limit is skipped and reported, not fatal",
    script: {
      streams: [sseStream([{ write: head(3) }, { write: `event: step_output\ndata: "${"y".repeat(17 * MB)}"\n\n` }, { write: tail(3) }, "end"])],
    },
    lastEventIds: [undefined],
    malformed: 1,
    check: (run) => {
      const malformed = run.records.filter((r) => r.type === "malformed");
      expect(malformed).toHaveLength(1);
      expect(malformed[0]?.reason).toBe("frame over 16777216 bytes");
    },
  },
  {
    name: "invalid UTF-8 in a comment, inside a JSON string, outside any string, and a character split across writes",
    script: {
      streams: [
        sseStream([
          { write: head(2) },
          { write: Buffer.from([0x3a, 0x20, 0xff, 0xfe, 0xc3, 0x0a]) }, // ": \xff\xfe\xc3\n" (a comment)
          {
            write: Buffer.concat([
              Buffer.from('event: step_progress\ndata: {"stepId":"fetch","message":"bad '),
              Buffer.from([0xc3, 0x28, 0xa0, 0xff]),
              Buffer.from('"}\n\n'),
            ]),
          },
          { write: Buffer.concat([Buffer.from("event: step_progress\ndata: {"), Buffer.from([0xff]), Buffer.from("}\n\n")]) },
          { write: Buffer.from('event: step_progress\ndata: {"stepId":"fetch","message":"caf\xc3', "latin1") },
          { write: Buffer.from('\xa9"}\n\n', "latin1") },
          { write: tail(2) },
          "end",
        ]),
      ],
    },
    lastEventIds: [undefined],
    malformed: 1,
    check: (run) => {
      const messages = run.records.filter((r) => r.type === "step_progress").map((r) => r.message);
      expect(messages).toEqual(["bad \ufffd(\ufffd\ufffd", "café"]);
    },
  },
  {
    name: "garbage lines interleaved with the frames",
    script: {
      streams: [
        sseStream([
          { write: "this line has no colon\n: a comment\n\n" },
          ...RUN.frames.flatMap((f, i): StreamStep[] => [
            { write: f },
            {
              write: [
                "garbage\n\n",
                "data: {not json\n\n",
                "event: mystery_event\ndata: {}\n\n",
                "retry: soon\n\n",
                "\r\n\r\n",
                ":\n",
              ][i % 6] as string,
            },
          ]),
          "end",
        ]),
      ],
    },
    lastEventIds: [undefined],
    malformed: 2, // "data: {not json" after frames 2 and 8
    check: (run) => {
      expect(run.records.filter((r) => r.type === "unknown").length).toBeGreaterThanOrEqual(1);
    },
  },
  {
    name: "503 then recovery on the final trace load and 429 on the attempts (GET retries)",
    script: {
      trace: [reply(503, { detail: { code: "INTERNAL_ERROR", message: "busy" } }), reply(502, "bad gateway"), reply(200, RUN.trace)],
      steps: (() => {
        let calls = 0;
        return (stepId: string) => {
          calls += 1;
          if (calls === 1) return reply(429, { detail: { code: "RATE_LIMITED", message: "later" } }, { "retry-after": "1" });
          return reply(200, { stepId, attempts: RUN.attempts[stepId] ?? [] });
        };
      })(),
    },
    lastEventIds: [undefined],
  },
];

describe("fault suite: the summary equals the fault-free run's", () => {
  it.each(faults)("$name", async (fault) => {
    const { server, run } = await watchNdjson(fault.script);
    expect(comparable(run.summary)).toEqual(comparable(clean.summary));
    expect(run.summary.malformedFrames).toBe(fault.malformed ?? 0);
    // Every stream event exactly once, none lost, in order, whatever was replayed.
    expect(run.eventIds).toEqual(clean.eventIds);
    expect(server.requestsOf("stream").map((r) => r.headers["last-event-id"])).toEqual(fault.lastEventIds);
    fault.check?.(run);
  });

  it("a 401 on the stream ends with exit status 3 and one clear line, the echoed key masked", async () => {
    const server = await serve(
      runScript(RUN, {
        streams: [
          reply(401, { detail: { code: "INVALID_API_KEY", message: `key ${SECRET_KEY} is not valid` } }, { "x-request-id": "req_auth_9" }),
        ],
      }),
    );
    const result = await watch(server.baseUrl);
    expect(result.code).toBe(3);
    expect(result.stdout.split("\n").filter((l) => l.includes('"summary"'))).toEqual([]);
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      `noukai-top: cannot monitor run exec-1: HTTP 401 INVALID_API_KEY: key nk_…${SECRET_KEY.slice(-4)} is not valid (request id req_auth_9)`,
    ]);
    expect(outputs(result)).not.toContain(SECRET_KEY);
    // Final: no reconnect, no status poll.
    expect(server.requestsOf("stream")).toHaveLength(1);
    expect(server.requestsOf("job")).toHaveLength(0);
  });
});

