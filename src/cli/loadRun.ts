// A run from the server as an export (export, diff): the step names exist only on the
// stream, so the run is followed with the same monitor as a watch, without output. The
// stream replays the history of a finished run and closes, so that is quick; a run still
// under way is followed to its end. The final Trace and the attempts of retried steps
// are the monitor's own final loads.
import { TraceClient } from "../api/client.js";
import { namesRecord, type ExportContent } from "../api/exportFile.js";
import { MonitorError, monitorRun } from "../api/monitor.js";
import { redactSecrets } from "../api/redact.js";
import { sanitizeLine } from "../api/sanitize.js";
import { initialRunState, reduceRun } from "../state/reducer.js";
import type { ServerConfig } from "./config.js";

/** The run could not be loaded; the message is one redacted line without a prefix. */
export class LoadRunError extends Error {
  override readonly name = "LoadRunError";
}

export interface LoadedRun {
  readonly content: ExportContent;
  /** False when an `attempt=all` fetch failed: `content.attempts` is then incomplete. */
  readonly attemptsComplete: boolean;
}

export async function loadRun(config: ServerConfig, executionId: string, signal: AbortSignal): Promise<LoadedRun> {
  const client = new TraceClient({ baseUrl: config.baseUrl, apiKey: config.apiKey });
  let state = initialRunState(executionId);
  try {
    const result = await monitorRun({
      client,
      flow: config.flow,
      executionId,
      signal,
      idleTimeoutMs: config.idleTimeoutMs,
      giveUpAfterMs: config.giveUpAfterMs,
      onSignal(monitorSignal) {
        state = reduceRun(state, monitorSignal);
      },
    });
    if (result.trace === null) throw new LoadRunError("the run ended but its trace could not be loaded");
    const names = namesRecord(
      state.steps
        .rows()
        .filter((row) => row.name !== null && row.name !== "")
        .map((row) => [row.stepId, row.name as string] as const),
    );
    return {
      content: {
        trace: result.trace,
        names,
        attempts: result.retriedAttempts ?? state.attempts,
        executionId,
        flow: config.flowLabel,
        exportedAt: new Date().toISOString(),
      },
      attemptsComplete: result.retriedAttempts !== null,
    };
  } catch (error) {
    if (error instanceof MonitorError) {
      throw new LoadRunError(redactSecrets(sanitizeLine(error.message), [config.apiKey]), { cause: error });
    }
    throw error;
  } finally {
    await client.close();
  }
}
