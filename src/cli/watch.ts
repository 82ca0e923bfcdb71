// `noukai-top <execution-id>`: the configuration is checked first (a usage error
// costs no module loading), then the monitor, client and formats are loaded.
import type { ParsedArgs } from "./args.js";
import type { CommandContext, WATCH_FLAGS } from "./commands.js";
import { resolveWatchConfig, terminalInfo } from "./config.js";

export async function runWatchCommand(args: ParsedArgs<typeof WATCH_FLAGS>, ctx: CommandContext): Promise<number> {
  const config = resolveWatchConfig(args.positionals, args.flags, ctx.env, terminalInfo(ctx.stdout, ctx.stdin));
  const { watchRun } = await import("./watchRun.js");
  return watchRun(config, ctx);
}
