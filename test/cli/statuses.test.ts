// The CLI as a child process against a scripted local server: every exit status,
// hostile server text in every format, exact costs, replays after a reconnect,
// signals and a closed stdout. The key is never printed, in any of them.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SECRET_KEY, cliEnv, controlBytes, ensureBuilt, runCli, startCli, type CliResult } from "./helpers.js";
import { HOSTILE, scriptedRun, startScriptedServer, type ScriptedRun, type ScriptedServer } from "./scriptedServer.js";

beforeAll(ensureBuilt, 120_000);

const FLOW = "acme/spelling/grade-3";
const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(run: ScriptedRun): Promise<ScriptedServer> {
  const server = await startScriptedServer(run);
  servers.push(server);
  return server;
}

function watchArgs(server: { url: string }, ...extra: string[]): string[] {
  return ["exec-1", "--flow", FLOW, "--base-url", server.url, ...extra];
}

const ENV = cliEnv({ NOUKAI_API_KEY: SECRET_KEY });

function expectClean(result: CliResult): void {
  expect(result.stdout).not.toContain(SECRET_KEY);
  expect(result.stderr).not.toContain(SECRET_KEY);
  expect(controlBytes(result.stdoutBytes)).toEqual([]);
}

describe("the final trace", () => {
  it("when it cannot be loaded, says so on stderr and still ends with the stream's summary", async () => {
    // A flowRun whose id is not a string fails validation: a final answer, not retried.
    const server = await serve({ ...scriptedRun({ status: "completed" }), trace: { flowRun: { id: 7 }, steps: [] } });
    const result = await runCli(watchArgs(server, "--format", "json"), ENV);
    expectClean(result);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^noukai-top: warning: the final trace could not be loaded \(.*flowRun.*\); the summary is the live stream's$/m);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary.status).toBe("completed");
    expect(summary.costWithRetriesUsd).toBeNull();
  });
});

describe("exit statuses", () => {
  it("0 for a completed run, with exact costs (latest attempts, and with retries)", async () => {
    const server = await serve(scriptedRun({ status: "completed" }));
    const result = await runCli(watchArgs(server, "--format", "json"), ENV);
    expectClean(result);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      type: "summary",
      executionId: "exec-1",
      runId: "run-1",
      flow: FLOW,
      status: "completed",
      stepCount: 3,
      costUsd: "0.300001",
      costWithRetriesUsd: "0.350001",
      retries: 1,
      failedSteps: 0,
      malformedFrames: 0,
    });
    expect(Object.keys(summary)).toEqual([
      "type",
      "executionId",
      "runId",
      "flow",
      "status",
      "startedAt",
      "completedAt",
      "durationMs",
      "stepCount",
      "costUsd",
      "costWithRetriesUsd",
      "tokens",
      "retries",
      "failedSteps",
      "malformedFrames",
      "steps",
    ]);
    expect((summary.steps as { stepId: string; attempt: number }[]).map((s) => [s.stepId, s.attempt])).toEqual([
      ["fetch", 1],
      ["grade", 2],
      ["report", 1],
    ]);
    // The job status, the trace and the retried step's attempts were asked for.
    expect(server.requests.some((r) => r.includes("/steps/grade/trace?") && r.includes("attempt=all"))).toBe(true);
  });

  it("4 for a failed run", async () => {
    const server = await serve(scriptedRun({ status: "failed" }));
    const result = await runCli(watchArgs(server), ENV);
    expectClean(result);
    expect(result.code).toBe(4);
    expect(result.stdout).toMatch(/run failed/);
    expect(result.stdout).toMatch(/total: status failed/);
  });

  it("5 for a cancelled run", async () => {
    const server = await serve(scriptedRun({ status: "cancelled" }));
    const result = await runCli(watchArgs(server, "--format", "ndjson"), ENV);
    expectClean(result);
    expect(result.code).toBe(5);
    const last = JSON.parse(result.stdout.trimEnd().split("\n").at(-1) ?? "") as { type: string; status: string };
    expect(last).toMatchObject({ type: "summary", status: "cancelled" });
  });

  it("3 for 401, naming status, code, server message and request id, even when the body echoes the key", async () => {
    const server = await serve({
      ...scriptedRun({ status: "completed" }),
      fail: {
        status: 401,
        body: { detail: { code: "INVALID_API_KEY", message: `key ${SECRET_KEY} is not valid` } },
        requestId: "req_auth_42",
      },
    });
    const result = await runCli(watchArgs(server), ENV);
    expectClean(result);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^noukai-top: cannot monitor run exec-1: .*401/);
    expect(result.stderr).toContain("INVALID_API_KEY");
    expect(result.stderr).toContain("is not valid");
    expect(result.stderr).toContain("req_auth_42");
  });

  it("3 for 404 RUN_NOT_FOUND", async () => {
    const server = await serve({
      ...scriptedRun({ status: "completed" }),
      fail: { status: 404, body: { detail: { code: "RUN_NOT_FOUND", message: "run exec-1 not found" } }, requestId: "req_nf_7" },
    });
    const result = await runCli(watchArgs(server, "--format", "json"), ENV);
    expectClean(result);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/404/);
    expect(result.stderr).toContain("RUN_NOT_FOUND");
    expect(result.stderr).toContain("req_nf_7");
  });

  it("3 when the server cannot be reached for longer than --give-up-after", async () => {
    const server = await startScriptedServer(scriptedRun({ status: "completed" }));
    const { url } = server;
    await server.close(); // nothing listens on that port any more
    const result = await runCli(["exec-1", "--flow", FLOW, "--base-url", url, "--give-up-after", "500ms"], ENV);
    expectClean(result);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^noukai-top: cannot monitor run exec-1: /);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const)("%s while watching exits %i", async (signal, code) => {
    const server = await serve(scriptedRun({ status: "completed", holdOpen: true }));
    const cli = startCli(watchArgs(server), ENV);
    await cli.waitForStdout("Report");
    cli.child.kill(signal);
    const result = await cli.done;
    expectClean(result);
    expect(result.code).toBe(code);
  });

  it("stops quietly when stdout is closed (| head)", async () => {
    const server = await serve({ ...scriptedRun({ status: "completed", holdOpen: true }), progressEveryMs: 20 });
    const cli = startCli(watchArgs(server, "--format", "ndjson"), ENV);
    await cli.waitForStdout("run_started");
    cli.child.stdout?.destroy();
    const result = await cli.done;
    expect(result.code).toBe(141);
    expect(result.stderr).toBe("");
  });
});

describe("a run that already finished", () => {
  it("is shown at once: every step line, the run's end, the summary table", async () => {
    const server = await serve(scriptedRun({ status: "completed" }));
    const result = await runCli(watchArgs(server), ENV);
    expectClean(result);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    const expected = [
      /^\[\d\d:\d\d\.\d\] ■ run started \(3 steps\)$/,
      /✓ Fetch data \(fetch\) completed in 1\.2s, 120 tokens, \$0\.10, gpt-4o$/,
      /✗ Grade \(grade\) failed \(attempt 1\): upstream 503$/,
      /↻ Grade \(grade\) retry: attempt 2$/,
      /✓ Grade \(grade\) completed in 800ms, 240 tokens, \$0\.20, claude-sonnet-4$/,
      /✓ Report \(report\) completed in 500ms, 15 tokens, \$0\.000001, gpt-4o-mini$/,
      /■ run completed in 3\.0s, 3\/3 steps done$/,
    ];
    const stepLines = lines.filter((line) => line.startsWith("["));
    expect(stepLines).toHaveLength(expected.length);
    stepLines.forEach((line, i) => expect(line).toMatch(expected[i] as RegExp));
    expect(result.stdout).toMatch(/^ *# +step +att +iter +status +duration +model +tokens +cost$/m);
    expect(result.stdout).toMatch(/^total: status completed, 3\/3 steps done, duration 3\.0s, tokens 375 .*cost \$0\.300001, cost with retries \$0\.350001, 1 retry, 0 failed$/m);
  });

  it("--ascii uses no characters outside ASCII", async () => {
    const server = await serve(scriptedRun({ status: "completed" }));
    const result = await runCli(watchArgs(server, "--ascii"), ENV);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\+ Report \(report\) completed/);
    expect([...result.stdout].filter((c) => c.charCodeAt(0) > 0x7e)).toEqual([]);
  });
});

describe("replay after a reconnect", () => {
  it("prints nothing twice (plain) and no event twice (ndjson)", async () => {
    const run = { ...scriptedRun({ status: "completed" }), dropFirstAfter: 4 };
    const plainServer = await serve(run);
    const plain = await runCli(watchArgs(plainServer), ENV);
    expectClean(plain);
    expect(plain.code).toBe(0);
    const lines = plain.stdout.split("\n").filter((line) => line.startsWith("["));
    const body = lines.map((line) => line.replace(/^\[[^\]]*\] /, ""));
    expect(body.some((l) => l.startsWith("! connection lost: "))).toBe(true);
    expect(body.some((l) => /^! reconnecting in \d+\.\d s \(attempt \d+\)$/.test(l))).toBe(true);
    expect(body).toContain("! reconnected; replaying the run's history");
    const stepLines = body.filter((l) => !l.startsWith("!"));
    expect(new Set(stepLines).size).toBe(stepLines.length);
    expect(stepLines.filter((l) => l.includes("Fetch data (fetch) completed"))).toHaveLength(1);
    expect(stepLines.at(-1)).toMatch(/run completed/);

    const ndjsonServer = await serve({ ...run });
    const ndjson = await runCli(watchArgs(ndjsonServer, "--format", "ndjson"), ENV);
    expectClean(ndjson);
    expect(ndjson.code).toBe(0);
    const records = ndjson.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { type: string; id?: string; state?: string });
    const ids = records.filter((r) => r.id !== undefined).map((r) => r.id);
    expect(ids).toEqual(run.events.map((_e, i) => String(i + 1)));
    expect(records.some((r) => r.type === "connection" && r.state === "reconnecting")).toBe(true);
    expect(records.at(-1)?.type).toBe("summary");
  });
});

describe("hostile server text", () => {
  const run = scriptedRun({ status: "completed", hostile: HOSTILE });

  it("is neutralised in plain output (visible escapes, no control bytes)", async () => {
    const server = await serve(run);
    const result = await runCli(watchArgs(server), ENV);
    expectClean(result);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("\\x1b]0;pwned\\x07");
    expect(result.stdout).toContain("\\u202e");
    expect(result.stdout).toContain("\\x9b");
  });

  it.each(["ndjson", "json"])("is escaped in %s output and survives parsing", async (format) => {
    const server = await serve(run);
    const result = await runCli(watchArgs(server, "--format", format), ENV);
    expectClean(result);
    expect(result.code).toBe(0);
    const text = result.stdout.trimEnd();
    const objects = format === "json" ? [JSON.parse(text) as unknown] : text.split("\n").map((l) => JSON.parse(l) as unknown);
    const summary = objects.at(-1) as { steps: { name: string; modelUsed: string }[] };
    expect(summary.steps[0]?.name).toBe(`Fetch ${HOSTILE}data`);
    expect(summary.steps[0]?.modelUsed).toBe(`gpt-4o${HOSTILE}`);
    expect(text).toContain("\\u009b");
    expect(text).toContain("\\u202e");
  });
});
