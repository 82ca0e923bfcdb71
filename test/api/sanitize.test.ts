import { describe, expect, it } from "vitest";
import { sanitizeLine, sanitizeMultiline } from "../../src/api/sanitize.js";

/** What a hostile server may put in any string field (issue 5, "Hostile text"). */
const HOSTILE: Record<string, string> = {
  "OSC 0 (window title)": "\x1b]0;pwned title\x07",
  "OSC 8 (hyperlink)": "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
  "OSC 52 (clipboard)": "\x1b]52;c;cm0gLXJmIH4K\x07",
  CSI: "\x1b[2J\x1b[1;1H\x1b[31mred\x1b[0m",
  DCS: "\x1bPq#0;2;0;0;0#1;2;100;100;0\x1b\\",
  APC: "\x1b_Gf=100,a=T;payload\x1b\\",
  "raw 0x9B (C1 CSI)": "\u009b31mred\u009b0m",
  "raw 0x9D (C1 OSC)": "\u009d0;title\u009c",
  "unterminated OSC": "\x1b]0;this never ends",
  "carriage return": "all good\rEVIL OVERWRITE",
  backspace: "rm -rf\b\b\b\b\b\bls",
  NUL: "before\0after",
  "U+202E (right-to-left override)": "invoice\u202Etxt.exe",
  "bidi isolates": "a\u2066b\u2067c\u2068d\u2069e",
  DEL: "x\x7fy",
  "every C0": Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(""),
  "every C1": Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x80 + i)).join(""),
};

/** Fails when `text` could make a terminal do anything but print it. */
function expectTerminalSafe(text: string, allowNewline: boolean): void {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const isControl = code <= 0x1f || (code >= 0x7f && code <= 0x9f);
    const isBidi = (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
    const isSurrogate = code >= 0xd800 && code <= 0xdfff;
    if ((isControl && !(allowNewline && char === "\n")) || isBidi || isSurrogate) {
      throw new Error(`unsafe U+${code.toString(16).padStart(4, "0")} in ${JSON.stringify(text)}`);
    }
  }
  for (const byte of Buffer.from(text, "utf8")) {
    expect(byte === 0x7f || (byte <= 0x1f && !(allowNewline && byte === 0x0a))).toBe(false);
  }
}

describe("sanitizeLine", () => {
  for (const [name, input] of Object.entries(HOSTILE)) {
    it(`neutralises ${name}`, () => {
      const line = sanitizeLine(`step ${input} done\n`);
      expectTerminalSafe(line, false);
      expect(line).not.toContain("\n");
      const multi = sanitizeMultiline(`step ${input} done\n`);
      expectTerminalSafe(multi, true);
    });
  }

  it("shows escapes as visible text and keeps the rest", () => {
    expect(sanitizeLine("\x1b]0;pwned\x07")).toBe("\\x1b]0;pwned\\x07");
    expect(sanitizeLine("a\u009bb\u009dc")).toBe("a\\x9bb\\x9dc");
    expect(sanitizeLine("a\0b\x7fc\bd")).toBe("a\\x00b\\x7fc\\x08d");
    expect(sanitizeLine("ok\rEVIL")).toBe("ok\\rEVIL");
    expect(sanitizeLine("abc\u202Eexe")).toBe("abc\\u202eexe");
    expect(sanitizeLine("one\ntwo")).toBe("one\\ntwo");
    expect(sanitizeLine("a\tb")).toBe("a b");
  });

  it("returns clean text unchanged, including non-ASCII and astral characters", () => {
    const clean = "résumé 東京 😀 – “quotes” \u00a0 ok";
    expect(sanitizeLine(clean)).toBe(clean);
    expect(sanitizeMultiline(`${clean}\n${clean}`)).toBe(`${clean}\n${clean}`);
  });

  it("replaces lone surrogates by U+FFFD but keeps pairs", () => {
    expect(sanitizeLine("a\uD83Db")).toBe("a\uFFFDb");
    expect(sanitizeLine("a\uDE00b")).toBe("a\uFFFDb");
    expect(sanitizeLine("end\uD83D")).toBe("end\uFFFD");
    expect(sanitizeLine("\uD83D\uDE00")).toBe("😀");
  });

  it("is idempotent", () => {
    for (const input of Object.values(HOSTILE)) {
      const once = sanitizeLine(input);
      expect(sanitizeLine(once)).toBe(once);
      const onceMulti = sanitizeMultiline(input);
      expect(sanitizeMultiline(onceMulti)).toBe(onceMulti);
    }
  });
});

describe("sanitizeMultiline", () => {
  it("keeps newlines, turns CRLF into LF and tabs into one space", () => {
    expect(sanitizeMultiline("{\n\t\"a\": 1\r\n}")).toBe('{\n "a": 1\n}');
  });

  it("still escapes a lone carriage return and other controls", () => {
    expect(sanitizeMultiline("line\rover\n\x1b[2Jx")).toBe("line\\rover\n\\x1b[2Jx");
  });
});
