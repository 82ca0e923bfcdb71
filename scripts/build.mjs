// `npm run build`: tsc compiles src/ to dist/, then the TUI entry (dist/ui/runTui.js) is
// replaced by a bundle of itself, the screen (dist/ui/*) and what they import from
// node_modules (Ink, React, es-toolkit, yoga...): one file instead of ~600 modules, which
// Node otherwise resolves, reads and compiles one by one before the first frame (issue 6).
// The rest of dist/ stays as tsc wrote it (the CLI, and the tests and the bench, use it):
// the bundle imports src/api and src/state from there, so that the CLI and the screen share
// one copy of each (the same classes, the same module state).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
const UI_DIR = join(DIST, "ui");
const ENTRY = join(UI_DIR, "runTui.js");
const INK_INTERNALS = join(UI_DIR, "inkInternals.js");
const require = createRequire(import.meta.url);

const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json")], {
  stdio: "inherit",
});
// tsc exits 2 when it reported errors but still wrote dist/: bundle that too (dist/ stays
// one consistent build, as with tsc alone), then fail with tsc's status.
if (tsc.status !== 0 && tsc.status !== 2) process.exit(tsc.status ?? 1);

const inkIndex = require.resolve("ink");
const inkVersion = JSON.parse(readFileSync(join(dirname(inkIndex), "..", "package.json"), "utf8")).version;

/** Module ids of this build's own: nothing on disk has them. */
const INK_INTERNALS_ID = "\0ink-internals";
const NO_DEVTOOLS_ID = "\0ink-no-devtools";

/** Yoga's WebAssembly, inlined as a data: URI in this file of yoga-layout (Ink's layout engine). */
const YOGA_WASM_LOADER = /[\\/]yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/;
const FETCH_CHECK = '"function"!=typeof fetch';

const screenBundle = {
  name: "noukai-top-screen",
  resolveId(source, importer) {
    if (importer === undefined) return null;
    // src/ui/inkInternals.ts finds Ink's Output and tokenizer by file path, which in the
    // bundle would load a second Ink: here they are the modules the bundled Ink imports.
    if (resolve(dirname(importer), source) === INK_INTERNALS) return INK_INTERNALS_ID;
    // Ink loads React DevTools only when DEV=true, from react-devtools-core, which is not
    // installed (an optional peer of Ink): the bundle leaves it out.
    if (source === "./devtools.js" && importer.startsWith(dirname(inkIndex))) return NO_DEVTOOLS_ID;
    return null;
  },
  async load(id) {
    if (id === NO_DEVTOOLS_ID) return "export {};";
    if (id !== INK_INTERNALS_ID) return null;
    const output = await this.resolve("./output.js", inkIndex);
    const tokenizer = await this.resolve("@alcalzone/ansi-tokenize", inkIndex);
    if (output === null || tokenizer === null) throw new Error("Ink's output.js or its tokenizer cannot be resolved");
    return [
      `import * as output from ${JSON.stringify(output.id)};`,
      `import * as tokenizer from ${JSON.stringify(tokenizer.id)};`,
      `export async function findInkModules() {`,
      `  return { version: ${JSON.stringify(inkVersion)}, output, tokenizer };`,
      `}`,
    ].join("\n");
  },
  transform(code, id) {
    if (!YOGA_WASM_LOADER.test(id)) return null;
    // Yoga's loader fetches its data: URI when `fetch` is a function. In Node the first look
    // at `fetch` loads Node's own fetch (its copy of undici, ~30 ms before the first frame),
    // only to decode base64, which the loader otherwise does at once: it is told there is none.
    if (!code.includes(FETCH_CHECK)) throw new Error(`yoga-layout's loader has changed: no ${FETCH_CHECK} in ${id}`);
    return { code: code.replaceAll(FETCH_CHECK, "true"), map: null };
  },
};

const bundle = await rolldown({
  input: ENTRY,
  platform: "node",
  plugins: [screenBundle],
  external(source, importer) {
    if (source.startsWith("node:")) return true;
    // From the screen's own modules, a relative import out of dist/ui (src/api, src/state)
    // stays an import of tsc's output: the bundle is written where the entry was, so the
    // specifier still points at it.
    return importer !== undefined && importer.startsWith(UI_DIR + "/") && source.startsWith(".") && !resolve(dirname(importer), source).startsWith(UI_DIR + "/");
  },
  // React's production build (the development one is several times slower per frame);
  // only React reads NODE_ENV, and the bundle carries one build instead of both.
  transform: { define: { "process.env.NODE_ENV": JSON.stringify("production") } },
  onLog(level, log, print) {
    // A warning here (an import that cannot be resolved, a name that is missing) would be a
    // broken screen at run time: fail the build instead.
    if (level === "warn") throw new Error(`bundling the TUI: ${log.message}`);
    print(level, log);
  },
});
const { output } = await bundle.generate({ format: "esm", codeSplitting: false, sourcemap: true });
await bundle.close();
const [chunk, ...others] = output;
if (chunk?.type !== "chunk" || others.some((file) => file.type === "chunk")) throw new Error("the TUI bundle is not one file");
writeFileSync(ENTRY, chunk.code);
writeFileSync(`${ENTRY}.map`, chunk.map.toString());
if (tsc.status !== 0) process.exit(tsc.status);
