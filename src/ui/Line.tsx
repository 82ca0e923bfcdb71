// One screen line made of styled pieces of already fitted, sanitized text. Every line of
// the screen goes through here, so the way a line reaches Ink stays cheap: one text per
// line, and Ink measures it on string-width's printable-ASCII path, ~50 times faster than
// the grapheme path any other character sends the whole text down. A line with other
// characters (status glyphs, names) is therefore laid out with ASCII placeholders of the
// same width, and a Transform puts the characters back as the line is written out.
import { Text, Transform, useIsScreenReaderEnabled } from "ink";
import type { ReactNode } from "react";
import { textWidth } from "./text.js";
import { dim, tint, type Theme } from "./theme.js";

export interface Segment {
  readonly text: string;
  readonly color?: string | undefined;
  readonly bold?: boolean;
  /** Dimmed (only drawn in colour mode). */
  readonly dim?: boolean;
}

export interface LineProps {
  readonly segments: readonly Segment[];
  /** Reverse video for the whole line (the selected row): drawn with or without colour. */
  readonly inverse?: boolean;
  readonly bold?: boolean;
  readonly theme: Theme;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const RUNS = /[\x20-\x7e]+|[^\x20-\x7e]+/g;
const SGR_AT = /\x1b\[[0-9;]*m/y;

function styled(segment: Segment, key: number, theme: Theme): ReactNode {
  const plain = segment.bold !== true && segment.dim !== true && (segment.color === undefined || !theme.color);
  if (plain) return segment.text;
  return (
    <Text key={key} {...tint(theme, segment.color)} {...(segment.bold === true ? { bold: true } : {})} {...(segment.dim === true ? dim(theme) : {})}>
      {segment.text}
    </Text>
  );
}

/** A run of non-ASCII characters, and where its placeholder sits in the line's plain text. */
export interface Swap {
  readonly at: number;
  readonly length: number;
  readonly text: string;
}

/** The segments with each non-ASCII run replaced by as many `?` as it is wide, and the runs. */
export function withPlaceholders(segments: readonly Segment[]): { segments: Segment[]; swaps: Swap[] } {
  const swaps: Swap[] = [];
  let at = 0;
  const out = segments.map((segment) => {
    if (PRINTABLE_ASCII.test(segment.text)) {
      at += segment.text.length;
      return segment;
    }
    let text = "";
    for (const run of segment.text.match(RUNS) ?? []) {
      const length = PRINTABLE_ASCII.test(run) ? run.length : textWidth(run);
      if (PRINTABLE_ASCII.test(run)) text += run;
      else {
        swaps.push({ at, length, text: run });
        text += "?".repeat(length);
      }
      at += length;
    }
    return { ...segment, text };
  });
  return { segments: out, swaps };
}

/** Puts the runs back into the line Ink styled from the placeholders (SGR codes pass through). */
export function swapBack(line: string, swaps: readonly Swap[]): string {
  let out = "";
  let plain = 0;
  let next = 0;
  for (let i = 0; i < line.length; ) {
    // A run with no width (combining marks) goes in before anything else at its place.
    for (let swap = swaps[next]; swap !== undefined && swap.length === 0 && swap.at === plain; swap = swaps[next]) {
      out += swap.text;
      next += 1;
    }
    if (line.charCodeAt(i) === 0x1b) {
      SGR_AT.lastIndex = i;
      const code = SGR_AT.exec(line)?.[0] ?? "\x1b";
      out += code;
      i += code.length;
      continue;
    }
    const swap = swaps[next];
    if (swap !== undefined && swap.at === plain) {
      out += swap.text;
      i += swap.length;
      plain += swap.length;
      next += 1;
      continue;
    }
    out += line[i] ?? "";
    i += 1;
    plain += 1;
  }
  for (; next < swaps.length; next += 1) out += swaps[next]?.text ?? "";
  return out;
}

export function Line({ segments, inverse = false, bold = false, theme }: LineProps) {
  const screenReader = useIsScreenReaderEnabled();
  const lineProps = { wrap: "truncate", ...(inverse ? { inverse: true } : {}), ...(bold ? { bold: true } : {}) } as const;
  // An empty text takes no row in Ink's layout: a blank line is one space.
  if (segments.every((segment) => segment.text === "")) return <Text {...lineProps}> </Text>;
  // A screen reader reads the text as it is (Ink applies no transform for it).
  if (screenReader || segments.every((segment) => PRINTABLE_ASCII.test(segment.text))) {
    return <Text {...lineProps}>{segments.map((segment, i) => styled(segment, i, theme))}</Text>;
  }
  const { segments: placeheld, swaps } = withPlaceholders(segments);
  return (
    <Transform transform={(line) => swapBack(line, swaps)}>
      <Text {...lineProps}>{placeheld.map((segment, i) => styled(segment, i, theme))}</Text>
    </Transform>
  );
}

/** A line of one piece. */
export function TextLine({ text, color, inverse = false, bold = false, theme }: { text: string; color?: string | undefined; inverse?: boolean; bold?: boolean; theme: Theme }) {
  return <Line segments={[{ text, color }]} inverse={inverse} bold={bold} theme={theme} />;
}
