//! Every example of the CommonMark 0.31.2 specification (the npm package
//! `commonmark-spec`, vendored in `tests/fixtures/commonmark/`, CC-BY-SA 4.0) through
//! the Markdown extractor: each link and image its reference rendering shows is
//! found, every span holds the URL as written, and nothing else is reported but
//! reference definitions no link uses, bare URLs that GitHub links (comrak with
//! the autolink extension stands in for GitHub; the reference renderer has no
//! such links), and links written inside HTML blocks (which carry a hint saying
//! GitHub shows them as text).

use std::collections::HashMap;

use archiver::extract::block_text::HINT;
use archiver::extract::entities;
use archiver::extract::{Found, markdown};
use archiver::link::Element;
use percent_encoding::percent_decode_str;

/// One example: its number, section, Markdown and expected HTML.
struct Example {
    number: usize,
    section: String,
    markdown: String,
    html: String,
}

/// Reads the examples the way the package's own `index.js` does; `→` stands for a
/// tab, as in the specification's test runner.
fn examples() -> Vec<Example> {
    let spec = include_str!("fixtures/commonmark/spec.txt").replace("\r\n", "\n");
    let spec = spec
        .split("\n<!-- END TESTS -->")
        .next()
        .expect("the spec has tests");
    let fence = "`".repeat(32);
    let mut out = Vec::new();
    let mut section = String::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        if line.starts_with('#') {
            section = line.trim_start_matches('#').trim().to_owned();
            continue;
        }
        if line != format!("{fence} example") {
            continue;
        }
        let (mut markdown, mut html, mut in_html) = (String::new(), String::new(), false);
        for line in lines.by_ref() {
            if line == fence {
                break;
            }
            if line == "." && !in_html {
                in_html = true;
                continue;
            }
            let part = if in_html { &mut html } else { &mut markdown };
            part.push_str(line);
            part.push('\n');
        }
        out.push(Example {
            number: out.len() + 1,
            section: section.clone(),
            markdown: markdown.replace('→', "\t"),
            html: html.replace('→', "\t"),
        });
    }
    out
}

/// The URLs the rendered HTML links to or loads, read tag by tag (a DOM parser
/// would repeat an `<a>` left open into every later block).
fn rendered_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for token in html5gum::Tokenizer::new(html).flatten() {
        let html5gum::Token::StartTag(tag) = token else {
            continue;
        };
        let attribute: &[u8] = match &**tag.name {
            b"a" => b"href",
            b"img" => b"src",
            _ => continue,
        };
        if let Some(value) = tag.attributes.get(attribute) {
            urls.push(String::from_utf8_lossy(value).into_owned());
        }
    }
    urls
}

/// The URLs GitHub's dialect links in `markdown` (comrak, with the autolink
/// extension): what a bare URL the reference renderer leaves as text must be.
fn github_urls(markdown: &str) -> Vec<String> {
    let mut options = comrak::Options::default();
    options.extension.autolink = true;
    rendered_urls(&comrak::markdown_to_html(markdown, &options))
}

/// Whether the extractor's target and the rendered URL lead to the same place.
/// The reference renderer percent-encodes what the extractor leaves as written,
/// so they are compared decoded, and as a browser resolves them (where a stray
/// backslash would become `/`).
fn same_address(target: &str, rendered: &str) -> bool {
    let decoded = |url: &str| percent_decode_str(url).decode_utf8_lossy().into_owned();
    let base = url::Url::parse("https://example.org/notes/").unwrap();
    let resolved = |url: &str| base.join(url).map(|u| decoded(u.as_str())).ok();
    decoded(target) == decoded(rendered) && resolved(target) == resolved(rendered)
}

/// The target the bytes at a link's span stand for, read by that link's syntax.
fn target_of_span(markdown: &str, found: &Found) -> String {
    let raw = &markdown[found.span.clone()];
    match found.element {
        Element::Link | Element::Image | Element::Reference => {
            entities::encode_backslashes(&entities::unescape_markdown(raw))
        }
        Element::Autolink | Element::Bare => {
            let raw = entities::encode_backslashes(&entities::decode(raw));
            if found.target.starts_with("mailto:") && !raw.starts_with("mailto:") {
                format!("mailto:{raw}")
            } else if found.target.starts_with("http://") && !raw.contains("://") {
                format!("http://{raw}")
            } else {
                raw
            }
        }
        Element::Html => entities::decode(raw).into_owned(),
    }
}

#[test]
fn every_spec_example_gives_the_rendered_links_with_exact_spans() {
    let examples = examples();
    assert_eq!(examples.len(), 652, "the 0.31.2 spec has 652 examples");
    let mut problems = Vec::new();
    let mut rendered_total = 0;
    let mut extras: HashMap<&'static str, usize> = HashMap::new();
    for example in &examples {
        let found = markdown::extract(&example.markdown, 0);
        let mut say = |what: String| {
            problems.push(format!(
                "example {} ({}): {what}\n  markdown: {:?}",
                example.number, example.section, example.markdown
            ));
        };
        for f in &found {
            let Some(raw) = example.markdown.get(f.span.clone()) else {
                say(format!("span {:?} is not in the note", f.span));
                continue;
            };
            let read = target_of_span(&example.markdown, f);
            if read != f.target {
                say(format!(
                    "span holds {raw:?}, which reads {read:?}, not the target {:?}",
                    f.target
                ));
            }
        }
        let mut unmatched: Vec<&Found> = found.iter().collect();
        let mut used_definitions = Vec::new();
        for url in rendered_urls(&example.html) {
            rendered_total += 1;
            let same = |f: &&Found| same_address(&f.target, &url);
            if let Some(i) = unmatched.iter().position(same) {
                let f = unmatched.remove(i);
                if f.element == Element::Reference {
                    used_definitions.push(f);
                }
            } else if !used_definitions.iter().any(same) {
                // A definition is one occurrence, however many links use it.
                say(format!("rendered {url:?} was not found; found {found:?}"));
            }
        }
        let github = github_urls(&example.markdown);
        for f in unmatched {
            let allowed = match f.element {
                Element::Reference => Some("unused definitions"),
                Element::Bare if github.iter().any(|url| same_address(&f.target, url)) => {
                    Some("bare URLs")
                }
                _ if f.hint == Some(HINT) => Some("links in HTML blocks"),
                _ => None,
            };
            match allowed {
                Some(kind) => *extras.entry(kind).or_default() += 1,
                None => say(format!("found {f:?}, which is not rendered")),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The rendered examples hold 132 `<a href>` and 23 `<img src>`.
    assert_eq!(rendered_total, 155);
    eprintln!("{rendered_total} rendered links found; allowed extras: {extras:?}");
}
