// The flows every embedded server knows. Durations are at speed 1.
import type { FlowDefinition } from "./flows.js";

export const DEMO_FLOW_REF = "demo/playground/essay-pipeline";

/** The documentation's example: 5 steps, spell-check fails once and succeeds on attempt 2 (about 20 s). */
const grade3: FlowDefinition = {
  ref: "acme/spelling/grade-3",
  description: "Grades a third-grader's text: spelling, grammar, level and feedback.",
  steps: [
    { id: "detect-language", name: "Detect language", model: "gpt-4o-mini", durationMs: [1500, 2500], promptTokens: [120, 220], completionTokens: [5, 15] },
    {
      id: "spell-check",
      name: "Spell check",
      model: "gpt-4o",
      durationMs: [3500, 5500],
      promptTokens: [600, 900],
      completionTokens: [150, 300],
      failAttempts: 1,
      retryDelayMs: 1000,
      error: { code: "RATE_LIMITED", message: "provider answered 429 Too Many Requests" },
    },
    { id: "grammar-review", name: "Grammar review", model: "claude-sonnet-4", durationMs: [4000, 6000], promptTokens: [700, 1000], completionTokens: [200, 400] },
    { id: "grade-level", name: "Estimate grade level", model: "gpt-4o-mini", durationMs: [1500, 2500], promptTokens: [400, 600], completionTokens: [20, 60] },
    { id: "feedback", name: "Write feedback for the student", model: "claude-sonnet-4", durationMs: [4000, 6000], promptTokens: [900, 1300], completionTokens: [250, 500] },
  ],
};

/**
 * A longer run with every shape a monitor must show: a loop over 8 chunks with a
 * retry inside it, a retried step, a skipped step, a code step without cost, a
 * reasoning model whose token total exceeds prompt + completion, and a 1.2 MB
 * output whose snapshot is stored truncated (about 45 s).
 */
const essayPipeline: FlowDefinition = {
  ref: DEMO_FLOW_REF,
  description: "Summarizes, fact-checks and scores an essay, then renders a report.",
  steps: [
    { id: "load-essay", name: "Load essay", durationMs: [200, 400] },
    { id: "detect-language", name: "Detect language", model: "gpt-4o-mini", durationMs: [1000, 1800], promptTokens: [300, 500], completionTokens: [5, 15] },
    { id: "split-chunks", name: "Split into chunks", durationMs: [300, 500] },
    {
      id: "summarize-chunk",
      name: "Summarize chunk",
      model: "gpt-4o-mini",
      loop: { iterations: 8 },
      durationMs: [1500, 2300],
      promptTokens: [900, 1400],
      completionTokens: [120, 260],
      failAttempts: 1,
      failLoopIndex: 5,
      retryDelayMs: 800,
      error: { code: "MODEL_TIMEOUT", message: "model did not answer within 30 s" },
    },
    { id: "merge-summaries", name: "Merge summaries", model: "gpt-4o", durationMs: [3000, 4500], promptTokens: [1500, 2200], completionTokens: [300, 600] },
    {
      id: "extract-claims",
      name: "Extract claims",
      model: "claude-sonnet-4",
      durationMs: [3000, 4500],
      promptTokens: [1200, 1800],
      completionTokens: [250, 450],
      failAttempts: 1,
      retryDelayMs: 1000,
      error: { code: "INVALID_JSON_OUTPUT", message: "model output is not valid JSON: Unexpected token } at position 412" },
    },
    { id: "fact-check", name: "Fact-check claims", model: "gpt-4o", durationMs: [3500, 5000], promptTokens: [1400, 2000], completionTokens: [300, 500] },
    { id: "translate-summary", name: "Translate summary", model: "gpt-4o-mini", skip: "parameters.targetLanguage is not set" },
    { id: "score-rubric", name: "Score against rubric", model: "claude-sonnet-4", durationMs: [3000, 4000], promptTokens: [1600, 2400], completionTokens: [200, 400] },
    { id: "final-review", name: "Final review", model: "o4-mini", durationMs: [3000, 4500], promptTokens: [2000, 2600], completionTokens: [150, 300], reasoningTokens: [800, 1600] },
    { id: "render-report", name: "Render HTML report", durationMs: [1500, 2500], outputBytes: 1_200_000 },
    { id: "publish", name: "Publish results", durationMs: [200, 400] },
  ],
};

/** One step fails all 3 attempts; the run ends failed and `summarize` never runs (about 8 s). */
const alwaysFails: FlowDefinition = {
  ref: "demo/playground/always-fails",
  description: "A provider that is down: the second step exhausts its retries.",
  steps: [
    { id: "prepare-prompt", name: "Prepare prompt", model: "gpt-4o-mini", durationMs: [800, 1200], promptTokens: [200, 300], completionTokens: [80, 150] },
    {
      id: "call-provider",
      name: "Call flaky provider",
      model: "gpt-4o",
      durationMs: [1200, 2000],
      promptTokens: [500, 800],
      completionTokens: [0, 40],
      failAttempts: 3,
      maxAttempts: 3,
      retryDelayMs: 1000,
      error: { code: "UPSTREAM_UNAVAILABLE", message: "provider answered 503 Service Unavailable" },
    },
    { id: "summarize", name: "Summarize answer", model: "gpt-4o-mini" },
  ],
};

export const BUILTIN_FLOWS: readonly FlowDefinition[] = [grade3, essayPipeline, alwaysFails];
