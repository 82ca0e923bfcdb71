// The step detail against a real local HTTP server (the recording server) through the real
// TraceClient: attempts with loading/error states, snapshots, loop iterations, reloads.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TraceClient } from "../../src/api/client.js";
import type { FlowRef } from "../../src/api/paths.js";
import { initialRunState } from "../../src/state/reducer.js";
import { createRunStore } from "../../src/ui/runStore.js";
import { createTraceSource } from "../../src/ui/source.js";
import { reply, startRecordingServer, type RecordedRequest, type RecordingServer } from "../helpers/recordingServer.js";
import { completed, events, failed, KEYS, renderScreen, runStarted, selectedLine, started, type Screen } from "./harness.js";

const FLOW: FlowRef = { org: "demo", project: "playground", slug: "essay-pipeline" };
const RUN_PATH = "/api/v1/seq/demo/playground/essay-pipeline/runs/exec-1";

const claims = Array.from({ length: 200 }, (_, i) => `claim number ${String(i)}`);

const EXTRACT_ATTEMPTS = [
  {
    stepId: "extract",
    attempt: 1,
    status: "failed",
    startedAt: "2026-05-31T10:00:00.000Z",
    completedAt: "2026-05-31T10:00:01.200Z",
    durationMs: 1200,
    modelUsed: "claude-sonnet-4",
    tokens: { prompt: 1500, completion: 0, total: 1500 },
    costUsd: "0.0045",
    errorContext: { code: "INVALID_JSON_OUTPUT", message: "model output is not valid JSON", position: 412 },
    inputContext: { prompt: "Extract the claims of the essay" },
    inputSizeBytes: 1234,
    truncated: false,
  },
  {
    stepId: "extract",
    attempt: 2,
    status: "completed",
    startedAt: "2026-05-31T10:00:02.200Z",
    completedAt: "2026-05-31T10:00:05.000Z",
    durationMs: 2800,
    modelUsed: "claude-sonnet-4",
    tokens: { prompt: 1500, completion: 400, total: 1900 },
    costUsd: "0.0051",
    inputContext: { prompt: "Extract the claims of the essay" },
    outputContext: { claims, note: "bidi \u202e and C1 \u009b and ESC \u001b]0;title\u0007" },
    inputSizeBytes: 1234,
    outputSizeBytes: 2_400_000,
    truncated: true,
  },
];

function loopAttempts(loopIndex: number): unknown[] {
  const base = { stepId: "summarize", loopIndex, modelUsed: "gpt-4o-mini", costUsd: "0.001", durationMs: 900 };
  if (loopIndex !== 1) return [{ ...base, attempt: 1, status: "completed", outputContext: { chunk: loopIndex } }];
  return [
    { ...base, attempt: 1, status: "failed", errorContext: { code: "MODEL_TIMEOUT", message: "no answer in 30 s" } },
    { ...base, attempt: 2, status: "completed", outputContext: { chunk: loopIndex } },
  ];
}

function route(req: RecordedRequest) {
  const step = /\/steps\/([^/]+)\/trace$/.exec(req.path)?.[1];
  if (step === "extract" && req.query.get("attempt") === "all") return reply(200, { stepId: "extract", attempts: EXTRACT_ATTEMPTS });
  if (step === "summarize" && req.query.get("attempt") === "all") {
    return reply(200, { stepId: "summarize", attempts: loopAttempts(Number(req.query.get("loop_index"))) });
  }
  if (step === "broken") {
    return reply(500, { detail: { code: "INTERNAL_ERROR", message: "database is down" } }, { "x-request-id": "req_42" });
  }
  if (req.path === `${RUN_PATH}/trace`) {
    return reply(200, { flowRun: { id: "run-1", status: "running", stepCount: 4 }, steps: [] });
  }
  return reply(404, { detail: { code: "RUN_NOT_FOUND", message: "no such run" } });
}

let server: RecordingServer;
let client: TraceClient;
let screen: Screen | null = null;

beforeAll(async () => {
  server = await startRecordingServer((req) => route(req));
  client = new TraceClient({ baseUrl: `${server.url}/api/v1`, apiKey: "nk_test_detail_key", maxRetries: 0 });
});

afterAll(async () => {
  await client.close();
  await server.close();
});

afterEach(() => {
  screen?.unmount();
  screen = null;
});

/** A run with a retried step, a loop of 3 iterations (one retried) and a step whose attempts cannot load. */
async function openRun(opts: { ascii?: boolean; columns?: number; rows?: number } = {}): Promise<Screen> {
  const store = createRunStore(initialRunState("exec-1"));
  const source = createTraceSource({ client, flow: FLOW, flowLabel: "demo/playground/essay-pipeline", executionId: "exec-1", store });
  screen = await renderScreen({ store, source, ...opts });
  await screen.feed(
    events(
      runStarted(4),
      started("extract", "Extract claims"),
      failed("extract", "model output is not valid JSON"),
      started("extract", "Extract claims"),
      completed("extract", { costUsd: "0.0051", model: "claude-sonnet-4" }),
      started("summarize", "Summarize chunk"),
      completed("summarize"),
      started("summarize"),
      failed("summarize", "timeout"),
      started("summarize"),
      completed("summarize"),
      started("summarize"),
      completed("summarize"),
      started("broken", "Broken step"),
      completed("broken"),
    ),
  );
  return screen;
}

function requestsFor(step: string): RecordedRequest[] {
  return server.requests.filter((r) => r.path === `${RUN_PATH}/steps/${step}/trace`);
}

async function openStep(s: Screen, row: number): Promise<void> {
  await s.press("g");
  for (let i = 1; i < row; i += 1) await s.press("j");
  await s.press(KEYS.enter);
}

describe("step detail", () => {
  it("Enter lists every attempt of the step from attempt=all, with the cost of the failed ones", async () => {
    const s = await openRun();
    const before = requestsFor("extract").length;
    await openStep(s, 1);
    const frame = await s.waitFor((f) => f.includes("✓ completed") && f.includes("claim number 0"), "the attempts");
    const request = requestsFor("extract")[before];
    expect(request?.query.get("attempt")).toBe("all");
    expect(request?.query.has("loop_index")).toBe(false);
    const lines = frame.split("\n");
    expect(lines.find((l) => /^ +1 ✗ failed/.test(l))).toMatch(/10:00|:\d\d:\d\d/);
    expect(lines.find((l) => /^ +1 ✗ failed/.test(l))).toMatch(/1\.2s.*claude-sonnet-4.*1500\/0.*\$0\.0045.*INVALID_JSON_OUTPUT: mode/);
    expect(selectedLine(frame)).toMatch(/2 ✓ completed.*2\.8s.*\$0\.0051/);
    expect(frame).toContain("incl. failed attempts $0.0096");
    // The latest attempt's output: size, the truncated marker, pretty JSON.
    expect(frame).toMatch(/\[output\].*2\.3 MB.*TRUNCATED/);
    expect(frame).toContain('"claims": [');
  });

  it("selecting an attempt shows its error, input and output snapshots", async () => {
    const s = await openRun();
    await openStep(s, 1);
    await s.waitFor((f) => f.includes("claim number 0"), "the output snapshot");
    await s.press("k");
    let frame = s.frame();
    expect(selectedLine(frame)).toMatch(/1 ✗ failed/);
    expect(frame).toMatch(/\[error\]/);
    expect(frame).toContain('"code": "INVALID_JSON_OUTPUT"');
    expect(frame).toContain('"position": 412');
    await s.press("i");
    frame = s.frame();
    expect(frame).toMatch(/\[input\].*1\.2 KB/);
    expect(frame).toContain('"prompt": "Extract the claims of the essay"');
    await s.press("o");
    expect(s.frame()).toContain("(no output context for this attempt)");
    await s.press(KEYS.tab);
    expect(s.frame()).toMatch(/\[error\]/);
  });

  it("scrolls a long snapshot by line, page and to either end", async () => {
    const s = await openRun({ rows: 24 });
    await openStep(s, 1);
    await s.waitFor((f) => f.includes("claim number 0"), "the output snapshot");
    expect(s.frame()).toMatch(/lines 1-\d+\/20\d/);
    await s.press("J");
    expect(s.frame()).toMatch(/lines 2-/);
    await s.press(KEYS.pageDown);
    expect(s.frame()).not.toContain('"claims": [');
    await s.press("G");
    expect(s.frame()).toContain("claim number 199");
    expect(s.frame()).toContain('"note"');
    await s.press("g");
    expect(s.frame()).toContain('"claims": [');
    expect(s.lines().length).toBeLessThanOrEqual(23);
  });

  it("sanitizes server text inside snapshots", async () => {
    const s = await openRun();
    await openStep(s, 1);
    await s.waitFor((f) => f.includes("claim number 0"), "the output snapshot");
    await s.press("G");
    const frame = s.frame();
    expect(frame).toContain('"note"');
    expect(frame).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  });

  it("Esc, Left and Backspace go back to the table", async () => {
    const s = await openRun();
    for (const back of [KEYS.escape, KEYS.left, KEYS.backspace]) {
      await openStep(s, 1);
      await s.waitFor((f) => f.includes("incl. failed attempts"), "the detail");
      await s.press(back);
      expect(s.frame()).toContain("Enter detail");
      expect(selectedLine(s.frame())).toMatch(/Extract claims/);
    }
  });

  it("for a loop step, [ and ] choose the iteration (loop_index)", async () => {
    const s = await openRun();
    await openStep(s, 2);
    await s.waitFor((f) => f.includes("iteration 2 (3/3") && f.includes('"chunk": 2'), "the latest iteration");
    expect(requestsFor("summarize").at(-1)?.query.get("loop_index")).toBe("2");
    await s.press("[");
    const frame = await s.waitFor((f) => f.includes("iteration 1 (2/3") && f.includes("MODEL_TIMEOUT"), "iteration 1");
    expect(requestsFor("summarize").at(-1)?.query.get("loop_index")).toBe("1");
    expect(frame).toMatch(/ 1 ✗ failed/);
    expect(frame).toMatch(/this iteration, all attempts \$0\.002/);
    await s.press("]");
    await s.press("]");
    await s.waitFor((f) => f.includes("iteration 2 (3/3") && f.includes('"chunk": 2'), "back to iteration 2");
  });

  it("shows an error when the attempts cannot be loaded, and r tries again", async () => {
    const s = await openRun();
    await openStep(s, 3);
    const frame = await s.waitFor((f) => f.includes("could not load attempts"), "the error");
    expect(frame).toContain("INTERNAL_ERROR");
    expect(frame).toContain("req_42");
    const before = requestsFor("broken").length;
    await s.press("r");
    await s.waitFor(() => requestsFor("broken").length > before, "a second request");
  });

  it("r in the table reloads the trace", async () => {
    const s = await openRun();
    const before = server.requests.filter((r) => r.path === `${RUN_PATH}/trace`).length;
    await s.press("r");
    await s.waitFor(() => server.requests.filter((r) => r.path === `${RUN_PATH}/trace`).length > before, "a trace request");
  });

  it("--ascii detail has no character outside ASCII, and fits 80x24", async () => {
    const s = await openRun({ ascii: true, columns: 80, rows: 24 });
    await openStep(s, 1);
    await s.waitFor((f) => f.includes("claim number 0"), "the output snapshot");
    await s.press("k");
    const frame = s.frame();
    expect(frame).toContain("INVALID_JSON_OUTPUT");
    expect(frame).not.toMatch(/[^\x00-\x7e]/);
    expect(s.lines().length).toBeLessThanOrEqual(23);
  });
});
