#!/usr/bin/env node
// The noukai-top bin. Startup must stay fast (`--version` well under 120 ms), so
// this file statically imports only the arg parser, the command table, the exit
// constants and the lifecycle; each command loads its own modules when it runs.
import { parseArgs, type FlagSpecs } from "./args.js";
import { COMMANDS, GLOBAL_HELP, selectCommand, type Command, type CommandContext } from "./commands.js";
import { EXIT, UsageError, usageErrorText } from "./exit.js";
import { installLifecycle, type Lifecycle } from "./signals.js";

/** One redacted, sanitized line for an error that should never have happened, then exit 1. */
async function reportBug(error: unknown, lifecycle: Lifecycle): Promise<never> {
  // Once a signal or a dead stdout aborted everything, a late rejection is a consequence
  // of that abort, not a bug: the exit already under way keeps its status.
  if (lifecycle.signal.aborted) return lifecycle.exit(EXIT.BUG);
  let line = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  try {
    const [{ redactSecrets }, { sanitizeLine }] = await Promise.all([
      import("../api/redact.js"),
      import("../api/sanitize.js"),
    ]);
    const known = process.env.NOUKAI_API_KEY;
    line = sanitizeLine(redactSecrets(line, known === undefined ? [] : [known]).split("\n")[0] ?? "");
  } catch {
    // Without the redactor, print no detail rather than risk printing a key.
    line = "(details withheld)";
  }
  lifecycle.writeError(`noukai-top: internal error: ${line}\nThis is a bug in noukai-top; please report it.\n`);
  return lifecycle.exit(EXIT.BUG);
}

async function runCommand<S extends FlagSpecs>(
  command: Command<S>,
  argv: readonly string[],
  showGlobalHelp: boolean,
): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs(argv, command.flags);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(usageErrorText(error.message));
    process.exitCode = EXIT.USAGE;
    return;
  }
  const flags = parsed.flags as { help?: boolean; version?: boolean };
  // `noukai-top --help | true`: a reader that is already gone is no reason to crash.
  process.stdout.on("error", () => {});
  if (flags.version === true) {
    const { packageVersion } = await import("./version.js");
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (flags.help === true) {
    process.stdout.write(showGlobalHelp ? GLOBAL_HELP : command.help);
    return;
  }

  const lifecycle = installLifecycle();
  process.on("uncaughtException", (error) => void reportBug(error, lifecycle));
  process.on("unhandledRejection", (error) => void reportBug(error, lifecycle));
  const context: CommandContext = { env: process.env, lifecycle, stdout: process.stdout, stdin: process.stdin };
  let code: number;
  try {
    const run = await command.load();
    code = await run(parsed, context);
  } catch (error) {
    if (error instanceof UsageError) {
      lifecycle.writeError(usageErrorText(error.message));
      code = EXIT.USAGE;
    } else {
      return void (await reportBug(error, lifecycle));
    }
  }
  await lifecycle.exit(code);
}

async function main(argv: readonly string[]): Promise<void> {
  const { name, rest } = selectCommand(argv);
  switch (name) {
    case "watch":
      return runCommand(COMMANDS.watch, rest, argv[0] !== "watch");
    case "serve":
      return runCommand(COMMANDS.serve, rest, false);
    case "demo":
      return runCommand(COMMANDS.demo, rest, false);
    case "export":
      return runCommand(COMMANDS.export, rest, false);
    case "view":
      return runCommand(COMMANDS.view, rest, false);
    case "replay":
      return runCommand(COMMANDS.replay, rest, false);
    case "diff":
      return runCommand(COMMANDS.diff, rest, false);
  }
}

await main(process.argv.slice(2));
