//! Extraction and rewriting on generated hostile input: no panic, every span
//! exact, and a rewrite then a restore give the input back byte for byte.
//!
//! Documents are stitched by proptest from the fragments that matter to the
//! parsers (brackets, escapes, entities, tags, quotes, CJK text, line endings,
//! invalid bytes) and whole links, from a seed so that a failure reproduces, and
//! a failing document is shrunk to a minimal one. `cargo test` runs a few
//! thousand cases from a fixed seed; `bench/fuzz.sh` runs millions
//! (`FUZZ_CASES`, `FUZZ_SECONDS`, `FUZZ_SEED`) and prints the figures.

use std::path::Path;

use archiver::classify::{Classifier, NoteContext};
use archiver::config::Settings;
use archiver::extract::entities::{encode_backslashes, unescape_markdown};
use archiver::extract::source::SourceText;
use archiver::extract::{Format, extract};
use archiver::link::{Element, Kind};
use archiver::rewrite::{Edit, Entry, apply, merge_entries, restore};

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

/// How long to fuzz: `FUZZ_CASES` cases (default `default`) or `FUZZ_SECONDS`,
/// whichever ends first, from `FUZZ_SEED` (default fixed).
struct Budget {
    cases: u64,
    until: Option<std::time::Instant>,
    seed: u64,
}

impl Budget {
    fn from_env(default: u64) -> Self {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        Budget {
            cases: var("FUZZ_CASES").unwrap_or(default),
            until: var("FUZZ_SECONDS")
                .map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s)),
            seed: var("FUZZ_SEED").unwrap_or(0x5EED_1234_ABCD_0001),
        }
    }

    fn goes_on(&self, case: u64) -> bool {
        case < self.cases && self.until.is_none_or(|t| std::time::Instant::now() < t)
    }
}

/// Whole links, mixed in for the rewrite target so that most documents have
/// some to rewrite.
const LINKS: &[&[u8]] = &[
    b"![i](https://a.org/i.png)",
    b"![i](<https://a.org/a b.png> \"t\")",
    b"[a](https://a.org/x.png)",
    b"<img src=\"https://a.org/i.png\">",
    b"<img src='https://a.org/i.png' alt=x>",
    b"<img src=https://a.org/u.png>",
    b"<img srcset=\"https://a.org/1.png 1x, https://a.org/2.png 2x\">",
    b"[r]: https://a.org/r.png\n",
    b"[r]: <https://a.org/r.png> 'title'\n",
    b"<video src=\"https://a.org/v.mp4\"></video>",
    b"![](https://a.org/i.png)![](https://a.org/i.png)",
    "![图](https://a.org/图.png)".as_bytes(),
];

/// Runs `check` on generated documents within `budget` through proptest, which
/// shrinks a failing document to a minimal one before reporting it: up to 60
/// fragments each, a quarter of them whole links when `links`. Returns how
/// many documents were checked and the sum of what `check` counted.
fn fuzz(budget: &Budget, salt: u64, links: bool, check: impl Fn(&[u8]) -> usize) -> (u64, usize) {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    let fragment = if links {
        prop_oneof![
            3 => (0..PIECES.len()).prop_map(|i| PIECES[i]),
            1 => (0..LINKS.len()).prop_map(|i| LINKS[i]),
        ]
        .boxed()
    } else {
        (0..PIECES.len()).prop_map(|i| PIECES[i]).boxed()
    };
    let documents = proptest::collection::vec(fragment, 1..60).prop_map(|pieces| pieces.concat());
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(budget.seed ^ salt).to_le_bytes());
    let config = Config {
        cases: u32::try_from(budget.cases).unwrap_or(u32::MAX),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let (cases, counted) = (AtomicU64::new(0), AtomicUsize::new(0));
    let outcome = runner.run(&documents, |doc| {
        // Past the time allowed, the remaining cases are let through.
        if !budget.goes_on(cases.load(Ordering::Relaxed)) {
            return Ok(());
        }
        cases.fetch_add(1, Ordering::Relaxed);
        counted.fetch_add(check(&doc), Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("seed {:#x}: {e}", budget.seed);
    }
    (cases.into_inner(), counted.into_inner())
}

/// The 1-based line and column of `offset`, computed independently of the tool.
fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut i = start;
    while i < offset {
        match bytes[i] {
            // CRLF is one line break: a position between its two bytes is
            // still on the line it ends.
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                if i + 1 < offset {
                    line += 1;
                    i += 2;
                    start = i;
                } else {
                    i += 1;
                }
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

/// Extraction on one document: no panic, every span exact, on a character
/// boundary, re-resolving to its URL, at the right line and column. Returns
/// how many links it found.
fn check_extraction(doc: &[u8], classifier: Classifier<'_>) -> usize {
    let mut links_seen = 0;
    let source = SourceText::new(doc.to_vec());
    let text = source.text().to_owned();
    assert_eq!(text.len(), doc.len(), "the text is as long as the bytes");
    for format in [Format::Markdown, Format::Html] {
        let links = extract(Path::new("n.md"), "n.md", &source, format, classifier);
        for link in &links {
            links_seen += 1;
            let span = link.span.clone();
            assert!(span.start <= span.end && span.end <= doc.len(), "{link:?}");
            assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{link:?}"
            );
            assert_eq!(
                String::from_utf8_lossy(&doc[span.clone()]),
                link.raw,
                "{:?}",
                String::from_utf8_lossy(doc)
            );
            // The span is the destination, not the title or the text: read
            // again from the span, it resolves to the same URL (a backslash
            // left after unescaping is sent as `%5C`, as renderers send it).
            if matches!(
                link.element,
                Element::Link | Element::Image | Element::Reference
            ) && !source.has_replaced(&span)
            {
                let again = classifier.resolve(
                    &encode_backslashes(&unescape_markdown(&link.raw)),
                    &NoteContext::for_file(Path::new("n.md")),
                    (link.kind == Kind::Image).then_some(Kind::Image),
                );
                if link.kind != Kind::Image || again.kind == Kind::Image {
                    assert_eq!(
                        again.url,
                        link.url,
                        "{:?} {link:?}",
                        String::from_utf8_lossy(doc)
                    );
                }
            }
            assert_eq!(
                (link.line, link.column),
                line_column(&text, span.start),
                "{:?} {link:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }
    links_seen
}

#[test]
fn generated_documents_never_panic_and_spans_are_exact() {
    let settings = Settings::shipped().unwrap();
    let classifier = Classifier::new(&settings);
    let budget = Budget::from_env(4000);
    let (cases, links) = fuzz(&budget, 0, false, |doc| check_extraction(doc, classifier));
    assert!(
        links > 1000 || cases < 4000,
        "the generator should produce links ({links})"
    );
    eprintln!(
        "extraction: {cases} documents, {links} links, seed {:#x}",
        budget.seed
    );
}

/// The journal's idea of where each path was written: its edit's start, moved
/// by what the edits before it added or removed.
fn written_at(edits: &[Edit], entries: &[Entry]) -> Vec<(usize, Entry)> {
    let mut shift: isize = 0;
    edits
        .iter()
        .zip(entries)
        .map(|(edit, entry)| {
            let at = edit.span.start.saturating_add_signed(shift);
            shift += edit.replacement.len() as isize - edit.span.len() as isize;
            (at, entry.clone())
        })
        .collect()
}

/// A rewrite of every web link of one document, then a restore: the bytes
/// must come back whole. Returns how many links were rewritten.
fn check_round_trip(doc: &[u8], classifier: Classifier<'_>) -> usize {
    let mut rewritten = 0;
    let source = SourceText::new(doc.to_vec());
    for format in [Format::Markdown, Format::Html] {
        let mut links = extract(Path::new("n.md"), "n.md", &source, format, classifier);
        // As `rewrite` does: web links that are not bare URLs or
        // autolinks, each span once, in order.
        links.retain(|l| {
            !matches!(l.element, Element::Bare | Element::Autolink)
                && (l.url.starts_with("http://") || l.url.starts_with("https://"))
                && doc.get(l.span.clone()) == Some(l.raw.as_bytes())
        });
        links.sort_by_key(|l| l.span.start);
        let mut end = 0;
        links.retain(|l| {
            let keep = l.span.start >= end;
            end = end.max(l.span.end);
            keep
        });
        if links.is_empty() {
            continue;
        }
        let path = |url: &str| {
            let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            format!("../archive/objects/{:02x}/{hash:016x}.png", hash >> 56)
        };
        let edits: Vec<Edit> = links
            .iter()
            .map(|l| Edit {
                span: l.span.clone(),
                replacement: path(&l.url),
            })
            .collect();
        let entries: Vec<Entry> = links
            .iter()
            .map(|l| Entry {
                note: "n.md".into(),
                original: l.raw.clone(),
                replacement: path(&l.url),
                object: "objects/x".into(),
            })
            .collect();
        let new = apply(doc, &edits);
        let journal = merge_entries(Vec::new(), &new, written_at(&edits, &entries));
        let (back, missing) = restore(&new, &journal);
        assert!(
            back == doc && missing.is_empty(),
            "({format:?}): {:?}\nrewritten: {:?}\nrestored: {:?}\nmissing: {missing:?}",
            String::from_utf8_lossy(doc),
            String::from_utf8_lossy(&new),
            String::from_utf8_lossy(&back),
        );
        rewritten += edits.len();
    }
    rewritten
}

#[test]
fn a_rewrite_then_a_restore_gives_every_byte_back() {
    let settings = Settings::shipped().unwrap();
    let classifier = Classifier::new(&settings);
    let budget = Budget::from_env(3000);
    let (cases, rewritten) = fuzz(&budget, 0xA5A5, true, |doc| {
        check_round_trip(doc, classifier)
    });
    assert!(
        rewritten > 100 || cases < 3000,
        "the generator should give links to rewrite ({rewritten})"
    );
    eprintln!(
        "rewrite and restore: {cases} documents, {rewritten} links rewritten and put back, seed {:#x}",
        budget.seed
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
        // Many tails with a line ending, all of constructs opened on one line.
        "![".repeat(20_000) + "a" + &"](\nu)".repeat(20_000),
        "> ".repeat(2_000) + &"![".repeat(5_000) + "a" + &"](\n> u)".repeat(5_000),
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
