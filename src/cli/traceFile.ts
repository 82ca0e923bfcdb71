// Reading a .trace.json file for view and diff: the content, or one line saying why not.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { ExportFileError, exportFileReader, parseExportFile, type ExportContent } from "../api/exportFile.js";
import { BodyError } from "../api/jsonBody.js";
import { sanitizeLine } from "../api/sanitize.js";
import { quote } from "./args.js";

/** Bytes read at a time: a fresh buffer each, as the reader may keep the last one. */
const READ_BYTES = 1024 * 1024;

/**
 * The file's content, or a one-line reason (without a prefix) it cannot be used. A regular
 * file is read a megabyte at a time into exportFileReader; only a file it refuses is read
 * again whole, by parseExportFile, for the words of the error.
 */
export function readExportFile(path: string): ExportContent | { error: string } {
  try {
    // A pipe (`view <(…)`) can be read only once: whole, with the words.
    if (!statSync(path).isFile()) return readWhole(path);
    return readInPieces(path);
  } catch (error) {
    if (error instanceof BodyError) return readWhole(path);
    return failure(path, error);
  }
}

function readInPieces(path: string): ExportContent {
  const fd = openSync(path, "r");
  try {
    const reader = exportFileReader();
    for (;;) {
      const chunk = Buffer.allocUnsafe(READ_BYTES);
      const read = readSync(fd, chunk, 0, READ_BYTES, null);
      if (read === 0) break;
      reader.push(chunk.subarray(0, read));
    }
    return reader.end();
  } finally {
    closeSync(fd);
  }
}

function readWhole(path: string): ExportContent | { error: string } {
  try {
    return parseExportFile(readFileSync(path, "utf8"));
  } catch (error) {
    return failure(path, error);
  }
}

function failure(path: string, error: unknown): { error: string } {
  if (error instanceof ExportFileError) return { error: `cannot read ${quote(path)}: ${sanitizeLine(error.message)}` };
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === "string") return { error: `cannot read ${quote(path)} (${code})` };
  throw error;
}
