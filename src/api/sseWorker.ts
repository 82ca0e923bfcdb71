// The SSE worker: frames and scans the bytes the stream's thread hands over (see
// sseHandOff.ts), on the other core. It blocks in Atomics.wait between pushes and
// has no event loop work of its own.
import { type MessagePort, workerData } from "node:worker_threads";
import { SCANNED_FIELDS } from "./eventScan.js";
import {
  C_FAILED,
  C_PUSHES,
  C_READ,
  C_READY,
  C_SLOTS,
  C_WORKER_WAITS,
  C_WRITTEN,
  PUSH_SLOTS,
  R_DATA_END,
  R_DATA_START,
  R_FIELDS,
  R_ID_END,
  R_ID_START,
  R_KIND,
  R_TYPE,
  REC_END,
  REC_PUSH_END,
  REC_SCANNED,
  REC_SIDE,
  RECORD_DOUBLES,
  RECORD_SLOTS,
  type HandOffMemory,
} from "./sseHandOff.js";
import { createSseDecoder, type SseBatch } from "./sse.js";

const memory = workerData as HandOffMemory & { readonly port: MessagePort; readonly midStream: boolean };
const port = memory.port;
const bytes = Buffer.from(memory.bytes);
const records = new Float64Array(memory.records);
const control = new Int32Array(memory.control);
const fields = SCANNED_FIELDS;
const fieldCount = fields.length;

let written = 0;

/** The next free record slot (waits while every slot is unread). */
function nextSlot(): number {
  for (;;) {
    const read = Atomics.load(control, C_READ);
    if (((written - read) | 0) < RECORD_SLOTS) return (written & (RECORD_SLOTS - 1)) * RECORD_DOUBLES;
    Atomics.store(control, C_WORKER_WAITS, 1);
    // Publish what is written before sleeping, so that the owner can read it.
    Atomics.store(control, C_WRITTEN, written);
    Atomics.notify(control, C_WRITTEN);
    Atomics.wait(control, C_READ, read, 1000);
    Atomics.store(control, C_WORKER_WAITS, 0);
  }
}

function commit(): void {
  written = (written + 1) | 0;
}

/** A record of `kind` alone. */
function mark(kind: number): void {
  const at = nextSlot();
  records[at + R_KIND] = kind;
  commit();
}

function side(batch: SseBatch): void {
  port.postMessage(batch);
  mark(REC_SIDE);
}

function hasAnything(batch: SseBatch): boolean {
  return batch.events.length > 0 || batch.malformed.length > 0 || batch.unknown > 0 || batch.retryMs !== null;
}

const decoder = createSseDecoder({
  maxFrameBytes: memory.maxFrameBytes,
  midStream: memory.midStream,
  handOff: {
    scanned(typeIndex, _b, dataStart, dataEnd, idStart, idEnd) {
      const at = nextSlot();
      records[at + R_KIND] = REC_SCANNED;
      records[at + R_TYPE] = typeIndex;
      records[at + R_DATA_START] = dataStart;
      records[at + R_DATA_END] = dataEnd;
      records[at + R_ID_START] = idStart;
      records[at + R_ID_END] = idEnd;
      for (let k = 0; k < fieldCount; k++) records[at + R_FIELDS + k] = fields[k] as number;
      commit();
    },
    side,
  },
});

function publish(): void {
  Atomics.store(control, C_WRITTEN, written);
  Atomics.notify(control, C_WRITTEN);
}

function run(): void {
  Atomics.store(control, C_READY, 1);
  Atomics.notify(control, C_READY);
  let seen = 0;
  for (;;) {
    const pushes = Atomics.load(control, C_PUSHES);
    if (pushes === seen) {
      Atomics.wait(control, C_PUSHES, seen);
      continue;
    }
    while (seen !== pushes) {
      const slot = C_SLOTS + 2 * (seen & (PUSH_SLOTS - 1));
      const start = control[slot] as number;
      const length = control[slot + 1] as number;
      seen = (seen + 1) | 0;
      if (length < 0) {
        const last = decoder.end();
        if (hasAnything(last)) side(last);
        mark(REC_END);
        publish();
        return;
      }
      const batch = decoder.push(bytes.subarray(start, start + length));
      if (hasAnything(batch)) side(batch);
      mark(REC_PUSH_END);
      publish();
    }
  }
}

try {
  run();
} catch (err) {
  port.postMessage({ failed: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  Atomics.store(control, C_FAILED, 1);
  publish();
}
