// Lines with non-ASCII characters reach Ink as ASCII placeholders of the same width (so
// Ink measures them on string-width's fast path) and get their characters back as they
// are written out, SGR codes included.
import { describe, expect, it } from "vitest";
import { swapBack, withPlaceholders, type Segment } from "../../src/ui/Line.js";
import { textWidth } from "../../src/ui/text.js";

/** What Ink's nested texts make of the segments: each coloured one wrapped in SGR codes. */
function styledAsInk(segments: readonly Segment[]): string {
  return segments.map((s) => (s.color === undefined ? s.text : `\x1b[32m${s.text}\x1b[39m`)).join("");
}

describe("placeholders", () => {
  it("are printable ASCII as wide as what they stand for, and swap back exactly", () => {
    const segments: Segment[] = [
      { text: "›12 名前 step " },
      { text: "✓ completed", color: "green" },
      { text: " e\u0301t\u00e9 😀 $0.001 " },
      { text: "‖", color: "green" },
    ];
    const { segments: placeheld, swaps } = withPlaceholders(segments);
    const ascii = placeheld.map((s) => s.text).join("");
    expect(ascii).toMatch(/^[\x20-\x7e]*$/);
    expect(ascii.length).toBe(textWidth(segments.map((s) => s.text).join("")));
    expect(swaps.map((s) => s.text)).toEqual(["›", "名前", "✓", "\u0301", "\u00e9", "😀", "‖"]);
    expect(swapBack(styledAsInk(placeheld), swaps)).toBe(styledAsInk(segments));
    expect(swapBack(ascii, swaps)).toBe(segments.map((s) => s.text).join(""));
  });

  it("leave ASCII segments as they are", () => {
    const segments: Segment[] = [{ text: "  1 Load essay" }, { text: " done", color: "green" }];
    const { segments: placeheld, swaps } = withPlaceholders(segments);
    expect(placeheld).toEqual(segments);
    expect(swaps).toEqual([]);
  });

  it("keep a run with no width (a lone combining mark) where it was, even at the end", () => {
    const { segments, swaps } = withPlaceholders([{ text: "ab\u0301" }, { text: "\u0301", color: "green" }]);
    expect(segments.map((s) => s.text)).toEqual(["ab", ""]);
    expect(swapBack("ab\x1b[32m\x1b[39m", swaps)).toBe("ab\u0301\u0301\x1b[32m\x1b[39m");
  });
});
