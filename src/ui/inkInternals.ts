// Where Ink's internals come from. Ink exports neither its Output class nor its tokenizer,
// so from the tsc build (and in tests) they are loaded by file path next to the "ink" that
// `import "ink"` resolves. The bundled TUI replaces this module (scripts/build.mjs) with one
// that imports the very files the bundled Ink is made of: loaded by path from there, they
// would be a second copy of Ink whose Output no frame uses, and the row cache would do nothing.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export interface InkModules {
  /** Ink's version (its package.json). */
  readonly version: string;
  /** Ink's build/output.js: its default export is the Output class. */
  readonly output: Readonly<Record<string, unknown>>;
  /** @alcalzone/ansi-tokenize (Ink's dependency, not ours); null when it cannot be found. */
  readonly tokenizer: Readonly<Record<string, unknown>> | null;
}

async function importFile(path: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}

/** Ink's modules next to the Ink that `import "ink"` loads; rejects when Ink is laid out differently. */
export async function findInkModules(): Promise<InkModules> {
  const inkIndex = createRequire(import.meta.url).resolve("ink");
  const buildDir = dirname(inkIndex);
  const pkg = JSON.parse(await readFile(join(buildDir, "..", "package.json"), "utf8")) as { version?: unknown };
  const output = await importFile(join(buildDir, "output.js"));
  let tokenizer: Record<string, unknown> | null = null;
  try {
    const tokenizerPackage = createRequire(inkIndex).resolve("@alcalzone/ansi-tokenize/package.json");
    tokenizer = await importFile(join(dirname(tokenizerPackage), "build", "index.js"));
  } catch {
    // Without the tokenizer, Ink composes the new rows itself.
  }
  return { version: typeof pkg.version === "string" ? pkg.version : "", output, tokenizer };
}
