// Ink's chalk follows FORCE_COLOR/NO_COLOR, not our --no-color: with colours forced on,
// color=false must still emit no colour codes. (The env is set before ink is imported.)
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { completed, events, failed, renderScreen, runStarted, started, type Screen } from "./harness.js";

const previousForceColor = vi.hoisted(() => {
  const previous = process.env["FORCE_COLOR"];
  process.env["FORCE_COLOR"] = "1";
  return previous;
});

// Child processes that later tests of this worker may spawn must not inherit it.
afterAll(() => {
  if (previousForceColor === undefined) delete process.env["FORCE_COLOR"];
  else process.env["FORCE_COLOR"] = previousForceColor;
});

/** SGR foreground/background colours: 30-37, 39, 40-47, 49, 90-97, 100-107, 38;… and 48;…. */
const COLOUR_SGR = /\x1b\[(?:\d+;)*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;\d+)*m/;

let screen: Screen | null = null;
afterEach(() => {
  screen?.unmount();
  screen = null;
});

async function colourfulRun(color: boolean): Promise<string> {
  screen = await renderScreen({ color, notice: "cannot monitor: something" });
  await screen.feed(
    { type: "stream/opened", at: 1, resumed: false },
    events(runStarted(3), started("a", "Alpha"), completed("a"), started("b"), failed("b", "x"), started("b"), started("c")),
  );
  return screen.frame();
}

describe("colour", () => {
  it("colours statuses when colour is on (so the check below can fail)", async () => {
    expect(await colourfulRun(true)).toMatch(COLOUR_SGR);
  });

  it("emits no colour code at all when colour is off, even with FORCE_COLOR", async () => {
    const frame = await colourfulRun(false);
    expect(frame).toContain("Alpha");
    expect(frame).not.toMatch(COLOUR_SGR);
    await screen?.press("?");
    expect(screen?.frame()).not.toMatch(COLOUR_SGR);
  });
});
