// The `.trace.json` export file (issue 7 "Export"): the Trace in wire form, as the
// documentation's `trace.model_dump(by_alias=True)` writes it (camelCase, every
// documented field present, null when absent), plus noukai-top's own key with what a
// Trace lacks: the step names seen on the stream and every attempt of retried steps.
//
//   { "flowRun": {...}, "steps": [...],
//     "noukaiTop": { "version": 1, "executionId", "flow", "exportedAt",
//                    "names": { stepId: name }, "attempts": { "<stepId>#<loopIndex>": [StepTrace...] } } }
//
// A file without the `noukaiTop` key (an SDK user's model_dump) is read too: no names,
// no attempts. Nothing in the file is sanitized (it is data; whoever shows it sanitizes),
// except that API keys are masked: the file is made to be shared.
import { closeSync, openSync, writeSync } from "node:fs";
import { z } from "zod";
import { UTF8_BOM } from "./bytes.js";
import type { JsonBodyReader } from "./jsonBody.js";
import { SafeJsonPieces } from "./sanitize.js";
import { StepTrace, Trace, type RunSummary } from "./schemas.js";
import { traceBodyReader } from "./traceBody.js";

export const EXPORT_FORMAT_VERSION = 1;
/** The key under which noukai-top's additions sit, next to `flowRun` and `steps`. */
export const EXPORT_META_KEY = "noukaiTop";
/** Default file name suffix: `<execution-id>.trace.json`. */
export const EXPORT_FILE_SUFFIX = ".trace.json";

/** What an export holds, in memory (the input of buildExportFile, the output of parseExportFile). */
export interface ExportContent {
  readonly trace: Trace;
  /** Step names seen on the stream, by step id (a StepTrace has no name). */
  readonly names: Readonly<Record<string, string>>;
  /** Every attempt of each retried step, keyed attemptsKey(stepId, loopIndex) = `${stepId}#${loopIndex ?? ""}`. */
  readonly attempts: ReadonlyMap<string, readonly StepTrace[]>;
  /** Defaults to the trace's flowRun.id when building. */
  readonly executionId: string;
  /** `org/project/slug`, or null when unknown (a file written by another tool). */
  readonly flow: string | null;
  /** ISO 8601 time of the export, or null when unknown. */
  readonly exportedAt: string | null;
}

export type ExportInput = Pick<ExportContent, "trace"> & Partial<Omit<ExportContent, "trace">>;

/** The file cannot be used; the message is one line without a prefix (e.g. `not JSON: ...`). */
export class ExportFileError extends Error {
  override readonly name = "ExportFileError";
}

type JsonValue = unknown;

function orNull<T>(value: T | null | undefined): T | null {
  return value === undefined ? null : value;
}

/** A RunSummary in wire form: every documented field, in the documented order. */
function wireRunSummary(run: RunSummary): Record<string, JsonValue> {
  return {
    id: run.id,
    flowId: orNull(run.flowId),
    status: run.status,
    triggerType: orNull(run.triggerType),
    startedAt: orNull(run.startedAt),
    completedAt: orNull(run.completedAt),
    durationMs: orNull(run.durationMs),
    stepCount: orNull(run.stepCount),
  };
}

/** A StepTrace in wire form (model_dump(by_alias=True)): every documented field, null when absent. */
export function wireStepTrace(step: StepTrace): Record<string, JsonValue> {
  return {
    stepId: step.stepId,
    attempt: step.attempt,
    loopIndex: orNull(step.loopIndex),
    status: step.status,
    startedAt: orNull(step.startedAt),
    completedAt: orNull(step.completedAt),
    durationMs: orNull(step.durationMs),
    modelUsed: orNull(step.modelUsed),
    tokens:
      step.tokens === null || step.tokens === undefined
        ? null
        : { prompt: orNull(step.tokens.prompt), completion: orNull(step.tokens.completion), total: orNull(step.tokens.total) },
    costUsd: orNull(step.costUsd),
    inputContext: orNull(step.inputContext),
    outputContext: orNull(step.outputContext),
    errorContext: orNull(step.errorContext),
    inputSizeBytes: orNull(step.inputSizeBytes),
    outputSizeBytes: orNull(step.outputSizeBytes),
    truncated: step.truncated,
  };
}

/** The Trace in wire form, without noukai-top's key. */
export function wireTrace(trace: Trace): Record<string, JsonValue> {
  return { flowRun: wireRunSummary(trace.flowRun), steps: trace.steps.map(wireStepTrace) };
}

/** The export file as a JSON-ready object. */
export function buildExportFile(input: ExportInput): Record<string, JsonValue> {
  const attempts: Record<string, JsonValue> = {};
  for (const [key, list] of input.attempts ?? []) {
    // defineProperty: a step id such as `__proto__` stays an ordinary key.
    Object.defineProperty(attempts, key, { value: list.map(wireStepTrace), enumerable: true, writable: true, configurable: true });
  }
  return {
    ...wireTrace(input.trace),
    [EXPORT_META_KEY]: {
      version: EXPORT_FORMAT_VERSION,
      executionId: input.executionId ?? input.trace.flowRun.id,
      flow: input.flow ?? null,
      exportedAt: input.exportedAt ?? new Date().toISOString(),
      names: { ...input.names },
      attempts,
    },
  };
}

/** Where the steps go in the text of a file without them (a raw line break is never inside a JSON string). */
const EMPTY_STEPS = '\n  "steps": []';

/**
 * The file's text: two-space indented JSON and a final newline (as the documentation's
 * json.dump(indent=2)), JSON.stringify(buildExportFile(input), null, 2) to the byte, made
 * safe by safeJsonText (API keys masked, characters a terminal acts on written as \uXXXX
 * escapes, so `cat` of the file or `-o -` is safe). It is handed to `write` in pieces of about
 * a megabyte, a step at a time: the text of 250,000 steps is 150 MB, and all of them in
 * wire form at once several times that.
 */
export function writeExportFileText(input: ExportInput, write: (text: string) => void): void {
  const whole = JSON.stringify(buildExportFile({ ...input, trace: { flowRun: input.trace.flowRun, steps: [] } }), null, 2);
  const at = whole.indexOf(EMPTY_STEPS) + EMPTY_STEPS.length - 1;
  const pieces = new SafeJsonPieces(write);
  pieces.add(whole.slice(0, at));
  let first = true;
  for (const step of input.trace.steps) {
    // An element two levels down: JSON.stringify indents its lines by four more spaces.
    pieces.add((first ? "\n    " : ",\n    ") + JSON.stringify(wireStepTrace(step), null, 2).replaceAll("\n", "\n    "));
    first = false;
  }
  pieces.end(`${first ? "" : "\n  "}${whole.slice(at)}\n`);
}

/** The whole text of writeExportFileText. */
export function exportFileText(input: ExportInput): string {
  const pieces: string[] = [];
  writeExportFileText(input, (text) => pieces.push(text));
  return pieces.join("");
}

/**
 * Writes the file piece by piece (`-` is not handled here: the CLI writes the text to
 * stdout itself). Errors are the file system's (code ENOENT, EACCES...).
 */
export function writeExportFile(path: string, input: ExportInput): void {
  const fd = openSync(path, "w");
  try {
    writeExportFileText(input, (text) => {
      const bytes = Buffer.from(text, "utf8");
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    });
  } finally {
    closeSync(fd);
  }
}

const ExportMeta = z.object({
  version: z.number().int(),
  executionId: z.string().nullish(),
  flow: z.string().nullish(),
  exportedAt: z.string().nullish(),
  // Checked entry by entry below: z.record assigns keys, which drops a `__proto__` step id.
  names: z.record(z.string(), z.unknown()).nullish(),
  attempts: z.record(z.string(), z.unknown()).nullish(),
});

/** The own entries of a JSON object (JSON.parse makes `__proto__` an own key), each value checked by `schema`. */
function checkedEntries<T>(raw: unknown, schema: z.ZodType<T>, path: string): [string, T][] {
  if (raw === undefined || raw === null) return [];
  return Object.entries(raw as Record<string, unknown>).map(([key, value]) => [key, checkedValue(value, schema, path, key)]);
}

function checkedValue<T>(value: unknown, schema: z.ZodType<T>, path: string, key: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ExportFileError(`bad ${path}.${key}: ${firstIssue(result.error)}`);
  return result.data;
}

/**
 * The names of a noukaiTop key (a JSON object, or nullish), as checkedEntries and
 * namesRecord would make them: a file has a name per step, and zod and an array of
 * entries per name were most of the time of reading a large file.
 */
function namesOf(raw: unknown): Record<string, string> {
  const names = namesRecord([]);
  if (raw === undefined || raw === null) return names;
  const json = raw as Record<string, unknown>;
  for (const key of Object.keys(json)) {
    const value = json[key];
    names[key] = typeof value === "string" ? value : checkedValue(value, z.string(), `${EXPORT_META_KEY}.names`, key);
  }
  return names;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `rawMeta` with its names and attempts as {} when they are objects: ExportMeta's verdict
 * is the same (they are checked entry by entry after it), without z.record walking every
 * entry of a large file.
 */
function withoutEntries(rawMeta: unknown): unknown {
  if (!isJsonObject(rawMeta)) return rawMeta;
  const light = { ...rawMeta };
  if (isJsonObject(light["names"])) light["names"] = {};
  if (isJsonObject(light["attempts"])) light["attempts"] = {};
  return light;
}

/** `flowRun.steps[3].attempt: expected number` from the first zod issue. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid";
  const path = issue.path
    .map((part, index) => (typeof part === "number" ? `[${String(part)}]` : index === 0 ? String(part) : `.${String(part)}`))
    .join("");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Names by step id in an object without a prototype: a step id such as `__proto__`
 * stays a plain key, and `constructor` or `toString` is not found unless it is one.
 */
export function namesRecord(entries: Iterable<readonly [string, string]>): Record<string, string> {
  const names = Object.create(null) as Record<string, string>;
  for (const [stepId, name] of entries) names[stepId] = name;
  return names;
}

/**
 * Reads an export file (or a plain model_dump of a Trace). Throws ExportFileError with
 * one line when the text is not JSON, not a Trace, or has a noukaiTop key of a newer
 * version or a wrong shape.
 */
export function parseExportFile(text: string): ExportContent {
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new ExportFileError(`not JSON: ${oneLine((error as Error).message)}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ExportFileError("not a trace file: expected a JSON object with flowRun and steps");
  }
  const traceResult = Trace.safeParse(json);
  if (!traceResult.success) throw new ExportFileError(`not a trace file: ${firstIssue(traceResult.error)}`);
  return exportContent(traceResult.data, (json as Record<string, unknown>)[EXPORT_META_KEY]);
}

/**
 * Reads an export file as parseExportFile does, from its bytes chunk by chunk (the Trace
 * body reader of traceBody.ts, which keeps each step as it is read, never the whole text:
 * a file of 250,000 steps is 150 MB of text, and JSON.parse of it, then zod's copy, took
 * 0.7 GB). It refuses what parseExportFile refuses, but its BodyError does not say why as
 * parseExportFile does: a caller that wants the words reads the file whole then.
 */
export function exportFileReader(): JsonBodyReader<ExportContent> {
  let rawMeta: unknown = undefined;
  let atStart = true;
  const reader = traceBodyReader(undefined, (key, value) => {
    if (key === EXPORT_META_KEY) rawMeta = value;
  });
  return {
    push(chunk) {
      // A UTF-8 BOM, as JSON.parse of the text without its U+FEFF (a chunk holds the first three bytes).
      if (atStart && chunk.length >= UTF8_BOM.length && UTF8_BOM.equals(chunk.subarray(0, UTF8_BOM.length))) {
        chunk = chunk.subarray(UTF8_BOM.length);
      }
      atStart = false;
      reader.push(chunk);
    },
    end() {
      return exportContent(reader.end(), rawMeta);
    },
  };
}

/** The content of a file whose Trace is read: `rawMeta` is its noukaiTop value, as JSON.parse read it. */
function exportContent(trace: Trace, rawMeta: unknown): ExportContent {
  if (rawMeta === undefined || rawMeta === null) {
    return { trace, names: namesRecord([]), attempts: new Map(), executionId: trace.flowRun.id, flow: null, exportedAt: null };
  }
  const metaResult = ExportMeta.safeParse(withoutEntries(rawMeta));
  if (!metaResult.success) {
    throw new ExportFileError(`bad ${EXPORT_META_KEY} key: ${firstIssue(metaResult.error)}`);
  }
  const meta = metaResult.data;
  const metaJson = rawMeta as { names?: unknown; attempts?: unknown };
  if (meta.version > EXPORT_FORMAT_VERSION) {
    throw new ExportFileError(
      `written by a newer noukai-top (file format ${String(meta.version)}; this one reads ${String(EXPORT_FORMAT_VERSION)})`,
    );
  }
  return {
    trace,
    names: namesOf(metaJson.names),
    attempts: new Map(checkedEntries(metaJson.attempts, z.array(StepTrace), `${EXPORT_META_KEY}.attempts`)),
    executionId: meta.executionId ?? trace.flowRun.id,
    flow: meta.flow ?? null,
    exportedAt: meta.exportedAt ?? null,
  };
}

/**
 * `<execution-id>.trace.json` made safe as a file name in the current directory: path
 * separators, control characters and other characters unsafe in file names become `_`,
 * leading dots and dashes are dropped (no hidden file, no option look-alike), and the
 * name is cut to a length every file system accepts.
 */
export function exportFileName(executionId: string): string {
  let base = executionId.replace(/[\u0000-\u001f\u007f-\u009f/\\:*?"<>|\u202a-\u202e\u2066-\u2069]/g, "_");
  base = base.replace(/^[.\-\s]+/, "").replace(/[.\s]+$/, "");
  // 255 bytes is the usual limit; keep room for the suffix and multi-byte characters.
  base = Array.from(base).slice(0, 120).join("");
  if (base === "") base = "trace";
  return `${base}${EXPORT_FILE_SUFFIX}`;
}
