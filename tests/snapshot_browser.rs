//! Snapshots opened in a real browser with the network blocked: headless
//! Chromium (Debian's `chromium`) driven by tests/browser/open_offline.py
//! (PyPI's `playwright`, no browser download). The page must show its title and
//! text, load every image from the archive folder, and ask nothing of the web.
//! Skipped, with a note, where chromium or playwright is missing.

mod util;

use std::time::SystemTime;

use archiver::snapshot::{Capture, Resolved, css, needs, render};
use url::Url;
use util::browser::open_offline;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A page shaped like a WeChat article.
const ARTICLE: &str = r#"<!DOCTYPE html><html><head>
<meta charset="utf-8"><meta property="og:title" content="图神经网络综述">
<link rel="stylesheet" href="https://res.wx.qq.com/article.css">
<link rel="preload" as="font" href="https://res.wx.qq.com/f.woff2">
<script src="https://res.wx.qq.com/app.js"></script>
<script>fetch('https://mp.weixin.qq.com/mp/getappmsgext');</script>
<style>.banner{height:20px;background:url("https://mmbiz.qpic.cn/banner/0?wx_fmt=png")}</style>
</head><body>
<div id="js_content" style="visibility: hidden;">
<div class="banner"></div>
<p class="x">本文介绍图神经网络的三个方向。</p>
<img data-src="https://mmbiz.qpic.cn/mmbiz_png/one/640?wx_fmt=png" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<img data-original="https://mmbiz.qpic.cn/mmbiz_jpg/two/0?wx_fmt=jpeg" srcset="https://mmbiz.qpic.cn/x 2x">
<section style="background-image: url(&quot;https://mmbiz.qpic.cn/bg/0?wx_fmt=png&quot;); height: 10px"></section>
<iframe src="https://v.qq.com/txp/iframe/player.html?vid=abc"></iframe>
<img src="https://mmbiz.qpic.cn/tracker.gif" onerror="this.src='https://t.example/p'">
</div>
</body></html>"#;

/// The sheet's own background image, relative to the sheet.
const SHEET: &str = "p{color:#333} .x{background:url(img/paper.png)}";

#[test]
fn a_snapshot_reads_offline_with_every_image_from_the_archive() {
    let page = Url::parse("https://mp.weixin.qq.com/s/GraphNN").unwrap();
    let rules = archiver::config::Settings::shipped().unwrap().snapshot;
    let found = needs(ARTICLE, &page, &rules).unwrap();
    let sheet_url = Url::parse("https://res.wx.qq.com/article.css").unwrap();
    assert_eq!(found.stylesheets, std::slice::from_ref(&sheet_url));

    // The archive: every image but the tracker, as objects beside the snapshot.
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let mut resolved = Resolved::default();
    let sheet_images: Vec<Url> = css::urls(SHEET)
        .into_iter()
        .map(|(_, r)| sheet_url.join(&r).unwrap())
        .collect();
    for (i, url) in found.images.iter().chain(&sheet_images).enumerate() {
        if url.path().ends_with("tracker.gif") {
            continue;
        }
        let name = format!("{i:02}/image{i}.png");
        let path = objects.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, PNG).unwrap();
        resolved.images.insert(url.clone(), format!("../{name}"));
    }
    let sheet = css::rewrite(SHEET, |r| {
        sheet_url
            .join(r)
            .ok()
            .and_then(|u| resolved.images.get(&u).cloned())
    });
    resolved.stylesheets.insert(sheet_url, sheet);
    let capture = Capture {
        url: page.as_str(),
        title: found.title.as_deref(),
        at: SystemTime::now(),
    };
    let html = render(ARTICLE, &page, &capture, &rules, &resolved).unwrap();
    let file = objects.join("ff/snapshot.html");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, html).unwrap();

    let Some(seen) = open_offline(&file, dir.path()) else {
        return;
    };
    assert_eq!(seen["outside"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["title"], "图神经网络综述", "{seen}");
    let text = seen["text"].as_str().unwrap();
    assert!(text.contains("本文介绍图神经网络的三个方向。"), "{seen}");
    assert!(
        text.contains("图神经网络综述"),
        "the banner names it: {seen}"
    );
    assert!(
        text.contains("https://mp.weixin.qq.com/s/GraphNN"),
        "{seen}"
    );
    let images = seen["images"].as_array().unwrap();
    let loaded: Vec<&serde_json::Value> = images.iter().filter(|i| i["loaded"] == true).collect();
    assert_eq!(loaded.len(), 2, "both content images load: {seen}");
    assert_eq!(images.len(), 3, "{seen}");
    assert!(seen["errors"].as_array().unwrap().is_empty(), "{seen}");
    // The CSS backgrounds (the page's <style>, a style attribute, the inlined
    // sheet) load from the archive too: every archived image was asked for.
    let asked: Vec<&str> = seen["inside"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    for local in resolved.images.values() {
        let file = local.trim_start_matches("../");
        assert!(
            asked.iter().any(|a| a.ends_with(file)),
            "{file} was not loaded: {seen}"
        );
    }
}
