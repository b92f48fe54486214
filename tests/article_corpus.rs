//! The real notes' articles kept and then used: `fetch --kinds article` on every
//! article the notes cite, each host imitated by the fixture server (WeChat's
//! pages with hidden content and lazy images, some deleted from the start);
//! then some articles are deleted, `check` records it, and `rewrite
//! --only-failing` points exactly their occurrences at the snapshots, which
//! `--restore` takes back byte for byte.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree, copy_tree, links_in, notes_files, s, span};

fn fnv(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// An article WeChat had already deleted when the notes were first fetched.
fn gone_from_start(path: &str) -> bool {
    fnv(&format!("gone{path}")).is_multiple_of(11)
}

/// An article deleted after its snapshot was taken.
fn deleted_later(path: &str) -> bool {
    !gone_from_start(path) && fnv(&format!("later{path}")).is_multiple_of(5)
}

/// Whether `url` is a WeChat article, with its path and query.
fn on_wechat(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    (parsed.host_str() == Some("mp.weixin.qq.com")).then(|| served_at(url))
}

/// The path and query an article URL is served at.
fn served_at(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    }
}

/// A live article as WeChat serves it: the body hidden until a script runs,
/// and a lazy image on the CDN.
fn live_article(path: &str) -> String {
    let id = fnv(path);
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8">
<meta property="og:title" content="文章 {id}"><script>var msg = 1;</script></head>
<body><h1 class="rich_media_title">文章 {id}</h1>
<div id="js_content" style="visibility: hidden;"><p>正文 {id}</p>
<img data-src="https://mmbiz.qpic.cn/mmbiz_png/a{id}/640?wx_fmt=png"></div></body></html>"#
    )
}

const DELETED: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head>
<body><div class="weui-msg"><p class="weui-msg__title">该内容已被发布者删除</p></div></body></html>"#;

fn imitate(req: &Req, deleted: &AtomicBool) -> Reply {
    match req.host.as_str() {
        "mp.weixin.qq.com" => {
            let path = req.path.as_str();
            if gone_from_start(path) || (deleted.load(Ordering::SeqCst) && deleted_later(path)) {
                Reply::html(DELETED)
            } else {
                Reply::html(&live_article(path))
            }
        }
        "blog.csdn.net" | "mp.csdn.net" | "zhuanlan.zhihu.com" => Reply::html(
            "<html><head><title>博客</title></head><body><article><p>正文</p></article></body></html>",
        ),
        _ => util::media_hosts::imitate(req),
    }
}

#[test]
fn every_live_article_is_kept_and_only_failing_links_are_pointed_at_copies() {
    let Some(dir) = util::corpus() else { return };
    let tree = Tree::new();
    copy_tree(&dir.join("notes"), &tree.path().join("notes"));
    let mut hosts = util::hosts_of(&links_in(tree.path(), &["--unique", "notes"]));
    hosts.extend(["export.arxiv.org".to_owned(), "archive.org".to_owned()]);
    let host_list: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let deleted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&deleted);
    let fixture = Fixture::start(&host_list, move |req: &Req| imitate(req, &flag));
    // WeChat's pace shortened: its value has its own test (tests/article.rs).
    tree.file(
        "archiver.toml",
        util::quick_rules(&["wechat-article", "arxiv", "arxiv-api", "github", "wayback"]),
    );

    // Every live article becomes a snapshot; a deleted one never does.
    let articles: Vec<String> = links_in(tree.path(), &["--unique", "--kind", "article", "notes"])
        .iter()
        .map(|l| s(l, "url").split('#').next().unwrap_or_default().to_owned())
        .collect();
    assert!(articles.len() > 700, "{} articles", articles.len());
    let Report { results, .. } = tree
        .archiver()
        .args(["fetch", "--format", "json", "--kinds", "article", "notes"])
        .args(fixture.args())
        .expect(Exit::Findings)
        .report();
    let (mut kept, mut refused) = (0, 0);
    for url in &articles {
        let result = results
            .get(url)
            .unwrap_or_else(|| panic!("no result for {url}"));
        if on_wechat(url).is_some_and(|path| gone_from_start(&path)) {
            assert_eq!(
                (s(result, "outcome"), s(result, "reason_code")),
                ("failed", "soft-dead"),
                "{url}: {result}"
            );
            refused += 1;
        } else {
            assert_eq!(s(result, "outcome"), "fetched", "{url}: {result}");
            assert_eq!(s(result, "media_type"), "text/html", "{url}: {result}");
            kept += 1;
        }
    }
    assert!(kept > 600 && refused > 30, "{kept} kept, {refused} refused");
    for record in util::archive::manifest(&tree) {
        let object = tree.path().join("archive").join(s(&record, "object"));
        let html = std::fs::read_to_string(&object).unwrap();
        assert!(html.contains("<p>正文"), "{}: {html}", s(&record, "url"));
        assert!(!html.contains("<script"), "{}", s(&record, "url"));
    }
    tree.archiver().arg("verify").expect(Exit::Success);

    // Some articles are deleted since; check sees it and names their copies.
    deleted.store(true, Ordering::SeqCst);
    let Report { results, .. } = tree
        .check(&fixture)
        .arg("notes")
        .expect(Exit::Findings)
        .report();
    let with_copy: BTreeMap<&str, &str> = results
        .iter()
        .filter(|(_, r)| !s(r, "archived_copy").is_empty())
        .map(|(url, r)| (url.as_str(), s(r, "archived_copy")))
        .collect();
    let expected: BTreeSet<&str> = articles
        .iter()
        .filter(|u| on_wechat(u).is_some_and(|path| deleted_later(&path)))
        .map(String::as_str)
        .collect();
    assert!(expected.len() > 50, "{} deleted later", expected.len());
    let named: BTreeSet<&str> = with_copy.keys().copied().collect();
    assert!(
        named == expected,
        "the failing links with a copy are the articles deleted since: \
         named and not deleted {:?}, deleted and not named {:?}",
        named.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&named).collect::<Vec<_>>()
    );
    for url in &expected {
        assert_eq!(s(&results[*url], "verdict"), "soft-dead", "{url}");
    }

    // rewrite --only-failing: each occurrence of those URLs, and nothing else,
    // now points at its snapshot, relative to its note.
    let occurrences = links_in(tree.path(), &["notes"]);
    let original = notes_files(tree.path());
    tree.archiver()
        .args(["rewrite", "--only-failing", "notes"])
        .expect(Exit::Success);
    let mut wanted: BTreeMap<String, Vec<u8>> = original.iter().cloned().collect();
    let mut by_file: BTreeMap<&str, Vec<(std::ops::Range<usize>, String)>> = BTreeMap::new();
    for link in &occurrences {
        let url = s(link, "url");
        let Some(copy) = with_copy.get(url.split('#').next().unwrap_or_default()) else {
            continue;
        };
        let file = s(link, "file");
        let depth = file.matches('/').count();
        // The URL as written gives way to the path; its fragment (WeChat's
        // `#rd`, `#wechat_redirect`) stays.
        let raw = s(link, "raw");
        let fragment = raw.find('#').map_or("", |at| &raw[at..]);
        by_file.entry(file).or_default().push((
            span(link),
            format!("{}{copy}{fragment}", "../".repeat(depth)),
        ));
    }
    let mut rewritten = 0;
    for (file, mut edits) in by_file {
        let bytes = wanted.get_mut(file).unwrap();
        edits.sort_by_key(|(at, _)| std::cmp::Reverse(at.start));
        for (at, to) in edits {
            bytes.splice(at, to.into_bytes());
            rewritten += 1;
        }
    }
    assert!(rewritten >= expected.len(), "{rewritten} occurrences");
    eprintln!(
        "{kept} articles kept, {refused} refused as deleted; {} deleted since, \
         {rewritten} occurrences pointed at their snapshots",
        expected.len()
    );
    let after: BTreeMap<String, Vec<u8>> = notes_files(tree.path()).into_iter().collect();
    for (file, bytes) in &wanted {
        assert_eq!(
            String::from_utf8_lossy(&after[file]),
            String::from_utf8_lossy(bytes),
            "{file}"
        );
    }

    // And back, byte for byte.
    tree.archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Success);
    assert!(
        notes_files(tree.path()) == original,
        "restore is byte-identical"
    );
}
