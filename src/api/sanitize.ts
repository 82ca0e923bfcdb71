// STUB (owner: api helper). Every server-provided string passes one of these before output.

/** One line of server text made safe for a terminal: controls become visible escapes, newlines too. */
export function sanitizeLine(text: string): string {
  return text;
}

/** Multi-line server text (pretty JSON, error bodies): like sanitizeLine but `\n` is kept. */
export function sanitizeMultiline(text: string): string {
  return text;
}
