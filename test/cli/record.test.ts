// --record and `replay` as child processes: a recorded demo run replayed in each format
// prints what the live run printed (replay keeps the recorded times), a recording cut
// short still plays, bad files exit 3. --notify rings the bell on stderr only.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_KEY, cliEnv, controlBytes, ensureBuilt, runCli, type CliResult } from "./helpers.js";

const BEL = "\u0007";
const FORMATS = ["json", "ndjson", "plain"] as const;
let dir: string;
/** One recorded demo run per format (recorded in parallel): what it printed live, and its file. */
const recorded = new Map<string, { live: CliResult; file: string }>();

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "noukai-record-"));
  await Promise.all(
    FORMATS.map(async (format) => {
      const file = join(dir, `demo-${format}.ndjson`);
      recorded.set(format, { live: await demo(format, file), file });
    }),
  );
}, 120_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function demo(format: string, file: string, ...extra: string[]): Promise<CliResult> {
  return runCli(["demo", "--speed", "100", "--seed", "7", "--format", format, "--record", file, ...extra], cliEnv());
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("record and replay", () => {
  it.each(FORMATS)("replay --format %s prints what the live run printed", async (format) => {
    const { live, file } = recorded.get(format) as { live: CliResult; file: string };
    expect(live.code).toBe(0);
    const replayed = await runCli(["replay", file, "--speed", "max", "--format", format], cliEnv());
    expect(replayed.stderr).toBe("");
    expect(replayed.code).toBe(0);
    expect(controlBytes(replayed.stdoutBytes)).toEqual([]);
    expect(replayed.stdout).toBe(live.stdout);
  });

  it("without --record the final trace is reconciled as it is read, into the same summary", async () => {
    const { live } = recorded.get("json") as { live: CliResult; file: string };
    const streamed = await runCli(["demo", "--speed", "100", "--seed", "7", "--format", "json"], cliEnv());
    expect(streamed.code).toBe(0);
    // Another run of the same seed: only its ids and times differ.
    const runFields = (text: string): Record<string, unknown> => {
      const { executionId, runId, startedAt, completedAt, ...rest } = JSON.parse(text) as Record<string, unknown>;
      expect([executionId, runId, startedAt, completedAt].every((v) => typeof v === "string")).toBe(true);
      return rest;
    };
    const summary = runFields(streamed.stdout);
    expect(summary).toEqual(runFields(live.stdout));
    // The demo has retries and a loop, so both ways were exercised on them.
    expect(summary.costWithRetriesUsd).not.toBe(summary.costUsd);
    expect((summary.steps as { loopIndex: number | null }[]).some((step) => step.loopIndex !== null)).toBe(true);
  });

  it("writes a header, connection lines, every frame with its arrival time, the final trace and attempts", async () => {
    const { live, file } = recorded.get("ndjson") as { live: CliResult; file: string };
    const written = lines(file);
    const header = written[0] as Record<string, unknown>;
    expect(header).toMatchObject({ type: "header", format: "noukai-top-record", version: 1, flow: "demo/playground/essay-pipeline" });
    expect(new Date(header.startedAt as string).toISOString()).toBe(header.startedAt);
    expect(written[1]).toMatchObject({ type: "stream/connecting", attempt: 1 });
    expect(written[2]).toMatchObject({ type: "stream/opened", resumed: false });
    const frames = written.filter((line) => line.type === "frame");
    const liveEvents = live.stdout.split("\n").filter((line) => line.includes('"receivedAt"'));
    expect(frames).toHaveLength(liveEvents.length);
    for (const frame of frames) {
      expect(typeof frame.at).toBe("number");
      expect(typeof frame.data).toBe("string");
      expect(typeof frame.id).toBe("string");
    }
    const types = written.map((line) => line.type);
    expect(types.indexOf("stream/ended")).toBeGreaterThan(types.lastIndexOf("frame"));
    expect(types).toContain("trace/loaded");
    expect(types).toContain("attempts/loaded");
    // Arrival times never go back.
    const times = written.slice(1).map((line) => line.at as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("plays a recording cut short (killed while recording): the run is still under way, exit 0", async () => {
    const text = readFileSync(join(dir, "demo-json.ndjson"), "utf8");
    const cut = join(dir, "cut.ndjson");
    // Half the lines, and the last one cut in the middle.
    const kept = text.split("\n").slice(0, 30).join("\n");
    writeFileSync(cut, kept.slice(0, kept.length - 20));
    const result = await runCli(["replay", cut, "--format", "json", "--speed", "0"], cliEnv());
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "summary", status: "running", costWithRetriesUsd: null });
  });

  it("exits with the recorded run's status, as the watch did", async () => {
    const file = join(dir, "fails.ndjson");
    const live = await runCli(["demo", "--speed", "100", "--flow", "demo/playground/always-fails", "--format", "json", "--record", file], cliEnv());
    expect(live.code).toBe(4);
    const replayed = await runCli(["replay", file, "--speed", "max", "--format", "json"], cliEnv());
    expect(replayed.code).toBe(4);
    expect(replayed.stdout).toBe(live.stdout);
  });

  it("exits 3 for a file that is missing, not a recording, or has a bad line; 2 for a bad --speed", async () => {
    const missing = await runCli(["replay", join(dir, "nope.ndjson")], cliEnv());
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^noukai-top: cannot replay '.*nope\.ndjson': ENOENT\n$/);

    const notRecording = join(dir, "not.ndjson");
    writeFileSync(notRecording, '{"type":"summary"}\n');
    const wrong = await runCli(["replay", notRecording], cliEnv());
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/not a noukai-top recording/);

    const file = join(dir, "demo-json.ndjson");
    const broken = join(dir, "broken.ndjson");
    const recorded = readFileSync(file, "utf8").split("\n");
    recorded.splice(5, 0, '{"type":"frame","at":"soon"}');
    writeFileSync(broken, recorded.join("\n"));
    const bad = await runCli(["replay", broken, "--speed", "max", "--format", "json"], cliEnv());
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^noukai-top: cannot replay '.*broken\.ndjson': line 6: invalid frame\n$/);

    for (const speed of ["-1", "fast", ""]) {
      const result = await runCli(["replay", file, "--speed", speed], cliEnv());
      expect(result.code).toBe(2);
    }
    expect((await runCli(["replay", file, "--speed", "fast"], cliEnv())).stderr).toMatch(/--speed expects a number >= 0 or max/);
  });

  it("exits 3 when the --record file cannot be created, before watching", async () => {
    const result = await runCli(
      ["exec-1", "--flow", "a/b/c", "--base-url", "http://127.0.0.1:9/api/v1", "--record", join(dir, "no", "dir.ndjson")],
      cliEnv({ NOUKAI_API_KEY: SECRET_KEY }),
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^noukai-top: cannot write --record '.*dir\.ndjson' \(ENOENT\)\n$/);
  });
});

describe("--notify", () => {
  it("rings the bell on stderr when the run ends (completed or failed), never on stdout", async () => {
    const completed = await runCli(["demo", "--speed", "100", "--format", "json", "--notify"], cliEnv());
    expect(completed.code).toBe(0);
    expect(completed.stderr.endsWith(BEL)).toBe(true);
    expect(completed.stdout).not.toContain(BEL);

    const failed = await runCli(["demo", "--speed", "100", "--flow", "demo/playground/always-fails", "--notify"], cliEnv());
    expect(failed.code).toBe(4);
    expect(failed.stderr.split(BEL)).toHaveLength(2);
    expect(controlBytes(failed.stdoutBytes)).toEqual([]);

    expect(recorded.get("json")?.live.stderr).not.toContain(BEL);
  });

  it("rings when a replay ends, and when a watch cannot monitor", async () => {
    const file = join(dir, "demo-json.ndjson");
    const replayed = await runCli(["replay", file, "--speed", "max", "--format", "ndjson", "--notify"], cliEnv());
    expect(replayed.code).toBe(0);
    expect(replayed.stderr).toBe(BEL);

    const cannot = await runCli(
      ["exec-1", "--flow", "a/b/c", "--base-url", "http://127.0.0.1:9/api/v1", "--give-up-after", "300ms", "--notify"],
      cliEnv({ NOUKAI_API_KEY: SECRET_KEY }),
    );
    expect(cannot.code).toBe(3);
    expect(cannot.stderr).toMatch(/cannot monitor run exec-1: .*\n\u0007$/);
  });
});
