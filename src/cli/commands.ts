// The command table: every command's flags, help text and (lazily loaded) code.
// Only this table, the arg parser and the exit constants load at startup; a
// command's module (and zod, undici, ink, react, the server) is imported when it runs.
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

/** How to reach a run on a server: watch, export, diff. */
const SERVER_FLAGS = {
  flow: { kind: "string" },
  "give-up-after": { kind: "duration" },
  "idle-timeout": { kind: "duration" },
  "base-url": { kind: "string" },
  "api-key-file": { kind: "string" },
} as const satisfies FlagSpecs;

/** Watch and demo only. */
const WATCH_EXTRA_FLAGS = {
  record: { kind: "string" },
  notify: { kind: "boolean" },
} as const satisfies FlagSpecs;

export const WATCH_FLAGS = {
  ...COMMON_FLAGS,
  ...OUTPUT_FLAGS,
  ...SERVER_FLAGS,
  ...WATCH_EXTRA_FLAGS,
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
  ...WATCH_EXTRA_FLAGS,
  flow: { kind: "string" },
  speed: { kind: "number", positive: true },
  seed: { kind: "integer" },
} as const satisfies FlagSpecs;

export const EXPORT_FLAGS = {
  ...COMMON_FLAGS,
  ...SERVER_FLAGS,
  output: { kind: "string", short: "o" },
} as const satisfies FlagSpecs;

export const VIEW_FLAGS = {
  ...COMMON_FLAGS,
  ...OUTPUT_FLAGS,
} as const satisfies FlagSpecs;

export const REPLAY_FLAGS = {
  ...COMMON_FLAGS,
  ...OUTPUT_FLAGS,
  // A number or `max`: parsed by the command.
  speed: { kind: "string" },
  notify: { kind: "boolean" },
} as const satisfies FlagSpecs;

export const DIFF_FORMATS = ["plain", "json"] as const;
export const DIFF_FLAGS = {
  ...COMMON_FLAGS,
  ...SERVER_FLAGS,
  format: { kind: "choice", choices: DIFF_FORMATS },
  "no-color": { kind: "boolean" },
  ascii: { kind: "boolean" },
} as const satisfies FlagSpecs;

const OUTPUT_HELP = `  --format FORMAT         tui | plain | ndjson | json (default: tui in a terminal, else plain)
  --no-color              no colours (also NO_COLOR=1); colours are only ever used on a terminal
  --ascii                 ASCII only: no Unicode glyphs or spinners`;

const SERVER_HELP = `  --flow REF              org/project/slug, or a bare slug with NOUKAI_ORG and NOUKAI_PROJECT (env NOUKAI_FLOW)
  --give-up-after DUR     exit 3 after this long without any contact with the server (default 5m)
  --idle-timeout DUR      silence (not even a heartbeat) before the run status is checked (default 90s)
  --base-url URL          API base URL ending in /api/v1 (env NOUKAI_BASE_URL; NOUKAI_ENV=dev for localhost:8080)
  --api-key-file PATH     read the API key from the first line of PATH (else env NOUKAI_API_KEY)
  Durations: 500ms, 30s, 5m, 1h.`;

const WATCH_EXTRA_HELP = `  --record FILE.ndjson    save the raw stream with arrival times (play it with noukai-top replay)
  --notify                ring the terminal bell (on stderr) when the watch ends`;

const WATCH_HELP = `Watch a run:
  noukai-top <execution-id> [--flow org/project/slug] [options]
  noukai-top watch <execution-id> ...      (the same; use it for an id named like a command)

${OUTPUT_HELP}
${WATCH_EXTRA_HELP}
${SERVER_HELP}`;

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
${OUTPUT_HELP}
${WATCH_EXTRA_HELP}`;

const EXPORT_HELP = `Save a run's trace to a file (the Trace as the API gives it, plus step names and retried attempts):
  noukai-top export <execution-id> --flow REF [-o FILE|-]

  -o, --output FILE       where to write (default <execution-id>.trace.json; - for stdout)
${SERVER_HELP}
  A run still under way is exported when it ends.`;

const VIEW_HELP = `Open a saved trace (from export, or the SDK's trace.model_dump(by_alias=True)) with no network:
  noukai-top view FILE.trace.json [--format FORMAT]

${OUTPUT_HELP}
  Offline, plain is the summary table, json the summary object, ndjson the summary on one line.`;

const REPLAY_HELP = `Play a --record file back through the same decoder and state as a live watch:
  noukai-top replay FILE.ndjson [--speed N|max] [--format FORMAT]

  --speed N               N times the recorded pace (default 1); 0 or max: as fast as possible
${OUTPUT_HELP}
  --notify                ring the terminal bell (on stderr) when the replay ends`;

const DIFF_HELP = `Compare two runs step by step (duration and cost of each, the difference, totals and ratios):
  noukai-top diff <a> <b> [--flow REF] [--format plain|json]

  <a>, <b>                an execution id (fetched with --flow), or a .trace.json file (or any path that exists)
  --format plain|json     a table (default) or one JSON object
  --no-color, --ascii     as for watch
${SERVER_HELP}`;

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
  130/143/129 SIGINT/SIGTERM/SIGHUP   1 a bug (please report it)
  export, view, diff: 0 done, 2 usage, 3 cannot fetch the run or read/write the file
  replay: as watch (0/4/5 by the recorded run's status), 3 cannot read the file`;

export const GLOBAL_HELP = `noukai-top: watch a Noukai flow run live (steps, retries, durations, tokens, cost)

${WATCH_HELP}

${SERVE_HELP}

${DEMO_HELP}

${EXPORT_HELP}

${VIEW_HELP}

${REPLAY_HELP}

${DIFF_HELP}

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
  export: {
    name: "export",
    flags: EXPORT_FLAGS,
    help: `${EXPORT_HELP}\n\n${ENV_AND_EXIT_HELP}\n`,
    load: async () => (await import("./export.js")).runExportCommand,
  } satisfies Command<typeof EXPORT_FLAGS>,
  view: {
    name: "view",
    flags: VIEW_FLAGS,
    help: `${VIEW_HELP}\n`,
    load: async () => (await import("./view.js")).runViewCommand,
  } satisfies Command<typeof VIEW_FLAGS>,
  replay: {
    name: "replay",
    flags: REPLAY_FLAGS,
    help: `${REPLAY_HELP}\n`,
    load: async () => (await import("./replay.js")).runReplayCommand,
  } satisfies Command<typeof REPLAY_FLAGS>,
  diff: {
    name: "diff",
    flags: DIFF_FLAGS,
    help: `${DIFF_HELP}\n\n${ENV_AND_EXIT_HELP}\n`,
    load: async () => (await import("./diff.js")).runDiffCommand,
  } satisfies Command<typeof DIFF_FLAGS>,
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
