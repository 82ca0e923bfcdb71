// Bounded previews of payload values (issue 5, "Bounded memory"): a 10 MB step
// output is never kept whole in state, only its size and its first characters.
import type { PayloadPreview } from "./schemas.js";

/** Longest JSON text kept in a preview, in UTF-16 code units. */
export const PREVIEW_MAX_CHARS = 4096;

/**
 * The value's JSON text cut to PREVIEW_MAX_CHARS, with the UTF-8 size of the whole
 * text. One JSON.stringify and one native byte count: linear in the value's size.
 * `undefined` (no JSON form) previews as `null`.
 */
export function toPreview(value: unknown): PayloadPreview {
  const text = JSON.stringify(value) ?? "null";
  const sizeBytes = Buffer.byteLength(text, "utf8");
  if (text.length <= PREVIEW_MAX_CHARS) return { json: text, sizeBytes, truncated: false };
  let end = PREVIEW_MAX_CHARS;
  // Do not split a surrogate pair: half of one is not valid Unicode.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { json: detach(text.slice(0, end)), sizeBytes, truncated: true };
}

/**
 * A copy of `slice` that does not point into its parent string. V8 represents a
 * long slice as a view of the parent, so a 4 KB preview would otherwise keep the
 * whole 10 MB JSON text alive for as long as the preview lives.
 */
function detach(slice: string): string {
  return Buffer.from(slice, "utf8").toString("utf8");
}
