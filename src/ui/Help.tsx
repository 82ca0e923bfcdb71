// Every key, from the one keymap table; two columns when one does not fit the height.
import { Text } from "ink";
import { memo } from "react";
import { KEY_HELP } from "./keymap.js";
import { fit } from "./text.js";
import type { Theme } from "./theme.js";

function helpLines(): string[] {
  const lines: string[] = [];
  let screen = "";
  for (const entry of KEY_HELP) {
    if (entry.screen !== screen) {
      screen = entry.screen;
      lines.push(screen === "any" ? "everywhere" : `${screen}`);
    }
    lines.push(`  ${entry.keys.padEnd(22)} ${entry.does}`);
  }
  return lines;
}

const LINES = helpLines();

export const Help = memo(function Help({ width, height, theme }: { width: number; height: number; theme: Theme }) {
  const columns = LINES.length > height && width >= 80 ? 2 : 1;
  const perColumn = Math.ceil(LINES.length / columns);
  const columnWidth = Math.floor(width / columns);
  const out: string[] = [];
  for (let i = 0; i < Math.min(perColumn, height); i += 1) {
    let line = "";
    for (let c = 0; c < columns; c += 1) line += fit(LINES[c * perColumn + i] ?? "", columnWidth, { ellipsis: theme.g.ellipsis });
    out.push(line);
  }
  return (
    <>
      {out.map((line, i) => (
        <Text key={i} wrap="truncate">
          {line}
        </Text>
      ))}
    </>
  );
});
