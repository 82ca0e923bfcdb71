// The decoding thread (see sseThread.ts): frames and scans the chunks of one or more
// streams and posts each chunk's FrameRecords back. Loads no schema code (zod), so it
// is ready in a few tens of milliseconds.
import { parentPort } from "node:worker_threads";
import { scanned } from "./eventScan.js";
import { createFrameReader, type FrameReader } from "./sseFrames.js";
import { RecordWriter } from "./sseRecords.js";
import type { ThreadRequest, ThreadResult } from "./sseThread.js";

const port = parentPort;
if (port === null) throw new Error("sseWorker.js runs as a worker thread");

const writer = new RecordWriter(scanned);
const readers = new Map<number, FrameReader>();

function reply(stream: number, end: boolean): void {
  const records = writer.take();
  const result: ThreadResult = { stream, end, records };
  port?.postMessage(result, [records.ints.buffer, records.nums.buffer]);
}

port.on("message", (request: ThreadRequest) => {
  switch (request.op) {
    case "open":
      readers.set(request.stream, createFrameReader({ maxFrameBytes: request.maxFrameBytes, midStream: true }, writer));
      return;
    case "push":
      readers.get(request.stream)?.push(Buffer.from(request.bytes));
      reply(request.stream, false);
      return;
    case "end":
      readers.get(request.stream)?.end();
      readers.delete(request.stream);
      reply(request.stream, true);
      return;
    case "close":
      readers.delete(request.stream);
      return;
  }
});
port.postMessage("ready");
