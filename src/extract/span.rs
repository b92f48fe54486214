//! Byte offsets to human positions.
//!
//! Every link carries the byte range of its URL in the file, so a rewrite can splice
//! exactly those bytes. People and editors want a line and a column instead: the
//! [`LineIndex`] turns one into the other. Lines end at `\n`, `\r\n` or a lone `\r`
//! (as CommonMark says); a column counts Unicode scalar values, so a URL after Chinese
//! text is reported where an editor shows it. A byte-order mark is not a character
//! anyone sees, so it is not counted in the first line's columns.

use std::borrow::Cow;
use std::ops::Range;

/// A byte range `[start, end)` in a note's source.
pub type Span = Range<usize>;

/// Where the pieces of a joined fragment came from: (offset in the fragment, range
/// in the source), adjacent source ranges merged.
#[derive(Debug)]
pub(crate) struct PieceMap {
    pieces: Vec<(usize, Range<usize>)>,
}

impl PieceMap {
    pub(crate) fn new(ranges: &[Range<usize>]) -> Self {
        let mut pieces: Vec<(usize, Range<usize>)> = Vec::with_capacity(ranges.len());
        let mut joined = 0;
        for range in ranges.iter().filter(|r| r.start < r.end) {
            match pieces.last_mut() {
                Some((_, last)) if last.end == range.start => last.end = range.end,
                _ => pieces.push((joined, range.clone())),
            }
            joined += range.len();
        }
        Self { pieces }
    }

    /// The pieces put together, borrowed when there is only one; `None` when a
    /// range is not in `source`.
    pub(crate) fn join<'s>(&self, source: &'s str) -> Option<Cow<'s, str>> {
        match self.pieces.as_slice() {
            [] => None,
            [(_, one)] => source.get(one.clone()).map(Cow::Borrowed),
            many => many
                .iter()
                .map(|(_, r)| source.get(r.clone()))
                .collect::<Option<String>>()
                .map(Cow::Owned),
        }
    }

    fn offset(&self, at: usize) -> usize {
        let i = self
            .pieces
            .partition_point(|(start, _)| *start <= at)
            .max(1)
            - 1;
        self.pieces
            .get(i)
            .map_or(at, |(start, range)| range.start + (at - start))
    }

    /// A fragment span in source offsets. The end is mapped from the last byte, so
    /// a span that ends a piece does not reach into the markers after it.
    pub(crate) fn to_source(&self, span: Range<usize>) -> Range<usize> {
        let start = self.offset(span.start);
        let end = if span.end > span.start {
            self.offset(span.end - 1) + 1
        } else {
            start
        };
        start..end.max(start)
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column, starting at 1, counted in Unicode scalar values.
    pub column: u32,
}

/// Offset → position lookups in one text.
///
/// Nothing is stored per line: a cursor walks forward from the previous lookup,
/// so a file of millions of empty lines costs no more memory than one of a few.
#[derive(Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Where the first line's content starts: 0 or, after a byte-order mark, 3.
    first: usize,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`. The text must be the whole file, so that offsets are file
    /// offsets.
    #[must_use]
    pub fn new(text: &'a str) -> Self {
        let first = if text.starts_with('\u{feff}') { 3 } else { 0 };
        Self { text, first }
    }

    /// The position of byte `offset`. Offsets past the end map to the end; an offset
    /// inside a multi-byte character or a `\r\n` pair counts the characters before it.
    #[must_use]
    pub fn position(&self, offset: usize) -> Position {
        self.cursor().at(offset)
    }

    /// A cursor for looking up many offsets in increasing order, each in time
    /// proportional to the distance from the previous one rather than to the
    /// length of its line (a one-line minified page can hold thousands of links).
    /// An offset before the previous one starts again from the top.
    #[must_use]
    pub fn cursor(&self) -> Cursor<'_, 'a> {
        Cursor {
            index: self,
            line: 0,
            line_start: self.first,
            offset: self.first,
            chars: 0,
        }
    }
}

/// Counts scalar values by counting the bytes that start one: correct even when
/// a slice ends inside a character, and free of allocation.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// Looks up positions for offsets that mostly increase; see [`LineIndex::cursor`].
#[derive(Debug)]
pub struct Cursor<'i, 'a> {
    index: &'i LineIndex<'a>,
    /// The line of the last lookup (0-based) …
    line: usize,
    /// … where it starts …
    line_start: usize,
    /// … the offset looked up …
    offset: usize,
    /// … and the characters between its line start and it.
    chars: usize,
}

impl Cursor<'_, '_> {
    /// The position of byte `offset`.
    pub fn at(&mut self, offset: usize) -> Position {
        let index = self.index;
        let bytes = index.text.as_bytes();
        let offset = offset.min(bytes.len());
        if offset < self.offset {
            *self = index.cursor();
        }
        if offset <= self.line_start {
            // Inside a byte-order mark, or at the very start of the line.
            self.offset = self.offset.max(offset);
            return self.position(0);
        }
        let mut from = self.offset;
        let mut new_line = false;
        while let Some(found) = memchr::memchr2(b'\n', b'\r', &bytes[from..offset]) {
            let at = from + found;
            let next = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                at + 2
            } else {
                at + 1
            };
            // Between the two bytes of a `\r\n`: still on the `\r`'s line.
            if next > offset {
                break;
            }
            self.line += 1;
            self.line_start = next;
            new_line = true;
            from = next;
        }
        self.chars = if new_line {
            count_chars(&bytes[self.line_start..offset])
        } else {
            self.chars + count_chars(&bytes[self.offset..offset])
        };
        self.offset = offset;
        self.position(self.chars)
    }

    fn position(&self, chars: usize) -> Position {
        Position {
            line: u32::try_from(self.line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(chars + 1).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(text: &str, offset: usize) -> (u32, u32) {
        let p = LineIndex::new(text).position(offset);
        (p.line, p.column)
    }

    #[test]
    fn first_byte_is_line_one_column_one() {
        assert_eq!(pos("abc", 0), (1, 1));
        assert_eq!(pos("", 0), (1, 1));
    }

    #[test]
    fn columns_count_scalar_values_not_bytes() {
        let text = "中文 https://x.org";
        let offset = text.find("https").unwrap();
        assert_eq!(offset, 7);
        assert_eq!(pos(text, offset), (1, 4));
    }

    #[test]
    fn lf_crlf_and_lone_cr_all_end_lines() {
        let text = "a\nb\r\nc\rd";
        assert_eq!(pos(text, text.find('b').unwrap()), (2, 1));
        assert_eq!(pos(text, text.find('c').unwrap()), (3, 1));
        assert_eq!(pos(text, text.find('d').unwrap()), (4, 1));
    }

    #[test]
    fn byte_order_mark_is_not_a_column() {
        let text = "\u{feff}[a](b)\nx";
        assert_eq!(pos(text, 3), (1, 1));
        assert_eq!(pos(text, text.find("b)").unwrap()), (1, 5));
        assert_eq!(pos(text, text.find('x').unwrap()), (2, 1));
    }

    /// The position of `offset`, counted from the top with no cleverness.
    fn naive(text: &str, offset: usize) -> (usize, usize) {
        let bytes = text.as_bytes();
        let first = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let (mut line, mut start, mut i) = (1, first, first);
        while i < offset {
            let next = match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => i + 2,
                b'\r' | b'\n' => i + 1,
                _ => {
                    i += 1;
                    continue;
                }
            };
            if next > offset {
                break;
            }
            line += 1;
            start = next;
            i = next;
        }
        (line, count_chars(&bytes[start.min(offset)..offset]) + 1)
    }

    #[test]
    fn a_cursor_agrees_with_fresh_lookups_in_any_order() {
        for text in ["ab 中文 cd\r\nef\rgh 中\n\nij", "\u{feff}a\r\n\r\rb\n"] {
            let index = LineIndex::new(text);
            let offsets: Vec<usize> = (0..=text.len()).chain((0..=text.len()).rev()).collect();
            let mut cursor = index.cursor();
            for offset in offsets {
                let p = cursor.at(offset);
                assert_eq!(
                    (p.line as usize, p.column as usize),
                    naive(text, offset),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    #[test]
    fn offsets_past_the_end_are_clamped() {
        assert_eq!(pos("ab\n", 99), (2, 1));
    }
}
