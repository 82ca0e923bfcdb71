// The key bar (or the filter prompt while it is edited, or the answer to `e`) and the
// scroll indicator.
import { memo } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import type { SortKey } from "../state/selectors.js";
import { Line } from "./Line.js";
import { fit, textWidth } from "./text.js";
import type { Theme } from "./theme.js";
import type { ViewMode } from "./viewReducer.js";

/** A one-line answer shown in place of the key bar until the next key (e.g. the export's). */
export interface FooterMessage {
  readonly text: string;
  readonly error: boolean;
}

export interface FooterProps {
  readonly mode: ViewMode;
  readonly filter: string;
  readonly filterEditing: boolean;
  readonly sort: SortKey;
  readonly follow: boolean;
  /** Cost view: grouped by model. */
  readonly byModel: boolean;
  /** `r` can reload (watching live). */
  readonly live: boolean;
  readonly message: FooterMessage | null;
  /** e.g. `1-19/120`; empty when nothing scrolls. */
  readonly position: string;
  readonly width: number;
  readonly theme: Theme;
}

/** [keys, what, drop order]: on a narrow terminal the highest drop order goes first. */
type Hint = readonly [keys: string, does: string, dropOrder: number];

function hints(props: FooterProps): Hint[] {
  const reload: Hint[] = props.live ? [["r", "reload", 3]] : [];
  switch (props.mode) {
    case "help":
      return [
        ["?/Esc", "close", 0],
        ["q", "quit", 0],
      ];
    case "detail":
      return [
        ["Esc", "back", 0],
        ["j/k", "attempt", 1],
        ["e/i/o/Tab", "snapshot", 1],
        ["J/K/PgDn", "scroll", 2],
        ["h/l", "sideways", 2],
        ["[ ]", "iteration", 2],
        ...reload,
        ["?", "help", 0],
        ["q", "quit", 0],
      ];
    case "timeline":
      return [
        ["Esc", "back", 0],
        ["j/k", "move", 1],
        ["Enter", "detail", 1],
        ["x", "expand", 1],
        ["c", "cost", 2],
        ["e", "export", 3],
        ["?", "help", 0],
        ["q", "quit", 0],
      ];
    case "cost":
      return [
        ["Esc", "back", 0],
        ["j/k", "move", 1],
        ["Enter", "detail", 2],
        ["m", props.byModel ? "by step" : "by model", 1],
        ["t", "timeline", 2],
        ["e", "export", 3],
        ["?", "help", 0],
        ["q", "quit", 0],
      ];
    case "table":
      return [
        ["j/k", "move", 1],
        ["Enter", "detail", 1],
        ["/", "filter", 2],
        ["s", `sort:${props.sort}`, 2],
        ["f", `follow:${props.follow ? "on" : "off"}`, 2],
        ["t", "timeline", 3],
        ["c", "cost", 3],
        ["e", "export", 4],
        ...reload,
        ["?", "help", 0],
        ["q", "quit", 0],
      ];
  }
}

/** The key hints that fit in `room` cells, dropping the least needed first. */
function keyBar(props: FooterProps, room: number): string {
  const prefix = props.mode === "table" && props.filter !== "" ? `filter "${sanitizeLine(props.filter)}" (Esc clears)  ` : "";
  let shown = hints(props);
  const render = (): string => prefix + shown.map(([keys, does]) => `${keys} ${does}`).join("  ");
  while (textWidth(render()) > room) {
    const worst = Math.max(...shown.map(([, , order]) => order));
    if (worst === 0) break;
    const at = shown.map(([, , order]) => order).lastIndexOf(worst);
    shown = shown.filter((_, i) => i !== at);
  }
  return render();
}

export const Footer = memo(function Footer(props: FooterProps) {
  const { width, theme, position, message } = props;
  const right = position === "" ? "" : ` ${position}`;
  const room = Math.max(0, width - textWidth(right));
  if (props.filterEditing && props.mode === "table") {
    const prompt = fit(`/${sanitizeLine(props.filter)}_  Enter keep  Esc clear`, room, { ellipsis: theme.g.ellipsis });
    return <Line segments={[{ text: prompt, color: "yellow" }, { text: right }]} theme={theme} />;
  }
  if (message !== null) {
    const text = fit(`${message.error ? (theme.ascii ? "! " : "⚠ ") : ""}${sanitizeLine(message.text)}`, room, { ellipsis: theme.g.ellipsis });
    return <Line segments={[{ text, color: message.error ? "red" : "green" }, { text: right }]} theme={theme} />;
  }
  return <Line segments={[{ text: fit(keyBar(props, room), room, { ellipsis: theme.g.ellipsis }) + right }]} inverse={theme.color} theme={theme} />;
});
