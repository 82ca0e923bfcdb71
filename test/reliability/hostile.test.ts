// Hostile server text (issue 5): OSC 0, OSC 8, OSC 52, CSI, DCS, APC, 0x9B, 0x9D, an
// unterminated OSC, \r, backspace, NUL and U+202E, in every server-provided field (step
// ids, names, models, error messages, JSON snapshots, flow ids, run status strings,
// request ids, server error messages), through the built CLI in every output format:
// plain, ndjson and json on pipes, the TUI in a real pseudo-terminal. Nothing a terminal
// would act on may come from the server, and nothing in src emits OSC at all.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAIN, ROOT, controlBytes, ensureBuilt } from "../cli/helpers.js";
import { pidImport, ptyAvailable, spawnInPty } from "../helpers/pty.js";
import { reply, sseStream, type SseServerScript } from "../helpers/sseServer.js";
import {
  ENV,
  HOSTILE,
  HOSTILE_PARTS,
  canonicalRun,
  closeServers,
  jobStatus,
  readNdjson,
  runScript,
  serve,
  watch,
  watchArgs,
} from "./support.js";
import { terminalViolations } from "./terminalBytes.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

const run = canonicalRun(HOSTILE);
/** Headers cannot carry C0 controls; C1 controls (latin1 bytes) and the rest can. */
const HOSTILE_REQUEST_ID = "req-\u009b6n\u009d0;title\u00ad";
const hostileError = { detail: { code: `BUSY${HOSTILE}`, message: `overloaded ${HOSTILE}` } };

/** A 503 (hostile body and request id), a drop after some events, a hostile run status, then the run. */
const script: SseServerScript = {
  streams: [
    reply(503, hostileError, { "x-request-id": HOSTILE_REQUEST_ID }),
    sseStream([{ write: run.frames.slice(0, 5).join("") }, "reset"]),
    sseStream([{ write: run.frames.join("") }, "end"]),
  ],
  jobStatus: [jobStatus(`running${HOSTILE}`, { "x-request-id": HOSTILE_REQUEST_ID })],
};

function expectInert(bytes: Buffer): void {
  expect(controlBytes(bytes)).toEqual([]);
  expect(terminalViolations(bytes, { allowDrawing: false })).toEqual([]);
}

describe("plain, ndjson and json", () => {
  it("plain shows every hostile field as visible escapes", async () => {
    const server = await serve(runScript(run, script));
    const result = await watch(server.baseUrl, { format: "plain" });
    expect(result.code).toBe(0);
    expectInert(result.stdoutBytes);
    expectInert(Buffer.from(result.stderr));
    // Each kind of control is shown, not acted on (names, ids, models, errors, request ids).
    for (const visible of ["\\x1b]0;pwned-title\\x07", "\\x1b]52;c;", "\\x1bP1$qm", "\\x1b_Gf=100", "\\x9b6n", "\\x9d0;c1-title"]) {
      expect(result.stdout).toContain(visible);
    }
    for (const visible of ["over\\rwrite", "x\\x08\\x08y", "nul\\x00byte", "\\u202eevil", "\\x1b]0;never-ended"]) {
      expect(result.stdout).toContain(visible);
    }
    expect(result.stdout).toContain("(request id req-\\x9b6n\\x9d0;title\u00ad)");
  });

  it("ndjson and json escape every control and keep the text exact after parsing", async () => {
    const server = await serve(runScript(run, script));
    const ndjson = await watch(server.baseUrl, { format: "ndjson" });
    expect(ndjson.code).toBe(0);
    expectInert(ndjson.stdoutBytes);
    const records = readNdjson(ndjson.stdout).records;
    const started = records.find((r) => r.type === "run_started");
    expect(started?.flowId).toBe(`flow-1${HOSTILE}`);
    expect(records.find((r) => r.type === "run_status")?.status).toBe(`running${HOSTILE}`);
    const output = records.find((r) => r.type === "step_output")?.outputData as { json: string } | undefined;
    // The snapshot's JSON text holds the hostile text as escapes only.
    expect(JSON.parse(output?.json ?? "null")).toEqual({ text: `fetched ${HOSTILE}`, nested: { note: HOSTILE } });
    const lost = records.filter((r) => r.type === "connection" && typeof r.reason === "string").map((r) => r.reason);
    expect(lost.some((reason) => reason?.includes("req-\\x9b6n"))).toBe(true);

    const json = await watch(server.baseUrl, { format: "json" });
    expect(json.code).toBe(0);
    expectInert(json.stdoutBytes);
    const summary = JSON.parse(json.stdout) as { runId: string; steps: { stepId: string; name: string; modelUsed: string }[] };
    expect(summary.steps.map((s) => s.stepId)).toEqual([`fetch${HOSTILE}`, `grade${HOSTILE}`, `report${HOSTILE}`]);
    expect(summary.steps[1]?.name).toBe(`Grade${HOSTILE}`);
    expect(summary.steps[0]?.modelUsed).toBe(`gpt-4o${HOSTILE}`);
  });

  it.each(["plain", "ndjson", "json"] as const)("a hostile final error (%s) is one inert line on stderr", async (format) => {
    const server = await serve(runScript(run, { streams: [reply(404, hostileError, { "x-request-id": HOSTILE_REQUEST_ID })] }));
    const result = await watch(server.baseUrl, { format });
    expect(result.code).toBe(3);
    expectInert(result.stdoutBytes);
    expect(result.stdout).not.toContain("summary");
    expectInert(Buffer.from(result.stderr));
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("overloaded \\x1b]0;pwned-title\\x07");
  });
});

describe("the byte check", () => {
  it.each(Object.entries(HOSTILE_PARTS))("catches %s even among the TUI's own drawing sequences", (_kind, text) => {
    const drawn = Buffer.from(`\x1b[?2026h\x1b[2K\x1b[1A\x1b[G| ${text} |\r\n\x1b[?25h`);
    expect(terminalViolations(drawn, { allowDrawing: true }).length).toBeGreaterThan(0);
    expect(terminalViolations(Buffer.from("\x1b[?2026h\x1b[2K\x1b[G| plain |\r\n"), { allowDrawing: true })).toEqual([]);
  });
});

describe.runIf(ptyAvailable())("the TUI in a pseudo-terminal", () => {
  it("draws hostile table rows, the detail's attempts and snapshots, and the summary without a single server control", async () => {
    const server = await serve(runScript(run, { ...script, streams: [script.streams?.[0] ?? reply(503), sseStream([{ write: run.frames.join("") }, "end"])] }));
    const args = watchArgs(server.baseUrl, { extra: ["--no-color"] }).map((arg) => (arg === "ndjson" ? "tui" : arg));
    const pty = spawnInPty(["node", pidImport(), MAIN, ...args], { env: { ...ENV, TERM: "xterm-256color", LANG: "C.UTF-8" } });
    const text = (): string => pty.output().toString("utf8");
    try {
      await pty.waitFor((t) => t.includes("final"), "the final trace in the header", { timeoutMs: 15_000 });
      // Each key, then what it draws: the retried step's detail with its attempts, the latest
      // attempt's output snapshot, then attempt 1's input snapshot and error.
      const press = async (keys: string, drawn: RegExp, what: string): Promise<void> => {
        const mark = pty.mark();
        pty.write(keys);
        await pty.waitFor((t) => drawn.test(t), what, { after: mark });
      };
      await press("gj\ro", /"grade": "B \\u001b\]0;pwned-title\\u0007/, "the detail's output snapshot");
      await press("ki", /"essay": "input \\u001b\]0;pwned-title\\u0007/, "the input snapshot");
      await press("e", /upstream 503\\(x1b|u001b)\]0;pwned-title/, "the error");
      pty.write("q");
      const end = await pty.done;
      expect(end.exitStatus).toBe(0);
    } finally {
      pty.hangUp();
    }
    const all = pty.output();
    // Only the program's part: the pty epilogue (exit status, stty) is the test's own.
    const programBytes = all.subarray(0, all.lastIndexOf(Buffer.from("\r\n[pty: exit ")));
    // Server text was drawn (as visible escapes), so the check below had something to catch.
    expect(text()).toContain("Grade\\x1b]0;pwned-title");
    expect(terminalViolations(programBytes, { allowDrawing: true })).toEqual([]);
  }, 30_000);
});

describe("no OSC anywhere in the sources", () => {
  it("src writes no window title, OSC 8 link or clipboard sequence, and loads no library that does", () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|tsx)$/.test(entry.name)) files.push(path);
      }
    };
    walk(join(ROOT, "src"));
    expect(files.length).toBeGreaterThan(20);
    // ESC ] or its C1 form, in any spelling a source file could use; title and clipboard APIs.
    const osc = /\\x1b\]|\\u001b\]|\\u\{1b\}\]|\\x9d|\\u009d|\\e\]|\\033\]|\x1b\]|\x9d/i;
    const libraries = /from "(terminal-link|ink-link|clipboardy|supports-hyperlinks|term-title|ansi-escapes)"/;
    const offenders = files.filter((file) => {
      // Comments may describe sequences; only code can emit them.
      const source = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      return osc.test(source) || libraries.test(source) || /process\.title\s*=/.test(source);
    });
    expect(offenders).toEqual([]);
    // The check itself recognises an OSC written the usual ways.
    for (const sample of ['"\\x1b]0;t\\x07"', "`\\u001b]8;;${url}`", String.raw`"\u009d"`]) expect(osc.test(sample)).toBe(true);
  });
});
