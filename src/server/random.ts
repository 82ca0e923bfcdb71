// Seeded randomness for the simulated runs: the same seed gives the same draws, on
// every machine (integer arithmetic only, no Math.random).

export type Random = () => number;

/** mulberry32: a tiny 32-bit PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the UTF-16 code units: mixes a seed with names into a 32-bit seed. */
export function hashSeed(...parts: readonly (string | number)[]): number {
  let hash = 0x811c9dc5;
  for (const char of parts.join("\u0000")) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** An integer uniform in [min, max] (both inclusive). */
export function drawInt(random: Random, min: number, max: number): number {
  const lo = Math.ceil(min);
  const hi = Math.floor(max);
  if (hi <= lo) return lo;
  return lo + Math.floor(random() * (hi - lo + 1));
}

const WORDS = [
  "the", "essay", "argues", "that", "reading", "habits", "shape", "how", "students", "write",
  "evidence", "from", "three", "studies", "suggests", "a", "strong", "link", "between", "practice",
  "and", "clarity", "however", "sample", "sizes", "were", "small", "which", "limits", "confidence",
  "in", "conclusion", "summary", "claim", "source", "chunk", "paragraph", "grammar", "spelling", "tone",
  "rubric", "score", "structure", "coherent", "revise", "draft", "teacher", "feedback", "example", "model",
];

/** Deterministic filler prose of `count` words. */
export function words(random: Random, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(WORDS[Math.floor(random() * WORDS.length)] ?? "word");
  const text = out.join(" ");
  return text.length > 0 ? `${text.charAt(0).toUpperCase()}${text.slice(1)}.` : text;
}

/** Deterministic filler text of exactly `bytes` ASCII characters (repeats one drawn sentence block). */
export function textOfSize(random: Random, bytes: number): string {
  const block = `${words(random, 200)} `;
  return block.repeat(Math.ceil(bytes / block.length)).slice(0, bytes);
}
