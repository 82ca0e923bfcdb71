// JSON text safe to print on a terminal. JSON.stringify escapes C0 controls and
// lone surrogates, but leaves DEL, C1 controls (U+0080-U+009F: 0x9B is a one-byte
// CSI on many terminals), the line separators U+2028/U+2029 and bidi controls raw.
// They can only occur inside strings, so escaping them as \uXXXX keeps the JSON valid.
// An API key a server echoed back is masked (key characters need no JSON escape, so
// the key appears as is in the text; its mask is valid inside a JSON string).
import { redactSecrets } from "../../api/redact.js";

const UNESCAPED = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

export function safeJson(value: unknown, indent?: number): string {
  return safeJsonText(JSON.stringify(value, null, indent));
}

/** JSON text (whole values only: a key cut between two texts would not be masked) made safe. */
export function safeJsonText(text: string): string {
  return redactSecrets(text).replace(UNESCAPED, escape);
}
