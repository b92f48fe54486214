//! Finding links in notes: each format's extractor yields [`Found`] items (a span and
//! the URL as a renderer reads it); [`extract`] turns them into [`Link`]s with
//! positions, resolved targets and kinds.

pub mod html;
pub mod markdown;
pub mod source;
pub mod span;
pub mod text;

use std::path::Path;

use crate::classify::{Classifier, NoteContext};
use crate::link::{Element, Kind, Link};
use source::SourceText;
use span::{LineIndex, Span};

/// How a note is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CommonMark with GitHub's extensions, HTML inside it included.
    Markdown,
    /// HTML.
    Html,
}

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
    let file_name: std::sync::Arc<str> = display_name.into();
    let note = NoteContext::for_file(file);
    found
        .into_iter()
        .map(|f| {
            let position = lines.position(f.span.start);
            let resolved = classifier.resolve(&f.target, &note, f.element_kind);
            Link {
                file: file_name.clone(),
                line: position.line,
                column: position.column,
                raw: source.raw(f.span.clone()).into_owned(),
                span: f.span,
                url: resolved.url,
                kind: resolved.kind,
                element: f.element,
                attribute: f.attribute,
                text: f.text,
                reason: resolved.reason,
                hint: resolved.hint,
            }
        })
        .collect()
}
