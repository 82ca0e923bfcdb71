// The memory the SSE worker (sseWorker.ts) and the thread that owns the stream
// (streamDecoder.ts) share: the bytes handed to the worker, the records it writes
// back, and the counters between them. Both sides import the layout from here.
//
// Bytes: a ring the owner copies each chunk into. A push is one contiguous range of
// it, described in a slot of `control`; the owner frees the range once it has read
// the push's records (their string fields point into it).
// Records: fixed-size Float64 slots. A scanned frame's record holds its byte ranges
// and the fields scanFields found (SCANNED_FIELDS), so no string crosses threads;
// anything else the worker decoded comes as a batch on a MessagePort, and a record
// marks where it goes in the stream order.
import { SCANNED_FIELDS } from "./eventScan.js";

export const RING_BYTES = 4 * 1024 * 1024;
/** Larger chunks are handed over in pieces of this size. */
export const MAX_PUSH_BYTES = RING_BYTES / 4;
/** Pushes handed over and not yet read back. */
export const PUSH_SLOTS = 256;

/** Record kinds (slot + R_KIND). */
export const REC_SCANNED = 1;
/** The next batch on the port goes here. */
export const REC_SIDE = 2;
/** The records of the oldest push handed over are all written. */
export const REC_PUSH_END = 3;
/** The end of the stream was decoded (its batch, if any, came just before). */
export const REC_END = 4;

export const R_KIND = 0;
export const R_TYPE = 1;
export const R_DATA_START = 2;
export const R_DATA_END = 3;
export const R_ID_START = 4;
export const R_ID_END = 5;
export const R_FIELDS = 6;
export const RECORD_DOUBLES = R_FIELDS + SCANNED_FIELDS.length;
export const RECORD_SLOTS = 4096;

/** Int32 indices of `control`. */
export const C_READY = 0;
/** The worker failed; its error came on the port. */
export const C_FAILED = 1;
/** Pushes handed over (a wrapping count). */
export const C_PUSHES = 2;
/** Records written and read (wrapping counts). */
export const C_WRITTEN = 3;
export const C_READ = 4;
/** The worker waits for record slots to be read. */
export const C_WORKER_WAITS = 5;
/** Push slot k: start and length at C_SLOTS + 2k (length -1: the end of the stream). */
export const C_SLOTS = 8;
export const CONTROL_INTS = C_SLOTS + 2 * PUSH_SLOTS;

export interface HandOffMemory {
  readonly bytes: SharedArrayBuffer;
  readonly records: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly maxFrameBytes: number;
}

export function allocateHandOff(maxFrameBytes: number): HandOffMemory {
  return {
    bytes: new SharedArrayBuffer(RING_BYTES),
    records: new SharedArrayBuffer(RECORD_SLOTS * RECORD_DOUBLES * 8),
    control: new SharedArrayBuffer(CONTROL_INTS * 4),
    maxFrameBytes,
  };
}
