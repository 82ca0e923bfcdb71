// Cost view (`c`): each step's share of the run's cost and tokens as horizontal bars,
// largest first; the cost of failed attempts is drawn apart (its own glyph, colour and
// amount). `m` groups the bars by model. Amounts are exact (formatUsd with every digit).
import { memo, useMemo } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import { formatUsd } from "../state/money.js";
import { formatCount, formatInteger } from "./format.js";
import { cellsOf, itemTotal, shareText, usdText, type CostBreakdown, type CostItem } from "./costModel.js";
import { Line, TextLine } from "./Line.js";
import { fit, textWidth } from "./text.js";
import type { Theme } from "./theme.js";

const EXACT_DIGITS = 30;
const SHARE_WIDTH = 6;
const TOKENS_WIDTH = 7;

export interface CostLayout {
  readonly labelWidth: number;
  readonly costBar: number;
  readonly amountWidth: number;
  /** 0 when no bar has a failed attempt's cost. */
  readonly failedWidth: number;
  readonly tokenBar: number;
}

function usd(amount: CostItem["cost"], theme: Theme): string {
  return formatUsd(usdText(amount), { ascii: theme.ascii, digits: EXACT_DIGITS });
}

function failedText(item: CostItem, theme: Theme): string {
  if (item.failed === null) return item.failedUnknown ? "+? failed" : "";
  return `+${usd(item.failed, theme)} failed${item.failedUnknown ? "+?" : ""}`;
}

/** Column widths for `width` cells; amounts get the room the widest one needs (up to a limit). */
export function costLayout(width: number, breakdown: CostBreakdown, theme: Theme): CostLayout {
  let amountWidth = 5;
  let failedWidth = 0;
  for (const item of breakdown.items) {
    amountWidth = Math.max(amountWidth, textWidth(usd(item.cost, theme)));
    failedWidth = Math.max(failedWidth, textWidth(failedText(item, theme)));
  }
  amountWidth = Math.min(amountWidth, 16);
  failedWidth = Math.min(failedWidth, 22);
  const labelWidth = Math.max(10, Math.min(28, Math.floor(width * 0.25)));
  // Separators: after the label, the cost bar, the amount, the failed amount (when shown), the share, the token bar.
  const fixed = labelWidth + amountWidth + (failedWidth > 0 ? failedWidth + 1 : 0) + SHARE_WIDTH + TOKENS_WIDTH + 5;
  const bars = Math.max(4, width - fixed);
  const costBar = Math.max(2, Math.round(bars * 0.6));
  return { labelWidth, costBar, amountWidth, failedWidth, tokenBar: Math.max(2, bars - costBar) };
}

interface CostLineProps {
  readonly item: CostItem;
  readonly breakdown: CostBreakdown;
  readonly selected: boolean;
  readonly byModel: boolean;
  readonly layout: CostLayout;
  readonly theme: Theme;
}

const CostLine = memo(function CostLine({ item, breakdown, selected, byModel, layout, theme }: CostLineProps) {
  const { g } = theme;
  const whole = itemTotal({ cost: breakdown.cost, failed: breakdown.failed });
  // The bar's cells come from exact ratios of the run's whole cost; a known non-zero part shows at least one cell.
  const total = itemTotal(item);
  const positive = (amount: CostItem["cost"]): boolean => amount !== null && amount.units > 0n;
  const totalCells = cellsOf(total, whole, layout.costBar);
  const failedCells = Math.max(Math.min(totalCells, cellsOf(item.failed, whole, layout.costBar)), positive(item.failed) ? 1 : 0);
  const doneCells = Math.min(layout.costBar - failedCells, Math.max(totalCells - failedCells, positive(item.cost) ? 1 : 0));
  const tokenCells =
    item.tokens === null || breakdown.tokens <= 0 ? 0 : Math.min(layout.tokenBar, Math.max(item.tokens > 0 ? 1 : 0, Math.round((layout.tokenBar * item.tokens) / breakdown.tokens)));
  const steps = byModel ? ` (${String(item.steps)})` : "";
  const label = `${selected ? g.selected : " "}${fit(`${sanitizeLine(item.label)}${steps}`, layout.labelWidth - 1, { ellipsis: g.ellipsis })}`;
  const done = g.bar.done.repeat(doneCells);
  const failed = g.bar.failed.repeat(failedCells);
  const pad = " ".repeat(Math.max(0, layout.costBar - doneCells - failedCells));
  const amount = ` ${fit(usd(item.cost, theme), layout.amountWidth, { alignRight: true, ellipsis: g.ellipsis })}`;
  const failedAmount = layout.failedWidth > 0 ? ` ${fit(failedText(item, theme), layout.failedWidth, { ellipsis: g.ellipsis })}` : "";
  const share = ` ${fit(shareText(total, whole), SHARE_WIDTH, { alignRight: true })}`;
  const tokens = ` ${g.bar.other.repeat(tokenCells)}${" ".repeat(layout.tokenBar - tokenCells)} ${fit(item.tokens === null ? "" : formatCount(item.tokens), TOKENS_WIDTH, { alignRight: true })}`;
  return (
    <Line
      segments={[
        { text: `${label} ` },
        { text: done, color: "green" },
        { text: failed, color: "red" },
        { text: pad + amount },
        { text: failedAmount, color: "red" },
        { text: share },
        { text: tokens, color: "blue" },
      ]}
      inverse={selected}
      theme={theme}
    />
  );
});

export interface CostViewProps {
  readonly breakdown: CostBreakdown;
  readonly byModel: boolean;
  readonly start: number;
  readonly end: number;
  readonly selected: number;
  readonly width: number;
  readonly theme: Theme;
}

/** The summary line above the bars: the longest form that fits `width`. */
function summaryLine(breakdown: CostBreakdown, byModel: boolean, width: number, theme: Theme): string {
  const whole = usd(itemTotal({ cost: breakdown.cost, failed: breakdown.failed }), theme);
  const by = ` by ${byModel ? "model" : "step"}  cost ${whole}`;
  const parts = breakdown.failed === null ? "" : ` = ${usd(breakdown.cost, theme)} + ${usd(breakdown.failed, theme)} failed`;
  const failed = breakdown.failed === null ? "" : ` (${usd(breakdown.failed, theme)} failed)`;
  const tokens = `  tokens ${formatInteger(breakdown.tokens)}`;
  const unknown = breakdown.unknownCost > 0 ? `  ${String(breakdown.unknownCost)} without cost` : "";
  const forms = [`${by}${parts}${tokens}${unknown}`, `${by}${parts}${unknown}`, `${by}${failed}${unknown}`, `${by}${failed}`];
  return forms.find((form) => textWidth(form) <= width) ?? forms[forms.length - 1] ?? "";
}

export function CostView({ breakdown, byModel, start, end, selected, width, theme }: CostViewProps) {
  // Every amount is measured for the columns: once per breakdown (run state version) and width.
  const layout = useMemo(() => costLayout(width, breakdown, theme), [width, breakdown, theme]);
  if (breakdown.items.length === 0) return <TextLine text={` waiting for the first step${theme.g.ellipsis}`} theme={theme} />;
  const lines = [<TextLine key="summary" text={fit(summaryLine(breakdown, byModel, width, theme), width, { ellipsis: theme.g.ellipsis })} bold theme={theme} />];
  for (let i = start; i < end; i += 1) {
    const item = breakdown.items[i];
    if (item === undefined) break;
    lines.push(
      <CostLine key={i - start} item={item} breakdown={breakdown} selected={i === selected} byModel={byModel} layout={layout} theme={theme} />,
    );
  }
  return <>{lines}</>;
}
