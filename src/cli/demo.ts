// `noukai-top demo`: the embedded server on a free loopback port, one submitted
// run, watched with the normal watch code (the TUI in a terminal, plain otherwise).
import { randomBytes } from "node:crypto";
import { formatFlowRef, parseFlowRef } from "../api/paths.js";
import { BUILTIN_FLOWS, DEMO_FLOW_REF, startServer } from "../server/index.js";
import { quote, withoutControls, type ParsedArgs } from "./args.js";
import type { CommandContext, DEMO_FLAGS } from "./commands.js";
import { DEFAULT_GIVE_UP_AFTER_MS, DEFAULT_IDLE_TIMEOUT_MS, resolveOutput, resolveWatchExtras, terminalInfo } from "./config.js";
import { UsageError } from "./exit.js";

export async function runDemoCommand(args: ParsedArgs<typeof DEMO_FLAGS>, ctx: CommandContext): Promise<number> {
  const { flags } = args;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${quote(args.positionals[0] as string)}`);
  const output = resolveOutput(flags, ctx.env, terminalInfo(ctx.stdout, ctx.stdin));
  const extras = resolveWatchExtras(flags);
  const ref = flags.flow ?? DEMO_FLOW_REF;
  const flow = parseFlowRef(ref);
  if ("error" in flow) throw new UsageError(withoutControls(flow.error));
  const flowLabel = formatFlowRef(flow);
  if (!BUILTIN_FLOWS.some((definition) => definition.ref === flowLabel)) {
    const known = BUILTIN_FLOWS.map((definition) => definition.ref).join(", ");
    throw new UsageError(`unknown demo flow ${quote(ref)}: choose one of ${known}`);
  }

  // An internal key: only this process can use the server, even on a shared machine.
  const apiKey = `nk_demo_${randomBytes(16).toString("hex")}`;
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    requireKey: apiKey,
    ...(flags.speed === undefined ? {} : { speed: flags.speed }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
  });
  try {
    const executionId = await server.submitRun(flowLabel, { message: "Write a short essay about tide pools.", trace: true });
    ctx.lifecycle.writeError(
      `noukai-top demo: local server ${server.url} (seed ${String(server.seed)}); watching run ${executionId} of ${flowLabel}\n`,
    );
    const { watchRun } = await import("./watchRun.js");
    return await watchRun(
      {
        executionId,
        flow,
        flowLabel,
        baseUrl: server.url,
        apiKey,
        ...output,
        ...extras,
        giveUpAfterMs: DEFAULT_GIVE_UP_AFTER_MS,
        idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      },
      ctx,
    );
  } finally {
    await server.close();
  }
}
