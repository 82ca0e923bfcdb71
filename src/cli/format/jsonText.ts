// JSON text safe to print on a terminal: see safeJsonText in api/sanitize.ts.
import { safeJsonText } from "../../api/sanitize.js";

export { safeJsonText };

export function safeJson(value: unknown, indent?: number): string {
  return safeJsonText(JSON.stringify(value, null, indent));
}
