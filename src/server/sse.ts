// One open trace stream: writes shared, pre-encoded frames to one response, sends a
// comment heartbeat after `heartbeatMs` without a write, and owns exactly one timer,
// cleared when the stream ends or the client goes away.
import type { ServerResponse } from "node:http";

const HEARTBEAT = Buffer.from(": heartbeat\n\n", "utf8");
/** A client this far behind is cut off (it reconnects and gets the replay) rather than buffered without bound. */
const MAX_UNSENT_BYTES = 64 * 1024 * 1024;

export class SseStream {
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    heartbeatMs: number,
    private readonly onClose: () => void,
  ) {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    this.heartbeat = setTimeout(() => {
      this.res.write(HEARTBEAT);
      this.heartbeat?.refresh();
    }, heartbeatMs);
    res.once("close", () => this.dispose());
    // A client that left before this response began has already emitted its "close".
    if (res.socket === null || res.socket.destroyed) this.dispose();
  }

  /** Ended, or the client is gone: nothing more is written and onClose has run. */
  get isClosed(): boolean {
    return this.closed;
  }

  get hasTimer(): boolean {
    return this.heartbeat !== undefined;
  }

  write(frame: Buffer): void {
    if (this.closed) return;
    this.res.write(frame);
    this.heartbeat?.refresh();
    if (this.res.writableLength > MAX_UNSENT_BYTES) this.res.destroy();
  }

  /** Ends the response normally (the run is terminal, or the server closes). */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.dispose();
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    this.onClose();
  }
}
