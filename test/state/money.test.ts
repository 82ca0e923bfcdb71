import { describe, expect, it } from "vitest";
import {
  addUsd,
  compareUsd,
  formatUsd,
  normalizeUsd,
  parseUsd,
  sumUsd,
  sumUsdKnown,
  toUsdString,
} from "../../src/state/money.js";

describe("money: exact decimal sums", () => {
  it("0.1 + 0.2 is exactly 0.3", () => {
    expect(addUsd("0.1", "0.2")).toBe("0.3");
    expect(sumUsd(["0.1", "0.2"])).toBe("0.3");
  });

  it("1,000 x 0.000001 is exactly 0.001", () => {
    expect(sumUsd(Array.from({ length: 1000 }, () => "0.000001"))).toBe("0.001");
  });

  it("sums a million small costs without drifting", () => {
    expect(sumUsd(Array.from({ length: 1_000_000 }, () => "0.000123"))).toBe("123");
  });

  it("reads exponents, signs and odd spellings", () => {
    expect(normalizeUsd("1e-6")).toBe("0.000001");
    expect(normalizeUsd("1.5E3")).toBe("1500");
    expect(normalizeUsd("-0.5")).toBe("-0.5");
    expect(normalizeUsd("+.25")).toBe("0.25");
    expect(normalizeUsd("007.100")).toBe("7.1");
    expect(normalizeUsd("0.000")).toBe("0");
    expect(normalizeUsd("-0")).toBe("0");
    expect(normalizeUsd("12345678901234567890.123456789012345678901")).toBe("12345678901234567890.123456789012345678901");
    expect(addUsd("1e-6", "-0.5")).toBe("-0.499999");
  });

  it("treats anything that is not a decimal as unknown, never as zero", () => {
    for (const bad of ["", ".", "abc", "1.2.3", "1e", "0x10", "NaN", "Infinity", "1e99999"]) expect(parseUsd(bad)).toBeNull();
    expect(sumUsd([])).toBeNull();
    expect(sumUsd([null, undefined, "nope"])).toBeNull();
    expect(addUsd(null, null)).toBeNull();
    expect(addUsd(null, "0.5")).toBe("0.5");
  });

  it("skips unknown values but reports them, keeping the known sum exact", () => {
    expect(sumUsdKnown(["0.1", null, "0.2", undefined, "x"])).toEqual({ sum: "0.3", unknown: 3 });
    expect(sumUsdKnown([null])).toEqual({ sum: null, unknown: 1 });
    expect(sumUsd(["0.1", null, "0.2"])).toBe("0.3");
  });

  it("canonical strings have no trailing zeros and no exponent", () => {
    expect(toUsdString({ units: 1000n, scale: 6 })).toBe("0.001");
    expect(toUsdString({ units: -150n, scale: 2 })).toBe("-1.5");
    expect(toUsdString({ units: 0n, scale: 9 })).toBe("0");
    expect(toUsdString({ units: 42n, scale: 0 })).toBe("42");
  });

  it("compares numerically, unknown first", () => {
    expect(compareUsd("0.1", "0.10")).toBe(0);
    expect(compareUsd("0.09", "0.1")).toBe(-1);
    expect(compareUsd("1e-3", "0.0001")).toBe(1);
    expect(compareUsd(null, "0")).toBe(-1);
    expect(compareUsd("0", null)).toBe(1);
    expect(compareUsd(null, null)).toBe(0);
    expect(["0.3", null, "-1", "0.25"].sort(compareUsd)).toEqual([null, "-1", "0.25", "0.3"]);
  });
});

describe("formatUsd", () => {
  it("shows small costs in full and keeps two decimals at least", () => {
    expect(formatUsd("0.001234")).toBe("$0.001234");
    expect(formatUsd("0.3")).toBe("$0.30");
    expect(formatUsd("12")).toBe("$12.00");
    expect(formatUsd("1e-6")).toBe("$0.000001");
    expect(formatUsd("-0.5")).toBe("-$0.50");
    expect(formatUsd("0")).toBe("$0.00");
  });

  it("rounds half away from zero at the digit limit, never in scientific notation", () => {
    expect(formatUsd("0.0012345")).toBe("$0.001235");
    expect(formatUsd("0.0012344")).toBe("$0.001234");
    expect(formatUsd("1.005", { digits: 2 })).toBe("$1.01");
    expect(formatUsd("-1.005", { digits: 2 })).toBe("-$1.01");
    expect(formatUsd("123456789.5", { digits: 0 })).toBe("$123456790");
    expect(formatUsd("1e21")).toBe("$1000000000000000000000.00");
  });

  it("marks a non-zero amount too small to show", () => {
    expect(formatUsd("0.0000001")).toBe("<$0.000001");
    expect(formatUsd("-0.0000001")).toBe(">-$0.000001");
    expect(formatUsd("0.004", { digits: 2 })).toBe("<$0.01");
  });

  it("unknown is a dash (ASCII on request)", () => {
    expect(formatUsd(null)).toBe("—");
    expect(formatUsd(null, { ascii: true })).toBe("-");
    expect(formatUsd("garbage", { ascii: true })).toBe("-");
  });
});
