// The real TUI screen (App) mounted by Ink on a fake terminal of a chosen size, so frames
// can be timed and counted without a pty: every write is timestamped.
import { EventEmitter } from "node:events";
import { TraceClient } from "../../dist/api/client.js";
import { createSseDecoder } from "../../dist/api/sse.js";
import { initialRunState, reduceRun } from "../../dist/state/reducer.js";
import { createTraceSource } from "../../dist/ui/source.js";
import { BASE_URL } from "./ours.mjs";
import { API_KEY, FLOW, FLOW_REF } from "./workload.mjs";

// As runTui does: React's build (development or production) follows NODE_ENV when React is
// first loaded, and noukai-top defaults it to production before loading the screen.
process.env.NODE_ENV ??= "production";
// The probe's own stdout is a pipe, so chalk would drop every colour: draw the colours a
// 256-colour terminal (TERM=xterm-256color) gets, so frames cost what they cost there.
process.env.FORCE_COLOR ??= "2";
const [{ createElement }, { render }, { App }] = await Promise.all([
  import("react"),
  import("ink"),
  import("../../dist/ui/App.js"),
]);

/** Ink brackets a frame with these (synchronized output); they are not frames themselves. */
const SYNC_MARKERS = new Set(["\x1b[?2026h", "\x1b[?2026l"]);

class FakeStdout extends EventEmitter {
  isTTY = true;
  /** performance.now() of every frame written (one write each; sync markers left out). */
  writeTimes = [];
  bytes = 0;
  constructor(columns, rows) {
    super();
    this.columns = columns;
    this.rows = rows;
  }
  write(data) {
    if (SYNC_MARKERS.has(data)) return true;
    this.writeTimes.push(performance.now());
    this.bytes += data.length;
    return true;
  }
}

/** A TTY stdin that Ink can read keys from (raw mode is a no-op). */
class FakeStdin extends EventEmitter {
  isTTY = true;
  data = null;
  /** Delivers `data` as one read, as a terminal would deliver a key. */
  press(data) {
    this.data = data;
    this.emit("readable");
    this.emit("data", data);
  }
  read() {
    const { data } = this;
    this.data = null;
    return data;
  }
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

/** Decodes SSE text the way the stream path does and returns its events. */
export function decodeEvents(text) {
  const decoder = createSseDecoder();
  const batch = decoder.push(Buffer.from(text, "utf8"));
  return [...batch.events, ...decoder.end().events];
}

/** A RunState built by the reducer from SSE text (one "stream/events" action). */
export function stateFromText(executionId, text) {
  const at = Date.now();
  let state = initialRunState(executionId);
  state = reduceRun(state, { type: "stream/connecting", attempt: 1, at });
  state = reduceRun(state, { type: "stream/opened", at, resumed: false });
  return reduceRun(state, { type: "stream/events", events: decodeEvents(text) });
}

/**
 * Mounts App for `store` on a columns x rows fake terminal with runTui's render options
 * (except `maxFps`, which the caller chooses). Returns {stdout, stdin, unmount}.
 */
export function mountScreen({ store, executionId, columns, rows, maxFps }) {
  const stdout = new FakeStdout(columns, rows);
  const stdin = new FakeStdin();
  const client = new TraceClient({ baseUrl: BASE_URL, apiKey: API_KEY });
  const source = createTraceSource({ client, flow: FLOW, executionId, store });
  const instance = render(
    createElement(App, { store, source, flowLabel: FLOW_REF, executionId, ascii: false, color: true, onQuit() {}, notice: null }),
    { stdin, stdout, stderr: stdout, exitOnCtrlC: false, patchConsole: false, maxFps },
  );
  return {
    stdout,
    stdin,
    async unmount() {
      instance.unmount();
      await client.close();
    },
  };
}
