// The arg parser and the configuration resolution, in process (the child-process
// tests in usage.test.ts check the same rules end to end).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs, parseDuration } from "../../src/cli/args.js";
import { COMMANDS, selectCommand } from "../../src/cli/commands.js";
import { resolveApiKey, resolveBaseUrl, resolveFlow, resolveOutput, resolveWatchConfig } from "../../src/cli/config.js";
import { UsageError } from "../../src/cli/exit.js";
import { DEV_BASE_URL, PRODUCTION_BASE_URL } from "../../src/api/paths.js";

const WATCH = COMMANDS.watch.flags;
const SERVE = COMMANDS.serve.flags;
const PIPED = { stdoutIsTTY: false, stdinRawMode: false };
const TERMINAL = { stdoutIsTTY: true, stdinRawMode: true };

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("parseArgs", () => {
  it("reads --name value, --name=value, short aliases, booleans and positionals", () => {
    const { positionals, flags } = parseArgs(
      ["exec-1", "--flow", "a/b/c", "--format=json", "--no-color", "--give-up-after", "30s", "-h"],
      WATCH,
    );
    expect(positionals).toEqual(["exec-1"]);
    expect(flags).toEqual({ flow: "a/b/c", format: "json", "no-color": true, "give-up-after": 30_000, help: true });
  });

  it("treats everything after -- as positional", () => {
    expect(parseArgs(["--", "--weird-id"], WATCH).positionals).toEqual(["--weird-id"]);
  });

  it.each([
    [["--bogus"], "unknown option '--bogus'"],
    [["-x"], "unknown option '-x'"],
    [["--flow"], "--flow needs a value"],
    [["--flow", "--format", "json"], "--flow needs a value"],
    [["--format", "xml"], "--format must be one of tui, plain, ndjson, json (got 'xml')"],
    [["--ascii=yes"], "--ascii takes no value"],
    [["--idle-timeout", "90"], "--idle-timeout expects a duration such as 30s, 5m, 1h or 500ms (got '90')"],
    [["--give-up-after", "0s"], "--give-up-after expects a duration such as 30s, 5m, 1h or 500ms (got '0s')"],
  ])("watch %j → %s", (argv, message) => {
    expect(usageMessage(() => parseArgs(argv, WATCH))).toBe(message);
  });

  it.each([
    [["--port", "http"], "--port expects an integer (got 'http')"],
    [["--port", "70000"], "--port must be between 0 and 65535 (got '70000')"],
    [["--port", "1.5"], "--port expects an integer (got '1.5')"],
    [["--speed", "0"], "--speed must be greater than 0 (got '0')"],
    [["--speed", "fast"], "--speed expects a number (got 'fast')"],
    [["--seed", ""], "--seed expects an integer (got '')"],
  ])("serve %j → %s", (argv, message) => {
    expect(usageMessage(() => parseArgs(argv, SERVE))).toBe(message);
  });

  it("accepts negative numbers as values", () => {
    expect(parseArgs(["--seed", "-5"], SERVE).flags.seed).toBe(-5);
  });

  it("never echoes control characters of what the user typed", () => {
    expect(usageMessage(() => parseArgs(["--x\u001b]0;t\u0007"], WATCH))).toBe("unknown option '--x?]0;t?'");
  });
});

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    ["1h", 3_600_000],
  ])("%s = %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "30", "s", "5 minutes", "-1s", "1d"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe("selectCommand", () => {
  it("picks a command by name and defaults to watch", () => {
    expect(selectCommand(["serve", "--port", "0"])).toEqual({ name: "serve", rest: ["--port", "0"] });
    expect(selectCommand(["demo"])).toEqual({ name: "demo", rest: [] });
    expect(selectCommand(["exec-1"])).toEqual({ name: "watch", rest: ["exec-1"] });
    expect(selectCommand(["watch", "serve"])).toEqual({ name: "watch", rest: ["serve"] });
    expect(selectCommand(["--version"])).toEqual({ name: "watch", rest: ["--version"] });
  });
});

describe("configuration", () => {
  it("takes the flow from --flow, else NOUKAI_FLOW; a bare slug needs NOUKAI_ORG and NOUKAI_PROJECT", () => {
    expect(resolveFlow("a/b/c", { NOUKAI_FLOW: "x/y/z" })).toEqual({ org: "a", project: "b", slug: "c" });
    expect(resolveFlow(undefined, { NOUKAI_FLOW: "x/y/z" })).toEqual({ org: "x", project: "y", slug: "z" });
    expect(resolveFlow("grade-3", { NOUKAI_ORG: "acme", NOUKAI_PROJECT: "spelling" })).toEqual({
      org: "acme",
      project: "spelling",
      slug: "grade-3",
    });
    expect(usageMessage(() => resolveFlow(undefined, {}))).toMatch(/no flow given/);
    expect(usageMessage(() => resolveFlow("grade-3", {}))).toMatch(/bare slug/);
    expect(usageMessage(() => resolveFlow("grade-3", { NOUKAI_ORG: "acme" }))).toMatch(/must be set together/);
    expect(usageMessage(() => resolveFlow("a/b", {}))).toMatch(/not of the form org\/project\/slug/);
  });

  it("takes the base URL from --base-url, NOUKAI_BASE_URL, NOUKAI_ENV=dev, else production", () => {
    expect(resolveBaseUrl("http://127.0.0.1:9/api/v1/", { NOUKAI_BASE_URL: "http://other/api/v1" })).toBe(
      "http://127.0.0.1:9/api/v1",
    );
    expect(resolveBaseUrl(undefined, { NOUKAI_BASE_URL: "https://h.example/api/v1" })).toBe("https://h.example/api/v1");
    expect(resolveBaseUrl(undefined, { NOUKAI_ENV: "dev" })).toBe(DEV_BASE_URL);
    expect(resolveBaseUrl(undefined, {})).toBe(PRODUCTION_BASE_URL);
    expect(usageMessage(() => resolveBaseUrl("not a url", {}))).toMatch(/--base-url is not a URL/);
    expect(usageMessage(() => resolveBaseUrl("ftp://h/api/v1", {}))).toMatch(/http:\/\/ or https:\/\//);
    expect(usageMessage(() => resolveBaseUrl(undefined, { NOUKAI_ENV: "staging" }))).toMatch(/NOUKAI_ENV/);
  });

  it("reads the key from --api-key-file (first line, trimmed) or NOUKAI_API_KEY, never echoing it", () => {
    const dir = mkdtempSync(join(tmpdir(), "noukai-top-key-"));
    const good = join(dir, "good");
    writeFileSync(good, "  nk_fromFile_0123456789  \nsecond line\n");
    expect(resolveApiKey(good, { NOUKAI_API_KEY: "nk_env_0123456789" })).toBe("nk_fromFile_0123456789");
    expect(resolveApiKey(undefined, { NOUKAI_API_KEY: "nk_env_0123456789" })).toBe("nk_env_0123456789");

    const bad = join(dir, "bad");
    writeFileSync(bad, "sk_notANoukaiKey_987654\n");
    const fromFile = usageMessage(() => resolveApiKey(bad, {}));
    expect(fromFile).toMatch(/does not start with nk_/);
    expect(fromFile).not.toContain("sk_notANoukaiKey");
    const fromEnv = usageMessage(() => resolveApiKey(undefined, { NOUKAI_API_KEY: "sk_envSecret_4242" }));
    expect(fromEnv).toBe("the API key in NOUKAI_API_KEY does not start with nk_");
    expect(usageMessage(() => resolveApiKey(undefined, {}))).toMatch(/no API key/);

    const missing = join(dir, "missing");
    expect(usageMessage(() => resolveApiKey(missing, {}))).toBe(`cannot read --api-key-file '${missing}' (ENOENT)`);
    const spaced = join(dir, "spaced");
    writeFileSync(spaced, "nk_has space_inside\n");
    expect(usageMessage(() => resolveApiKey(spaced, {}))).toMatch(/contains spaces or control characters/);
  });

  it("defaults the format to tui on a terminal and plain otherwise; colour only on a terminal", () => {
    expect(resolveOutput({}, {}, TERMINAL)).toEqual({ format: "tui", color: true, ascii: false });
    expect(resolveOutput({}, {}, PIPED)).toEqual({ format: "plain", color: false, ascii: false });
    expect(resolveOutput({ format: "json" }, {}, TERMINAL).format).toBe("json");
    expect(resolveOutput({}, { NO_COLOR: "1" }, TERMINAL).color).toBe(false);
    expect(resolveOutput({ "no-color": true }, {}, TERMINAL).color).toBe(false);
    expect(resolveOutput({}, { TERM: "dumb" }, TERMINAL).color).toBe(false);
    expect(resolveOutput({ ascii: true }, {}, PIPED).ascii).toBe(true);
    expect(usageMessage(() => resolveOutput({ format: "tui" }, {}, PIPED))).toMatch(/needs a terminal/);
  });

  it("builds a whole watch configuration with the documented defaults", () => {
    const config = resolveWatchConfig(["exec-1"], { flow: "a/b/c" }, { NOUKAI_API_KEY: "nk_env_0123456789" }, PIPED);
    expect(config).toEqual({
      executionId: "exec-1",
      flow: { org: "a", project: "b", slug: "c" },
      flowLabel: "a/b/c",
      baseUrl: PRODUCTION_BASE_URL,
      apiKey: "nk_env_0123456789",
      format: "plain",
      color: false,
      ascii: false,
      giveUpAfterMs: 300_000,
      idleTimeoutMs: 90_000,
      record: null,
      notify: false,
    });
    expect(usageMessage(() => resolveWatchConfig([], {}, {}, PIPED))).toMatch(/missing the execution id/);
    expect(usageMessage(() => resolveWatchConfig(["a", "b"], {}, {}, PIPED))).toBe("unexpected argument 'b'");
  });
});
