// The live stream decoded on a second thread (issue 6). Reading the HTTP body, framing
// and scanning 500,000 events, and reducing them into state all ran on one thread;
// on two cores the framing and scanning (sseFrames.ts, eventScan.ts) now run in a
// worker while this thread reads the next chunks and reduces the events of earlier
// ones. The worker sends compact records (sseRecords.ts); this thread builds the
// events from them with the same code the in-thread decoder uses (eventOf), and
// takes the reference path (sse.ts) for every other frame, so batches are the same.
//
// A stream starts on this thread: a short stream never waits for a worker to start,
// and never starts one. Once THREAD_AFTER_BYTES have come, the worker is started
// (one per process, shared by every stream); when it is ready, the stream moves to it
// at the end of the next chunk's last complete frame (FrameReader.cleanCut), so that
// no partial frame has to move. With `onRawFrame` (--record), or when the worker
// cannot run, everything stays on this thread.
import { Worker } from "node:worker_threads";
import { BatchSink, DEFAULT_MAX_FRAME_BYTES, type SseBatch, type SseDecoderOptions } from "./sse.js";
import { asBuffer, createFrameReader } from "./sseFrames.js";
import { readRecords, type FrameRecords } from "./sseRecords.js";

const CR = 0x0d;
/** An LF ending a line, then the LF of a blank line: the end of a frame. */
const BLANK_LINE = Buffer.from([0x0a, 0x0a]);

/** Bytes decoded on this thread before the worker is started. */
export const THREAD_AFTER_BYTES = 512 * 1024;

/** What this thread asks the worker. */
export type ThreadRequest =
  | { readonly op: "open"; readonly stream: number; readonly maxFrameBytes: number }
  | { readonly op: "push"; readonly stream: number; readonly bytes: ArrayBuffer }
  | { readonly op: "end"; readonly stream: number }
  | { readonly op: "close"; readonly stream: number };

/** The worker's answer to a push or an end, in request order. */
export interface ThreadResult {
  readonly stream: number;
  readonly end: boolean;
  readonly records: FrameRecords;
}

export interface StreamDecoderOptions extends SseDecoderOptions {
  /** Every batch, in stream order: during push (on this thread) or later (from the worker). */
  readonly onBatch: (batch: SseBatch) => void;
  /** The worker failed while the stream was read: no batch follows; it must be read again. (During end(), its promise rejects instead.) */
  readonly onError: (error: Error) => void;
  /** See THREAD_AFTER_BYTES; Infinity keeps the stream on this thread. */
  readonly threadAfterBytes?: number;
}

/** An SSE decoder whose batches may come after push returns (see the header). */
export interface StreamDecoder {
  push(chunk: Uint8Array): void;
  /** End of stream: resolves once every batch, the end's included, went to onBatch. */
  end(): Promise<void>;
  /** Stops: no batch follows (the worker forgets the stream). */
  close(): void;
  /** The stream moved to the worker. */
  readonly threaded: boolean;
}

/** The shared worker: started once, its streams told apart by number. */
class DecodingThread {
  ready = false;
  failed = false;
  /** Resolves true once the worker runs, false if it failed first. */
  readonly started: Promise<boolean>;
  private readonly worker: Worker;
  private readonly streams = new Map<number, (result: ThreadResult) => void>();
  private readonly failures = new Map<number, (error: Error) => void>();
  private nextStream = 1;
  /** Requests not answered yet: the worker keeps the process alive only while there are some. */
  private outstanding = 0;

  constructor() {
    this.worker = new Worker(new URL("./sseWorker.js", import.meta.url));
    this.worker.unref();
    let started: (ok: boolean) => void = () => undefined;
    this.started = new Promise((resolve) => {
      started = resolve;
    });
    this.worker.on("message", (message: ThreadResult | "ready") => {
      if (message === "ready") {
        this.ready = true;
        started(true);
        return;
      }
      if (--this.outstanding === 0) this.worker.unref();
      this.streams.get(message.stream)?.(message);
    });
    const fail = (error: Error): void => {
      if (this.failed) return;
      this.failed = true;
      this.ready = false;
      started(false);
      const failures = [...this.failures.values()];
      this.streams.clear();
      this.failures.clear();
      for (const onError of failures) onError(error);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the decoding thread exited (${String(code)})`)));
  }

  open(maxFrameBytes: number, onResult: (result: ThreadResult) => void, onError: (error: Error) => void): number {
    const stream = this.nextStream++;
    this.streams.set(stream, onResult);
    this.failures.set(stream, onError);
    this.post({ op: "open", stream, maxFrameBytes });
    return stream;
  }

  /** Sends a copy of the bytes (the caller's chunk may be reused). */
  push(stream: number, bytes: Buffer): void {
    const copy = new Uint8Array(bytes).buffer;
    this.ask({ op: "push", stream, bytes: copy }, [copy]);
  }

  end(stream: number): void {
    this.ask({ op: "end", stream });
  }

  close(stream: number): void {
    this.streams.delete(stream);
    this.failures.delete(stream);
    if (!this.failed) this.post({ op: "close", stream });
  }

  private ask(request: ThreadRequest, transfer: ArrayBuffer[] = []): void {
    if (this.outstanding++ === 0) this.worker.ref();
    this.post(request, transfer);
  }

  private post(request: ThreadRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(request, transfer);
  }
}

let thread: DecodingThread | null = null;

/** The shared worker, started on first use; null when it cannot run. */
function decodingThread(): DecodingThread | null {
  if (thread === null) {
    try {
      thread = new DecodingThread();
    } catch {
      return null;
    }
  }
  return thread.failed ? null : thread;
}

/** A batch in stream order: built here at once, or awaited from the worker. */
interface Slot {
  batch: SseBatch | null;
  /** Arrival time of the bytes the worker decodes for it. */
  readonly at: number;
}

/** Segments the worker may have queued before this thread decodes the next one itself. */
const WORKER_BACKLOG = 8;

/**
 * Starts the decoding thread now rather than after THREAD_AFTER_BYTES of a stream;
 * resolves true once it runs (false when it cannot). Streams move to it as above.
 */
export function startDecodingThread(): Promise<boolean> {
  return decodingThread()?.started ?? Promise.resolve(false);
}

export function createStreamDecoder(options: StreamDecoderOptions): StreamDecoder {
  const now = options.now ?? Date.now;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const threadAfterBytes = options.onRawFrame === undefined ? (options.threadAfterBytes ?? THREAD_AFTER_BYTES) : Infinity;
  const { onBatch, onRawFrame } = options;

  // This thread's frame reader: the whole stream until the worker is ready, then the
  // segments (whole frames between two clean cuts) it takes when the worker is behind.
  const sink = new BatchSink();
  const reader = createFrameReader(
    {
      maxFrameBytes,
      onRawFrame:
        onRawFrame === undefined
          ? undefined
          : (event, data, id) => onRawFrame(id === undefined ? { event, data, at: sink.at } : { event, data, id, at: sink.at }),
    },
    sink,
  );
  let received = 0;
  let worker: DecodingThread | null = null;
  let stream = 0;
  /** Who decodes the current segment. */
  let toWorker = false;
  /** The last chunk held a CR: a cut now could split a CRLF pair. */
  let lastHadCr = false;
  let closed = false;
  // Batches not delivered yet, in stream order; the worker's answers fill its slots in order.
  const slots: Slot[] = [];
  const workerSlots: Slot[] = [];
  let ended: { resolve: () => void; reject: (error: Error) => void } | null = null;
  // Events built here from the worker's records.
  const results = new BatchSink();

  function deliver(): void {
    let k = 0;
    while (k < slots.length && !closed) {
      const batch = (slots[k] as Slot).batch;
      if (batch === null) break;
      k++;
      onBatch(batch);
    }
    slots.splice(0, k);
    if (slots.length === 0 && ended !== null && !closed) {
      closed = true;
      worker?.close(stream);
      ended.resolve();
    }
  }

  function onResult(result: ThreadResult): void {
    if (closed) return;
    const slot = workerSlots.shift() as Slot;
    results.at = slot.at;
    readRecords(result.records, results);
    slot.batch = results.take();
    deliver();
  }

  function onError(error: Error): void {
    if (closed) return;
    closed = true;
    if (ended === null) options.onError(error);
    else ended.reject(error);
  }

  function decodeHere(bytes: Buffer, at: number): void {
    sink.at = at;
    reader.push(bytes);
    const slot: Slot = { batch: sink.take(), at };
    if (slots.length === 0) onBatch(slot.batch as SseBatch);
    else slots.push(slot);
  }

  function send(bytes: Buffer, at: number): void {
    const slot: Slot = { batch: null, at };
    slots.push(slot);
    workerSlots.push(slot);
    (worker as DecodingThread).push(stream, bytes);
  }

  function decode(bytes: Buffer, at: number): void {
    if (bytes.length === 0) return;
    if (toWorker) send(bytes, at);
    else decodeHere(bytes, at);
  }

  /** Where b can be cut between two frames (see FrameReader.cleanCut), or -1. */
  function cleanCut(b: Buffer): number {
    if (worker === null) return reader.cleanCut(b);
    const hasCr = b.indexOf(CR) !== -1;
    const cut = lastHadCr || hasCr ? -1 : b.lastIndexOf(BLANK_LINE);
    lastHadCr = hasCr;
    return cut === -1 ? -1 : cut + 2;
  }

  return {
    get threaded(): boolean {
      return worker !== null;
    },
    push(chunk: Uint8Array): void {
      if (closed) return;
      const at = now();
      const b = asBuffer(chunk);
      if (worker === null) {
        received += b.length;
        const shared = received >= threadAfterBytes ? decodingThread() : null;
        if (shared?.ready !== true) {
          decodeHere(b, at);
          return;
        }
        const cut = reader.cleanCut(b);
        if (cut === -1) {
          decodeHere(b, at);
          return;
        }
        decode(b.subarray(0, cut), at);
        worker = shared;
        stream = shared.open(maxFrameBytes, onResult, onError);
        toWorker = true;
        decode(b.subarray(cut), at);
        return;
      }
      const cut = cleanCut(b);
      if (cut === -1) {
        decode(b, at);
        return;
      }
      decode(b.subarray(0, cut), at);
      // A new segment: this thread takes it when the worker is behind.
      toWorker = workerSlots.length < WORKER_BACKLOG;
      decode(b.subarray(cut), at);
    },
    end(): Promise<void> {
      if (closed) return Promise.resolve();
      const at = now();
      if (toWorker) {
        const slot: Slot = { batch: null, at };
        slots.push(slot);
        workerSlots.push(slot);
        (worker as DecodingThread).end(stream);
      } else {
        sink.at = at;
        reader.end();
        slots.push({ batch: sink.take(), at });
      }
      return new Promise<void>((resolve, reject) => {
        ended = { resolve, reject };
        deliver();
      });
    },
    close(): void {
      if (closed) return;
      closed = true;
      worker?.close(stream);
      ended?.resolve();
    },
  };
}
