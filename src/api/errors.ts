// Typed errors of the trace API. Every message is one line, free of control
// characters, and passed through the redactor: an ApiError can be printed as is.
import { redactSecrets } from "./redact.js";
import { sanitizeLine } from "./sanitize.js";

export type ApiErrorKind =
  | "auth" // 401
  | "forbidden" // 403
  | "not_found" // 404
  | "credits" // 402
  | "rate_limited" // 429
  | "server" // 5xx
  | "bad_response" // a body or content type that is not what the contract says, a 204 stream
  | "network" // no HTTP answer: refused, reset, DNS, TLS
  | "timeout" // 408, or no headers / body bytes in time
  | "redirect" // a 3xx that is not followed (another origin, https to http, a loop)
  | "client"; // any other 4xx, or a request this process could not send

export interface ApiErrorInit {
  readonly kind: ApiErrorKind;
  readonly status?: number | null;
  /** `detail.code` of the error body. */
  readonly code?: string | null;
  /** The server's message (`detail.message`, `detail`, `message`, `error`, or the start of the body). */
  readonly serverMessage?: string | null;
  readonly requestId?: string | null;
  /** From `Retry-After`, clamped to 1-60 s. */
  readonly retryAfterMs?: number;
  /** Whether trying again later may succeed. Default: true for 408/429/500/502/503/504, else false. */
  readonly transient?: boolean;
  /** Replaces the default `HTTP <status> <code>: <serverMessage>` text (errors without a usable answer). */
  readonly summary?: string;
}

/** Statuses a GET is retried on, and the monitor reconnects after. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Server text in an error: cut so one error stays one readable line. */
const MAX_SERVER_MESSAGE_CHARS = 500;
/** A body that is not a known error shape (a proxy's HTML page): only its start is shown. */
const MAX_BODY_EXCERPT_CHARS = 200;

const RETRY_AFTER_MIN_MS = 1_000;
const RETRY_AFTER_MAX_MS = 60_000;

/** One printable line of untrusted text: controls made visible, keys masked. */
function safeLine(text: string): string {
  return redactSecrets(sanitizeLine(text));
}

function safeOrNull(text: string | null | undefined): string | null {
  return text === null || text === undefined || text === "" ? null : safeLine(text);
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly kind: ApiErrorKind;
  /** HTTP status, or null when no answer came (network, timeout, client-side). */
  readonly status: number | null;
  readonly code: string | null;
  readonly serverMessage: string | null;
  /** The response's X-Request-ID (what support asks for), or null. */
  readonly requestId: string | null;
  readonly retryAfterMs?: number;
  /** True when trying again later may succeed (see isFinal). */
  readonly transient: boolean;

  constructor(init: ApiErrorInit) {
    const status = init.status ?? null;
    const code = safeOrNull(init.code);
    const serverMessage = safeOrNull(init.serverMessage);
    const requestId = safeOrNull(init.requestId);
    let text = init.summary === undefined ? httpSummary(status, code, serverMessage) : safeLine(init.summary);
    if (requestId !== null) text += ` (request id ${requestId})`;
    super(text);
    this.kind = init.kind;
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
    this.requestId = requestId;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    this.transient = init.transient ?? (status !== null && TRANSIENT_STATUSES.has(status));
  }
}

/** A configuration mistake found before any request (bad key prefix, bad base URL). Never echoes the key. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function httpSummary(status: number | null, code: string | null, serverMessage: string | null): string {
  let text = status === null ? "request failed" : `HTTP ${String(status)}`;
  if (code !== null) text += ` ${code}`;
  if (serverMessage !== null) text += `: ${serverMessage}`;
  return text;
}

/**
 * True when waiting and trying again cannot help: 401, 403, 404, a 204 or non
 * event-stream answer to the stream, an invalid body, a refused redirect, other
 * 4xx, TLS certificate failures, and anything that is not an ApiError (a bug or
 * an abort must not be retried). Transient: 408, 429, 5xx, network and timeouts.
 */
export function isFinal(err: unknown): boolean {
  return !(err instanceof ApiError && err.transient);
}

export function kindForStatus(status: number): ApiErrorKind {
  switch (status) {
    case 401:
      return "auth";
    case 402:
      return "credits";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 408:
      return "timeout";
    case 429:
      return "rate_limited";
  }
  if (status >= 500) return "server";
  if (status >= 400) return "client";
  if (status >= 300) return "redirect";
  return "bad_response";
}

/**
 * `Retry-After` as milliseconds: delta seconds or an HTTP date, clamped to 1-60 s
 * so neither `0` nor a far date turns into a storm or an endless wait. Undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    // HTTP dates start with a day name; Date.parse alone would accept "10abc".
    const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
    if (Number.isNaN(date)) return undefined;
    ms = date - nowMs;
  }
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, ms));
}

export interface ErrorBodyInfo {
  readonly code: string | null;
  readonly serverMessage: string | null;
}

/**
 * Reads an error body of any shape: `{"detail":{"code","message"}}`, `{"detail":"text"}`,
 * `{"detail":[...]}` (validation errors), `{"message"}` / `{"error"}` (proxies,
 * gateways), or anything else, of which the first 200 characters are kept.
 * Keys are masked before anything is cut, so a cut never leaves part of a key.
 */
export function describeErrorBody(bodyText: string): ErrorBodyInfo {
  const text = redactSecrets(bodyText);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (isRecord(json)) {
    const { detail } = json;
    if (isRecord(detail)) {
      return {
        code: stringOrNull(detail.code),
        serverMessage: cut(stringOrNull(detail.message), MAX_SERVER_MESSAGE_CHARS),
      };
    }
    if (typeof detail === "string") return { code: null, serverMessage: cut(detail, MAX_SERVER_MESSAGE_CHARS) };
    if (Array.isArray(detail)) {
      return { code: null, serverMessage: cut(detail.map(describeValidationItem).join("; "), MAX_SERVER_MESSAGE_CHARS) };
    }
    const message = stringOrNull(json.message) ?? stringOrNull(json.error) ?? nestedErrorMessage(json.error);
    if (message !== null) return { code: null, serverMessage: cut(message, MAX_SERVER_MESSAGE_CHARS) };
  }
  const excerpt = text.replace(/\s+/g, " ").trim();
  return { code: null, serverMessage: cut(excerpt, MAX_BODY_EXCERPT_CHARS) };
}

/** The ApiError for an HTTP answer that is not a success. */
export function errorFromResponse(response: {
  readonly status: number;
  readonly requestId: string | null;
  readonly bodyText: string;
  readonly retryAfter?: string | null;
}): ApiError {
  const { code, serverMessage } = describeErrorBody(response.bodyText);
  const retryAfterMs =
    response.status === 429 || response.status === 503 ? parseRetryAfter(response.retryAfter) : undefined;
  return new ApiError({
    kind: kindForStatus(response.status),
    status: response.status,
    code,
    serverMessage,
    requestId: response.requestId,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** Error codes of a TLS handshake or certificate failure: trying again will not help. */
const TLS_FAILURE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_|EPROTO$|HOSTNAME_MISMATCH$)/;
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

/** The `code` of a Node or undici error (AggregateError from happy eyeballs: its first error's). */
export function errorCode(err: unknown): string | null {
  if (!isRecord(err)) return null;
  if (typeof err.code === "string") return err.code;
  if (Array.isArray(err.errors)) return errorCode(err.errors[0]);
  if ("cause" in err && err.cause !== err) return errorCode(err.cause);
  return null;
}

/**
 * The ApiError for a request that got no usable HTTP answer. `origin` names where
 * it went (scheme, host, port: never a path, a query or credentials).
 */
export function errorFromNetworkFailure(err: unknown, origin: string): ApiError {
  const code = errorCode(err);
  const detail = networkDetail(err);
  const withCode = code === null || detail.includes(code) ? detail : `${detail} (${code})`;
  if (code !== null && TIMEOUT_CODES.has(code)) {
    const what =
      code === "UND_ERR_HEADERS_TIMEOUT"
        ? "no response headers"
        : code === "UND_ERR_BODY_TIMEOUT"
          ? "the response body stalled"
          : "the connection timed out";
    return new ApiError({ kind: "timeout", transient: true, summary: `${what} from ${origin} (${code})` });
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new ApiError({ kind: "network", transient: true, summary: `cannot resolve ${origin}: ${withCode}` });
  }
  if (code === "ECONNREFUSED") {
    return new ApiError({ kind: "network", transient: true, summary: `cannot connect to ${origin}: ${withCode}` });
  }
  if (code !== null && TLS_FAILURE.test(code)) {
    return new ApiError({ kind: "network", transient: false, summary: `TLS failure with ${origin}: ${withCode}` });
  }
  if (code === "UND_ERR_DESTROYED" || code === "UND_ERR_CLOSED") {
    return new ApiError({ kind: "client", transient: false, summary: `the client is closed (${origin})` });
  }
  if (code === "UND_ERR_INVALID_ARG") {
    return new ApiError({ kind: "client", transient: false, summary: `invalid request to ${origin}: ${withCode}` });
  }
  return new ApiError({ kind: "network", transient: true, summary: `connection to ${origin} failed: ${withCode}` });
}

function networkDetail(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return networkDetail(err.errors[0]);
  if (err instanceof Error && err.message !== "") return err.message;
  return "unknown error";
}

function describeValidationItem(item: unknown): string {
  if (!isRecord(item)) return String(item);
  const msg = stringOrNull(item.msg) ?? stringOrNull(item.message) ?? JSON.stringify(item);
  const loc = Array.isArray(item.loc) ? item.loc.map((part) => String(part)).join(".") : null;
  return loc === null || loc === "" ? msg : `${loc}: ${msg}`;
}

function nestedErrorMessage(value: unknown): string | null {
  return isRecord(value) ? stringOrNull(value.message) : null;
}

function cut(text: string | null, max: number): string | null {
  if (text === null || text === "") return null;
  // Cutting by code points keeps surrogate pairs whole.
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join("")}…`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}
