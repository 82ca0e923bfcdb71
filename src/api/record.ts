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
//   {"type":"stream/malformed","at","count","reason"}  {"type":"stream/unknown","at","count"}
//
// Frames are the raw SSE frames (event, data, id) with their arrival time; the events
// they decode to are not written, replay decodes the frames again. Every other
// MonitorSignal is written as it was reported, the malformed and unknown counts among
// them (a frame over the size limit never reaches a frame line, and the counts keep the
// times and order the monitor reported them with). A chunk's frame lines come after the
// signals the monitor reported before that chunk's events, stream/opened among them
// (for a resumed stream it is only reported once the first id was decoded).
// An API key a server echoed back is masked (redact.ts), as in every output: a recording
// is made to be attached to bug reports.
import { closeSync, openSync, writeSync } from "node:fs";
import { wireStepTrace, wireTrace } from "./exportFile.js";
import { redactSecrets } from "./redact.js";
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

/** The line of one MonitorSignal, or null for stream/events (replay decodes the frames again). */
export function signalLine(signal: MonitorSignal): Record<string, unknown> | null {
  switch (signal.type) {
    case "stream/events":
      return null;
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
    // Whole lines only: a key cannot be split between two writes.
    const text = redactSecrets(buffer);
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
      // A chunk's signals are stream/events, then /malformed, then /unknown: its frames
      // go before the first of them, after any other signal (stream/opened among them).
      const ofThisChunk =
        signal.type === "stream/events" || signal.type === "stream/malformed" || signal.type === "stream/unknown";
      if (ofThisChunk && pendingFrames !== "") {
        buffer += pendingFrames;
        pendingFrames = "";
      }
      const line = signalLine(signal);
      if (line !== null) append(line);
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
