// The stream replays the whole history on every reconnect: the state after
// history -> drop -> full replay -> more events must equal one clean pass.
import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/api/schemas.js";
import type { ReceivedEvent } from "../../src/api/signals.js";
import { reduceRun } from "../../src/state/reducer.js";
import { withFields } from "../../src/state/rows.js";
import { selectTotals } from "../../src/state/selectors.js";
import type { RunAction, RunState, StepRow } from "../../src/state/types.js";
import { batch, completed, failed, flowCompleted, opened, preview, reduceAll, runStarted, started, T0 } from "./fixtures.js";

const tok = { prompt: 3, completion: 2, total: 5 };

/** The history the server has stored; the drop happens after DROP_AT events. */
const HISTORY: TraceEvent[] = [
  runStarted(5),
  started("a", "Alpha"),
  completed("a", { costUsd: "0.1", durationMs: 10, tokens: tok, modelUsed: "m1" }),
  started("b", "Beta"),
  failed("b", "timeout"),
  started("b"),
  { type: "step_paused_for_tool_calls", stepId: "b", toolCalls: [] },
  started("b"),
  completed("b", { costUsd: "0.2", tokens: tok }), // no durationMs: derived from times
  started("loop", "Loop"),
  completed("loop", { costUsd: "0.05", durationMs: 3 }),
  started("loop"),
  completed("loop", { costUsd: "0.05", durationMs: 3 }),
  started("loop"), // DROP_AT: the drop comes after this one
  failed("loop", "flaky"),
  started("loop"),
  completed("loop", { costUsd: "0.05" }),
  started("c"),
  { type: "step_output", stepId: "c", outputData: preview({ partial: true }) },
  { type: "step_progress", stepId: "s", name: "Skipped", message: "skipped: condition false" },
];
const DROP_AT = 14;
const MORE: TraceEvent[] = [completed("c", { costUsd: "0.000001" }), started("d", "Delta"), failed("d", "fatal"), flowCompleted("failed")];

/** First delivery time of history event i: the part after the drop arrives much later. */
const firstArrival = (i: number): number => (i < DROP_AT ? T0 + 10 * i : T0 + 1_000_000 + 10 * i);
const replayArrival = (i: number): number => T0 + 500_000 + i; // replayed events arrive "now", fast
const moreArrival = (i: number): number => T0 + 2_000_000 + 10 * i;

function deliver(events: readonly TraceEvent[], from: number, arrival: (i: number) => number, ids: boolean): ReceivedEvent[] {
  return events.map((event, k) => ({ event, at: arrival(from + k), ...(ids ? { id: String(from + k + 1) } : {}) }));
}

function chunks(events: readonly ReceivedEvent[], sizes: readonly number[]): RunAction[] {
  const out: RunAction[] = [];
  let i = 0;
  let k = 0;
  while (i < events.length) {
    const size = sizes[k++ % sizes.length] ?? 1;
    out.push(batch(events.slice(i, i + size)));
    i += size;
  }
  return out;
}

const more = (ids: boolean): ReceivedEvent[] =>
  MORE.map((event, k) => ({ event, at: moreArrival(k), ...(ids ? { id: String(HISTORY.length + k + 1) } : {}) }));

function cleanPass(ids: boolean): RunState {
  return reduceAll([
    { type: "stream/connecting", attempt: 1, at: T0 - 1 },
    opened(T0 - 1),
    batch(deliver(HISTORY, 0, firstArrival, ids)),
    batch(more(ids)),
    { type: "stream/ended", at: T0 + 3_000_000 },
  ]);
}

const drop: RunAction[] = [
  { type: "stream/closed", reason: "socket hang up", at: T0 + 400_000 },
  { type: "stream/reconnecting", attempt: 2, delayMs: 1000, reason: "socket hang up", at: T0 + 400_000 },
  { type: "stream/connecting", attempt: 2, at: T0 + 499_999 },
];

function beforeDrop(ids: boolean): RunAction[] {
  return [
    { type: "stream/connecting", attempt: 1, at: T0 - 1 },
    opened(T0 - 1),
    ...chunks(deliver(HISTORY.slice(0, DROP_AT), 0, firstArrival, ids), [4]),
  ];
}

/** The replayed history: the known part arrives "now", the rest when it happens. */
function replayed(ids: boolean): ReceivedEvent[] {
  return [
    ...deliver(HISTORY.slice(0, DROP_AT), 0, replayArrival, ids),
    ...deliver(HISTORY.slice(DROP_AT), DROP_AT, firstArrival, ids),
  ];
}

/** Every field of every row, whatever object kind holds it (a PlainRow keeps defaults on its prototype). */
const snapshot = (rows: readonly StepRow[]): StepRow[] => rows.map((r) => withFields(r, { iterationRows: [...r.iterationRows] }));

/** What must match between two states. */
function view(s: RunState) {
  return {
    rows: snapshot(s.steps.rows()),
    totals: selectTotals(s),
    status: s.status,
    runId: s.runId,
    startedAt: s.startedAt,
    completedAt: s.completedAt,
    stepCount: s.stepCount,
    lastError: s.lastError,
    eventsApplied: s.eventsApplied,
    malformedFrames: s.malformedFrames,
  };
}


describe("replay after reconnect", () => {
  for (const ids of [true, false]) {
    describe(ids ? "with SSE ids" : "without SSE ids", () => {
      const clean = view(cleanPass(ids));

      it("history, drop, full replay, more events equals one clean pass", () => {
        const s = reduceAll([
          ...beforeDrop(ids),
          ...drop,
          opened(T0 + 500_000),
          batch(replayed(ids)),
          batch(more(ids)),
          { type: "stream/ended", at: T0 + 3_000_000 },
        ]);
        expect(s.replay).toBeNull();
        expect(view(s)).toEqual(clean);
        expect(clean.totals).toMatchObject({ costUsd: "0.450001", retries: 2, failedSteps: 1, stepsDone: 5 }); // a, b, loop, c and the skipped s
        expect(clean.rows.find((r) => r.stepId === "loop")).toMatchObject({ iterations: 3, attempt: 2, retries: 1 });
      });

      for (const sizes of [[1], [3], [7, 2], [1000]]) {
        it(`a replay in chunks of ${sizes.join("/")} (more events in the same chunks) gives the same state`, () => {
          const s = reduceAll([
            ...beforeDrop(ids),
            ...drop,
            opened(T0 + 500_000),
            ...chunks([...replayed(ids), ...more(ids)], sizes),
            { type: "stream/ended", at: T0 + 3_000_000 },
          ]);
          expect(view(s)).toEqual(clean);
        });
      }

      it("the screen does not go empty during the replay, and no row starts later", () => {
        let s = reduceAll([...beforeDrop(ids), ...drop]);
        const shown = snapshot(s.steps.rows());
        const totals = selectTotals(s);
        s = reduceRun(s, opened(T0 + 500_000));
        const replay = replayed(ids);
        for (let i = 0; i < DROP_AT - 1; i++) {
          s = reduceRun(s, batch(replay.slice(i, i + 1)));
          expect(snapshot(s.steps.rows())).toEqual(shown);
          expect(selectTotals(s)).toEqual(totals);
        }
        s = reduceRun(s, batch(replay.slice(DROP_AT - 1)));
        expect(s.replay).toBeNull();
        for (const before of shown) {
          const after = s.steps.get(before.stepId);
          expect(after?.startedAt).not.toBeNull();
          expect(after?.startedAt ?? Infinity).toBeLessThanOrEqual(before.startedAt ?? -Infinity);
        }
      });

      it("resumed=true means no replay: events just continue", () => {
        const s = reduceAll([
          ...beforeDrop(ids),
          ...drop,
          opened(T0 + 500_000, true),
          batch(deliver(HISTORY.slice(DROP_AT), DROP_AT, firstArrival, ids)),
          batch(more(ids)),
          { type: "stream/ended", at: T0 + 3_000_000 },
        ]);
        expect(s.replay).toBeNull();
        expect(view(s)).toEqual(clean);
      });

      it("a replay cut short, then another full replay", () => {
        const s = reduceAll([
          ...beforeDrop(ids),
          ...drop,
          opened(T0 + 500_000),
          batch(replayed(ids).slice(0, 5)),
          ...drop,
          opened(T0 + 500_000),
          ...chunks(replayed(ids), [2]),
          batch(more(ids)),
          { type: "stream/ended", at: T0 + 3_000_000 },
        ]);
        expect(view(s)).toEqual(clean);
      });

      it("a replay cut short, then resumed where the replay stopped", () => {
        const replay = replayed(ids);
        const s = reduceAll([
          ...beforeDrop(ids),
          ...drop,
          opened(T0 + 500_000),
          batch(replay.slice(0, 5)),
          ...drop,
          opened(T0 + 500_000, true),
          batch(replay.slice(5)),
          batch(more(ids)),
          { type: "stream/ended", at: T0 + 3_000_000 },
        ]);
        expect(view(s)).toEqual(clean);
      });
    });
  }

  it("malformed frames seen again in the replay are not counted twice", () => {
    const s = reduceAll([
      ...beforeDrop(true),
      { type: "stream/malformed", count: 1, reason: "invalid JSON", at: T0 + 5 },
      ...drop,
      opened(T0 + 500_000),
      batch(replayed(true).slice(0, 3)),
      { type: "stream/malformed", count: 1, reason: "invalid JSON", at: T0 + 500_003 },
      batch(replayed(true).slice(3)),
      { type: "stream/malformed", count: 1, reason: "invalid JSON", at: T0 + 1_500_000 },
    ]);
    expect(s.replay).toBeNull();
    expect(s.malformedFrames).toBe(2);
  });

  it("rows the replay does not have are kept, in first-seen order", () => {
    const s = reduceAll([
      opened(T0),
      batch(deliver([runStarted(), started("a"), { type: "step_output", stepId: "transient", outputData: preview(1) }], 0, (i) => T0 + i, false)),
      ...drop,
      opened(T0 + 500_000),
      batch(deliver([runStarted(), started("a"), completed("a", { costUsd: "0.1" }), started("b")], 0, (i) => T0 + 500_000 + i, false)),
    ]);
    expect(s.replay).toBeNull();
    // the shadow caught up (3 events) before b was ever seen; transient was seen before b
    expect(s.steps.rows().map((r) => [r.stepId, r.order])).toEqual([
      ["a", 0],
      ["transient", 1],
      ["b", 2],
    ]);
    expect(selectTotals(s).costUsd).toBe("0.1");
  });

  it("at the end of the stream a partial replay is dropped, a terminal one takes over", () => {
    const partial = reduceAll([
      ...beforeDrop(true),
      ...drop,
      opened(T0 + 500_000),
      batch(replayed(true).slice(0, 3)),
      { type: "run/status", status: "failed", at: T0 + 600_000 },
      { type: "stream/ended", at: T0 + 600_000 },
    ]);
    expect(partial.replay).toBeNull();
    expect(partial.steps.size).toBe(3);
    expect(partial.status).toBe("failed");

    const terminal = reduceAll([
      opened(T0),
      batch(deliver([runStarted(), started("a"), started("b"), { type: "step_output", stepId: "x", outputData: preview(1) }], 0, (i) => T0 + i, true)),
      ...drop,
      opened(T0 + 500_000),
      // the server stored fewer events than were seen (x's output was not kept), then the run ended
      batch(deliver([runStarted(), started("a"), flowCompleted()], 0, (i) => T0 + 500_000 + i, true)),
      { type: "stream/ended", at: T0 + 600_000 },
    ]);
    expect(terminal.replay).toBeNull();
    expect(terminal.status).toBe("completed");
    expect(terminal.steps.rows().map((r) => r.stepId)).toEqual(["a", "b", "x"]);
  });
});
