// `export` and `view` as child processes against the embedded server: the file is the
// Trace in wire form plus names and attempts, it round trips, and `view` of it gives the
// same summary as watching the run did. Hostile ids make safe file names.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TraceClient } from "../../src/api/client.js";
import { EXPORT_META_KEY, exportFileText, parseExportFile, wireTrace } from "../../src/api/exportFile.js";
import { parseFlowRef, type FlowRef } from "../../src/api/paths.js";
import { Trace } from "../../src/api/schemas.js";
import { attemptsKey } from "../../src/state/types.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { SECRET_KEY, cliEnv, controlBytes, ensureBuilt, runCli, type CliResult } from "./helpers.js";
import { HOSTILE, scriptedRun, startScriptedServer } from "./scriptedServer.js";

const ENV = cliEnv({ NOUKAI_API_KEY: SECRET_KEY });
const FLOW = "demo/playground/essay-pipeline";
let server: RunningServer;
let dir: string;
/** One finished run with retries, a loop and a skipped step, watched once with --format json. */
let executionId: string;
let watchedSummary: Record<string, unknown>;

beforeAll(async () => {
  await ensureBuilt();
  server = await startServer({ host: "127.0.0.1", port: 0, speed: 50, seed: 11, requireKey: SECRET_KEY });
  dir = mkdtempSync(join(tmpdir(), "noukai-export-"));
  executionId = await server.submitRun(FLOW, { message: "hello" });
  const watched = await runCli([executionId, "--flow", FLOW, "--base-url", server.url, "--format", "json"], ENV);
  expect(watched.code).toBe(0);
  watchedSummary = JSON.parse(watched.stdout) as Record<string, unknown>;
}, 120_000);
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function exportArgs(id: string, ...extra: string[]): string[] {
  return ["export", id, "--flow", FLOW, "--base-url", server.url, ...extra];
}

function expectClean(result: CliResult): void {
  expect(result.stdout).not.toContain(SECRET_KEY);
  expect(result.stderr).not.toContain(SECRET_KEY);
  expect(controlBytes(result.stdoutBytes)).toEqual([]);
}

/**
 * A summary with its steps in step id order: a watch lists a step the stream never
 * started (a skipped one) where it learnt of it, the saved trace in trace order.
 */
function sameSummary(summary: Record<string, unknown>): Record<string, unknown> {
  const steps = [...(summary.steps as { stepId: string; loopIndex: number | null }[])];
  steps.sort((a, b) => (a.stepId === b.stepId ? (a.loopIndex ?? -1) - (b.loopIndex ?? -1) : a.stepId < b.stepId ? -1 : 1));
  return { ...summary, steps };
}

describe("export", () => {
  it("writes <execution-id>.trace.json: the trace as the API gives it, names from the stream, attempts of retried steps", async () => {
    const cwd = mkdtempSync(join(dir, "default-"));
    const result = await runCli(exportArgs(executionId), ENV, { cwd });
    expectClean(result);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^noukai-top: wrote '.*\.trace\.json' \(\d+ step traces\)\n$/);
    expect(readdirSync(cwd)).toEqual([`${executionId}.trace.json`]);

    const text = readFileSync(join(cwd, `${executionId}.trace.json`), "utf8");
    const json = JSON.parse(text) as Record<string, unknown>;
    // Validates against the schemas the client reads the API with.
    expect(Trace.safeParse(json).success).toBe(true);
    const parsed = parseExportFile(text);
    // Round trip: parse and write again gives the same text.
    expect(exportFileText(parsed)).toBe(text);

    const client = new TraceClient({ baseUrl: server.url, apiKey: SECRET_KEY });
    const flow = parseFlowRef(FLOW) as FlowRef;
    try {
      expect(wireTrace(parsed.trace)).toEqual(wireTrace(await client.trace(flow, executionId)));
      const retried = parsed.trace.steps.filter((step) => step.attempt > 1);
      expect(retried.length).toBeGreaterThan(0);
      expect([...parsed.attempts.keys()].sort()).toEqual(retried.map((s) => attemptsKey(s.stepId, s.loopIndex)).sort());
      for (const step of retried) {
        const fetched = await client.stepAttempts(flow, executionId, step.stepId, { loopIndex: step.loopIndex ?? null });
        expect(parsed.attempts.get(attemptsKey(step.stepId, step.loopIndex))?.map((a) => wireTrace({ flowRun: { id: "x", status: "x" }, steps: [a] })))
          .toEqual(fetched.attempts.map((a) => wireTrace({ flowRun: { id: "x", status: "x" }, steps: [a] })));
      }
    } finally {
      await client.close();
    }
    expect(json[EXPORT_META_KEY]).toMatchObject({ version: 1, executionId, flow: FLOW });
    expect(parsed.names["summarize-chunk"]).toBe("Summarize chunk");
    expect(parsed.names["load-essay"]).toBe("Load essay");
    // A skipped step is only named by a step_progress; the steps named match the watch's summary.
    const watchedNames = new Map(
      (watchedSummary.steps as { stepId: string; name: string | null }[]).map((step) => [step.stepId, step.name]),
    );
    for (const [stepId, name] of Object.entries(parsed.names)) expect(watchedNames.get(stepId)).toBe(name);
  });

  it("view of the file prints the summary the watch printed", async () => {
    const cwd = mkdtempSync(join(dir, "view-"));
    expect((await runCli(exportArgs(executionId), ENV, { cwd })).code).toBe(0);
    const file = join(cwd, `${executionId}.trace.json`);
    const json = await runCli(["view", file, "--format", "json"], cliEnv());
    expectClean(json);
    expect(json.code).toBe(0);
    expect(sameSummary(JSON.parse(json.stdout) as Record<string, unknown>)).toEqual(sameSummary(watchedSummary));

    const ndjson = await runCli(["view", file, "--format", "ndjson"], cliEnv());
    expect(ndjson.code).toBe(0);
    expect(ndjson.stdout.split("\n")).toHaveLength(2);
    expect(JSON.parse(ndjson.stdout)).toEqual(JSON.parse(json.stdout));

    // Piped: plain without escape bytes, a heading, the table, the totals.
    const plain = await runCli(["view", file], cliEnv());
    expectClean(plain);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^run ${executionId} of ${FLOW}, exported \\d{4}-`));
    expect(plain.stdout).toMatch(/^ *4 +Summarize chunk +1 +8 +completed/m);
    expect(plain.stdout).toMatch(/^total: status completed, 12\/12 steps done, .* 2 retries, 0 failed$/m);
  });

  it("-o - writes the file's text to stdout, -o FILE where asked", async () => {
    const cwd = mkdtempSync(join(dir, "stdout-"));
    const toStdout = await runCli(exportArgs(executionId, "-o", "-"), ENV, { cwd });
    expectClean(toStdout);
    expect(toStdout.code).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
    const target = join(cwd, "saved.json");
    const toFile = await runCli(exportArgs(executionId, "--output", target), ENV);
    expect(toFile.code).toBe(0);
    const fromStdout = parseExportFile(toStdout.stdout);
    const fromFile = parseExportFile(readFileSync(target, "utf8"));
    expect(wireTrace(fromStdout.trace)).toEqual(wireTrace(fromFile.trace));
    expect(fromStdout.names).toEqual(fromFile.names);
  });

  it("exits 3 for an unknown run or a file that cannot be written, 2 for usage errors", async () => {
    const unknown = await runCli(exportArgs("no-such-run"), ENV, { cwd: dir });
    expectClean(unknown);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^noukai-top: cannot export run no-such-run: HTTP 404 /);

    const unwritable = await runCli(exportArgs(executionId, "-o", join(dir, "missing-dir", "x.json")), ENV);
    expect(unwritable.code).toBe(3);
    expect(unwritable.stderr).toMatch(/^noukai-top: cannot write '.*x\.json' \(ENOENT\)$/m);

    expect((await runCli(["export", "--flow", FLOW], ENV)).code).toBe(2);
    expect((await runCli(["export", "a", "b", "--flow", FLOW], ENV)).stderr).toMatch(/unexpected argument 'b'/);
    const noFlow = await runCli(["export", executionId, "--base-url", server.url], ENV);
    expect(noFlow.code).toBe(2);
    expect(noFlow.stderr).toMatch(/no flow given/);
  });

  it("names the file safely after a hostile execution id (no path, no hidden file, no option look-alike)", async () => {
    const scripted = await startScriptedServer(scriptedRun({ status: "completed", hostile: HOSTILE }));
    try {
      const cwd = mkdtempSync(join(dir, "hostile-"));
      for (const id of ["../../escaped", "-rf", ".hidden"]) {
        const result = await runCli(["export", "--flow", "a/b/c", "--base-url", scripted.url, "--", id], ENV, { cwd });
        expect(result.code).toBe(0);
        // The message names the file without raw control bytes.
        expect(controlBytes(Buffer.from(result.stderr))).toEqual([]);
      }
      expect(readdirSync(cwd).sort()).toEqual(["_.._escaped.trace.json", "hidden.trace.json", "rf.trace.json"]);
      expect(readdirSync(dir)).not.toContain("escaped.trace.json");
      // The data is kept as it came: the hostile name is in the file, escaped as JSON.
      const parsed = parseExportFile(readFileSync(join(cwd, "rf.trace.json"), "utf8"));
      expect(parsed.names.grade).toBe(`Grade${HOSTILE}`);
      // …and `view` prints it sanitized.
      const view = await runCli(["view", join(cwd, "rf.trace.json")], cliEnv());
      expect(view.code).toBe(0);
      expect(controlBytes(view.stdoutBytes)).toEqual([]);
      expect(view.stdout).toContain("Grade\\x1b]0;pwned");
    } finally {
      await scripted.close();
    }
  });
});

describe("view", () => {
  it("exits 3 for a file that is missing or not a trace, 2 for usage errors", async () => {
    const missing = await runCli(["view", join(dir, "nope.trace.json")], cliEnv());
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^noukai-top: cannot read '.*nope\.trace\.json' \(ENOENT\)\n$/);

    const bad = join(dir, "bad.trace.json");
    writeFileSync(bad, '{"flowRun": {"id": 1}}');
    const invalid = await runCli(["view", bad], cliEnv());
    expect(invalid.code).toBe(3);
    expect(invalid.stderr).toMatch(/^noukai-top: cannot read '.*bad\.trace\.json': not a trace file: flowRun\.id: .*\n$/);

    expect((await runCli(["view"], cliEnv())).stderr).toMatch(/missing the \.trace\.json file/);
    const tui = await runCli(["view", bad, "--format", "tui"], cliEnv());
    expect(tui.code).toBe(2);
    expect(tui.stderr).toMatch(/needs a terminal/);
  });

  it("reads a plain model_dump of a trace (no names, no attempts)", async () => {
    const file = join(dir, "sdk.trace.json");
    writeFileSync(
      file,
      JSON.stringify({
        flowRun: { id: "run-9", flowId: null, status: "failed", startedAt: null, completedAt: null, durationMs: 10, stepCount: 1 },
        steps: [{ stepId: "only", attempt: 2, loopIndex: null, status: "failed", costUsd: "0.5", tokens: null }],
      }),
    );
    const result = await runCli(["view", file, "--format", "json"], cliEnv());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      executionId: "run-9",
      flow: "",
      status: "failed",
      costUsd: "0.5",
      // Attempt 2 with no attempts in the file: the cost with retries is not known.
      costWithRetriesUsd: null,
      steps: [{ stepId: "only", name: null, attempt: 2, status: "failed" }],
    });
  });
});
