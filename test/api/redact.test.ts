import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { maskKey, redactSecrets, registerSecret } from "../../src/api/redact.js";
import { redactError } from "../../src/api/sanitize.js";

const KEY = "nk_live_Zq81xYv0TbW3kL9mPq2R7s";

describe("redactSecrets", () => {
  it("masks any nk_ token as nk_… plus its last 4 characters", () => {
    expect(redactSecrets(`Authorization: Bearer ${KEY}`)).toBe("Authorization: Bearer nk_…2R7s");
    expect(redactSecrets(`a ${KEY}, b "${KEY}"`)).not.toContain(KEY);
  });

  it("masks a key the caller knows even when it has characters outside the token shape", () => {
    const odd = "nk_abc.def~ghi!jkl+mno";
    const out = redactSecrets(`key=${odd};`, [odd]);
    expect(out).toBe("key=nk_…+mno;");
    expect(out).not.toContain("abc.def");
  });

  it("leaves text without keys alone, including short nk_ words", () => {
    expect(redactSecrets("nothing secret here")).toBe("nothing secret here");
    expect(redactSecrets("nk_ab is too short to be a key")).toBe("nk_ab is too short to be a key");
  });

  it("does not hint at a short key", () => {
    expect(maskKey("nk_abcdefgh")).toBe("nk_…");
    expect(maskKey(KEY)).toBe("nk_…2R7s");
  });

  it("is idempotent", () => {
    const once = redactSecrets(`x ${KEY} y`);
    expect(redactSecrets(once)).toBe(once);
  });

  it("masks a registered key in every later call", () => {
    const odd = "nk_with.dots.and~tilde.0042";
    registerSecret(odd);
    expect(redactSecrets(`value ${odd}`)).not.toContain("with.dots");
  });

  it("masks a registered key without the prefix too (the prefix search is only a shortcut)", () => {
    expect(redactSecrets("plain text")).toBe("plain text");
    registerSecret("legacy-key-0000000042");
    expect(redactSecrets("value legacy-key-0000000042 end")).toBe("value nk_…0042 end");
  });
});

describe("redactError", () => {
  it("masks the key in message and stack and drops the cause", () => {
    const cause = new Error(`inner ${KEY}`);
    const original = new TypeError(`failed with ${KEY}\x1b[2J`, { cause });
    const safe = redactError(original);
    expect(safe.name).toBe("TypeError");
    expect(safe.message).toBe("failed with nk_…2R7s\\x1b[2J");
    expect(safe.stack).toContain("nk_…2R7s");
    for (const text of [safe.message, safe.stack ?? "", String(safe), inspect(safe)]) {
      expect(text).not.toContain(KEY);
    }
    expect(safe.cause).toBeUndefined();
  });

  it("wraps values that are not Errors", () => {
    expect(redactError(`plain ${KEY}`).message).toBe("plain nk_…2R7s");
    expect(redactError(Object.create(null)).message).toBe("[object Object]");
  });
});
