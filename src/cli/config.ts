// Turns flags and environment variables into a watch configuration. Every
// problem is a UsageError (exit 2, one line); the API key is never echoed.
import { readFileSync } from "node:fs";
import { DEV_BASE_URL, PRODUCTION_BASE_URL, formatFlowRef, parseFlowRef, type FlowRef } from "../api/paths.js";
import { quote, withoutControls } from "./args.js";
import type { Format } from "./commands.js";
import { UsageError } from "./exit.js";

export const DEFAULT_GIVE_UP_AFTER_MS = 5 * 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 90_000;

export type Env = Readonly<Record<string, string | undefined>>;

export interface TerminalInfo {
  readonly stdoutIsTTY: boolean;
  /** stdin is a terminal that supports raw mode (the TUI reads keys). */
  readonly stdinRawMode: boolean;
}

export interface OutputOptions {
  readonly format: Format;
  readonly color: boolean;
  readonly ascii: boolean;
}

/** What it takes to reach one run on a server (watch, export, diff). */
export interface ServerConfig {
  readonly flow: FlowRef;
  readonly flowLabel: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly giveUpAfterMs: number;
  readonly idleTimeoutMs: number;
}

/** `--record FILE` and `--notify` (watch, demo). */
export interface WatchExtras {
  /** Where to record the raw stream (record.ts), or null. */
  readonly record: string | null;
  /** Ring the terminal bell when the watch ends. */
  readonly notify: boolean;
}

export interface WatchConfig extends OutputOptions, ServerConfig, WatchExtras {
  readonly executionId: string;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function terminalInfo(stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): TerminalInfo {
  return {
    stdoutIsTTY: stdout.isTTY === true,
    stdinRawMode: stdin.isTTY === true && typeof stdin.setRawMode === "function",
  };
}

/** --flow, else NOUKAI_FLOW; a bare slug takes NOUKAI_ORG and NOUKAI_PROJECT. */
export function resolveFlow(flag: string | undefined, env: Env): FlowRef {
  const ref = flag ?? nonEmpty(env.NOUKAI_FLOW);
  if (ref === undefined) throw new UsageError("no flow given: pass --flow org/project/slug or set NOUKAI_FLOW");
  const parsed = parseFlowRef(ref, { org: nonEmpty(env.NOUKAI_ORG), project: nonEmpty(env.NOUKAI_PROJECT) });
  if ("error" in parsed) throw new UsageError(withoutControls(parsed.error));
  return parsed;
}

/** --base-url, else NOUKAI_BASE_URL, else NOUKAI_ENV=dev's localhost URL, else production. */
export function resolveBaseUrl(flag: string | undefined, env: Env): string {
  const explicit = flag ?? nonEmpty(env.NOUKAI_BASE_URL);
  if (explicit === undefined) {
    const mode = nonEmpty(env.NOUKAI_ENV);
    if (mode === undefined || mode === "production" || mode === "prod") return PRODUCTION_BASE_URL;
    if (mode === "dev") return DEV_BASE_URL;
    throw new UsageError(`NOUKAI_ENV must be dev or production (got ${quote(mode)})`);
  }
  const source = flag === undefined ? "NOUKAI_BASE_URL" : "--base-url";
  let url: URL;
  try {
    url = new URL(explicit);
  } catch {
    throw new UsageError(`${source} is not a URL: ${quote(explicit)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${source} must be an http:// or https:// URL (got ${quote(url.protocol)})`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new UsageError(`${source} must not hold credentials: the key comes from NOUKAI_API_KEY or --api-key-file`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(`${source} must not have a query or fragment`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * The key from --api-key-file (its first line, trimmed), else NOUKAI_API_KEY.
 * Error messages name where the key came from, never the key itself.
 */
export function resolveApiKey(keyFile: string | undefined, env: Env): string {
  let key: string;
  let source: string;
  if (keyFile !== undefined) {
    source = `the file ${quote(keyFile)}`;
    let text: string;
    try {
      text = readFileSync(keyFile, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new UsageError(`cannot read --api-key-file ${quote(keyFile)} (${code})`);
    }
    key = (text.split(/\r?\n|\r/)[0] ?? "").trim();
    if (key === "") throw new UsageError(`--api-key-file ${quote(keyFile)}: the first line is empty`);
  } else {
    const fromEnv = nonEmpty(env.NOUKAI_API_KEY);
    if (fromEnv === undefined) {
      throw new UsageError("no API key: set NOUKAI_API_KEY or pass --api-key-file PATH");
    }
    key = fromEnv;
    source = "NOUKAI_API_KEY";
  }
  if (!key.startsWith("nk_") || key.length <= 3) {
    throw new UsageError(`the API key in ${source} does not start with nk_`);
  }
  // A key goes into an HTTP header: no spaces or control characters.
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new UsageError(`the API key in ${source} contains spaces or control characters`);
  }
  return key;
}

/** NO_COLOR (any non-empty value) and TERM=dumb turn colours off, as does --no-color. */
export function colorAllowed(noColorFlag: boolean, env: Env): boolean {
  return !noColorFlag && nonEmpty(env.NO_COLOR) === undefined && env.TERM !== "dumb";
}

export function resolveOutput(
  flags: { format?: string; "no-color"?: boolean; ascii?: boolean },
  env: Env,
  term: TerminalInfo,
): OutputOptions {
  const interactive = term.stdoutIsTTY && term.stdinRawMode;
  const format = (flags.format ?? (interactive ? "tui" : "plain")) as Format;
  if (format === "tui" && !interactive) {
    throw new UsageError("--format tui needs a terminal on stdin and stdout; use --format plain, ndjson or json");
  }
  return {
    format,
    color: term.stdoutIsTTY && colorAllowed(flags["no-color"] === true, env),
    ascii: flags.ascii === true,
  };
}

export interface ServerFlags {
  flow?: string;
  "give-up-after"?: number;
  "idle-timeout"?: number;
  "base-url"?: string;
  "api-key-file"?: string;
}

export interface WatchFlags extends ServerFlags {
  format?: string;
  "no-color"?: boolean;
  ascii?: boolean;
  record?: string;
  notify?: boolean;
}

export function resolveServerConfig(flags: ServerFlags, env: Env): ServerConfig {
  const flow = resolveFlow(flags.flow, env);
  return {
    flow,
    flowLabel: formatFlowRef(flow),
    baseUrl: resolveBaseUrl(flags["base-url"], env),
    apiKey: resolveApiKey(flags["api-key-file"], env),
    giveUpAfterMs: flags["give-up-after"] ?? DEFAULT_GIVE_UP_AFTER_MS,
    idleTimeoutMs: flags["idle-timeout"] ?? DEFAULT_IDLE_TIMEOUT_MS,
  };
}

export function resolveWatchExtras(flags: { record?: string; notify?: boolean }): WatchExtras {
  if (flags.record !== undefined && flags.record.trim() === "") throw new UsageError("--record needs a file name");
  return { record: flags.record ?? null, notify: flags.notify === true };
}

/** One execution id from the positionals (`what` names it in the error). */
export function singleExecutionId(positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing the execution id ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${quote(positionals[1] as string)}`);
  const executionId = positionals[0] as string;
  if (executionId.trim() === "") throw new UsageError("the execution id is empty");
  return executionId;
}

export function resolveWatchConfig(
  positionals: readonly string[],
  flags: WatchFlags,
  env: Env,
  term: TerminalInfo,
): WatchConfig {
  const executionId = singleExecutionId(positionals, "to watch");
  return {
    executionId,
    ...resolveServerConfig(flags, env),
    ...resolveOutput(flags, env, term),
    ...resolveWatchExtras(flags),
  };
}
