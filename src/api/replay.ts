// Plays a `--record` file back (record.ts describes the lines): frames go through the
// same SSE decoder as on the wire (re-encoded as SSE text, one decoder per recorded
// connection) and become stream/events; the other lines become the MonitorSignals they
// were (malformed and unknown counts as recorded, not as decoded again, so that their
// times and order are the monitor's); all paced by the recorded times divided by the speed.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";
import { RECORD_FORMAT, RECORD_FORMAT_VERSION, type RecordHeader } from "./record.js";
import { sanitizeLine } from "./sanitize.js";
import { StepTrace, Trace } from "./schemas.js";
import type { MonitorSignal } from "./signals.js";
import { createSseDecoder, type SseDecoder } from "./sse.js";
import { sleep } from "./sleep.js";

/** The recording cannot be used; the message is one line, starting with `line N:` when a line is at fault. */
export class RecordingError extends Error {
  override readonly name = "RecordingError";
}

const Header = z.object({
  type: z.literal("header"),
  format: z.literal(RECORD_FORMAT),
  version: z.number().int(),
  executionId: z.string(),
  flow: z.string(),
  startedAt: z.string(),
});

const At = z.number().finite();
const SignalLine = z.discriminatedUnion("type", [
  z.object({ type: z.literal("stream/connecting"), at: At, attempt: z.number().int() }),
  z.object({ type: z.literal("stream/opened"), at: At, resumed: z.boolean() }),
  z.object({ type: z.literal("stream/closed"), at: At, reason: z.string() }),
  z.object({
    type: z.literal("stream/reconnecting"),
    at: At,
    attempt: z.number().int(),
    delayMs: z.number(),
    reason: z.string(),
  }),
  z.object({ type: z.literal("stream/ended"), at: At }),
  z.object({ type: z.literal("run/status"), at: At, status: z.string() }),
  z.object({ type: z.literal("trace/loaded"), at: At, final: z.boolean(), trace: Trace }),
  z.object({
    type: z.literal("attempts/loaded"),
    at: At,
    stepId: z.string(),
    loopIndex: z.number().int().nullable(),
    attempts: z.array(StepTrace),
  }),
  z.object({ type: z.literal("stream/malformed"), at: At, count: z.number().int(), reason: z.string() }),
  z.object({ type: z.literal("stream/unknown"), at: At, count: z.number().int() }),
]);
type SignalLine = z.infer<typeof SignalLine>;

interface FrameLine {
  readonly type: "frame";
  readonly at: number;
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

type RecordEntry = FrameLine | SignalLine;

/** Frames are most of a recording: checked by hand, not by zod. */
function asFrame(value: Record<string, unknown>): FrameLine | null {
  const { at, event, data, id } = value;
  if (typeof at !== "number" || !Number.isFinite(at) || typeof event !== "string" || typeof data !== "string") return null;
  if (id !== undefined && typeof id !== "string") return null;
  // An SSE field value cannot hold a line end (it would end the field); `data` may (multi-line data).
  if (/[\r\n]/.test(event) || (id !== undefined && /[\r\n]/.test(id))) return null;
  return id === undefined ? { type: "frame", at, event, data } : { type: "frame", at, event, data, id };
}

function parseEntry(text: string, lineNumber: number): RecordEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RecordingError(`line ${String(lineNumber)}: not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RecordingError(`line ${String(lineNumber)}: not a JSON object`);
  }
  const record = value as Record<string, unknown>;
  if (record.type === "frame") {
    const frame = asFrame(record);
    if (frame === null) throw new RecordingError(`line ${String(lineNumber)}: invalid frame`);
    return frame;
  }
  const parsed = SignalLine.safeParse(record);
  if (!parsed.success) {
    const type = typeof record.type === "string" ? sanitizeLine(record.type).slice(0, 40) : "?";
    throw new RecordingError(`line ${String(lineNumber)}: invalid ${type} line`);
  }
  return parsed.data;
}

export interface Recording {
  readonly header: RecordHeader;
  /** The entries after the header, read as they are consumed (once). */
  readonly entries: AsyncIterable<RecordEntry>;
  /** Stops reading (when the replay is abandoned before the end). */
  close(): void;
}

/**
 * Opens a recording and checks its header. Throws RecordingError for a file that is not
 * a recording, and the fs error (ENOENT, EACCES, ...) for one that cannot be read. A
 * last line cut short (the recording process was killed mid-write) is ignored.
 */
export async function openRecording(path: string): Promise<Recording> {
  const input = createReadStream(path, { encoding: "utf8" });
  // The open error (ENOENT, EISDIR) surfaces here rather than from the first read.
  await new Promise<void>((resolve, reject) => {
    input.once("ready", () => resolve());
    input.once("error", reject);
  });
  const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done === true) throw new RecordingError("empty file: not a noukai-top recording");
  let headerValue: unknown;
  try {
    headerValue = JSON.parse(first.value.replace(/^\uFEFF/, ""));
  } catch {
    headerValue = null;
  }
  const header = Header.safeParse(headerValue);
  if (!header.success) {
    input.destroy();
    throw new RecordingError(`not a noukai-top recording (the first line is not a ${RECORD_FORMAT} header)`);
  }
  if (header.data.version > RECORD_FORMAT_VERSION) {
    input.destroy();
    throw new RecordingError(
      `recorded by a newer noukai-top (format ${String(header.data.version)}; this one reads ${String(RECORD_FORMAT_VERSION)})`,
    );
  }

  async function* entries(): AsyncGenerator<RecordEntry> {
    let lineNumber = 1;
    // One line of look-ahead: only the very last line may be cut short.
    let previous: string | null = null;
    for (;;) {
      const next = await lines.next();
      if (previous !== null && previous.trim() !== "") {
        try {
          yield parseEntry(previous, lineNumber);
        } catch (error) {
          if (!next.done || !(error instanceof RecordingError)) throw error;
        }
      }
      if (next.done === true) return;
      previous = next.value;
      lineNumber++;
    }
  }

  return { header: { ...header.data, format: RECORD_FORMAT }, entries: entries(), close: () => input.destroy() };
}

export interface ReplayOptions {
  /** Recorded time is divided by this; 0 (or Infinity) plays as fast as possible. */
  readonly speed: number;
  readonly signal: AbortSignal;
  readonly onSignal: (signal: MonitorSignal) => void;
  /**
   * The time a signal reports for a recorded time. Default: the recorded time itself
   * (a replay reports the run as it happened). The TUI maps it onto its own clock.
   */
  readonly mapTime?: (recordedAt: number) => number;
}

/** `event:`/`data:`/`id:` lines of one frame, as a server would send it. */
function encodeFrame(frame: FrameLine): string {
  let text = frame.event === "" ? "" : `event: ${frame.event}\n`;
  for (const line of frame.data.split("\n")) text += `data: ${line}\n`;
  if (frame.id !== undefined) text += `id: ${frame.id}\n`;
  return `${text}\n`;
}

/** How many entries are handled between two yields to the event loop at full speed. */
const ENTRIES_PER_TURN = 2_000;

/**
 * Feeds the recording to `onSignal` until its end (resolves) or the abort (rejects with
 * the signal's reason). Consecutive frames with one arrival time are decoded together,
 * as they arrived in one chunk.
 */
export async function replayRecording(recording: Recording, options: ReplayOptions): Promise<void> {
  const { signal, onSignal } = options;
  const mapTime = options.mapTime ?? ((at: number) => at);
  const pace = options.speed > 0 && Number.isFinite(options.speed);
  const wallStart = performance.now();
  let firstAt: number | null = null;
  // The decoder reads its clock once per push: each chunk gets its own arrival time.
  let chunkAt = 0;
  const newDecoder = (): SseDecoder => createSseDecoder({ now: () => chunkAt });
  let decoder = newDecoder();
  let pendingText = "";
  let pendingAt = 0;
  let sinceYield = 0;

  const flushFrames = (): void => {
    if (pendingText === "") return;
    chunkAt = mapTime(pendingAt);
    // Only the events: the malformed and unknown counts have lines of their own.
    const { events } = decoder.push(Buffer.from(pendingText, "utf8"));
    pendingText = "";
    if (events.length > 0) onSignal({ type: "stream/events", events });
  };

  const waitUntil = async (at: number): Promise<void> => {
    signal.throwIfAborted();
    firstAt ??= at;
    const dueMs = pace ? (at - firstAt) / options.speed - (performance.now() - wallStart) : 0;
    if (dueMs > 0) {
      await sleep(dueMs, signal);
      sinceYield = 0;
    } else if (++sinceYield >= ENTRIES_PER_TURN) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
      signal.throwIfAborted();
    }
  };

  try {
    for await (const entry of recording.entries) {
      if (entry.type === "frame") {
        if (pendingText !== "" && entry.at !== pendingAt) flushFrames();
        if (pendingText === "") await waitUntil(entry.at);
        pendingAt = entry.at;
        pendingText += encodeFrame(entry);
        continue;
      }
      flushFrames();
      await waitUntil(entry.at);
      const at = mapTime(entry.at);
      if (entry.type === "stream/malformed") {
        // The recorded reason was sanitized by the monitor; a hand-made file's may not be.
        onSignal({ ...entry, reason: sanitizeLine(entry.reason), at });
        continue;
      }
      // A new connection gets a new decoder, as the monitor makes one per connection.
      if (entry.type === "stream/connecting") decoder = newDecoder();
      onSignal({ ...entry, at });
    }
    flushFrames();
  } finally {
    recording.close();
  }
}
