// The row cache must not change a single byte of what Ink draws: random frames (ASCII,
// wide and combining characters, joiners, flags, emoji, SGR codes, transformers,
// overlapping writes, clipping, lines outside the grid) composed by Ink's own get() and
// by the wrapped one.
import { describe, expect, it } from "vitest";
import { loadInkInternals, rowCacheFrames, wrapOutputGet, type InkOutputClass } from "../../src/ui/inkRowCache.js";

const ink = await loadInkInternals();

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ["a", "step", " ", "  ", "42", "$0.001", "✓", "›", "…", "界", "日本", "😀", "e\u0301", "\u0301x", "\u200d😀", "\ufe0f", "🇫🇷", "×", "▶ running", "|"];
const CODES = ["\x1b[32m", "\x1b[39m", "\x1b[1m", "\x1b[22m", "\x1b[2m", "\x1b[7m", "\x1b[27m", "\x1b[38;5;208m", "\x1b[0m", "\x1b[1;31m", "\x1b[m"];

type Op =
  | { type: "write"; x: number; y: number; text: string; transformers: ((line: string, index: number) => string)[] }
  | { type: "clip"; clip: { x1: number | undefined; x2: number | undefined; y1: number | undefined; y2: number | undefined } }
  | { type: "unclip" };

function randomText(next: () => number, lines: number): string {
  const out: string[] = [];
  for (let l = 0; l < lines; l += 1) {
    let text = "";
    const n = Math.floor(next() * 6);
    for (let i = 0; i < n; i += 1) {
      if (next() < 0.3) text += CODES[Math.floor(next() * CODES.length)];
      text += PIECES[Math.floor(next() * PIECES.length)];
    }
    out.push(text);
  }
  return out.join("\n");
}

function randomFrame(next: () => number, opts: { clips: boolean }): { width: number; height: number; ops: Op[] } {
  const width = 4 + Math.floor(next() * 30);
  const height = 1 + Math.floor(next() * 5);
  const ops: Op[] = [];
  const count = Math.floor(next() * 8);
  for (let i = 0; i < count; i += 1) {
    if (opts.clips && next() < 0.1) {
      ops.push({ type: "clip", clip: { x1: 1, x2: width - 2, y1: undefined, y2: undefined } });
      continue;
    }
    const lines = next() < 0.2 ? 2 : 1;
    const transformers = next() < 0.3 ? [(line: string) => `\x1b[36m${line}\x1b[39m`] : [];
    ops.push({
      type: "write",
      x: Math.floor(next() * (width + 3)),
      y: Math.floor(next() * (height + 1)) - (next() < 0.05 ? 1 : 0),
      text: randomText(next, lines),
      transformers,
    });
  }
  return { width, height, ops };
}

function draw(Output: InkOutputClass, frame: { width: number; height: number; ops: Op[] }, get?: () => { output: string }): string {
  const output = new Output({ width: frame.width, height: frame.height }) as unknown as {
    write: (x: number, y: number, text: string, o: { transformers: ((line: string, index: number) => string)[] }) => void;
    clip: (clip: unknown) => void;
    unclip: () => void;
    get: () => { output: string };
  };
  for (const op of frame.ops) {
    if (op.type === "write") output.write(op.x, op.y, op.text, { transformers: op.transformers });
    else if (op.type === "clip") output.clip(op.clip);
    else output.unclip();
  }
  return (get ?? output.get).call(output).output;
}

it("finds the Output class of the installed Ink (the version it was checked against)", () => {
  expect(ink).not.toBeNull();
});

describe.skipIf(ink === null)("Ink row cache", () => {
  const { Output, tokenizer } = ink as NonNullable<typeof ink>;
  const proto = Output.prototype as { get: () => { output: string }; stockGet?: () => { output: string } };
  // Another test file of this worker may have installed the cache on Output itself.
  const stockGet = proto.stockGet ?? proto.get;

  for (const [label, withTokenizer] of [
    ["composing new rows in runs", true],
    ["with Ink composing new rows", false],
  ] as const) {
    it(`draws what Ink draws, ${label}`, () => {
      class CachedOutput extends (Output as unknown as new (o: { width: number; height: number }) => object) {}
      expect(wrapOutputGet(CachedOutput as unknown as InkOutputClass, withTokenizer ? tokenizer : null)).toBe(true);
      const next = random(withTokenizer ? 7 : 11);
      for (let i = 0; i < 3000; i += 1) {
        const frame = randomFrame(next, { clips: i % 3 === 0 });
        const expected = draw(Output, frame, stockGet);
        // Twice: the second draw is served from the cache.
        expect(draw(CachedOutput as unknown as InkOutputClass, frame), `frame ${String(i)}`).toBe(expected);
        expect(draw(CachedOutput as unknown as InkOutputClass, frame), `frame ${String(i)} again`).toBe(expected);
      }
    });
  }

  it("finds Ink's tokenizer, and wraps a class only once", () => {
    expect(tokenizer).not.toBeNull();
    class Once extends (Output as unknown as new (o: { width: number; height: number }) => object) {}
    expect(wrapOutputGet(Once as unknown as InkOutputClass, tokenizer)).toBe(true);
    expect(wrapOutputGet(Once as unknown as InkOutputClass, tokenizer)).toBe(false);
  });

  it("counts the frames a wrapped class draws", () => {
    class Counted extends (Output as unknown as new (o: { width: number; height: number }) => object) {}
    wrapOutputGet(Counted as unknown as InkOutputClass, tokenizer);
    const before = rowCacheFrames();
    draw(Output, randomFrame(random(3), { clips: false }), stockGet);
    expect(rowCacheFrames()).toBe(before);
    draw(Counted as unknown as InkOutputClass, randomFrame(random(3), { clips: false }));
    expect(rowCacheFrames()).toBe(before + 1);
  });
});
