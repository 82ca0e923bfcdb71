// An attempt's errorContext / inputContext / outputContext as sanitized, pretty-printed,
// width-wrapped lines for the detail view, with its byte size and truncation flag.
import type { StepTrace } from "../api/schemas.js";
import { sanitizeLine, sanitizeMultiline } from "../api/sanitize.js";
import { charWidth } from "./text.js";
import type { ContextKind } from "./viewReducer.js";

/** Past this many wrapped lines the rest is summarised in one line (a 10 MB snapshot stays usable). */
export const MAX_SNAPSHOT_LINES = 20_000;

export interface Snapshot {
  readonly kind: ContextKind;
  readonly present: boolean;
  readonly lines: readonly string[];
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

/** Cuts one line into pieces of at most `width` cells (wide characters count two). */
export function wrapLine(line: string, width: number): string[] {
  if (width <= 0) return [line];
  if (/^[\x20-\x7e]*$/.test(line)) {
    if (line.length <= width) return [line];
    const pieces: string[] = [];
    for (let i = 0; i < line.length; i += width) pieces.push(line.slice(i, i + width));
    return pieces;
  }
  const pieces: string[] = [];
  let piece = "";
  let used = 0;
  for (const ch of line) {
    const w = charWidth(ch.codePointAt(0) ?? 0);
    if (used + w > width && piece !== "") {
      pieces.push(piece);
      piece = "";
      used = 0;
    }
    piece += ch;
    used += w;
  }
  pieces.push(piece);
  return pieces;
}

export function buildSnapshot(attempt: StepTrace, kind: ContextKind, width: number): Snapshot {
  const value = contextValue(attempt, kind);
  const truncated = kind !== "error" && attempt.truncated;
  if (value === undefined || value === null) {
    return { kind, present: false, lines: [`(no ${kind} context for this attempt)`], sizeBytes: null, truncated };
  }
  const compact = JSON.stringify(value) ?? "";
  const serverSize = kind === "input" ? attempt.inputSizeBytes : kind === "output" ? attempt.outputSizeBytes : null;
  const sizeBytes = serverSize ?? Buffer.byteLength(compact, "utf8");
  const text = typeof value === "string" ? value : (JSON.stringify(value, null, 2) ?? "");
  const lines: string[] = [];
  const source = sanitizeMultiline(text).split("\n");
  let index = 0;
  for (; index < source.length && lines.length < MAX_SNAPSHOT_LINES; index += 1) {
    for (const piece of wrapLine(source[index] ?? "", width)) lines.push(piece);
  }
  if (index < source.length) lines.push(`... ${String(source.length - index)} more lines not shown`);
  return { kind, present: true, lines, sizeBytes, truncated };
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
