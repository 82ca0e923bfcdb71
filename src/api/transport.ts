// HTTP for the trace client, on undici. One dispatcher per client: an
// EnvHttpProxyAgent, so HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured, with
// the body timeout off (a live stream may be silent for many minutes; the monitor
// has its own idle watchdog) and a 30 s headers timeout. JSON requests set the
// same 30 s as a per-request body timeout.
//
// Requests go through `dispatcher.request({ origin, path })`: the path built by
// paths.ts (already percent-encoded) is appended to the base path as a string and
// never parsed as a URL, because URL parsing collapses `..` and even `%2E%2E`.
import { readFileSync } from "node:fs";
import { EnvHttpProxyAgent, type Dispatcher } from "undici";
import type { z } from "zod";
import { ApiError, ConfigError, errorFromNetworkFailure, errorFromResponse } from "./errors.js";
import { BodyError, schemaBodyReader, type JsonBodyReader } from "./jsonBody.js";
import { API_VERSION, API_VERSION_HEADER, REQUEST_ID_HEADER } from "./paths.js";
import { redactSecrets, registerSecret } from "./redact.js";
import { sanitizeLine } from "./sanitize.js";
import { sleep } from "./sleep.js";

export interface TransportOptions {
  /** Base URL ending in /api/v1 (a trailing slash is ignored). */
  readonly baseUrl: string;
  /** Must start with nk_ (checked without echoing it). */
  readonly apiKey: string;
  readonly userAgent?: string;
  /** Retries of a GET after a transient failure (default 3). */
  readonly maxRetries?: number;
  /** Multiplies every retry delay (tests use a small value). Default 1. */
  readonly backoffScale?: number;
  /** Called before each wait between two tries of a GET (for "retrying in N s" lines). */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Longest wait for response headers, and for the next bytes of a JSON body (default 30 000). */
  readonly headersTimeoutMs?: number;
}

export interface RetryInfo {
  /** 1 for the first retry. */
  readonly retry: number;
  /** The wait before it, already scaled by backoffScale. */
  readonly delayMs: number;
  /** Why the previous try failed. */
  readonly error: ApiError;
}

export interface OpenedStream {
  /** Raw body bytes as they arrive. Stop iterating (or abort the signal) to close the connection. */
  readonly body: AsyncIterable<Uint8Array>;
  readonly requestId: string | null;
}

export interface SendOptions {
  readonly signal?: AbortSignal | undefined;
}

/** The version in package.json (two directories up from src/api and from dist/api). */
function readPackageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    if (typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string") {
      return pkg.version;
    }
  } catch {
    // Running from an unusual layout: the User-Agent still names the product.
  }
  return "0.0.0";
}

export const NOUKAI_TOP_VERSION = readPackageVersion();

/** `noukai-top/<version> (node <version>; <platform>)` */
export function defaultUserAgent(): string {
  return `noukai-top/${NOUKAI_TOP_VERSION} (node ${process.versions.node}; ${process.platform})`;
}

const KEY_PREFIX = "nk_";
/** Visible ASCII: anything else cannot go into a header (and is not a key). */
const KEY_CHARS = /^[\x21-\x7E]+$/;
/** A Last-Event-ID that is not plain printable ASCII is dropped (the server replays anyway). */
const HEADER_SAFE = /^[\x20-\x7E]+$/;

const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;
/** Largest JSON body accepted: a Trace of 500,000 steps is about 150 MiB; past this, an answer is refused, not buffered. */
const MAX_JSON_BODY_BYTES = 512 * 1024 * 1024;
/** Only the start of an error body is read; and for at most this long (it may trickle forever). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const ERROR_BODY_DEADLINE_MS = 10_000;

const DEFAULT_MAX_RETRIES = 3;
/** Backoff caps before jitter: 1 s, 4 s, 16 s, then 64 s... */
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_FACTOR = 4;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

type Method = "GET" | "POST";

interface OutgoingRequest {
  readonly method: Method;
  /** Path relative to the base URL, percent-encoded, with its query. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly signal: AbortSignal | undefined;
  /** Per request; null keeps the dispatcher's. */
  readonly headersTimeout: number | null;
  readonly bodyTimeout: number;
}

export class Transport {
  /** The base URL, normalised: origin plus base path, no trailing slash. */
  readonly baseUrl: string;
  /** Scheme, host and port: the only place the key is ever sent. */
  readonly origin: string;
  private readonly basePath: string;
  private readonly commonHeaders: Readonly<Record<string, string>>;
  private readonly maxRetries: number;
  private readonly backoffScale: number;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  /** Also the longest silence inside a JSON body before the request fails (and a GET is retried). */
  private readonly jsonBodyTimeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private closed = false;

  constructor(options: TransportOptions) {
    const { apiKey } = options;
    if (typeof apiKey !== "string" || !apiKey.startsWith(KEY_PREFIX)) {
      throw new ConfigError(`the API key must start with "${KEY_PREFIX}"`);
    }
    if (apiKey.length === KEY_PREFIX.length || !KEY_CHARS.test(apiKey)) {
      throw new ConfigError("the API key is empty after nk_ or holds spaces or characters that cannot be sent");
    }
    registerSecret(apiKey);
    const base = parseBaseUrl(options.baseUrl);
    this.origin = base.origin;
    this.basePath = base.path;
    this.baseUrl = base.origin + base.path;
    this.commonHeaders = {
      authorization: `Bearer ${apiKey}`,
      [API_VERSION_HEADER]: API_VERSION,
      "user-agent": options.userAgent ?? defaultUserAgent(),
    };
    this.maxRetries = Math.floor(nonNegative(options.maxRetries, DEFAULT_MAX_RETRIES));
    this.backoffScale = nonNegative(options.backoffScale, 1);
    this.onRetry = options.onRetry;
    const headersTimeout = nonNegative(options.headersTimeoutMs, DEFAULT_HEADERS_TIMEOUT_MS);
    this.jsonBodyTimeoutMs = headersTimeout;
    this.dispatcher = new EnvHttpProxyAgent({ bodyTimeout: 0, headersTimeout });
  }

  /**
   * GET a JSON body, validated by `schema` (or read by a fresh reader from `schema()`);
   * transient failures are retried with backoff.
   */
  async getJson<T>(path: string, schema: BodySchema<T>, opts: SendOptions = {}): Promise<T> {
    const signal = opts.signal;
    for (let retry = 0; ; retry++) {
      try {
        const response = await this.send({
          method: "GET",
          path,
          headers: { ...this.commonHeaders, accept: "application/json" },
          signal,
          headersTimeout: null,
          bodyTimeout: this.jsonBodyTimeoutMs,
        });
        return await this.readJson(response, schema, signal);
      } catch (err) {
        if (!(err instanceof ApiError) || !err.transient || retry >= this.maxRetries) throw err;
        const delayMs = this.retryDelay(err, retry);
        this.onRetry?.({ retry: retry + 1, delayMs, error: err });
        await sleep(delayMs, signal);
      }
    }
  }

  /**
   * POST a JSON body once (never retried: the server may have acted on it).
   * `waitForHeaders` lifts the headers timeout (execute answers when the run ends).
   */
  async postJson<T>(
    path: string,
    body: unknown,
    schema: BodySchema<T>,
    opts: SendOptions & { readonly waitForHeaders?: boolean } = {},
  ): Promise<T> {
    const response = await this.send({
      method: "POST",
      path,
      headers: { ...this.commonHeaders, accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: opts.signal,
      headersTimeout: opts.waitForHeaders === true ? 0 : null,
      bodyTimeout: this.jsonBodyTimeoutMs,
    });
    return this.readJson(response, schema, opts.signal);
  }

  /**
   * GET an SSE stream once. Resolves when a 2xx text/event-stream answer arrives;
   * throws ApiError for a 204, any other status, or another content type.
   */
  async openEventStream(
    path: string,
    opts: SendOptions & { readonly lastEventId?: string | null | undefined } = {},
  ): Promise<OpenedStream> {
    const headers: Record<string, string> = {
      ...this.commonHeaders,
      accept: "text/event-stream",
      "cache-control": "no-cache",
    };
    const { lastEventId } = opts;
    if (typeof lastEventId === "string" && HEADER_SAFE.test(lastEventId)) headers["last-event-id"] = lastEventId;
    const response = await this.send({
      method: "GET",
      path,
      headers,
      signal: opts.signal,
      headersTimeout: null,
      bodyTimeout: 0,
    });
    const status = response.statusCode;
    const requestId = headerValue(response.headers, REQUEST_ID_HEADER);
    if (status === 204) {
      discard(response.body);
      throw new ApiError({
        kind: "bad_response",
        status,
        requestId,
        summary: "HTTP 204: the server has no stream for this run",
      });
    }
    if (status < 200 || status > 299) throw await this.errorFrom(response, opts.signal);
    const contentType = headerValue(response.headers, "content-type");
    if (mediaType(contentType) !== "text/event-stream") {
      discard(response.body);
      throw new ApiError({
        kind: "bad_response",
        status,
        requestId,
        summary: `HTTP ${String(status)} with content type "${contentType ?? "none"}", not text/event-stream`,
      });
    }
    return { body: response.body, requestId };
  }

  /** Closes every connection; requests and streams still open fail. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dispatcher.destroy();
  }

  /** Sends one request, following a redirect only within the same origin. */
  private async send(request: OutgoingRequest): Promise<Dispatcher.ResponseData> {
    let method = request.method;
    let body = request.body;
    let path = this.basePath + request.path;
    for (let redirects = 0; ; redirects++) {
      let response: Dispatcher.ResponseData;
      try {
        response = await this.dispatcher.request({
          origin: this.origin,
          path,
          method,
          headers: request.headers,
          body: body ?? null,
          signal: request.signal ?? null,
          headersTimeout: request.headersTimeout,
          bodyTimeout: request.bodyTimeout,
        });
      } catch (err) {
        throw this.failure(err, request.signal);
      }
      if (!REDIRECT_STATUSES.has(response.statusCode)) return response;
      discard(response.body);
      path = this.redirectTarget(response, path, method, redirects);
      // A 303 means "GET the result elsewhere" (307 and 308 keep method and body).
      if (response.statusCode === 303) {
        method = "GET";
        body = undefined;
      }
    }
  }

  /** The same-origin path to follow, or an ApiError of kind "redirect". */
  private redirectTarget(response: Dispatcher.ResponseData, fromPath: string, method: Method, redirects: number): string {
    const status = response.statusCode;
    const requestId = headerValue(response.headers, REQUEST_ID_HEADER);
    const refuse = (why: string): ApiError =>
      new ApiError({ kind: "redirect", status, requestId, summary: `HTTP ${String(status)} ${why}` });
    if (redirects >= MAX_REDIRECTS) throw refuse(`after ${String(MAX_REDIRECTS)} redirects: not followed`);
    const location = headerValue(response.headers, "location");
    if (location === null) throw refuse("redirect without a Location header");
    let target: URL;
    try {
      target = new URL(location, this.origin + fromPath);
    } catch {
      throw refuse(`redirect to an invalid location "${location}"`);
    }
    if (target.origin !== this.origin) {
      const downgrade = target.protocol === "http:" && this.origin.startsWith("https:");
      const where = target.protocol === "http:" || target.protocol === "https:" ? target.origin : target.protocol;
      throw refuse(
        downgrade
          ? `redirect from https to http (${where}) not followed`
          : `redirect to another origin (${where}) not followed: the API key is only sent to ${this.origin}`,
      );
    }
    if (method === "POST" && status !== 303 && status !== 307 && status !== 308) {
      throw refuse("redirect of a POST not followed");
    }
    return target.pathname + target.search;
  }

  private async readJson<T>(
    response: Dispatcher.ResponseData,
    schema: BodySchema<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const status = response.statusCode;
    if (status < 200 || status > 299) throw await this.errorFrom(response, signal);
    const requestId = headerValue(response.headers, REQUEST_ID_HEADER);
    const badBody = (why: string): ApiError =>
      new ApiError({ kind: "bad_response", status, requestId, summary: `HTTP ${String(status)} ${why}` });
    const reader = typeof schema === "function" ? schema() : schemaBodyReader(schema);
    let size = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        // Leaving the loop destroys the body.
        if (size > MAX_JSON_BODY_BYTES) throw badBody(`body is larger than ${String(MAX_JSON_BODY_BYTES / 1024 / 1024)} MiB`);
        reader.push(chunk);
      }
      return reader.end();
    } catch (err) {
      if (err instanceof BodyError) throw badBody(err.message);
      throw this.failure(err, signal);
    }
  }

  private async errorFrom(response: Dispatcher.ResponseData, signal: AbortSignal | undefined): Promise<ApiError> {
    let bodyText = "";
    try {
      bodyText = await readText(response.body, MAX_ERROR_BODY_BYTES, ERROR_BODY_DEADLINE_MS);
    } catch {
      // The status says enough; a body cut short only loses the server's message.
      if (signal?.aborted === true) throw signal.reason;
    }
    return errorFromResponse({
      status: response.statusCode,
      requestId: headerValue(response.headers, REQUEST_ID_HEADER),
      bodyText,
      retryAfter: headerValue(response.headers, "retry-after"),
    });
  }

  /** An abort rethrows the signal's reason; anything else becomes an ApiError. */
  private failure(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return signal.reason;
    if (err instanceof ApiError) return err;
    return errorFromNetworkFailure(err, this.origin);
  }

  /** Retry-After when the server gave one, else full jitter under 1 s, 4 s, 16 s... */
  private retryDelay(err: ApiError, retry: number): number {
    const ms = err.retryAfterMs ?? Math.random() * BACKOFF_BASE_MS * BACKOFF_FACTOR ** retry;
    return ms * this.backoffScale;
  }
}

/** `value` when it is a finite number >= 0 (a NaN must not mean "retry forever"), else `fallback`. */
function nonNegative(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function parseBaseUrl(raw: string): { origin: string; path: string } {
  const shown = (): string => redactSecrets(sanitizeLine(raw));
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`the base URL "${shown()}" is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`the base URL "${shown()}" must start with http:// or https://`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError("the base URL must not contain a user name or password");
  }
  if (url.search !== "" || url.hash !== "") {
    throw new ConfigError(`the base URL "${shown()}" must not have a query or fragment`);
  }
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, "") };
}

/** The first value of a response header, or null. */
function headerValue(headers: Dispatcher.ResponseData["headers"], name: string): string | null {
  const value = headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? null : first;
}

/** `Text/Event-Stream; charset=utf-8` -> `text/event-stream`. */
function mediaType(contentType: string | null): string | null {
  if (contentType === null) return null;
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** Reads at most `limit` bytes as UTF-8, then stops reading; a deadline ends the read early. */
async function readText(body: Dispatcher.ResponseData["body"], limit: number, deadlineMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    body.destroy();
  }, deadlineMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = limit - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        break; // leaving the loop destroys the body
      }
      chunks.push(chunk);
      size += chunk.length;
    }
  } catch (err) {
    if (!timedOut) throw err;
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Drops a body we do not read, without waiting for it. */
function discard(body: Dispatcher.ResponseData["body"]): void {
  body.dump().catch(() => {
    // The connection is closed instead of reused; nothing to report.
  });
}

/** A zod schema for a body read whole, or what makes a reader for a body read as it arrives. */
export type BodySchema<T> = z.ZodType<T> | (() => JsonBodyReader<T>);
