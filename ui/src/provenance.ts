// Report provenance on the UI side: the shell's byte-offset spans turned into JS string ranges,
// the segments the editor paints (AI / accepted / human, low confidence), and a local estimate of
// how unsaved typing changes them until the shell recomputes provenance on save.

import type { Origin, Span } from './api';

export interface Segment {
  start: number;
  end: number;
  origin: Origin;
  lowConfidence: boolean;
}

const encoder = new TextEncoder();

/** Maps UTF-8 byte offsets of `text` to UTF-16 string indices (offsets inside a character snap
 * to its start). */
export function byteToIndexMap(text: string): (byteOffset: number) => number {
  const starts: number[] = [];
  let bytes = 0;
  for (let i = 0; i < text.length; ) {
    const codePoint = text.codePointAt(i) ?? 0;
    const units = codePoint > 0xffff ? 2 : 1;
    const width = encoder.encode(String.fromCodePoint(codePoint)).length;
    for (let b = 0; b < width; b++) starts.push(i);
    bytes += width;
    i += units;
  }
  return (offset) => (offset >= bytes ? text.length : offset <= 0 ? 0 : starts[offset]);
}

/** The shell's spans as string ranges tiling `text`; gaps become human text. */
export function segmentsFromSpans(text: string, spans: Span[]): Segment[] {
  const toIndex = byteToIndexMap(text);
  const segments: Segment[] = [];
  let cursor = 0;
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  for (const span of sorted) {
    const start = Math.max(toIndex(span.start), cursor);
    const end = toIndex(span.end);
    if (end <= start) continue;
    if (start > cursor) segments.push({ start: cursor, end: start, origin: 'human', lowConfidence: false });
    segments.push({ start, end, origin: span.origin, lowConfidence: span.low_confidence && span.origin === 'ai' });
    cursor = end;
  }
  if (cursor < text.length) segments.push({ start: cursor, end: text.length, origin: 'human', lowConfidence: false });
  return segments;
}

/** Segments of `edited` given the saved `original` and its segments. The edit is taken as one
 * contiguous change (common prefix and suffix kept); a segment the change touches loses its
 * origin entirely and every changed character is human, as in the shell's
 * `Provenance::after_edit`. */
export function segmentsAfterLocalEdit(original: string, segments: Segment[], edited: string): Segment[] {
  if (original === edited) return segments;
  const limit = Math.min(original.length, edited.length);
  let prefix = 0;
  while (prefix < limit && original[prefix] === edited[prefix]) prefix++;
  let suffix = 0;
  while (suffix < limit - prefix && original[original.length - 1 - suffix] === edited[edited.length - 1 - suffix]) {
    suffix++;
  }
  const changedEnd = original.length - suffix;
  const touched = (s: Segment) =>
    prefix === changedEnd ? s.start < prefix && prefix < s.end : s.start < changedEnd && prefix < s.end;
  // For each character of `edited`: the intact old segment it comes from, or null (human).
  const source: (Segment | null)[] = new Array<Segment | null>(edited.length).fill(null);
  const shift = edited.length - original.length;
  for (const s of segments) {
    if (touched(s)) continue;
    for (let i = s.start; i < s.end; i++) {
      if (i < prefix) source[i] = s;
      else if (i >= changedEnd) source[i + shift] = s;
    }
  }
  const result: Segment[] = [];
  let runSource: Segment | null | undefined;
  for (let i = 0; i < edited.length; i++) {
    const from = source[i];
    const last = result[result.length - 1];
    if (last && from === runSource) {
      last.end = i + 1;
      continue;
    }
    runSource = from;
    result.push(
      from
        ? { start: i, end: i + 1, origin: from.origin, lowConfidence: from.lowConfidence }
        : { start: i, end: i + 1, origin: 'human', lowConfidence: false },
    );
  }
  return result;
}

export function hasUnreviewedAi(segments: Segment[]): boolean {
  return segments.some((s) => s.origin === 'ai' && s.end > s.start);
}
