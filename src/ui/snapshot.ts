// An attempt's errorContext / inputContext / outputContext as sanitized, pretty-printed
// lines for the detail view, with its byte size and truncation flag. Lines are never
// wrapped: the detail cuts them at the screen's edge and scrolls sideways (h/l).
import type { StepTrace } from "../api/schemas.js";
import { sanitizeLine, sanitizeMultiline } from "../api/sanitize.js";
import { textWidth } from "./text.js";
import type { ContextKind } from "./viewReducer.js";

/** Past this many lines the rest is summarised in one line (a 10 MB snapshot stays usable). */
export const MAX_SNAPSHOT_LINES = 20_000;

export interface Snapshot {
  readonly kind: ContextKind;
  readonly present: boolean;
  readonly lines: readonly string[];
  /** Width of the widest line, in cells. */
  readonly columns: number;
  /** UTF-8 size of the value's JSON (the server's figure when it gives one). */
  readonly sizeBytes: number | null;
  /** The server stored the snapshot cut (StepTrace.truncated). */
  readonly truncated: boolean;
}

function contextValue(attempt: StepTrace, kind: ContextKind): unknown {
  switch (kind) {
    case "error":
      return attempt.errorContext;
    case "input":
      return attempt.inputContext;
    case "output":
      return attempt.outputContext;
  }
}

/** The snapshot shown when the user has not chosen one: the error of a failed attempt, else the output. */
export function defaultContextKind(attempt: StepTrace | undefined): ContextKind {
  if (attempt === undefined) return "output";
  const failed = attempt.status.toLowerCase() === "failed";
  return failed || (attempt.errorContext !== undefined && attempt.errorContext !== null) ? "error" : "output";
}

export function buildSnapshot(attempt: StepTrace, kind: ContextKind): Snapshot {
  const value = contextValue(attempt, kind);
  const truncated = kind !== "error" && attempt.truncated;
  if (value === undefined || value === null) {
    const line = `(no ${kind} context for this attempt)`;
    return { kind, present: false, lines: [line], columns: line.length, sizeBytes: null, truncated };
  }
  const compact = JSON.stringify(value) ?? "";
  const serverSize = kind === "input" ? attempt.inputSizeBytes : kind === "output" ? attempt.outputSizeBytes : null;
  const sizeBytes = serverSize ?? Buffer.byteLength(compact, "utf8");
  const text = typeof value === "string" ? value : (JSON.stringify(value, null, 2) ?? "");
  const source = sanitizeMultiline(text).split("\n");
  const lines = source.length > MAX_SNAPSHOT_LINES ? source.slice(0, MAX_SNAPSHOT_LINES) : source;
  if (source.length > MAX_SNAPSHOT_LINES) lines.push(`... ${String(source.length - MAX_SNAPSHOT_LINES)} more lines not shown`);
  let columns = 0;
  for (const line of lines) columns = Math.max(columns, textWidth(line));
  return { kind, present: true, lines, columns, sizeBytes, truncated };
}

/** A one-line error for the attempts list: `code: message`, else the compact JSON. */
export function errorLine(errorContext: unknown): string {
  if (errorContext === undefined || errorContext === null) return "";
  if (typeof errorContext === "string") return sanitizeLine(errorContext);
  if (typeof errorContext === "object") {
    const record = errorContext as Record<string, unknown>;
    const message = typeof record["message"] === "string" ? record["message"] : typeof record["error"] === "string" ? record["error"] : null;
    const code = typeof record["code"] === "string" ? record["code"] : typeof record["type"] === "string" ? record["type"] : null;
    if (message !== null) return sanitizeLine(code !== null ? `${code}: ${message}` : message);
  }
  return sanitizeLine(JSON.stringify(errorContext) ?? "");
}
