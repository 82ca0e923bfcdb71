// A finished run as a saved trace would hold it, with known times and costs, for the
// timeline, cost and offline tests: a step, a retried step (its attempts apart), a loop
// of three iterations (one retried), a step on another model, and a skipped step.
import type { StepTrace, Trace } from "../../src/api/schemas.js";
import { attemptsKey } from "../../src/state/types.js";

export const T0 = Date.parse("2026-01-05T10:00:00.000Z");
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function step(
  stepId: string,
  from: number,
  to: number,
  opts: Partial<StepTrace> & { cost?: string; model?: string } = {},
): StepTrace {
  const { cost, model, ...rest } = opts;
  return {
    stepId,
    attempt: 1,
    status: "completed",
    startedAt: at(from),
    completedAt: at(to),
    durationMs: (to - from) * 1000,
    modelUsed: model ?? "gpt-4o-mini",
    tokens: { prompt: 100, completion: 50, total: 150 },
    costUsd: cost ?? "0.001",
    truncated: false,
    ...rest,
  };
}

/** Write draft: attempt 1 failed from 2 s to 4 s ($0.002), attempt 2 completed from 4 s to 8 s ($0.004). */
export const DRAFT_ATTEMPTS: readonly StepTrace[] = [
  step("draft", 2, 4, {
    status: "failed",
    cost: "0.002",
    model: "claude-sonnet-4",
    errorContext: { code: "INVALID_JSON_OUTPUT", message: "model output is not valid JSON" },
  }),
  step("draft", 4, 8, {
    attempt: 2,
    cost: "0.004",
    model: "claude-sonnet-4",
    outputContext: { draft: `${"a long line ".repeat(30)}end`, words: 42 },
  }),
];

export const SAMPLE_TRACE: Trace = {
  flowRun: {
    id: "exec-1",
    status: "completed",
    startedAt: at(0),
    completedAt: at(12),
    durationMs: 12_000,
    stepCount: 5,
  },
  steps: [
    step("fetch", 0, 2, { cost: "0.001" }),
    DRAFT_ATTEMPTS[1] as StepTrace,
    step("chunks", 8, 9, { loopIndex: 0, cost: "0.0001" }),
    step("chunks", 9.5, 10, { loopIndex: 1, attempt: 2, cost: "0.0001" }),
    step("chunks", 10, 11, { loopIndex: 2, cost: "0.0001" }),
    step("grade", 11, 12, { cost: "0.0000000000001", model: "o4-mini", tokens: { prompt: 2000, completion: 1000, total: 3000 } }),
    { stepId: "publish", attempt: 1, status: "skipped", truncated: false },
  ],
};

export const SAMPLE_NAMES: Readonly<Record<string, string>> = {
  fetch: "Fetch sources",
  draft: "Write draft",
  chunks: "Summarize chunk",
  grade: "Grade essay",
};

/** Every attempt of the retried executions, as an export file keeps them (attemptsKey). */
export const SAMPLE_ATTEMPTS: ReadonlyMap<string, readonly StepTrace[]> = new Map([
  [attemptsKey("draft", null), DRAFT_ATTEMPTS],
  [
    attemptsKey("chunks", 1),
    [step("chunks", 9, 9.5, { loopIndex: 1, status: "failed", cost: "0.00005" }), step("chunks", 9.5, 10, { loopIndex: 1, attempt: 2, cost: "0.0001" })],
  ],
]);
