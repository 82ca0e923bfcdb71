// The export file: wire form, round trip through parseExportFile, one-line errors, safe names.
// The round trip against a real run of the embedded server is in test/cli/export.test.ts.
import { describe, expect, it } from "vitest";
import {
  EXPORT_META_KEY,
  ExportFileError,
  buildExportFile,
  exportFileName,
  exportFileReader,
  exportFileText,
  parseExportFile,
  type ExportContent,
  writeExportFileText,
} from "../../src/api/exportFile.js";
import { BodyError } from "../../src/api/jsonBody.js";
import { redactSecrets } from "../../src/api/redact.js";
import { StepTrace, Trace } from "../../src/api/schemas.js";
import { mulberry32 } from "../../src/server/random.js";

const TRACE: Trace = Trace.parse({
  flowRun: { id: "run-1", flowId: "f", status: "completed", startedAt: "2026-01-01T00:00:00.000Z", durationMs: 1200, stepCount: 2 },
  steps: [
    { stepId: "a", attempt: 2, status: "completed", durationMs: 500, modelUsed: "m", tokens: { prompt: 3, completion: 4, total: 7 }, costUsd: "0.000100", outputContext: { text: "hi\u001b[31m" } },
    { stepId: "loop", attempt: 1, loopIndex: 0, status: "completed", durationMs: 10 },
  ],
});
const FIRST_ATTEMPT: StepTrace = StepTrace.parse({ stepId: "a", attempt: 1, status: "failed", costUsd: "0.00005", errorContext: { message: "503" } });

describe("export file", () => {
  it("writes the trace as model_dump(by_alias=True) would: every documented field, null when absent", () => {
    const file = buildExportFile({ trace: TRACE, names: { a: "Alpha" }, executionId: "exec-1", flow: "o/p/s", exportedAt: "2026-01-02T00:00:00.000Z" });
    expect(Object.keys(file)).toEqual(["flowRun", "steps", EXPORT_META_KEY]);
    expect(file.flowRun).toEqual({ id: "run-1", flowId: "f", status: "completed", triggerType: null, startedAt: "2026-01-01T00:00:00.000Z", completedAt: null, durationMs: 1200, stepCount: 2 });
    const steps = file.steps as Record<string, unknown>[];
    expect(Object.keys(steps[1] ?? {})).toEqual([
      "stepId", "attempt", "loopIndex", "status", "startedAt", "completedAt", "durationMs", "modelUsed", "tokens", "costUsd",
      "inputContext", "outputContext", "errorContext", "inputSizeBytes", "outputSizeBytes", "truncated",
    ]);
    expect(steps[1]).toMatchObject({ loopIndex: 0, tokens: null, costUsd: null, truncated: false });
    // Data is kept as it came: nothing sanitized in the file.
    expect(steps[0]?.outputContext).toEqual({ text: "hi\u001b[31m" });
    expect(file[EXPORT_META_KEY]).toEqual({
      version: 1, executionId: "exec-1", flow: "o/p/s", exportedAt: "2026-01-02T00:00:00.000Z", names: { a: "Alpha" }, attempts: {},
    });
    // The file validates against the schemas the client reads the API with.
    expect(Trace.safeParse(JSON.parse(JSON.stringify(file))).success).toBe(true);
  });

  it("round trips: export, parse, export again gives the same text and the same content", () => {
    const input = {
      trace: TRACE,
      names: { a: "Alpha", loop: "Loop" },
      attempts: new Map([["a#", [FIRST_ATTEMPT, TRACE.steps[0] as StepTrace]]]),
      executionId: "exec-1",
      flow: "o/p/s",
      exportedAt: "2026-01-02T00:00:00.000Z",
    };
    const text = exportFileText(input);
    const parsed = parseExportFile(text);
    expect(exportFileText(parsed)).toBe(text);
    expect(parsed.names).toEqual(input.names);
    expect([...parsed.attempts.keys()]).toEqual(["a#"]);
    expect(parsed.attempts.get("a#")?.map((a) => a.attempt)).toEqual([1, 2]);
    expect(parsed.trace.steps[0]).toMatchObject({ stepId: "a", costUsd: "0.000100", tokens: { prompt: 3, completion: 4, total: 7 } });
    expect(parsed).toMatchObject({ executionId: "exec-1", flow: "o/p/s", exportedAt: "2026-01-02T00:00:00.000Z" });
  });

  it("is written in pieces, one step at a time, that make JSON.stringify(buildExportFile(input), null, 2) exactly", () => {
    const key = "nk_live_exportSecret_1234567890";
    // The steps of TRACE 8,000 times (about 5 MB of text: several pieces), odd strings and a key among them.
    const steps = Array.from({ length: 8000 }, (_, i) => ({ ...(TRACE.steps[i % 2] as StepTrace), stepId: i === 7 ? `x\n  "steps": []\u2028${key}` : `s${i}` }));
    // exportedAt given: its default is the time of the call.
    const inputs = [
      { trace: { ...TRACE, steps: [] }, exportedAt: "t" },
      { trace: TRACE, names: { a: "A\u009b" }, exportedAt: "t" },
      { trace: { ...TRACE, steps }, names: { s1: key }, attempts: new Map([["a#", [FIRST_ATTEMPT]]]), executionId: "e", flow: "o/p/s", exportedAt: "t" },
    ];
    for (const input of inputs) {
      const pieces: string[] = [];
      writeExportFileText(input, (text) => pieces.push(text));
      const whole = `${redactSecrets(JSON.stringify(buildExportFile(input), null, 2)).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`;
      expect(pieces.join("")).toBe(whole);
      expect(exportFileText(input)).toBe(whole);
      if (input.trace.steps.length === 8000) {
        expect(pieces.length).toBeGreaterThan(3);
        expect(whole).not.toContain(key);
      }
    }
  });

  it("writes terminal-unsafe characters as \\u escapes (same data) and masks an echoed API key", () => {
    const key = "nk_live_exportSecret_1234567890";
    const trace = Trace.parse({
      flowRun: { id: "r", status: "completed" },
      steps: [{ stepId: "a", attempt: 1, status: "completed", outputContext: { text: `csi\u009b2J rtl\u202e line\u2028 del\u007f key ${key}` } }],
    });
    const text = exportFileText({ trace, names: { a: "A\u009b" } });
    expect(text).not.toMatch(/[\u007f-\u009f\u2028\u202e]/);
    expect(text).toContain("\\u009b");
    expect(text).not.toContain(key);
    const parsed = parseExportFile(text);
    expect(parsed.trace.steps[0]?.outputContext).toEqual({ text: "csi\u009b2J rtl\u202e line\u2028 del\u007f key nk_…7890" });
    expect(parsed.names.a).toBe("A\u009b");
  });

  it("reads a plain model_dump without the noukaiTop key (no names, no attempts)", () => {
    const parsed = parseExportFile(JSON.stringify({ flowRun: { id: "r", status: "failed" }, steps: [] }));
    expect(parsed).toMatchObject({ executionId: "r", flow: null, exportedAt: null, names: {} });
    expect(parsed.attempts.size).toBe(0);
  });

  it("keeps hostile step ids such as __proto__ as plain keys", () => {
    const text = JSON.stringify({
      flowRun: { id: "r", status: "completed" },
      steps: [{ stepId: "__proto__", attempt: 2, status: "completed" }],
      noukaiTop: { version: 1, names: { __proto__: "evil" }, attempts: { "__proto__#": [{ stepId: "__proto__", attempt: 1, status: "failed" }] } },
    }).replace('"names":{}', '"names":{"__proto__":"evil"}');
    const parsed = parseExportFile(text);
    expect(Object.keys(parsed.names)).toEqual(["__proto__"]);
    expect(parsed.names["__proto__"]).toBe("evil");
    // Names without a prototype: a step called `constructor` has no name unless the file gives one.
    expect(parsed.names["constructor"]).toBeUndefined();
    expect(parsed.attempts.get("__proto__#")).toHaveLength(1);
    expect(Object.keys((buildExportFile(parsed)[EXPORT_META_KEY] as { attempts: object }).attempts)).toEqual(["__proto__#"]);
  });

  it.each([
    ["{", /^not JSON: /],
    ["[]", /^not a trace file: expected a JSON object/],
    ['{"steps":[]}', /^not a trace file: flowRun: /],
    ['{"flowRun":{"id":"r","status":"x"},"steps":[{"stepId":"a","attempt":"one","status":"x"}]}', /^not a trace file: steps\[0\]\.attempt: /],
    ['{"flowRun":{"id":"r","status":"x"},"steps":[],"noukaiTop":{"version":1,"names":{"a":3}}}', /^bad noukaiTop.names.a: /],
    ['{"flowRun":{"id":"r","status":"x"},"steps":[],"noukaiTop":{"version":1,"names":["a"]}}', /^bad noukaiTop key: names: .*record/],
    ['{"flowRun":{"id":"r","status":"x"},"steps":[],"noukaiTop":{"version":1,"attempts":5}}', /^bad noukaiTop key: attempts: .*record/],
    ['{"flowRun":{"id":"r","status":"x"},"steps":[],"noukaiTop":{"names":{}}}', /^bad noukaiTop key: version: /],
    ['{"flowRun":{"id":"r","status":"x"},"steps":[],"noukaiTop":{"version":9}}', /newer noukai-top \(file format 9/],
  ])("rejects %s with one line", (text, message) => {
    let error: unknown;
    try {
      parseExportFile(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ExportFileError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });

  it.each([
    ["exec-1", "exec-1.trace.json"],
    ["../../etc/passwd", "_.._etc_passwd.trace.json"],
    ["-rf", "rf.trace.json"],
    [".hidden", "hidden.trace.json"],
    ["a\\b:c", "a_b_c.trace.json"],
    ["\u001b[31mred", "_[31mred.trace.json"],
    ["...", "trace.trace.json"],
    ["", "trace.trace.json"],
  ])("file name for %j is %s", (id, name) => {
    expect(exportFileName(id)).toBe(name);
  });

  it("cuts a very long id", () => {
    expect(exportFileName("x".repeat(1000)).length).toBeLessThanOrEqual(140);
  });
});

describe("exportFileReader", () => {
  type Outcome = { ok: true; content: ExportContent } | { ok: false; message: string; body: boolean };

  function reference(bytes: Buffer): Outcome {
    try {
      return { ok: true, content: parseExportFile(bytes.toString("utf8")) };
    } catch (error) {
      if (!(error instanceof ExportFileError)) throw error;
      return { ok: false, message: error.message, body: false };
    }
  }

  /** Through exportFileReader, cut at random (the first piece holds a BOM whole, as a file read by the megabyte does). */
  function inPieces(bytes: Buffer, random: () => number): Outcome {
    const reader = exportFileReader();
    try {
      let from = 0;
      while (from < bytes.length) {
        const size = from === 0 ? 3 + Math.floor(random() * 50) : 1 + Math.floor(random() * (random() < 0.5 ? 8 : 4000));
        reader.push(bytes.subarray(from, Math.min(bytes.length, from + size)));
        from += size;
      }
      return { ok: true, content: reader.end() };
    } catch (error) {
      if (error instanceof BodyError) return { ok: false, message: error.message, body: true };
      if (!(error instanceof ExportFileError)) throw error;
      return { ok: false, message: error.message, body: false };
    }
  }

  const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  function randomInput(random: () => number): Parameters<typeof exportFileText>[0] {
    const ids = ["a", "b", "__proto__", "constructor", "s/1?é", 'q"uote', "loop"];
    const steps = Array.from({ length: Math.floor(random() * 8) }, (_, i) =>
      StepTrace.parse({
        stepId: pick(random, ids),
        attempt: 1 + Math.floor(random() * 3),
        loopIndex: random() < 0.3 ? i : null,
        status: pick(random, ["completed", "failed", "running", "skipped"]),
        startedAt: random() < 0.8 ? "2026-06-01T12:00:00.000Z" : null,
        durationMs: random() < 0.8 ? Math.floor(random() * 1000) : null,
        modelUsed: random() < 0.7 ? pick(random, ["m", "ünï"]) : null,
        tokens: random() < 0.7 ? { prompt: 3, completion: 4, total: 7 } : null,
        costUsd: random() < 0.7 ? pick(random, ["0.0000792", "1", "-0.5"]) : null,
        outputContext: random() < 0.2 ? { text: "hi\u001b[31m", n: [1, null] } : null,
        errorContext: random() < 0.1 ? { message: "503" } : null,
      }),
    );
    const names: Record<string, string> = {};
    for (const id of ids) if (random() < 0.5) Object.defineProperty(names, id, { value: `name of ${id}`, enumerable: true, writable: true, configurable: true });
    const attempts = new Map<string, StepTrace[]>();
    if (random() < 0.4) attempts.set("a#", [FIRST_ATTEMPT, TRACE.steps[0] as StepTrace]);
    return { trace: { flowRun: TRACE.flowRun, steps }, names, attempts, executionId: "exec-1", flow: random() < 0.8 ? "o/p/s" : null, exportedAt: "2026-01-02T00:00:00.000Z" };
  }

  /** A file's text, as written, or changed: compact, noukaiTop first or twice or wrong, cut short, a byte changed. */
  function randomText(random: () => number): string {
    const input = randomInput(random);
    const text = exportFileText(input);
    const r = random();
    if (r < 0.3) return text;
    if (r < 0.4) return JSON.stringify(JSON.parse(text));
    const meta = text.slice(text.indexOf(`"${EXPORT_META_KEY}"`));
    if (r < 0.45) return `{${meta.slice(0, meta.lastIndexOf("}"))},"flowRun":${JSON.stringify(TRACE.flowRun)},"steps":[]}`;
    if (r < 0.5) return text.replace(`"${EXPORT_META_KEY}"`, `"${EXPORT_META_KEY}": {"version": 9}, "${EXPORT_META_KEY}"`);
    if (r < 0.55) return text.replace(`"${EXPORT_META_KEY}"`, `"other": [1, {"a": null}], "${EXPORT_META_KEY}"`);
    if (r < 0.7) {
      const bad = pick(random, ['{"version":1,"names":{"a":3}}', '{"version":1,"names":["a"]}', '{"version":9}', '{"version":1,"attempts":{"a#":[{"stepId":1}]}}', "null", "[]", '"x"']);
      return `${text.slice(0, text.indexOf(`"${EXPORT_META_KEY}"`))}"${EXPORT_META_KEY}": ${bad}}\n`;
    }
    if (r < 0.85) return text.slice(0, Math.floor(random() * text.length));
    const at = Math.floor(random() * text.length);
    return text.slice(0, at) + pick(random, ["}", "]", '"', ",", "x", "\\", " "]) + text.slice(at + 1);
  }

  it("reads what parseExportFile reads, and refuses what it refuses, cut anywhere", () => {
    const random = mulberry32(5);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 400; round++) {
      const text = randomText(random);
      const bytes = Buffer.from(random() < 0.2 ? `\ufeff${text}` : text, "utf8");
      const expected = reference(bytes);
      const got = inPieces(bytes, random);
      if (expected.ok) {
        accepted++;
        expect(got).toStrictEqual(expected);
      } else {
        refused++;
        expect(got.ok, text.slice(0, 200)).toBe(false);
        // Its own refusals say the same; a BodyError sends the caller to parseExportFile for the words.
        if (!got.ok && !got.body) expect(got.message).toBe(expected.message);
      }
    }
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
