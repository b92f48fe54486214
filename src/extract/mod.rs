//! Finding links in notes: each format's extractor yields [`Found`] items (a span and
//! the URL as a renderer reads it); [`extract`] turns them into [`Link`]s with
//! positions, resolved targets and kinds.

pub mod block_text;
pub mod entities;
pub mod html;
pub mod markdown;
pub mod segments;
pub mod source;
pub mod span;
pub mod text;

use std::path::Path;

use crate::classify::{Classifier, NoteContext};
use crate::link::{Element, Kind, Link, SrcsetCandidate};
use source::SourceText;
use span::{LineIndex, Span};

pub use crate::link::Format;

/// A link as an extractor sees it, before it is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The bytes of the URL as written.
    pub span: Span,
    /// The URL as a renderer reads it (escapes and entities decoded, `www.` and
    /// email links completed with their scheme).
    pub target: String,
    /// The syntax.
    pub element: Element,
    /// For HTML, `tag[attribute]`.
    pub attribute: Option<&'static str>,
    /// Link text or alt text.
    pub text: Option<String>,
    /// The kind the element imposes, if any (`<img>` → image).
    pub element_kind: Option<Kind>,
    /// For a `srcset` candidate, its descriptor and rank.
    pub srcset: Option<SrcsetCandidate>,
    /// What the reader should know about how the link is written (a link GitHub
    /// shows as text, say).
    pub hint: Option<&'static str>,
}

impl Found {
    /// The target read again from the URL as written, for when the parsed text
    /// differs from it: decoded the way the link's syntax decodes.
    fn target_from_raw(&self, raw: &str) -> String {
        match self.element {
            // Autolinks and bare links are taken as written, with the `mailto:`
            // or `http://` the parser put in front of an address or a `www.` link.
            Element::Autolink | Element::Bare => {
                if self.target.starts_with("mailto:") && !raw.starts_with("mailto:") {
                    format!("mailto:{raw}")
                } else if self.target.starts_with("http://") && !raw.contains("://") {
                    format!("http://{raw}")
                } else {
                    raw.to_owned()
                }
            }
            element => decode_written(element, raw),
        }
    }
}

/// A URL as written in a link of kind `element`, decoded the way that syntax
/// decodes it: character references (`&amp;`) in HTML attributes and Markdown
/// destinations, backslash escapes in Markdown. Autolinks and bare URLs are
/// taken as written.
#[must_use]
pub fn decode_written(element: Element, raw: &str) -> String {
    match element {
        Element::Link | Element::Image | Element::Reference => {
            entities::encode_backslashes(&entities::unescape_markdown(raw))
        }
        Element::Html => entities::decode(raw).into_owned(),
        Element::Autolink | Element::Bare => raw.to_owned(),
    }
}

/// Link text is kept up to this many bytes: enough to recognise a link by, and a
/// bound on the work and memory a pathological note can cause.
const MAX_LINK_TEXT: usize = 1024;

/// Appends `more` to a link text, up to [`MAX_LINK_TEXT`] bytes.
fn push_capped(text: &mut String, more: &str) {
    let room = MAX_LINK_TEXT.saturating_sub(text.len());
    if room == 0 {
        return;
    }
    let mut end = more.len().min(room);
    while !more.is_char_boundary(end) {
        end -= 1;
    }
    text.push_str(&more[..end]);
}

/// Every link in one note, in source order.
#[must_use]
pub fn extract(
    file: &Path,
    display_name: &str,
    source: &SourceText,
    format: Format,
    classifier: Classifier<'_>,
) -> Vec<Link> {
    let text = source.text();
    // A byte-order mark is not content: parse after it, keep file offsets.
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut found = match format {
        Format::Markdown => markdown::extract(text, start),
        Format::Html => html::extract_document(text, start),
    };
    found.sort_by_key(|f| (f.span.start, f.span.end));
    // The same bytes are one occurrence, however they were reached.
    found.dedup_by(|a, b| a.span == b.span && a.attribute == b.attribute);

    let lines = LineIndex::new(text);
    let mut positions = lines.cursor();
    let file_name: std::sync::Arc<str> = display_name.into();
    let note = NoteContext::for_file(file);
    found
        .into_iter()
        .map(|f| {
            let position = positions.at(f.span.start);
            let raw = source.raw(f.span.clone()).into_owned();
            // Where bytes were replaced, the parsed target holds stand-ins; the URL
            // as written (lossily decoded, as an editor shows it) is the truth.
            let target = if source.has_replaced(&f.span) {
                f.target_from_raw(&raw)
            } else {
                f.target
            };
            let resolved = classifier.resolve(&target, &note, f.element_kind);
            let hint = match (f.hint, resolved.hint) {
                (Some(written), Some(resolved)) => Some(format!("{resolved}; {written}")),
                (written, resolved) => resolved.or_else(|| written.map(str::to_owned)),
            };
            Link {
                file: file_name.clone(),
                line: position.line,
                column: position.column,
                raw,
                span: f.span,
                url: resolved.url,
                kind: resolved.kind,
                element: f.element,
                attribute: f.attribute,
                text: f.text,
                reason: resolved.reason,
                hint,
                srcset: f.srcset,
                parsed: resolved.parsed,
            }
        })
        .collect()
}
