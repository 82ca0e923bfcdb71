// Proxies and redirects through the built CLI (issue 5): HTTP_PROXY / HTTPS_PROXY are
// honoured and NO_PROXY bypasses them; a redirect is followed only within the same
// origin, so the key is never sent to another host, port or scheme (https -> http).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, ensureBuilt } from "../cli/helpers.js";
import { reply, sseStream } from "../helpers/sseServer.js";
import { ENV, FULL, RUN, SECRET_KEY, closeServers, outputs, readNdjson, runScript, serve, watch } from "./support.js";
import { makeCertificate, opensslFound, type TestCertificate } from "./tls.js";
import { startConnectProxy } from "../helpers/connectProxy.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

const hostOf = (baseUrl: string): string => new URL(baseUrl).host;

describe("proxies", () => {
  it("HTTP_PROXY carries every request of a whole watch", async () => {
    const server = await serve(runScript(RUN));
    const proxy = await startConnectProxy();
    try {
      const result = await watch(server.baseUrl, { env: { ...ENV, HTTP_PROXY: proxy.url } });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(readNdjson(result.stdout).summary).toMatchObject({ status: "completed", costWithRetriesUsd: "0.350001" });
      // Stream, trace and attempts: at least one tunnel, every one to the API's host.
      expect(proxy.targets.length).toBeGreaterThanOrEqual(1);
      expect(new Set(proxy.targets)).toEqual(new Set([hostOf(server.baseUrl)]));
      expect(server.requests.length).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.close();
    }
  });

  it("NO_PROXY lists hosts that are reached directly", async () => {
    const server = await serve(runScript(RUN));
    const proxy = await startConnectProxy();
    try {
      const result = await watch(server.baseUrl, { env: { ...ENV, HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" } });
      expect(result.code).toBe(0);
      expect(proxy.targets).toEqual([]);
      expect(server.requests.length).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.close();
    }
  });
});

describe("redirects never carry the key to another origin", () => {
  it("a same-origin redirect of the stream is followed (with the key)", async () => {
    const server = await serve(
      runScript(RUN, {
        streams: [reply(307, "", { location: "/api/v1/seq/acme/proj/flow/runs/exec-1/trace/stream?moved=1" }), sseStream([{ write: FULL }, "end"])],
      }),
    );
    const result = await watch(server.baseUrl);
    expect(result.code).toBe(0);
    const streams = server.requestsOf("stream");
    expect(streams.map((r) => r.rawPath.endsWith("?moved=1"))).toEqual([false, true]);
    expect(streams[1]?.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
  });

  it("a redirect to another port is not followed: exit 3, the other server sees nothing", async () => {
    const elsewhere = await serve(runScript(RUN));
    const server = await serve(runScript(RUN, { streams: [reply(302, "", { location: `${elsewhere.baseUrl}/steal` })] }));
    const result = await watch(server.baseUrl, { format: "plain" });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`redirect to another origin (${new URL(elsewhere.baseUrl).origin}) not followed`);
    expect(elsewhere.requests).toEqual([]);
    expect(outputs(result)).not.toContain(SECRET_KEY);
  });

  describe.runIf(opensslFound)("over HTTPS (a self-signed certificate trusted with NODE_EXTRA_CA_CERTS)", () => {
    let certificate: TestCertificate;
    beforeAll(() => {
      certificate = makeCertificate();
    });
    afterAll(() => certificate.remove());
    const tlsEnv = (): Record<string, string> => ({ ...ENV, NODE_EXTRA_CA_CERTS: certificate.certFile });

    it("watches a run over HTTPS, also through HTTPS_PROXY (so the checks below can fail)", async () => {
      const server = await serve(runScript(RUN), { tls: certificate });
      const direct = await watch(server.baseUrl, { env: tlsEnv() });
      expect(direct.stderr).toBe("");
      expect(direct.code).toBe(0);

      const proxy = await startConnectProxy();
      try {
        const proxied = await watch(server.baseUrl, { env: { ...tlsEnv(), HTTPS_PROXY: proxy.url } });
        expect(proxied.code).toBe(0);
        expect(new Set(proxy.targets)).toEqual(new Set([hostOf(server.baseUrl)]));
      } finally {
        await proxy.close();
      }
    });

    it("a redirect from https to http on the same host is not followed: exit 3", async () => {
      const plainServer = await serve(runScript(RUN));
      const plainOrigin = new URL(plainServer.baseUrl).origin;
      const server = await serve(
        runScript(RUN, { streams: [reply(301, "", { location: `${plainServer.baseUrl}/seq/acme/proj/flow/runs/exec-1/trace/stream` })] }),
        { tls: certificate },
      );
      const result = await watch(server.baseUrl, { format: "plain", env: tlsEnv() });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`redirect from https to http (${plainOrigin}) not followed`);
      expect(plainServer.requests).toEqual([]);
      expect(outputs(result)).not.toContain(SECRET_KEY);
    });

    it("an untrusted certificate is a final TLS failure: exit 3, one line", async () => {
      const server = await serve(runScript(RUN), { tls: certificate });
      const result = await watch(server.baseUrl, { format: "plain", env: cliEnv({ NOUKAI_API_KEY: SECRET_KEY }) });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^noukai-top: cannot monitor run exec-1: TLS failure with https:\/\/127\.0\.0\.1:\d+: .*\n$/);
      expect(server.requests).toEqual([]);
    });
  });
});
