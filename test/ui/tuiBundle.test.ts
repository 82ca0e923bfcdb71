// The built TUI (dist/ui/runTui.js, bundled by scripts/build.mjs; `npm test` builds first):
// one file that brings its own Ink and React, imports only Node's modules and tsc's output
// of src/api and src/state, and whose Ink row cache wraps the Output its Ink draws with.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type * as RunTuiModule from "../../src/ui/runTui.js";
import { ensureBuilt } from "../cli/helpers.js";
import { until } from "./harness.js";
import { asStreams, FakeStdin, FakeStdout } from "./fakeTty.js";
import { SAMPLE_ATTEMPTS, SAMPLE_NAMES, SAMPLE_TRACE } from "./sampleRun.js";

const BUNDLE = join(import.meta.dirname, "..", "..", "dist", "ui", "runTui.js");

/** Every module specifier the file imports, statically or dynamically. */
function importedSpecifiers(code: string): string[] {
  const found = [...code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm)];
  return found.map((match) => match[1] ?? match[2] ?? match[3] ?? "");
}

// Run alone after a change to src, the build is made first (as for the CLI's tests).
beforeAll(ensureBuilt, 120_000);

describe("the bundled TUI", () => {
  it("imports nothing from node_modules: Ink, React and their dependencies are inside", async () => {
    const code = await readFile(BUNDLE, "utf8");
    const specifiers = importedSpecifiers(code);
    expect(specifiers).toContain("../api/monitor.js");
    expect(specifiers).toContain("../state/reducer.js");
    const outside = specifiers.filter((specifier) => !specifier.startsWith("node:") && !/^\.\.\/(?:api|state)\/[\w.]+\.js$/.test(specifier));
    expect(outside).toEqual([]);
    // Yoga decodes its inline WebAssembly itself: a look at `fetch` would load Node's fetch first.
    expect(code).not.toContain("typeof fetch");
  });

  it("draws a saved trace, every frame through the row cache", async () => {
    const { runTui, rowCacheFrames } = (await import(pathToFileURL(BUNDLE).href)) as typeof RunTuiModule;
    const stdin = new FakeStdin(true);
    const stdout = new FakeStdout(100, 30);
    const done = runTui({
      source: { kind: "offline", trace: SAMPLE_TRACE, names: SAMPLE_NAMES, attempts: SAMPLE_ATTEMPTS, flow: "demo/playground/essay-pipeline" },
      flowLabel: "demo/playground/essay-pipeline",
      executionId: "exec-1",
      ascii: false,
      color: false,
      signal: new AbortController().signal,
      ...asStreams(stdin, stdout),
    });
    await until(() => stdout.text().includes("Write draft"), "the rows");
    stdin.type("q");
    const { error, quit } = await done;
    expect(error).toBeNull();
    expect(quit).toBe("q");
    // Zero if the cache had wrapped an Output loaded from node_modules: a second Ink that draws nothing.
    expect(rowCacheFrames()).toBeGreaterThan(0);
  });
});
