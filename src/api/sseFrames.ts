// The framing of the live trace stream (see sse.ts for the rules): bytes in, frames
// out to a FrameSink. The frames of the common event types go through the scanner
// (eventScan.ts) here; every other frame is handed over as text. This part has no
// schema (zod) in it, so that the decoding thread (sseThread.ts) starts quickly.
import { BytePattern, viewOf } from "./bytes.js";
import { forgetBuffers, scanEvent, SCANNED_TYPES, type ScannedType } from "./eventScan.js";

/** Where a frame reader's frames go, in stream order. */
export interface FrameSink {
  /** A frame of a scanned type whose payload the scanner accepted: its fields are in eventScan's `scanned`. */
  scannedEvent(id: string | undefined): void;
  /** Any other frame with data: the reference path decides (sse.ts decodeMessage). */
  message(eventType: string | undefined, data: string, id: string | undefined): void;
  /** A frame skipped by the framing itself (over the size limit). */
  malformed(reason: string): void;
  /** A well-formed `retry:` value. */
  retry(ms: number): void;
}

export interface FrameReaderOptions {
  readonly maxFrameBytes: number;
  /** Every dispatched frame as received (the common frame then takes the line-by-line path). */
  readonly onRawFrame?: ((event: string, data: string, id: string | undefined) => void) | undefined;
  /** The bytes continue a stream at a clean cut (cleanCut): no BOM is looked for. */
  readonly midStream?: boolean;
}

export interface FrameReader {
  push(bytes: Buffer): void;
  /** End of stream: a frame not closed is dropped; a new stream may follow. */
  end(): void;
  /**
   * Where `bytes` (the next chunk) can be cut so that pushing bytes[0, cut) leaves no
   * state behind (no partial line or frame, no BOM or CR pending): past its last blank
   * line. -1 when there is no such place. The decoding thread takes over from there.
   */
  cleanCut(bytes: Buffer): number;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const EMPTY = Buffer.alloc(0);
const LF_BYTES = Buffer.from([LF]);
/** An LF ending a line, then the LF of a blank line: the end of a frame. */
const BLANK_LINE = Buffer.from([LF, LF]);

const DATA = BytePattern.of("data");
const EVENT = BytePattern.of("event");
const ID = BytePattern.of("id");
const RETRY = BytePattern.of("retry");
const ID_PREFIX = BytePattern.of("id: ");
const EVENT_PREFIX = BytePattern.of("event: ");
const DATA_PREFIX = BytePattern.of("data: ");
const SCANNED_NAMES: readonly (readonly [BytePattern, ScannedType])[] = SCANNED_TYPES.map((type) => [BytePattern.of(type), type]);

/** The scanned type named by the viewed bytes [start, end), or null. */
function scannedType(view: DataView, start: number, end: number): ScannedType | null {
  for (let k = 0; k < SCANNED_NAMES.length; k++) {
    const [name, type] = SCANNED_NAMES[k] as readonly [BytePattern, ScannedType];
    if (name.is(view, start, end)) return type;
  }
  return null;
}

export function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export function createFrameReader(options: FrameReaderOptions, sink: FrameSink): FrameReader {
  const { maxFrameBytes, onRawFrame } = options;

  // Stream start: bytes held while they may still be a BOM split across chunks.
  let atStreamStart = options.midStream !== true;
  let head: Buffer = EMPTY;
  // The last chunk ended with CR: a leading LF of the next one completes a CRLF.
  let pendingCr = false;
  // The chunk being fed: a frame still open when its push ends copies what it views of it.
  let chunk: Buffer = EMPTY;
  // The line cut by the end of the last chunk: copies of its pieces, and its length.
  let partial: Buffer[] = [];
  let partialBytes = 0;

  // The frame in progress: bytes of its complete lines (LF included), its fields.
  let frameBytes = 0;
  // Over the limit: its lines are dropped up to its blank line.
  let skipping = false;
  let eventType: string | undefined;
  let frameType: ScannedType | null = null;
  let id: string | undefined;
  // The first data line as a range of a buffer; further lines as copies.
  let data: Buffer | null = null;
  let dataStart = 0;
  let dataEnd = 0;
  let moreData: Buffer[] | null = null;

  function resetFrame(): void {
    eventType = undefined;
    frameType = null;
    id = undefined;
    data = null;
    moreData = null;
  }

  /** The chunk without a leading BOM; null while its first bytes may still be one. */
  function dropBom(bytes: Buffer): Buffer | null {
    const start = head.length === 0 ? bytes : Buffer.concat([head, bytes]);
    if (start.length < BOM.length && BOM.subarray(0, start.length).equals(start)) {
      head = Buffer.from(start);
      return null;
    }
    atStreamStart = false;
    head = EMPTY;
    return start.subarray(0, BOM.length).equals(BOM) ? start.subarray(BOM.length) : start;
  }

  function normalizeLineEnds(bytes: Buffer): Buffer {
    let from = 0;
    if (pendingCr) {
      pendingCr = false;
      if (bytes[0] === LF) from = 1;
    }
    let cr = bytes.indexOf(CR, from);
    if (cr === -1) return from === 0 ? bytes : bytes.subarray(from);
    const out = Buffer.allocUnsafe(bytes.length - from);
    let length = 0;
    while (cr !== -1) {
      length += bytes.copy(out, length, from, cr);
      out[length++] = LF;
      from = cr + 1;
      if (from === bytes.length) pendingCr = true;
      else if (bytes[from] === LF) from++;
      cr = bytes.indexOf(CR, from);
    }
    length += bytes.copy(out, length, from);
    return out.subarray(0, length);
  }

  function feed(b: Buffer): void {
    chunk = b;
    let p = 0;
    if (partialBytes > 0) {
      const lf = b.indexOf(LF);
      if (lf === -1) {
        keepPartial(b, 0, b.length);
        return;
      }
      if (skipping) {
        // The rest of a line of a dropped frame.
        partialBytes = 0;
      } else {
        const line = Buffer.concat([...partial, b.subarray(0, lf)]);
        partial = [];
        partialBytes = 0;
        onLine(line, 0, line.length);
      }
      p = lf + 1;
    }
    for (;;) {
      if (frameBytes === 0 && !skipping) {
        const next = commonFrame(b, p);
        if (next !== -1) {
          p = next;
          continue;
        }
      }
      const lf = b.indexOf(LF, p);
      if (lf === -1) break;
      onLine(b, p, lf);
      p = lf + 1;
    }
    if (p < b.length) keepPartial(b, p, b.length);
  }

  /**
   * The common frame: an optional `id: ` line, `event: <scanned type>`, one `data: `
   * line and the blank line, whole in b at p, decoded without the line-by-line path
   * (which handles every other frame); returns the index past it, or -1 to leave it
   * to that path.
   */
  function commonFrame(b: Buffer, p: number): number {
    if (onRawFrame !== undefined) return -1;
    const view = viewOf(b);
    let line = p;
    let frameId: string | undefined;
    if (ID_PREFIX.at(view, line)) {
      const idEnd = b.indexOf(LF, line + ID_PREFIX.length);
      if (idEnd === -1) return -1;
      for (let k = line + ID_PREFIX.length; k < idEnd; k++) if (b[k] === 0) return -1;
      frameId = b.toString("utf8", line + ID_PREFIX.length, idEnd);
      line = idEnd + 1;
    }
    if (!EVENT_PREFIX.at(view, line)) return -1;
    const typeEnd = b.indexOf(LF, line + EVENT_PREFIX.length);
    if (typeEnd === -1) return -1;
    const type = scannedType(view, line + EVENT_PREFIX.length, typeEnd);
    if (type === null || !DATA_PREFIX.at(view, typeEnd + 1)) return -1;
    const dataStart = typeEnd + 1 + DATA_PREFIX.length;
    const dataEnd = b.indexOf(LF, dataStart);
    // (Bounds first: a read past the end would make V8 drop this function's optimised code.)
    if (dataEnd === -1 || dataEnd + 1 >= b.length || b[dataEnd + 1] !== LF || dataEnd + 2 - p > maxFrameBytes) return -1;
    if (scanEvent(type, b, dataStart, dataEnd)) sink.scannedEvent(frameId);
    else sink.message(type, b.toString("utf8", dataStart, dataEnd), frameId);
    return dataEnd + 2;
  }

  function keepPartial(b: Buffer, start: number, end: number): void {
    partialBytes += end - start;
    if (skipping) return;
    if (frameBytes + partialBytes > maxFrameBytes) dropFrame();
    else partial.push(Buffer.from(b.subarray(start, end)));
  }

  /**
   * The end of a push: a frame still open stops viewing the chunk (the caller may reuse
   * it), and nothing else keeps it (an 8 MB line must not outlive its frame).
   */
  function finishPush(): void {
    if (data !== null && data === chunk) {
      data = Buffer.from(data.subarray(dataStart, dataEnd));
      dataStart = 0;
      dataEnd = data.length;
    }
    chunk = EMPTY;
    forgetBuffers();
  }

  /** One complete line b[start, end), its LF excluded. */
  function onLine(b: Buffer, start: number, end: number): void {
    if (skipping) {
      if (start === end) {
        skipping = false;
        frameBytes = 0;
      }
      return;
    }
    frameBytes += end - start + 1;
    if (start === end) {
      const size = frameBytes;
      frameBytes = 0;
      if (size > maxFrameBytes) sink.malformed(frameTooLarge());
      else if (data !== null) dispatch();
      resetFrame();
      return;
    }
    if (frameBytes > maxFrameBytes) dropFrame();
    else if (b[start] !== COLON) onField(b, start, end);
  }

  function frameTooLarge(): string {
    return `frame over ${String(maxFrameBytes)} bytes`;
  }

  /** The frame in progress is over the limit: forget it, skip to its end. */
  function dropFrame(): void {
    sink.malformed(frameTooLarge());
    resetFrame();
    partial = [];
    skipping = true;
  }

  function onField(b: Buffer, start: number, end: number): void {
    const view = viewOf(b);
    let colon = start;
    while (colon < end && b[colon] !== COLON) colon++;
    let value = colon;
    if (colon < end) value = b[colon + 1] === SPACE && colon + 1 < end ? colon + 2 : colon + 1;
    switch (b[start]) {
      case 0x64:
        if (DATA.is(view, start, colon)) addData(b, value, end);
        return;
      case 0x65:
        if (EVENT.is(view, start, colon)) setEventType(b, value, end);
        return;
      case 0x69:
        if (ID.is(view, start, colon)) setId(b, value, end);
        return;
      case 0x72:
        if (RETRY.is(view, start, colon)) setRetry(b, value, end);
        return;
    }
  }

  function addData(b: Buffer, start: number, end: number): void {
    if (data === null) {
      data = b;
      dataStart = start;
      dataEnd = end;
    } else {
      (moreData ??= []).push(LF_BYTES, Buffer.from(b.subarray(start, end)));
    }
  }

  function setEventType(b: Buffer, start: number, end: number): void {
    frameType = scannedType(viewOf(b), start, end);
    eventType = frameType ?? (start === end ? undefined : b.toString("utf8", start, end));
  }

  function setId(b: Buffer, start: number, end: number): void {
    for (let k = start; k < end; k++) if (b[k] === 0) return;
    id = b.toString("utf8", start, end);
  }

  function setRetry(b: Buffer, start: number, end: number): void {
    if (start === end) return;
    for (let k = start; k < end; k++) {
      const c = b[k] as number;
      if (c < DIGIT0 || c > DIGIT9) return;
    }
    sink.retry(parseInt(b.toString("latin1", start, end), 10));
  }

  function dispatch(): void {
    let b = data as Buffer;
    let start = dataStart;
    let end = dataEnd;
    if (moreData !== null) {
      b = Buffer.concat([b.subarray(start, end), ...moreData]);
      start = 0;
      end = b.length;
    }
    let text: string | undefined;
    if (onRawFrame !== undefined) {
      text = b.toString("utf8", start, end);
      onRawFrame(eventType ?? "", text, id);
    }
    if (frameType !== null && scanEvent(frameType, b, start, end)) sink.scannedEvent(id);
    else sink.message(eventType, text ?? b.toString("utf8", start, end), id);
  }

  return {
    push(bytes: Buffer): void {
      let b: Buffer | null = bytes;
      if (atStreamStart) b = dropBom(b);
      if (b !== null) {
        b = normalizeLineEnds(b);
        if (b.length > 0) feed(b);
        finishPush();
      }
    },
    end(): void {
      // A line or frame not closed is dropped; a new stream may follow.
      atStreamStart = true;
      head = EMPTY;
      pendingCr = false;
      partial = [];
      partialBytes = 0;
      frameBytes = 0;
      skipping = false;
      resetFrame();
    },
    cleanCut(bytes: Buffer): number {
      // A CR changes where lines end; a BOM may still be pending at the start.
      if (atStreamStart || pendingCr || bytes.indexOf(CR) !== -1) return -1;
      const blank = bytes.lastIndexOf(BLANK_LINE);
      return blank === -1 ? -1 : blank + 2;
    },
  };
}
