import { describe, expect, it } from "vitest";
import { hashStepId, isPlain, MutableStepTable, NO_ITERATIONS, parseTimestamp, PlainRow, withFields } from "../../src/state/rows.js";
import type { StepRow } from "../../src/state/types.js";

function rowOf(stepId: string, order: number, status: StepRow["status"] = "running"): StepRow {
  return {
    stepId,
    name: null,
    order,
    status,
    attempt: 1,
    retries: 0,
    iterations: 1,
    isLoop: false,
    loopIndex: null,
    startedAt: null,
    completedAt: null,
    durationMs: null,
    modelUsed: null,
    tokens: null,
    costUsd: null,
    lastError: null,
    lastOutput: null,
    lastInput: null,
    iterationRows: NO_ITERATIONS,
  };
}

describe("MutableStepTable", () => {
  it("finds every step of a large table by id, and no other id (through index growth and probing)", () => {
    const table = new MutableStepTable();
    const ids = Array.from({ length: 20_000 }, (_, i) => `step-${String(i).padStart(6, "0")}`);
    const missing: string[] = [];
    for (const [order, id] of ids.entries()) {
      if (table.get(id) !== undefined) missing.push(`${id} found before it was added`);
      table.put(rowOf(id, order));
    }
    expect(table.size).toBe(ids.length);
    for (const [order, id] of ids.entries()) if (table.get(id)?.order !== order) missing.push(id);
    expect(missing).toEqual([]);
    // Ids one character away from present ones, and a prefix of every one of them.
    for (const id of ["step-020000", "step-00000", "step-0000000", "Step-000001", "step-000001 ", ""]) {
      expect(table.get(id)).toBeUndefined();
    }
    expect(table.rows().map((r) => r.stepId)).toEqual(ids);
  });

  it("tells apart ids whose hashes are equal", () => {
    // A birthday search for two ids with the same 32-bit hash (this process's seed).
    const seen = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null; i++) {
      const id = `id-${i.toString(36)}`;
      const other = seen.get(hashStepId(id));
      if (other !== undefined) pair = [other, id];
      else seen.set(hashStepId(id), id);
    }
    const table = new MutableStepTable();
    table.put(rowOf(pair[0], 0));
    expect(table.get(pair[1])).toBeUndefined();
    table.put(rowOf(pair[1], 1));
    table.put(rowOf("another", 2));
    expect(table.get(pair[0])?.order).toBe(0);
    expect(table.get(pair[1])?.order).toBe(1);
  });

  it("replaces a row in place, keeping its position; odd ids are just ids", () => {
    const table = new MutableStepTable();
    const ids = ["", "é", "👩‍💻", "__proto__", "toString", "a".repeat(500)];
    ids.forEach((id, order) => table.put(rowOf(id, order)));
    table.put(rowOf("é", 1, "completed"));
    expect(table.size).toBe(ids.length);
    expect(table.get("é")?.status).toBe("completed");
    expect(table.rows()[1]?.status).toBe("completed");
    for (const [order, id] of ids.entries()) expect(table.get(id)?.order).toBe(order);
  });
});

describe("parseTimestamp", () => {
  const reference = (text: string): number | null => {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : null;
  };

  it("reads timestamps as Date.parse does, toISOString's form and every other", () => {
    const texts = [
      "2026-06-01T12:00:00.000Z",
      "2026-02-28T23:59:59.999Z",
      "2024-02-29T00:00:00.000Z",
      "2026-02-29T00:00:00.000Z",
      "2026-04-31T00:00:00.000Z",
      "2026-13-01T00:00:00.000Z",
      "2026-06-01T24:00:00.000Z",
      "2026-06-01T12:60:00.000Z",
      "0099-06-01T12:00:00.000Z",
      "0999-06-01T12:00:00.000Z",
      "2026-06-01T12:00:00.000+02:00",
      "2026-06-01T12:00:00.123456+00:00",
      "2026-06-01T12:00:00Z",
      "2026-06-01 12:00:00.000Z",
      "2026-06-0xT12:00:00.000Z",
      "not a time",
    ];
    for (const text of texts) expect(parseTimestamp(text), text).toBe(reference(text));
    // Every character position of toISOString output replaced by every printable ASCII character.
    const base = "2026-06-17T08:09:10.123Z";
    for (let at = 0; at < base.length; at++) {
      for (let c = 32; c < 127; c++) {
        const text = base.slice(0, at) + String.fromCharCode(c) + base.slice(at + 1);
        if (parseTimestamp(text) !== reference(text)) expect(parseTimestamp(text), text).toBe(reference(text));
      }
    }
    expect(parseTimestamp(null)).toBeNull();
    expect(parseTimestamp(undefined)).toBeNull();
  });
});

describe("PlainRow", () => {
  it("reads as a full row, and withFields copies every field whatever the kind", () => {
    const plain = new PlainRow("a", "Alpha", 3, "completed", 10, 20, 10, "m", { prompt: 1, completion: 2, total: 3 }, "0.5");
    const full = { ...rowOf("a", 3, "completed"), name: "Alpha", startedAt: 10, completedAt: 20, durationMs: 10, modelUsed: "m", tokens: { prompt: 1, completion: 2, total: 3 }, costUsd: "0.5" };
    expect(withFields(plain, {})).toEqual(full);
    expect(isPlain(plain)).toBe(true);
    expect(plain.iterationRows).toBe(NO_ITERATIONS);
    // Twelve own fields: the defaults live on the prototype, the token counts in the row.
    expect(Object.keys(plain)).toHaveLength(12);
    expect(Object.keys(plain)).not.toContain("tokens");
    const retried = withFields(plain, { attempt: 2, retries: 1 });
    expect(retried).toEqual({ ...full, attempt: 2, retries: 1 });
    expect(isPlain(retried)).toBe(false);
    expect(plain.attempt).toBe(1);
  });

  it("holds no tokens, or three counts of zero or more; anything else is not held", () => {
    const none = new PlainRow("a", null, 0, "running", 10, null, null, null, null, null);
    expect(none.tokens).toBeNull();
    const zeros = new PlainRow("a", null, 0, "completed", 10, 20, 10, null, { prompt: 0, completion: 0, total: 0 }, null);
    expect(zeros.tokens).toEqual({ prompt: 0, completion: 0, total: 0 });
    expect(PlainRow.holds(null)).toBe(true);
    expect(PlainRow.holds({ prompt: 0, completion: 5, total: 5 })).toBe(true);
    expect(PlainRow.holds({ prompt: null, completion: 5, total: 5 })).toBe(false);
    expect(PlainRow.holds({ prompt: 1, completion: -1, total: 0 })).toBe(false);
  });
});
