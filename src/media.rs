//! What a body is, judged by its first bytes, and whether it is what a link
//! promised; and which links are media at all ([`archived_as`]), for `fetch`
//! and `rewrite` alike.
//!
//! Servers lie about Content-Type (an HTML error page as `image/png`, every file as
//! `application/octet-stream`) and URLs carry no extension (WeChat's
//! `…/640?wx_fmt=png`), so the archive trusts neither: the media type and the
//! object's extension come from the content's magic bytes alone, from a fixed
//! table, so nothing a server sends can choose a file name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::link::Kind;

/// How many leading bytes [`sniff`] looks at. A PDF's header may stand anywhere in
/// its first 1024 bytes; an SVG may start with a long comment.
pub const SNIFF_LEN: usize = 4096;

/// The kinds of media `fetch` archives (`--kinds`, `fetch.kinds`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Links of kind image: Markdown images, `img` src/data-src, the largest
    /// `srcset` candidate, image URLs.
    Image,
    /// Every link whose URL path ends in `.pdf`, whatever its kind.
    Pdf,
    /// Paper pages, resolved to their PDF by a site rule.
    Paper,
    /// Links of kind video.
    Video,
    /// Articles (WeChat, CSDN, zhihu …), kept as offline snapshots.
    Article,
    /// Any other web page, kept as an offline snapshot (opt-in).
    Page,
}

impl MediaKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [MediaKind; 6] = [
        MediaKind::Image,
        MediaKind::Pdf,
        MediaKind::Paper,
        MediaKind::Video,
        MediaKind::Article,
        MediaKind::Page,
    ];

    /// The lowercase name used on the command line, in config and in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Pdf => "pdf",
            MediaKind::Paper => "paper",
            MediaKind::Video => "video",
            MediaKind::Article => "article",
            MediaKind::Page => "page",
        }
    }

    /// Whether links of this kind are pages, kept as snapshots rather than
    /// downloaded as files.
    #[must_use]
    pub fn is_page(self) -> bool {
        matches!(self, MediaKind::Article | MediaKind::Page)
    }

    /// What the bytes must be for a link of this kind.
    #[must_use]
    pub fn expects(self) -> Class {
        match self {
            MediaKind::Image => Class::Image,
            MediaKind::Pdf | MediaKind::Paper => Class::Pdf,
            MediaKind::Video => Class::Video,
            MediaKind::Article | MediaKind::Page => Class::Html,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for MediaKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MediaKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown media kind `{s}` (expected image, pdf, paper, video, article or page)"
                )
            })
    }
}

/// What a link to `url` (as resolved) of kind `kind` is archived as, if it is
/// media of one of `kinds`: a web URL whose path ends in `.pdf` is a PDF
/// whatever its kind (an arXiv PDF is no paper page); otherwise an image,
/// video or paper link is of its own kind. `fetch` asks this of every link to
/// know what to download, `rewrite` to know what to point at the archive.
#[must_use]
pub fn archived_as(url: &str, kind: Kind, kinds: &[MediaKind]) -> Option<MediaKind> {
    if !is_web_url(url) {
        return None;
    }
    let among = |k: MediaKind| kinds.contains(&k).then_some(k);
    if kinds.contains(&MediaKind::Pdf) && is_pdf_url(url) {
        return Some(MediaKind::Pdf);
    }
    match kind {
        Kind::Image => among(MediaKind::Image),
        Kind::Video => among(MediaKind::Video),
        Kind::Paper => among(MediaKind::Paper),
        Kind::Article => among(MediaKind::Article),
        Kind::Page => among(MediaKind::Page),
        _ => None,
    }
}

/// An `http` or `https` URL, its scheme in any case.
fn is_web_url(url: &str) -> bool {
    let head = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    head.starts_with("http://") || head.starts_with("https://")
}

/// A URL whose path (its query and fragment aside) ends in `.pdf`, in any case.
fn is_pdf_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| {
        let path = u.path().as_bytes();
        path.len() >= 4 && path[path.len() - 4..].eq_ignore_ascii_case(b".pdf")
    })
}

/// Broad classes of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A picture.
    Image,
    /// A PDF document.
    Pdf,
    /// A video file.
    Video,
    /// A web page: what servers send instead of a file they no longer have.
    Html,
    /// Anything else that was recognised.
    Other,
}

impl Class {
    /// The noun for messages: "an image", "a PDF".
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Class::Image => "an image",
            Class::Pdf => "a PDF",
            Class::Video => "a video",
            Class::Html => "an HTML page",
            Class::Other => "a file",
        }
    }

    /// The code of a body that is not of this class though its link promised
    /// it: `not-an-image`, `not-a-pdf`, `not-a-video`.
    #[must_use]
    pub fn mismatch_code(self) -> &'static str {
        match self {
            Class::Image => "not-an-image",
            Class::Pdf => "not-a-pdf",
            Class::Video => "not-a-video",
            Class::Html | Class::Other => "unexpected-content",
        }
    }
}

/// What the first bytes of a body say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// Its class.
    pub class: Class,
    /// The IANA media type, e.g. `image/png`.
    pub media_type: &'static str,
    /// The file extension objects of this type get, without the dot.
    pub extension: &'static str,
}

/// The type of a body from its first bytes (up to [`SNIFF_LEN`]), if it is one
/// the table knows.
#[must_use]
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    let head = &head[..head.len().min(SNIFF_LEN)];
    // First: infer takes any text opening with a comment for HTML, and SVG
    // editors open their files with one.
    if is_svg(head) {
        return Some(SVG);
    }
    if let Some(kind) = infer::get(head) {
        let class = match kind.matcher_type() {
            infer::MatcherType::Image => Class::Image,
            infer::MatcherType::Video => Class::Video,
            _ if kind.mime_type() == "application/pdf" => Class::Pdf,
            infer::MatcherType::Text if kind.mime_type() == "text/html" => Class::Html,
            _ => Class::Other,
        };
        return Some(Sniffed {
            class,
            media_type: kind.mime_type(),
            extension: kind.extension(),
        });
    }
    if looks_like_html(head) {
        return Some(Sniffed {
            class: Class::Html,
            media_type: "text/html",
            extension: "html",
        });
    }
    None
}

const SVG: Sniffed = Sniffed {
    class: Class::Image,
    media_type: "image/svg+xml",
    extension: "svg",
};

/// Text that opens (after a byte-order mark, whitespace, an XML declaration,
/// comments and a doctype) with an `<svg` element.
fn is_svg(head: &[u8]) -> bool {
    let mut rest = skip_prolog(head);
    while let Some(after) = strip_prefix_ignore_case(rest, b"<!--") {
        let Some(end) = find(after, b"-->") else {
            return false;
        };
        rest = skip_prolog(&after[end + 3..]);
    }
    if let Some(after) = strip_prefix_ignore_case(rest, b"<!doctype") {
        let Some(end) = after.iter().position(|b| *b == b'>') else {
            return false;
        };
        rest = trim_start(&after[end + 1..]);
        while let Some(after) = strip_prefix_ignore_case(rest, b"<!--") {
            let Some(end) = find(after, b"-->") else {
                return false;
            };
            rest = trim_start(&after[end + 3..]);
        }
    }
    strip_prefix_ignore_case(rest, b"<svg").is_some_and(|after| {
        after
            .first()
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>')
    })
}

/// Skips a byte-order mark, whitespace and an XML declaration.
fn skip_prolog(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let mut rest = trim_start(head);
    if let Some(after) = rest.strip_prefix(b"<?xml")
        && let Some(end) = find(after, b"?>")
    {
        rest = trim_start(&after[end + 2..]);
    }
    rest
}

/// An HTML page, recognised by how pages open when infer's table does not
/// (lowercase doctypes after a byte-order mark, `<meta` first …).
fn looks_like_html(head: &[u8]) -> bool {
    let rest = trim_start(head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head));
    [
        b"<!doctype html".as_slice(),
        b"<html",
        b"<head",
        b"<body",
        b"<meta",
        b"<title",
        b"<script",
    ]
    .iter()
    .any(|p| strip_prefix_ignore_case(rest, p).is_some())
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[n..]
}

fn strip_prefix_ignore_case<'a>(bytes: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &bytes[prefix.len()..])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Why a body is not what its link promised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What the link promised.
    pub expected: Class,
    /// The sentence for people.
    pub reason: String,
}

impl Mismatch {
    /// A short code for programs: `not-an-image`, `not-a-pdf`, `not-a-video`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.expected.mismatch_code()
    }
}

/// Whether `sniffed` content may be archived for a link of `kind`.
///
/// # Errors
/// A [`Mismatch`] naming what arrived instead.
pub fn check(kind: MediaKind, sniffed: Option<Sniffed>) -> Result<Sniffed, Mismatch> {
    let expected = kind.expects();
    match sniffed {
        Some(s) if s.class == expected => Ok(s),
        other => {
            let got = match other {
                Some(s) => format!("{} ({})", s.class.noun(), s.media_type),
                None => "content of an unknown type".to_owned(),
            };
            Err(Mismatch {
                expected,
                reason: format!("expected {}, got {got}", expected.noun()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(bytes: &[u8]) -> Option<&'static str> {
        sniff(bytes).map(|s| s.extension)
    }

    #[test]
    fn magic_bytes_decide_the_extension() {
        assert_eq!(ext(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("png"));
        assert_eq!(ext(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), Some("jpg"));
        assert_eq!(ext(b"GIF89a\x01\0\x01\0"), Some("gif"));
        assert_eq!(ext(b"RIFF\x24\0\0\0WEBPVP8 "), Some("webp"));
        assert_eq!(ext(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), Some("pdf"));
        assert_eq!(ext(b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom"), Some("mp4"));
        // infer wants a WebM's first 257 bytes before it names one.
        let mut webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm".to_vec();
        webm.resize(300, 0);
        assert_eq!(ext(&webm), Some("webm"));
        assert_eq!(
            ext(b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- drawn by hand -->\n<!DOCTYPE svg PUBLIC \"x\">\n<svg xmlns=\"http://www.w3.org/2000/svg\">"),
            Some("svg")
        );
        assert_eq!(ext(b"<svg>"), Some("svg"));
        assert_eq!(
            ext(b"<!-- Generator: Adobe Illustrator 24.0.0 -->\n<svg version=\"1.1\">"),
            Some("svg")
        );
        assert_eq!(ext(b"<!-- a page -->\n<html><body>"), Some("html"));
        assert_eq!(ext(b"<svgx>"), None);
        assert_eq!(ext(b"\n\n<!DOCTYPE html><html>"), Some("html"));
        assert_eq!(ext(b"\xef\xbb\xbf<!doctype html>"), Some("html"));
        assert_eq!(ext(b"just some words"), None);
        assert_eq!(ext(b""), None);
    }

    #[test]
    fn content_must_match_what_the_link_promised() {
        let png = sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
        let html = sniff(b"<html><body>404</body></html>");
        let pdf = sniff(b"%PDF-1.4\n");
        assert!(check(MediaKind::Image, png).is_ok());
        assert!(check(MediaKind::Pdf, pdf).is_ok());
        assert!(check(MediaKind::Paper, pdf).is_ok());
        let e = check(MediaKind::Image, html).unwrap_err();
        assert_eq!(e.code(), "not-an-image");
        assert!(e.reason.contains("an HTML page"), "{}", e.reason);
        assert_eq!(check(MediaKind::Pdf, png).unwrap_err().code(), "not-a-pdf");
        assert_eq!(
            check(MediaKind::Video, None).unwrap_err().code(),
            "not-a-video"
        );
    }

    #[test]
    fn links_are_media_by_their_kind_or_a_pdf_path() {
        let files = [
            MediaKind::Image,
            MediaKind::Pdf,
            MediaKind::Paper,
            MediaKind::Video,
        ];
        let pdf = |url| archived_as(url, Kind::Page, &files);
        assert_eq!(pdf("https://a.org/x.PDF?dl=1#p2"), Some(MediaKind::Pdf));
        assert_eq!(pdf("HTTP://a.org/x.pdf"), Some(MediaKind::Pdf));
        assert_eq!(pdf("https://a.org/x.pdf.html"), None);
        assert_eq!(pdf("https://a.org/?file=x.pdf"), None);
        assert_eq!(pdf("https://a b.org/x.pdf"), None);
        assert_eq!(pdf("ftp://a.org/x.pdf"), None);
        // A PDF is a PDF only where PDFs are wanted, whatever else its kind says.
        let papers = [MediaKind::Paper];
        assert_eq!(
            archived_as("https://arxiv.org/pdf/1.pdf", Kind::Paper, &papers),
            Some(MediaKind::Paper)
        );
        assert_eq!(
            archived_as("https://a.org/x.mp4", Kind::Video, &files),
            Some(MediaKind::Video)
        );
        assert_eq!(
            archived_as("https://a.org/x.mp4", Kind::Video, &papers),
            None
        );
        assert_eq!(archived_as("img/x.png", Kind::Local, &files), None);
        assert_eq!(archived_as("https://a.org/x", Kind::Code, &files), None);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in MediaKind::ALL {
            assert_eq!(kind.as_str().parse::<MediaKind>(), Ok(kind));
        }
        assert!("audio".parse::<MediaKind>().unwrap_err().contains("image"));
    }
}
