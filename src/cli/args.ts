// A small hand-written argv parser (no dependency: it is on the startup path of
// every command, so it must stay tiny). It knows flag kinds, not commands.
import { UsageError } from "./exit.js";

export type FlagKind = "boolean" | "string" | "number" | "integer" | "duration" | "choice";

export interface FlagSpec {
  readonly kind: FlagKind;
  /** One-letter alias, e.g. "h" for -h. */
  readonly short?: string;
  /** Allowed values of a "choice" flag. */
  readonly choices?: readonly string[];
  /** Inclusive bounds of a number/integer flag. */
  readonly min?: number;
  readonly max?: number;
  /** Number flags only: the value must be greater than zero. */
  readonly positive?: boolean;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type FlagValue<K extends FlagKind> = K extends "boolean" ? boolean : K extends "string" | "choice" ? string : number;

/** Parsed flags: the long name without dashes; absent flags are undefined (defaults live with the command). */
export type Flags<S extends FlagSpecs> = { -readonly [N in keyof S]?: FlagValue<S[N]["kind"]> };

export interface ParsedArgs<S extends FlagSpecs> {
  readonly positionals: string[];
  readonly flags: Flags<S>;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "5m", "1h", "250ms", "1.5s" → milliseconds; null when not a duration. A unit is required. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)$/.exec(text.trim());
  if (!match) return null;
  const unit = DURATION_UNITS_MS[match[2] as string] as number;
  return Math.round(Number(match[1]) * unit);
}

/** Replaces control and bidi characters of user-typed text by `?` (for one-line errors). */
export function withoutControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "?");
}

/** Shows a user-typed token safely in a one-line error (it could hold control bytes). */
export function quote(token: string): string {
  return `'${withoutControls(token.length > 60 ? `${token.slice(0, 60)}…` : token)}'`;
}

function convert(name: string, spec: FlagSpec, raw: string): string | number {
  const flag = `--${name}`;
  switch (spec.kind) {
    case "string":
      return raw;
    case "choice":
      if (spec.choices?.includes(raw)) return raw;
      throw new UsageError(`${flag} must be one of ${(spec.choices ?? []).join(", ")} (got ${quote(raw)})`);
    case "duration": {
      const ms = parseDuration(raw);
      if (ms === null || ms <= 0) {
        throw new UsageError(`${flag} expects a duration such as 30s, 5m, 1h or 500ms (got ${quote(raw)})`);
      }
      return ms;
    }
    case "number":
    case "integer": {
      const trimmed = raw.trim();
      const value = trimmed === "" ? Number.NaN : Number(trimmed);
      const integer = spec.kind === "integer";
      if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
        throw new UsageError(`${flag} expects ${integer ? "an integer" : "a number"} (got ${quote(raw)})`);
      }
      if (spec.positive === true && value <= 0) throw new UsageError(`${flag} must be greater than 0 (got ${quote(raw)})`);
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        throw new UsageError(`${flag} must be between ${String(spec.min)} and ${String(spec.max)} (got ${quote(raw)})`);
      }
      return value;
    }
    case "boolean":
      throw new UsageError(`${flag} takes no value`);
  }
}

/**
 * Parses `--name value`, `--name=value`, `-x value`, boolean `--name`, and `--`
 * (everything after it is positional). Throws UsageError with one line on an
 * unknown flag, a missing value, or a value of the wrong kind.
 */
export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S): ParsedArgs<S> {
  const positionals: string[] = [];
  const flags: Record<string, string | number | boolean> = {};
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short !== undefined) byShort.set(spec.short, name);

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === "-" || !token.startsWith("-")) {
      positionals.push(token);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      name = eq === -1 ? token.slice(2) : token.slice(2, eq);
      if (eq !== -1) inline = token.slice(eq + 1);
      if (!Object.hasOwn(specs, name)) throw new UsageError(`unknown option ${quote(`--${name}`)}`);
    } else {
      name = token.length === 2 ? byShort.get(token.slice(1)) : undefined;
      if (name === undefined) throw new UsageError(`unknown option ${quote(token)}`);
    }
    const spec = specs[name] as FlagSpec;
    if (spec.kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      // A following flag is not a value: `--port --speed 2` is a missing value, not port "--speed".
      if (next === undefined || (next.startsWith("-") && next !== "-" && !/^-\d/.test(next))) {
        throw new UsageError(`--${name} needs a value`);
      }
      raw = next;
      i++;
    }
    flags[name] = convert(name, spec, raw);
  }
  return { positionals, flags: flags as Flags<S> };
}
