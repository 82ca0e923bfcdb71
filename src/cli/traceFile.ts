// Reading a .trace.json file for view and diff: the content, or one line saying why not.
import { readFileSync } from "node:fs";
import { ExportFileError, parseExportFile, type ExportContent } from "../api/exportFile.js";
import { sanitizeLine } from "../api/sanitize.js";
import { quote } from "./args.js";

/** The file's content, or a one-line reason (without a prefix) it cannot be used. */
export function readExportFile(path: string): ExportContent | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return { error: `cannot read ${quote(path)} (${(error as NodeJS.ErrnoException).code ?? "failed"})` };
  }
  try {
    return parseExportFile(text);
  } catch (error) {
    if (error instanceof ExportFileError) return { error: `cannot read ${quote(path)}: ${sanitizeLine(error.message)}` };
    throw error;
  }
}
