//! What the site rules make `fetch` do against imitations of the real hosts:
//! WeChat's placeholder and referers, stand-ins learnt at run time, papers that
//! arrive as PDFs (arXiv, OpenReview, DOI), videos, and refreshing a walled host.

mod util;

use util::archive::{FAST, HOSTS, fetch, manifest, object_of, objects, outcome, temp_files};
use util::media::{file, jpeg, pdf, png, png_sized, webp};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree, s};

/// WeChat's CDN as the notes meet it: a placeholder for a foreign Referer, WebP
/// when asked with `tp=webp`, the original at `/0`.
fn wechat_cdn(req: &Req) -> Reply {
    let referer = req.headers.get("referer").map(String::as_str);
    let foreign = referer.is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"));
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    if foreign {
        return Reply::status(200)
            .header("content-type", "image/png")
            .body(png_sized(470, 349, 1));
    }
    match path {
        // Full size: the original; the 640 copy is smaller.
        "/mmbiz_png/full/0" if query.contains("tp=webp") => Reply::status(200).body(webp()),
        "/mmbiz_png/full/0" => Reply::status(200).body(png_sized(1280, 720, 2)),
        "/mmbiz_png/full/640" => Reply::status(200).body(png_sized(640, 360, 3)),
        // No original at /0 for this one.
        "/mmbiz_jpg/only640/640" => Reply::status(200).body(jpeg()),
        // This one answers every request with the placeholder.
        p if p.starts_with("/mmbiz_png/walled/") => Reply::status(200).body(png_sized(470, 349, 1)),
        _ => Reply::status(404),
    }
}

#[test]
fn wechat_images_arrive_as_originals_never_as_the_placeholder() {
    let foreign = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&foreign);
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        if req
            .headers
            .get("referer")
            .is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"))
        {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        wechat_cdn(req)
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![full](https://mmbiz.qpic.cn/mmbiz_png/full/640?wx_fmt=png&tp=webp&wxfrom=5)\n\n\
         ![only](https://mmbiz.qpic.cn/mmbiz_jpg/only640/640?wx_fmt=jpeg)\n\n\
         ![walled](https://mmbiz.qpic.cn/mmbiz_png/walled/640?wx_fmt=png)\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Findings).report();
    // tp=webp dropped, /0 preferred: the full-size PNG, not WebP, not the 640 copy.
    let full = &results["https://mmbiz.qpic.cn/mmbiz_png/full/640?wx_fmt=png&tp=webp&wxfrom=5"];
    assert_eq!(s(full, "outcome"), "fetched", "{full}");
    assert_eq!(
        s(full, "object"),
        object_of(&png_sized(1280, 720, 2), "png")
    );
    // /0 missing: the URL as written.
    let only = &results["https://mmbiz.qpic.cn/mmbiz_jpg/only640/640?wx_fmt=jpeg"];
    assert_eq!(s(only, "object"), object_of(&jpeg(), "jpg"), "{only}");
    // Only ever the placeholder: reported, not archived.
    assert_eq!(
        outcome(
            &results,
            "https://mmbiz.qpic.cn/mmbiz_png/walled/640?wx_fmt=png"
        ),
        ("failed", "placeholder")
    );
    assert!(!objects(&tree).contains(&object_of(&png_sized(470, 349, 1), "png")));
    // The manifest says where the bytes really came from.
    let record = manifest(&tree)
        .into_iter()
        .find(|r| s(r, "url").contains("/full/"))
        .unwrap();
    assert_eq!(
        s(&record, "final_url"),
        "https://mmbiz.qpic.cn/mmbiz_png/full/0?wx_fmt=png&wxfrom=5"
    );
    // The shipped rule sends no Referer first: nothing foreign was sent but the
    // one probe that learns the placeholder.
    assert_eq!(foreign.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_placeholder_learnt_at_run_time_sends_fetch_to_the_next_referer() {
    // This CDN answers a missing Referer with a stand-in of no known size or
    // hash; only its own site's Referer gets the image.
    let stand_in = png_sized(200, 100, 9);
    let fixture = Fixture::start(&["cdn.example.net"], move |req: &Req| {
        match req.headers.get("referer").map(String::as_str) {
            Some("https://www.example.net/") => {
                let seed = req.path.len() as u8;
                Reply::status(200).body(png_sized(800, 600, seed))
            }
            _ => Reply::status(200).body(stand_in.clone()),
        }
    });
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!(
            "{FAST}\n[[sites]]\nname = \"example-cdn\"\nhosts = [\"cdn.example.net\"]\nkind = \"image\"\n\
             referers = [\"none\", \"https://www.example.net/\"]\nplaceholder_probe = \"https://elsewhere.example/\"\n"
        ),
    )
    .file(
        "notes/n.md",
        "![a](https://cdn.example.net/a)\n\n![bb](https://cdn.example.net/bb)\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert_eq!(
        s(&results["https://cdn.example.net/a"], "object"),
        object_of(&png_sized(800, 600, 2), "png")
    );
    assert_eq!(
        s(&results["https://cdn.example.net/bb"], "object"),
        object_of(&png_sized(800, 600, 3), "png")
    );
}

#[test]
fn papers_arrive_as_pdfs() {
    let paper = file(b"%PDF-1.5\n", 91, 5000);
    let meta_pdf = file(b"%PDF-1.6\n", 92, 5000);
    let fixture = Fixture::start(
        &[
            "arxiv.org",
            "openreview.net",
            "doi.org",
            "publisher.example",
            "github.com",
            "raw.githubusercontent.com",
        ],
        move |req: &Req| match (req.host.as_str(), req.path.as_str()) {
            ("arxiv.org", "/pdf/2207.02696v2" | "/pdf/quant-ph/0112019") => Reply::status(200)
                .header("content-type", "application/pdf")
                .body(paper.clone()),
            ("openreview.net", "/forum?id=abc") => Reply::html(
                "<html><head><meta name=\"citation_pdf_url\" content=\"https://openreview.net/pdf?id=abc\"></head></html>",
            ),
            ("openreview.net", "/pdf?id=abc") => Reply::status(200).body(meta_pdf.clone()),
            ("openreview.net", "/forum?id=nopdf") => Reply::html("<html><head></head></html>"),
            ("doi.org", "/10.1000/xyz") => {
                Reply::redirect(302, "https://publisher.example/article/xyz")
            }
            ("publisher.example", "/article/xyz") => {
                Reply::html("<meta name=\"citation_pdf_url\" content=\"/article/xyz.pdf\">")
            }
            ("publisher.example", "/article/xyz.pdf") => Reply::status(200).body(pdf()),
            ("github.com", "/o/r/raw/main/fig.png") => {
                Reply::redirect(302, "https://raw.githubusercontent.com/o/r/main/fig.png")
            }
            ("raw.githubusercontent.com", "/o/r/main/fig.png") => Reply::status(200).body(png(93)),
            _ => Reply::status(404),
        },
    );
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "[v7](https://arxiv.org/abs/2207.02696v2) [old](https://arxiv.org/abs/quant-ph/0112019)\n\n\
         [or](https://openreview.net/forum?id=abc) [none](https://openreview.net/forum?id=nopdf)\n\n\
         [doi](https://doi.org/10.1000/xyz)\n\n\
         ![fig](https://github.com/o/r/blob/main/fig.png)\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Findings).report();
    for (url, bytes) in [
        (
            "https://arxiv.org/abs/2207.02696v2",
            &file(b"%PDF-1.5\n", 91, 5000),
        ),
        (
            "https://arxiv.org/abs/quant-ph/0112019",
            &file(b"%PDF-1.5\n", 91, 5000),
        ),
        (
            "https://openreview.net/forum?id=abc",
            &file(b"%PDF-1.6\n", 92, 5000),
        ),
        ("https://doi.org/10.1000/xyz", &pdf()),
    ] {
        let r = &results[url];
        assert_eq!(s(r, "outcome"), "fetched", "{url}: {r}");
        assert_eq!(s(r, "media_type"), "application/pdf");
        assert_eq!(s(r, "object"), object_of(bytes, "pdf"), "{url}");
    }
    assert_eq!(
        outcome(&results, "https://openreview.net/forum?id=nopdf"),
        ("failed", "no-pdf")
    );
    assert_eq!(
        s(
            &results["https://github.com/o/r/blob/main/fig.png"],
            "object"
        ),
        object_of(&png(93), "png")
    );
    // arXiv's abstract page itself was never asked for.
    assert_eq!(fixture.requests("arxiv.org", "/abs/2207.02696v2"), 0);
}

/// A rule for `cdn.example.net` that learns its stand-in.
fn learning_rule() -> String {
    format!(
        "{FAST}\n[[sites]]\nname = \"example-cdn\"\nhosts = [\"cdn.example.net\"]\nkind = \"image\"\n\
         host_concurrency = 1\nreferers = [\"none\", \"https://www.example.net/\"]\n\
         placeholder_probe = \"https://elsewhere.example/\"\n"
    )
}

/// `cdn.example.net`: the stand-in unless its own site's Referer is sent; a
/// path starting `/0dead` is gone and one starting `/0walled` is always the
/// stand-in (the `0` sorts them first, so learning meets them first).
fn walled_cdn(req: &Req) -> Reply {
    let stand_in = png_sized(200, 100, 9);
    if req.path.starts_with("/0dead") {
        return Reply::status(404);
    }
    if req.path.starts_with("/0walled") {
        return Reply::status(200).body(stand_in);
    }
    match req.headers.get("referer").map(String::as_str) {
        Some("https://www.example.net/") => {
            Reply::status(200).body(png_sized(800, 600, req.path.len() as u8))
        }
        _ => Reply::status(200).body(stand_in),
    }
}

#[test]
fn learning_survives_a_dead_or_walled_first_url() {
    let fixture = Fixture::start(&["cdn.example.net"], walled_cdn);
    let tree = Tree::new();
    tree.file("archiver.toml", learning_rule()).file(
        "notes/n.md",
        "![d](https://cdn.example.net/0dead)\n\n![w](https://cdn.example.net/0walled)\n\n\
         ![a](https://cdn.example.net/a)\n\n![bb](https://cdn.example.net/bb)\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Findings).report();
    assert_eq!(
        outcome(&results, "https://cdn.example.net/0dead"),
        ("failed", "http-404")
    );
    assert_eq!(
        outcome(&results, "https://cdn.example.net/0walled"),
        ("failed", "placeholder")
    );
    assert_eq!(
        s(&results["https://cdn.example.net/a"], "object"),
        object_of(&png_sized(800, 600, 2), "png")
    );
    assert_eq!(
        s(&results["https://cdn.example.net/bb"], "object"),
        object_of(&png_sized(800, 600, 3), "png")
    );
    assert!(!objects(&tree).contains(&object_of(&png_sized(200, 100, 9), "png")));
    assert!(temp_files(&tree).is_empty());
}

#[test]
fn a_host_that_ignores_referers_keeps_every_picture() {
    // Two URLs with the same bytes, one picture the size of WeChat's stand-in:
    // this CDN gives everyone the same, so nothing is a placeholder.
    let fixture = Fixture::start(HOSTS, |req: &Req| {
        let path = req
            .path
            .split_once('?')
            .map_or(req.path.as_str(), |(p, _)| p);
        match path {
            "/mmbiz_png/a/640" | "/mmbiz_png/b/640" => {
                Reply::status(200).body(png_sized(640, 360, 3))
            }
            _ => Reply::status(404),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![a](https://mmbiz.qpic.cn/mmbiz_png/a/640?wx_fmt=png)\n\n\
         ![b](https://mmbiz.qpic.cn/mmbiz_png/b/640?wx_fmt=png)\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    for url in [
        "https://mmbiz.qpic.cn/mmbiz_png/a/640?wx_fmt=png",
        "https://mmbiz.qpic.cn/mmbiz_png/b/640?wx_fmt=png",
    ] {
        assert_eq!(
            s(&results[url], "object"),
            object_of(&png_sized(640, 360, 3), "png")
        );
    }
}

#[test]
fn a_real_picture_the_size_of_the_stand_in_is_kept_once_the_stand_in_is_known() {
    let fixture = Fixture::start(HOSTS, |req: &Req| {
        let foreign = req
            .headers
            .get("referer")
            .is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"));
        if foreign {
            return Reply::status(200).body(png_sized(470, 349, 1));
        }
        let path = req
            .path
            .split_once('?')
            .map_or(req.path.as_str(), |(p, _)| p);
        match path {
            "/mmbiz_png/real/640" => Reply::status(200).body(png_sized(470, 349, 7)),
            _ => Reply::status(404),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![r](https://mmbiz.qpic.cn/mmbiz_png/real/640?wx_fmt=png)\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert_eq!(
        s(
            &results["https://mmbiz.qpic.cn/mmbiz_png/real/640?wx_fmt=png"],
            "object"
        ),
        object_of(&png_sized(470, 349, 7), "png")
    );
}

#[test]
fn a_refused_video_is_asked_again_with_wechat_s_referer() {
    let mp4 = file(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2", 6, 2000);
    let served = mp4.clone();
    let fixture = Fixture::start(&["mpvideo.qpic.cn"], move |req: &Req| {
        match req.headers.get("referer").map(String::as_str) {
            Some("https://mp.weixin.qq.com/") => Reply::status(200).body(served.clone()),
            _ => Reply::status(403),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "<video src=\"https://mpvideo.qpic.cn/0bc3abc.f10002.mp4?dis_k=x&dis_t=1\"></video>\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &["--kinds", "video"])
        .expect(Exit::Success)
        .report();
    let video = &results["https://mpvideo.qpic.cn/0bc3abc.f10002.mp4?dis_k=x&dis_t=1"];
    assert_eq!(s(video, "object"), object_of(&mp4, "mp4"), "{video}");
}

#[test]
fn an_expired_video_says_so() {
    let fixture = Fixture::start(&["mpvideo.qpic.cn"], |_: &Req| Reply::status(403));
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "<video src=\"https://mpvideo.qpic.cn/old.f10002.mp4?dis_k=x&dis_t=1\"></video>\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &["--kinds", "video"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(
        outcome(
            &results,
            "https://mpvideo.qpic.cn/old.f10002.mp4?dis_k=x&dis_t=1"
        ),
        ("failed", "expired")
    );
}

#[test]
fn a_paper_link_that_is_a_pdf_is_asked_once() {
    let fixture = Fixture::start(HOSTS, |req: &Req| match req.path.as_str() {
        "/pdf/2207.02696" => Reply::status(200)
            .header("content-type", "application/pdf")
            .body(pdf()),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "[p](https://arxiv.org/pdf/2207.02696)\n");
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert_eq!(
        s(&results["https://arxiv.org/pdf/2207.02696"], "object"),
        object_of(&pdf(), "pdf")
    );
    assert_eq!(fixture.requests("arxiv.org", "/pdf/2207.02696"), 1);
}

#[test]
fn a_refresh_keeps_the_archived_copy_when_the_origin_is_gone_or_walled() {
    // Phase 1 serves everything; phase 2: /lm.png answers 304 to its date,
    // /gone.png is gone (and has a Wayback capture, which must not be used),
    // /0walled serves the stand-in to everyone.
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let served = std::sync::Arc::clone(&phase);
    let fixture = Fixture::start(
        &["cdn.example.net", "archive.org", "web.archive.org"],
        move |req: &Req| {
            let later = served.load(std::sync::atomic::Ordering::SeqCst) == 2;
            match (req.host.as_str(), req.path.as_str()) {
                ("archive.org", _) => Reply::status(200).body(
                    r#"{"archived_snapshots":{"closest":{"available":true,"status":"200","timestamp":"20200101000000"}}}"#,
                ),
                ("web.archive.org", _) => Reply::status(200).body(png(131)),
                ("cdn.example.net", "/lm.png") => {
                    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
                    if req.headers.get("if-modified-since").map(String::as_str) == Some(date) {
                        Reply::status(304)
                    } else {
                        let seed = if later { 133 } else { 132 };
                        Reply::status(200).header("last-modified", date).body(png(seed))
                    }
                }
                ("cdn.example.net", "/gone.png") if later => Reply::status(404),
                ("cdn.example.net", "/0walled.png") if later => {
                    Reply::status(200).body(png_sized(200, 100, 9))
                }
                _ if later => walled_cdn(req),
                _ => Reply::status(200).body(png_sized(800, 600, req.path.len() as u8)),
            }
        },
    );
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        learning_rule().replace("[fetch]\nwayback = false\n", ""),
    )
    .file(
        "notes/n.md",
        "![](https://cdn.example.net/lm.png)\n\n![](https://cdn.example.net/gone.png)\n\n\
         ![](https://cdn.example.net/0walled.png)\n\n![](https://cdn.example.net/a)\n",
    );
    fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    let before = manifest(&tree);

    phase.store(2, std::sync::atomic::Ordering::SeqCst);
    let Report { results, .. } = fetch(&tree, &fixture, &["--refresh"])
        .expect(Exit::Success)
        .report();
    // The date went along, and 304 kept the copy.
    assert_eq!(
        outcome(&results, "https://cdn.example.net/lm.png"),
        ("present", "")
    );
    // Gone at the origin: the copy stays, the Wayback Machine is not asked.
    assert_eq!(
        outcome(&results, "https://cdn.example.net/gone.png"),
        ("present", "http-404")
    );
    assert_eq!(fixture.requests_to("archive.org"), 0);
    // Walled now: the copy stays, whenever the stand-in was learnt.
    assert_eq!(
        outcome(&results, "https://cdn.example.net/0walled.png"),
        ("present", "placeholder")
    );
    // Nothing the first run archived was lost.
    assert_eq!(manifest(&tree), before);
    let stdout = tree
        .archiver()
        .args(["gc", "--dry-run", "notes"])
        .finish()
        .stdout;
    assert!(stdout.contains("would remove 0 unreferenced"), "{stdout}");
}
