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

/// The start offset of every line of one text, for offset → position lookups.
#[derive(Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line's content starts; the first is 0 or, after a
    /// byte-order mark, 3.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`. The text must be the whole file, so that offsets are file
    /// offsets.
    #[must_use]
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let first = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut starts = vec![first];
        let mut i = first;
        while let Some(found) = memchr::memchr2(b'\n', b'\r', &bytes[i..]) {
            let at = i + found;
            let next = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                at + 2
            } else {
                at + 1
            };
            starts.push(next);
            i = next;
        }
        Self { text, starts }
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
    #[must_use]
    pub fn cursor(&self) -> Cursor<'_, 'a> {
        Cursor {
            index: self,
            line: 0,
            offset: self.starts[0],
            chars: 0,
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        // The last line start at or before `offset`.
        self.starts.partition_point(|&s| s <= offset).max(1) - 1
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
    /// … its offset …
    offset: usize,
    /// … and the characters between its line start and it.
    chars: usize,
}

impl Cursor<'_, '_> {
    /// The position of byte `offset`.
    pub fn at(&mut self, offset: usize) -> Position {
        let index = self.index;
        let offset = offset.min(index.text.len());
        let line = index.line_of(offset);
        let start = index.starts[line].min(offset);
        let bytes = index.text.as_bytes();
        if line == self.line && offset >= self.offset && self.offset >= start {
            self.chars += count_chars(&bytes[self.offset..offset]);
        } else {
            self.chars = count_chars(&bytes[start..offset]);
        }
        self.line = line;
        self.offset = offset;
        Position {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(self.chars + 1).unwrap_or(u32::MAX),
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

    #[test]
    fn a_cursor_agrees_with_fresh_lookups_in_any_order() {
        let text = "ab 中文 cd\r\nef\rgh 中\n\nij";
        let index = LineIndex::new(text);
        let offsets: Vec<usize> = (0..=text.len()).chain((0..=text.len()).rev()).collect();
        let mut cursor = index.cursor();
        for offset in offsets {
            let fresh = {
                let line = index.line_of(offset);
                let start = index.starts[line].min(offset);
                (line + 1, count_chars(&text.as_bytes()[start..offset]) + 1)
            };
            let p = cursor.at(offset);
            assert_eq!(
                (p.line as usize, p.column as usize),
                fresh,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn offsets_past_the_end_are_clamped() {
        assert_eq!(pos("ab\n", 99), (2, 1));
    }
}
