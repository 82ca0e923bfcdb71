// Not product code: a bound for figure 1. The same stream as ours-stream.mjs, decoded by a
// decoder written for exactly the two payloads of the ingest workload (bench/lib/workload.mjs:
// step_started and step_completed with their keys in this order, ASCII, no escapes), which
// builds the same events with the same strings as src/api/eventScan.ts. It checks less than a
// general decoder must (other shapes, escapes, repeated keys, a preview's canonical form), so
// no decoder of this stream can be much faster: it shows what is left for the rest of the path.
// Prints one JSON line: {ms, events, skipped, steps, maxRssKb}.
// Usage: node --expose-gc bench/probes/bound-decoder.mjs <executionId> [--state ours|bytes]
//   --state ours    apply the events to reduceRun as the real ingest does (else they are dropped)
//   --state bytes   no events: each frame goes into ByteState below, which keeps a step's id and
//                   name as bytes and its numbers in typed arrays, with no string or object per
//                   step (a bound for a state designed that way; its cost total is checked)
import { parseArgs } from "node:util";
import { TraceClient } from "../../dist/api/client.js";
import { initialRunState, reduceRun } from "../../dist/state/reducer.js";
import { BASE_URL } from "../lib/ours.mjs";
import { API_KEY, FLOW } from "../lib/workload.mjs";

const { positionals, values } = parseArgs({ allowPositionals: true, options: { state: { type: "string" } } });
if (values.state !== undefined && values.state !== "ours" && values.state !== "bytes") throw new Error("--state: ours or bytes");
const executionId = positionals[0];

/** Fixed bytes compared four at a time. */
class Bytes {
  constructor(text) {
    this.bytes = Buffer.from(text, "latin1");
    this.length = this.bytes.length;
    this.words = new Uint32Array(this.length >> 2);
    for (let k = 0; k < this.words.length; k++) this.words[k] = this.bytes.readUInt32LE(4 * k);
  }

  at(view, p) {
    if (p + this.length > view.byteLength) return false;
    const words = this.words;
    for (let k = 0; k < words.length; k++) if (view.getUint32(p + 4 * k, true) !== words[k]) return false;
    for (let k = words.length * 4; k < this.length; k++) if (view.getUint8(p + k) !== this.bytes[k]) return false;
    return true;
  }
}

const COMPLETED = new Bytes('event: step_completed\ndata: {"eventType":"step_completed","stepId":');
const STARTED = new Bytes('event: step_started\ndata: {"eventType":"step_started","stepId":');
const NAME = new Bytes(',"name":');
const STEP_INDEX = new Bytes(',"stepIndex":');
const OUTPUT = new Bytes(',"output":{"text":');
const DURATION = new Bytes('},"durationMs":');
const PROMPT = new Bytes(',"tokens":{"prompt":');
const COMPLETION = new Bytes(',"completion":');
const TOTAL = new Bytes(',"total":');
const COST = new Bytes('},"costUsd":');
const MODEL = new Bytes(',"modelUsed":');

/** Index past the ASCII string without escapes at i, or -1. */
function string(b, i, end) {
  if (b[i] !== 0x22) return -1;
  for (i++; i < end; i++) {
    const c = b[i];
    if (c === 0x22) return i + 1;
    if (c < 0x20 || c === 0x5c || c >= 0x80) return -1;
  }
  return -1;
}

let number = 0;
/** Index past the plain integer at i (its value in `number`), or -1. */
function integer(b, i, end) {
  let value = 0;
  const from = i;
  for (let c = b[i]; i < end && c >= 0x30 && c <= 0x39; c = b[++i]) value = value * 10 + c - 0x30;
  const digits = i - from;
  if (digits === 0 || digits > 15 || (digits > 1 && b[from] === 0x30) || b[i] === 0x2e || b[i] === 0x65 || b[i] === 0x45) return -1;
  number = value;
  return i;
}

/** b[start, end) is a plain decimal: digits, then an optional fraction. */
function isDecimal(b, start, end) {
  let i = start;
  let digits = 0;
  for (; i < end && b[i] >= 0x30 && b[i] <= 0x39; i++) digits++;
  if (i < end && b[i] === 0x2e) for (i++; i < end && b[i] >= 0x30 && b[i] <= 0x39; i++) digits++;
  return digits > 0 && i === end;
}

/** The last string made from a range of the chunk: a step's completed event repeats its id and name. */
class Repeated {
  text = "";
  buffer = null;
  start = 0;
  length = 0;

  get(b, start, end) {
    const length = end - start;
    if (b === this.buffer && length === this.length && b.compare(b, this.start, this.start + length, start, end) === 0) {
      this.start = start;
      return this.text;
    }
    this.buffer = b;
    this.start = start;
    this.length = length;
    return (this.text = b.latin1Slice(start, end));
  }
}

const stepIds = new Repeated();
const names = new Repeated();
const models = [];

function model(b, start, end) {
  const length = end - start;
  for (const m of models) {
    if (m.length !== length) continue;
    let k = 0;
    while (k < length && m.charCodeAt(k) === b[start + k]) k++;
    if (k === length) return m;
  }
  const text = b.latin1Slice(start, end);
  if (models.unshift(text) > 4) models.pop();
  return text;
}

/** What parseFrame read: the frame's type and where its values are (or the numbers). */
const F = {
  completed: false,
  idStart: 0,
  idEnd: 0,
  nameStart: 0,
  nameEnd: 0,
  outputStart: 0,
  outputEnd: 0,
  costStart: 0,
  costEnd: 0,
  modelStart: 0,
  modelEnd: 0,
  stepIndex: 0,
  durationMs: 0,
  prompt: 0,
  completion: 0,
  total: 0,
};

/** Reads the frame at p into F when it is one of the two; returns the index past it, or -1. */
function parseFrame(b, view, p, end) {
  let i;
  let e;
  F.completed = COMPLETED.at(view, p);
  if (F.completed) i = p + COMPLETED.length;
  else if (STARTED.at(view, p)) i = p + STARTED.length;
  else return -1;
  if ((e = string(b, i, end)) < 0) return -1;
  F.idStart = i + 1;
  F.idEnd = e - 1;
  if (!NAME.at(view, e) || (i = string(b, e + NAME.length, end)) < 0) return -1;
  F.nameStart = e + NAME.length + 1;
  F.nameEnd = i - 1;
  if (F.completed) {
    if (!OUTPUT.at(view, i)) return -1;
    F.outputStart = i + OUTPUT.length - 8; // the value starts at its `{`
    if ((e = string(b, i + OUTPUT.length, end)) < 0 || !DURATION.at(view, e)) return -1;
    F.outputEnd = e + 1;
    if ((i = integer(b, e + DURATION.length, end)) < 0) return -1;
    F.durationMs = number;
    if (!PROMPT.at(view, i) || (i = integer(b, i + PROMPT.length, end)) < 0) return -1;
    F.prompt = number;
    if (!COMPLETION.at(view, i) || (i = integer(b, i + COMPLETION.length, end)) < 0) return -1;
    F.completion = number;
    if (!TOTAL.at(view, i) || (i = integer(b, i + TOTAL.length, end)) < 0) return -1;
    F.total = number;
    if (!COST.at(view, i) || (e = string(b, i + COST.length, end)) < 0) return -1;
    F.costStart = i + COST.length + 1;
    F.costEnd = e - 1;
    if (!isDecimal(b, F.costStart, F.costEnd) || !MODEL.at(view, e) || (i = string(b, e + MODEL.length, end)) < 0) return -1;
    F.modelStart = e + MODEL.length + 1;
    F.modelEnd = i - 1;
  } else {
    if (!STEP_INDEX.at(view, i) || (i = integer(b, i + STEP_INDEX.length, end)) < 0) return -1;
    F.stepIndex = number;
  }
  if (i + 2 >= end || b[i] !== 0x7d || b[i + 1] !== 0x0a || b[i + 2] !== 0x0a) return -1;
  return i + 3;
}

/** Decodes the frame at p into `events`; returns the index past it, or -1 when it is not one of the two. */
function frame(b, view, p, end, events, at) {
  const next = parseFrame(b, view, p, end);
  if (next === -1) return -1;
  const stepId = stepIds.get(b, F.idStart, F.idEnd);
  const name = names.get(b, F.nameStart, F.nameEnd);
  if (!F.completed) {
    events.push({ event: { type: "step_started", stepId, name, stepIndex: F.stepIndex }, at });
    return next;
  }
  const output = { json: b.latin1Slice(F.outputStart, F.outputEnd), sizeBytes: F.outputEnd - F.outputStart, truncated: false };
  const tokens = { prompt: F.prompt, completion: F.completion, total: F.total };
  const costUsd = b.latin1Slice(F.costStart, F.costEnd);
  const modelUsed = model(b, F.modelStart, F.modelEnd);
  events.push({ event: { type: "step_completed", stepId, name, output, durationMs: F.durationMs, tokens, costUsd, modelUsed }, at });
  return next;
}

/** Steps with no JS string or object per step: ids and names as bytes in one buffer, numbers in columns. */
class ByteState {
  capacity = 1 << 16;
  size = 0;
  bytes = Buffer.allocUnsafe(1 << 22);
  used = 0;
  idStart = new Int32Array(this.capacity);
  idLength = new Int32Array(this.capacity);
  nameStart = new Int32Array(this.capacity);
  nameLength = new Int32Array(this.capacity);
  status = new Uint8Array(this.capacity);
  startedAt = new Float64Array(this.capacity);
  completedAt = new Float64Array(this.capacity);
  durationMs = new Float64Array(this.capacity);
  tokens = new Float64Array(3 * this.capacity);
  costUnits = new Float64Array(this.capacity);
  model = new Uint8Array(this.capacity);
  slots = new Int32Array(1 << 17); // row + 1, open addressing
  hashes = new Int32Array(1 << 17);
  costSum = 0;
  done = 0;

  grow() {
    const c = this.capacity * 2;
    for (const k of ["idStart", "idLength", "nameStart", "nameLength", "status", "startedAt", "completedAt", "durationMs", "costUnits", "model"]) {
      const next = new this[k].constructor(c);
      next.set(this[k]);
      this[k] = next;
    }
    const t = new Float64Array(3 * c);
    t.set(this.tokens);
    this.tokens = t;
    this.capacity = c;
  }

  rehash() {
    const n = this.slots.length * 2;
    const slots = new Int32Array(n);
    const hashes = new Int32Array(n);
    for (let k = 0; k < this.slots.length; k++) {
      const row = this.slots[k];
      if (row === 0) continue;
      let s = this.hashes[k] & (n - 1);
      while (slots[s] !== 0) s = (s + 1) & (n - 1);
      slots[s] = row;
      hashes[s] = this.hashes[k];
    }
    this.slots = slots;
    this.hashes = hashes;
  }

  store(b, start, end) {
    const length = end - start;
    if (this.used + length > this.bytes.length) {
      const next = Buffer.allocUnsafe(this.bytes.length * 2);
      this.bytes.copy(next, 0, 0, this.used);
      this.bytes = next;
    }
    const at = this.used;
    for (let k = 0; k < length; k++) this.bytes[at + k] = b[start + k];
    this.used += length;
    return at;
  }

  /** The row of the id b[start, end), or -1; `insert` adds it when absent. */
  find(b, start, end, insert) {
    let h = 0x811c9dc5;
    for (let k = start; k < end; k++) h = Math.imul(h ^ b[k], 0x01000193);
    const mask = this.slots.length - 1;
    const length = end - start;
    let s = h & mask;
    for (;;) {
      const row = this.slots[s];
      if (row === 0) break;
      if (this.hashes[s] === h && this.idLength[row - 1] === length) {
        const at = this.idStart[row - 1];
        let k = 0;
        while (k < length && this.bytes[at + k] === b[start + k]) k++;
        if (k === length) return row - 1;
      }
      s = (s + 1) & mask;
    }
    if (!insert) return -1;
    if (this.size === this.capacity) this.grow();
    const row = this.size++;
    this.idStart[row] = this.store(b, start, end);
    this.idLength[row] = length;
    this.slots[s] = row + 1;
    this.hashes[s] = h;
    if (2 * this.size > this.slots.length) this.rehash();
    return row;
  }
}
const byteState = new ByteState();
const modelBytes = [];

/** Like frame(), into byteState: returns the index past the frame, or -1. */
function frameBytes(b, view, p, end, at) {
  const next = parseFrame(b, view, p, end);
  if (next === -1) return -1;
  if (!F.completed) {
    const row = byteState.find(b, F.idStart, F.idEnd, true);
    byteState.nameStart[row] = byteState.store(b, F.nameStart, F.nameEnd);
    byteState.nameLength[row] = F.nameEnd - F.nameStart;
    byteState.status[row] = 1;
    byteState.startedAt[row] = at;
    return next;
  }
  const row = byteState.find(b, F.idStart, F.idEnd, false);
  if (row < 0) return -1;
  // The cost as integer units of 1e-8, from its bytes.
  let units = 0;
  let scale = -1;
  for (let k = F.costStart; k < F.costEnd; k++) {
    const c = b[k];
    if (c === 0x2e) scale = 0;
    else {
      units = units * 10 + c - 0x30;
      if (scale >= 0) scale++;
    }
  }
  units *= 10 ** (8 - Math.max(scale, 0));
  let m = 0;
  for (; m < modelBytes.length; m++) {
    const known = modelBytes[m];
    if (known.length !== F.modelEnd - F.modelStart) continue;
    let k = 0;
    while (k < known.length && known[k] === b[F.modelStart + k]) k++;
    if (k === known.length) break;
  }
  if (m === modelBytes.length) modelBytes.push(Buffer.from(b.subarray(F.modelStart, F.modelEnd)));
  byteState.status[row] = 2;
  byteState.completedAt[row] = at;
  byteState.durationMs[row] = F.durationMs;
  byteState.tokens[3 * row] = F.prompt;
  byteState.tokens[3 * row + 1] = F.completion;
  byteState.tokens[3 * row + 2] = F.total;
  byteState.costUnits[row] = units;
  byteState.costSum += units;
  byteState.model[row] = m;
  byteState.done++;
  return next;
}

const client = new TraceClient({ baseUrl: BASE_URL, apiKey: API_KEY });
let state = initialRunState(executionId);
let eventCount = 0;
let skipped = 0;
const started = performance.now();
const { body } = await client.openStream(FLOW, executionId, {});
let rest = Buffer.alloc(0);
for await (const chunk of body) {
  // A frame cut by the chunk's end is kept and completed by the next chunk.
  const b = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const events = [];
  const at = Date.now();
  let p = 0;
  for (;;) {
    const next = values.state === "bytes" ? frameBytes(b, view, p, b.length, at) : frame(b, view, p, b.length, events, at);
    if (next !== -1 && values.state === "bytes") eventCount++;
    if (next !== -1) {
      p = next;
      continue;
    }
    // Any other frame (run_started, flow_completed) is passed over whole.
    const blank = b.indexOf("\n\n", p);
    if (blank === -1) break;
    skipped++;
    p = blank + 2;
  }
  rest = Buffer.from(b.subarray(p));
  eventCount += events.length;
  if (values.state === "ours" && events.length > 0) state = reduceRun(state, { type: "stream/events", events });
}
const ms = performance.now() - started;
await client.close();
const result = { ms, events: eventCount, skipped, steps: state.steps.size, maxRssKb: process.resourceUsage().maxRSS };
if (values.state === "bytes") {
  // The exact cost total (integer units of 1e-8 USD), to compare with the workload's.
  Object.assign(result, { steps: byteState.size, done: byteState.done, costUnits: byteState.costSum, bytesKept: byteState.used });
}
process.stdout.write(`${JSON.stringify(result)}\n`);
