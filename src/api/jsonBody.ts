// Reading a JSON response body: a reader takes the chunks as they arrive and makes the
// value at the end. Most bodies are small and read whole (JSON.parse, then a zod
// schema); the whole-run Trace has its own reader (traceBody.ts).
import type { z } from "zod";

/** Why a body cannot be used, said after "HTTP <status> " (the transport adds the status and request id). */
export class BodyError extends Error {}

/** Reads a JSON body chunk by chunk; `end` returns the value or throws BodyError. */
export interface JsonBodyReader<T> {
  push(chunk: Buffer): void;
  end(): T;
}

export const NOT_JSON = "with a body that is not JSON";

/** The first issue of a zod error, as the transport words it. */
export function describeIssue(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid";
  const path = [...prefix, ...issue.path];
  const where = path.length === 0 ? "(root)" : path.map((part) => String(part)).join(".");
  return `${where}: ${issue.message}`;
}

export function unexpected(error: z.ZodError, prefix: readonly PropertyKey[] = []): BodyError {
  return new BodyError(`with an unexpected body: ${describeIssue(error, prefix)}`);
}

/** Any JSON body: the whole text, JSON.parse, then `schema`. */
export function schemaBodyReader<T>(schema: z.ZodType<T>): JsonBodyReader<T> {
  const chunks: Buffer[] = [];
  return {
    push(chunk) {
      chunks.push(chunk);
    },
    end() {
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") throw new BodyError("with an empty body");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new BodyError(NOT_JSON);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) throw unexpected(parsed.error);
      return parsed.data;
    },
  };
}

