//! What a link is: one occurrence of a URL in a note, where it stands, and what it
//! points at.
//!
//! Extraction produces [`Link`]s; every later stage (check, fetch, rewrite, reports)
//! reads them. The field names are the public JSON/CSV vocabulary of `archiver links`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::extract::span::Span;

/// What a link points at, as far as the tool can tell without fetching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An article on a publishing platform (WeChat, CSDN, zhihu …).
    Article,
    /// A paper's landing page (arXiv, OpenReview, a DOI …).
    Paper,
    /// A PDF file.
    Pdf,
    /// A code repository or a file in one.
    Code,
    /// An image.
    Image,
    /// A video.
    Video,
    /// Any other web page.
    Page,
    /// A file next to the notes (a relative path).
    Local,
    /// An email address.
    Mail,
    /// Something that is not a valid URL; the link carries the reason.
    Invalid,
    /// A URL of a scheme the tool does not follow (`ftp:`, `data:`, `javascript:` …).
    Other,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Kind; 11] = [
        Kind::Article,
        Kind::Paper,
        Kind::Pdf,
        Kind::Code,
        Kind::Image,
        Kind::Video,
        Kind::Page,
        Kind::Local,
        Kind::Mail,
        Kind::Invalid,
        Kind::Other,
    ];

    /// The lowercase name used on the command line, in config and in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Article => "article",
            Kind::Paper => "paper",
            Kind::Pdf => "pdf",
            Kind::Code => "code",
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Page => "page",
            Kind::Local => "local",
            Kind::Mail => "mail",
            Kind::Invalid => "invalid",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind `{s}` (expected one of: {})", names.join(", "))
            })
    }
}

/// The syntax a link was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Element {
    /// A Markdown inline link `[text](url)`.
    Link,
    /// A Markdown image `![alt](url)`.
    Image,
    /// A Markdown reference definition `[label]: url`.
    Reference,
    /// A Markdown autolink `<https://…>` or `<name@host>`.
    Autolink,
    /// A URL in running text, as GitHub links it.
    Bare,
    /// An HTML attribute; [`Link::attribute`] says which.
    Html,
}

impl Element {
    /// The lowercase name used in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Element::Link => "link",
            Element::Image => "image",
            Element::Reference => "reference",
            Element::Autolink => "autolink",
            Element::Bare => "bare",
            Element::Html => "html",
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One occurrence of a link in a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The note, as the user named it (or as found under a directory they named);
    /// shared by all of the note's links.
    pub file: Arc<str>,
    /// 1-based line of the first byte of `span`.
    pub line: u32,
    /// 1-based column of the first byte of `span`, in Unicode scalar values.
    pub column: u32,
    /// `[start, end)` byte offsets of the URL exactly as written in the file.
    #[serde(serialize_with = "span_pair")]
    pub span: Span,
    /// The URL as written (the bytes at `span`).
    pub raw: String,
    /// The resolved target: an absolute URL, or a local path for relative links.
    pub url: String,
    /// What the link points at.
    pub kind: Kind,
    /// The syntax it was written in.
    pub element: Element,
    /// For HTML, the element and attribute, e.g. `img[src]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<&'static str>,
    /// Link text or image alt text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Why the link is `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A likely fix, e.g. a web address written without its scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// For a candidate of an HTML `srcset`, its descriptor and whether it is the
    /// largest of its set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srcset: Option<SrcsetCandidate>,
    /// `url`, parsed, for a web (`http`, `https`) link: what is asked of the
    /// network, without parsing it again. Not part of the reports.
    #[serde(skip)]
    pub parsed: Option<url::Url>,
}

/// A candidate of an HTML `srcset` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrcsetCandidate {
    /// The descriptor as written (`800w`, `2x`); empty when there is none (1x).
    pub descriptor: String,
    /// Whether it is its set's largest candidate (the first, among equals): the
    /// one `fetch` archives.
    pub largest: bool,
}

impl Link {
    /// The identity under which `--unique` and the checker collapse occurrences:
    /// the resolved URL without its fragment.
    #[must_use]
    pub fn identity(&self) -> &str {
        match self.kind {
            // A mail address or an invalid string has no fragment to drop.
            Kind::Mail | Kind::Invalid => &self.url,
            _ => self.url.split_once('#').map_or(&self.url, |(base, _)| base),
        }
    }
}

/// Serializes a span as a two-element array `[start, end]`.
fn span_pair<S: serde::Serializer>(span: &Span, s: S) -> Result<S::Ok, S::Error> {
    [span.start, span.end].serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
        }
        assert!("IMAGE".parse::<Kind>().is_ok());
        assert!("picture".parse::<Kind>().unwrap_err().contains("image"));
    }
}

/// How a note is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CommonMark with GitHub's extensions, HTML inside it included.
    Markdown,
    /// HTML.
    Html,
}
