// Flow definitions of the simulated server: the shape of a `--flows FILE.json`
// (documented in README.md, "The flows file"), validated with zod.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { PRICE_PATTERN } from "./pricing.js";

const ONE_DAY_MS = 86_400_000;
const Millis = z.number().nonnegative().max(ONE_DAY_MS);
/** A fixed duration or an inclusive [min, max] range to draw from (ms, at most one day). */
const Range = z
  .union([Millis, z.tuple([Millis, Millis])], {
    error: "expected a number of ms (0 to 86400000) or a range [min, max]",
  })
  .refine((r) => typeof r === "number" || r[0] <= r[1], "range [min, max] needs min <= max");
const IntRange = z
  .union([z.number().int().nonnegative(), z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])], {
    error: "expected an integer >= 0 or a range [min, max] of integers",
  })
  .refine((r) => typeof r === "number" || r[0] <= r[1], "range [min, max] needs min <= max");

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

const StepDefinitionSchema = z.strictObject({
  /** Step id on the wire (keep it URL-safe: the official SDK does not encode it). */
  id: z.string().min(1),
  /** Display name sent on stream events (default: the id). */
  name: z.string().min(1).optional(),
  /** Model it calls; none means a code step (no tokens, no cost). */
  model: z.string().min(1).optional(),
  /** Duration of one attempt at speed 1, in ms. */
  durationMs: Range.default([500, 2000]),
  promptTokens: IntRange.default([200, 1200]),
  completionTokens: IntRange.default([50, 400]),
  /** Extra hidden tokens (reasoning models): counted in `total` and billed as completion. */
  reasoningTokens: IntRange.optional(),
  /** The step's output as given; otherwise generated text (`{"text": ...}`). */
  output: z.json().optional(),
  /** Generate an output of about this many bytes (snapshots over 64 KiB are stored truncated). */
  outputBytes: z.number().int().positive().max(MAX_OUTPUT_BYTES).optional(),
  /** Skip the step (`true` or the reason): it is recorded as `skipped` and never runs. */
  skip: z.union([z.boolean(), z.string().min(1)]).default(false),
  /** Run the step once per item: loop iterations 0 .. iterations-1. */
  loop: z.strictObject({ iterations: z.number().int().min(1).max(10_000) }).optional(),
  /** The first N attempts fail (of every iteration, or only of `failLoopIndex`). */
  failAttempts: z.number().int().nonnegative().default(0),
  failLoopIndex: z.number().int().nonnegative().optional(),
  /** Probability (seeded) that any other attempt fails. */
  failureRate: z.number().min(0).max(1).default(0),
  /** Attempts before the step, and so the run, fails. */
  maxAttempts: z.number().int().min(1).max(20).default(3),
  /** Wait before a retry, at speed 1. */
  retryDelayMs: Range.default(1000),
  /** The error a failing attempt reports. */
  error: z.strictObject({ code: z.string().min(1), message: z.string().min(1) }).optional(),
});

const ModelPriceSchema = z.strictObject({
  input: z.string().regex(PRICE_PATTERN, "a decimal string with at most 6 decimals"),
  output: z.string().regex(PRICE_PATTERN, "a decimal string with at most 6 decimals"),
});

const FlowDefinitionSchema = z
  .strictObject({
    /** `org/project/slug`. */
    ref: z.string().regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be org/project/slug"),
    description: z.string().optional(),
    steps: z.array(StepDefinitionSchema).min(1).max(10_000),
    /** Prices (USD per 1M tokens) for models missing from the built-in list, or overriding it. */
    prices: z.record(z.string(), ModelPriceSchema).optional(),
  })
  .superRefine((flow, ctx) => {
    const seen = new Set<string>();
    flow.steps.forEach((step, index) => {
      if (seen.has(step.id)) ctx.addIssue({ code: "custom", path: ["steps", index, "id"], message: `duplicate step id "${step.id}"` });
      seen.add(step.id);
      if (step.failLoopIndex !== undefined && (step.loop === undefined || step.failLoopIndex >= step.loop.iterations)) {
        ctx.addIssue({ code: "custom", path: ["steps", index, "failLoopIndex"], message: "needs a loop with more iterations" });
      }
    });
  });

/** A simulated flow as written (defaults may be left out). */
export type FlowDefinition = z.input<typeof FlowDefinitionSchema>;
/** A validated flow with every default filled in. */
export type ValidFlow = z.output<typeof FlowDefinitionSchema>;
export type ValidStep = ValidFlow["steps"][number];

const FlowsFileSchema = z
  .strictObject({ flows: z.array(FlowDefinitionSchema).min(1) })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.flows.forEach((flow, index) => {
      if (seen.has(flow.ref)) ctx.addIssue({ code: "custom", path: ["flows", index, "ref"], message: `duplicate flow "${flow.ref}"` });
      seen.add(flow.ref);
    });
  });

function firstIssue(error: z.ZodError): string {
  const [issue] = error.issues;
  if (issue === undefined) return "invalid";
  const where = issue.path.map((p, i) => (typeof p === "number" ? `[${String(p)}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");
  const more = error.issues.length > 1 ? ` (and ${String(error.issues.length - 1)} more)` : "";
  return `${where === "" ? "" : `${where}: `}${issue.message}${more}`;
}

/** Validates one definition; throws an Error with a one-line message. */
export function validateFlow(definition: FlowDefinition): ValidFlow {
  const parsed = FlowDefinitionSchema.safeParse(definition);
  if (!parsed.success) throw new Error(`invalid flow definition: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** Reads and validates a flows file (`{"flows": [...]}`); errors are one line naming the file. */
export async function loadFlowsFile(path: string): Promise<FlowDefinition[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new Error(`cannot read flows file ${path}: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`flows file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = FlowsFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`flows file ${path}: ${firstIssue(parsed.error)}`);
  return parsed.data.flows;
}
