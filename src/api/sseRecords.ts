// What the decoding thread (sseWorker.ts) sends back for one chunk: its frames as
// compact records, in stream order. Event objects would be copied one property at a
// time by postMessage (measured: 650 ms on the receiving thread for 500,000 events);
// these are one Int32Array, one Float64Array and the strings the events need.
//
// A record starts with a tag (ints): its kind in the low two bits, then flags.
//   SCANNED   a payload the scanner accepted (eventScan's ScannedEvent): type index,
//             an id flag, the kinds of the fields; then string indices (id, stepId,
//             name, cost, model, large preview text) and numbers (stepIndex,
//             durationMs, the three token counts, the preview's size), each only when
//             the field holds a value.
//   MESSAGE   any other frame: its `event:` type and `id:` when present, its data as text;
//             the receiving thread takes the reference path (sse.ts).
//   MALFORMED a frame the framing skipped: the reason.
import { eventOf, FIELD_VALUE, ScannedEvent } from "./eventScan.js";
import type { FrameSink } from "./sseFrames.js";
import type { TraceEvent } from "./schemas.js";

const SCANNED = 0;
const MESSAGE = 1;
const MALFORMED = 2;

const HAS_ID = 1 << 4;
const NAME_SHIFT = 5;
const INDEX_SHIFT = 7;
const DURATION_SHIFT = 9;
const TOKENS_SHIFT = 11;
const PROMPT_SHIFT = 13;
const COMPLETION_SHIFT = 15;
const TOTAL_SHIFT = 17;
const COST_SHIFT = 19;
const MODEL_SHIFT = 21;
const HAS_LARGE = 1 << 23;
const LARGE_TRUNCATED = 1 << 24;
const MESSAGE_HAS_TYPE = 1 << 2;
const MESSAGE_HAS_ID = 1 << 3;

/** The records of one chunk (or of the end of the stream), as posted. */
export interface FrameRecords {
  readonly ints: Int32Array<ArrayBuffer>;
  readonly nums: Float64Array<ArrayBuffer>;
  readonly strings: string[];
  /** The last `retry:` value, or -1. */
  readonly retryMs: number;
}

/** Builds FrameRecords from the frames of a frame reader (the decoding thread's sink). */
export class RecordWriter implements FrameSink {
  private ints: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private intCount = 0;
  private nums: Float64Array<ArrayBuffer> = new Float64Array(1024);
  private numCount = 0;
  private strings: string[] = [];
  private retryMs = -1;
  // A step's started and completed events repeat its id and name (the scanner returns
  // the same string then), and a few models recur: each is sent once per chunk.
  private lastStepId = "";
  private lastStepIdIndex = -1;
  private lastName = "";
  private lastNameIndex = -1;
  private models = new Map<string, number>();

  constructor(private readonly scanned: ScannedEvent) {}

  /** The records so far; the writer starts over. Their buffers can be transferred. */
  take(): FrameRecords {
    const records: FrameRecords = {
      ints: this.ints.slice(0, this.intCount),
      nums: this.nums.slice(0, this.numCount),
      strings: this.strings,
      retryMs: this.retryMs,
    };
    this.intCount = 0;
    this.numCount = 0;
    this.strings = [];
    this.retryMs = -1;
    this.lastStepIdIndex = -1;
    this.lastNameIndex = -1;
    this.models.clear();
    return records;
  }

  scannedEvent(id: string | undefined): void {
    const s = this.scanned;
    const large = s.large;
    let tag =
      SCANNED |
      (s.typeIndex << 2) |
      (s.nameKind << NAME_SHIFT) |
      (s.indexKind << INDEX_SHIFT) |
      (s.durationKind << DURATION_SHIFT) |
      (s.tokensKind << TOKENS_SHIFT) |
      (s.promptKind << PROMPT_SHIFT) |
      (s.completionKind << COMPLETION_SHIFT) |
      (s.totalKind << TOTAL_SHIFT) |
      (s.costKind << COST_SHIFT) |
      (s.modelKind << MODEL_SHIFT);
    if (id !== undefined) tag |= HAS_ID;
    if (large !== null) tag |= large.truncated ? HAS_LARGE | LARGE_TRUNCATED : HAS_LARGE;
    this.int(tag);
    if (id !== undefined) this.int(this.string(id));
    if (s.stepId !== this.lastStepId || this.lastStepIdIndex === -1) {
      this.lastStepId = s.stepId;
      this.lastStepIdIndex = this.string(s.stepId);
    }
    this.int(this.lastStepIdIndex);
    if (s.nameKind === FIELD_VALUE) {
      if (s.name !== this.lastName || this.lastNameIndex === -1) {
        this.lastName = s.name;
        this.lastNameIndex = this.string(s.name);
      }
      this.int(this.lastNameIndex);
    }
    if (s.costKind === FIELD_VALUE) this.int(this.string(s.cost));
    if (s.modelKind === FIELD_VALUE) {
      let index = this.models.get(s.model);
      if (index === undefined) {
        index = this.string(s.model);
        this.models.set(s.model, index);
      }
      this.int(index);
    }
    if (large !== null) this.int(this.string(large.json));
    if (s.indexKind === FIELD_VALUE) this.num(s.index);
    if (s.durationKind === FIELD_VALUE) this.num(s.duration);
    if (s.promptKind === FIELD_VALUE) this.num(s.prompt);
    if (s.completionKind === FIELD_VALUE) this.num(s.completion);
    if (s.totalKind === FIELD_VALUE) this.num(s.total);
    if (large !== null) this.num(large.sizeBytes);
  }

  message(eventType: string | undefined, data: string, id: string | undefined): void {
    this.int(MESSAGE | (eventType === undefined ? 0 : MESSAGE_HAS_TYPE) | (id === undefined ? 0 : MESSAGE_HAS_ID));
    if (eventType !== undefined) this.int(this.string(eventType));
    this.int(this.string(data));
    if (id !== undefined) this.int(this.string(id));
  }

  malformed(reason: string): void {
    this.int(MALFORMED);
    this.int(this.string(reason));
  }

  retry(ms: number): void {
    this.retryMs = ms;
  }

  private int(value: number): void {
    if (this.intCount === this.ints.length) {
      const grown = new Int32Array(this.ints.length * 2);
      grown.set(this.ints);
      this.ints = grown;
    }
    this.ints[this.intCount++] = value;
  }

  private num(value: number): void {
    if (this.numCount === this.nums.length) {
      const grown = new Float64Array(this.nums.length * 2);
      grown.set(this.nums);
      this.nums = grown;
    }
    this.nums[this.numCount++] = value;
  }

  private string(text: string): number {
    this.strings.push(text);
    return this.strings.length - 1;
  }
}

/** Where read records go: FrameSink's frames, and scanned events already built. */
export interface RecordSink extends Pick<FrameSink, "message" | "malformed" | "retry"> {
  add(event: TraceEvent, id: string | undefined): void;
}

/** Replays FrameRecords into `sink`, building each scanned event with eventOf (as the framing thread would have). */
export function readRecords(records: FrameRecords, sink: RecordSink): void {
  const { ints, nums, strings } = records;
  const s = new ScannedEvent();
  let k = 0;
  let n = 0;
  while (k < ints.length) {
    const tag = ints[k++] as number;
    const kind = tag & 3;
    if (kind === MALFORMED) {
      sink.malformed(strings[ints[k++] as number] as string);
      continue;
    }
    if (kind === MESSAGE) {
      const eventType = tag & MESSAGE_HAS_TYPE ? strings[ints[k++] as number] : undefined;
      const data = strings[ints[k++] as number] as string;
      const id = tag & MESSAGE_HAS_ID ? strings[ints[k++] as number] : undefined;
      sink.message(eventType, data, id);
      continue;
    }
    const id = tag & HAS_ID ? strings[ints[k++] as number] : undefined;
    s.typeIndex = (tag >> 2) & 3;
    s.nameKind = (tag >> NAME_SHIFT) & 3;
    s.indexKind = (tag >> INDEX_SHIFT) & 3;
    s.durationKind = (tag >> DURATION_SHIFT) & 3;
    s.tokensKind = (tag >> TOKENS_SHIFT) & 3;
    s.promptKind = (tag >> PROMPT_SHIFT) & 3;
    s.completionKind = (tag >> COMPLETION_SHIFT) & 3;
    s.totalKind = (tag >> TOTAL_SHIFT) & 3;
    s.costKind = (tag >> COST_SHIFT) & 3;
    s.modelKind = (tag >> MODEL_SHIFT) & 3;
    s.stepId = strings[ints[k++] as number] as string;
    if (s.nameKind === FIELD_VALUE) s.name = strings[ints[k++] as number] as string;
    if (s.costKind === FIELD_VALUE) s.cost = strings[ints[k++] as number] as string;
    if (s.modelKind === FIELD_VALUE) s.model = strings[ints[k++] as number] as string;
    const json = tag & HAS_LARGE ? (strings[ints[k++] as number] as string) : null;
    if (s.indexKind === FIELD_VALUE) s.index = nums[n++] as number;
    if (s.durationKind === FIELD_VALUE) s.duration = nums[n++] as number;
    if (s.promptKind === FIELD_VALUE) s.prompt = nums[n++] as number;
    if (s.completionKind === FIELD_VALUE) s.completion = nums[n++] as number;
    if (s.totalKind === FIELD_VALUE) s.total = nums[n++] as number;
    s.large = json === null ? null : { json, sizeBytes: nums[n++] as number, truncated: (tag & LARGE_TRUNCATED) !== 0 };
    sink.add(eventOf(s), id);
  }
  if (records.retryMs !== -1) sink.retry(records.retryMs);
}
