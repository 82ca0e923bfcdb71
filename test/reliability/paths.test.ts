// Ids cannot change the route (issue 5, "Secrets and paths"): an execution id and flow
// parts typed on the command line, and step ids sent by the server, holding `/`, `..`,
// `?`, `#` or `%`, stay inside their own path segment. The server records every request
// target exactly as sent; each must hit the route meant, with the segment decoding back
// to the id given.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../cli/helpers.js";
import type { RecordedRequest } from "../helpers/sseServer.js";
import { canonicalRun, closeServers, readNdjson, runScript, serve, watch } from "./support.js";

beforeAll(ensureBuilt, 120_000);
afterEach(closeServers);

interface Segments {
  readonly org: string;
  readonly project: string;
  readonly slug: string;
  readonly executionId: string;
  readonly stepId: string | null;
}

/** The decoded segments of a request target, or null when it is not one of the API's routes. */
function segmentsOf(request: RecordedRequest): Segments | null {
  const path = request.rawPath.split("?")[0] ?? "";
  const parts = path.split("/").map((part) => decodeURIComponent(part));
  // "", api, v1, seq, org, project, slug, then runs/<id>/... or jobs/<id>
  const [empty, api, v1, seq, org, project, slug, kind, executionId, ...rest] = parts;
  if (empty !== "" || api !== "api" || v1 !== "v1" || seq !== "seq" || org === undefined || project === undefined) return null;
  if (slug === undefined || executionId === undefined) return null;
  const route = rest.join("/");
  if (kind === "jobs" && rest.length === 0) return { org, project, slug, executionId, stepId: null };
  if (kind !== "runs") return null;
  if (route === "trace" || route === "trace/stream") return { org, project, slug, executionId, stepId: null };
  // steps/<id>/trace: exactly three raw segments (a decoded id may hold `/`).
  const raw = path.split("/").slice(9);
  if (raw.length === 3 && raw[0] === "steps" && raw[2] === "trace") {
    return { org, project, slug, executionId, stepId: decodeURIComponent(raw[1] ?? "") };
  }
  return null;
}

const HOSTILE_IDS = ["..", "../../jobs/other", "a/b?attempt=all#frag", "%2E%2E%2F", "100% done", "x?y", "#", "."];

describe("ids typed on the command line", () => {
  it.each(HOSTILE_IDS)("execution id %j", async (executionId) => {
    const server = await serve(runScript(canonicalRun()));
    const result = await watch(server.baseUrl, { executionId, flow: "acme?/../fl%2Fow#x" });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    for (const request of server.requests) {
      expect(request.route, request.rawPath).not.toBe("other");
      expect(segmentsOf(request), request.rawPath).toMatchObject({ org: "acme?", project: "..", slug: "fl%2Fow#x", executionId });
    }
    // The raw target never holds a bare `?` or `#` before the query, nor a `..` segment.
    for (const request of server.requests) {
      const path = request.rawPath.split("?")[0] ?? "";
      expect(path.split("/")).not.toContain("..");
      expect(path).not.toContain("#");
    }
  });
});

describe("step ids sent by the server", () => {
  it("a retried step's attempts are fetched from its own route, whatever its id holds", async () => {
    const suffix = "/../../trace?attempt=1#x%2F..";
    const run = canonicalRun(suffix);
    const server = await serve(runScript(run));
    const result = await watch(server.baseUrl);
    expect(result.code).toBe(0);
    const steps = server.requestsOf("steps");
    expect(steps.map((r) => segmentsOf(r)?.stepId)).toEqual([`grade${suffix}`]);
    expect(steps[0]?.query.get("attempt")).toBe("all");
    expect([...(steps[0]?.query.keys() ?? [])]).toEqual(["attempt"]);
    expect(server.requests.filter((r) => r.route === "other")).toEqual([]);
    // The attempts arrived: the cost with retries includes the failed attempt.
    const summary = readNdjson(result.stdout).summary as { costWithRetriesUsd: string; steps: { stepId: string }[] };
    expect(summary.costWithRetriesUsd).toBe("0.350001");
    expect(summary.steps.map((s) => s.stepId)).toEqual([`fetch${suffix}`, `grade${suffix}`, `report${suffix}`]);
  });
});
