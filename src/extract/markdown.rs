//! Links in Markdown (CommonMark with GitHub's extensions).
//!
//! pulldown-cmark tells which constructs are links and their resolved destinations,
//! but gives the span of the whole construct (`[text](url "title")`), not of the URL.
//! The URL's own span is recovered by re-reading the construct's tail with the
//! CommonMark grammar and checking the result against the parser's destination, so
//! escapes, angle brackets, titles and nested brackets cannot mislead it.
//!
//! What counts: inline links and images, reference definitions (the definition is
//! the occurrence: it is what a rewrite changes), autolinks, bare URLs in text (as
//! GitHub links them), and HTML blocks and inline HTML (read by [`HtmlScanner`]).
//! Code spans, code blocks and front matter are not links.

use std::ops::Range;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

use super::block_text;
use super::html::HtmlScanner;
use super::text::find_bare;
use super::{Found, entities, push_capped};
use crate::link::{Element, Kind};

/// The Markdown dialect: GitHub's, since that is where notes are read.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}

/// The length of the YAML front matter at the start of `text`, if there is one:
/// a first line `---`, up to and including a line `---` or `...`. (pulldown-cmark's
/// metadata option would also take any `---` later in a note for one.)
fn front_matter_len(text: &str) -> usize {
    let mut lines = text.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return 0;
    };
    if first.trim_end() != "---" {
        return 0;
    }
    let mut len = first.len();
    for line in lines {
        len += line.len();
        if matches!(line.trim_end(), "---" | "...") {
            return len;
        }
    }
    0
}

/// A reference definition and what its uses say about it.
struct Definition {
    found: usize,
    used_by_image: bool,
}

/// A link or image whose end has not been seen yet.
struct Open {
    /// Index in the output, or `None` for a reference use (its definition is the
    /// occurrence).
    found: Option<usize>,
    /// For a reference use: the definition, to give it this use's text.
    definition: Option<usize>,
    /// Whether the span of an inline destination is still to be found.
    inline: bool,
    /// An image, whose text is alt text.
    image: bool,
    /// The whole construct.
    range: Range<usize>,
    /// The end of the last event inside it so far: its text ends there or later.
    text_end: usize,
    text: String,
}

/// Extracts every link from `source[start..]`, with spans in `source`.
pub fn extract(source: &str, start: usize) -> Vec<Found> {
    let start = start + source.get(start..).map_or(0, front_matter_len);
    // A large note is parsed piece by piece, so that the parser's tree stays
    // the size of a piece (see `segments`); spans stay offsets in the note.
    let mut out = Vec::new();
    for piece in super::segments::pieces(source, start) {
        let Some(upto) = source.get(..piece.end) else {
            continue;
        };
        out.extend(extract_from(upto, piece.start, false));
    }
    out
}

/// Extracts the links of text that was inside an HTML block (its tags already
/// removed): HTML blocks there are not read for Markdown again.
fn extract_nested(text: &str) -> Vec<Found> {
    extract_from(text, 0, true)
}

fn extract_from(source: &str, start: usize, nested: bool) -> Vec<Found> {
    let text = source.get(start..).unwrap_or_default();
    let parser = Parser::new_ext(text, options());
    let mut out = Vec::new();
    let mut definitions = collect_definitions(&parser, source, start, &mut out);

    let mut walker = Walker {
        source,
        out,
        open: Vec::new(),
        html: HtmlScanner::default(),
        html_block: Vec::new(),
        nested,
        images_open: 0,
        raw_depth: 0,
        text_run: None,
        bracket_depth: 0,
    };

    let mut events = parser.into_offset_iter();
    while let Some((event, range)) = events.next() {
        let range = range.start + start..range.end + start;
        // Where the definition a reference use points to starts, if it has one.
        let definition_of = |id: &str| {
            events
                .reference_definitions()
                .get(id)
                .map(|d| d.span.start + start)
                .and_then(|at| definitions.binary_search_by_key(&at, |(s, _)| *s).ok())
        };
        walker.before(&event, &range);
        let image = matches!(event, Event::Start(Tag::Image { .. }));
        match event {
            Event::Start(
                Tag::Link {
                    link_type,
                    dest_url,
                    id,
                    ..
                }
                | Tag::Image {
                    link_type,
                    dest_url,
                    id,
                    ..
                },
            ) => {
                let definition = definition_of(&id);
                walker.open_link(
                    link_type,
                    &dest_url,
                    range,
                    image,
                    definition,
                    &mut definitions,
                );
            }
            Event::End(TagEnd::Link | TagEnd::Image) => walker.close_link(&definitions, &range),
            Event::Start(Tag::CodeBlock(_)) => walker.raw_depth += 1,
            Event::End(TagEnd::CodeBlock) => {
                walker.raw_depth = walker.raw_depth.saturating_sub(1);
            }
            Event::Start(Tag::HtmlBlock) => walker.html_block.clear(),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_)
                | TagEnd::FootnoteDefinition,
            ) => walker.end_block(),
            // An HTML block arrives line by line, each line's range after its
            // container markers; read the lines as one, so a tag that spans lines
            // is one tag.
            Event::Html(_) => walker.html_block.push(range),
            Event::End(TagEnd::HtmlBlock) => {
                let lines = std::mem::take(&mut walker.html_block);
                walker.html.scan_pieces(source, &lines, &mut walker.out);
                if !walker.nested {
                    let written = block_text::find(source, &lines, extract_nested);
                    walker.out.extend(written);
                }
                walker.end_block();
            }
            Event::InlineHtml(html) => {
                let pieces = inline_pieces(source, range, &html);
                walker.html.scan_pieces(source, &pieces, &mut walker.out);
            }
            Event::Text(t) => walker.text(&t, range),
            Event::Code(t) => walker.link_text(&t),
            Event::SoftBreak | Event::HardBreak => walker.link_text(" "),
            _ => {}
        }
    }
    walker.flush_text();

    let Walker { mut out, .. } = walker;
    for (_, def) in &definitions {
        if def.used_by_image {
            out[def.found].element_kind = Some(Kind::Image);
        }
    }
    out
}

/// Reads the reference definitions (known before any use is parsed) into `out`, and
/// returns them sorted by where they start, to be found again from their uses.
fn collect_definitions(
    parser: &Parser<'_>,
    source: &str,
    start: usize,
    out: &mut Vec<Found>,
) -> Vec<(usize, Definition)> {
    let mut definitions = Vec::new();
    for (_, def) in parser.reference_definitions().iter() {
        let whole = def.span.start + start..def.span.end + start;
        let span = definition_destination(source, &whole)
            .unwrap_or_else(|| fallback_span(source, whole.clone(), &def.dest));
        definitions.push((
            whole.start,
            Definition {
                found: out.len(),
                used_by_image: false,
            },
        ));
        out.push(Found {
            span,
            target: entities::encode_backslashes(&def.dest),
            element: Element::Reference,
            attribute: None,
            text: None,
            element_kind: None,
            srcset: None,
            hint: None,
        });
    }
    definitions.sort_by_key(|(at, _)| *at);
    definitions
}

struct Walker<'s> {
    source: &'s str,
    out: Vec<Found>,
    open: Vec<Open>,
    html: HtmlScanner,
    /// The line ranges of the HTML block being read.
    html_block: Vec<Range<usize>>,
    /// Reading the text of an HTML block: its own HTML blocks are not read again.
    nested: bool,
    /// Images open around the current event: links and images in alt text are
    /// not clickable, so they are not links.
    images_open: usize,
    /// Inside a code block or front matter: text there is not Markdown.
    raw_depth: usize,
    /// Contiguous text not inside a link, waiting to be searched for bare URLs.
    text_run: Option<Range<usize>>,
    /// `[` not yet closed in the current block, in text outside links.
    bracket_depth: usize,
}

impl Walker<'_> {
    /// Bookkeeping every event needs before it is handled.
    fn before(&mut self, event: &Event<'_>, range: &Range<usize>) {
        // Emphasis markers do not end a run of text: GitHub finds bare URLs before
        // it reads emphasis, so `https://x.org/?q=a*b*c` is one URL.
        let transparent = matches!(
            event,
            Event::Text(_)
                | Event::Start(Tag::Emphasis | Tag::Strong | Tag::Strikethrough)
                | Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough)
        );
        if !transparent {
            self.flush_text();
        }
        // Whatever lies inside the innermost open link extends its text (its own
        // end event spans the whole link, so it does not count); the links around
        // it learn when it closes. Touching only the innermost keeps deep nesting
        // linear.
        if !matches!(event, Event::End(TagEnd::Link | TagEnd::Image))
            && let Some(open) = self.open.last_mut()
        {
            open.text_end = open.text_end.max(range.end);
        }
    }

    fn open_link(
        &mut self,
        link_type: LinkType,
        dest: &str,
        range: Range<usize>,
        image: bool,
        definition: Option<usize>,
        definitions: &mut [(usize, Definition)],
    ) {
        // The text starts after `[` or `![`.
        let text_start = range.start + if image { 2 } else { 1 };
        let open = |found, definition, inline| Open {
            found,
            definition,
            inline,
            image,
            range: range.clone(),
            text_end: text_start,
            text: String::new(),
        };
        let in_alt_text = self.images_open > 0;
        self.images_open += usize::from(image);
        if in_alt_text {
            // Rendered as alt text only: its text still counts for the image.
            self.open.push(open(None, None, false));
            return;
        }
        let (element, span, target) = match link_type {
            // The destination's span is found when the link ends and its text is
            // known; until then the construct stands in.
            LinkType::Inline => {
                let element = if image { Element::Image } else { Element::Link };
                (element, range.clone(), entities::encode_backslashes(dest))
            }
            LinkType::Autolink => (
                Element::Autolink,
                inner(&range),
                entities::encode_backslashes(&entities::decode(dest)),
            ),
            LinkType::Email => (
                Element::Autolink,
                inner(&range),
                format!("mailto:{}", entities::decode(dest)),
            ),
            LinkType::Reference | LinkType::Collapsed | LinkType::Shortcut => {
                if let Some(d) = definition.and_then(|i| definitions.get_mut(i)) {
                    d.1.used_by_image |= image;
                }
                self.open.push(open(None, definition, false));
                return;
            }
            // Unknown references only exist with a broken-link callback, and wiki
            // links are not enabled.
            _ => {
                self.open.push(open(None, None, false));
                return;
            }
        };
        let inline = link_type == LinkType::Inline;
        self.open.push(open(Some(self.out.len()), None, inline));
        self.out.push(Found {
            span,
            target,
            element,
            attribute: None,
            text: None,
            element_kind: image.then_some(Kind::Image),
            srcset: None,
            hint: None,
        });
    }

    fn close_link(&mut self, definitions: &[(usize, Definition)], range: &Range<usize>) {
        let Some(open) = self.open.pop() else {
            return;
        };
        self.images_open -= usize::from(open.image);
        // The link around this one contains all of it, and shows its text (an
        // image's alt text is the text of the link holding it).
        if let Some(outer) = self.open.last_mut() {
            outer.text_end = outer.text_end.max(range.end);
            push_capped(&mut outer.text, &open.text);
        }
        if open.inline
            && let Some(found) = open.found.and_then(|i| self.out.get_mut(i))
        {
            found.span = inline_destination(self.source, &open.range, open.text_end)
                .unwrap_or_else(|| fallback_span(self.source, open.range.clone(), &found.target));
        }
        let text = open.text.trim();
        if text.is_empty() {
            return;
        }
        let index = open.found.or_else(|| {
            open.definition
                .and_then(|d| definitions.get(d))
                .map(|d| d.1.found)
        });
        if let Some(found) = index.and_then(|i| self.out.get_mut(i))
            && found.text.is_none()
        {
            found.text = Some(text.to_owned());
        }
    }

    /// Text inside a link or image is its text; text outside is searched for bare
    /// URLs (once a run of adjacent text events is complete).
    fn text(&mut self, text: &str, range: Range<usize>) {
        if self.raw_depth > 0 {
            return;
        }
        if !self.open.is_empty() {
            self.link_text(text);
            return;
        }
        if self.html.in_anchor() {
            // Still searched below: GitHub links a URL inside raw <a>…</a> too.
            self.html.anchor_text(text, &mut self.out);
        }
        let source = self.source.as_bytes();
        match &mut self.text_run {
            // Adjacent, or apart only by emphasis markers and escaping backslashes
            // (which GitHub reads as part of a bare URL).
            Some(run)
                if run.end <= range.start
                    && source[run.end..range.start]
                        .iter()
                        .all(|b| matches!(b, b'*' | b'_' | b'~' | b'\\')) =>
            {
                run.end = range.end;
            }
            _ => {
                self.flush_text();
                self.text_run = Some(range);
            }
        }
    }

    fn link_text(&mut self, text: &str) {
        if let Some(open) = self.open.last_mut() {
            push_capped(&mut open.text, text);
        }
    }

    fn flush_text(&mut self) {
        let Some(run) = self.text_run.take() else {
            return;
        };
        let Some(text) = self.source.get(run.clone()) else {
            return;
        };
        let before = self.source[..run.start].chars().next_back();
        let out = &mut self.out;
        // GitHub does not link URLs while a `[` of the paragraph is still open;
        // count the brackets up to each URL, and carry the count to later runs.
        let depth = &mut self.bracket_depth;
        let mut counted = 0;
        find_bare(text, before, |r, kind| {
            *depth = bracket_depth(*depth, &text.as_bytes()[counted..r.start]);
            counted = r.end;
            if *depth > 0 {
                return;
            }
            // GitHub links the text as written, entities included; its HTML writer
            // percent-encodes a backslash.
            let target = kind.target(&entities::encode_backslashes(&text[r.clone()]));
            out.push(Found {
                span: run.start + r.start..run.start + r.end,
                target,
                element: Element::Bare,
                attribute: None,
                text: None,
                element_kind: None,
                srcset: None,
                hint: None,
            });
        });
        *depth = bracket_depth(*depth, &text.as_bytes()[counted..]);
    }

    /// A block ended: its open brackets and anchors end with it.
    fn end_block(&mut self) {
        self.bracket_depth = 0;
        self.html.end_block(&mut self.out);
    }
}

/// The open-bracket count after `bytes`, starting from `depth`; escaped brackets
/// do not count.
fn bracket_depth(mut depth: usize, bytes: &[u8]) -> usize {
    let mut escaped = false;
    for &b in bytes {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// The pieces of `source[range]` that make up the inline HTML `html` as the parser
/// read it: a tag spanning lines in a block quote arrives without the `>` markers
/// of its continuation lines. Matched byte by byte; where `html` is not a
/// subsequence of the source (it always is), the whole range.
fn inline_pieces(source: &str, range: Range<usize>, html: &str) -> Vec<Range<usize>> {
    let Some(written) = source.as_bytes().get(range.clone()) else {
        return Vec::new();
    };
    let wanted = html.as_bytes();
    if written == wanted {
        return vec![range];
    }
    let mut pieces: Vec<Range<usize>> = Vec::new();
    let mut j = 0;
    for (i, &b) in written.iter().enumerate() {
        if j < wanted.len() && b == wanted[j] {
            let at = range.start + i;
            match pieces.last_mut() {
                Some(last) if last.end == at => last.end = at + 1,
                _ => pieces.push(at..at + 1),
            }
            j += 1;
        }
    }
    if j == wanted.len() {
        pieces
    } else {
        vec![range]
    }
}

fn inner(range: &Range<usize>) -> Range<usize> {
    range.start + 1..range.end.saturating_sub(1).max(range.start + 1)
}

/// The span of the destination of the inline link or image `source[range]`
/// (`[text](dest "title")`, `![alt](<dest>)`), whose text ends at `text_end` (the
/// end of the last event inside it). The text is closed by the first `](` from
/// there, so brackets in the text or in the title cannot mislead the search, and
/// the tail is read once.
fn inline_destination(source: &str, range: &Range<usize>, text_end: usize) -> Option<Range<usize>> {
    let bytes = source.as_bytes();
    let from = text_end.clamp(range.start, range.end);
    let close = memchr::memmem::find(bytes.get(from..range.end)?, b"](")?;
    parse_tail(bytes, from + close + 2, range.end, range.start)
}

/// Parses `ws? dest ws? title? ws? )` from `i` to exactly `end`, in the construct
/// that starts at `construct`; the span of `dest`.
fn parse_tail(bytes: &[u8], i: usize, end: usize, construct: usize) -> Option<Range<usize>> {
    let mut i = skip_whitespace(bytes, i, end, construct);
    let (dest, after) = destination(bytes, i, end)?;
    i = skip_whitespace(bytes, after, end, construct);
    if i + 1 < end && matches!(bytes[i], b'"' | b'\'' | b'(') {
        let close = if bytes[i] == b'(' { b')' } else { bytes[i] };
        let mut j = i + 1;
        while j < end && bytes[j] != close {
            j += if bytes[j] == b'\\' { 2 } else { 1 };
        }
        if j >= end {
            return None;
        }
        i = skip_whitespace(bytes, j + 1, end, construct);
    }
    (i + 1 == end && bytes[i] == b')').then_some(dest)
}

/// A link destination at `i`: `<…>` or a run without spaces or controls whose
/// parentheses balance. Returns its span (without angle brackets) and where it ends.
fn destination(bytes: &[u8], i: usize, end: usize) -> Option<(Range<usize>, usize)> {
    if i >= end {
        return None;
    }
    if bytes[i] == b'<' {
        let mut j = i + 1;
        while j < end && !matches!(bytes[j], b'>' | b'<' | b'\n' | b'\r') {
            j += if bytes[j] == b'\\' && j + 1 < end {
                2
            } else {
                1
            };
        }
        return (j < end && bytes[j] == b'>').then_some((i + 1..j, j + 1));
    }
    let mut depth = 0usize;
    let mut j = i;
    while j < end {
        match bytes[j] {
            b'\\' if j + 1 < end && bytes[j + 1].is_ascii_punctuation() => {
                j += 2;
                continue;
            }
            b if b <= b' ' || b == 0x7f => break,
            b'(' => depth += 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            _ => {}
        }
        j += 1;
    }
    Some((i..j, j))
}

/// Skips spaces, tabs and line endings; after a line ending, also the markers of
/// the containers the construct starting at `construct` is in: list indentation
/// and as many block-quote `>`s as open its first line (a `>` beyond them
/// belongs to the text).
fn skip_whitespace(bytes: &[u8], mut i: usize, end: usize, construct: usize) -> usize {
    // Looked up at the first line ending only: most tails have none.
    let mut depth = None;
    while i < end {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'\n' | b'\r' => {
                i += 1;
                let depth = *depth.get_or_insert_with(|| quote_depth(bytes, construct));
                let mut quotes = 0;
                while i < end {
                    match bytes[i] {
                        b' ' | b'\t' | b'\n' => i += 1,
                        b'>' if quotes < depth => {
                            quotes += 1;
                            i += 1;
                        }
                        _ => break,
                    }
                }
            }
            _ => break,
        }
    }
    i
}

/// How many block-quote markers open the line `at` stands on, before it. The
/// line's start is looked for at most [`LOOK_BACK`] bytes back, so that many
/// constructs on one long line cost linear time; further back, any number of
/// `>` counts as markers.
fn quote_depth(bytes: &[u8], at: usize) -> usize {
    const LOOK_BACK: usize = 4096;
    let at = at.min(bytes.len());
    let from = at.saturating_sub(LOOK_BACK);
    let start = match memchr::memrchr2(b'\n', b'\r', &bytes[from..at]) {
        Some(p) => from + p + 1,
        None if from == 0 => 0,
        None => return usize::MAX,
    };
    bytes[start..at]
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'>'))
        .filter(|b| **b == b'>')
        .count()
}

/// The span of the destination of the reference definition `source[range]`
/// (`[label]: dest "title"`).
fn definition_destination(source: &str, range: &Range<usize>) -> Option<Range<usize>> {
    let bytes = source.as_bytes();
    let end = range.end.min(bytes.len());
    let mut i = range.start;
    while i < end && bytes[i] == b' ' {
        i += 1;
    }
    if bytes.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    while i < end && bytes[i] != b']' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    if i + 1 >= end || bytes[i + 1] != b':' {
        return None;
    }
    let (span, _) = destination(bytes, skip_whitespace(bytes, i + 2, end, range.start), end)?;
    Some(span)
}

/// When the grammar cannot place the destination (it should always), the last place
/// its text occurs in the construct, else the construct itself: a span is never lost.
fn fallback_span(source: &str, range: Range<usize>, dest: &str) -> Range<usize> {
    tracing::debug!(?range, dest, "destination span not found by the grammar");
    source
        .get(range.clone())
        .and_then(|whole| whole.rfind(dest))
        .filter(|_| !dest.is_empty())
        .map_or(range.clone(), |at| {
            range.start + at..range.start + at + dest.len()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (source at span, target, element) for each link found.
    fn links(md: &str) -> Vec<(String, String, Element)> {
        let mut found = extract(md, 0);
        found.sort_by_key(|f| f.span.start);
        found
            .into_iter()
            .map(|f| (md[f.span].to_owned(), f.target, f.element))
            .collect()
    }

    fn one(md: &str) -> (String, String, Element) {
        let all = links(md);
        assert_eq!(all.len(), 1, "{md:?} gave {all:?}");
        all.into_iter().next().unwrap()
    }

    #[test]
    fn inline_links_and_images() {
        assert_eq!(one("[a](https://x.org/a)").0, "https://x.org/a");
        assert_eq!(one("![alt](img.png \"title\")").0, "img.png");
        assert_eq!(one("![alt](img.png)").2, Element::Image);
        assert_eq!(
            one("[a]( https://doi.org/10.1/x)").0,
            "https://doi.org/10.1/x"
        );
        assert_eq!(one("[a](<my file.md>)").0, "my file.md");
        assert_eq!(one(r"[a](x_(y).md 'it\'s')").0, "x_(y).md");
        let (raw, target, _) = one(r"[a](foo\)bar)");
        assert_eq!((raw.as_str(), target.as_str()), (r"foo\)bar", "foo)bar"));
        let (raw, target, _) = one("[a](x?a=1&amp;b=2)");
        assert_eq!(
            (raw.as_str(), target.as_str()),
            ("x?a=1&amp;b=2", "x?a=1&b=2")
        );
    }

    #[test]
    fn tricky_link_text_does_not_mislead_the_span() {
        assert_eq!(one("[x](y](z))").0, "y](z)");
        assert_eq!(one("[a \\](b)](c)").0, "c");
        assert_eq!(one("[a](b \"](c)\")").0, "b");
        assert_eq!(one("[`](x)`](real)").0, "real");
    }

    #[test]
    fn an_image_inside_a_link_is_two_links() {
        let all = links("[![alt](i.png)](https://x.org)");
        let raws: Vec<_> = all.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(raws, ["i.png", "https://x.org"]);
        let found = extract("[![alt](i.png)](https://x.org)", 0);
        assert!(found.iter().all(|f| f.text.as_deref() == Some("alt")));
    }

    #[test]
    fn reference_definitions_are_the_occurrence() {
        let md = "See [the paper][p] and ![fig][f].\n\n[p]: https://arxiv.org/abs/1 \"T\"\n[F]:\n  <fig one.png>\n[unused]: https://unused.org\n";
        let all = links(md);
        let raws: Vec<_> = all.iter().map(|l| (l.0.as_str(), l.2)).collect();
        assert_eq!(
            raws,
            [
                ("https://arxiv.org/abs/1", Element::Reference),
                ("fig one.png", Element::Reference),
                ("https://unused.org", Element::Reference)
            ]
        );
        let found = extract(md, 0);
        let fig = found.iter().find(|f| f.target == "fig one.png").unwrap();
        assert_eq!(fig.element_kind, Some(Kind::Image));
        assert_eq!(fig.text.as_deref(), Some("fig"));
        let paper = found.iter().find(|f| f.target.contains("arxiv")).unwrap();
        assert_eq!(paper.text.as_deref(), Some("the paper"));
    }

    #[test]
    fn autolinks_and_bare_urls() {
        let all = links("<https://a.org/x> <me@b.org> and https://c.org/y, www.d.org.\n");
        let got: Vec<_> = all
            .iter()
            .map(|l| (l.0.as_str(), l.1.as_str(), l.2))
            .collect();
        assert_eq!(
            got,
            [
                ("https://a.org/x", "https://a.org/x", Element::Autolink),
                ("me@b.org", "mailto:me@b.org", Element::Autolink),
                ("https://c.org/y", "https://c.org/y", Element::Bare),
                ("www.d.org", "http://www.d.org", Element::Bare),
            ]
        );
    }

    #[test]
    fn link_text_is_not_searched_for_bare_urls() {
        assert_eq!(
            one("[https://github.com/a/b](https://github.com/a/b)").0,
            "https://github.com/a/b"
        );
        assert_eq!(
            one("**GitHub地址：https://github.com/a/b_c**").0,
            "https://github.com/a/b_c"
        );
    }

    #[test]
    fn code_is_not_links() {
        assert!(links("`https://a.org` and `[x](y)`\n\n```\nhttps://b.org [z](w)\n```\n\n    https://c.org\n").is_empty());
        assert!(links("---\nurl: https://front.matter\n---\n").is_empty());
        // A later `---` is a thematic break, not front matter.
        let later = links("# t\n\n---\nsee https://a.org\n\n---\n\nhttps://b.org\n");
        assert_eq!(later.len(), 2, "{later:?}");
    }

    #[test]
    fn html_blocks_and_inline_html() {
        let md = "<div align=center><img src=\"https://mmbiz.qpic.cn/a/640?wx_fmt=png&amp;wxfrom=5\" style='zoom:100%'>\n</div>\n\nText <a href=\"x.md\">x</a> and <img\n  src=\"y.png\">.\n";
        let found = extract(md, 0);
        let got: Vec<_> = found
            .iter()
            .map(|f| (&md[f.span.clone()], f.target.as_str(), f.attribute))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "https://mmbiz.qpic.cn/a/640?wx_fmt=png&amp;wxfrom=5",
                    "https://mmbiz.qpic.cn/a/640?wx_fmt=png&wxfrom=5",
                    Some("img[src]")
                ),
                ("x.md", "x.md", Some("a[href]")),
                ("y.png", "y.png", Some("img[src]")),
            ]
        );
        assert_eq!(found[1].text.as_deref(), Some("x"));
    }

    #[test]
    fn an_unclosed_anchor_ends_with_its_paragraph() {
        let found = extract("a <a href=\"x.md\">open\n\nlater https://b.org\n", 0);
        let targets: Vec<_> = found.iter().map(|f| f.target.as_str()).collect();
        assert_eq!(targets, ["x.md", "https://b.org"]);
        assert_eq!(found[0].text.as_deref(), Some("open"));
    }

    #[test]
    fn html_spanning_lines_in_a_block_quote_is_read_without_the_markers() {
        for md in [
            "> <div><img\n> src=\"x.png\"></div>\n",
            "> text <img\n> src=\"x.png\">\n",
            "> - <div><img\n>   src=\"x.png\"></div>\n",
        ] {
            let found = extract(md, 0);
            assert_eq!(found.len(), 1, "{md:?}");
            assert_eq!(&md[found[0].span.clone()], "x.png", "{md:?}");
        }
    }

    #[test]
    fn no_bare_urls_inside_an_open_bracket() {
        assert!(
            links("Paper [https://arxiv.org/abs/1] and [code: https://github.com/a/b][1]\n")
                .is_empty()
        );
        assert!(links("[see www.x.org]\n").is_empty());
        assert!(links("[a\nhttp://x.org\n").is_empty());
        // The bracket closes, or the paragraph ends: URLs count again.
        let found = links("[a] https://b.org\n\n[ c\n\nhttps://d.org \\[ https://e.org\n");
        let raws: Vec<_> = found.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(raws, ["https://b.org", "https://d.org", "https://e.org"]);
    }

    #[test]
    fn www_needs_whitespace_or_a_delimiter_before_it_across_syntax() {
        assert!(
            links("`x`www.a.org <b>www.b.org</b> [l](u)www.d.org\n")
                .iter()
                .all(|l| l.0 == "u")
        );
        assert_eq!(links("*www.c.org*\n")[0].0, "www.c.org");
    }

    #[test]
    fn autolinks_decode_entities_and_bare_urls_keep_backslashes_encoded() {
        let (raw, target, _) = one("<https://b.cn/p?q=1&amp;r=2>");
        assert_eq!(
            (raw.as_str(), target.as_str()),
            ("https://b.cn/p?q=1&amp;r=2", "https://b.cn/p?q=1&r=2")
        );
        assert_eq!(
            one("https://github.com/foo/bar\\_baz").1,
            "https://github.com/foo/bar%5C_baz"
        );
    }

    #[test]
    fn a_url_inside_a_raw_anchor_is_still_a_link() {
        let found = extract("<a href=\"x\">see http://y.org</a>\n", 0);
        let targets: Vec<_> = found.iter().map(|f| f.target.as_str()).collect();
        assert_eq!(targets, ["x", "http://y.org"]);
    }

    #[test]
    fn deep_nesting_stays_linear() {
        // Only the outermost image is one: the rest are its alt text.
        let md = "![".repeat(50_000) + "a" + &"](u)".repeat(50_000);
        assert_eq!(extract(&md, 0).len(), 1);
        let md = "[".repeat(50_000) + "a" + &"](u)".repeat(50_000);
        assert_eq!(extract(&md, 0).len(), 1);
    }

    #[test]
    fn links_in_alt_text_are_not_links() {
        let found = links("![foo ![bar](/url)](/url2) ![a [b](/c) <https://d.org>](/e)");
        let raws: Vec<_> = found.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(raws, ["/url2", "/e"]);
        let found = extract("![foo ![bar](/url)](/url2)", 0);
        assert_eq!(found[0].text.as_deref(), Some("foo bar"));
    }

    #[test]
    fn a_backslash_left_in_a_destination_is_percent_encoded() {
        let (raw, target, _) = one(r"[x](https://example.com/a\b)");
        assert_eq!(
            (raw.as_str(), target.as_str()),
            (r"https://example.com/a\b", "https://example.com/a%5Cb")
        );
        assert_eq!(
            one(r"<https://example.com/a\b>").1,
            "https://example.com/a%5Cb"
        );
        assert_eq!(one("[x]: https://e.org/a\\b\n").1, "https://e.org/a%5Cb");
        // At the end, in a fragment of the note itself, before a CRLF.
        assert!(one("[x]: #\\\r\n").1.ends_with("#%5C"));
        // An escape is not a backslash left in it.
        assert_eq!(one(r"[x](https://e.org/a\(b)").1, "https://e.org/a(b");
    }

    #[test]
    fn markdown_inside_an_html_block_is_found_with_a_hint() {
        let found = extract("<div>\n[a](b) https://c.org\n</div>\n", 0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].target.as_str(), found[0].element),
            ("b", Element::Link)
        );
        assert_eq!(found[0].hint, Some(block_text::HINT));
    }

    #[test]
    fn empty_destinations_are_kept() {
        let (raw, target, _) = one("[a]()");
        assert_eq!((raw.as_str(), target.as_str()), ("", ""));
        let found = extract("x [a]() y", 0);
        assert_eq!(found[0].span, 6..6);
    }

    #[test]
    fn links_in_containers() {
        let md = "> quote [a](https://a.org)\n\n- item\n  [b](https://b.org)\n\n| t | u |\n|---|---|\n| [c](https://c.org) | https://d.org |\n\n[^1]: note https://e.org\n";
        let raws: Vec<_> = links(md).into_iter().map(|l| l.0).collect();
        assert_eq!(
            raws,
            [
                "https://a.org",
                "https://b.org",
                "https://c.org",
                "https://d.org",
                "https://e.org"
            ]
        );
    }
}
