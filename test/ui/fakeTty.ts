// Terminal-like streams for runTui: a stdin that supports raw mode (or not) and a stdout
// that records every byte Ink writes, with a size and 'resize' like a TTY.
import { EventEmitter } from "node:events";

export class FakeStdin extends EventEmitter {
  isRaw = false;
  private pending: string | null = null;

  constructor(readonly isTTY: boolean) {
    super();
  }

  /** Delivers one chunk, as a terminal delivers a key or a burst of keys. */
  type(data: string): void {
    this.pending = data;
    this.emit("readable");
  }

  read(): string | null {
    const data = this.pending;
    this.pending = null;
    return data;
  }

  setRawMode(enabled: boolean): this {
    this.isRaw = enabled;
    return this;
  }

  setEncoding(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  resume(): this {
    return this;
  }

  pause(): this {
    return this;
  }
}

export class FakeStdout extends EventEmitter {
  readonly isTTY = true;
  readonly writable = true;
  destroyed = false;
  output = "";

  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }

  write(chunk: string, callback?: () => void): boolean {
    this.output += chunk;
    if (callback) setImmediate(callback);
    return true;
  }

  /** Everything written since `from`, with escape sequences removed. */
  text(from = 0): string {
    // eslint-disable-next-line no-control-regex
    return this.output.slice(from).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  }
}

/** Casts for runTui's options (the fakes implement what Ink uses of the real streams). */
export function asStreams(stdin: FakeStdin, stdout: FakeStdout): { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream } {
  return { stdin: stdin as unknown as NodeJS.ReadStream, stdout: stdout as unknown as NodeJS.WriteStream };
}
