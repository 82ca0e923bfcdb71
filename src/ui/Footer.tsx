// The key bar (or the filter prompt while it is edited) and the scroll indicator.
import { Text } from "ink";
import { memo } from "react";
import { sanitizeLine } from "../api/sanitize.js";
import type { SortKey } from "../state/selectors.js";
import { fit, textWidth } from "./text.js";
import { tint, type Theme } from "./theme.js";
import type { ViewMode } from "./viewReducer.js";

export interface FooterProps {
  readonly mode: ViewMode;
  readonly filter: string;
  readonly filterEditing: boolean;
  readonly sort: SortKey;
  readonly follow: boolean;
  /** e.g. `1-19/120`; empty when nothing scrolls. */
  readonly position: string;
  readonly width: number;
  readonly theme: Theme;
}

/** [keys, what, drop order]: on a narrow terminal the highest drop order goes first. */
type Hint = readonly [keys: string, does: string, dropOrder: number];

function hints(props: FooterProps): Hint[] {
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
        ["[ ]", "iteration", 2],
        ["r", "reload", 3],
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
        ["r", "reload", 3],
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
  const { width, theme, position } = props;
  const right = position === "" ? "" : ` ${position}`;
  const room = Math.max(0, width - textWidth(right));
  if (props.filterEditing && props.mode === "table") {
    const prompt = fit(`/${sanitizeLine(props.filter)}_  Enter keep  Esc clear`, room, { ellipsis: theme.g.ellipsis });
    return (
      <Text wrap="truncate">
        <Text {...tint(theme, "yellow")}>{prompt}</Text>
        {right}
      </Text>
    );
  }
  return (
    <Text wrap="truncate" inverse={theme.color}>
      {fit(keyBar(props, room), room, { ellipsis: theme.g.ellipsis })}
      {right}
    </Text>
  );
});
