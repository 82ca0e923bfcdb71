// Small node:http helpers: JSON and error responses in PROTOCOL.md's shape, a
// size-limited body reader, and the API key check.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export const MAX_BODY_BYTES = 1024 * 1024;

export function newRequestId(): string {
  return `req_${randomBytes(12).toString("hex")}`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text, "utf8")),
  });
  res.end(text);
}

/** `{"detail": {"code", "message", ...extra}}`, the error shape of PROTOCOL.md. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
): void {
  sendJson(res, status, { detail: { code, message, ...options.extra } }, options.headers);
}

export type BodyResult =
  | { readonly kind: "ok"; readonly text: string }
  | { readonly kind: "too_large" }
  /** The client went away before the body ended. */
  | { readonly kind: "aborted" };

/** Reads the request body, giving up as soon as it is over `limit` bytes. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ kind: "too_large" });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        resolve({ kind: "too_large" });
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve({ kind: "ok", text: Buffer.concat(chunks).toString("utf8") }));
    // After "end" this resolves nothing (a promise settles once); before it, the body is lost.
    req.once("close", () => resolve({ kind: "aborted" }));
    req.once("error", reject);
  });
}

export type AuthResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** Any `nk_` bearer key is accepted, or only `requiredKey` when one is set (compared in constant time). */
export function checkAuth(header: string | undefined, requiredKey: string | undefined): AuthResult {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  const key = match?.[1];
  if (key === undefined) return { ok: false, message: "missing API key: send Authorization: Bearer nk_..." };
  if (!key.startsWith("nk_")) return { ok: false, message: "invalid API key: keys start with nk_" };
  if (requiredKey !== undefined) {
    const given = Buffer.from(key, "utf8");
    const wanted = Buffer.from(requiredKey, "utf8");
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { ok: false, message: "invalid API key" };
  }
  return { ok: true };
}
