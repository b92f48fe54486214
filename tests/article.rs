//! `fetch --kinds article`: articles kept as offline snapshots, against
//! imitations of WeChat's article pages and image CDN. A live article becomes one
//! HTML object whose images are objects of their own (listed with it, kept by
//! gc); a deleted article or a captcha page is never archived. The snapshot,
//! opened in headless Chromium with the network blocked, shows the article and
//! loads every image from the archive (skipped, with a note, without chromium
//! and playwright).

mod util;

use util::archive::{FAST, manifest, objects};
use util::browser::open_offline_named;
use util::media::{png_decodable, png_sized};
use util::server::{Fixture, Reply, Req};
use util::warcio::warcio;
use util::{Exit, Report, Tree, s};

const HOSTS: &[&str] = &["mp.weixin.qq.com", "mmbiz.qpic.cn", "res.wx.qq.com"];

/// A live article, shaped as WeChat serves one: the body hidden until a script
/// runs, lazy images, a background image, scripts and a tracker frame.
const LIVE: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8">
<meta property="og:title" content="一种新的图神经网络">
<link rel="stylesheet" href="https://res.wx.qq.com/mmbizwap/article.css">
<script src="https://res.wx.qq.com/mmbizwap/app.js"></script>
<script>var msg_title = '一种新的图神经网络'; var ct = "1620000000";</script>
</head><body><div id="js_article"><h1 class="rich_media_title">一种新的图神经网络</h1>
<div id="js_content" style="visibility: hidden;">
<p>这篇文章介绍了一种新的图神经网络结构。</p>
<p>图神经网络把节点的特征沿边传递，每一层汇聚邻居的信息。本文提出的结构在汇聚之前先为每条边学习一个权重，
使远处的节点也能影响中心节点，在三个公开数据集上都优于基线。</p>
<img data-src="https://mmbiz.qpic.cn/mmbiz_png/fig1/640?wx_fmt=png&amp;tp=webp&amp;wxfrom=5" data-type="png">
<section style="background-image: url(&quot;https://mmbiz.qpic.cn/mmbiz_png/bg/640?wx_fmt=png&quot;);">分隔</section>
<img data-src="https://mmbiz.qpic.cn/mmbiz_jpg/fig2/640?wx_fmt=jpeg" data-type="jpeg">
<iframe src="https://v.qq.com/txp/iframe/player.html?vid=x"></iframe>
</div></div></body></html>"#;

/// A deleted article: still 200, with WeChat's notice.
const DELETED: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head>
<body><div class="weui-msg"><p class="weui-msg__title">该内容已被发布者删除</p></div></body></html>"#;

/// An account that moved: the notice, and the new address in a script.
const MOVED: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head>
<body><div class="weui-msg"><p>该公众号已迁移</p></div>
<script>var transferTargetLink = 'https://mp.weixin.qq.com/s/live';</script></body></html>"#;

/// A sign-in page where the article should be.
const LOGIN: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>微信登录</title></head>
<body><form><input name="account"><input type="password"></form></body></html>"#;

/// The captcha WeChat shows when asked too often.
const CAPTCHA: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>验证</title></head>
<body><p>当前环境异常，完成验证后即可继续访问</p></body></html>"#;

fn wechat(req: &Req) -> Reply {
    let html = |body: &str| {
        Reply::status(200)
            .header("content-type", "text/html; charset=utf-8")
            .body(body)
    };
    let foreign = req
        .headers
        .get("referer")
        .is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"));
    match (
        req.host.as_str(),
        req.path.split('?').next().unwrap_or_default(),
    ) {
        ("mp.weixin.qq.com", "/s/live") => html(LIVE),
        ("mp.weixin.qq.com", "/s/deleted") => html(DELETED),
        ("mp.weixin.qq.com", "/s/captcha") => html(CAPTCHA),
        ("mp.weixin.qq.com", "/s/login") => html(LOGIN),
        ("mp.weixin.qq.com", "/s/short") => Reply::redirect(302, "https://mp.weixin.qq.com/s/live"),
        ("mp.weixin.qq.com", "/s/moved") => html(MOVED),
        ("res.wx.qq.com", "/mmbizwap/article.css") => Reply::status(200)
            .header("content-type", "text/css")
            .body("p{line-height:1.8} h1{background:url(img/rule.png) no-repeat}"),
        ("res.wx.qq.com", "/mmbizwap/img/rule.png") => {
            Reply::status(200).body(png_decodable(20, 2, [9, 9, 9]))
        }
        // The anti-hotlink placeholder for a foreign Referer, as the real CDN does.
        ("mmbiz.qpic.cn", _) if foreign => Reply::status(200).body(png_sized(470, 349, 1)),
        ("mmbiz.qpic.cn", "/mmbiz_png/fig1/0" | "/mmbiz_png/fig1/640") => {
            Reply::status(200).body(png_decodable(64, 48, [200, 0, 0]))
        }
        ("mmbiz.qpic.cn", "/mmbiz_png/bg/0" | "/mmbiz_png/bg/640") => {
            Reply::status(200).body(png_decodable(32, 8, [0, 200, 0]))
        }
        ("mmbiz.qpic.cn", "/mmbiz_jpg/fig2/0" | "/mmbiz_jpg/fig2/640") => {
            Reply::status(200).body(png_decodable(48, 64, [0, 0, 200]))
        }
        _ => Reply::status(404),
    }
}

#[test]
fn a_live_article_is_kept_offline_and_a_corpse_never() {
    let fixture = Fixture::start(HOSTS, wechat);
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "1. [GNN](https://mp.weixin.qq.com/s/live)\n\
         2. [gone](https://mp.weixin.qq.com/s/deleted)\n\
         3. [walled](https://mp.weixin.qq.com/s/captcha)\n\
         4. [members only](https://mp.weixin.qq.com/s/login)\n",
    );
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--kinds", "article"])
        .expect(Exit::Findings)
        .report();
    let live = &results["https://mp.weixin.qq.com/s/live"];
    assert_eq!(s(live, "outcome"), "fetched", "{live}");
    assert_eq!(s(live, "media_type"), "text/html", "{live}");
    let deleted = &results["https://mp.weixin.qq.com/s/deleted"];
    assert_eq!(
        (s(deleted, "outcome"), s(deleted, "reason_code")),
        ("failed", "soft-dead"),
        "{deleted}"
    );
    for walled in ["captcha", "login"] {
        let result = &results[&format!("https://mp.weixin.qq.com/s/{walled}")];
        assert_eq!(
            (s(result, "outcome"), s(result, "reason_code")),
            ("failed", "blocked"),
            "{result}"
        );
    }

    // One snapshot; its images are objects, listed with it in the manifest.
    let records = manifest(&tree);
    assert_eq!(records.len(), 1, "only the live article: {records:?}");
    let record = &records[0];
    assert_eq!(s(record, "url"), "https://mp.weixin.qq.com/s/live");
    assert_eq!(s(record, "title"), "一种新的图神经网络");
    let uses: Vec<&str> = record["uses"]
        .as_array()
        .expect("the snapshot lists what it uses")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert_eq!(
        uses.len(),
        4,
        "two figures, a background, the sheet's image: {uses:?}"
    );
    let archive = tree.path().join("archive");
    let all = objects(&tree);
    let snapshots: Vec<&String> = all.iter().filter(|o| o.ends_with(".html")).collect();
    assert_eq!(snapshots.len(), 1, "{all:?}");
    for used in &uses {
        assert!(archive.join(used).is_file(), "{used} is missing");
    }

    // A rerun asks nothing of the article it kept, nor of its images.
    let (page, cdn) = (
        fixture.requests("mp.weixin.qq.com", "/s/live"),
        fixture.requests_to("mmbiz.qpic.cn"),
    );
    assert_eq!(page, 1, "asked once");
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--kinds", "article"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(
        s(&results["https://mp.weixin.qq.com/s/live"], "outcome"),
        "present"
    );
    assert_eq!(fixture.requests("mp.weixin.qq.com", "/s/live"), page);
    assert_eq!(fixture.requests_to("mmbiz.qpic.cn"), cdn);
    let snapshot = archive.join(s(record, "object"));
    let html = std::fs::read_to_string(&snapshot).unwrap();
    assert!(html.contains("这篇文章介绍了一种新的图神经网络结构。"));
    assert!(!html.contains("<script"), "scripts are gone");
    assert!(!html.contains("placeholder"));

    // verify finds the archive whole; gc keeps what the snapshot uses.
    tree.archiver().arg("verify").expect(Exit::Success);
    tree.archiver().args(["gc", "notes"]).expect(Exit::Success);
    for used in &uses {
        assert!(archive.join(used).is_file(), "gc removed {used}");
    }

    // An image the snapshot shows goes missing: verify names it, and the next
    // fetch snapshots the page again.
    std::fs::remove_file(archive.join(uses[0])).unwrap();
    tree.archiver()
        .arg("verify")
        .expect(Exit::Findings)
        .stdout_has(&format!("missing       {}", uses[0]));
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--kinds", "article"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(
        s(&results["https://mp.weixin.qq.com/s/live"], "outcome"),
        "fetched"
    );
    tree.archiver().arg("verify").expect(Exit::Success);

    // Offline, in a browser: the article reads, every image loads from the archive.
    let Some(seen) = open_offline_named(&snapshot, &archive, Some("snapshot")) else {
        return;
    };
    assert_eq!(seen["outside"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["title"], "一种新的图神经网络", "{seen}");
    let text = seen["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("这篇文章介绍了一种新的图神经网络结构。"),
        "{seen}"
    );
    let images = seen["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{seen}");
    assert!(images.iter().all(|i| i["loaded"] == true), "{seen}");
    let asked = seen["inside"].as_array().unwrap();
    for used in &uses {
        assert!(
            asked.iter().any(|a| a.as_str() == Some(used)),
            "{used} not loaded: {seen}"
        );
    }
}

#[test]
fn with_warc_every_exchange_archived_is_recorded() {
    let fixture = Fixture::start(HOSTS, wechat);
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "[GNN](https://mp.weixin.qq.com/s/short)\n\n\
         ![fig](https://mmbiz.qpic.cn/mmbiz_jpg/fig2/640?wx_fmt=jpeg)\n\n\
         [gone](https://mp.weixin.qq.com/s/deleted)\n",
    );
    util::archive::fetch(&tree, &fixture, &["--kinds", "image,article", "--warc"])
        .expect(Exit::Findings);
    let folder = tree.path().join("archive/warc");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one file per run, finished: {files:?}");
    let file = files[0].to_str().unwrap().to_owned();
    assert!(file.ends_with(".warc.gz"), "{file}");

    // verify reads every record back and rechecks every payload digest.
    let verified = tree.archiver().arg("verify").expect(Exit::Success);
    verified.stdout_has("WARC records in 1 files read back");
    // A payload that no longer matches its digest is named.
    let bad_dir = tree.path().join("archive/warc");
    let mut bad = archiver::warc::WarcWriter::create(&bad_dir, "broken").unwrap();
    let none = reqwest::header::HeaderMap::new();
    let exchange = archiver::warc::Exchange::get(
        "https://example.org/x",
        std::time::SystemTime::now(),
        &none,
        reqwest::StatusCode::OK,
        &none,
    );
    bad.exchange(&exchange, &mut &b"bytes"[..], 5, &[0; 32])
        .unwrap();
    let bad = bad.finish().unwrap();
    let found = tree.archiver().arg("verify").expect(Exit::Findings);
    let name = bad.file_name().unwrap().to_string_lossy().into_owned();
    found.stdout_has(&format!(
        "bad-warc      warc/{name}: record 2: its payload hashes to"
    ));
    std::fs::remove_file(&bad).unwrap();

    let Some(checked) = warcio(&["check", "-v", &file]) else {
        return;
    };
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "warcio check: {report}");
    assert!(!report.contains("fail"), "{report}");
    let index = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,http:status",
        &file,
    ])
    .unwrap();
    let index = String::from_utf8_lossy(&index.stdout);
    let responses: Vec<&str> = index
        .lines()
        .filter(|l| l.contains(r#""warc-type": "response""#))
        .collect();
    // The article page, its sheet and four images (one of them also the note's
    // own figure, asked once by the note and once by the snapshot, or once:
    // the same object either way).
    for url in [
        "https://mp.weixin.qq.com/s/live",
        "https://res.wx.qq.com/mmbizwap/article.css",
        "https://res.wx.qq.com/mmbizwap/img/rule.png",
        "mmbiz_png/fig1/",
        "mmbiz_png/bg/",
        "mmbiz_jpg/fig2/",
    ] {
        assert!(
            responses.iter().any(|l| l.contains(url)),
            "no response record for {url}: {index}"
        );
    }
    // The redirect that led to the capture, so a replay of the cited URL
    // arrives at it.
    assert!(
        responses
            .iter()
            .any(|l| l.contains("https://mp.weixin.qq.com/s/short") && l.contains("302")),
        "no response record for the redirect: {index}"
    );
    assert!(
        !index.contains("/s/deleted"),
        "nothing archived, nothing recorded: {index}"
    );
    assert_eq!(
        index.matches(r#""warc-type": "request""#).count(),
        responses.len(),
        "a request record per response: {index}"
    );
}

#[test]
fn a_deleted_article_is_reported_with_its_snapshot() {
    let gone = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deleted = std::sync::Arc::clone(&gone);
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        if deleted.load(std::sync::atomic::Ordering::SeqCst) && req.path == "/s/live" {
            return Reply::status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body(DELETED);
        }
        wechat(req)
    });
    let tree = Tree::new();
    let note = "[GNN](https://mp.weixin.qq.com/s/live)\n\n\
                ![fig](https://mmbiz.qpic.cn/mmbiz_jpg/fig2/640?wx_fmt=jpeg)\n";
    tree.file("archiver.toml", FAST).file("notes/n.md", note);
    util::archive::fetch(&tree, &fixture, &["--kinds", "image,article"]).expect(Exit::Success);
    // Live: no copy named.
    let Report { results, .. } = tree.check(&fixture).expect(Exit::Success).report();
    let live = &results["https://mp.weixin.qq.com/s/live"];
    assert!(live.get("archived_copy").is_none(), "{live}");

    // Deleted since: the report names the snapshot, and --archived-ok passes.
    gone.store(true, std::sync::atomic::Ordering::SeqCst);
    let Report { results, .. } = tree.check(&fixture).expect(Exit::Findings).report();
    let dead = &results["https://mp.weixin.qq.com/s/live"];
    assert_eq!(s(dead, "verdict"), "soft-dead", "{dead}");
    let copy = s(dead, "archived_copy");
    assert!(
        copy.starts_with("archive/objects/") && copy.ends_with(".html"),
        "{copy}"
    );
    assert!(tree.path().join(copy).is_file(), "{copy}");
    tree.check(&fixture)
        .arg("--archived-ok")
        .expect(Exit::Success);

    // rewrite --only-failing points the dead link at its snapshot, and only it:
    // the live image keeps its web address.
    tree.archiver()
        .args(["rewrite", "--only-failing", "notes"])
        .expect(Exit::Success);
    let rewritten = std::fs::read_to_string(tree.path().join("notes/n.md")).unwrap();
    let snapshot = copy.trim_start_matches("archive/");
    assert!(
        rewritten.contains(&format!("[GNN](../archive/{snapshot})")),
        "{rewritten}"
    );
    assert!(
        rewritten.contains("![fig](https://mmbiz.qpic.cn/mmbiz_jpg/fig2/640?wx_fmt=jpeg)"),
        "{rewritten}"
    );
    // And back, through the journal.
    assert_eq!(tree.restored("notes/n.md"), note);
}

#[test]
fn a_moved_article_is_kept_as_its_successor() {
    let fixture = Fixture::start(HOSTS, wechat);
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "[old](https://mp.weixin.qq.com/s/moved)\n");
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--kinds", "article"])
        .expect(Exit::Success)
        .report();
    let moved = &results["https://mp.weixin.qq.com/s/moved"];
    assert_eq!(s(moved, "outcome"), "fetched", "{moved}");
    let records = manifest(&tree);
    assert_eq!(s(&records[0], "url"), "https://mp.weixin.qq.com/s/moved");
    assert_eq!(
        s(&records[0], "final_url"),
        "https://mp.weixin.qq.com/s/live"
    );
    let html = std::fs::read_to_string(tree.path().join("archive").join(s(&records[0], "object")))
        .unwrap();
    assert!(
        html.contains("这篇文章介绍了一种新的图神经网络结构。"),
        "the successor's text"
    );
}

#[test]
fn many_articles_stay_under_wechats_burst_limit() {
    // ARCHIVER_TEST_ARTICLES=734 makes this the corpus-sized run (about three
    // minutes at WeChat's pace).
    let articles: usize = std::env::var("ARCHIVER_TEST_ARTICLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    // Like WeChat: more than 5 page requests in a second draw the captcha.
    let recent = std::sync::Mutex::new(std::collections::VecDeque::<std::time::Instant>::new());
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        if req.host == "mp.weixin.qq.com" && req.path.starts_with("/s/a") {
            let now = std::time::Instant::now();
            let mut recent = recent.lock().unwrap();
            recent.retain(|t| now.duration_since(*t) < std::time::Duration::from_secs(1));
            recent.push_back(now);
            let page = if recent.len() > 5 { CAPTCHA } else { LIVE };
            return Reply::status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body(page);
        }
        wechat(req)
    });
    let tree = Tree::new();
    let note: String = (0..articles)
        .map(|i| format!("- [a{i}](https://mp.weixin.qq.com/s/a{i})\n"))
        .collect();
    tree.file("archiver.toml", FAST).file("notes/n.md", note);
    // Every article kept: none met the captcha.
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--kinds", "article"])
        .expect(Exit::Success)
        .report();
    assert_eq!(results.len(), articles);
    let starts = fixture.starts("mp.weixin.qq.com");
    assert_eq!(starts.len(), articles, "each article asked once");
    let burst = starts
        .iter()
        .map(|t| {
            starts
                .iter()
                .filter(|u| **u >= *t && u.duration_since(*t) < std::time::Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(burst <= 5, "{burst} article requests within one second");
}

#[test]
fn a_refresh_keeps_every_capture_and_never_a_deletion_notice() {
    // 0: the article as first read; 1: edited since; 2: deleted since.
    let stage = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&stage);
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        if req.path == "/s/live" {
            let page = match seen.load(std::sync::atomic::Ordering::SeqCst) {
                0 => LIVE.to_owned(),
                1 => LIVE.replace("这篇文章介绍了", "这篇文章（修订版）介绍了"),
                _ => DELETED.to_owned(),
            };
            return Reply::status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body(page);
        }
        wechat(req)
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "[GNN](https://mp.weixin.qq.com/s/live)\n");
    let snapshots = || -> Vec<String> {
        objects(&tree)
            .into_iter()
            .filter(|o| o.ends_with(".html"))
            .collect()
    };
    let url = "https://mp.weixin.qq.com/s/live";
    util::archive::fetch(&tree, &fixture, &[]).expect(Exit::Success);
    let first = manifest(&tree)[0].clone();

    // The same page: the snapshot stands, nothing new is written.
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--refresh"])
        .expect(Exit::Success)
        .report();
    assert_eq!(s(&results[url], "outcome"), "present", "{}", results[url]);
    assert_eq!(snapshots().len(), 1);

    // Edited: a new snapshot, the first kept as a capture.
    stage.store(1, std::sync::atomic::Ordering::SeqCst);
    util::archive::fetch(&tree, &fixture, &["--refresh"]).expect(Exit::Success);
    let record = manifest(&tree)[0].clone();
    assert_ne!(s(&record, "object"), s(&first, "object"));
    let captures = record["captures"].as_array().expect("the earlier capture");
    assert_eq!(captures.len(), 1, "{record}");
    assert_eq!(s(&captures[0], "object"), s(&first, "object"));
    assert_eq!(snapshots().len(), 2);
    let now =
        std::fs::read_to_string(tree.path().join("archive").join(s(&record, "object"))).unwrap();
    assert!(now.contains("修订版"));

    // Deleted: the archived copy stands; no deletion notice is kept.
    stage.store(2, std::sync::atomic::Ordering::SeqCst);
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--refresh"])
        .expect(Exit::Success)
        .report();
    assert_eq!(s(&results[url], "outcome"), "present", "{}", results[url]);
    assert_eq!(s(&results[url], "reason_code"), "soft-dead");
    assert_eq!(manifest(&tree)[0], record);
    assert_eq!(snapshots().len(), 2);

    // gc keeps both captures and what they show.
    tree.archiver().args(["gc", "notes"]).expect(Exit::Success);
    assert_eq!(snapshots().len(), 2);
    tree.archiver().arg("verify").expect(Exit::Success);
}

#[test]
fn an_article_served_in_gbk_is_kept_as_its_text() {
    let page = "<html><head><meta charset=\"gbk\"><title>图神经网络综述</title></head>\
                <body><div id=\"content_views\"><p>本文介绍图神经网络的三个方向。</p></div></body></html>";
    let bytes = encoding_rs::GBK.encode(page).0.into_owned();
    let fixture = Fixture::start(&["blog.csdn.net"], move |_: &Req| {
        Reply::status(200)
            .header("content-type", "text/html; charset=GBK")
            .body(&bytes)
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "[综述](https://blog.csdn.net/someone/article/details/1)\n",
    );
    let Report { results, .. } = util::archive::fetch(&tree, &fixture, &["--kinds", "article"])
        .expect(Exit::Success)
        .report();
    let result = &results["https://blog.csdn.net/someone/article/details/1"];
    assert_eq!(s(result, "media_type"), "text/html", "{result}");
    let records = manifest(&tree);
    let snapshot = tree.path().join("archive").join(s(&records[0], "object"));
    let html = std::fs::read_to_string(&snapshot).expect("the snapshot is UTF-8");
    assert!(html.contains("本文介绍图神经网络的三个方向。"), "{html}");
    assert!(html.contains("<title>图神经网络综述</title>"), "{html}");
    assert!(!html.contains('\u{fffd}'), "{html}");
}
