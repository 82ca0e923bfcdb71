// zod schemas for every JSON body and stream event of PROTOCOL.md. Unknown fields
// are tolerated (z.object strips them); absent optional fields may also arrive as
// `null` from servers that serialise None, so optional means `.nullish()`.
import { z } from "zod";

/** The text of a decimal number, such as "0.001234" or "1e-7". */
export const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal cost: a string such as "0.001234" (a JSON number is accepted and kept as its text). */
export const DecimalString = z.union([
  z.string().regex(DECIMAL_TEXT, "not a decimal number"),
  z.number().finite().transform((n) => String(n)),
]);

export const TokenBreakdown = z.object({
  prompt: z.number().int().nullish(),
  completion: z.number().int().nullish(),
  total: z.number().int().nullish(),
});
export type TokenBreakdown = z.infer<typeof TokenBreakdown>;

const JsonObject = z.record(z.string(), z.unknown());

export const RunSummary = z.object({
  id: z.string(),
  flowId: z.string().nullish(),
  status: z.string(),
  triggerType: z.string().nullish(),
  startedAt: z.string().nullish(),
  completedAt: z.string().nullish(),
  durationMs: z.number().nullish(),
  stepCount: z.number().int().nullish(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const StepTrace = z.object({
  stepId: z.string(),
  attempt: z.number().int().min(1).default(1),
  loopIndex: z.number().int().nullish(),
  status: z.string(),
  startedAt: z.string().nullish(),
  completedAt: z.string().nullish(),
  durationMs: z.number().nullish(),
  modelUsed: z.string().nullish(),
  tokens: TokenBreakdown.nullish(),
  costUsd: DecimalString.nullish(),
  inputContext: z.unknown().optional(),
  outputContext: z.unknown().optional(),
  errorContext: z.unknown().optional(),
  inputSizeBytes: z.number().int().nullish(),
  outputSizeBytes: z.number().int().nullish(),
  truncated: z.boolean().nullish().transform((v) => v ?? false),
});
export type StepTrace = z.infer<typeof StepTrace>;

export const Trace = z.object({
  flowRun: RunSummary,
  steps: z.array(StepTrace),
});
export type Trace = z.infer<typeof Trace>;

export const StepAttempts = z.object({
  stepId: z.string(),
  attempts: z.array(StepTrace),
});
export type StepAttempts = z.infer<typeof StepAttempts>;

export const JobStatus = z.object({
  executionId: z.string(),
  status: z.string(),
  result: z.unknown().optional(),
  error: z.unknown().optional(),
});
export type JobStatus = z.infer<typeof JobStatus>;

export const JobSubmitted = z.object({
  executionId: z.string(),
  status: z.string(),
  flowId: z.string().nullish(),
  blockCount: z.number().int().nullish(),
});
export type JobSubmitted = z.infer<typeof JobSubmitted>;

export const ExecuteResult = z.object({
  status: z.string(),
  executionId: z.string(),
  result: z.unknown().optional(),
  flowId: z.string().nullish(),
  blockCount: z.number().int().nullish(),
});
export type ExecuteResult = z.infer<typeof ExecuteResult>;

/** Request body of POST execute / jobs (PROTOCOL.md "Submitting runs"). */
export const RunRequest = z.object({
  message: z.string().optional(),
  parameters: JsonObject.optional(),
  blockOverrides: z.record(z.string(), JsonObject).optional(),
  attachments: z.array(z.unknown()).optional(),
  trace: z.boolean().optional(),
  tools: z.array(z.unknown()).optional(),
  toolChoice: z.unknown().optional(),
});
export type RunRequest = z.infer<typeof RunRequest>;

/** `{"detail": {"code", "message"}}` or `{"detail": "text"}`; anything else is read loosely by errors.ts. */
export const ErrorBody = z.object({
  detail: z.union([
    z.object({ code: z.string().nullish(), message: z.string().nullish() }).loose(),
    z.string(),
    z.array(z.unknown()),
  ]),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

// ---------------------------------------------------------------------------
// Stream events. Payload fields that can be large (inputs, outputs, results) are
// not kept whole: the decoder replaces them by a PayloadPreview (see preview.ts).

export const PayloadPreview = z.object({
  /** The value as JSON text, cut to at most PREVIEW_MAX_CHARS characters. */
  json: z.string(),
  /** Size of the value's full JSON text in UTF-8 bytes. */
  sizeBytes: z.number().int(),
  truncated: z.boolean(),
});
export type PayloadPreview = z.infer<typeof PayloadPreview>;

export const RunStartedPayload = z.object({
  runId: z.string().nullish(),
  executionId: z.string().nullish(),
  flowId: z.string().nullish(),
  stepCount: z.number().int().nullish(),
});
export const StepStartedPayload = z.object({
  stepId: z.string(),
  name: z.string().nullish(),
  stepIndex: z.number().int().nullish(),
});
export const StepInputPayload = z.object({ stepId: z.string(), inputData: z.unknown().optional() });
export const StepOutputPayload = z.object({ stepId: z.string(), outputData: z.unknown().optional() });
export const StepCompletedPayload = z.object({
  stepId: z.string(),
  name: z.string().nullish(),
  output: z.unknown().optional(),
  durationMs: z.number().nullish(),
  tokens: TokenBreakdown.nullish(),
  costUsd: DecimalString.nullish(),
  modelUsed: z.string().nullish(),
});
export const StepErrorPayload = z.object({
  stepId: z.string(),
  name: z.string().nullish(),
  error: z.unknown().optional(),
});
export const StepPausedPayload = z.object({ stepId: z.string(), stepIndex: z.number().int().nullish() });
export const StepPausedForToolCallsPayload = z.object({
  runId: z.string().nullish(),
  executionId: z.string().nullish(),
  stepId: z.string(),
  stepIndex: z.number().int().nullish(),
  iterationsUsed: z.number().int().nullish(),
  toolCalls: z.array(z.unknown()).nullish(),
});
export const FlowCompletedPayload = z.object({
  runId: z.string().nullish(),
  executionId: z.string().nullish(),
  result: z.unknown().optional(),
  summary: JsonObject.nullish(),
});
/** Server-only extras (the SDKs drop them); shapes are not pinned, so only ids are read. */
export const StepProgressPayload = z.object({
  stepId: z.string(),
  name: z.string().nullish(),
  loopIndex: z.number().int().nullish(),
  message: z.string().nullish(),
  progress: z.number().nullish(),
});
export const LoopCompletedPayload = z.object({
  stepId: z.string().nullish(),
  iterations: z.number().int().nullish(),
});

/** Wire event type -> payload schema. `flow_started` is the legacy alias of `run_started`. */
export const EVENT_PAYLOADS = {
  run_started: RunStartedPayload,
  flow_started: RunStartedPayload,
  step_started: StepStartedPayload,
  step_input: StepInputPayload,
  step_output: StepOutputPayload,
  step_completed: StepCompletedPayload,
  step_error: StepErrorPayload,
  step_paused: StepPausedPayload,
  step_paused_for_tool_calls: StepPausedForToolCallsPayload,
  flow_completed: FlowCompletedPayload,
  step_progress: StepProgressPayload,
  loop_completed: LoopCompletedPayload,
} as const;
export type WireEventType = keyof typeof EVENT_PAYLOADS;

type Payload<K extends WireEventType> = z.infer<(typeof EVENT_PAYLOADS)[K]>;

/**
 * A normalized stream event: `type` is the canonical type (`flow_started` becomes
 * `run_started`), large payload fields are PayloadPreviews, `id` is the SSE id.
 */
export type TraceEvent =
  | ({ type: "run_started" } & Payload<"run_started">)
  | ({ type: "step_started" } & Payload<"step_started">)
  | ({ type: "step_input"; stepId: string; inputData?: PayloadPreview })
  | ({ type: "step_output"; stepId: string; outputData?: PayloadPreview })
  | ({ type: "step_completed" } & Omit<Payload<"step_completed">, "output"> & { output?: PayloadPreview })
  | ({ type: "step_error" } & Omit<Payload<"step_error">, "error"> & { error?: PayloadPreview; errorMessage?: string })
  | ({ type: "step_paused" } & Payload<"step_paused">)
  | ({ type: "step_paused_for_tool_calls" } & Payload<"step_paused_for_tool_calls">)
  | ({ type: "flow_completed" } & Omit<Payload<"flow_completed">, "result"> & { result?: PayloadPreview })
  | ({ type: "step_progress" } & Payload<"step_progress">)
  | ({ type: "loop_completed" } & Payload<"loop_completed">);

export type TraceEventType = TraceEvent["type"];
