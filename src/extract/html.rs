//! Links in HTML: whole `.html` notes, and the HTML blocks and inline tags inside
//! Markdown.
//!
//! The tokenizer (html5gum) follows the WHATWG rules, so comments, `<script>` and
//! `<style>` bodies are not mistaken for tags, and it reports the byte span of every
//! attribute value, which is what a rewrite replaces. Values are entity-decoded
//! (`&amp;` means `&`). One [`HtmlScanner`] can be fed many fragments of one note, so
//! that state spanning fragments (the `<video>` a `<source>` belongs to, the text of
//! an `<a>` closed in a later fragment) carries over.

use std::ops::Range;

use html5gum::emitters::callback::{CallbackEmitter, CallbackEvent};
use html5gum::{Emitter, ForwardingEmitter, Span as TokenSpan, Tokenizer};

use super::Found;
use super::span::PieceMap;
use crate::link::{Element, Kind, SrcsetCandidate};

/// Quoted attribute values a fragment may hold and still be read on any thread.
const SHALLOW_ATTRIBUTES: usize = 2_000;

/// Stack the tokenizer needs per quoted attribute value of one tag, with margin:
/// about 150 bytes in an optimized build, several kilobytes in a debug build.
const STACK_PER_ATTRIBUTE: usize = if cfg!(debug_assertions) { 8192 } else { 1024 };

/// Beyond this many quoted values in one fragment (5 MB of nothing but `a=""`),
/// the fragment is not read: no real page has them, and the stack would be 512 MB.
const MAX_ATTRIBUTES: usize = 1_000_000;

/// Media elements whose `<source>` children inherit their kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Video,
    Audio,
    Picture,
}

/// One attribute of the tag being read.
#[derive(Debug, Default)]
struct Attribute {
    name: String,
    name_span: Range<usize>,
    value: Option<(String, Range<usize>)>,
}

/// The start tag being read: its name and attributes, reused between tags.
#[derive(Debug, Default)]
struct OpenTag {
    name: String,
    attributes: Vec<Attribute>,
    used: usize,
}

impl OpenTag {
    fn reset(&mut self, name: &[u8]) {
        self.name.clear();
        self.name.push_str(&String::from_utf8_lossy(name));
        self.used = 0;
    }

    fn push_name(&mut self, name: &[u8], span: Range<usize>) {
        if self.used == self.attributes.len() {
            self.attributes.push(Attribute::default());
        }
        let attr = &mut self.attributes[self.used];
        attr.name.clear();
        attr.name.push_str(&String::from_utf8_lossy(name));
        attr.name_span = span;
        attr.value = None;
        self.used += 1;
    }

    fn set_value(&mut self, value: &[u8], span: Range<usize>) {
        if let Some(attr) = self.used.checked_sub(1).map(|i| &mut self.attributes[i]) {
            attr.value = Some((String::from_utf8_lossy(value).into_owned(), span));
        }
    }

    /// The first attribute of that name (later duplicates are ignored, as browsers do).
    fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes[..self.used].iter().find(|a| a.name == name)
    }
}

/// Reads links out of HTML fragments of one note.
#[derive(Debug, Default)]
pub struct HtmlScanner {
    tag: OpenTag,
    media: Vec<Media>,
    /// The `<a href>` whose text is being collected: its index in the output.
    anchor: Option<usize>,
    /// Inside `<template>`, whose content a browser never shows.
    template_depth: usize,
    /// Whether `<base href>` applies (whole HTML documents; GitHub drops it from
    /// Markdown).
    honour_base: bool,
    /// The document's `<base href>`, once seen, when it is an absolute URL.
    base: Option<url::Url>,
}

impl HtmlScanner {
    /// Whether an `<a>` opened in an earlier fragment is still open (Markdown text
    /// in between is its text, not a place to look for bare URLs).
    #[must_use]
    pub fn in_anchor(&self) -> bool {
        self.anchor.is_some()
    }

    /// Closes an `<a>` left open, as a browser does when the block holding it ends,
    /// so one missing `</a>` does not swallow the rest of the note.
    pub fn end_block(&mut self, out: &mut [Found]) {
        self.end_tag(b"a", out);
    }

    /// Appends text that stands inside the open `<a>` to its link text.
    pub fn anchor_text(&mut self, text: &str, out: &mut [Found]) {
        if let Some(link) = self.anchor.and_then(|i| out.get_mut(i)) {
            super::push_capped(link.text.get_or_insert_with(String::new), text);
        }
    }

    /// Scans `html`, which stands at byte `offset` of `source` (the whole note), and
    /// appends what it finds to `out`.
    pub fn scan(&mut self, source: &str, html: Range<usize>, out: &mut Vec<Found>) {
        self.scan_pieces(source, &[html], out);
    }

    /// Scans the HTML made of `pieces` of `source` put together: the lines of an
    /// HTML block inside a block quote, without the `>` markers between them, which
    /// are Markdown, not HTML. Spans are mapped back to `source`.
    pub fn scan_pieces(&mut self, source: &str, pieces: &[Range<usize>], out: &mut Vec<Found>) {
        let map = PieceMap::new(pieces);
        let Some(joined) = map.join(source) else {
            return;
        };
        // The tokenizer recurses once per quoted attribute value of a tag, so a tag
        // with tens of thousands of them would overflow a thread's stack (an abort
        // no panic handler can catch). Fragments that might hold such a tag are
        // read on a thread whose stack fits the worst case.
        // Every quoted value has two quotes; counting all quotes bounds them.
        let quoted = memchr::memchr2_iter(b'"', b'\'', joined.as_bytes()).count() / 2;
        if quoted <= SHALLOW_ATTRIBUTES {
            self.tokenize(&joined, &map, source, out);
            return;
        }
        if quoted > MAX_ATTRIBUTES {
            tracing::warn!(
                "skipped an HTML fragment of {} bytes with {quoted} quoted attribute values: too many to read safely",
                joined.len()
            );
            return;
        }
        let stack = 4 * 1024 * 1024 + quoted * STACK_PER_ATTRIBUTE;
        std::thread::scope(|scope| {
            let deep = std::thread::Builder::new()
                .name("html-deep".into())
                .stack_size(stack)
                .spawn_scoped(scope, || self.tokenize(&joined, &map, source, out));
            match deep {
                Ok(handle) => {
                    let _ = handle.join();
                }
                Err(e) => {
                    tracing::warn!("skipped an HTML fragment: cannot start a reader for it: {e}");
                }
            }
        });
    }

    fn tokenize(&mut self, html: &str, map: &PieceMap, source: &str, out: &mut Vec<Found>) {
        let mut emitter = CallbackEmitter::new(
            |event: CallbackEvent<'_>, span: TokenSpan<usize>| -> Option<()> {
                self.handle(&event, map.to_source(span.start..span.end), source, out);
                None
            },
        );
        // Switch to raw-text states after <script>, <style>, <textarea> …, as
        // a browser would, so their contents are not read as tags.
        emitter.naively_switch_states(true);
        for _ in Tokenizer::new_with_emitter(html, Quiet(emitter)) {}
    }

    fn handle(
        &mut self,
        event: &CallbackEvent<'_>,
        span: Range<usize>,
        source: &str,
        out: &mut Vec<Found>,
    ) {
        match *event {
            CallbackEvent::OpenStartTag { name } => self.tag.reset(name),
            CallbackEvent::AttributeName { name } => self.tag.push_name(name, span),
            CallbackEvent::AttributeValue { value } => self.tag.set_value(value, span),
            CallbackEvent::CloseStartTag { self_closing } => {
                self.close_start_tag(self_closing, source, out);
            }
            CallbackEvent::EndTag { name } => self.end_tag(name, out),
            CallbackEvent::String { value } if self.anchor.is_some() => {
                self.anchor_text(&String::from_utf8_lossy(value), out);
            }
            _ => {}
        }
    }

    fn end_tag(&mut self, name: &[u8], out: &mut [Found]) {
        match name {
            b"a" => {
                if let Some(link) = self.anchor.take().and_then(|i| out.get_mut(i)) {
                    link.text = link
                        .text
                        .take()
                        .map(|t| collapse_whitespace(&t))
                        .filter(|t| !t.is_empty());
                }
            }
            b"template" => self.template_depth = self.template_depth.saturating_sub(1),
            b"video" | b"audio" | b"picture" => {
                self.media.pop();
            }
            _ => {}
        }
    }

    fn close_start_tag(&mut self, self_closing: bool, source: &str, out: &mut Vec<Found>) {
        let tag = std::mem::take(&mut self.tag);
        if self.template_depth > 0 {
            if tag.name == "template" && !self_closing {
                self.template_depth += 1;
            }
        } else {
            self.element(&tag, self_closing, source, out);
        }
        self.tag = tag;
    }

    /// The URLs of one start tag, and what it opens.
    fn element(&mut self, tag: &OpenTag, self_closing: bool, source: &str, out: &mut Vec<Found>) {
        let element_media = match tag.name.as_str() {
            "video" => Some(Media::Video),
            "audio" => Some(Media::Audio),
            "picture" => Some(Media::Picture),
            _ => None,
        };
        let emit = |out: &mut Vec<Found>,
                    attr: &str,
                    selector: &'static str,
                    kind: Option<Kind>,
                    text: Option<String>| {
            if let Some(a) = tag.get(attr) {
                push_attribute(a, selector, kind, text, source, out);
            }
        };
        let alt = || {
            tag.get("alt")
                .and_then(|a| a.value.as_ref())
                .map(|(v, _)| v.clone())
        };
        match tag.name.as_str() {
            "a" => {
                // A new anchor closes an open one, as in a browser.
                self.end_tag(b"a", out);
                let before = out.len();
                emit(out, "href", "a[href]", None, None);
                if out.len() > before && !self_closing {
                    self.anchor = Some(before);
                }
            }
            "img" => {
                emit(out, "src", "img[src]", Some(Kind::Image), alt());
                emit(out, "data-src", "img[data-src]", Some(Kind::Image), alt());
                if let Some(a) = tag.get("srcset") {
                    push_srcset(a, "img[srcset]", alt().as_deref(), source, out);
                }
            }
            "video" => {
                emit(out, "src", "video[src]", Some(Kind::Video), None);
                emit(out, "poster", "video[poster]", Some(Kind::Image), None);
            }
            "audio" => emit(out, "src", "audio[src]", None, None),
            "source" => {
                let kind = match self.media.last() {
                    Some(Media::Video) => Some(Kind::Video),
                    Some(Media::Picture) => Some(Kind::Image),
                    Some(Media::Audio) | None => None,
                };
                emit(out, "src", "source[src]", kind, None);
                if let Some(a) = tag.get("srcset") {
                    push_srcset(a, "source[srcset]", None, source, out);
                }
            }
            "iframe" => emit(out, "src", "iframe[src]", None, None),
            "embed" => emit(out, "src", "embed[src]", None, None),
            "object" => emit(out, "data", "object[data]", None, None),
            "link" => emit(out, "href", "link[href]", None, None),
            "area" => emit(out, "href", "area[href]", None, None),
            "track" => emit(out, "src", "track[src]", None, None),
            "input" => emit(out, "src", "input[src]", Some(Kind::Image), None),
            // SVG's <image>: the tag name the tokenizer gives is lowercase.
            "image" => {
                emit(out, "href", "image[href]", Some(Kind::Image), None);
                emit(
                    out,
                    "xlink:href",
                    "image[xlink:href]",
                    Some(Kind::Image),
                    None,
                );
            }
            "template" if !self_closing => self.template_depth += 1,
            "base" if self.honour_base && self.base.is_none() => {
                self.base = tag
                    .get("href")
                    .and_then(|a| a.value.as_ref())
                    .and_then(|(href, _)| url::Url::parse(href.trim()).ok());
            }
            _ => {}
        }
        if let Some(media) = element_media
            && !self_closing
        {
            self.media.push(media);
        }
    }
}

/// An emitter that does not want parse errors: malformed HTML is read the way a
/// browser recovers from it, and validating every character for error reports
/// would cost time for nothing.
struct Quiet<E>(E);

impl<E: Emitter> ForwardingEmitter for Quiet<E> {
    type Token = E::Token;

    fn inner(&mut self) -> &mut impl Emitter<Token = Self::Token> {
        &mut self.0
    }

    fn should_emit_errors(&mut self) -> bool {
        false
    }
}

/// Pushes one URL attribute. An attribute present with an empty value is kept (as
/// an invalid, empty link: the author left something out); its span is the empty
/// range between the quotes.
fn push_attribute(
    attr: &Attribute,
    selector: &'static str,
    kind: Option<Kind>,
    text: Option<String>,
    source: &str,
    out: &mut Vec<Found>,
) {
    let (target, span) = match &attr.value {
        Some((value, span)) => (value.clone(), span.clone()),
        None => match empty_value_at(source, attr.name_span.end) {
            Some(at) => (String::new(), at..at),
            // A bare attribute (`<img src>`) carries no URL at all.
            None => return,
        },
    };
    out.push(Found {
        span,
        target,
        element: Element::Html,
        attribute: Some(selector),
        text,
        element_kind: kind,
        srcset: None,
        hint: None,
    });
}

/// For an attribute whose value is empty, the offset just inside its quotes: after
/// the name, optional whitespace, `=`, optional whitespace and a quote.
fn empty_value_at(source: &str, name_end: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let skip_ws = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let eq = skip_ws(name_end);
    if bytes.get(eq) != Some(&b'=') {
        return None;
    }
    let quote = skip_ws(eq + 1);
    matches!(bytes.get(quote), Some(b'"' | b'\'')).then_some(quote + 1)
}

/// Pushes every candidate URL of a `srcset` attribute, each with its descriptor
/// and whether it is the largest of the set (the one worth archiving).
fn push_srcset(
    attr: &Attribute,
    selector: &'static str,
    alt: Option<&str>,
    source: &str,
    out: &mut Vec<Found>,
) {
    let Some((_, span)) = &attr.value else {
        return;
    };
    // Candidates are cut from the source as written, then decoded one by one, so
    // each keeps its exact span even when the value contains entities.
    let Some(raw) = source.get(span.clone()) else {
        return;
    };
    let candidates = srcset_candidates(raw);
    let sizes: Vec<Size> = candidates
        .iter()
        .map(|c| Size::of(&raw[c.descriptor.clone()]))
        .collect();
    // The first of the largest wins a tie.
    let largest = sizes
        .iter()
        .enumerate()
        .fold(None::<usize>, |best, (i, size)| match best {
            Some(b) if sizes[b] >= *size => Some(b),
            _ => Some(i),
        });
    for (i, candidate) in candidates.into_iter().enumerate() {
        let written = &raw[candidate.url.clone()];
        out.push(Found {
            span: span.start + candidate.url.start..span.start + candidate.url.end,
            target: super::entities::decode(written).into_owned(),
            element: Element::Html,
            attribute: Some(selector),
            text: alt.map(str::to_owned),
            element_kind: Some(Kind::Image),
            srcset: Some(SrcsetCandidate {
                descriptor: raw[candidate.descriptor].trim().to_owned(),
                largest: largest == Some(i),
            }),
            hint: None,
        });
    }
}

/// How large a `srcset` candidate says it is: widths (`800w`) rank above
/// densities (`2x`), as a set mixing them is malformed anyway; no descriptor is 1x.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Size {
    Density(f64),
    Width(f64),
}

impl Size {
    fn of(descriptor: &str) -> Self {
        let mut size = Size::Density(1.0);
        for word in descriptor.split_ascii_whitespace() {
            let number = |unit: char| {
                word.strip_suffix(unit)
                    .and_then(|n| n.parse::<f64>().ok())
                    .filter(|n| n.is_finite())
            };
            if let Some(w) = number('w') {
                size = Size::Width(w);
            } else if let Some(x) = number('x') {
                size = Size::Density(x);
            }
        }
        size
    }
}

/// One `srcset` candidate: where its URL and its descriptors stand in the value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    url: Range<usize>,
    descriptor: Range<usize>,
}

/// The candidates of a `srcset` value, following the HTML standard's parsing: URLs
/// are separated from their descriptors by whitespace, candidates by commas; a URL
/// may itself contain commas, but not end with one.
fn srcset_candidates(value: &str) -> Vec<Candidate> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut end = i;
        let ended_with_comma = bytes[end - 1] == b',';
        while end > start && bytes[end - 1] == b',' {
            end -= 1;
        }
        if ended_with_comma {
            if end > start {
                out.push(Candidate {
                    url: start..end,
                    descriptor: end..end,
                });
            }
            continue;
        }
        // The descriptors run up to the next comma outside parentheses.
        let descriptor_start = i;
        let mut depth = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => break,
                _ => {}
            }
            i += 1;
        }
        if end > start {
            out.push(Candidate {
                url: start..end,
                descriptor: descriptor_start..i,
            });
        }
    }
    out
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Scans a whole HTML document.
pub fn extract_document(source: &str, start: usize) -> Vec<Found> {
    let mut out = Vec::new();
    let mut scanner = HtmlScanner {
        honour_base: true,
        ..HtmlScanner::default()
    };
    scanner.scan(source, start..source.len(), &mut out);
    // A document's base applies to every link in it, before or after <base>.
    if let Some(base) = &scanner.base {
        for found in &mut out {
            if let Err(url::ParseError::RelativeUrlWithoutBase) = url::Url::parse(&found.target)
                && let Ok(joined) = base.join(&found.target)
            {
                found.target = joined.into();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(html: &str) -> Vec<(String, &'static str, String, Option<Kind>)> {
        extract_document(html, 0)
            .into_iter()
            .map(|f| {
                assert!(html.is_char_boundary(f.span.start) && html.is_char_boundary(f.span.end));
                (
                    html[f.span].to_owned(),
                    f.attribute.unwrap(),
                    f.target,
                    f.element_kind,
                )
            })
            .collect()
    }

    #[test]
    fn every_url_attribute_is_found_with_its_exact_span() {
        let html = r#"<a href="x.html">x</a><img src='a.png' data-src=b.png>
<video src="v.mp4" poster="p.jpg"><source src="s.webm"></video>
<audio src="a.mp3"><source src="s.ogg"></audio>
<iframe src="https://player.example/1"></iframe><embed src="e.pdf">
<object data="o.svg"></object><link href="style.css">"#;
        let got: Vec<_> = found(html)
            .into_iter()
            .map(|(raw, attr, _, kind)| (raw, attr, kind))
            .collect();
        let expect = [
            ("x.html", "a[href]", None),
            ("a.png", "img[src]", Some(Kind::Image)),
            ("b.png", "img[data-src]", Some(Kind::Image)),
            ("v.mp4", "video[src]", Some(Kind::Video)),
            ("p.jpg", "video[poster]", Some(Kind::Image)),
            ("s.webm", "source[src]", Some(Kind::Video)),
            ("a.mp3", "audio[src]", None),
            ("s.ogg", "source[src]", None),
            ("https://player.example/1", "iframe[src]", None),
            ("e.pdf", "embed[src]", None),
            ("o.svg", "object[data]", None),
            ("style.css", "link[href]", None),
        ];
        let expect: Vec<_> = expect
            .iter()
            .map(|(r, a, k)| ((*r).to_owned(), *a, *k))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn entities_are_decoded_but_spans_cover_what_was_written() {
        let got = found(r#"<img src="https://x.org/a?b=1&amp;c=2">"#);
        assert_eq!(got[0].0, "https://x.org/a?b=1&amp;c=2");
        assert_eq!(got[0].2, "https://x.org/a?b=1&c=2");
    }

    #[test]
    fn srcset_yields_every_candidate() {
        let html = r#"<picture><source srcset="a.webp 1x, b.webp 2x"><img srcset="s.png 480w,m&amp;1.png 800w , l.png" src="l.png"></picture>"#;
        let got: Vec<_> = found(html)
            .into_iter()
            .map(|(raw, attr, target, _)| (raw, attr, target))
            .collect();
        let expect = [
            ("a.webp", "source[srcset]", "a.webp"),
            ("b.webp", "source[srcset]", "b.webp"),
            ("l.png", "img[src]", "l.png"),
            ("s.png", "img[srcset]", "s.png"),
            ("m&amp;1.png", "img[srcset]", "m&1.png"),
            ("l.png", "img[srcset]", "l.png"),
        ];
        let expect: Vec<_> = expect
            .iter()
            .map(|(r, a, t)| ((*r).to_owned(), *a, (*t).to_owned()))
            .collect();
        assert_eq!(got, expect);
        // A comma inside a URL is part of it; only trailing commas end one.
        let urls = |v: &str| -> Vec<Range<usize>> {
            srcset_candidates(v).into_iter().map(|c| c.url).collect()
        };
        assert_eq!(urls("a.png,b.png"), vec![0..11_usize]);
        assert_eq!(urls("a.png, b.png"), [0..5, 7..12]);
        assert_eq!(urls("data:x,y 1x, c.png (a, b) 2x"), [0..8, 13..18]);
    }

    #[test]
    fn the_largest_srcset_candidate_is_marked() {
        let marks = |html: &str| -> Vec<(String, String, bool)> {
            extract_document(html, 0)
                .into_iter()
                .filter_map(|f| f.srcset.map(|c| (f.target, c.descriptor, c.largest)))
                .collect()
        };
        let s = |t: &str, d: &str, l: bool| (t.to_owned(), d.to_owned(), l);
        assert_eq!(
            marks(r#"<img srcset="s.png 480w, l.png 1200w, m.png 800w">"#),
            [
                s("s.png", "480w", false),
                s("l.png", "1200w", true),
                s("m.png", "800w", false)
            ]
        );
        // No descriptor is 1x; the first of equals wins.
        assert_eq!(
            marks(r#"<img srcset="a.png, b.png 2x, c.png 2.0x">"#),
            [
                s("a.png", "", false),
                s("b.png", "2x", true),
                s("c.png", "2.0x", false)
            ]
        );
        // Each set has its own largest.
        let two = marks(
            r#"<picture><source srcset="a.webp 1x, b.webp 2x"><img srcset="c.png 3x, d.png"></picture>"#,
        );
        let largest: Vec<&str> = two.iter().filter(|m| m.2).map(|m| m.0.as_str()).collect();
        assert_eq!(largest, ["b.webp", "c.png"]);
    }

    #[test]
    fn comments_scripts_and_styles_hide_nothing_but_themselves() {
        let html = "<!-- <img src=no1.png> --><script>x='<img src=no2.png>'</script>\
                    <style>a{background:url(no3.png)}</style><img src=yes.png>";
        let got = found(html);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "yes.png");
    }

    #[test]
    fn anchor_text_and_alt_text_are_kept() {
        let links = extract_document(
            "<a href=x>  see\n <b>this</b> </a><img alt=\"a &lt; b\" src=y>",
            0,
        );
        assert_eq!(links[0].text.as_deref(), Some("see this"));
        assert_eq!(links[1].text.as_deref(), Some("a < b"));
    }

    #[test]
    fn empty_values_are_kept_and_bare_attributes_are_not() {
        let html = r##"<img src=""><img src = ''><img src><a href="#top">t</a>"##;
        let got = found(html);
        assert_eq!(got.len(), 3);
        let spans: Vec<_> = extract_document(html, 0)
            .into_iter()
            .map(|f| f.span)
            .collect();
        assert_eq!(spans[0], 10..10);
        assert_eq!(spans[1], 24..24);
    }

    #[test]
    fn more_elements_templates_and_base() {
        let html = r#"<map><area href="a.html"></map><base href="https://site.example/docs/">
<video><track src="subs.vtt"></video><input type="image" src="go.png">
<svg><image href="i.svg"/><image xlink:href="j.svg"/></svg>
<template><img src="hidden.png"><template><a href="x"></a></template><img src="hidden2.png"></template>
<a href="one">1 <a href="two">2</a>"#;
        let links = extract_document(html, 0);
        let got: Vec<_> = links
            .iter()
            .map(|f| (f.attribute.unwrap(), f.target.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("area[href]", "https://site.example/docs/a.html"),
                ("track[src]", "https://site.example/docs/subs.vtt"),
                ("input[src]", "https://site.example/docs/go.png"),
                ("image[href]", "https://site.example/docs/i.svg"),
                ("image[xlink:href]", "https://site.example/docs/j.svg"),
                ("a[href]", "https://site.example/docs/one"),
                ("a[href]", "https://site.example/docs/two"),
            ]
        );
        assert_eq!(links[5].text.as_deref(), Some("1"));
        assert_eq!(links[6].text.as_deref(), Some("2"));
    }

    #[test]
    fn a_tag_with_very_many_attributes_does_not_overflow_the_stack() {
        let html = "<img ".to_owned() + &"a = \"\" ".repeat(100_000) + "src=\"x.png\">";
        // On a worker-sized stack, as notes are read.
        let found = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || extract_document(&html, 0))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].target, "x.png");
    }

    #[test]
    fn duplicate_attributes_keep_the_first() {
        let got = found("<img src=a.png src=b.png>");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "a.png");
    }

    #[test]
    fn fragments_share_state() {
        let source = "<video>\n<source src=v.mp4>\n</video>";
        let mut scanner = HtmlScanner::default();
        let mut out = Vec::new();
        scanner.scan(source, 0..7, &mut out);
        scanner.scan(source, 8..26, &mut out);
        assert_eq!(out[0].element_kind, Some(Kind::Video));
        assert_eq!(&source[out[0].span.clone()], "v.mp4");
    }
}
