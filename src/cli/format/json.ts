// The json format: nothing while the run goes on, then the summary object
// (two-space indentation, one line per step: see summaryJson.ts).
import { summarySteps, type Summary } from "../../state/summary.js";
import type { RunState } from "../../state/types.js";
import type { WatchOutput } from "./output.js";
import { writeSummaryJson } from "./summaryJson.js";

export class JsonOutput implements WatchOutput {
  constructor(private readonly write: (text: string) => void) {}

  onSignal(): void {
    // Only the summary is printed.
  }

  finish(state: RunState, summary: Summary): void {
    writeSummaryJson(summary, summarySteps(state), "pretty", this.write);
  }
}
