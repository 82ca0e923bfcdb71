// Exact decimal money. A cost is a decimal string ("0.001234", "1e-6", "-0.5"); it is
// held as a BigInt count of 10^-scale units, so sums are exact (0.1 + 0.2 is 0.3) and no
// binary float is ever involved. Scales are variable: adding aligns to the larger one,
// and only display/serialisation trims trailing zeros.
//
// Unknown values (null, undefined, unparseable text) are skipped by the sums, never read
// as zero: sumUsd returns null only when nothing was known; sumUsdKnown also reports how
// many values were unknown so that a caller can flag a partial total.
import type { UsdAmount } from "./types.js";

export type { UsdAmount };

export const ZERO_USD: UsdAmount = { units: 0n, scale: 0 };

/** An exponent beyond this would make huge numbers out of a short string: treated as unparseable. */
const MAX_EXPONENT = 1000;
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

const POWERS_OF_TEN: bigint[] = [];
for (let i = 0, p = 1n; i <= 40; i++, p *= 10n) POWERS_OF_TEN.push(p);

function pow10(n: number): bigint {
  return POWERS_OF_TEN[n] ?? 10n ** BigInt(n);
}

/**
 * Fast path for plain decimals ("0.001234", "12"): at most 15 digits are exact in a
 * Number, and BigInt(number) is much cheaper than BigInt(string). Null when the text
 * needs the general parser.
 */
function parsePlain(text: string): UsdAmount | null {
  let value = 0;
  let digits = 0;
  let scale = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 46 /* . */ && scale < 0) {
      scale = 0;
    } else {
      return null;
    }
  }
  if (digits === 0 || digits > 15) return null;
  return { units: BigInt(value), scale: scale < 0 ? 0 : scale };
}

/** Parses a decimal string; null for null/undefined/anything that is not a decimal number. */
export function parseUsd(text: string | null | undefined): UsdAmount | null {
  if (text == null) return null;
  const plain = parsePlain(text);
  if (plain !== null) return plain;
  const m = DECIMAL.exec(text);
  if (m === null) return null;
  const intPart = m[2] ?? "";
  const fracPart = m[3] ?? "";
  if (intPart.length === 0 && fracPart.length === 0) return null;
  const exponent = m[4] === undefined ? 0 : Number(m[4]);
  if (!(Math.abs(exponent) <= MAX_EXPONENT)) return null;
  let units = BigInt(intPart + fracPart);
  if (m[1] === "-") units = -units;
  let scale = fracPart.length - exponent;
  if (scale < 0) {
    units *= pow10(-scale);
    scale = 0;
  }
  return { units, scale };
}

const CANONICAL = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;

/** Canonical text of `amount` parsed from `text`: `text` itself when already canonical (no copy). */
export function canonicalText(text: string, amount: UsdAmount): string {
  return CANONICAL.test(text) && text !== "-0" ? text : toUsdString(amount);
}

/** CANONICAL without a regex run (once per completed step). */
function isCanonical(text: string): boolean {
  const n = text.length;
  let i = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const first = text.charCodeAt(i);
  if (first === 48) {
    i++;
  } else if (first >= 49 && first <= 57) {
    do i++;
    while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57);
  } else {
    return false;
  }
  if (i === n) return text !== "-0";
  if (text.charCodeAt(i) !== 46 /* . */ || i + 1 === n) return false;
  for (i++; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return text.charCodeAt(n - 1) !== 48;
}

/** Canonical form of a decimal string, null when it is not one: `text` itself when already canonical. */
export function canonicalUsd(text: string | null | undefined): string | null {
  if (text == null) return null;
  if (isCanonical(text)) return text;
  const amount = parseUsd(text);
  return amount === null ? null : toUsdString(amount);
}

// ---------------------------------------------------------------------------
// Fast exact sums (issue 6: a BigInt amount per event was a large share of the
// reducer's time). A plain decimal with at most FAST_SCALE fraction digits and 15
// digits in all is an exact integer count of 10^-FAST_SCALE USD in a double, and
// integer sums stay exact below 2^53 (about $9,007 at this scale): UsdSum adds such
// costs as numbers and moves the running number into a UsdAmount before it could
// lose a unit. Every other cost goes to the UsdAmount directly.

const FAST_SCALE = 12;
const POWERS_OF_TEN_NUMBER: number[] = [];
for (let i = 0, p = 1; i <= FAST_SCALE; i++, p *= 10) POWERS_OF_TEN_NUMBER.push(p);

/** Units of 10^-FAST_SCALE in a plain decimal ("0.0012", "-3", "12.5"); NaN when it is not one or does not fit. */
function fastUnits(text: string): number {
  let i = 0;
  let negative = false;
  if (text.charCodeAt(0) === 45 /* - */) {
    negative = true;
    i = 1;
  }
  let value = 0;
  let digits = 0;
  let scale = -1;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 46 /* . */ && scale < 0) {
      scale = 0;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || digits > 15 || scale > FAST_SCALE) return NaN;
  const units = value * (POWERS_OF_TEN_NUMBER[FAST_SCALE - Math.max(scale, 0)] as number);
  if (!Number.isSafeInteger(units)) return NaN;
  return negative ? -units : units;
}

/** An exact running sum of decimal amounts (see above). */
export class UsdSum {
  private fast = 0;
  private exact: UsdAmount;

  constructor(start: UsdAmount = ZERO_USD) {
    this.exact = start;
  }

  /** Adds `text` (or removes it when `sign` is -1); false, and no change, when it is not a decimal. */
  add(text: string, sign: 1 | -1 = 1): boolean {
    const units = fastUnits(text);
    if (!Number.isNaN(units)) {
      if (Math.abs(this.fast) + Math.abs(units) > Number.MAX_SAFE_INTEGER) this.flush();
      this.fast += sign * units;
      return true;
    }
    const amount = parseUsd(text);
    if (amount === null) return false;
    this.exact = sign === 1 ? addAmounts(this.exact, amount) : subtractAmounts(this.exact, amount);
    return true;
  }

  total(): UsdAmount {
    this.flush();
    return this.exact;
  }

  private flush(): void {
    if (this.fast === 0) return;
    this.exact = addAmounts(this.exact, { units: BigInt(this.fast), scale: FAST_SCALE });
    this.fast = 0;
  }
}

export function addAmounts(a: UsdAmount, b: UsdAmount): UsdAmount {
  if (a.scale === b.scale) return { units: a.units + b.units, scale: a.scale };
  if (a.scale > b.scale) return { units: a.units + b.units * pow10(a.scale - b.scale), scale: a.scale };
  return { units: a.units * pow10(b.scale - a.scale) + b.units, scale: b.scale };
}

export function subtractAmounts(a: UsdAmount, b: UsdAmount): UsdAmount {
  return addAmounts(a, { units: -b.units, scale: b.scale });
}

export function compareAmounts(a: UsdAmount, b: UsdAmount): number {
  const d = subtractAmounts(a, b).units;
  return d === 0n ? 0 : d < 0n ? -1 : 1;
}

/** Canonical text: no exponent, no trailing zeros, "0" for zero, e.g. "0.001", "-0.5", "12". */
export function toUsdString(amount: UsdAmount): string {
  const negative = amount.units < 0n;
  const digits = (negative ? -amount.units : amount.units).toString();
  if (amount.units === 0n) return "0";
  if (amount.scale === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(amount.scale + 1, "0");
  const cut = padded.length - amount.scale;
  let end = padded.length;
  while (end > cut && padded.charCodeAt(end - 1) === 48 /* 0 */) end--;
  const text = end === cut ? padded.slice(0, cut) : `${padded.slice(0, cut)}.${padded.slice(cut, end)}`;
  return negative ? `-${text}` : text;
}

/** Canonical form of a decimal string; null when it is not one. */
export function normalizeUsd(text: string | null | undefined): string | null {
  const amount = parseUsd(text);
  return amount === null || text == null ? null : canonicalText(text, amount);
}

/** Exact a + b. An unknown operand is skipped; null only when both are unknown. */
export function addUsd(a: string | null | undefined, b: string | null | undefined): string | null {
  const x = parseUsd(a);
  const y = parseUsd(b);
  if (x === null) return y === null ? null : toUsdString(y);
  return toUsdString(y === null ? x : addAmounts(x, y));
}

/** Exact sum of the known values plus the number of unknown ones (null/undefined/unparseable). */
export function sumUsdKnown(values: Iterable<string | null | undefined>): { sum: string | null; unknown: number } {
  let total: UsdAmount | null = null;
  let unknown = 0;
  for (const value of values) {
    const amount = parseUsd(value);
    if (amount === null) unknown++;
    else total = total === null ? amount : addAmounts(total, amount);
  }
  return { sum: total === null ? null : toUsdString(total), unknown };
}

/** Exact sum of decimal strings, unknown values skipped; null when no value is known. */
export function sumUsd(values: Iterable<string | null | undefined>): string | null {
  return sumUsdKnown(values).sum;
}

/** Orders amounts numerically; unknown (null/unparseable) sorts before every known value. */
export function compareUsd(a: string | null | undefined, b: string | null | undefined): number {
  const x = parseUsd(a);
  const y = parseUsd(b);
  if (x === null) return y === null ? 0 : -1;
  if (y === null) return 1;
  return compareAmounts(x, y);
}

export interface FormatUsdOptions {
  /** Most fraction digits shown (default 6); rounding is half away from zero. */
  readonly digits?: number;
  /** ASCII only: "-" instead of "—" for unknown. */
  readonly ascii?: boolean;
}

/**
 * Display form: "$0.001234", "$0.30", "$12.50", "-$0.50". At most `digits` fraction
 * digits, trailing zeros trimmed down to two; never an exponent. A non-zero value that
 * rounds to zero shows as "<$0.000001" (">-$0.000001" below zero); unknown is "—" ("-").
 */
export function formatUsd(value: string | null | undefined, opts: FormatUsdOptions = {}): string {
  const amount = parseUsd(value);
  if (amount === null) return opts.ascii === true ? "-" : "—";
  const digits = Math.max(0, Math.floor(opts.digits ?? 6));
  const negative = amount.units < 0n;
  const magnitude = negative ? -amount.units : amount.units;
  let units = magnitude;
  if (amount.scale > digits) {
    const divisor = pow10(amount.scale - digits);
    units = magnitude / divisor + ((magnitude % divisor) * 2n >= divisor ? 1n : 0n);
  } else {
    units = magnitude * pow10(digits - amount.scale);
  }
  const sign = negative ? "-" : "";
  if (units === 0n && magnitude !== 0n) {
    const smallest = toUsdString({ units: 1n, scale: digits });
    return negative ? `>-$${smallest}` : `<$${smallest}`;
  }
  const text = toUsdString({ units, scale: digits });
  const dot = text.indexOf(".");
  const shownFraction = dot === -1 ? 0 : text.length - dot - 1;
  const minFraction = Math.min(2, digits);
  let padded = text;
  if (shownFraction < minFraction) padded = (dot === -1 ? `${text}.` : text) + "0".repeat(minFraction - shownFraction);
  return units === 0n ? `$${padded}` : `${sign}$${padded}`;
}
