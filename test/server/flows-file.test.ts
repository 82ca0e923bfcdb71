// `--flows FILE.json`: loading, one-line validation errors, and running the added flows.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepAttempts, Trace } from "../../src/api/schemas.js";
import { loadFlowsFile, startServer } from "../../src/server/index.js";
import { api, raw, readStream } from "./support.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "noukai-flows-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const VALID = {
  flows: [
    {
      ref: "acme/support/triage",
      description: "Routes a support ticket",
      prices: { "house-model": { input: "0.50", output: "1.25" } },
      steps: [
        { id: "classify", name: "Classify ticket", model: "house-model", durationMs: 100, promptTokens: 1000, completionTokens: 200 },
        { id: "lookup", model: "unpriced-model", durationMs: [50, 80], failAttempts: 2, maxAttempts: 3, error: { code: "TOOL_TIMEOUT", message: "CRM lookup timed out" } },
        { id: "answer", model: "gpt-4o", loop: { iterations: 3 }, output: { reply: "Thanks, we are on it." } },
      ],
    },
    // Same ref as a built-in: replaces it.
    { ref: "acme/spelling/grade-3", steps: [{ id: "only-step", durationMs: 10 }] },
  ],
};

describe("loadFlowsFile", () => {
  it("returns the validated flows", async () => {
    const flows = await loadFlowsFile(await fileWith("valid.json", VALID));
    expect(flows.map((flow) => flow.ref)).toEqual(["acme/support/triage", "acme/spelling/grade-3"]);
  });

  it.each([
    ["missing.json", null, /^cannot read flows file .*missing\.json: no such file$/],
    ["broken.json", "{ flows: [", /^flows file .*broken\.json is not valid JSON: /],
    ["empty.json", { flows: [] }, /^flows file .*empty\.json: flows: /],
    ["bad-ref.json", { flows: [{ ref: "acme/triage", steps: [{ id: "a" }] }] }, /flows\[0\]\.ref: must be org\/project\/slug$/],
    ["bad-range.json", { flows: [{ ref: "a/b/c", steps: [{ id: "a", durationMs: [500, 100] }] }] }, /flows\[0\]\.steps\[0\]\.durationMs: range \[min, max\] needs min <= max$/],
    ["typo.json", { flows: [{ ref: "a/b/c", steps: [{ id: "a", duration: 100 }] }] }, /flows\[0\]\.steps\[0\]: .*duration/],
    ["dup-step.json", { flows: [{ ref: "a/b/c", steps: [{ id: "a" }, { id: "a" }] }] }, /flows\[0\]\.steps\[1\]\.id: duplicate step id "a"$/],
    ["dup-flow.json", { flows: [{ ref: "a/b/c", steps: [{ id: "a" }] }, { ref: "a/b/c", steps: [{ id: "a" }] }] }, /flows\[1\]\.ref: duplicate flow "a\/b\/c"$/],
    ["bad-price.json", { flows: [{ ref: "a/b/c", prices: { m: { input: "1e-3", output: "1" } }, steps: [{ id: "a" }] }] }, /prices\.m\.input: /],
    ["loop-index.json", { flows: [{ ref: "a/b/c", steps: [{ id: "a", failAttempts: 1, failLoopIndex: 2 }] }] }, /steps\[0\]\.failLoopIndex: needs a loop/],
  ])("%s: one line naming the problem", async (name, content, pattern) => {
    const path = content === null ? join(dir, name) : await fileWith(name, content);
    const error = await loadFlowsFile(path).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(pattern);
    expect(error?.message).not.toContain("\n");
  });

  it("startServer refuses an invalid definition passed in code", async () => {
    await expect(startServer({ port: 0, flows: [{ ref: "x", steps: [] }] })).rejects.toThrow(/^invalid flow definition: /);
  });
});

describe("the README's flows file", () => {
  it("its example file loads and runs to completion", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### The flows file"));
    const example = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    if (example === undefined) throw new Error("no JSON example under '### The flows file' in README.md");
    const flows = await loadFlowsFile(await fileWith("readme.json", example));
    const server = await startServer({ port: 0, speed: 200, seed: 2, flows });
    try {
      const executionId = await server.submitRun("acme/support/triage");
      const stream = await readStream(server, "acme/support/triage", executionId);
      expect(stream.text).toContain("event: flow_completed");
    } finally {
      await server.close();
    }
  });
});

describe("a server with added flows", () => {
  it("runs them: custom prices, unknown models without cost, scripted failures, fixed outputs, loops", async () => {
    const flows = await loadFlowsFile(await fileWith("run.json", VALID));
    const server = await startServer({ port: 0, speed: 10, seed: 1, flows });
    try {
      const executionId = await server.submitRun("acme/support/triage", { trace: true });
      const stream = await readStream(server, "acme/support/triage", executionId);
      expect(stream.text).toContain("event: flow_completed");
      const base = `/seq/acme/support/triage/runs/${executionId}`;
      const trace = (await raw(server, "GET", api(`${base}/trace`))).json<Trace>();
      expect(trace.steps.map((s) => [s.stepId, s.loopIndex, s.attempt, s.status])).toEqual([
        ["classify", null, 1, "completed"],
        ["lookup", null, 3, "completed"],
        ["answer", 0, 1, "completed"],
        ["answer", 1, 1, "completed"],
        ["answer", 2, 1, "completed"],
      ]);
      // 1000 x 0.50 / 1M + 200 x 1.25 / 1M
      expect(trace.steps[0]).toMatchObject({ costUsd: "0.000750", durationMs: 10, tokens: { prompt: 1000, completion: 200, total: 1200 } });
      expect(trace.steps[1]).not.toHaveProperty("costUsd");
      expect(trace.steps[1]?.tokens).toBeDefined();
      expect(trace.steps[2]?.outputContext).toEqual({ reply: "Thanks, we are on it." });

      const lookup = (await raw(server, "GET", api(`${base}/steps/lookup/trace?attempt=all`))).json<StepAttempts>();
      expect(lookup.attempts.map((a) => [a.attempt, a.status, (a.errorContext as { code?: string } | undefined)?.code])).toEqual([
        [1, "failed", "TOOL_TIMEOUT"],
        [2, "failed", "TOOL_TIMEOUT"],
        [3, "completed", undefined],
      ]);

      const replaced = await server.submitRun("acme/spelling/grade-3");
      await readStream(server, "acme/spelling/grade-3", replaced);
      const replacedTrace = (await raw(server, "GET", api(`/seq/acme/spelling/grade-3/runs/${replaced}/trace`))).json<Trace>();
      expect(replacedTrace.steps.map((s) => s.stepId)).toEqual(["only-step"]);
    } finally {
      await server.close();
    }
  });

  it("submitRun rejects unknown and malformed flow refs, and any flow once closed", async () => {
    const server = await startServer({ port: 0 });
    try {
      await expect(server.submitRun("acme/spelling/nope")).rejects.toThrow("unknown flow acme/spelling/nope");
      await expect(server.submitRun("just-a-slug")).rejects.toThrow(/bare slug/);
    } finally {
      await server.close();
    }
    await expect(server.submitRun("acme/spelling/grade-3")).rejects.toThrow("the server is closed");
    expect(server.debugStats()).toMatchObject({ runs: 0, timers: 0 });
  });

  it("a very slow speed keeps every timer within setTimeout's range", async () => {
    // At speed 1e-8 the queue delay alone is 3e10 ms, past setTimeout's 2^31-1 ms limit.
    const server = await startServer({ port: 0, speed: 1e-8 });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      await server.submitRun("acme/spelling/grade-3");
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warnings).not.toContain("TimeoutOverflowWarning");
      expect(server.debugStats()).toMatchObject({ activeRuns: 1, timers: 1 });
    } finally {
      process.off("warning", onWarning);
      await server.close();
    }
  });
});
