//! `archiver links` on the real notes in `../shared/corpus/dairly-learning/`.
//!
//! Besides counts and hand-checked positions, every note is rendered by an
//! independent CommonMark + GFM implementation (comrak) and the rendered links, and
//! the URLs in its HTML read by an HTML parser (scraper), are matched one for one
//! against what archiver reports, on the right line.

mod util;

use std::collections::BTreeMap;
use std::path::Path;

use comrak::nodes::NodeValue;
use serde_json::Value;
use util::{assert_spans_match_raw, corpus, links_in, s};

fn corpus_links(dir: &Path) -> Vec<Value> {
    links_in(dir, &["."])
}

#[test]
fn per_kind_counts_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    let links = corpus_links(&dir);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for link in &links {
        *counts.entry(s(link, "kind")).or_default() += 1;
    }
    let expected: BTreeMap<&str, usize> = [
        ("article", 880),
        ("code", 468),
        ("image", 721),
        ("invalid", 1),
        ("local", 126),
        ("page", 276),
        ("paper", 420),
        ("pdf", 18),
        ("video", 4),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
    let notes: std::collections::BTreeSet<&str> = links.iter().map(|l| s(l, "file")).collect();
    assert_eq!(notes.len(), 119, "every note has links");
}

#[test]
fn every_span_is_the_raw_url_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    let links = corpus_links(&dir);
    assert_spans_match_raw(&dir, &links);
}

#[test]
fn spot_checked_positions() {
    let Some(dir) = corpus() else { return };
    let links = corpus_links(&dir);
    // (file, line, column, kind, element, raw starts with), positions counted by hand.
    let expected = [
        (
            "README.md",
            14,
            38,
            "article",
            "link",
            "https://mp.weixin.qq.com/s/T07zfA60e7OcfL8vgrxduw",
        ),
        (
            "notes/202205/0507.md",
            23,
            70,
            "local",
            "link",
            "arxiv.org/abs/2111.08687",
        ),
        (
            "notes/202104/0424.md",
            15,
            29,
            "local",
            "html",
            "./images/1.gif",
        ),
        (
            "notes/202103/0322.md",
            30,
            15,
            "code",
            "bare",
            "https://github.com/garrettj403/SciencePlots",
        ),
        (
            "notes/202103/0325.md",
            41,
            11,
            "article",
            "bare",
            "https://mp.weixin.qq.com/s?__biz=MzIwMTE1NjQxMQ",
        ),
    ];
    for (file, line, column, kind, element, raw) in expected {
        let found = links
            .iter()
            .find(|l| s(l, "file") == file && l["line"] == line && l["column"] == column);
        let link = found.unwrap_or_else(|| panic!("no link at {file}:{line}:{column}"));
        assert_eq!(s(link, "kind"), kind, "{link}");
        assert_eq!(s(link, "element"), element, "{link}");
        assert!(s(link, "raw").starts_with(raw), "{link}");
    }
    // The scheme-less links carry a hint; the empty one a reason.
    let arxiv = links
        .iter()
        .find(|l| s(l, "raw") == "arxiv.org/abs/2111.08687")
        .unwrap();
    assert!(s(arxiv, "hint").contains("https://arxiv.org/abs/2111.08687"));
    let mail = links
        .iter()
        .find(|l| s(l, "raw") == "airhr@air.tsinghua.edu.cn")
        .unwrap();
    assert_eq!(s(mail, "kind"), "local");
    assert!(s(mail, "hint").contains("mailto:airhr@air.tsinghua.edu.cn"));
    let empty = links.iter().find(|l| s(l, "kind") == "invalid").unwrap();
    assert_eq!(
        (s(empty, "file"), &empty["line"]),
        ("notes/202104/0403.md", &Value::from(23))
    );
    // A WeChat image in its <div align=center> wrapper: an image, with the entity-free
    // URL as written.
    let wechat = links
        .iter()
        .find(|l| {
            s(l, "attribute") == "img[src]" && s(l, "url").starts_with("https://mmbiz.qpic.cn/")
        })
        .unwrap();
    assert_eq!(s(wechat, "kind"), "image");
}

/// A link as the reference renderer shows it: its URL and the lines it may be on.
#[derive(Debug)]
struct Expected {
    file: String,
    url: String,
    lines: std::ops::RangeInclusive<usize>,
}

/// The URL-bearing attributes a reader's browser follows or loads.
const URL_ATTRIBUTES: &[(&str, &str)] = &[
    ("a", "href"),
    ("img", "src"),
    ("img", "data-src"),
    ("video", "src"),
    ("video", "poster"),
    ("source", "src"),
    ("audio", "src"),
    ("iframe", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("link", "href"),
];

fn html_urls(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_fragment(html);
    let mut urls = Vec::new();
    for (tag, attr) in URL_ATTRIBUTES {
        let selector = scraper::Selector::parse(&format!("{tag}[{attr}]")).unwrap();
        for el in doc.select(&selector) {
            urls.push(el.value().attr(attr).unwrap().to_owned());
        }
    }
    for selector in ["img[srcset]", "source[srcset]"] {
        let selector = scraper::Selector::parse(selector).unwrap();
        for el in doc.select(&selector) {
            let srcset = el.value().attr("srcset").unwrap();
            urls.extend(
                srcset
                    .split(',')
                    .filter_map(|c| c.split_whitespace().next())
                    .map(str::to_owned),
            );
        }
    }
    urls
}

/// The lines of each HTML block the reference renderer sees in `markdown`.
fn html_block_lines(markdown: &str) -> Vec<std::ops::RangeInclusive<usize>> {
    let arena = comrak::Arena::new();
    let root = comrak::parse_document(&arena, markdown, &comrak::Options::default());
    root.descendants()
        .filter(|node| matches!(node.data().value, NodeValue::HtmlBlock(_)))
        .map(|node| {
            let pos = node.data().sourcepos;
            pos.start.line..=pos.end.line
        })
        .collect()
}

fn reference_render(file: &str, markdown: &str) -> Vec<Expected> {
    let arena = comrak::Arena::new();
    let mut options = comrak::Options::default();
    options.extension.autolink = true;
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.tasklist = true;
    options.extension.footnotes = true;
    let root = comrak::parse_document(&arena, markdown, &options);
    let mut out = Vec::new();
    for node in root.descendants() {
        let ast = node.data();
        let lines = ast.sourcepos.start.line..=ast.sourcepos.end.line;
        let urls = match &ast.value {
            NodeValue::Link(link) | NodeValue::Image(link) => vec![link.url.clone()],
            NodeValue::HtmlBlock(block) => html_urls(&block.literal),
            NodeValue::HtmlInline(tag) => html_urls(tag),
            _ => continue,
        };
        out.extend(urls.into_iter().map(|url| Expected {
            file: file.to_owned(),
            url,
            lines: lines.clone(),
        }));
    }
    out
}

fn same_url(ours: &Value, theirs: &str) -> bool {
    let normalized = url::Url::parse(theirs).map_or_else(|_| theirs.to_owned(), String::from);
    let raw = html_escape::decode_html_entities(s(ours, "raw")).into_owned();
    s(ours, "url") == normalized || raw == theirs || raw.trim() == theirs
}

#[test]
fn every_rendered_link_is_found_on_its_line_and_nothing_else() {
    let Some(dir) = corpus() else { return };
    let links = corpus_links(&dir);
    let mut unmatched: Vec<&Value> = links.iter().collect();
    let mut missed = Vec::new();
    let mut checked = 0;
    let mut in_blocks = Vec::new();
    for entry in walk_markdown(&dir) {
        let rel = entry
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let markdown = std::fs::read_to_string(&entry).unwrap();
        // Markdown written inside an HTML block is shown as text by the reference
        // renderer; archiver reports it with a hint, on a line of such a block.
        let blocks = html_block_lines(&markdown);
        unmatched.retain(|l| {
            let hinted = s(l, "file") == rel && s(l, "hint").contains("HTML block");
            if hinted {
                let line = l["line"].as_u64().unwrap() as usize;
                assert!(
                    blocks.iter().any(|b| b.contains(&line)),
                    "hinted but not in an HTML block: {l}"
                );
                assert!(
                    matches!(s(l, "element"), "link" | "image" | "autolink"),
                    "{l}"
                );
                in_blocks.push(format!("{rel}:{line}"));
            }
            !hinted
        });
        for expected in reference_render(&rel, &markdown) {
            checked += 1;
            let at = unmatched.iter().position(|l| {
                s(l, "file") == expected.file
                    && expected
                        .lines
                        .contains(&(l["line"].as_u64().unwrap() as usize))
                    && same_url(l, &expected.url)
            });
            match at {
                Some(i) => {
                    unmatched.remove(i);
                }
                None => missed.push(expected),
            }
        }
    }
    assert!(
        checked > 2500,
        "the reference renderer found {checked} links"
    );
    assert!(missed.is_empty(), "rendered but not found: {missed:#?}");
    // 26 links in 5 notes follow an HTML block with no blank line before them.
    assert_eq!(in_blocks.len(), 26, "{in_blocks:#?}");
    let notes: std::collections::BTreeSet<_> = in_blocks
        .iter()
        .map(|at| at.split(':').next().unwrap())
        .collect();
    assert_eq!(notes.len(), 5, "{notes:?}");
    assert!(
        unmatched.is_empty(),
        "found but not rendered: {unmatched:#?}"
    );
}

fn walk_markdown(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
