//! Cutting a large Markdown note into pieces that are parsed one at a time.
//!
//! pulldown-cmark builds a tree of the whole document before its first event,
//! with a node of about 48 bytes for every run of text and every byte that may
//! open or close something (`[`, `]`, `<`, `*`, `` ` `` …): a line of `[a](`
//! repeated costs about fifty times its size, more with the allocator's slack
//! as the node vector doubles. Parsed in pieces of at most [`SEGMENT`] bytes, a
//! note's parse needs memory in proportion to the piece, not to the note.
//!
//! Notes up to [`SEGMENT`] bytes (nearly all) are one piece, parsed as before.
//! A larger note is cut where CommonMark's block structure starts afresh: before
//! a line that follows a blank line and is not indented (so not a list item's
//! continuation or indented code), outside fenced code, HTML comments and
//! `<pre>`, `<script>`, `<style>` and `<textarea>` blocks, whose text a cut
//! would turn into Markdown. A piece with no such place (one long paragraph, a
//! log saved as .txt) is cut at a line end, and one long line at a space, else
//! anywhere between two characters: only a link written across that cut is not
//! found whole. A reference used in one piece and defined in another is still
//! found (the definition is the occurrence); the use's text is not given to it.

use std::ops::Range;

/// The most bytes parsed at once.
pub const SEGMENT: usize = 1 << 20;

/// What the lines read so far leave open: a cut inside it would change how the
/// rest is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Nothing,
    /// A fence of this character, at least this long.
    Fence(u8, usize),
    /// An HTML block that runs to a line containing this (lowercase).
    Html(&'static str),
}

/// The pieces of `text[from..]` to parse one at a time, in order, covering it
/// without gaps; each ends on a character boundary.
#[must_use]
pub fn pieces(text: &str, from: usize) -> Vec<Range<usize>> {
    pieces_of(text, from, SEGMENT)
}

fn pieces_of(text: &str, from: usize, most: usize) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    if text.len().saturating_sub(from) <= most {
        out.push(from..text.len());
        return out;
    }
    let mut start = from;
    // The best cut so far (between blocks) and the last line start, past `start`.
    let mut between_blocks: Option<usize> = None;
    let mut line_end_cut: Option<usize> = None;
    let mut open = Open::Nothing;
    let mut previous_blank = false;
    let mut line_start = from;
    while line_start < bytes.len() {
        let line_end =
            memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i + 1);
        let line = &bytes[line_start..line_end];
        if line_start > start {
            line_end_cut = Some(line_start);
            if previous_blank
                && open == Open::Nothing
                && !matches!(line.first(), Some(b' ' | b'\t'))
            {
                between_blocks = Some(line_start);
            }
        }
        // This line does not fit in the piece: cut before it, or inside it.
        while line_end - start > most {
            let cut = between_blocks
                .or(line_end_cut)
                .filter(|&c| c > start)
                .unwrap_or_else(|| cut_inside(text, start, start + most));
            out.push(start..cut);
            start = cut;
            between_blocks = None;
            line_end_cut = (line_start > start).then_some(line_start);
        }
        open = after_line(open, line);
        previous_blank = line.iter().all(u8::is_ascii_whitespace);
        line_start = line_end;
    }
    if start < bytes.len() || out.is_empty() {
        out.push(start..bytes.len());
    }
    out
}

/// Where to cut a line between `start` and `limit`: after the last space or tab
/// in the second half, else on the last character boundary at `limit`.
fn cut_inside(text: &str, start: usize, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let half = start + (limit - start) / 2;
    if let Some(at) = memchr::memrchr2(b' ', b'\t', &bytes[half..limit]) {
        return half + at + 1;
    }
    let mut cut = limit;
    while cut > start && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut == start {
        // A character longer than the piece: past it rather than inside it.
        cut = limit;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
    }
    cut
}

/// The HTML blocks that run over blank lines (CommonMark's kinds 1 and 2), with
/// what ends them.
const HTML_BLOCKS: [(&str, &str); 5] = [
    ("<!--", "-->"),
    ("<pre", "</pre>"),
    ("<script", "</script>"),
    ("<style", "</style>"),
    ("<textarea", "</textarea>"),
];

/// What is open after `line`, given what was open before it.
fn after_line(open: Open, line: &[u8]) -> Open {
    let indent = line.iter().take_while(|&&b| b == b' ').count();
    let rest = &line[indent.min(line.len())..];
    match open {
        Open::Fence(c, len) => {
            let run = rest.iter().take_while(|&&b| b == c).count();
            let closes =
                indent < 4 && run >= len && rest[run..].iter().all(u8::is_ascii_whitespace);
            if closes { Open::Nothing } else { open }
        }
        Open::Html(end) => {
            if contains_lowercase(line, end) {
                Open::Nothing
            } else {
                open
            }
        }
        Open::Nothing if indent < 4 => {
            if let Some(&c) = rest.first().filter(|c| matches!(c, b'`' | b'~')) {
                let run = rest.iter().take_while(|&&b| b == c).count();
                if run >= 3 {
                    return Open::Fence(c, run);
                }
            }
            for (start, end) in HTML_BLOCKS {
                if rest.len() >= start.len()
                    && rest[..start.len()].eq_ignore_ascii_case(start.as_bytes())
                {
                    // The end marker may close it on its first line already.
                    let after = &rest[start.len()..];
                    return if contains_lowercase(after, end) {
                        Open::Nothing
                    } else {
                        Open::Html(end)
                    };
                }
            }
            Open::Nothing
        }
        Open::Nothing => Open::Nothing,
    }
}

/// Whether `hay` contains `needle` (lowercase ASCII), ignoring ASCII case.
fn contains_lowercase(hay: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str, most: usize) -> Vec<&str> {
        let pieces = pieces_of(text, 0, most);
        let mut at = 0;
        for p in &pieces {
            assert_eq!(p.start, at, "{pieces:?}");
            at = p.end;
        }
        assert_eq!(at, text.len());
        pieces.into_iter().map(|p| &text[p]).collect()
    }

    #[test]
    fn a_small_note_is_one_piece() {
        assert_eq!(cut("a\n\nb\n", 100), ["a\n\nb\n"]);
        assert_eq!(cut("", 100), [""]);
    }

    #[test]
    fn cuts_fall_between_blocks_when_there_are_any() {
        let text = "para one\nstill one\n\n- item\n\n  more item\n\nnext\n";
        // Not before `  more item`: indented, it continues the list item.
        assert_eq!(
            cut(text, 32),
            ["para one\nstill one\n\n", "- item\n\n  more item\n\nnext\n"]
        );
    }

    #[test]
    fn no_cut_inside_fenced_code_or_a_comment_while_a_better_place_exists() {
        let text = "a\n\n```\nx\n\ny\n```\n\n<!--\n\nz\n-->\n\nb\n";
        let pieces = cut(text, 24);
        for p in &pieces {
            assert_eq!(
                p.matches("```").count() % 2,
                0,
                "a fence is cut: {pieces:?}"
            );
        }
        assert!(
            pieces.iter().any(|p| p.contains("<!--\n\nz\n-->")),
            "{pieces:?}"
        );
    }

    #[test]
    fn a_long_paragraph_is_cut_at_line_ends_and_a_long_line_anywhere() {
        assert_eq!(cut("aaaa\nbbbb\ncccc\n", 10), ["aaaa\nbbbb\n", "cccc\n"]);
        assert_eq!(cut("[a]([a]([a](", 5), ["[a]([", "a]([a", "]("]);
        assert_eq!(cut("ab cd ef", 4), ["ab ", "cd ", "ef"]);
        let cjk = "中文中文";
        assert!(cut(cjk, 4).iter().all(|p| !p.is_empty()));
    }
}
