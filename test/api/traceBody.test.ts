// The streamed Trace reader against the reference (the whole text through JSON.parse,
// then zod's Trace): the same value, keys in the same order, for any chunking; the
// same verdict for a body the reference refuses.
import { describe, expect, it } from "vitest";
import { BodyError, schemaBodyReader } from "../../src/api/jsonBody.js";
import { Trace } from "../../src/api/schemas.js";
import { traceBodyReader } from "../../src/api/traceBody.js";
import { mulberry32 } from "../../src/server/random.js";

type Outcome = { ok: true; value: unknown } | { ok: false; message: string };

function read(reader: { push(chunk: Buffer): void; end(): unknown }, bytes: Buffer, cuts: readonly number[]): Outcome {
  try {
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut > from) reader.push(bytes.subarray(from, cut));
      from = Math.max(from, cut);
    }
    return { ok: true, value: reader.end() };
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return { ok: false, message: error.message };
  }
}

function randomCuts(random: () => number, length: number): number[] {
  const cuts: number[] = [];
  const mode = random();
  if (mode < 0.2) for (let i = 1; i < length; i++) cuts.push(i); // every byte alone
  else if (mode < 0.6) for (let i = 0; i < length; i += 1 + Math.floor(random() * 40)) cuts.push(i);
  else for (let i = 0; i < length; i += 1 + Math.floor(random() * 4000)) cuts.push(i);
  return cuts;
}

/**
 * Reads `text` both ways and expects the same outcome (same value and key order, or the
 * same error); also with a step sink, which must get the reference's steps (the last sink
 * made) while the Trace returned has none; and the other top-level fields, which must be
 * JSON.parse's (the last of a key wins).
 */
function expectAgreement(text: string, cuts: readonly number[]): Outcome {
  const bytes = Buffer.from(text, "utf8");
  const reference = read(schemaBodyReader(Trace), bytes, []);
  const others = new Map<string, unknown>();
  const ours = read(
    traceBodyReader(undefined, (key, value) => others.set(key, value)),
    bytes,
    cuts,
  );
  if (reference.ok && ours.ok) {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const expected = Object.entries(parsed).filter(([key]) => key !== "flowRun" && key !== "steps");
    expect(others).toStrictEqual(new Map(expected));
  }
  let sunk: unknown[] = [];
  const withSink = read(
    traceBodyReader(() => {
      const steps: unknown[] = [];
      sunk = steps;
      return { add: (step) => steps.push(step) };
    }),
    bytes,
    cuts,
  );
  if (reference.ok && ours.ok && withSink.ok) {
    expect(ours.value).toStrictEqual(reference.value);
    expect(JSON.stringify(ours.value)).toBe(JSON.stringify(reference.value));
    const { flowRun, steps } = reference.value as Trace;
    expect(withSink.value).toStrictEqual({ flowRun, steps: [] });
    expect(sunk).toStrictEqual(steps);
  } else {
    expect({ text: text.slice(0, 300), ours, withSink }).toStrictEqual({ text: text.slice(0, 300), ours: reference, withSink: reference });
  }
  return ours;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

function randomValue(random: () => number, depth = 0): unknown {
  const r = random();
  if (r < 0.15) return null;
  if (r < 0.3) return pick(random, ["", "plain", "é ü 漢字 😀", 'quote " back \\ slash', "line\nbreak\ttab", "\u0000\u001f"]);
  if (r < 0.45) return pick(random, [0, -0, 1, -17, 3.25, 1e21, 1.5e-7, 2 ** 53 + 2, 123456789012345]);
  if (r < 0.55) return random() < 0.5;
  if (depth > 3) return "deep";
  if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let k = 0; k < Math.floor(random() * 4); k++) obj[pick(random, ["a", "b", "message", "error", "é"])] = randomValue(random, depth + 1);
  return obj;
}

/** A step: mostly valid fields, sometimes absent, null, of the wrong type, or unknown keys. */
function randomStep(random: () => number, i: number): Record<string, unknown> {
  const step: Record<string, unknown> = {};
  const maybe = (key: string, valid: () => unknown, wrong: () => unknown): void => {
    const r = random();
    if (r < 0.7) step[key] = valid();
    else if (r < 0.8) step[key] = null;
    else if (r < 0.97) return;
    else step[key] = wrong();
  };
  maybe("stepId", () => pick(random, [`step-${String(i)}`, `s/${String(i)}?é`, 'q"uote']), () => 7);
  maybe("attempt", () => 1 + Math.floor(random() * 3), () => pick(random, [0, 1.5, "2", 2 ** 60]));
  maybe("loopIndex", () => Math.floor(random() * 5), () => pick(random, [0.5, "x", true]));
  maybe("status", () => pick(random, ["completed", "failed", "running", "skipped"]), () => 1);
  maybe("startedAt", () => "2026-06-01T12:00:00.000Z", () => 5);
  maybe("completedAt", () => "2026-06-01T12:00:01.250Z", () => false);
  maybe("durationMs", () => pick(random, [0, 250, 12.5, 1e3]), () => "250");
  maybe("modelUsed", () => pick(random, ["gpt-4o-mini", "claude-haiku", "llama-3.1-8b", "ünï"]), () => []);
  maybe(
    "tokens",
    () => {
      const t: Record<string, unknown> = {};
      for (const k of ["prompt", "completion", "total", "cached"]) if (random() < 0.85) t[k] = random() < 0.9 ? Math.floor(random() * 500) : pick(random, [null, 1.5, "3"]);
      return t;
    },
    () => pick(random, ["12", 12, [1]]),
  );
  maybe("costUsd", () => pick(random, ["0.0000792", "1", "-0.5", "1e-7", ".5", 0.25, 3]), () => pick(random, ["abc", "1.2.3", true, {}]));
  if (random() < 0.3) step["inputContext"] = randomValue(random);
  if (random() < 0.3) step["outputContext"] = randomValue(random);
  if (random() < 0.2) step["errorContext"] = randomValue(random);
  maybe("inputSizeBytes", () => Math.floor(random() * 1e6), () => -0.5);
  maybe("outputSizeBytes", () => Math.floor(random() * 1e6), () => "1");
  maybe("truncated", () => random() < 0.5, () => pick(random, ["false", 0]));
  if (random() < 0.2) step[pick(random, ["extra", "name", "é"])] = randomValue(random);
  return step;
}

/** JSON text with random whitespace, escaped keys, or a key written twice. */
function randomText(random: () => number, value: unknown): string {
  let text = JSON.stringify(value, null, random() < 0.2 ? 2 : undefined);
  if (random() < 0.1) text = text.replace('"status"', '"st\\u0061tus"');
  if (random() < 0.1) text = text.replace('{"stepId"', '{"attempt":9,"stepId"');
  if (random() < 0.1) text = ` \r\n${text}\n `;
  return text;
}

describe("traceBodyReader", () => {
  it("agrees with JSON.parse + zod on random traces, cut anywhere", () => {
    const random = mulberry32(42);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 600; round++) {
      const steps = Array.from({ length: Math.floor(random() * 6) }, (_, i) => randomStep(random, i));
      const trace: Record<string, unknown> = {
        flowRun: random() < 0.95 ? { id: "run-1", status: "completed", durationMs: 5, extra: [1] } : { status: 1 },
        steps,
      };
      if (random() < 0.1) trace["other"] = randomValue(random);
      const text = randomText(random, trace);
      const outcome = expectAgreement(text, randomCuts(random, Buffer.byteLength(text)));
      if (outcome.ok) accepted++;
      else refused++;
    }
    // Both verdicts were exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it("agrees on valid traces with every field present", () => {
    const random = mulberry32(7);
    for (let round = 0; round < 50; round++) {
      const steps = Array.from({ length: 20 }, (_, i) => ({
        stepId: `step-${String(i)}`,
        attempt: 1 + (i % 2),
        loopIndex: i % 3 === 0 ? null : i,
        status: "completed",
        startedAt: "2026-06-01T12:00:00.000Z",
        completedAt: "2026-06-01T12:00:00.201Z",
        durationMs: 201,
        modelUsed: "claude-haiku",
        tokens: { prompt: 101, completion: 21, total: 122 },
        costUsd: "0.0000792",
        inputSizeBytes: 120,
        outputSizeBytes: 64,
        truncated: false,
      }));
      const text = JSON.stringify({ flowRun: { id: "r", status: "completed" }, steps });
      const outcome = expectAgreement(text, randomCuts(random, text.length));
      expect(outcome.ok).toBe(true);
    }
  });

  it("agrees on steps in export form: every field, contexts null or not", () => {
    const random = mulberry32(11);
    for (let round = 0; round < 50; round++) {
      const steps = Array.from({ length: 20 }, (_, i) => ({
        stepId: `step-${String(i)}`,
        attempt: 1,
        loopIndex: null,
        status: "completed",
        startedAt: "2026-06-01T12:00:00.000Z",
        completedAt: null,
        durationMs: 201,
        modelUsed: "claude-haiku",
        tokens: i % 4 === 0 ? null : { prompt: 101, completion: 21, total: 122 },
        costUsd: "0.0000792",
        // Mostly all three null (the export's usual step); sometimes one holds a value, or is absent.
        inputContext: i % 5 === 1 ? { text: "in" } : null,
        outputContext: i % 7 === 2 ? "out" : null,
        ...(i % 9 === 3 ? {} : { errorContext: i % 11 === 4 ? [null] : null }),
        inputSizeBytes: null,
        outputSizeBytes: 64,
        truncated: false,
      }));
      const text = JSON.stringify({ flowRun: { id: "r", status: "completed" }, steps }, null, random() < 0.5 ? 2 : undefined);
      const outcome = expectAgreement(text, randomCuts(random, text.length));
      expect(outcome.ok).toBe(true);
    }
  });

  it("reads a step larger than the collecting threshold, cut in 16 KB chunks", () => {
    const big = { text: "x".repeat(600_000), list: Array.from({ length: 2000 }, (_, i) => ({ i, s: "é\"\\" })) };
    const text = JSON.stringify({
      steps: [{ stepId: "a", status: "completed", outputContext: big }, { stepId: "b", status: "failed", errorContext: "boom" }],
      other: { blob: "y".repeat(400_000) },
      flowRun: { id: "r", status: "failed" },
    });
    const cuts = Array.from({ length: Math.ceil(text.length / 16384) }, (_, k) => k * 16384);
    const outcome = expectAgreement(text, cuts);
    expect(outcome.ok).toBe(true);
  });

  it("with a step sink, only the last steps array's sink holds steps (the last key wins)", () => {
    const sinks: unknown[][] = [];
    const reader = traceBodyReader(() => {
      const steps: unknown[] = [];
      sinks.push(steps);
      return { add: (step) => steps.push(step) };
    });
    const text = '{"steps":[{"stepId":"old","status":"completed"}],"flowRun":{"id":"r","status":"completed"},"steps":[{"stepId":"new","status":"completed"}]}';
    expect(read(reader, Buffer.from(text), [])).toStrictEqual({ ok: true, value: { flowRun: { id: "r", status: "completed" }, steps: [] } });
    expect(sinks.map((steps) => steps.map((step) => (step as { stepId: string }).stepId))).toEqual([["old"], ["new"]]);
  });

  it.each([
    ["an empty body", "  \n"],
    ["a body cut short", '{"flowRun":{"id":"r","status":"completed"},"steps":[{"stepId":"a","status":"ok"}'],
    ["a body cut inside a large step", `{"steps":[{"stepId":"a","status":"ok","outputContext":"${"x".repeat(300_000)}`],
    ["text after the object", '{"flowRun":{"id":"r","status":"completed"},"steps":[]} x'],
    ["an array body", "[1,2]"],
    ["a number body", "12"],
    ["no steps", '{"flowRun":{"id":"r","status":"completed"}}'],
    ["steps that are not an array", '{"flowRun":{"id":"r","status":"completed"},"steps":{}}'],
    ["a step that is not an object", '{"flowRun":{"id":"r","status":"completed"},"steps":[{"stepId":"a","status":"ok"},7]}'],
    ["no flowRun", '{"steps":[]}'],
    ["a trailing comma", '{"flowRun":{"id":"r","status":"completed"},"steps":[],}'],
    ["a step nested deeper than the scanner goes", `{"flowRun":{"id":"r","status":"c"},"steps":[{"stepId":"a","status":"ok","inputContext":${"[".repeat(80)}${"]".repeat(80)}}]}`],
  ])("gives the reference's verdict on %s", (_what, text) => {
    expectAgreement(text, []);
    expectAgreement(text, randomCuts(mulberry32(text.length), Buffer.byteLength(text)));
  });
});
