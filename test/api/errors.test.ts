import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  ApiError,
  describeErrorBody,
  errorFromNetworkFailure,
  errorFromResponse,
  isFinal,
  kindForStatus,
  parseRetryAfter,
} from "../../src/api/errors.js";

const KEY = "nk_test_9f8e7d6c5b4a3210ZZ";

function codeError(code: string, message = `boom ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe("describeErrorBody", () => {
  it("reads detail.code and detail.message", () => {
    expect(describeErrorBody('{"detail":{"code":"RUN_NOT_FOUND","message":"run abc not found"}}')).toEqual({
      code: "RUN_NOT_FOUND",
      serverMessage: "run abc not found",
    });
  });

  it("reads a string detail", () => {
    expect(describeErrorBody('{"detail":"Not authenticated"}')).toEqual({ code: null, serverMessage: "Not authenticated" });
  });

  it("reads a validation error list", () => {
    const body = JSON.stringify({
      detail: [
        { loc: ["query", "attempt"], msg: "value is not a valid integer", type: "type_error" },
        { loc: ["path", "stepId"], msg: "field required" },
      ],
    });
    expect(describeErrorBody(body).serverMessage).toBe(
      "query.attempt: value is not a valid integer; path.stepId: field required",
    );
  });

  it("reads a proxy's message or error field", () => {
    expect(describeErrorBody('{"message":"Upstream timed out"}').serverMessage).toBe("Upstream timed out");
    expect(describeErrorBody('{"error":"bad gateway"}').serverMessage).toBe("bad gateway");
    expect(describeErrorBody('{"error":{"message":"quota"}}').serverMessage).toBe("quota");
  });

  it("keeps the first 200 characters of any other body, on one line", () => {
    const html = `<html>\n<head><title>502 Bad Gateway</title></head>\n<body>${"x".repeat(500)}</body></html>`;
    const { code, serverMessage } = describeErrorBody(html);
    expect(code).toBeNull();
    expect(serverMessage?.startsWith("<html> <head><title>502 Bad Gateway</title></head> <body>xxx")).toBe(true);
    expect(Array.from(serverMessage ?? "")).toHaveLength(201); // 200 and the ellipsis
  });

  it("gives no message for an empty body", () => {
    expect(describeErrorBody("")).toEqual({ code: null, serverMessage: null });
  });

  it("masks a key before cutting, so no part of it survives the cut", () => {
    const body = `${"y".repeat(190)} ${KEY} ${"z".repeat(50)}`;
    expect(describeErrorBody(body).serverMessage).not.toContain("nk_test_9f8");
  });
});

describe("ApiError", () => {
  it("formats status, code, message and request id on one line", () => {
    const err = errorFromResponse({
      status: 404,
      requestId: "req_123",
      bodyText: '{"detail":{"code":"RUN_NOT_FOUND","message":"run abc not found"}}',
    });
    expect(err.message).toBe("HTTP 404 RUN_NOT_FOUND: run abc not found (request id req_123)");
    expect(err).toMatchObject({ kind: "not_found", status: 404, code: "RUN_NOT_FOUND", requestId: "req_123" });
    expect(String(err)).toBe("ApiError: HTTP 404 RUN_NOT_FOUND: run abc not found (request id req_123)");
  });

  it("makes server text safe: controls visible, keys masked, in every field", () => {
    const err = errorFromResponse({
      status: 401,
      requestId: `req\x1b]0;t\x07 ${KEY}`,
      bodyText: JSON.stringify({ detail: { code: "BAD\u202eKEY", message: `key ${KEY} rejected\n\x1b[2J\rhidden` } }),
    });
    const everything = [err.message, String(err), err.stack ?? "", inspect(err), JSON.stringify(err)].join("\n");
    expect(everything).not.toContain(KEY);
    for (const text of [err.message, err.code ?? "", err.serverMessage ?? "", err.requestId ?? ""]) {
      expect(text).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    }
    expect(err.serverMessage).toBe("key nk_…10ZZ rejected\\n\\x1b[2J\\rhidden");
  });

  it("carries Retry-After of a 429 and a 503", () => {
    expect(errorFromResponse({ status: 429, requestId: null, bodyText: "", retryAfter: "7" }).retryAfterMs).toBe(7000);
    expect(errorFromResponse({ status: 503, requestId: null, bodyText: "", retryAfter: "2" }).retryAfterMs).toBe(2000);
    expect(errorFromResponse({ status: 500, requestId: null, bodyText: "", retryAfter: "2" }).retryAfterMs).toBeUndefined();
  });

  it("says just the status when the body says nothing", () => {
    expect(errorFromResponse({ status: 503, requestId: null, bodyText: "" }).message).toBe("HTTP 503");
  });
});

describe("kindForStatus and isFinal", () => {
  it("maps statuses to kinds", () => {
    const kinds = [401, 402, 403, 404, 408, 409, 422, 429, 500, 503, 302, 204].map(kindForStatus);
    expect(kinds).toEqual([
      "auth",
      "credits",
      "forbidden",
      "not_found",
      "timeout",
      "client",
      "client",
      "rate_limited",
      "server",
      "server",
      "redirect",
      "bad_response",
    ]);
  });

  it("treats 401, 403, 404, 204 and a bad content type as final; 408, 429 and 5xx as transient", () => {
    const status = (s: number): ApiError => errorFromResponse({ status: s, requestId: null, bodyText: "" });
    for (const s of [401, 403, 404, 402, 400, 422, 501]) expect(isFinal(status(s))).toBe(true);
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isFinal(status(s))).toBe(false);
    expect(isFinal(new ApiError({ kind: "bad_response", status: 204, summary: "HTTP 204" }))).toBe(true);
    expect(isFinal(new ApiError({ kind: "bad_response", status: 200, summary: "not text/event-stream" }))).toBe(true);
    expect(isFinal(new Error("a bug"))).toBe(true);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-06-01T12:00:00Z");

  it("reads delta seconds and clamps them to 1-60 s", () => {
    expect(parseRetryAfter("5", now)).toBe(5000);
    expect(parseRetryAfter("0", now)).toBe(1000);
    expect(parseRetryAfter("100000000000", now)).toBe(60_000);
    expect(parseRetryAfter(" 2.5 ", now)).toBe(2500);
  });

  it("reads an HTTP date", () => {
    expect(parseRetryAfter("Mon, 01 Jun 2026 12:00:09 GMT", now)).toBe(9000);
    expect(parseRetryAfter("Mon, 01 Jun 2026 11:00:00 GMT", now)).toBe(1000);
  });

  it("ignores what it cannot read", () => {
    expect(parseRetryAfter("10abc", now)).toBeUndefined();
    expect(parseRetryAfter("-3", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("errorFromNetworkFailure", () => {
  const origin = "https://api.example.test";

  it("names refused connections, DNS failures and timeouts, transiently", () => {
    const refused = errorFromNetworkFailure(codeError("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:443"), origin);
    expect(refused).toMatchObject({ kind: "network", status: null, transient: true });
    expect(refused.message).toBe("cannot connect to https://api.example.test: connect ECONNREFUSED 10.0.0.1:443");

    const dns = errorFromNetworkFailure(codeError("ENOTFOUND", "getaddrinfo ENOTFOUND api.example.test"), origin);
    expect(dns.message).toBe("cannot resolve https://api.example.test: getaddrinfo ENOTFOUND api.example.test");

    const headers = errorFromNetworkFailure(codeError("UND_ERR_HEADERS_TIMEOUT"), origin);
    expect(headers).toMatchObject({ kind: "timeout", transient: true });
    expect(headers.message).toBe("no response headers from https://api.example.test (UND_ERR_HEADERS_TIMEOUT)");
  });

  it("reads the code of an AggregateError (happy eyeballs)", () => {
    const aggregate = new AggregateError([codeError("ECONNREFUSED", "connect ECONNREFUSED ::1:443")], "");
    expect(errorFromNetworkFailure(aggregate, origin).message).toContain("cannot connect to");
  });

  it("treats TLS certificate failures as final", () => {
    const tls = errorFromNetworkFailure(codeError("CERT_HAS_EXPIRED", "certificate has expired"), origin);
    expect(tls).toMatchObject({ kind: "network", transient: false });
    expect(tls.message).toBe("TLS failure with https://api.example.test: certificate has expired (CERT_HAS_EXPIRED)");
    expect(isFinal(tls)).toBe(true);
  });

  it("masks a key and controls found in a low-level message", () => {
    const err = errorFromNetworkFailure(codeError("ECONNRESET", `reset\nwhile sending ${KEY}`), origin);
    expect(err.message).toBe("connection to https://api.example.test failed: reset\\nwhile sending nk_…10ZZ (ECONNRESET)");
  });
});
