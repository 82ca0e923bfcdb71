// The CLI as a child process: usage and configuration errors exit 2 with one
// line plus the hint, --help and --version, and the key is never printed.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, SECRET_KEY, cliEnv, ensureBuilt, runCli, type CliResult } from "./helpers.js";

beforeAll(ensureBuilt, 120_000);

const HINT = "Try 'noukai-top --help'.";

function expectUsageError(result: CliResult, message: string | RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n");
  expect(lines).toHaveLength(3);
  expect(lines[0]).toMatch(typeof message === "string" ? message : message);
  expect(lines[0]?.startsWith("noukai-top: ")).toBe(true);
  expect(lines[1]).toBe(HINT);
  expect(lines[2]).toBe("");
}

function expectNoKey(result: CliResult, key: string = SECRET_KEY): void {
  expect(result.stdout).not.toContain(key);
  expect(result.stderr).not.toContain(key);
}

describe("usage errors exit 2 with one line and the hint", () => {
  const env = cliEnv({ NOUKAI_API_KEY: SECRET_KEY });
  it.each([
    [["exec-1", "--bogus"], "noukai-top: unknown option '--bogus'"],
    [["exec-1", "--flow"], "noukai-top: --flow needs a value"],
    [["exec-1", "--flow", "a/b/c", "--give-up-after", "soon"], /--give-up-after expects a duration/],
    [["exec-1", "--flow", "a/b/c", "--format", "html"], /--format must be one of tui, plain, ndjson, json/],
    [["serve", "--port", "abc"], "noukai-top: --port expects an integer (got 'abc')"],
    [["demo", "--speed", "-1"], "noukai-top: --speed must be greater than 0 (got '-1')"],
    [[], "noukai-top: missing the execution id to watch"],
    [["exec-1"], /no flow given/],
    [["exec-1", "--flow", "just-a-slug"], /bare slug/],
    [["exec-1", "--flow", "a/b/c", "--base-url", "nope"], /--base-url is not a URL/],
    [["exec-1", "--flow", "a/b/c", "--format", "tui"], /--format tui needs a terminal/],
    [["demo", "--flow", "no/such/flow"], /unknown demo flow 'no\/such\/flow'/],
    [["serve", "--require-key", "sk_x"], "noukai-top: --require-key must start with nk_"],
  ])("%j", async (args, message) => {
    const result = await runCli(args, env);
    expectUsageError(result, message);
    expectNoKey(result);
  });

  it("names a missing --api-key-file, not its content", async () => {
    const missing = join(tmpdir(), "noukai-top-no-such-key-file");
    const result = await runCli(["exec-1", "--flow", "a/b/c", "--api-key-file", missing], cliEnv());
    expectUsageError(result, `noukai-top: cannot read --api-key-file '${missing}' (ENOENT)`);
  });

  it("refuses a key without the nk_ prefix without echoing it (env and file)", async () => {
    const wrongKey = "sk_wrongPrefixSecret_5150";
    const fromEnv = await runCli(["exec-1", "--flow", "a/b/c"], cliEnv({ NOUKAI_API_KEY: wrongKey }));
    expectUsageError(fromEnv, "noukai-top: the API key in NOUKAI_API_KEY does not start with nk_");
    expectNoKey(fromEnv, wrongKey);

    const file = join(mkdtempSync(join(tmpdir(), "noukai-top-")), "key");
    writeFileSync(file, `${wrongKey}\n`);
    const fromFile = await runCli(["exec-1", "--flow", "a/b/c", "--api-key-file", file], cliEnv());
    expectUsageError(fromFile, /does not start with nk_/);
    expectNoKey(fromFile, wrongKey);
  });

  it("names an unreadable --flows file", async () => {
    const missing = join(tmpdir(), "noukai-top-no-such-flows.json");
    expectUsageError(await runCli(["serve", "--port", "0", "--flows", missing], cliEnv()), /^noukai-top: cannot read flows file .*no such file$/);
  });

  it("says when the serve port is taken", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const result = await runCli(["serve", "--port", String(port)], cliEnv());
      expectUsageError(result, `noukai-top: cannot listen on 127.0.0.1:${String(port)}: the address is in use (try --port 0 for a free port)`);
    } finally {
      taken.close();
    }
  });

  it("asks for a key when there is none", async () => {
    expectUsageError(await runCli(["exec-1", "--flow", "a/b/c"], cliEnv()), /no API key: set NOUKAI_API_KEY/);
  });
});

describe("help and version", () => {
  it("prints the version from package.json with --version and -V", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const result = await runCli([flag]);
      expect(result).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: "" });
    }
  });

  it("prints the whole help with --help and one command's help with <command> --help", async () => {
    const global = await runCli(["--help"]);
    expect(global.code).toBe(0);
    for (const text of ["noukai-top <execution-id>", "noukai-top serve", "noukai-top demo", "Exit status:", "NOUKAI_API_KEY"]) {
      expect(global.stdout).toContain(text);
    }
    const serve = await runCli(["serve", "-h"]);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toContain("--require-key");
    expect(serve.stdout).not.toContain("--give-up-after");
  });
});
