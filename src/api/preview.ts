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
  return previewOfJson(JSON.stringify(value) ?? "null");
}

/** The preview of a value whose JSON.stringify text is `text`. */
export function previewOfJson(text: string): PayloadPreview {
  const sizeBytes = Buffer.byteLength(text, "utf8");
  if (text.length <= PREVIEW_MAX_CHARS) return { json: text, sizeBytes, truncated: false };
  return { json: previewHead(text), sizeBytes, truncated: true };
}

/**
 * The first PREVIEW_MAX_CHARS code units of a longer text, as a string of its own.
 * A cut never splits a surrogate pair: half of one is not valid Unicode.
 */
export function previewHead(text: string): string {
  let end = PREVIEW_MAX_CHARS;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return detach(text.slice(0, end));
}

/**
 * A copy of `slice` that does not point into its parent string. V8 represents a
 * long slice as a view of the parent, so a 4 KB preview would otherwise keep the
 * whole 10 MB JSON text alive for as long as the preview lives.
 */
function detach(slice: string): string {
  return Buffer.from(slice, "utf8").toString("utf8");
}
