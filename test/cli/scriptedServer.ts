// A tiny trace API on 127.0.0.1:0 that plays one scripted run: the stream
// replays the script's events (then closes, or stays open), and the trace, job
// status and step attempts answer from the script. For what the embedded server
// does not do: cancelled runs, hostile strings, fixed error answers.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface ScriptedEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export interface ScriptedRun {
  readonly events: readonly ScriptedEvent[];
  /** Run status for jobs/{id} and the trace's flowRun. */
  readonly status: string;
  readonly trace: { flowRun: Record<string, unknown>; steps: Record<string, unknown>[] };
  /** attempt=all answers per step id. */
  readonly attempts?: Readonly<Record<string, Record<string, unknown>[]>>;
  /** Keep the stream open after the events (a run still going). */
  readonly holdOpen?: boolean;
  /** While held open, send a step_progress event this often (output keeps flowing). */
  readonly progressEveryMs?: number;
  /**
   * The first stream connection sends only this many events, then the socket is
   * destroyed (the run status says "running" until the second connection, which
   * replays everything).
   */
  readonly dropFirstAfter?: number;
  /** Answer every request with this instead. */
  readonly fail?: { readonly status: number; readonly body: unknown; readonly requestId?: string };
}

export interface ScriptedServer {
  /** Base URL ending in /api/v1. */
  readonly url: string;
  readonly requests: string[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, requestId = "req_scripted"): void {
  res.writeHead(status, { "content-type": "application/json", "x-request-id": requestId });
  res.end(JSON.stringify(body));
}

export async function startScriptedServer(run: ScriptedRun): Promise<ScriptedServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let streams = 0;
  const server = createServer((req, res) => {
    const target = req.url ?? "/";
    requests.push(`${req.method ?? "?"} ${target}`);
    if (run.fail !== undefined) return json(res, run.fail.status, run.fail.body, run.fail.requestId);
    const path = target.split("?")[0] ?? "";
    const query = new URLSearchParams(target.includes("?") ? target.slice(target.indexOf("?") + 1) : "");
    if (path.endsWith("/trace/stream")) {
      streams++;
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
      const dropping = run.dropFirstAfter !== undefined && streams === 1;
      const events = dropping ? run.events.slice(0, run.dropFirstAfter) : run.events;
      events.forEach((event, i) => {
        res.write(`id: ${String(i + 1)}\nevent: ${event.type}\ndata: ${JSON.stringify({ eventType: event.type, ...event.data })}\n\n`);
      });
      // Half a frame, then the connection dies.
      if (dropping) res.write("event: step_started\ndata: {\"stepId\":", () => res.destroy());
      else if (run.holdOpen === true) {
        res.write(": waiting\n\n");
        if (run.progressEveryMs !== undefined) {
          const timer = setInterval(() => {
            res.write(`event: step_progress\ndata: ${JSON.stringify({ stepId: "report", message: "working" })}\n\n`);
          }, run.progressEveryMs);
          res.on("close", () => clearInterval(timer));
        }
      }
      else res.end();
      return;
    }
    const step = /\/steps\/([^/]+)\/trace$/.exec(path);
    if (step !== null) {
      const stepId = decodeURIComponent(step[1] as string);
      const attempts = run.attempts?.[stepId] ?? run.trace.steps.filter((s) => s.stepId === stepId);
      if (query.get("attempt") === "all") return json(res, 200, { stepId, attempts });
      return json(res, 200, attempts.at(-1));
    }
    const running = run.dropFirstAfter !== undefined && streams < 2;
    if (path.endsWith("/trace")) {
      return json(res, 200, running ? { ...run.trace, flowRun: { ...run.trace.flowRun, status: "running" } } : run.trace);
    }
    if (/\/jobs\/[^/]+$/.test(path)) {
      const executionId = decodeURIComponent(path.split("/").at(-1) ?? "");
      return json(res, 200, { executionId, status: running ? "running" : run.status });
    }
    json(res, 404, { detail: { code: "NOT_FOUND", message: "no such route" } });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/api/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Text a hostile server puts in every string field: OSC 0 title, CSI, C1 CSI, CR, backspace, NUL, bidi override. */
export const HOSTILE = "\u001b]0;pwned\u0007x\u001b[31mred\u009b2J\r\b\u0000\u202eevil\u001b]8;;http://e.vil\u0007";

const T0 = Date.parse("2026-01-01T10:00:00.000Z");
const iso = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();

/**
 * A finished run with a retried step: "fetch" completes, "grade" fails once then
 * completes, "report" completes; names, models and errors carry `hostile` text.
 * `status` ends it (completed via flow_completed, cancelled via summary.status,
 * failed by a final step_error without flow_completed).
 */
export function scriptedRun(options: { status: "completed" | "failed" | "cancelled"; hostile?: string; holdOpen?: boolean }): ScriptedRun {
  const h = options.hostile ?? "";
  const tokens = (prompt: number, completion: number) => ({ prompt, completion, total: prompt + completion });
  const events: ScriptedEvent[] = [
    { type: "run_started", data: { runId: "run-1", executionId: "exec-1", flowId: "flow-1", stepCount: 3 } },
    { type: "step_started", data: { stepId: "fetch", name: `Fetch ${h}data`, stepIndex: 0 } },
    {
      type: "step_completed",
      data: { stepId: "fetch", name: `Fetch ${h}data`, durationMs: 1200, tokens: tokens(100, 20), costUsd: "0.1", modelUsed: `gpt-4o${h}` },
    },
    { type: "step_started", data: { stepId: "grade", name: `Grade${h}`, stepIndex: 1 } },
    { type: "step_error", data: { stepId: "grade", name: `Grade${h}`, error: { message: `upstream 503${h}`, code: "UPSTREAM" } } },
  ];
  const steps: Record<string, unknown>[] = [
    { stepId: "fetch", attempt: 1, loopIndex: null, status: "completed", startedAt: iso(0), completedAt: iso(1200), durationMs: 1200, modelUsed: `gpt-4o${h}`, tokens: tokens(100, 20), costUsd: "0.1" },
  ];
  const gradeAttempt1 = { stepId: "grade", attempt: 1, loopIndex: null, status: "failed", startedAt: iso(1200), completedAt: iso(1500), durationMs: 300, modelUsed: "claude-sonnet-4", tokens: tokens(50, 0), costUsd: "0.05", errorContext: { message: `upstream 503${h}` } };
  if (options.status === "failed") {
    steps.push({ ...gradeAttempt1 });
  } else {
    events.push(
      { type: "step_started", data: { stepId: "grade", name: `Grade${h}`, stepIndex: 1 } },
      { type: "step_completed", data: { stepId: "grade", name: `Grade${h}`, durationMs: 800, tokens: tokens(200, 40), costUsd: "0.2", modelUsed: "claude-sonnet-4" } },
    );
    steps.push({ stepId: "grade", attempt: 2, loopIndex: null, status: "completed", startedAt: iso(1500), completedAt: iso(2300), durationMs: 800, modelUsed: "claude-sonnet-4", tokens: tokens(200, 40), costUsd: "0.2" });
    if (options.status === "completed") {
      events.push(
        { type: "step_started", data: { stepId: "report", name: "Report", stepIndex: 2 } },
        { type: "step_completed", data: { stepId: "report", name: "Report", durationMs: 500, tokens: tokens(10, 5), costUsd: "0.000001", modelUsed: "gpt-4o-mini" } },
      );
      steps.push({ stepId: "report", attempt: 1, loopIndex: null, status: "completed", startedAt: iso(2300), completedAt: iso(2800), durationMs: 500, modelUsed: "gpt-4o-mini", tokens: tokens(10, 5), costUsd: "0.000001" });
    }
    if (options.holdOpen !== true) {
      events.push({ type: "flow_completed", data: { runId: "run-1", executionId: "exec-1", summary: { status: options.status } } });
    }
  }
  const status = options.holdOpen === true ? "running" : options.status;
  return {
    events,
    status,
    holdOpen: options.holdOpen ?? false,
    trace: {
      flowRun: { id: "run-1", flowId: "flow-1", status, startedAt: iso(0), completedAt: status === "running" ? null : iso(3000), durationMs: status === "running" ? null : 3000, stepCount: 3 },
      steps,
    },
    attempts: {
      grade: options.status === "failed" ? [gradeAttempt1] : [gradeAttempt1, steps[1] as Record<string, unknown>],
    },
  };
}
