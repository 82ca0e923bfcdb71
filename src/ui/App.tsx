// The screen: header, then the step table / timeline / cost view / step detail / help,
// then the footer. Run state comes from the run store (batched), view state from the view
// reducer; keys are dispatched with a snapshot of the lists as drawn, never read back from
// a stale closure.
import { Box, useInput, useStdin, useStdout, type Key } from "ink";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import { selectFollowIndex, selectRows, selectStepCostWithRetries } from "../state/selectors.js";
import { TERMINAL_RUN_STATUSES, type RunState, type StepRow } from "../state/types.js";
import { layoutColumns } from "./columns.js";
import { costBars, costBreakdown } from "./costModel.js";
import { CostView } from "./CostView.js";
import { Detail, detailLayout } from "./Detail.js";
import { Footer, type FooterMessage } from "./Footer.js";
import { Header } from "./Header.js";
import { Help } from "./Help.js";
import { installInkRowCache } from "./inkRowCache.js";
import { reduceKeys, splitKeys, type KeyPress } from "./keymap.js";
import { TextLine } from "./Line.js";
import type { RunStore } from "./runStore.js";
import { buildSnapshot, defaultContextKind } from "./snapshot.js";
import type { TraceSource } from "./source.js";
import { StepTable, tableClock, TableHeading } from "./StepTable.js";
import { fit } from "./text.js";
import { makeTheme } from "./theme.js";
import { Timeline } from "./Timeline.js";
import { laneList, timelineLanes, timeSpan } from "./timeline.js";
import { useAttempts } from "./useAttempts.js";
import { useClock, useRunState, useSince, useTerminalSize } from "./useRunStore.js";
import {
  initialViewState,
  resolveAttempt,
  resolveList,
  resolveSelection,
  resolveWindow,
  type QuitKey,
  type TableRows,
  type ViewContext,
  type ViewState,
} from "./viewReducer.js";

/** Where the run comes from: the server (live), a saved trace (offline), a recording played back (replay). */
export type SourceKind = "live" | "offline" | "replay";

export interface AppProps {
  readonly store: RunStore;
  readonly source: TraceSource;
  readonly sourceKind?: SourceKind;
  readonly flowLabel: string;
  readonly executionId: string;
  readonly ascii: boolean;
  readonly color: boolean;
  /** Called once when the user quits, with the key used (q, Ctrl+C). */
  readonly onQuit: (key: QuitKey) => void;
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

/** The run is under way: elapsed times move (a finished screen never redraws). */
function ticking(run: RunState): boolean {
  if (run.connection.kind === "reconnecting") return true;
  return !TERMINAL_RUN_STATUSES.has(run.status) && run.startedAt !== null && !run.final && run.connection.kind !== "ended";
}

/** `a-b/n` and arrows for the rows hidden above and below. */
function positionText(start: number, end: number, count: number, ascii: boolean): string {
  if (count === 0) return "";
  const above = start > 0 ? (ascii ? "^" : "↑") : " ";
  const below = end < count ? (ascii ? "v" : "↓") : " ";
  return `${String(start + 1)}-${String(end)}/${String(count)} ${above}${below}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Installed when the screen loads, so every mount of App (runTui, tests, the bench) draws alike.
await installInkRowCache();

const HEADER_LINES = 2;
const FOOTER_LINES = 1;

export function App(props: AppProps) {
  const { store, source, sourceKind = "live", flowLabel, executionId, ascii, color, onQuit, notice = null, tickMs = 1000 } = props;
  const { stdout } = useStdout();
  const { isRawModeSupported } = useStdin();
  const { columns, rows: terminalRows } = useTerminalSize(stdout);
  const theme = useMemo(() => makeTheme({ ascii, color }), [ascii, color]);
  const run = useRunState(store);
  useClock(ticking(run), tickMs);
  const now = Date.now();
  const reconnectingSince = useSince(run.connection);
  const reconnectInMs = run.connection.kind === "reconnecting" ? reconnectingSince + run.connection.delayMs - now : undefined;
  const [view, dispatch] = useReducer(viewEvents, undefined, initialViewState);
  const [reloadNotice, setReloadNotice] = useState<string | null>(null);
  const [message, setMessage] = useState<FooterMessage | null>(null);

  // Height: never more than rows - 1 lines, or Ink clears and redraws the whole screen.
  const shownNotice = notice ?? reloadNotice;
  const bodyHeight = Math.max(2, terminalRows - 1 - HEADER_LINES - FOOTER_LINES - (shownNotice === null ? 0 : 1));
  // Every list has one line above it (headings, time axis, totals).
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
    () => (selectedAttempt === undefined ? null : buildSnapshot(selectedAttempt, contextKind)),
    [selectedAttempt, contextKind],
  );
  const { snapshotLines } = detailLayout(bodyHeight, attemptCount);

  const ctx: ViewContext = {
    rows: (sort, filter) =>
      sort === view.sort && filter === view.filter ? tableRows : tableRowsOf(selectRows(run, { sort, filter, now })),
    lanes: (expanded) => timelineLanes(laneList(run, expanded)),
    costBars: (byModel) => costBars(costBreakdown(run, byModel)),
    pageSize,
    iterationsOf,
    detail: {
      attemptCount,
      contextKind,
      contextLines: snapshot?.lines.length ?? 0,
      contextPage: snapshotLines,
      contextColumns: snapshot?.columns ?? 0,
      contextPageColumns: columns,
    },
  };
  // Read by the input handler: the lists as drawn by the latest render.
  const ctxRef = useRef(ctx);
  ctxRef.current = ctx;

  const onInput = useCallback((input: string, key: Key) => {
    // The answer to `e` stays until the next key.
    setMessage(null);
    dispatch({ keys: splitKeys(input, key), ctx: ctxRef.current });
  }, []);
  // useInput needs raw mode; a non-TTY stdin (pipe, CI) would make it throw.
  useInput(onInput, { isActive: isRawModeSupported });

  useEffect(() => {
    if (view.quit !== null) onQuit(view.quit);
  }, [view.quit, onQuit]);

  const modeRef = useRef(view.mode);
  modeRef.current = view.mode;
  useEffect(() => {
    // In the detail, `r` reloads the attempts (useAttempts' refresh key); here the trace.
    if (view.reloads === 0 || modeRef.current === "detail") return;
    if (!source.live) {
      setMessage({ text: "nothing to reload: not watching a live run", error: false });
      return;
    }
    const controller = new AbortController();
    setReloadNotice(null);
    source.reloadTrace(controller.signal).then(
      () => setReloadNotice(null),
      (error: unknown) => {
        if (!controller.signal.aborted) setReloadNotice(`reload failed: ${errorText(error)}`);
      },
    );
    return () => controller.abort();
  }, [view.reloads, source]);

  useEffect(() => {
    if (view.exports === 0) return;
    const controller = new AbortController();
    setMessage({ text: `writing ${executionId}.trace.json${theme.g.ellipsis}`, error: false });
    source.exportTrace(controller.signal).then(
      (path) => setMessage({ text: `wrote ${path}`, error: false }),
      (error: unknown) => {
        if (!controller.signal.aborted) setMessage({ text: `export failed: ${errorText(error)}`, error: true });
      },
    );
    // A second `e` while one is being written replaces it.
    return () => controller.abort();
  }, [view.exports, source, executionId, theme]);

  let body: ReactNode;
  let position = "";
  const runOver = !ticking(run);
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
  } else if (view.mode === "timeline") {
    const lanes = laneList(run, view.timeline.expanded);
    const { selected, start, end } = resolveList(view.timeline, timelineLanes(lanes), pageSize);
    body = (
      <Timeline
        run={run}
        lanes={lanes}
        start={start}
        end={end}
        selected={selected}
        expanded={view.timeline.expanded}
        span={timeSpan(run, now)}
        width={columns}
        now={now}
        over={runOver}
        theme={theme}
      />
    );
    position = positionText(start, end, lanes.length, ascii);
  } else if (view.mode === "cost") {
    const breakdown = costBreakdown(run, view.cost.byModel);
    const { selected, start, end } = resolveList(view.cost, costBars(breakdown), pageSize);
    body = (
      <CostView breakdown={breakdown} byModel={view.cost.byModel} start={start} end={end} selected={selected} width={columns} theme={theme} />
    );
    position = positionText(start, end, breakdown.items.length, ascii);
  } else {
    const selected = resolveSelection(view, ctx);
    const visible = resolveWindow(view, ctx);
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
          now={tableClock(rows, visible.start, visible.end, now)}
          theme={theme}
          emptyText={emptyText}
        />
      </>
    );
    position = rows.length === 0 ? `0/${String(run.steps.size)}` : positionText(visible.start, visible.end, rows.length, ascii);
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
        replay={sourceKind === "replay"}
        {...(reconnectInMs === undefined ? {} : { reconnectInMs })}
      />
      {body}
      {shownNotice === null ? null : (
        <TextLine text={fit(`${theme.ascii ? "!" : "⚠"} ${sanitizeLine(shownNotice)}`, columns, { ellipsis: theme.g.ellipsis })} color="red" theme={theme} />
      )}
      <Footer
        mode={view.mode}
        filter={view.filter}
        filterEditing={view.filterEditing}
        sort={view.sort}
        follow={view.follow}
        byModel={view.cost.byModel}
        live={source.live}
        message={message}
        position={position}
        width={columns}
        theme={theme}
      />
    </Box>
  );
}
