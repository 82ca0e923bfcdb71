// Idle is not failure (issue 5): undici's default bodyTimeout (300 s) would kill a live
// stream during a long silent step. The client's dispatcher must have the body timeout
// off, the stream request too, while JSON requests keep a deadline. undici's
// EnvHttpProxyAgent is wrapped (still the real agent) to record what it was given.
import type { Dispatcher } from "undici";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TraceClient } from "../../src/api/client.js";
import { ApiError } from "../../src/api/errors.js";
import type { FlowRef } from "../../src/api/paths.js";
import { frame, reply, sseStream, startSseServer, type SseServer } from "../helpers/sseServer.js";

interface AgentRecord {
  readonly options: unknown;
  readonly dispatches: { path: string; bodyTimeout: unknown; headersTimeout: unknown }[];
}

const agents = vi.hoisted((): AgentRecord[] => []);

vi.mock("undici", async (importOriginal) => {
  const real = await importOriginal<typeof import("undici")>();
  class RecordingAgent extends real.EnvHttpProxyAgent {
    private readonly record: AgentRecord;
    constructor(options?: ConstructorParameters<typeof real.EnvHttpProxyAgent>[0]) {
      super(options);
      this.record = { options, dispatches: [] };
      agents.push(this.record);
    }
    override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const { path, bodyTimeout, headersTimeout } = options as Dispatcher.DispatchOptions & Record<string, unknown>;
      this.record.dispatches.push({ path, bodyTimeout, headersTimeout });
      return super.dispatch(options, handler);
    }
  }
  return { ...real, EnvHttpProxyAgent: RecordingAgent };
});

const FLOW: FlowRef = { org: "acme", project: "proj", slug: "flow" };
const KEY = "nk_idle_test_0123456789abcdef";

let server: SseServer | undefined;
let client: TraceClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
  agents.splice(0);
});

async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

describe("the client's dispatcher", () => {
  it("has the body timeout off and a 30 s headers timeout; the stream request keeps the body timeout off", async () => {
    server = await startSseServer({
      streams: [sseStream([{ write: frame("run_started", { runId: "r" }) }, "end"])],
      trace: [reply(200, { flowRun: { id: "r", status: "running" }, steps: [] })],
    });
    client = new TraceClient({ baseUrl: server.baseUrl, apiKey: KEY });
    expect(agents).toHaveLength(1);
    expect(agents[0]?.options).toMatchObject({ bodyTimeout: 0, headersTimeout: 30_000 });

    await readText((await client.openStream(FLOW, "exec-1", {})).body);
    await client.trace(FLOW, "exec-1");
    const [stream, trace] = agents[0]?.dispatches ?? [];
    expect(stream?.path).toMatch(/\/trace\/stream$/);
    expect(stream?.bodyTimeout).toBe(0);
    // JSON answers keep a deadline: a body that stalls is a failed request, retried.
    expect(trace?.path).toMatch(/\/trace$/);
    expect(trace?.bodyTimeout).toBe(30_000);
  });

  it("a stream silent for longer than the headers and JSON body timeouts still delivers what follows", async () => {
    server = await startSseServer({
      streams: [
        sseStream([{ write: frame("run_started", { runId: "r" }, { id: "1" }) }, { wait: 400 }, { write: frame("step_started", { stepId: "s" }, { id: "2" }) }, "end"]),
      ],
      trace: [sseStream([{ write: '{"flowRun":' }, "stall"], { contentType: "application/json" })],
    });
    client = new TraceClient({ baseUrl: server.baseUrl, apiKey: KEY, headersTimeoutMs: 100, maxRetries: 0 });

    const text = await readText((await client.openStream(FLOW, "exec-1", {})).body);
    expect(text).toContain('"stepId":"s"');

    // The same 100 ms does end a JSON body that stalls: the setting is in force.
    const error: unknown = await client.trace(FLOW, "exec-1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe("timeout");
  });
});
