// The ndjson format: one JSON line per normalized event as it arrives
// (`{"type", ...payload, "id"?, "receivedAt"}`), connection lines, and the summary line.
//
// The server replays the whole history after a reconnect (unless it honoured
// Last-Event-ID): events already printed are not printed again. The replay is the
// same history from the start, so after a non-resumed reopen the first N events
// are skipped, N being the number printed so far.
import type { MonitorSignal } from "../../api/signals.js";
import { summarySteps, type Summary } from "../../state/summary.js";
import type { RunState } from "../../state/types.js";
import { safeJson } from "./jsonText.js";
import type { WatchOutput } from "./output.js";
import { writeSummaryJson } from "./summaryJson.js";

function iso(at: number): string {
  return new Date(at).toISOString();
}

export class NdjsonOutput implements WatchOutput {
  private printed = 0;
  private replayToSkip = 0;

  constructor(private readonly write: (text: string) => void) {}

  onSignal(signal: MonitorSignal, _state: RunState): void {
    switch (signal.type) {
      case "stream/events": {
        let text = "";
        for (const received of signal.events) {
          if (this.replayToSkip > 0) {
            this.replayToSkip--;
            continue;
          }
          // `type` first, whatever order the decoder built the event in.
          const { type, ...payload } = received.event;
          const line: Record<string, unknown> = { type, ...payload };
          if (received.id !== undefined) line.id = received.id;
          line.receivedAt = iso(received.at);
          text += `${safeJson(line)}\n`;
          this.printed++;
        }
        if (text !== "") this.write(text);
        return;
      }
      case "stream/connecting":
        return this.line({ type: "connection", state: "connecting", attempt: signal.attempt, at: iso(signal.at) });
      case "stream/opened":
        this.replayToSkip = signal.resumed ? 0 : this.printed;
        return this.line({ type: "connection", state: "live", resumed: signal.resumed, at: iso(signal.at) });
      case "stream/closed":
        return this.line({ type: "connection", state: "lost", reason: signal.reason, at: iso(signal.at) });
      case "stream/reconnecting":
        return this.line({
          type: "connection",
          state: "reconnecting",
          attempt: signal.attempt,
          delayMs: signal.delayMs,
          reason: signal.reason,
          at: iso(signal.at),
        });
      case "stream/ended":
        return this.line({ type: "connection", state: "ended", at: iso(signal.at) });
      case "stream/malformed":
        return this.line({ type: "malformed", count: signal.count, reason: signal.reason, at: iso(signal.at) });
      case "stream/unknown":
        return this.line({ type: "unknown", count: signal.count, at: iso(signal.at) });
      case "run/status":
        return this.line({ type: "run_status", status: signal.status, at: iso(signal.at) });
      case "trace/loaded":
      case "attempts/loaded":
        // Their content is what the summary line reports.
        return;
    }
  }

  finish(state: RunState, summary: Summary): void {
    writeSummaryJson(summary, summarySteps(state), "line", this.write);
  }

  private line(value: unknown): void {
    this.write(`${safeJson(value)}\n`);
  }
}
