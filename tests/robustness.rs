//! Extraction on generated hostile input: no panic, and every span is exact.
//!
//! Documents are stitched from the fragments that matter to the parsers (brackets,
//! escapes, entities, tags, quotes, CJK text, line endings, invalid bytes), from a
//! fixed seed so that a failure reproduces.

use std::path::Path;

use archiver::classify::{Classifier, NoteContext};
use archiver::config::Settings;
use archiver::extract::entities::unescape_markdown;
use archiver::extract::source::SourceText;
use archiver::extract::{Format, extract};
use archiver::link::{Element, Kind};

const PIECES: &[&[u8]] = &[
    b"[",
    b"]",
    b"(",
    b")",
    b"<",
    b">",
    b"!",
    b"\\",
    b"`",
    b"```\n",
    b"*",
    b"_",
    b"\"",
    b"'",
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b"\r",
    b"\n\n",
    b"> ",
    b"- ",
    b"1. ",
    b"    ",
    b"|",
    b"#",
    b"[x]: ",
    b"[x]",
    b"&amp;",
    b"&#x68;",
    b"&#0;",
    b"&#x110000;",
    b"&bogus;",
    b"http://",
    b"https://a.org/p?q=1",
    b"www.",
    b"a@b.org",
    b"mailto:",
    b"<img src=",
    b"<img src=\"",
    b" srcset=\"a 1x, b 2x\"",
    b"<a href='",
    b"</a>",
    b"<video><source src=v>",
    b"</video>",
    b"<!--",
    b"-->",
    b"<script>",
    b"</script>",
    b"<div>",
    b"</div>",
    b"data-src=",
    b"=",
    "中文".as_bytes(),
    "，".as_bytes(),
    "。".as_bytes(),
    "（".as_bytes(),
    b"\xff",
    b"\xe4\xb8",
    b"\xef\xbb\xbf",
    b"x.png",
    b"../up.md#f",
    b"/root",
    b"//cdn.org/i",
    b"%20",
    b"\x00",
];

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

/// The 1-based line and column of `offset`, computed independently of the tool.
fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut i = start;
    while i < offset {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') && i + 1 < offset => {
                line += 1;
                i += 2;
                start = i;
                continue;
            }
            b'\r' | b'\n' => {
                line += 1;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let column = text[start.min(offset)..offset].chars().count() + 1;
    (line, u32::try_from(column).unwrap())
}

#[test]
fn generated_documents_never_panic_and_spans_are_exact() {
    let settings = Settings::shipped().unwrap();
    let classifier = Classifier::new(&settings);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut links_seen = 0;
    for case in 0..4000 {
        let mut doc = Vec::new();
        for _ in 0..rng.below(60) + 1 {
            doc.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
        let source = SourceText::new(doc.clone());
        let text = source.text().to_owned();
        assert_eq!(text.len(), doc.len(), "case {case}");
        for format in [Format::Markdown, Format::Html] {
            let links = extract(Path::new("n.md"), "n.md", &source, format, classifier);
            for link in &links {
                links_seen += 1;
                let span = link.span.clone();
                assert!(
                    span.start <= span.end && span.end <= doc.len(),
                    "case {case}: {link:?}"
                );
                assert!(
                    text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                    "case {case}: {link:?}"
                );
                assert_eq!(
                    String::from_utf8_lossy(&doc[span.clone()]),
                    link.raw,
                    "case {case}: {:?}",
                    String::from_utf8_lossy(&doc)
                );
                // The span is the destination, not the title or the text: read
                // again from the span, it resolves to the same URL.
                if matches!(
                    link.element,
                    Element::Link | Element::Image | Element::Reference
                ) && !source.has_replaced(&span)
                {
                    let again = classifier.resolve(
                        &unescape_markdown(&link.raw),
                        &NoteContext::for_file(Path::new("n.md")),
                        (link.kind == Kind::Image).then_some(Kind::Image),
                    );
                    if link.kind != Kind::Image || again.kind == Kind::Image {
                        assert_eq!(
                            again.url,
                            link.url,
                            "case {case}: {:?} {link:?}",
                            String::from_utf8_lossy(&doc)
                        );
                    }
                }
                assert_eq!(
                    (link.line, link.column),
                    line_column(&text, span.start),
                    "case {case}: {:?} {link:?}",
                    String::from_utf8_lossy(&doc)
                );
            }
        }
    }
    assert!(
        links_seen > 1000,
        "the generator should produce links ({links_seen})"
    );
}

#[test]
fn pathological_nesting_is_handled() {
    let settings = Settings::shipped().unwrap();
    let classifier = Classifier::new(&settings);
    let deep = [
        "[".repeat(20_000) + "a](b)" + &")".repeat(20_000),
        "<".repeat(20_000) + "img src=x>",
        "*_".repeat(20_000) + "https://a.org",
        "> ".repeat(5_000) + "[a](https://a.org)",
        "[a](".to_owned() + &"(".repeat(20_000) + "x" + &")".repeat(20_000) + ")",
        "<div>".repeat(10_000) + "<img src=\"x.png\">",
    ];
    for doc in deep {
        let source = SourceText::new(doc.clone().into_bytes());
        for format in [Format::Markdown, Format::Html] {
            for link in extract(Path::new("n.md"), "n.md", &source, format, classifier) {
                assert_eq!(&doc[link.span.clone()], link.raw);
            }
        }
    }
}
