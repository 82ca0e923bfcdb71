// Each output format, `demo` and `serve`, against the embedded server (fast
// speed, fixed seed), with the CLI as a child process. The server requires the
// distinctive test key, so every watch proves the key was sent, and never printed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareUsd } from "../../src/state/money.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { SECRET_KEY, cliEnv, controlBytes, ensureBuilt, runCli, startCli, type CliResult } from "./helpers.js";

const ENV = cliEnv({ NOUKAI_API_KEY: SECRET_KEY });
let server: RunningServer;

beforeAll(async () => {
  await ensureBuilt();
  server = await startServer({ host: "127.0.0.1", port: 0, speed: 40, seed: 11, requireKey: SECRET_KEY });
}, 120_000);
afterAll(async () => {
  await server.close();
});

async function watch(flow: string, ...extra: string[]): Promise<CliResult> {
  const executionId = await server.submitRun(flow, { message: "hello" });
  return runCli([executionId, "--flow", flow, "--base-url", server.url, ...extra], ENV);
}

function expectClean(result: CliResult): void {
  expect(result.stdout).not.toContain(SECRET_KEY);
  expect(result.stderr).not.toContain(SECRET_KEY);
  expect(controlBytes(result.stdoutBytes)).toEqual([]);
}

const DECIMAL = /^\d+(\.\d+)?$/;

describe("plain", () => {
  it("prints one line per change, summarises the loop, then the table (piped: no escape bytes)", async () => {
    const result = await watch("demo/playground/essay-pipeline");
    expectClean(result);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    const events = lines.filter((line) => /^\[\d\d:\d\d\.\d\] /.test(line));
    expect(events[0]).toMatch(/run started \(12 steps\)$/);
    expect(events.some((l) => /Summarize chunk \(summarize-chunk\) loop: iteration [2-8] /.test(l))).toBe(true);
    expect(events.some((l) => /Summarize chunk \(summarize-chunk\) loop completed: 8 iterations/.test(l))).toBe(true);
    // 8 iterations: a start, the loop line, maybe a failure and retry, the end; not a line each.
    expect(events.filter((l) => l.includes("summarize-chunk")).length).toBeLessThanOrEqual(6);
    expect(events.some((l) => / retry: attempt 2/.test(l))).toBe(true);
    expect(events.some((l) => /Translate summary \(translate-summary\) skipped$/.test(l))).toBe(true);
    expect(events.at(-1)).toMatch(/run completed in .*, 12\/12 steps done$/);
    const table = lines.slice(lines.findIndex((l) => /^ *# +step/.test(l)));
    expect(table.filter((l) => /^ *\d+ {2}/.test(l))).toHaveLength(12);
    expect(result.stdout).toMatch(/^total: status completed, 12\/12 steps done, .*2 retries, 0 failed$/m);
  });

  it("exits 4 for a failed run and says why", async () => {
    const result = await watch("demo/playground/always-fails");
    expectClean(result);
    expect(result.code).toBe(4);
    expect(result.stdout).toMatch(/failed \(attempt 3\): provider answered 503 Service Unavailable/);
    expect(result.stdout).toMatch(/run failed .*: provider answered 503 Service Unavailable$/m);
  });
});

describe("ndjson", () => {
  it("prints connection lines, one line per event with receivedAt, then the summary", async () => {
    const result = await watch("acme/spelling/grade-3", "--format", "ndjson");
    expectClean(result);
    expect(result.code).toBe(0);
    const records = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ type: "connection", state: "connecting", attempt: 1 });
    const events = records.filter((r) => r.receivedAt !== undefined);
    expect(events[0]?.type).toBe("run_started");
    for (const event of events) expect(new Date(event.receivedAt as string).toISOString()).toBe(event.receivedAt);
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events.filter((e) => e.type === "step_error")).not.toHaveLength(0);
    expect(records.at(-1)).toMatchObject({ type: "summary", status: "completed", flow: "acme/spelling/grade-3" });
  });
});

describe("json", () => {
  it("prints only the summary object, pretty-printed, with exact decimal costs", async () => {
    const result = await watch("acme/spelling/grade-3", "--format", "json");
    expectClean(result);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith("{\n  \"type\": \"summary\",")).toBe(true);
    const summary = JSON.parse(result.stdout) as {
      status: string;
      costUsd: string;
      costWithRetriesUsd: string;
      retries: number;
      steps: { stepId: string; attempt: number; costUsd: string | null }[];
      tokens: { total: number };
    };
    expect(summary.status).toBe("completed");
    expect(summary.costUsd).toMatch(DECIMAL);
    expect(summary.costWithRetriesUsd).toMatch(DECIMAL);
    expect(summary.retries).toBeGreaterThan(0);
    // The failed attempt cost something: the with-retries total is larger.
    expect(compareUsd(summary.costWithRetriesUsd, summary.costUsd)).toBe(1);
    expect(summary.steps.some((s) => s.attempt === 2)).toBe(true);
    expect(summary.tokens.total).toBeGreaterThan(0);
  });

  it("reports a failed run with status 4", async () => {
    const result = await watch("demo/playground/always-fails", "--format", "json");
    expectClean(result);
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "summary", status: "failed", failedSteps: 1 });
  });
});

describe("demo", () => {
  it("starts its own server, submits a run and watches it (plain when piped)", async () => {
    const result = await runCli(["demo", "--speed", "50", "--seed", "3", "--flow", "acme/spelling/grade-3", "--format", "json"], cliEnv());
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^noukai-top demo: local server http:\/\/127\.0\.0\.1:\d+\/api\/v1 \(seed 3\); watching run /);
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "summary", status: "completed", flow: "acme/spelling/grade-3" });
    expect(result.stdout).not.toMatch(/nk_demo_[0-9a-f]{32}/);
    expect(result.stderr).not.toMatch(/nk_demo_[0-9a-f]{32}/);
  });
});

describe("serve", () => {
  it("prints its URL and examples, serves runs to a watch, and stops with exit 0 on SIGINT", async () => {
    const serve = startCli(["serve", "--port", "0", "--speed", "50", "--seed", "5"], cliEnv());
    await serve.waitForStdout("Ctrl+C stops the server.");
    const banner = serve.stdoutText();
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(banner)?.[1];
    expect(url).toBeDefined();
    expect(banner).toContain("curl -s -X POST");
    expect(banner).toContain(`NOUKAI_API_KEY=nk_demo NOUKAI_BASE_URL=${String(url)} npx noukai-top <executionId> --flow demo/playground/essay-pipeline`);

    const submitted = await fetch(`${String(url)}/seq/acme/spelling/grade-3/jobs`, {
      method: "POST",
      headers: { authorization: "Bearer nk_demo", "content-type": "application/json" },
      body: JSON.stringify({ message: "hi" }),
    });
    const { executionId } = (await submitted.json()) as { executionId: string };
    const watched = await runCli([executionId, "--flow", "acme/spelling/grade-3", "--base-url", String(url), "--format", "json"], cliEnv({ NOUKAI_API_KEY: "nk_demo" }));
    expect(watched.code).toBe(0);
    expect(JSON.parse(watched.stdout)).toMatchObject({ status: "completed" });

    serve.child.kill("SIGINT");
    const result = await serve.done;
    expect(result.code).toBe(0);
  });
});
