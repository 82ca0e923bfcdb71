import { describe, expect, it } from "vitest";
import { hashStepId, MutableStepTable, NO_ITERATIONS } from "../../src/state/rows.js";
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
