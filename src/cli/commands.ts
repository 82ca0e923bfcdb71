// The command table: every command's flags, help text and (lazily loaded) code.
// Only this table, the arg parser and the exit constants load at startup; a
// command's module (and zod, undici, ink, react, the server) is imported when it runs.
// Later commands (export, view, replay, diff) are added here as one entry each.
import type { FlagSpecs, ParsedArgs } from "./args.js";
import type { Lifecycle } from "./signals.js";

export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly lifecycle: Lifecycle;
  readonly stdout: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
}

export type CommandRun<S extends FlagSpecs> = (args: ParsedArgs<S>, ctx: CommandContext) => Promise<number>;

export interface Command<S extends FlagSpecs> {
  readonly name: string;
  readonly flags: S;
  /** Help shown by `noukai-top <command> --help`. */
  readonly help: string;
  readonly load: () => Promise<CommandRun<S>>;
}

const COMMON_FLAGS = {
  help: { kind: "boolean", short: "h" },
  version: { kind: "boolean", short: "V" },
} as const satisfies FlagSpecs;

export const FORMATS = ["tui", "plain", "ndjson", "json"] as const;
export type Format = (typeof FORMATS)[number];

/** Output flags shared by watch and demo. */
const OUTPUT_FLAGS = {
  format: { kind: "choice", choices: FORMATS },
  "no-color": { kind: "boolean" },
  ascii: { kind: "boolean" },
} as const satisfies FlagSpecs;

export const WATCH_FLAGS = {
  ...COMMON_FLAGS,
  ...OUTPUT_FLAGS,
  flow: { kind: "string" },
  "give-up-after": { kind: "duration" },
  "idle-timeout": { kind: "duration" },
  "base-url": { kind: "string" },
  "api-key-file": { kind: "string" },
} as const satisfies FlagSpecs;

export const SERVE_FLAGS = {
  ...COMMON_FLAGS,
  host: { kind: "string" },
  port: { kind: "integer", min: 0, max: 65_535 },
  speed: { kind: "number", positive: true },
  seed: { kind: "integer" },
  "require-key": { kind: "string" },
  flows: { kind: "string" },
} as const satisfies FlagSpecs;

export const DEMO_FLAGS = {
  ...COMMON_FLAGS,
  ...OUTPUT_FLAGS,
  flow: { kind: "string" },
  speed: { kind: "number", positive: true },
  seed: { kind: "integer" },
} as const satisfies FlagSpecs;

const OUTPUT_HELP = `  --format FORMAT         tui | plain | ndjson | json (default: tui in a terminal, else plain)
  --no-color              no colours (also NO_COLOR=1); colours are only ever used on a terminal
  --ascii                 ASCII only: no Unicode glyphs or spinners`;

const WATCH_HELP = `Watch a run:
  noukai-top <execution-id> [--flow org/project/slug] [options]
  noukai-top watch <execution-id> ...      (the same; use it for an id named like a command)

  --flow REF              org/project/slug, or a bare slug with NOUKAI_ORG and NOUKAI_PROJECT (env NOUKAI_FLOW)
${OUTPUT_HELP}
  --give-up-after DUR     exit 3 after this long without any contact with the server (default 5m)
  --idle-timeout DUR      silence (not even a heartbeat) before the run status is checked (default 90s)
  --base-url URL          API base URL ending in /api/v1 (env NOUKAI_BASE_URL; NOUKAI_ENV=dev for localhost:8080)
  --api-key-file PATH     read the API key from the first line of PATH (else env NOUKAI_API_KEY)
  Durations: 500ms, 30s, 5m, 1h.`;

const SERVE_HELP = `Run the embedded Noukai-compatible server (simulated flows, in memory):
  noukai-top serve [--host 127.0.0.1] [--port 8080] [--speed N] [--seed N] [--require-key nk_...] [--flows FILE]

  --host HOST             address to listen on (default 127.0.0.1)
  --port PORT             port (default 8080; 0 picks a free one)
  --speed N               time factor: 10 runs flows ten times faster (default 1)
  --seed N                same seed, same durations, tokens, costs and failures
  --require-key KEY       accept only this nk_ key (default: any key starting with nk_)
  --flows FILE            add the flows defined in this JSON file
  Ctrl+C stops the server (exit 0).`;

const DEMO_HELP = `Try it without an account:
  noukai-top demo [--flow REF] [--speed N] [--seed N] [--format FORMAT]

  Starts the embedded server on a free loopback port, submits a run of
  demo/playground/essay-pipeline (or --flow), and watches it.
  --flow REF              a built-in flow: demo/playground/essay-pipeline, acme/spelling/grade-3,
                          demo/playground/always-fails
  --speed N, --seed N     as for serve
${OUTPUT_HELP}`;

const ENV_AND_EXIT_HELP = `Environment:
  NOUKAI_API_KEY          API key (nk_...); never printed
  NOUKAI_FLOW             default --flow
  NOUKAI_ORG, NOUKAI_PROJECT  defaults for a bare flow slug (both or neither)
  NOUKAI_BASE_URL         default --base-url
  NOUKAI_ENV=dev          use http://localhost:8080/api/v1
  NO_COLOR                no colours
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  honoured

Exit status:
  0 run completed   4 run failed   5 run cancelled   2 usage or configuration error
  3 cannot monitor (401, 403, 404, or no contact for --give-up-after)
  130/143/129 SIGINT/SIGTERM/SIGHUP   1 a bug (please report it)`;

export const GLOBAL_HELP = `noukai-top: watch a Noukai flow run live (steps, retries, durations, tokens, cost)

${WATCH_HELP}

${SERVE_HELP}

${DEMO_HELP}

Other:
  noukai-top --help | -h      this help (noukai-top <command> --help for one command)
  noukai-top --version | -V   the version

${ENV_AND_EXIT_HELP}
`;

export const COMMANDS = {
  watch: {
    name: "watch",
    flags: WATCH_FLAGS,
    help: `${WATCH_HELP}\n\n${ENV_AND_EXIT_HELP}\n`,
    load: async () => (await import("./watch.js")).runWatchCommand,
  } satisfies Command<typeof WATCH_FLAGS>,
  serve: {
    name: "serve",
    flags: SERVE_FLAGS,
    help: `${SERVE_HELP}\n`,
    load: async () => (await import("./serve.js")).runServeCommand,
  } satisfies Command<typeof SERVE_FLAGS>,
  demo: {
    name: "demo",
    flags: DEMO_FLAGS,
    help: `${DEMO_HELP}\n`,
    load: async () => (await import("./demo.js")).runDemoCommand,
  } satisfies Command<typeof DEMO_FLAGS>,
} as const;

export type CommandName = keyof typeof COMMANDS;

/** The command named by the first argument; anything else (an execution id, a flag) means watch. */
export function selectCommand(argv: readonly string[]): { name: CommandName; rest: readonly string[] } {
  const first = argv[0];
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) {
    return { name: first as CommandName, rest: argv.slice(1) };
  }
  return { name: "watch", rest: argv };
}
