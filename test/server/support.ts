// Helpers for the server tests: raw HTTP over node:http (no connection pool, so no
// client-side timers linger) and a minimal reader for the server's LF-framed SSE.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { RunningServer } from "../../src/server/index.js";

export const KEY = "nk_test_key_0001";
export const AUTH = { Authorization: `Bearer ${KEY}` };

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request with the path sent byte for byte as given (no URL normalization). */
export function raw(
  server: RunningServer,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; signal?: AbortSignal } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: server.port, method, path, headers: options.headers ?? AUTH, agent: false, signal: options.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Path under the base URL, e.g. api("/seq/a/b/c/jobs") -> "/api/v1/seq/a/b/c/jobs". */
export function api(path: string): string {
  return `/api/v1${path}`;
}

export interface SseFrame {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: Record<string, unknown> | undefined;
  readonly comment: boolean;
}

/** Splits the server's LF-only SSE text into frames (comments kept, marked). */
export function parseSse(text: string): SseFrame[] {
  return text
    .split("\n\n")
    .filter((block) => block.length > 0)
    .map((block) => {
      let id: string | undefined;
      let event: string | undefined;
      const data: string[] = [];
      let comment = true;
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        comment = false;
        if (line.startsWith("id: ")) id = line.slice(4);
        else if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      return { id, event, data: data.length > 0 ? (JSON.parse(data.join("\n")) as Record<string, unknown>) : undefined, comment };
    });
}

/** Posts a job and returns its execution id. */
export async function submitJob(server: RunningServer, flowRef: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await raw(server, "POST", api(`/seq/${flowRef}/jobs`), {
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`submit failed: ${String(res.status)} ${res.text}`);
  return res.json<{ executionId: string }>().executionId;
}

/** Reads a whole trace stream (until the server closes it). */
export async function readStream(server: RunningServer, flowRef: string, executionId: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw(server, "GET", api(`/seq/${flowRef}/runs/${executionId}/trace/stream`), { headers: { ...AUTH, Accept: "text/event-stream", ...headers } });
}

/** Polls `condition` every 5 ms (at most `tries` times); for waiting on server-side cleanup. */
export async function eventually(condition: () => boolean | Promise<boolean>, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("condition not reached");
}
