// `diff` as a child process: two runs of the embedded server with different seeds,
// compared as ids and as exported files; every difference is exact decimal arithmetic.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { amountRatio, type RunDiff } from "../../src/cli/diffRuns.js";
import { parseUsd, subtractAmounts, sumUsd, toUsdString } from "../../src/state/money.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { SECRET_KEY, cliEnv, controlBytes, ensureBuilt, runCli } from "./helpers.js";

const ENV = cliEnv({ NOUKAI_API_KEY: SECRET_KEY });
const FLOW = "demo/playground/essay-pipeline";
let serverA: RunningServer;
let serverB: RunningServer;
let dir: string;
let fileA: string;
let fileB: string;
let idB: string;

beforeAll(async () => {
  await ensureBuilt();
  [serverA, serverB] = await Promise.all(
    [1, 2].map((seed) => startServer({ host: "127.0.0.1", port: 0, speed: 100, seed, requireKey: SECRET_KEY })),
  ) as [RunningServer, RunningServer];
  dir = mkdtempSync(join(tmpdir(), "noukai-diff-"));
  const idA = await serverA.submitRun(FLOW, { message: "hello" });
  idB = await serverB.submitRun(FLOW, { message: "hello" });
  fileA = join(dir, "a.trace.json");
  fileB = join(dir, "b.trace.json");
  const exported = await Promise.all([
    runCli(["export", idA, "--flow", FLOW, "--base-url", serverA.url, "-o", fileA], ENV),
    runCli(["export", idB, "--flow", FLOW, "--base-url", serverB.url, "-o", fileB], ENV),
  ]);
  for (const result of exported) expect(result.code).toBe(0);
}, 120_000);
afterAll(async () => {
  await Promise.all([serverA.close(), serverB.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function difference(a: string | null, b: string | null): string | null {
  const x = parseUsd(a);
  const y = parseUsd(b);
  return x === null || y === null ? null : toUsdString(subtractAmounts(y, x));
}

describe("diff", () => {
  it("compares two seeds step by step with exact differences (a file and a run id)", async () => {
    const result = await runCli(["diff", fileA, idB, "--flow", FLOW, "--base-url", serverB.url, "--format", "json"], ENV);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const diff = JSON.parse(result.stdout) as RunDiff;
    expect(diff.a).toMatchObject({ source: "file", ref: fileA, flow: FLOW, status: "completed" });
    expect(diff.b).toMatchObject({ source: "run", ref: idB, executionId: idB, flow: FLOW, status: "completed" });
    // Same flow: every step execution (loop iterations one by one) is in both.
    expect(diff.totals).toMatchObject({ onlyA: 0, onlyB: 0 });
    expect(diff.totals.matched).toBe(diff.steps.length);
    expect(diff.steps.find((step) => step.stepId === "summarize-chunk" && step.loopIndex === 7)?.name).toBe("Summarize chunk");
    // Different seeds: the costs differ somewhere.
    expect(diff.steps.some((step) => step.costDeltaUsd !== null && step.costDeltaUsd !== "0")).toBe(true);
    for (const step of diff.steps) {
      expect(step.in).toBe("both");
      expect(step.costDeltaUsd).toBe(difference(step.a?.costUsd ?? null, step.b?.costUsd ?? null));
      const [da, db] = [step.a?.durationMs ?? null, step.b?.durationMs ?? null];
      expect(step.durationDeltaMs).toBe(da === null || db === null ? null : db - da);
    }
    const costA = sumUsd(diff.steps.map((step) => step.a?.costUsd));
    const costB = sumUsd(diff.steps.map((step) => step.b?.costUsd));
    expect(diff.totals.costUsd).toEqual({
      a: costA,
      b: costB,
      delta: difference(costA, costB),
      ratio: amountRatio(parseUsd(costA) as NonNullable<ReturnType<typeof parseUsd>>, parseUsd(costB) as NonNullable<ReturnType<typeof parseUsd>>),
    });
    expect(diff.totals.costWithRetriesUsd.a).not.toBeNull();
    expect(diff.totals.durationMs.delta).toBe((diff.b.durationMs ?? 0) - (diff.a.durationMs ?? 0));

    // The same comparison from the two files, with no server at all.
    const files = await runCli(["diff", fileA, fileB, "--format", "json"], cliEnv());
    expect(files.code).toBe(0);
    const fromFiles = JSON.parse(files.stdout) as RunDiff;
    expect(fromFiles.steps).toEqual(diff.steps);
    expect(fromFiles.totals).toEqual(diff.totals);
  });

  it("prints a table and the totals with their ratios (piped: no escape bytes)", async () => {
    const result = await runCli(["diff", fileA, fileB], cliEnv());
    expect(result.code).toBe(0);
    expect(controlBytes(result.stdoutBytes)).toEqual([]);
    expect(result.stdout).toMatch(/^a: file .*a\.trace\.json of demo\/playground\/essay-pipeline: completed, /);
    expect(result.stdout).toMatch(/^ *#  step +in +a time +b time +time diff +a cost +b cost +cost diff$/m);
    expect(result.stdout).toMatch(/^ *\d+ +Summarize chunk \[7\] +a\+b /m);
    expect(result.stdout).toMatch(/^total: cost \$[\d.]+ → \$[\d.]+ \([+-]?\$[\d.]+, ×[\d.]+\)$/m);
    expect(result.stdout).toMatch(/^total: steps: 19 in both, 0 only in a, 0 only in b$/m);
    const ascii = await runCli(["diff", fileA, fileB, "--ascii"], cliEnv());
    expect(ascii.stdout).toMatch(/^total: duration \S+ -> \S+ \([+-]?\S+, x[\d.]+\)$/m);
  });

  it("lists steps present in only one run", async () => {
    const other = await serverB.submitRun("acme/spelling/grade-3", { message: "hello" });
    const result = await runCli(
      ["diff", fileA, other, "--flow", "acme/spelling/grade-3", "--base-url", serverB.url, "--format", "json"],
      ENV,
    );
    expect(result.code).toBe(0);
    const diff = JSON.parse(result.stdout) as RunDiff;
    // The flows share a step id or two (detect-language): those are matched, the rest are not.
    expect(diff.totals.matched + diff.totals.onlyA).toBe(19);
    expect(diff.totals.onlyA).toBeGreaterThan(diff.totals.matched);
    expect(diff.totals.onlyB).toBeGreaterThan(0);
    expect(diff.steps.filter((step) => step.in === "both")).toHaveLength(diff.totals.matched);
    for (const step of diff.steps.filter((s) => s.in === "a")) expect(step).toMatchObject({ b: null, costDeltaUsd: null });
    const onlyB = diff.steps.filter((step) => step.in === "b");
    expect(onlyB).toHaveLength(diff.totals.onlyB);
    for (const step of onlyB) expect(step).toMatchObject({ a: null, durationDeltaMs: null, costDeltaUsd: null });
    // Steps of a first, in a's order, then b's.
    expect(diff.steps.findIndex((step) => step.in === "b")).toBe(19);
  });

  it("exits 2 for usage errors, 3 when a side cannot be read or fetched", async () => {
    expect((await runCli(["diff", fileA], cliEnv())).stderr).toMatch(/diff needs two runs/);
    const noFlow = await runCli(["diff", fileA, "some-run-id"], ENV);
    expect(noFlow.code).toBe(2);
    expect(noFlow.stderr).toMatch(/no flow given/);
    const missing = await runCli(["diff", fileA, join(dir, "nope.trace.json")], cliEnv());
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^noukai-top: cannot read '.*nope\.trace\.json' \(ENOENT\)\n$/);
    const unknown = await runCli(["diff", fileA, "no-such-run", "--flow", FLOW, "--base-url", serverB.url], ENV);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^noukai-top: cannot fetch run no-such-run: HTTP 404 /);
    expect(unknown.stderr).not.toContain(SECRET_KEY);
  });
});

describe("amountRatio", () => {
  it("divides exactly and rounds half away from zero to 4 decimals", () => {
    const ratio = (a: string, b: string) => amountRatio(parseUsd(a) as never, parseUsd(b) as never);
    expect(ratio("0.3", "0.1")).toBe(0.3333);
    expect(ratio("0.000003", "0.000002")).toBe(0.6667);
    expect(ratio("1", "-0.00005")).toBe(-0.0001);
    expect(ratio("2", "3.00000000000000000001")).toBe(1.5);
    expect(ratio("0", "1")).toBeNull();
  });
});
