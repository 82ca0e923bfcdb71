// One screen line made of styled pieces of already fitted, sanitized text. Every line of
// the screen goes through here, so the way a line reaches Ink stays cheap: Ink measures the
// text of each <Text> with string-width, whose printable-ASCII path is ~50 times faster
// than the grapheme path any other character sends the whole text down. A line with
// non-ASCII characters (status glyphs, names) is therefore laid out as a row of texts in
// which those characters sit apart from the ASCII runs; an ASCII line stays one <Text>.
import { Box, Text } from "ink";
import type { ReactNode } from "react";
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

function styled(segment: Segment, key: number, theme: Theme): ReactNode {
  const plain = segment.bold !== true && segment.dim !== true && (segment.color === undefined || !theme.color);
  if (plain) return segment.text;
  return (
    <Text key={key} {...tint(theme, segment.color)} {...(segment.bold === true ? { bold: true } : {})} {...(segment.dim === true ? dim(theme) : {})}>
      {segment.text}
    </Text>
  );
}

/** Pieces grouped so that each group is all printable ASCII or holds one run of other characters. */
export function asciiGroups(segments: readonly Segment[]): Segment[][] {
  const groups: Segment[][] = [];
  let ascii: Segment[] | null = null;
  for (const segment of segments) {
    for (const run of segment.text.match(RUNS) ?? []) {
      const piece = run === segment.text ? segment : { ...segment, text: run };
      if (PRINTABLE_ASCII.test(run)) {
        if (ascii === null) {
          ascii = [];
          groups.push(ascii);
        }
        ascii.push(piece);
      } else {
        ascii = null;
        groups.push([piece]);
      }
    }
  }
  return groups;
}

export function Line({ segments, inverse = false, bold = false, theme }: LineProps) {
  const lineProps = { wrap: "truncate", ...(inverse ? { inverse: true } : {}), ...(bold ? { bold: true } : {}) } as const;
  // An empty text takes no row in Ink's layout: a blank line is one space.
  if (segments.every((segment) => segment.text === "")) return <Text {...lineProps}> </Text>;
  if (segments.every((segment) => PRINTABLE_ASCII.test(segment.text))) {
    return <Text {...lineProps}>{segments.map((segment, i) => styled(segment, i, theme))}</Text>;
  }
  return (
    <Box>
      {asciiGroups(segments).map((group, i) => (
        <Text key={i} {...lineProps}>
          {group.map((segment, j) => styled(segment, j, theme))}
        </Text>
      ))}
    </Box>
  );
}

/** A line of one piece. */
export function TextLine({ text, color, inverse = false, bold = false, theme }: { text: string; color?: string | undefined; inverse?: boolean; bold?: boolean; theme: Theme }) {
  return <Line segments={[{ text, color }]} inverse={inverse} bold={bold} theme={theme} />;
}
