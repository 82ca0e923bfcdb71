// The screen: header, step table / step detail / help, footer. Run state comes from the run
// store (batched), view state from the view reducer; keys are dispatched with a snapshot of
// the rows as drawn, never read back from a stale closure.
import { Box, Text, useInput, useStdin, useStdout, type Key } from "ink";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import { selectFollowIndex, selectRows, selectStepCostWithRetries } from "../state/selectors.js";
import { TERMINAL_RUN_STATUSES, type StepRow } from "../state/types.js";
import { layoutColumns } from "./columns.js";
import { Detail, detailLayout } from "./Detail.js";
import { Footer } from "./Footer.js";
import { Header } from "./Header.js";
import { Help } from "./Help.js";
import { reduceKeys, splitKeys, type KeyPress } from "./keymap.js";
import type { RunStore } from "./runStore.js";
import { buildSnapshot, defaultContextKind } from "./snapshot.js";
import type { TraceSource } from "./source.js";
import { StepTable, TableHeading } from "./StepTable.js";
import { fit } from "./text.js";
import { makeTheme } from "./theme.js";
import { useAttempts } from "./useAttempts.js";
import { installInkRowCache } from "./inkRowCache.js";
import { useClock, useRunState, useTerminalSize } from "./useRunStore.js";
import {
  initialViewState,
  resolveAttempt,
  resolveSelection,
  resolveWindow,
  type TableRows,
  type ViewContext,
  type ViewState,
} from "./viewReducer.js";

export interface AppProps {
  readonly store: RunStore;
  readonly source: TraceSource;
  readonly flowLabel: string;
  readonly executionId: string;
  readonly ascii: boolean;
  readonly color: boolean;
  /** Called once when the user quits (q, Ctrl+C). */
  readonly onQuit: () => void;
  /** A line about the watch itself (e.g. "cannot monitor: ..."), shown above the footer. */
  readonly notice?: string | null;
  /** Clock period while the run is under way (tests shorten it). Default 1000. */
  readonly tickMs?: number;
}

interface KeysEvent {
  readonly keys: readonly KeyPress[];
  readonly ctx: ViewContext;
}

function viewEvents(state: ViewState, event: KeysEvent): ViewState {
  return reduceKeys(state, event.keys, event.ctx);
}

/** The rows as the view reducer sees them; the id index is built only when a key needs it. */
function tableRowsOf(rows: readonly StepRow[]): TableRows {
  let index: Map<string, number> | null = null;
  return {
    count: rows.length,
    idAt: (i) => rows[i]?.stepId,
    indexOf(stepId) {
      index ??= new Map(rows.map((row, i) => [row.stepId, i]));
      return index.get(stepId) ?? -1;
    },
    followIndex: selectFollowIndex(rows),
  };
}

/** Loop indexes of a step's iterations in order; [loopIndex] for a step outside a loop. */
function iterationsOfRow(row: StepRow | undefined): readonly (number | null)[] {
  if (row === undefined) return [null];
  if (row.isLoop && row.iterationRows.length > 0) return row.iterationRows.map((it) => it.loopIndex);
  return [row.loopIndex];
}

// Installed when the screen loads, so every mount of App (runTui, tests, the bench) draws alike.
await installInkRowCache();

const HEADER_LINES = 2;
const FOOTER_LINES = 1;

export function App({ store, source, flowLabel, executionId, ascii, color, onQuit, notice = null, tickMs = 1000 }: AppProps) {
  const { stdout } = useStdout();
  const { isRawModeSupported } = useStdin();
  const { columns, rows: terminalRows } = useTerminalSize(stdout);
  const theme = useMemo(() => makeTheme({ ascii, color }), [ascii, color]);
  const run = useRunState(store);
  // Elapsed times move only while the run is under way; a finished screen never redraws.
  useClock(
    !TERMINAL_RUN_STATUSES.has(run.status) && run.startedAt !== null && !run.final && run.connection.kind !== "ended",
    tickMs,
  );
  const now = Date.now();
  const [view, dispatch] = useReducer(viewEvents, undefined, initialViewState);
  const [reloadNotice, setReloadNotice] = useState<string | null>(null);

  // Height: never more than rows - 1 lines, or Ink clears and redraws the whole screen.
  const shownNotice = notice ?? reloadNotice;
  const bodyHeight = Math.max(2, terminalRows - 1 - HEADER_LINES - FOOTER_LINES - (shownNotice === null ? 0 : 1));
  const pageSize = Math.max(1, bodyHeight - 1);

  const rows = selectRows(run, { sort: view.sort, filter: view.filter, now });
  const tableRows = useMemo(() => tableRowsOf(rows), [rows]);
  // Keyed on the row number's digits, not the count: a new step must not re-render every row.
  const numberDigits = String(run.steps.size).length;
  const layout = useMemo(() => layoutColumns(columns, numberDigits), [columns, numberDigits]);
  const iterationsOf = useCallback((stepId: string) => iterationsOfRow(run.steps.get(stepId)), [run]);

  const detail = view.mode === "detail" || view.helpReturn === "detail" ? view.detail : null;
  const detailRow = detail === null ? undefined : run.steps.get(detail.stepId);
  const refreshKey = `${String(view.reloads)}|${detailRow?.status ?? ""}|${String(detailRow?.attempt ?? 0)}|${String(
    detailRow?.iterations ?? 0,
  )}`;
  const detailStepId = detail?.stepId ?? null;
  const detailLoopIndex = detail?.loopIndex ?? null;
  const attemptsTarget = useMemo(
    () => (detailStepId === null ? null : { stepId: detailStepId, loopIndex: detailLoopIndex }),
    [detailStepId, detailLoopIndex],
  );
  const attempts = useAttempts(source, attemptsTarget, refreshKey);
  const attemptCount = attempts?.attempts.length ?? 0;
  const attemptIndex = detail === null ? -1 : resolveAttempt(detail, attemptCount);
  const selectedAttempt = attemptIndex >= 0 ? attempts?.attempts[attemptIndex] : undefined;
  const contextKind = detail?.context ?? defaultContextKind(selectedAttempt);
  const snapshot = useMemo(
    () => (selectedAttempt === undefined ? null : buildSnapshot(selectedAttempt, contextKind, columns)),
    [selectedAttempt, contextKind, columns],
  );
  const { snapshotLines } = detailLayout(bodyHeight, attemptCount);

  const ctx: ViewContext = {
    rows: (sort, filter) =>
      sort === view.sort && filter === view.filter ? tableRows : tableRowsOf(selectRows(run, { sort, filter, now })),
    pageSize,
    iterationsOf,
    detail: { attemptCount, contextKind, contextLines: snapshot?.lines.length ?? 0, contextPage: snapshotLines },
  };
  // Read by the input handler: the rows as drawn by the latest render.
  const ctxRef = useRef(ctx);
  ctxRef.current = ctx;

  const onInput = useCallback((input: string, key: Key) => {
    dispatch({ keys: splitKeys(input, key), ctx: ctxRef.current });
  }, []);
  // useInput needs raw mode; a non-TTY stdin (pipe, CI) would make it throw.
  useInput(onInput, { isActive: isRawModeSupported });

  useEffect(() => {
    if (view.quit) onQuit();
  }, [view.quit, onQuit]);

  const modeRef = useRef(view.mode);
  modeRef.current = view.mode;
  useEffect(() => {
    // In the detail, `r` reloads the attempts (useAttempts' refresh key); here the trace.
    if (view.reloads === 0 || modeRef.current === "detail") return;
    const controller = new AbortController();
    setReloadNotice(null);
    source.reloadTrace(controller.signal).then(
      () => setReloadNotice(null),
      (error: unknown) => {
        if (!controller.signal.aborted) setReloadNotice(`reload failed: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
    return () => controller.abort();
  }, [view.reloads, source]);

  const selected = resolveSelection(view, ctx);
  const visible = resolveWindow(view, ctx);

  let body: ReactNode;
  let position = "";
  if (view.mode === "help") {
    body = <Help width={columns} height={bodyHeight} theme={theme} />;
  } else if (view.mode === "detail" && detail !== null && attempts !== null) {
    body = (
      <Detail
        row={detailRow}
        detail={detail}
        attempts={attempts}
        attemptIndex={attemptIndex}
        snapshot={snapshot}
        iterations={iterationsOf(detail.stepId)}
        costWithRetries={selectStepCostWithRetries(run, detail.stepId)}
        width={columns}
        height={bodyHeight}
        theme={theme}
      />
    );
    position = attemptCount > 0 ? `attempt ${String(attemptIndex + 1)}/${String(attemptCount)}` : "";
  } else {
    const emptyText =
      view.filter !== "" ? `no step matches "${sanitizeLine(view.filter)}"` : `waiting for the first step${theme.g.ellipsis}`;
    body = (
      <>
        <TableHeading layout={layout} theme={theme} />
        <StepTable
          rows={rows}
          start={visible.start}
          end={visible.end}
          selected={selected}
          layout={layout}
          now={now}
          theme={theme}
          emptyText={emptyText}
        />
      </>
    );
    const above = visible.start > 0 ? (theme.ascii ? "^" : "↑") : " ";
    const below = visible.end < rows.length ? (theme.ascii ? "v" : "↓") : " ";
    position =
      rows.length === 0
        ? `0/${String(run.steps.size)}`
        : `${String(visible.start + 1)}-${String(visible.end)}/${String(rows.length)} ${above}${below}`;
  }

  return (
    <Box flexDirection="column" width={columns}>
      <Header
        run={run}
        now={now}
        flowLabel={flowLabel}
        executionId={executionId}
        width={columns}
        theme={theme}
      />
      {body}
      {shownNotice === null ? null : (
        <Text wrap="truncate" {...(theme.color ? { color: "red" } : {})}>
          {fit(`${theme.ascii ? "!" : "⚠"} ${sanitizeLine(shownNotice)}`, columns, { ellipsis: theme.g.ellipsis })}
        </Text>
      )}
      <Footer
        mode={view.mode}
        filter={view.filter}
        filterEditing={view.filterEditing}
        sort={view.sort}
        follow={view.follow}
        position={position}
        width={columns}
        theme={theme}
      />
    </Box>
  );
}
