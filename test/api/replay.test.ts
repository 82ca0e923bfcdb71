// Record and replay: a monitor run over real sockets (a reconnect with a full replay, a
// resumed stream, malformed, unknown and oversized frames, the final trace and attempts)
// is recorded; replaying the file reports the same signals, at the same times.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TraceClient } from "../../src/api/client.js";
import { wireStepTrace, wireTrace } from "../../src/api/exportFile.js";
import { monitorRun } from "../../src/api/monitor.js";
import type { FlowRef } from "../../src/api/paths.js";
import { openRecorder } from "../../src/api/record.js";
import { RecordingError, openRecording, replayRecording } from "../../src/api/replay.js";
import type { MonitorSignal } from "../../src/api/signals.js";
import { frame, reply, sseStream, startSseServer, type SseServer, type SseServerScript, type StreamStep } from "../helpers/sseServer.js";

const FLOW: FlowRef = { org: "acme", project: "proj", slug: "flow" };
const EXECUTION_ID = "exec-1";
const API_KEY = "nk_test_replay_0123456789abcdef";
const TRACE = {
  flowRun: { id: "run-1", flowId: "flow-1", status: "completed", stepCount: 2 },
  steps: [
    { stepId: "s1", attempt: 1, status: "completed", costUsd: "0.1" },
    { stepId: "s2", attempt: 2, status: "completed", costUsd: "0.2" },
  ],
};
const HISTORY = [
  frame("run_started", { runId: "run-1", executionId: EXECUTION_ID, stepCount: 2 }, { id: "1" }),
  frame("step_started", { stepId: "s1", name: "first" }, { id: "2" }),
  frame("step_completed", { stepId: "s1", costUsd: "0.1", output: { text: "line one\nline two" } }, { id: "3" }),
  frame("step_started", { stepId: "s2", name: "second" }, { id: "4" }),
  frame("step_error", { stepId: "s2", error: { message: "boom" } }, { id: "5" }),
  frame("step_started", { stepId: "s2", name: "second" }, { id: "6" }),
  frame("step_completed", { stepId: "s2", costUsd: "0.2" }, { id: "7" }),
];
const FLOW_COMPLETED = frame("flow_completed", { runId: "run-1", summary: { status: "completed" } }, { id: "8" });
/** Frames that are not events: invalid JSON, an unknown type, one over the 400-byte limit, multi-line data. */
const ODD_FRAMES =
  "event: step_started\ndata: {not json\n\n" +
  frame("mystery_event", { stepId: "s1" }) +
  frame("step_progress", { stepId: "s1", message: "x".repeat(500) }) +
  'event: step_progress\ndata: {"stepId": "s1",\ndata: "message": "two lines"}\n\n';

/** Each piece written on its own, a little apart, as a server trickling events would. */
function spaced(pieces: readonly string[]): StreamStep[] {
  return pieces.flatMap((write) => [{ write }, { wait: 5 }]);
}

let dir: string;
let server: SseServer | undefined;
let client: TraceClient | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "noukai-replay-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/**
 * Every signal, with batches spread one event (or malformed/unknown frame) per entry
 * (chunking may differ, content may not), and traces in wire form (a recording writes
 * an absent field as null, as model_dump does).
 */
function spread(signals: readonly MonitorSignal[]): unknown[] {
  return signals.flatMap((signal): unknown[] => {
    switch (signal.type) {
      case "trace/loaded":
        return [{ ...signal, trace: wireTrace(signal.trace) }];
      case "attempts/loaded":
        return [{ ...signal, attempts: signal.attempts.map(wireStepTrace) }];
      case "stream/events":
        return signal.events.map((received) => ({ type: signal.type, ...received }));
      case "stream/malformed":
      case "stream/unknown":
        return Array.from({ length: signal.count }, () => ({ ...signal, count: 1 }));
      default:
        return [signal];
    }
  });
}

async function recordRun(streams: NonNullable<SseServerScript["streams"]>, file: string): Promise<MonitorSignal[]> {
  server = await startSseServer({
    streams,
    trace: [reply(200, TRACE)],
    jobStatus: [reply(200, { executionId: EXECUTION_ID, status: "running" })],
    steps: (stepId) => reply(200, { stepId, attempts: [{ stepId, attempt: 1, status: "failed", costUsd: "0.05" }, TRACE.steps[1]] }),
  });
  client = new TraceClient({ baseUrl: server.baseUrl, apiKey: API_KEY, backoffScale: 0.001, maxRetries: 1 });
  const recorder = openRecorder(file, { executionId: EXECUTION_ID, flow: "acme/proj/flow", startedAt: new Date().toISOString() });
  const signals: MonitorSignal[] = [];
  try {
    await monitorRun({
      client,
      flow: FLOW,
      executionId: EXECUTION_ID,
      signal: new AbortController().signal,
      backoff: { baseMs: 5, capMs: 20 },
      maxFrameBytes: 400,
      onRawFrame: recorder.onRawFrame,
      onSignal(signal) {
        recorder.onSignal(signal);
        signals.push(signal);
      },
    });
  } finally {
    recorder.close();
  }
  return signals;
}

async function replayFile(file: string, mapTime?: (at: number) => number): Promise<MonitorSignal[]> {
  const signals: MonitorSignal[] = [];
  const recording = await openRecording(file);
  await replayRecording(recording, {
    speed: 0,
    signal: new AbortController().signal,
    onSignal: (signal) => signals.push(signal),
    ...(mapTime === undefined ? {} : { mapTime }),
  });
  return signals;
}

describe("record then replay", () => {
  it("replays a dropped connection, its full replay, odd frames and the final loads as they were reported", async () => {
    const file = join(dir, "reconnect.ndjson");
    const live = await recordRun(
      [
        sseStream([...spaced([...HISTORY.slice(0, 3), ODD_FRAMES]), "reset"]),
        sseStream([...spaced([...HISTORY, FLOW_COMPLETED]), "end"]),
      ],
      file,
    );
    const types = live.map((signal) => signal.type);
    expect(types).toContain("stream/reconnecting");
    expect(live.filter((s) => s.type === "stream/malformed").map((s) => s.reason).sort()).toEqual([
      "frame over 400 bytes",
      "invalid JSON",
    ]);
    expect(types).toContain("stream/unknown");
    expect(types).toContain("attempts/loaded");

    const replayed = await replayFile(file);
    expect(spread(replayed)).toEqual(spread(live));
  });

  it("keeps a resumed stream's opened line before its frames (the monitor reports it after decoding them)", async () => {
    const file = join(dir, "resumed.ndjson");
    const live = await recordRun(
      [
        sseStream([...spaced(HISTORY.slice(0, 3)), "reset"]),
        // The server honours Last-Event-ID: only what came after id 3.
        sseStream([...spaced([...HISTORY.slice(3), FLOW_COMPLETED]), "end"]),
      ],
      file,
    );
    expect(live.filter((s) => s.type === "stream/opened").map((s) => (s as { resumed: boolean }).resumed)).toEqual([false, true]);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as { type: string });
    const secondOpen = lines.findIndex((line, i) => line.type === "stream/opened" && i > 3);
    expect(lines[secondOpen + 1]?.type).toBe("frame");
    expect(spread(await replayFile(file))).toEqual(spread(live));
  });

  it("masks the API key a server echoed back, and moves times when asked", async () => {
    const file = join(dir, "times.ndjson");
    const echoed = frame("step_progress", { stepId: "s1", message: `sent with key ${API_KEY}` }, { id: "2b" });
    const live = await recordRun([sseStream([...spaced([...HISTORY.slice(0, 2), echoed, ...HISTORY.slice(2), FLOW_COMPLETED]), "end"])], file);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(API_KEY);
    expect(text).toContain("nk_…cdef");

    const shift = 1_000_000;
    const moved = await replayFile(file, (at) => at + shift);
    const times = (signals: MonitorSignal[]) =>
      spread(signals).map((entry) => (entry as { at: number }).at);
    expect(times(moved)).toEqual(times(live).map((at) => at + shift));
  });
});

describe("reading a recording", () => {
  const header = JSON.stringify({ type: "header", format: "noukai-top-record", version: 1, executionId: "e", flow: "a/b/c", startedAt: "2026-01-01T00:00:00.000Z" });
  const frameLine = (id: number) => JSON.stringify({ type: "frame", at: 1000 + id, event: "step_started", data: JSON.stringify({ stepId: `s${String(id)}` }), id: String(id) });

  async function play(text: string): Promise<MonitorSignal[]> {
    const file = join(dir, `read-${String(Math.random()).slice(2)}.ndjson`);
    writeFileSync(file, text);
    return replayFile(file);
  }

  async function failure(text: string): Promise<string> {
    try {
      await play(text);
    } catch (error) {
      expect(error).toBeInstanceOf(RecordingError);
      return (error as Error).message;
    }
    throw new Error("expected a RecordingError");
  }

  it("ignores a last line cut short, and blank lines", async () => {
    const signals = await play(`${header}\n${frameLine(1)}\n\n${frameLine(2)}\n${frameLine(3).slice(0, 30)}`);
    expect(signals.flatMap((s) => (s.type === "stream/events" ? s.events.map((e) => e.id) : []))).toEqual(["1", "2"]);
  });

  it("says which line is bad, and refuses other files", async () => {
    expect(await failure(`${header}\n${frameLine(1)}\n{"type":"frame","at":1}\n${frameLine(2)}\n`)).toBe("line 3: invalid frame");
    expect(await failure(`${header}\nnot json\n${frameLine(2)}\n`)).toBe("line 2: not JSON");
    expect(await failure(`${header}\n{"type":"stream/opened","at":1}\n${frameLine(2)}\n`)).toBe("line 2: invalid stream/opened line");
    expect(await failure(`${header}\n{"type":"frame","at":1,"event":"a\\nb","data":"{}"}\n${frameLine(2)}\n`)).toBe("line 2: invalid frame");
    expect(await failure("")).toMatch(/empty file/);
    expect(await failure(`${frameLine(1)}\n`)).toMatch(/not a noukai-top recording/);
    expect(await failure(header.replace('"version":1', '"version":2'))).toMatch(/newer noukai-top \(format 2/);
  });
});
