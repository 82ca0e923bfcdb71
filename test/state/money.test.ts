import { describe, expect, it } from "vitest";
import {
  addUsd,
  canonicalText,
  canonicalUsd,
  compareUsd,
  formatUsd,
  normalizeUsd,
  parseUsd,
  sumUsd,
  sumUsdKnown,
  toUsdString,
  UsdSum,
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

describe("UsdSum: running sums, fast and exact", () => {
  const total = (sum: UsdSum): string => toUsdString(sum.total());

  it("adds and removes plain costs exactly", () => {
    const sum = new UsdSum();
    for (let i = 0; i < 10; i++) sum.add("0.1");
    sum.add("0.2");
    expect(total(sum)).toBe("1.2");
    sum.add("0.1", -1);
    expect(total(sum)).toBe("1.1");
    sum.add("-1.1");
    expect(total(sum)).toBe("0");
  });

  it("mixes in what the number path cannot hold: exponents, long or very small decimals", () => {
    const sum = new UsdSum(parseUsd("5") ?? undefined);
    sum.add("1e-20");
    sum.add("12345678901234567890.5");
    sum.add("0.000000000001");
    sum.add("0.0000000000001");
    expect(total(sum)).toBe("12345678901234567895.50000000000110000001");
    sum.add("12345678901234567890.5", -1);
    expect(total(sum)).toBe("5.00000000000110000001");
  });

  it("stays exact past 2^53 units of 10^-12 USD (about $9,007)", () => {
    const sum = new UsdSum();
    // 999.999999999999 is 999,999,999,999,999 units: ten of them pass 2^53 units.
    for (let i = 0; i < 10; i++) sum.add("999.999999999999");
    sum.add("0.000000000001");
    expect(total(sum)).toBe("9999.999999999991");
    for (let i = 0; i < 10; i++) sum.add("-999.999999999999");
    expect(total(sum)).toBe("0.000000000001");
  });

  it("leaves the sum unchanged for text that is not a decimal", () => {
    const sum = new UsdSum();
    expect(sum.add("0.5")).toBe(true);
    expect(sum.add("free")).toBe(false);
    expect(sum.add("")).toBe(false);
    expect(sum.add("1.2.3")).toBe(false);
    expect(total(sum)).toBe("0.5");
  });

  it("canonicalUsd keeps canonical text as is and agrees with canonicalText", () => {
    const texts = ["0", "-0", "0.5", "-0.5", "0.50", "00.5", "12", "012", "1.", ".5", "+1", "1e3", "0.000123", "10.01", "1.0", "-", "", "abc"];
    for (const text of texts) {
      const amount = parseUsd(text);
      expect(canonicalUsd(text), text).toBe(amount === null ? null : canonicalText(text, amount));
    }
    const canonical = "0.000123";
    expect(canonicalUsd(canonical)).toBe(canonical);
    expect(canonicalUsd(null)).toBeNull();
  });
});
