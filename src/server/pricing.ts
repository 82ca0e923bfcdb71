// List prices and exact step costs. Prices are decimal strings in USD per 1M tokens;
// a cost is tokens × price / 1M computed on BigInt, so it is exact to the last digit.

export interface ModelPrice {
  /** USD per 1M prompt (input) tokens, a decimal string with at most 6 decimals. */
  readonly input: string;
  /** USD per 1M completion (output) tokens; reasoning tokens are billed at this price too. */
  readonly output: string;
}

/** Public list prices (USD per 1M tokens) of the models the built-in flows use. */
export const LIST_PRICES: Readonly<Record<string, ModelPrice>> = {
  "gpt-4o": { input: "2.50", output: "10.00" },
  "gpt-4o-mini": { input: "0.15", output: "0.60" },
  "gpt-4.1": { input: "2.00", output: "8.00" },
  "gpt-4.1-mini": { input: "0.40", output: "1.60" },
  "o4-mini": { input: "1.10", output: "4.40" },
  "claude-sonnet-4": { input: "3.00", output: "15.00" },
  "claude-opus-4": { input: "15.00", output: "75.00" },
  "claude-3-5-haiku": { input: "0.80", output: "4.00" },
  "gemini-2.5-flash": { input: "0.30", output: "2.50" },
};

export const PRICE_PATTERN = /^\d{1,9}(\.\d{1,6})?$/;
const PRICE_DECIMALS = 6;
/** A cost is kept in units of 1e-12 USD: price (1e-6 USD) per 1e6 tokens. */
const COST_DECIMALS = PRICE_DECIMALS + 6;
/** Decimals always shown, like the documentation's "0.001234". */
const MIN_SHOWN_DECIMALS = 6;

function priceInMicroUsd(price: string): bigint {
  if (!PRICE_PATTERN.test(price)) throw new Error(`price "${price}" is not a decimal with at most 6 decimals`);
  const [whole = "0", fraction = ""] = price.split(".");
  return BigInt(whole + fraction.padEnd(PRICE_DECIMALS, "0"));
}

function formatScaled(units: bigint, decimals: number): string {
  const digits = units.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, -decimals);
  let fraction = digits.slice(-decimals);
  while (fraction.length > MIN_SHOWN_DECIMALS && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
  return `${whole}.${fraction}`;
}

/** Exact cost of one model call as a decimal string, e.g. "0.003750". */
export function costUsd(price: ModelPrice, promptTokens: number, billedCompletionTokens: number): string {
  const units =
    BigInt(promptTokens) * priceInMicroUsd(price.input) + BigInt(billedCompletionTokens) * priceInMicroUsd(price.output);
  return formatScaled(units, COST_DECIMALS);
}
