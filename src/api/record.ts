// The `--record FILE.ndjson` recording (issue 7 "Record and replay"): everything the
// monitor saw, one JSON object per line, so that `noukai-top replay` can feed it back
// through the same SSE decoder and reducer.
//
//   {"type":"header","format":"noukai-top-record","version":1,"executionId","flow","startedAt":"<ISO>"}
//   {"type":"frame","at":<epoch ms>,"event":"step_started","data":"<the data: text as sent>","id":"7"}
//   {"type":"stream/connecting","at","attempt"}        {"type":"stream/opened","at","resumed"}
//   {"type":"stream/closed","at","reason"}              {"type":"stream/reconnecting","at","attempt","delayMs","reason"}
//   {"type":"stream/ended","at"}                        {"type":"run/status","at","status"}
//   {"type":"trace/loaded","at","final","trace":{wire Trace}}
//   {"type":"attempts/loaded","at","stepId","loopIndex","attempts":[wire StepTrace...]}
//   {"type":"dropped","at","count","reason"}           (frames over the size limit: never decoded, so not in a frame line)
//
// Frames are the raw SSE frames (event, data, id) with their arrival time; what they
// decode to (events, malformed and unknown counts) is not written, replay decodes them
// again. Every other MonitorSignal is written as it was reported. A frame's line comes
// after the stream/opened line of its connection even when the monitor reported that
// signal after decoding the first chunk (a resumed stream is only known from its first id).
import { closeSync, openSync, writeSync } from "node:fs";
import { wireStepTrace, wireTrace } from "./exportFile.js";
import type { MonitorSignal } from "./signals.js";
import type { RawFrame } from "./sse.js";

export const RECORD_FORMAT = "noukai-top-record";
export const RECORD_FORMAT_VERSION = 1;

export interface RecordHeader {
  readonly type: "header";
  readonly format: typeof RECORD_FORMAT;
  readonly version: number;
  readonly executionId: string;
  /** `org/project/slug`. */
  readonly flow: string;
  /** ISO 8601 time the recording started. */
  readonly startedAt: string;
}

/** Buffered lines are written once this large, and after every signal. */
const FLUSH_BYTES = 64 * 1024;
/** The decoder's reason for a frame it dropped unread (sse.ts `frame over N bytes`). */
const DROPPED_FRAME_REASON = /^frame over \d+ bytes$/;

/** The line of one MonitorSignal, or null when replay derives it from the frames. */
export function signalLine(signal: MonitorSignal): Record<string, unknown> | null {
  switch (signal.type) {
    case "stream/events":
    case "stream/unknown":
      return null;
    case "stream/malformed":
      return DROPPED_FRAME_REASON.test(signal.reason)
        ? { type: "dropped", at: signal.at, count: signal.count, reason: signal.reason }
        : null;
    case "trace/loaded":
      return { type: signal.type, at: signal.at, final: signal.final, trace: wireTrace(signal.trace) };
    case "attempts/loaded":
      return {
        type: signal.type,
        at: signal.at,
        stepId: signal.stepId,
        loopIndex: signal.loopIndex,
        attempts: signal.attempts.map(wireStepTrace),
      };
    default:
      return { ...signal };
  }
}

export function frameLine(raw: RawFrame): Record<string, unknown> {
  const line: Record<string, unknown> = { type: "frame", at: raw.at, event: raw.event, data: raw.data };
  if (raw.id !== undefined) line.id = raw.id;
  return line;
}

export interface Recorder {
  /** Pass as monitorRun's onRawFrame. */
  onRawFrame(raw: RawFrame): void;
  /** Call with every signal the monitor reports (after or before the reducer: it keeps no state of its own). */
  onSignal(signal: MonitorSignal): void;
  /** Writes what is buffered and closes the file. Safe to call twice. */
  close(): void;
}

/**
 * Creates (or truncates) `path` and writes the header. Throws the fs error when the
 * file cannot be created. Writes are synchronous and flushed after every signal, so a
 * recording stopped by Ctrl+C or a kill holds everything up to the last chunk read.
 */
export function openRecorder(path: string, header: Omit<RecordHeader, "type" | "format" | "version">): Recorder {
  const fd = openSync(path, "w");
  let buffer = "";
  /** Frames of the chunk being decoded: written once the chunk's signals come. */
  let pendingFrames = "";
  let closed = false;

  const flush = (): void => {
    if (buffer === "" || closed) return;
    const text = buffer;
    buffer = "";
    writeSync(fd, text);
  };
  const append = (line: Record<string, unknown>): void => {
    buffer += `${JSON.stringify(line)}\n`;
    if (buffer.length >= FLUSH_BYTES) flush();
  };

  const full: RecordHeader = { type: "header", format: RECORD_FORMAT, version: RECORD_FORMAT_VERSION, ...header };
  append({ ...full });
  flush();

  return {
    onRawFrame(raw) {
      pendingFrames += `${JSON.stringify(frameLine(raw))}\n`;
    },
    onSignal(signal) {
      if (closed) return;
      const line = signalLine(signal);
      // A chunk's frames are reported by stream/events, /malformed or /unknown: every
      // other signal (stream/opened among them) belongs before them.
      const framesOfThisChunk =
        signal.type === "stream/events" || signal.type === "stream/malformed" || signal.type === "stream/unknown";
      if (line !== null) append(line);
      if (framesOfThisChunk && pendingFrames !== "") {
        buffer += pendingFrames;
        pendingFrames = "";
      }
      flush();
    },
    close() {
      if (closed) return;
      buffer += pendingFrames;
      pendingFrames = "";
      flush();
      closed = true;
      closeSync(fd);
    },
  };
}
