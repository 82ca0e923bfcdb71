// The live stream's decoder: sse.ts on this thread, and for a fast stream the framing
// and scanning on a worker thread (issue 6).
//
// A stream of hundreds of thousands of events keeps one core busy decoding it: the
// socket reads, the framing and scanning of each payload, the strings and events, the
// reducer. The framing and scanning (about half of it) need only the bytes, so once a
// stream runs faster than SPAWN_BYTES per SPAWN_WINDOW_MS, they move to a worker
// (sseWorker.ts): this thread copies each chunk into shared memory and goes back to
// the socket, the worker writes one record of numbers per frame, and this thread
// builds the strings and events from those records and the bytes it still holds
// (see sseHandOff.ts). A slow stream never starts a worker.
//
// Events then come one or more reads late: `pending()` says some are on the way and
// `whenReady()` resolves when they can be collected, so a stream that pauses still
// shows every event it sent. The switch happens between two frames; everything the
// first decoder held is done by then.
import { receiveMessageOnPort, MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { eventFromFields, forgetBuffers, SCANNED_TYPES } from "./eventScan.js";
import {
  allocateHandOff,
  C_FAILED,
  C_PUSHES,
  C_READ,
  C_READY,
  C_SLOTS,
  C_WORKER_WAITS,
  C_WRITTEN,
  MAX_PUSH_BYTES,
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
  RING_BYTES,
} from "./sseHandOff.js";
import { createSseDecoder, decodeFrame, DEFAULT_MAX_FRAME_BYTES, type SseBatch, type SseDecoder, type SseDecoderOptions } from "./sse.js";
import type { ReceivedEvent } from "./signals.js";

/** A stream that brings this many bytes within SPAWN_WINDOW_MS starts the worker. */
export const SPAWN_BYTES = 1024 * 1024;
export const SPAWN_WINDOW_MS = 1000;
/** How long the owner blocks at most in one wait for the worker (it re-checks for failure after). */
const WAIT_SLICE_MS = 200;
/** `always`: how long the first push waits for the worker to start. */
const START_TIMEOUT_MS = 10_000;
/** The worker's young generation (V8's default is up to 32 MB on 64-bit). */
const WORKER_YOUNG_MB = 2;

export interface StreamDecoderOptions extends SseDecoderOptions {
  /** auto (default): the worker for a fast stream; never; always (from the first byte; for tests). */
  readonly offThread?: "auto" | "never" | "always";
}

export interface StreamDecoder extends SseDecoder {
  /** Events decoded on the worker that a collect may return, now or soon. */
  pending(): boolean;
  /** Resolves when collect() has something new (at once when nothing is pending). */
  whenReady(): Promise<void>;
  /** What was decoded since the last push or collect, without new bytes. */
  collect(): SseBatch;
  /** Stops the worker, if any (the decoder is not used after). */
  close(): void;
}

/** Atomics.waitAsync: in Node since 16, in TypeScript's lib only from ES2024 (ours is ES2023). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

const NO_EVENTS: SseBatch = Object.freeze({ events: [], malformed: [], unknown: 0, retryMs: null }) as SseBatch;

export function createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
  const now = options.now ?? Date.now;
  const mode = options.onRawFrame !== undefined ? "never" : (options.offThread ?? "auto");
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let inner: SseDecoder | null = createSseDecoder(options);
  let offThread: OffThreadDecoder | null = mode === "always" ? new OffThreadDecoder(maxFrameBytes, false) : null;
  if (offThread !== null) {
    offThread.waitStarted(START_TIMEOUT_MS);
    inner = null;
  }
  let windowStart = 0;
  let windowBytes = 0;

  /** Counts the bytes of a fast stream; starts the worker when it is fast enough. */
  function count(bytes: number): void {
    if (offThread !== null || mode !== "auto") return;
    const t = performance.now();
    if (t - windowStart > SPAWN_WINDOW_MS) {
      windowStart = t;
      windowBytes = 0;
    }
    windowBytes += bytes;
    if (windowBytes >= SPAWN_BYTES) offThread = new OffThreadDecoder(maxFrameBytes, true);
  }

  /**
   * Once the worker runs: this thread decodes the chunk up to the end of its first frame
   * (a chunk rarely ends between two frames), and if nothing is held then, the rest of
   * the chunk and of the stream goes to the worker. Returns null while it cannot.
   */
  function handOver(chunk: Uint8Array, decoder: SseDecoder, worker: OffThreadDecoder): SseBatch | null {
    const blank = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).indexOf(FRAME_END);
    if (blank === -1) return null;
    const head = decoder.push(chunk.subarray(0, blank + FRAME_END.length));
    if (!decoder.idle()) return joinBatches(head, decoder.push(chunk.subarray(blank + FRAME_END.length)));
    inner = null;
    return joinBatches(head, worker.push(chunk.subarray(blank + FRAME_END.length), now()));
  }

  return {
    push(chunk: Uint8Array): SseBatch {
      if (inner !== null) {
        const handedOver = offThread !== null && offThread.started() ? handOver(chunk, inner, offThread) : null;
        if (handedOver !== null) return handedOver;
        const batch = inner.push(chunk);
        count(chunk.length);
        return batch;
      }
      return (offThread as OffThreadDecoder).push(chunk, now());
    },
    end(): SseBatch {
      if (inner !== null) {
        const batch = inner.end();
        offThread?.close();
        offThread = null;
        return batch;
      }
      const batch = (offThread as OffThreadDecoder).end(now());
      offThread?.close();
      // A new stream may follow, as after sse.ts's end().
      offThread = null;
      inner = createSseDecoder(options);
      windowBytes = 0;
      return batch;
    },
    idle(): boolean {
      return inner !== null ? inner.idle() : !(offThread as OffThreadDecoder).pending();
    },
    pending(): boolean {
      return inner === null && (offThread as OffThreadDecoder).pending();
    },
    whenReady(): Promise<void> {
      return inner === null ? (offThread as OffThreadDecoder).whenReady() : Promise.resolve();
    },
    collect(): SseBatch {
      return inner === null ? (offThread as OffThreadDecoder).collect(now()) : NO_EVENTS;
    },
    close(): void {
      offThread?.close();
    },
  };
}

/** The blank line that ends a frame (in a stream whose lines end with LF). */
const FRAME_END = Buffer.from("\n\n");

/** Two consecutive batches as one. */
function joinBatches(a: SseBatch, b: SseBatch): SseBatch {
  if (a.events.length === 0 && a.malformed.length === 0 && a.unknown === 0 && a.retryMs === null) return b;
  if (b.events.length === 0 && b.malformed.length === 0 && b.unknown === 0 && b.retryMs === null) return a;
  return {
    events: [...a.events, ...b.events],
    malformed: [...a.malformed, ...b.malformed],
    unknown: a.unknown + b.unknown,
    retryMs: b.retryMs ?? a.retryMs,
  };
}

/** The worker's script: next to this module once built; from src (tests), the built one. */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL("../../dist/api/sseWorker.js", here) : new URL("./sseWorker.js", here);
}

/** The owner's side of the hand-over (sseHandOff.ts describes the memory). */
class OffThreadDecoder {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly bytes: Buffer;
  private readonly records: Float64Array;
  private readonly control: Int32Array;
  /** The pushes handed over whose records are not all read, oldest first. */
  private readonly inFlight: Buffer[] = [];
  private writeAt = 0;
  private pushes = 0;
  private read = 0;
  private broken = false;
  private ending = false;
  private ended = false;
  private closed = false;
  // The batch being filled.
  private events: ReceivedEvent[] = [];
  private malformed: string[] = [];
  private unknown = 0;
  private retryMs: number | null = null;

  constructor(maxFrameBytes: number, midStream: boolean) {
    const memory = allocateHandOff(maxFrameBytes);
    this.bytes = Buffer.from(memory.bytes);
    this.records = new Float64Array(memory.records);
    this.control = new Int32Array(memory.control);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(workerUrl(), {
      workerData: { ...memory, port: port2, midStream },
      transferList: [port2],
      // It allocates little (a batch now and then): a small heap keeps the process within its memory budget.
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    // The worker never keeps the process alive, and a failure to start only means it is never used.
    this.worker.unref();
    this.worker.on("error", () => {
      this.broken = true;
    });
  }

  started(): boolean {
    return !this.broken && Atomics.load(this.control, C_READY) === 1;
  }

  waitStarted(timeoutMs: number): void {
    const deadline = performance.now() + timeoutMs;
    while (Atomics.load(this.control, C_READY) !== 1) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error("the SSE worker did not start");
      Atomics.wait(this.control, C_READY, 0, Math.min(left, WAIT_SLICE_MS));
    }
  }

  push(chunk: Uint8Array, at: number): SseBatch {
    for (let from = 0; from < chunk.length; from += MAX_PUSH_BYTES) {
      const piece = chunk.subarray(from, Math.min(chunk.length, from + MAX_PUSH_BYTES));
      const start = this.spaceFor(piece.length, at);
      this.bytes.set(piece, start);
      this.writeAt = start + piece.length;
      this.handOver(start, piece.length);
      this.inFlight.push(this.bytes.subarray(start, start + piece.length));
    }
    return this.collect(at);
  }

  end(at: number): SseBatch {
    if (!this.ending) {
      this.ending = true;
      this.waitForSlot(at);
      this.handOver(0, -1);
    }
    while (!this.ended) {
      const before = this.read;
      this.drain(at);
      if (this.read === before && !this.ended) this.block();
    }
    return this.take();
  }

  pending(): boolean {
    return this.inFlight.length > 0 || (this.ending && !this.ended);
  }

  whenReady(): Promise<void> {
    if (!this.pending() || Atomics.load(this.control, C_WRITTEN) !== this.read) return Promise.resolve();
    const waiting = waitAsync(this.control, C_WRITTEN, this.read);
    return waiting.async ? (waiting.value as Promise<string>).then(() => undefined) : Promise.resolve();
  }

  collect(at: number): SseBatch {
    this.drain(at);
    return this.take();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
    this.port.close();
  }

  private take(): SseBatch {
    if (this.events.length === 0 && this.malformed.length === 0 && this.unknown === 0 && this.retryMs === null) return NO_EVENTS;
    const batch: SseBatch = { events: this.events, malformed: this.malformed, unknown: this.unknown, retryMs: this.retryMs };
    this.events = [];
    this.malformed = [];
    this.unknown = 0;
    this.retryMs = null;
    return batch;
  }

  private handOver(start: number, length: number): void {
    const slot = C_SLOTS + 2 * (this.pushes & (PUSH_SLOTS - 1));
    this.control[slot] = start;
    this.control[slot + 1] = length;
    this.pushes = (this.pushes + 1) | 0;
    Atomics.store(this.control, C_PUSHES, this.pushes);
    Atomics.notify(this.control, C_PUSHES);
  }

  private waitForSlot(at: number): void {
    while (this.inFlight.length >= PUSH_SLOTS) {
      const before = this.read;
      this.drain(at);
      if (this.read === before) this.block();
    }
  }

  /** Where `length` contiguous bytes of the ring are free, reading records (and waiting) until they are. */
  private spaceFor(length: number, at: number): number {
    for (;;) {
      if (this.inFlight.length < PUSH_SLOTS) {
        const oldest = this.inFlight[0];
        if (oldest === undefined) return 0;
        const used = oldest.byteOffset;
        if (this.writeAt > used) {
          if (this.writeAt + length <= RING_BYTES) return this.writeAt;
          if (length < used) return 0;
        } else if (this.writeAt < used && this.writeAt + length < used) {
          return this.writeAt;
        }
      }
      const before = this.read;
      this.drain(at);
      if (this.read === before) this.block();
    }
  }

  /** Sleeps until the worker writes a record (or a slice passes), then checks it is alive. */
  private block(): void {
    Atomics.wait(this.control, C_WRITTEN, this.read, WAIT_SLICE_MS);
    this.checkAlive();
  }

  private checkAlive(): void {
    if (Atomics.load(this.control, C_FAILED) === 1) {
      const message = receiveMessageOnPort(this.port)?.message as { failed?: string } | undefined;
      throw new Error(`the SSE worker failed: ${message?.failed ?? "unknown error"}`);
    }
    if (this.broken) throw new Error("the SSE worker stopped");
  }

  /** Reads every record written so far into the batch. */
  private drain(at: number): void {
    const { records } = this;
    const written = Atomics.load(this.control, C_WRITTEN);
    if (written === this.read) {
      if (Atomics.load(this.control, C_FAILED) === 1) this.checkAlive();
      return;
    }
    let read = this.read;
    while (read !== written) {
      const r = (read & (RECORD_SLOTS - 1)) * RECORD_DOUBLES;
      switch (records[r + R_KIND]) {
        case REC_SCANNED:
          this.scanned(this.inFlight[0] as Buffer, r, at);
          break;
        case REC_SIDE:
          this.side();
          break;
        case REC_PUSH_END:
          this.inFlight.shift();
          forgetBuffers();
          break;
        case REC_END:
          this.ended = true;
          break;
      }
      read = (read + 1) | 0;
    }
    this.read = read;
    Atomics.store(this.control, C_READ, read);
    if (Atomics.load(this.control, C_WORKER_WAITS) === 1) Atomics.notify(this.control, C_READ);
  }

  private scanned(b: Buffer, r: number, at: number): void {
    const { records } = this;
    const type = SCANNED_TYPES[records[r + R_TYPE] as number] as (typeof SCANNED_TYPES)[number];
    const idStart = records[r + R_ID_START] as number;
    const id = idStart === -1 ? undefined : b.toString("utf8", idStart, records[r + R_ID_END] as number);
    let event = eventFromFields(type, b, records, r + R_FIELDS);
    if (event === undefined) {
      const outcome = decodeFrame(type, b.toString("utf8", records[r + R_DATA_START] as number, records[r + R_DATA_END] as number));
      if (typeof outcome === "number") {
        this.unknown += outcome;
        return;
      }
      if (typeof outcome === "string") {
        this.malformed.push(outcome);
        return;
      }
      event = outcome;
    }
    this.events.push(id === undefined ? { event, at } : { event, id, at });
  }

  private side(): void {
    const batch = receiveMessageOnPort(this.port)?.message as SseBatch | undefined;
    if (batch === undefined) return;
    for (const received of batch.events) this.events.push(received);
    for (const reason of batch.malformed) this.malformed.push(reason);
    this.unknown += batch.unknown;
    if (batch.retryMs !== null) this.retryMs = batch.retryMs;
  }
}
