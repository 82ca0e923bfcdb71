// `noukai-top serve`: the embedded Noukai-compatible server in the foreground.
// It prints its base URL and copy-paste examples, and runs until a signal:
// SIGINT (Ctrl+C) and SIGTERM close it cleanly and exit 0; SIGHUP exits 129.
import { formatFlowRef, parseFlowRef, paths } from "../api/paths.js";
import { BUILTIN_FLOWS, DEMO_FLOW_REF, loadFlowsFile, startServer, type FlowDefinition } from "../server/index.js";
import { quote, withoutControls, type ParsedArgs } from "./args.js";
import type { CommandContext, SERVE_FLAGS } from "./commands.js";
import { EXIT, UsageError } from "./exit.js";

export const DEFAULT_SERVE_PORT = 8080;
/** How long a clean stop may take before the process leaves anyway. */
const CLOSE_TIMEOUT_MS = 2_000;

export async function runServeCommand(args: ParsedArgs<typeof SERVE_FLAGS>, ctx: CommandContext): Promise<number> {
  const { flags } = args;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${quote(args.positionals[0] as string)}`);
  const requireKey = flags["require-key"];
  if (requireKey !== undefined && !requireKey.startsWith("nk_")) {
    throw new UsageError("--require-key must start with nk_");
  }
  let flows: FlowDefinition[] = [];
  if (flags.flows !== undefined) {
    try {
      flows = await loadFlowsFile(flags.flows);
    } catch (error) {
      throw new UsageError(withoutControls((error as Error).message));
    }
  }
  const host = flags.host ?? "127.0.0.1";
  const port = flags.port ?? DEFAULT_SERVE_PORT;
  let server;
  try {
    server = await startServer({
      host,
      port,
      flows,
      ...(flags.speed === undefined ? {} : { speed: flags.speed }),
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      ...(requireKey === undefined ? {} : { requireKey }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "EADDRINUSE" ? "the address is in use (try --port 0 for a free port)" : (error as Error).message;
    throw new UsageError(`cannot listen on ${withoutControls(host)}:${String(port)}: ${withoutControls(reason)}`);
  }

  const running = server;
  ctx.lifecycle.setSignalHandler(async (signal) => {
    await Promise.race([running.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
    return signal === "SIGHUP" ? EXIT.SIGHUP : EXIT.COMPLETED;
  });

  const refs = [...new Set([...BUILTIN_FLOWS, ...flows].map((flow) => flow.ref))];
  ctx.lifecycle.write(
    serveBanner({
      url: running.url,
      seed: running.seed,
      speed: flags.speed ?? 1,
      refs,
      keyExample: requireKey === undefined ? "nk_demo" : "<your --require-key key>",
    }),
  );
  // Runs until a signal; the handler above closes the server and exits.
  return new Promise<number>(() => {});
}

export function serveBanner(info: {
  url: string;
  seed: number;
  speed: number;
  refs: readonly string[];
  keyExample: string;
}): string {
  const flow = parseFlowRef(DEMO_FLOW_REF);
  const submitPath = "error" in flow ? "" : paths.submitJob(flow);
  const flowLabel = "error" in flow ? DEMO_FLOW_REF : formatFlowRef(flow);
  const key = info.keyExample;
  return `noukai-top serve: listening on ${info.url} (speed ${String(info.speed)}, seed ${String(info.seed)})
flows: ${info.refs.map(withoutControls).join(", ")}

Submit a run (the answer holds its executionId):
  curl -s -X POST '${info.url}${submitPath}' -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d '{"message":"hello"}'
Watch it:
  NOUKAI_API_KEY=${key} NOUKAI_BASE_URL=${info.url} npx noukai-top <executionId> --flow ${flowLabel}
Or both at once: npx noukai-top demo
Ctrl+C stops the server.
`;
}
