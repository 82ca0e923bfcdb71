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

function keyBar(props: FooterProps): string {
  switch (props.mode) {
    case "help":
      return "?/Esc close  q quit";
    case "detail":
      return "j/k attempt  Tab/e/i/o snapshot  J/K/PgUp/PgDn scroll  [/] iteration  Esc back  r reload  ? help  q quit";
    case "table": {
      const filter = props.filter === "" ? "" : `filter "${sanitizeLine(props.filter)}" (Esc clears)  `;
      return `${filter}j/k move  Enter detail  / filter  s sort:${props.sort}  f follow:${props.follow ? "on" : "off"}  r reload  ? help  q quit`;
    }
  }
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
      {fit(keyBar(props), room, { ellipsis: theme.g.ellipsis })}
      {right}
    </Text>
  );
});
