// The key never reaches any output (issue 5, "Secrets and paths"): every way a watch can
// fail or echo text back (401, DNS failure, refused connection, TLS failure, timeout, a
// server echoing the key in an error body, in a step error, in a run status check), in
// every output format, on stdout and stderr; where the server echoed it, the mask
// `nk_…` + its last 4 characters is shown instead.
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { sanitizeLine, sanitizeMultiline } from "../../src/api/sanitize.js";
import { cliEnv, ensureBuilt, type CliResult } from "../cli/helpers.js";
import { reply, sseStream, type SseServerScript } from "../helpers/sseServer.js";
import {
  ENV,
  RUN,
  SECRET_KEY,
  canonicalRun,
  closeServers,
  jobStatus,
  outputs,
  runScript,
  serve,
  watch,
  type WatchOptions,
} from "./support.js";
import { makeCertificate, opensslFound } from "./tls.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

const MASK = `nk_…${SECRET_KEY.slice(-4)}`;
const FORMATS = ["plain", "ndjson", "json"] as const;
/** Unreachable servers end in exit 3 after this. */
const GIVE_UP = ["--give-up-after", "400ms"];

function expectNoKey(result: CliResult): void {
  const text = outputs(result);
  expect(text).not.toContain(SECRET_KEY);
  // Nor any longer part of it (a cut that kept most of the key).
  expect(text).not.toContain(SECRET_KEY.slice(3, 20));
}

async function everyFormat(baseUrl: string, options: WatchOptions = {}): Promise<CliResult[]> {
  const results: CliResult[] = [];
  for (const format of FORMATS) {
    const result = await watch(baseUrl, { ...options, format });
    expectNoKey(result);
    results.push(result);
  }
  return results;
}

describe("errors that end the watch (exit 3)", () => {
  it("401 with the key echoed in the error body: masked", async () => {
    const server = await serve(
      runScript(RUN, { streams: [reply(401, { detail: { code: "INVALID_API_KEY", message: `key ${SECRET_KEY} rejected` } })] }),
    );
    for (const result of await everyFormat(server.baseUrl)) {
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`key ${MASK} rejected`);
    }
  });

  it("a DNS failure", async () => {
    // A label over 63 characters is refused by the resolver itself: no query leaves the machine.
    const host = `${"x".repeat(70)}.example`;
    const [plain, ndjson, json] = await everyFormat(`http://${host}/api/v1`, { extra: GIVE_UP });
    for (const result of [plain, ndjson, json]) expect(result?.code).toBe(3);
    // Each failed try is reported on its own line (the final line names the last one,
    // which may be a lookup the give-up deadline cut short).
    expect(plain?.stdout).toMatch(/stream unavailable: cannot resolve http:\/\/x+\.example: .*ENOTFOUND/);
    expect(ndjson?.stdout).toMatch(/"reason":"cannot resolve http:\/\/x+\.example: .*ENOTFOUND/);
  });

  it("a refused connection", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const [plain, ndjson, json] = await everyFormat(`http://127.0.0.1:${String(port)}/api/v1`, { extra: GIVE_UP });
    for (const result of [plain, ndjson, json]) expect(result?.code).toBe(3);
    expect(plain?.stdout).toMatch(/stream unavailable: cannot connect to http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    expect(ndjson?.stdout).toMatch(/"reason":"cannot connect to http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it("a TLS failure (https to a plain HTTP port)", async () => {
    const server = await serve(runScript(RUN));
    const httpsUrl = server.baseUrl.replace(/^http:/, "https:");
    for (const result of await everyFormat(httpsUrl)) {
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/TLS failure/);
    }
  });

  it.runIf(opensslFound)("a TLS failure (an untrusted certificate)", async () => {
    const certificate = makeCertificate();
    try {
      const server = await serve(runScript(RUN), { tls: certificate });
      for (const result of await everyFormat(server.baseUrl)) {
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(/TLS failure/);
      }
    } finally {
      certificate.remove();
    }
  });

  it("a timeout (a server that never answers)", async () => {
    const sockets = new Set<Socket>();
    const hole = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => hole.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = hole.address() as AddressInfo;
      for (const result of await everyFormat(`http://127.0.0.1:${String(port)}/api/v1`, { extra: GIVE_UP })) {
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(/no answer/);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });
});

describe("the key echoed by a server in text the watch prints", () => {
  const echoing = canonicalRun(` ${SECRET_KEY} `);
  const script: SseServerScript = {
    streams: [
      reply(503, { detail: { code: "BUSY", message: `busy for ${SECRET_KEY}` } }),
      sseStream([{ write: echoing.frames.slice(0, 4).join("") }, "reset"]),
      sseStream([{ write: echoing.frames.join("") }, "end"]),
    ],
    jobStatus: [reply(500, { detail: { code: "E", message: `status of ${SECRET_KEY} unknown` } }), jobStatus(`running ${SECRET_KEY}`)],
    trace: [reply(200, echoing.trace)],
  };

  it("in step names, ids, models, error messages, snapshots and 5xx bodies: masked in every format", async () => {
    const server = await serve(runScript(echoing, script));
    const [plain, ndjson, json] = await everyFormat(server.baseUrl);
    for (const result of [plain, ndjson, json]) expect(result?.code).toBe(0);
    // Where the text is shown, the mask stands for the key.
    expect(plain?.stdout).toContain(`Fetch  ${MASK} data`);
    expect(plain?.stdout).toContain(`busy for ${MASK}`);
    expect(ndjson?.stdout).toContain(`upstream 503 ${MASK} `);
    expect(json?.stdout).toContain(`"modelUsed":"gpt-4o ${MASK} "`);
  });

  it("read from --api-key-file instead of the environment", async () => {
    const dir = mkdtempSync(join(tmpdir(), "noukai-top-key-"));
    try {
      const keyFile = join(dir, "key");
      writeFileSync(keyFile, `${SECRET_KEY}\n`);
      const server = await serve(runScript(echoing, script));
      const env = cliEnv({ NOUKAI_TOP_BACKOFF_SCALE: ENV.NOUKAI_TOP_BACKOFF_SCALE ?? "1" });
      const results = await everyFormat(server.baseUrl, { env, extra: ["--api-key-file", keyFile] });
      for (const result of results) expect(result.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the sanitizer masks keys in every server string it makes safe", () => {
  it("before any cut, so no part of an echoed key is left on screen", () => {
    const echoed = `upstream says ${SECRET_KEY} is\x1b[31m bad`;
    expect(sanitizeLine(echoed)).toBe(`upstream says ${MASK} is\\x1b[31m bad`);
    expect(sanitizeMultiline(`{\n  "key": "${SECRET_KEY}"\n}`)).toBe(`{\n  "key": "${MASK}"\n}`);
    // A column cut to 24 characters shows the mask or part of it, never the key's characters.
    const cut = sanitizeLine(`model ${SECRET_KEY}`).slice(0, 24);
    expect(cut).not.toContain(SECRET_KEY.slice(3, 10));
  });
});
