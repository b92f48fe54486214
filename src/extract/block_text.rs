//! Markdown written in the text of an HTML block.
//!
//! CommonMark ends an HTML block only at a blank line, so the lines that follow
//! `<div align=center><img …></div>` without one (in the notes, typically the next
//! list item with its article, paper and code links) are raw HTML: GitHub shows
//! `[title](url)` there as text. The author's editor renders them as links, and they
//! are a note's main references, so they are found here: the block's text outside its
//! tags is read as Markdown again, and its links, images and autolinks are reported
//! with a hint that says how to make GitHub link them too.
//!
//! What counts as a tag is CommonMark's own grammar of raw HTML (open and closing
//! tags, comments, processing instructions, declarations, CDATA), so `<https://…>`
//! stays an autolink. The contents of `<pre>`, `<script>`, `<style>` and `<textarea>`
//! are not text, and blocks that CommonMark opens with those (or with a comment,
//! a processing instruction, a declaration or CDATA) are not read at all. Each line's
//! indentation is dropped, since inside HTML it is layout, not a code block.

use std::ops::Range;

use memchr::memmem;

use super::Found;
use super::span::PieceMap;
use crate::link::Element;

/// What a link found in an HTML block's text says about itself.
pub const HINT: &str = "written inside an HTML block, where GitHub shows it as text: \
                        a blank line after the HTML block makes it a link";

/// The Markdown links, images and autolinks in the text of the HTML block made of
/// `pieces` of `source` (its lines, after any container markers), with spans in
/// `source`. `markdown` reads the text (the Markdown extractor, handed in so
/// that this module, which it calls, does not call it back by name).
pub fn find(
    source: &str,
    pieces: &[Range<usize>],
    markdown: impl FnOnce(&str) -> Vec<Found>,
) -> Vec<Found> {
    let map = PieceMap::new(pieces);
    let Some(joined) = map.join(source) else {
        return Vec::new();
    };
    // Most blocks are a tag or two: nothing there can open a link.
    if !joined.contains('[') && !joined.contains(':') && !joined.contains('@') {
        return Vec::new();
    }
    if opens_raw_block(&joined) {
        return Vec::new();
    }
    let shadow = Shadow::of(&joined);
    markdown(&shadow.text)
        .into_iter()
        .filter(|f| {
            matches!(
                f.element,
                Element::Link | Element::Image | Element::Autolink
            )
        })
        .filter_map(|mut f| {
            let span = shadow.to_joined(f.span.clone())?;
            f.span = map.to_source(span);
            f.hint = Some(HINT);
            Some(f)
        })
        .collect()
}

/// Whether the block starts the way CommonMark's HTML blocks of kinds 1 to 5 do,
/// whose contents are not markup (`<pre>`, `<script>`, `<style>`, `<textarea>`,
/// comments, processing instructions, declarations, CDATA).
fn opens_raw_block(block: &str) -> bool {
    let block = block.trim_start_matches([' ', '\t']).as_bytes();
    if block.starts_with(b"<!") || block.starts_with(b"<?") {
        return true;
    }
    RAW_ELEMENTS.iter().any(|name| {
        block.len() > name.len()
            && block[1..=name.len()].eq_ignore_ascii_case(name.as_bytes())
            && block
                .get(name.len() + 1)
                .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'>'))
    })
}

/// Elements whose contents are not text to read as Markdown.
const RAW_ELEMENTS: [&str; 4] = ["pre", "script", "style", "textarea"];

/// The block's text as Markdown sees it: tags removed (a tag inside a line leaves a
/// space, so the words around it stay apart), each line's indentation dropped. Kept
/// bytes remember where they came from.
struct Shadow {
    text: String,
    /// (offset in `text`, range in the joined block) of each run of kept bytes.
    runs: Vec<(usize, Range<usize>)>,
}

impl Shadow {
    fn of(block: &str) -> Self {
        let bytes = block.as_bytes();
        let mut shadow = Shadow {
            text: String::with_capacity(block.len()),
            runs: Vec::new(),
        };
        let mut tags = RawHtml::new(bytes);
        let mut i = 0;
        let mut line_start = true;
        while i < bytes.len() {
            if let Some(end) = tags.construct_at(i).filter(|_| !after_link_text(bytes, i)) {
                if !line_start {
                    shadow.text.push(' ');
                }
                i = end;
                continue;
            }
            if line_start && matches!(bytes[i], b' ' | b'\t') {
                i += 1;
                continue;
            }
            if matches!(bytes[i], b'\n' | b'\r') {
                let end = if bytes[i..].starts_with(b"\r\n") {
                    i + 2
                } else {
                    i + 1
                };
                shadow.push(block, i..end);
                line_start = true;
                i = end;
                continue;
            }
            // Text up to the next possible tag or line ending.
            let stop = memchr::memchr3(b'<', b'\n', b'\r', &bytes[i + 1..])
                .map_or(bytes.len(), |at| i + 1 + at);
            shadow.push(block, i..stop);
            line_start = false;
            i = stop;
        }
        shadow
    }

    fn push(&mut self, block: &str, range: Range<usize>) {
        match self.runs.last_mut() {
            Some((at, last)) if last.end == range.start && *at + last.len() == self.text.len() => {
                last.end = range.end;
            }
            _ => self.runs.push((self.text.len(), range.clone())),
        }
        self.text.push_str(&block[range]);
    }

    /// A span of the shadow text as a span of the block, when it lies within one
    /// run of kept bytes (a URL never crosses a removed tag).
    fn to_joined(&self, span: Range<usize>) -> Option<Range<usize>> {
        let i = self.runs.partition_point(|(at, _)| *at <= span.start);
        let (at, run) = self.runs.get(i.checked_sub(1)?)?;
        let start = run.start + (span.start - at);
        let end = run.start + (span.end - at);
        (end <= run.end).then_some(start..end)
    }
}

/// Finds CommonMark's raw HTML constructs in one block. Searches for a closing
/// delimiter that failed once are not repeated: nothing after the failed search's
/// start holds that delimiter, so the scan stays linear on hostile input.
struct RawHtml<'b> {
    bytes: &'b [u8],
    /// For each closing delimiter, the offset from which it is known not to occur.
    absent: [usize; 6],
}

/// The closing delimiters searched for, by index into [`RawHtml::absent`].
const CLOSERS: [&[u8]; 6] = [b"-->", b"?>", b"]]>", b">", b"\"", b"'"];

impl<'b> RawHtml<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        Self {
            bytes,
            absent: [usize::MAX; 6],
        }
    }

    /// Where `CLOSERS[which]` next ends at or after `from`.
    fn close(&mut self, which: usize, from: usize) -> Option<usize> {
        if from >= self.absent[which] {
            return None;
        }
        let closer = CLOSERS[which];
        let found = memmem::find(self.bytes.get(from..)?, closer);
        if found.is_none() {
            self.absent[which] = from;
        }
        found.map(|at| from + at + closer.len())
    }

    /// The end of the raw HTML construct that starts at `i`, if one does; for an
    /// element whose contents are not text, the end of its closing tag (or of the
    /// block).
    fn construct_at(&mut self, i: usize) -> Option<usize> {
        let rest = self.bytes.get(i..)?;
        if rest.first() != Some(&b'<') {
            return None;
        }
        if rest.starts_with(b"<!-->") {
            return Some(i + 5);
        }
        if rest.starts_with(b"<!--->") {
            return Some(i + 6);
        }
        if rest.starts_with(b"<!--") {
            return self.close(0, i + 4);
        }
        if rest.starts_with(b"<?") {
            return self.close(1, i + 2);
        }
        if rest.starts_with(b"<![CDATA[") {
            return self.close(2, i + 9);
        }
        if rest.starts_with(b"<!") && rest.get(2).is_some_and(u8::is_ascii_alphabetic) {
            return self.close(3, i + 2);
        }
        if rest.starts_with(b"</") {
            let name = tag_name(rest, 2)?;
            let end = skip_space(rest, name);
            return (rest.get(end) == Some(&b'>')).then_some(i + end + 1);
        }
        let name_end = tag_name(rest, 1)?;
        let end = self.open_tag_end(i + name_end)?;
        let name = &rest[1..name_end];
        if RAW_ELEMENTS
            .iter()
            .any(|raw| raw.as_bytes().eq_ignore_ascii_case(name))
        {
            return Some(self.raw_element_end(name, end));
        }
        Some(end)
    }

    /// The end of an open tag whose name ends at `at`: after its attributes, an
    /// optional `/` and `>`.
    fn open_tag_end(&mut self, at: usize) -> Option<usize> {
        let bytes = self.bytes;
        let mut i = at;
        loop {
            let after_space = skip_space(bytes, i);
            match bytes.get(after_space) {
                Some(b'>') => return Some(after_space + 1),
                Some(b'/') if bytes.get(after_space + 1) == Some(&b'>') => {
                    return Some(after_space + 2);
                }
                // An attribute needs whitespace before it.
                Some(b) if after_space > i && (b.is_ascii_alphabetic() || b"_:".contains(b)) => {
                    i = after_space + 1;
                    while bytes
                        .get(i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(b))
                    {
                        i += 1;
                    }
                    let eq = skip_space(bytes, i);
                    if bytes.get(eq) == Some(&b'=') {
                        i = self.attribute_value(skip_space(bytes, eq + 1))?;
                    }
                }
                _ => return None,
            }
        }
    }

    /// The end of the attribute value at `i`: quoted, or a run of bytes that are
    /// not space, quotes, `=`, `<`, `>` or a backtick.
    fn attribute_value(&mut self, i: usize) -> Option<usize> {
        match self.bytes.get(i)? {
            b'"' => self.close(4, i + 1),
            b'\'' => self.close(5, i + 1),
            _ => {
                let len = self.bytes[i..]
                    .iter()
                    .take_while(|b| **b > b' ' && !b"\"'=<>`".contains(b))
                    .count();
                (len > 0).then_some(i + len)
            }
        }
    }

    /// Where the raw element `name`, whose open tag ends at `from`, ends: after its
    /// closing tag, or at the end of the block.
    fn raw_element_end(&self, name: &[u8], from: usize) -> usize {
        let bytes = self.bytes;
        let mut at = from;
        while let Some(found) = memmem::find(&bytes[at..], b"</") {
            let tag = at + found;
            let name_end = tag + 2 + name.len();
            if bytes
                .get(tag + 2..name_end)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            {
                let end = skip_space(bytes, name_end);
                if bytes.get(end) == Some(&b'>') {
                    return end + 1;
                }
            }
            at = tag + 2;
        }
        bytes.len()
    }
}

/// Whether `<` at `at` opens a link's destination (`[text](<my file.md>)`), which
/// Markdown reads before any tag.
fn after_link_text(bytes: &[u8], at: usize) -> bool {
    let before = &bytes[..at];
    let trimmed = before.len()
        - before
            .iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
    before[..trimmed].ends_with(b"](")
}

/// The end of the tag name that starts at `at` in `bytes`: a letter, then letters,
/// digits and `-`.
fn tag_name(bytes: &[u8], at: usize) -> Option<usize> {
    if !bytes.get(at)?.is_ascii_alphabetic() {
        return None;
    }
    let len = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .count();
    Some(at + len)
}

/// Skips CommonMark whitespace (spaces, tabs, line endings, form feeds).
fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (raw at span, target, element) of each link found in `md`'s first block.
    fn found(md: &str) -> Vec<(String, String, Element)> {
        let mut all: Vec<_> = super::super::markdown::extract(md, 0)
            .into_iter()
            .filter(|f| f.hint == Some(HINT))
            .map(|f| (md[f.span].to_owned(), f.target, f.element))
            .collect();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }

    #[test]
    fn links_after_an_image_block_without_a_blank_line() {
        let md = "<div align=center><img src=\"https://mmbiz.qpic.cn/a/640\" style='zoom:100%'>\n</div>\n2. [title](https://mp.weixin.qq.com/s/abc)       :star:\n   - Paper: [p](https://arxiv.org/abs/2104.00924)\n   - Code: [https://github.com/a/b](https://github.com/a/b)\n\nafter [x](https://x.org)\n";
        let got = found(md);
        let raws: Vec<_> = got.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            raws,
            [
                "https://arxiv.org/abs/2104.00924",
                "https://github.com/a/b",
                "https://mp.weixin.qq.com/s/abc",
            ]
        );
        assert!(got.iter().all(|f| f.2 == Element::Link));
        // The image's attribute and the link after the blank line are found as
        // before, without the hint.
        let all = super::super::markdown::extract(md, 0);
        assert_eq!(all.len(), 5, "{all:#?}");
    }

    #[test]
    fn each_form_in_div_p_and_table() {
        for (open, close) in [
            ("<div>", "</div>"),
            ("<p align=\"center\">", "</p>"),
            ("<table>\n  <tr>\n    <td>", "</td>\n  </tr>\n</table>"),
        ] {
            let md = format!(
                "{open}\n    ![alt](i.png) [t](<my file.md> \"title\") <https://a.org/x?a=1&amp;b=2>\n{close}\n"
            );
            let got = found(&md);
            assert_eq!(
                got,
                [
                    (
                        "https://a.org/x?a=1&amp;b=2".to_owned(),
                        "https://a.org/x?a=1&b=2".to_owned(),
                        Element::Autolink
                    ),
                    ("i.png".to_owned(), "i.png".to_owned(), Element::Image),
                    (
                        "my file.md".to_owned(),
                        "my file.md".to_owned(),
                        Element::Link
                    ),
                ],
                "{md}"
            );
        }
    }

    #[test]
    fn text_inside_tags_is_read_but_tags_and_raw_contents_are_not() {
        let md = "<div><a href=\"h.md\">[in](a.md)</a><span title=\"[no](b.md)\">x</span><!-- [no](c.md) -->\n<pre>\n[no](d.md)\n</pre><script>[no](e.md)</script> [yes](f.md)\n</div>\n";
        let raws: Vec<_> = found(md).into_iter().map(|f| f.0).collect();
        assert_eq!(raws, ["a.md", "f.md"]);
    }

    #[test]
    fn raw_blocks_are_not_read() {
        for md in [
            "<pre>\n[a](b.md)\n</pre>\n",
            "<!-- \n[a](b.md)\n-->\n",
            "<?php [a](b.md) ?>\n",
            "<script>\n[a](b.md)\n</script>\n",
        ] {
            assert!(found(md).is_empty(), "{md}");
        }
    }

    #[test]
    fn bare_urls_and_emphasis_are_not_reported() {
        assert!(found("<div>\nhttps://c.org and *me@x.org*\n</div>\n").is_empty());
    }

    #[test]
    fn inside_containers_the_markers_are_left_out() {
        let md = "> <div><img src=\"x.png\">\n> [a](https://a.org)</div>\n\n- <p>\n  [b](https://b.org)\n";
        let raws: Vec<_> = found(md).into_iter().map(|f| f.0).collect();
        assert_eq!(raws, ["https://a.org", "https://b.org"]);
    }

    #[test]
    fn a_tag_splitting_a_construct_keeps_its_words_apart() {
        // `[a]<br>(b)` is not a link once the tag stands between.
        assert!(found("<div>\n[a]<br>(b.md)\n</div>\n").is_empty());
        assert_eq!(found("<div>\n[a <b>bold</b>](c.md)\n</div>\n")[0].0, "c.md");
    }

    #[test]
    fn unclosed_constructs_do_not_recurse_or_hang() {
        let md = format!(
            "<div>\n{}[a](b.md)\n{}\n{}\n</div>\n",
            "<!--".repeat(20_000),
            "<a x=\"".repeat(20_000),
            "<div".repeat(20_000)
        );
        assert!(found(&md).is_empty());
        // Junk that opens an HTML block again is left alone, not read forever.
        assert!(found("<div>\n<div [a](b.md)\n").is_empty());
    }
}
