// How the screen draws: glyph set (--ascii) and whether colour is allowed (--no-color,
// NO_COLOR). Colour is never applied when `color` is false, whatever chalk detects.
import { glyphs, type Glyphs } from "./format.js";

export interface Theme {
  readonly ascii: boolean;
  readonly color: boolean;
  readonly g: Glyphs;
}

export function makeTheme(opts: { ascii: boolean; color: boolean }): Theme {
  return { ascii: opts.ascii, color: opts.color, g: glyphs(opts.ascii) };
}

/** Text props for a colour, or none when colour is off (exactOptionalPropertyTypes-safe). */
export function tint(theme: Theme, color: string | undefined): { color?: string } {
  return theme.color && color !== undefined ? { color } : {};
}

/** Dim text only in colour mode (dim is an SGR attribute some terminals render as a colour). */
export function dim(theme: Theme): { dimColor?: boolean } {
  return theme.color ? { dimColor: true } : {};
}
