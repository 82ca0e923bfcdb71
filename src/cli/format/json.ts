// The json format: nothing while the run goes on, then the summary object,
// pretty-printed with two-space indentation.
import type { Summary } from "../../state/summary.js";
import type { RunState } from "../../state/types.js";
import { safeJson } from "./jsonText.js";
import type { WatchOutput } from "./output.js";

export class JsonOutput implements WatchOutput {
  constructor(private readonly write: (text: string) => void) {}

  onSignal(): void {
    // Only the summary is printed.
  }

  finish(_state: RunState, summary: Summary): void {
    this.write(`${safeJson(summary, 2)}\n`);
  }
}
