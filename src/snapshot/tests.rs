use std::time::{Duration, UNIX_EPOCH};

use url::Url;

use super::{Capture, Needs, Resolved, SnapshotRules, needs, render};

/// The rules the shipped configuration gives (WeChat's among them).
fn shipped() -> SnapshotRules {
    crate::config::Settings::shipped().unwrap().snapshot
}

/// A page shaped like a WeChat article: hidden body, lazy images, a background
/// image, inline and external scripts, a style sheet, an iframe and handlers.
const ARTICLE: &str = r#"<!DOCTYPE html>
<html><head>
<meta charset="gbk">
<meta property="og:title" content="论文解读 &amp; 代码">
<title>ignored when og:title exists</title>
<link rel="stylesheet" href="/css/article.css">
<link rel="preload" href="https://res.wx.qq.com/font.woff2" as="font">
<script src="https://res.wx.qq.com/app.js"></script>
<script>var msg_title = '论文解读'; document.getElementById('js_content').style.visibility = 'visible';</script>
<style>.cover{background:url("https://mmbiz.qpic.cn/cover/0?wx_fmt=jpeg")}</style>
</head>
<body onload="track()">
<div id="js_content" style="visibility: hidden;">
<p>正文第一段 with <a href="/s/other">a relative link</a> and <a href="javascript:void(0)">a script link</a>.</p>
<img data-src="https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&amp;tp=webp" data-type="png" src="data:image/gif;base64,R0lGOD" data-w="1080">
<img src="https://mmbiz.qpic.cn/mmbiz_jpg/def/0?wx_fmt=jpeg" srcset="https://mmbiz.qpic.cn/x 2x" onclick="zoom()">
<section style="background-image: url(&quot;https://mmbiz.qpic.cn/bg/0?wx_fmt=png&quot;);">装饰</section>
<iframe src="https://v.qq.com/iframe/player.html?vid=x"></iframe>
<img data-src="https://mmbiz.qpic.cn/gone/0?wx_fmt=png">
<noscript><p>shown without scripts</p></noscript>
</div>
</body></html>"#;

fn page() -> Url {
    Url::parse("https://mp.weixin.qq.com/s/AbCdEf").unwrap()
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn needs_finds_the_title_the_images_and_the_sheets() {
    let Needs {
        title,
        images,
        stylesheets,
    } = needs(ARTICLE, &page(), &shipped()).unwrap();
    assert_eq!(title.as_deref(), Some("论文解读 & 代码"));
    let images: Vec<&str> = images.iter().map(Url::as_str).collect();
    assert_eq!(
        images,
        [
            "https://mmbiz.qpic.cn/cover/0?wx_fmt=jpeg",
            "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&tp=webp",
            "https://mmbiz.qpic.cn/mmbiz_jpg/def/0?wx_fmt=jpeg",
            "https://mmbiz.qpic.cn/bg/0?wx_fmt=png",
            "https://mmbiz.qpic.cn/gone/0?wx_fmt=png",
        ]
    );
    assert_eq!(
        stylesheets,
        [url("https://mp.weixin.qq.com/css/article.css")]
    );
}

#[test]
fn the_title_falls_back_to_the_title_element() {
    let html = "<html><head><title>\n  A   page\n</title></head><body></body></html>";
    let found = needs(html, &page(), &shipped()).unwrap();
    assert_eq!(found.title.as_deref(), Some("A page"));
}

fn rendered() -> String {
    let mut resolved = Resolved::default();
    for (remote, local) in [
        (
            "https://mmbiz.qpic.cn/cover/0?wx_fmt=jpeg",
            "../aa/cover.jpg",
        ),
        (
            "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&tp=webp",
            "../bb/abc.png",
        ),
        (
            "https://mmbiz.qpic.cn/mmbiz_jpg/def/0?wx_fmt=jpeg",
            "../cc/def.jpg",
        ),
        ("https://mmbiz.qpic.cn/bg/0?wx_fmt=png", "../dd/bg.png"),
    ] {
        resolved.images.insert(url(remote), local.to_owned());
    }
    resolved.stylesheets.insert(
        url("https://mp.weixin.qq.com/css/article.css"),
        "body{color:#333}</style><script>alert(1)</script>".to_owned(),
    );
    let capture = Capture {
        url: "https://mp.weixin.qq.com/s/AbCdEf",
        title: Some("论文解读 <b>&</b>"),
        at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    };
    render(ARTICLE, &page(), &capture, &shipped(), &resolved).unwrap()
}

#[test]
fn scripts_frames_preloads_and_handlers_are_gone() {
    let out = rendered();
    // The hostile sheet's text stays inside its <style>, closed off.
    let outside = out.replace("<\\/style><script>alert(1)<\\/script>", "");
    assert!(!outside.contains("<script"), "{out}");
    assert!(!out.contains("msg_title"), "{out}");
    assert!(!out.contains("<iframe"), "{out}");
    assert!(!out.contains("font.woff2"), "{out}");
    assert!(!out.contains("onload") && !out.contains("onclick"), "{out}");
    assert!(!out.contains("javascript:"), "{out}");
    assert!(!out.contains("charset=\"gbk\""), "{out}");
    assert!(!out.contains("ignored when og:title exists"), "{out}");
    assert!(
        out.contains("<title>论文解读 &lt;b&gt;&amp;&lt;/b&gt;</title>"),
        "{out}"
    );
}

#[test]
fn images_point_at_the_archive_and_nothing_loads_from_the_web() {
    let out = rendered();
    assert!(out.contains(r#"src="../bb/abc.png""#), "{out}");
    assert!(out.contains(r#"src="../cc/def.jpg""#), "{out}");
    assert!(!out.contains("srcset"), "{out}");
    assert!(!out.contains("data-src="), "{out}");
    assert!(
        out.contains(r#"url(\"../dd/bg.png\")"#) || out.contains("url(&quot;../dd/bg.png&quot;)"),
        "{out}"
    );
    assert!(
        out.contains(r#".cover{background:url("../aa/cover.jpg")}"#),
        "{out}"
    );
    // An image that could not be archived loads nothing and says what it was.
    assert!(
        out.contains(r#"data-archiver-missing="https://mmbiz.qpic.cn/gone/0?wx_fmt=png""#),
        "{out}"
    );
    // Only the page's links (which load nothing by themselves) name the web.
    for (at, _) in out.match_indices("https://") {
        let before = &out[at.saturating_sub(40)..at];
        assert!(
            before.contains("href=\"")
                || before.contains("data-archiver-missing=\"")
                || before.contains('>'),
            "a web address that may load: …{}…",
            &out[at.saturating_sub(40)..(at + 60).min(out.len())]
        );
    }
    assert!(out.contains("Content-Security-Policy"), "{out}");
    assert!(out.contains("default-src 'none'"), "{out}");
}

#[test]
fn hidden_content_is_shown_and_the_banner_says_what_this_is() {
    let out = rendered();
    assert!(out.contains("visibility:visible"), "{out}");
    assert!(out.contains("shown without scripts"), "{out}");
    assert!(!out.contains("<noscript>"), "{out}");
    assert!(
        out.contains(r#"href="https://mp.weixin.qq.com/s/other""#),
        "{out}"
    );
    let banner = &out[out.find("archiver-banner").unwrap()..];
    assert!(banner.contains("https://mp.weixin.qq.com/s/AbCdEf"));
    assert!(
        banner.contains("论文解读 &lt;b&gt;&amp;&lt;/b&gt;"),
        "title as text: {banner}"
    );
    assert!(banner.contains("2023-11-14T22:13:20Z"));
    // The inlined sheet cannot close its element and start a script.
    assert!(out.contains("body{color:#333}<\\/style>"), "{out}");
}

#[test]
fn a_fragment_without_head_or_body_still_gets_policy_and_banner() {
    let capture = Capture {
        url: "https://example.org/a",
        title: None,
        at: UNIX_EPOCH,
    };
    let out = render(
        "<p>just text <img src=/x.png></p>",
        &url("https://example.org/a"),
        &capture,
        &shipped(),
        &Resolved::default(),
    )
    .unwrap();
    assert!(out.starts_with("<meta charset=\"utf-8\">"), "{out}");
    assert!(out.contains("archiver-banner"));
    assert!(out.contains(r#"data-archiver-missing="/x.png""#), "{out}");
    assert!(!out.contains(r#"src="/x.png""#), "{out}");
}
