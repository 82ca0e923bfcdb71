// readExportFile: a file read a megabyte at a time gives what the whole text gives;
// a file it cannot use gets the same one line as before (the whole text's words).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExportFileError, exportFileText, parseExportFile } from "../../src/api/exportFile.js";
import { Trace } from "../../src/api/schemas.js";
import { readExportFile } from "../../src/cli/traceFile.js";
import { cliEnv, ensureBuilt, runCli, startCli } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "noukai-top-trace-file-"));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A file of `steps` steps, with names (several megabytes from ~10,000 steps on). */
function exportText(steps: number): string {
  const trace = Trace.parse({
    flowRun: { id: "run-1", status: "completed" },
    steps: Array.from({ length: steps }, (_, i) => ({
      stepId: `step-${String(i)}`,
      status: "completed",
      startedAt: "2026-06-01T12:00:00.000Z",
      costUsd: "0.0001",
      tokens: { prompt: 1, completion: 2, total: 3 },
      outputContext: i % 100 === 0 ? { text: "é\u001b[2J" } : undefined,
    })),
  });
  const names = Object.fromEntries(trace.steps.map((step, i) => [step.stepId, `name ${String(i)}`]));
  return exportFileText({ trace, names, executionId: "exec-1", flow: "o/p/s", exportedAt: "2026-01-02T00:00:00.000Z" });
}

function wordsOf(text: string): string {
  try {
    parseExportFile(text);
  } catch (error) {
    if (error instanceof ExportFileError) return error.message;
  }
  throw new Error("expected parseExportFile to refuse the text");
}

describe("readExportFile", () => {
  it("reads a file of several megabytes, with or without a BOM, as parseExportFile reads its text", () => {
    const text = exportText(20_000);
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024);
    const expected = parseExportFile(text);
    expect(readExportFile(file("big.trace.json", text))).toStrictEqual(expected);
    expect(readExportFile(file("bom.trace.json", `\ufeff${text}`))).toStrictEqual(expected);
  });

  it("says why a file cannot be used in the words of the whole text, and never throws", () => {
    const text = exportText(3);
    const cases = [
      text.slice(0, text.length - 10),
      "",
      "[]",
      text.replace('"status": "completed"', '"status": 3'),
      text.replace('"name 1"', "1"),
    ];
    for (const [i, content] of cases.entries()) {
      const path = file(`bad-${String(i)}.trace.json`, content);
      expect(readExportFile(path)).toStrictEqual({ error: `cannot read '${path}': ${wordsOf(content)}` });
    }
    expect(readExportFile(join(dir, "nope.trace.json"))).toStrictEqual({ error: `cannot read '${join(dir, "nope.trace.json")}' (ENOENT)` });
    expect(readExportFile(dir)).toStrictEqual({ error: `cannot read '${dir}' (EISDIR)` });
  });

  it("reads a named pipe (view <(…)) once, whole, and still says why it cannot be used", async () => {
    await ensureBuilt();
    const text = exportText(50);
    const cases = [text, text.replace('"status": "completed"', '"status": 3')];
    for (const [i, content] of cases.entries()) {
      const source = file(`piped-${String(i)}.json`, content);
      const fifo = join(dir, `fifo-${String(i)}`);
      execFileSync("mkfifo", [fifo]);
      const viewer = startCli(["view", fifo, "--format", "json"], cliEnv());
      const writer = spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", source, fifo]);
      // A second read of a drained pipe would wait for a writer forever: a hang fails here.
      const timer = setTimeout(() => {
        viewer.child.kill();
        writer.kill();
      }, 20_000);
      const result = await viewer.done;
      clearTimeout(timer);
      if (i === 0) {
        expect(result.code).toBe(0);
        expect(result.stdout).toBe((await runCli(["view", source, "--format", "json"], cliEnv())).stdout);
      } else {
        expect(result.code).not.toBe(0);
        expect(result.stderr).toBe(`noukai-top: cannot read '${fifo}': ${wordsOf(content)}\n`);
      }
    }
  });
});
