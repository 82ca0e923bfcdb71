// Matches request paths against the routes of src/api/paths.ts (the client's builders
// are the templates, so client and server cannot drift apart). The raw path is split
// on `/` first and each segment is percent-decoded afterwards, so an encoded `/`, `..`
// or `%` stays inside its segment and can never change the route.
import { DEV_BASE_URL, paths, type FlowRef } from "../api/paths.js";

export type RouteName = "trace" | "stepTrace" | "traceStream" | "job" | "submitJob" | "execute" | "step";
type Method = "GET" | "POST";

export interface RouteParams {
  readonly flow: FlowRef;
  readonly executionId?: string;
  readonly stepId?: string;
  readonly version?: number;
}

export type RouteMatch =
  | { readonly kind: "route"; readonly name: RouteName; readonly params: RouteParams; readonly query: URLSearchParams }
  | { readonly kind: "method_not_allowed"; readonly allow: readonly Method[] }
  | { readonly kind: "not_found" }
  | { readonly kind: "bad_path" };

type Param = "org" | "project" | "slug" | "executionId" | "stepId" | "version";
type Segment = { readonly literal: string } | { readonly param: Param };

interface Template {
  readonly name: RouteName;
  readonly method: Method;
  readonly segments: readonly Segment[];
}

// Placeholder values that encodeSegment leaves as they are; version 0 renders as `v0`.
const PLACEHOLDERS: Readonly<Record<string, Param>> = {
  __org__: "org",
  __project__: "project",
  __slug__: "slug",
  __execution__: "executionId",
  __step__: "stepId",
  v0: "version",
};
const FLOW: FlowRef = { org: "__org__", project: "__project__", slug: "__slug__" };
const EXECUTION = "__execution__";
const STEP = "__step__";
const VERSION = 0;

/** `/api/v1`: where every route lives. */
export const BASE_PATH = new URL(DEV_BASE_URL).pathname;
const BASE_SEGMENTS = BASE_PATH.split("/").slice(1);

function template(name: RouteName, method: Method, path: string): Template {
  const segments = path
    .split("/")
    .slice(1)
    .map((segment): Segment => {
      const param = PLACEHOLDERS[segment];
      return param === undefined ? { literal: segment } : { param };
    });
  return { name, method, segments };
}

const TEMPLATES: readonly Template[] = [
  template("trace", "GET", paths.trace(FLOW, EXECUTION)),
  template("stepTrace", "GET", paths.stepTrace(FLOW, EXECUTION, STEP)),
  template("traceStream", "GET", paths.traceStream(FLOW, EXECUTION)),
  template("job", "GET", paths.job(FLOW, EXECUTION)),
  template("submitJob", "POST", paths.submitJob(FLOW)),
  template("submitJob", "POST", paths.submitJob(FLOW, VERSION)),
  template("execute", "POST", paths.execute(FLOW)),
  template("execute", "POST", paths.execute(FLOW, VERSION)),
  template("step", "POST", paths.step(FLOW)),
  template("step", "POST", paths.step(FLOW, VERSION)),
];

function bind(route: Template, segments: readonly string[]): Map<Param, string> | null {
  if (route.segments.length !== segments.length) return null;
  const values = new Map<Param, string>();
  for (const [index, part] of route.segments.entries()) {
    const value = segments[index] ?? "";
    if ("literal" in part) {
      if (value !== part.literal) return null;
    } else if (part.param === "version") {
      if (!/^v\d{1,9}$/.test(value)) return null;
      values.set("version", value.slice(1));
    } else {
      if (value === "") return null;
      values.set(part.param, value);
    }
  }
  return values;
}

/** Routes `method` + raw request target (path and query, as received). */
export function matchRoute(method: string, target: string): RouteMatch {
  const withoutFragment = target.split("#", 1)[0] ?? "";
  const queryStart = withoutFragment.indexOf("?");
  const rawPath = queryStart === -1 ? withoutFragment : withoutFragment.slice(0, queryStart);
  const query = new URLSearchParams(queryStart === -1 ? "" : withoutFragment.slice(queryStart + 1));
  if (!rawPath.startsWith("/")) return { kind: "not_found" };

  let segments: string[];
  try {
    segments = rawPath.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return { kind: "bad_path" };
  }
  if (!BASE_SEGMENTS.every((base, index) => segments[index] === base)) return { kind: "not_found" };
  const rest = segments.slice(BASE_SEGMENTS.length);

  const allow: Method[] = [];
  for (const candidate of TEMPLATES) {
    const values = bind(candidate, rest);
    if (values === null) continue;
    if (candidate.method !== method) {
      if (!allow.includes(candidate.method)) allow.push(candidate.method);
      continue;
    }
    const flow: FlowRef = { org: values.get("org") ?? "", project: values.get("project") ?? "", slug: values.get("slug") ?? "" };
    const executionId = values.get("executionId");
    const stepId = values.get("stepId");
    const version = values.get("version");
    return {
      kind: "route",
      name: candidate.name,
      params: {
        flow,
        ...(executionId !== undefined ? { executionId } : {}),
        ...(stepId !== undefined ? { stepId } : {}),
        ...(version !== undefined ? { version: Number(version) } : {}),
      },
      query,
    };
  }
  return allow.length > 0 ? { kind: "method_not_allowed", allow } : { kind: "not_found" };
}
