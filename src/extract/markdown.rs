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

use std::borrow::Cow;
use std::ops::Range;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

use super::Found;
use super::html::HtmlScanner;
use super::text::{BareKind, find_bare};
use crate::link::{Element, Kind};

/// The Markdown dialect: GitHub's, since that is where notes are read.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
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
    text: String,
}

/// Extracts every link from `source[start..]`, with spans in `source`.
pub fn extract(source: &str, start: usize) -> Vec<Found> {
    let text = source.get(start..).unwrap_or_default();
    let parser = Parser::new_ext(text, options());
    let mut out = Vec::new();
    let mut definitions = collect_definitions(&parser, source, start, &mut out);

    let mut walker = Walker {
        source,
        out,
        open: Vec::new(),
        html: HtmlScanner::default(),
        html_block: None,
        raw_depth: 0,
        text_run: None,
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
        if !matches!(event, Event::Text(_)) {
            walker.flush_text();
        }
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
            Event::End(TagEnd::Link | TagEnd::Image) => walker.close_link(&definitions),
            Event::Start(Tag::CodeBlock(_) | Tag::MetadataBlock(_)) => walker.raw_depth += 1,
            Event::End(TagEnd::CodeBlock | TagEnd::MetadataBlock(_)) => {
                walker.raw_depth = walker.raw_depth.saturating_sub(1);
            }
            Event::Start(Tag::HtmlBlock) => walker.html_block = None,
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_)
                | TagEnd::FootnoteDefinition,
            ) => walker.html.end_block(&mut walker.out),
            Event::Html(_) => {
                // An HTML block arrives line by line; read it whole, so a tag that
                // spans lines is one tag.
                let block = walker.html_block.get_or_insert(range.clone());
                block.end = range.end;
            }
            Event::End(TagEnd::HtmlBlock) => {
                if let Some(block) = walker.html_block.take() {
                    walker.html.scan(source, block, &mut walker.out);
                }
                walker.html.end_block(&mut walker.out);
            }
            Event::InlineHtml(_) => walker.html.scan(source, range, &mut walker.out),
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
        let span = definition_destination(source, whole.clone(), &def.dest)
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
            target: def.dest.to_string(),
            element: Element::Reference,
            attribute: None,
            text: None,
            element_kind: None,
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
    html_block: Option<Range<usize>>,
    /// Inside a code block or front matter: text there is not Markdown.
    raw_depth: usize,
    /// Contiguous text not inside a link, waiting to be searched for bare URLs.
    text_run: Option<Range<usize>>,
}

impl Walker<'_> {
    fn open_link(
        &mut self,
        link_type: LinkType,
        dest: &str,
        range: Range<usize>,
        image: bool,
        definition: Option<usize>,
        definitions: &mut [(usize, Definition)],
    ) {
        let (element, span, target) = match link_type {
            LinkType::Inline => {
                let span = inline_destination(self.source, range.clone(), dest)
                    .unwrap_or_else(|| fallback_span(self.source, range.clone(), dest));
                let element = if image { Element::Image } else { Element::Link };
                (element, span, dest.to_owned())
            }
            LinkType::Autolink => (Element::Autolink, inner(&range), dest.to_owned()),
            LinkType::Email => (Element::Autolink, inner(&range), format!("mailto:{dest}")),
            LinkType::Reference | LinkType::Collapsed | LinkType::Shortcut => {
                if let Some(d) = definition.and_then(|i| definitions.get_mut(i)) {
                    d.1.used_by_image |= image;
                }
                self.open.push(Open {
                    found: None,
                    definition,
                    text: String::new(),
                });
                return;
            }
            // Unknown references only exist with a broken-link callback, and wiki
            // links are not enabled.
            _ => {
                self.open.push(Open {
                    found: None,
                    definition: None,
                    text: String::new(),
                });
                return;
            }
        };
        self.open.push(Open {
            found: Some(self.out.len()),
            definition: None,
            text: String::new(),
        });
        self.out.push(Found {
            span,
            target,
            element,
            attribute: None,
            text: None,
            element_kind: image.then_some(Kind::Image),
        });
    }

    fn close_link(&mut self, definitions: &[(usize, Definition)]) {
        let Some(open) = self.open.pop() else {
            return;
        };
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
            self.html.anchor_text(text, &mut self.out);
            return;
        }
        match &mut self.text_run {
            Some(run) if run.end == range.start => run.end = range.end,
            _ => {
                self.flush_text();
                self.text_run = Some(range);
            }
        }
    }

    fn link_text(&mut self, text: &str) {
        // An image inside a link gives its alt text to both.
        for open in &mut self.open {
            open.text.push_str(text);
        }
    }

    fn flush_text(&mut self) {
        let Some(run) = self.text_run.take() else {
            return;
        };
        let Some(text) = self.source.get(run.clone()) else {
            return;
        };
        let out = &mut self.out;
        find_bare(text, |r, kind| {
            let written = &text[r.clone()];
            let target = match kind {
                // Text in Markdown may hold entities and escapes, which a renderer
                // decodes before linking.
                BareKind::Url | BareKind::Www => kind.target(&unescape(written)),
                BareKind::Email => kind.target(written),
            };
            out.push(Found {
                span: run.start + r.start..run.start + r.end,
                target,
                element: Element::Bare,
                attribute: None,
                text: None,
                element_kind: None,
            });
        });
    }
}

fn inner(range: &Range<usize>) -> Range<usize> {
    range.start + 1..range.end.saturating_sub(1).max(range.start + 1)
}

/// Decodes what CommonMark decodes in a destination: backslash escapes of ASCII
/// punctuation, and entity and numeric character references.
fn unescape(written: &str) -> Cow<'_, str> {
    if !written.contains(['\\', '&']) {
        return Cow::Borrowed(written);
    }
    let mut out = String::with_capacity(written.len());
    let mut chars = written.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && next.is_ascii_punctuation()
        {
            out.push(next);
            chars.next();
        } else {
            out.push(c);
        }
    }
    if out.contains('&') {
        Cow::Owned(html_escape::decode_html_entities(&out).into_owned())
    } else {
        Cow::Owned(out)
    }
}

/// The span of the destination of the inline link or image `source[range]`, i.e.
/// `[text](dest "title")` or `![alt](<dest>)`, checked against the parser's `dest`.
fn inline_destination(source: &str, range: Range<usize>, dest: &str) -> Option<Range<usize>> {
    let bytes = source.as_bytes();
    let whole = source.get(range.clone())?;
    if !whole.ends_with(')') {
        return None;
    }
    // The destination follows the `](` that closes the text. Brackets may nest and
    // the title may contain `](`, so try each candidate from the end and keep the
    // first whose tail parses to the end of the construct and decodes to `dest`.
    let mut first_parse = None;
    let candidates = memchr::memrchr_iter(b']', whole.as_bytes())
        .filter(|&at| whole.as_bytes().get(at + 1) == Some(&b'('));
    for at in candidates {
        let open = range.start + at + 2;
        if let Some(span) = parse_tail(bytes, open, range.end) {
            if unescape(&source[span.clone()]) == dest {
                return Some(span);
            }
            first_parse.get_or_insert(span);
        }
    }
    first_parse
}

/// Parses `ws? dest ws? title? ws? )` from `i` to exactly `end`; the span of `dest`.
fn parse_tail(bytes: &[u8], i: usize, end: usize) -> Option<Range<usize>> {
    let mut i = skip_whitespace(bytes, i, end);
    let (dest, after) = destination(bytes, i, end)?;
    i = skip_whitespace(bytes, after, end);
    if i + 1 < end && matches!(bytes[i], b'"' | b'\'' | b'(') {
        let close = if bytes[i] == b'(' { b')' } else { bytes[i] };
        let mut j = i + 1;
        while j < end && bytes[j] != close {
            j += if bytes[j] == b'\\' { 2 } else { 1 };
        }
        if j >= end {
            return None;
        }
        i = skip_whitespace(bytes, j + 1, end);
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

fn skip_whitespace(bytes: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The span of the destination of the reference definition `source[range]`
/// (`[label]: dest "title"`), checked against the parser's `dest`.
fn definition_destination(source: &str, range: Range<usize>, dest: &str) -> Option<Range<usize>> {
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
    // The destination may be on the next line, after a container's markers.
    i += 2;
    while i < end && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | b'>') {
        i += 1;
    }
    let (span, _) = destination(bytes, i, end)?;
    (unescape(source.get(span.clone())?) == dest).then_some(span)
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
    fn markdown_inside_an_html_block_is_not_a_link() {
        let found = extract("<div>\n[a](b) https://c.org\n</div>\n", 0);
        assert!(found.is_empty(), "{found:?}");
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
