//! `archiver check` against the fixture server, which imitates the real hosts of
//! the notes on their real names.

mod util;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use util::server::{Fixture, Reply, Req};
use util::{Tree, archiver_in, s};

/// A config that keeps test runs short: quick retries, no pacing except where a
/// test wants the shipped one.
const FAST: &str = "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n\n[[sites]]\nname = \"wechat-article\"\nhosts = [\"mp.weixin.qq.com\"]\nkind = \"article\"\nmethod = \"get\"\ngone_markers = [\"该内容已被发布者删除\", \"此内容因违规无法查看\"]\nblocked_markers = [\"环境异常\"]\nblocked_redirects = [\"/mp/wappoc_appmsgcaptcha\"]\nmoved_markers = [\"该公众号已迁移\"]\nmoved_target = \"transferTargetLink\\\\s*=\\\\s*'([^']+)'\"\n\n[[sites]]\nname = \"arxiv\"\nhosts = [\"arxiv.org\"]\nkind = \"paper\"\n";

/// Runs `archiver check --format json` in `tree` against `fixture`; the exit
/// code and the results by URL.
fn check(tree: &Tree, fixture: &Fixture, extra: &[&str]) -> (i32, Value, BTreeMap<String, Value>) {
    let output = archiver_in(tree.path())
        .args(["check", "--format", "json"])
        .args(fixture.args())
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let results = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(r, "url").to_owned(), r.clone()))
        .collect();
    (output.status.code().unwrap_or(-1), doc, results)
}

fn verdict<'a>(results: &'a BTreeMap<String, Value>, url: &str) -> &'a str {
    results.get(url).map_or_else(
        || panic!("no result for {url}: {results:#?}"),
        |r| s(r, "verdict"),
    )
}

const HOSTS: &[&str] = &[
    "mp.weixin.qq.com",
    "arxiv.org",
    "github.com",
    "blog.csdn.net",
    "www.bilibili.com",
    "zhuanlan.zhihu.com",
    "mpvideo.qpic.cn",
    "mmbiz.qpic.cn",
    "example.org",
];

fn sites(req: &Req) -> Reply {
    match (req.host.as_str(), req.path.as_str()) {
        ("mp.weixin.qq.com", "/s/live") => Reply::html("<div id=\"js_content\">正文 YOLOv6</div>"),
        ("mp.weixin.qq.com", "/s/deleted") => {
            Reply::html("<div class=\"weui-msg\"><p>该内容已被发布者删除</p></div>")
        }
        ("mp.weixin.qq.com", "/s/moved") => Reply::html(
            "<p>该公众号已迁移</p><script>var transferTargetLink = 'https://mp.weixin.qq.com/s/new-home';</script>",
        ),
        ("mp.weixin.qq.com", "/s/busy") => {
            Reply::redirect(302, "/mp/wappoc_appmsgcaptcha?poc_token=x&target_url=y")
        }
        ("mp.weixin.qq.com", p) if p.starts_with("/mp/wappoc_appmsgcaptcha") => {
            Reply::html("当前环境异常，完成验证后即可继续访问")
        }
        ("arxiv.org", "/abs/2207.02696") => Reply::html("<title>YOLOv7</title>"),
        ("arxiv.org", _) => Reply::status(404),
        // GitHub refuses HEAD here: the checker must ask again with GET.
        ("github.com", _) if req.method == "HEAD" => Reply::status(405),
        ("github.com", "/WongKinYiu/yolov7") => Reply::html("repo"),
        ("blog.csdn.net", "/x/article/details/1") => {
            Reply::redirect(302, "https://blog.csdn.net/error/404.html?from=x")
        }
        ("blog.csdn.net", p) if p.starts_with("/error/404") => Reply::html("404"),
        ("www.bilibili.com", _) => Reply::status(412),
        ("zhuanlan.zhihu.com", _) => Reply::status(403),
        ("mpvideo.qpic.cn", _) => Reply::status(403),
        ("mmbiz.qpic.cn", _) => Reply::status(200).header("content-type", "image/png"),
        ("example.org", "/loop") => Reply::redirect(302, "/loop2"),
        ("example.org", "/loop2") => Reply::redirect(301, "/loop"),
        ("example.org", p) if p.starts_with("/chain/") => {
            let n: usize = p["/chain/".len()..].parse().unwrap_or(0);
            Reply::redirect(302, &format!("/chain/{}", n + 1))
        }
        ("example.org", "/moved-permanently") => Reply::redirect(301, "/new"),
        ("example.org", "/new") => Reply::html("new"),
        ("example.org", "/slow") => Reply::html("late").delay(Duration::from_secs(3)),
        ("example.org", "/flaky") if req.nth == 0 => Reply::status(503),
        ("example.org", "/flaky") => Reply::html("fine now"),
        ("example.org", "/gone") => Reply::status(410),
        _ => Reply::status(404),
    }
}

#[test]
fn each_behaviour_gets_its_verdict() {
    let fixture = Fixture::start(HOSTS, sites);
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/0710.md",
        "# 笔记\n\
         1. [live](https://mp.weixin.qq.com/s/live) [deleted](https://mp.weixin.qq.com/s/deleted)\n\
         2. [moved](https://mp.weixin.qq.com/s/moved) [busy](https://mp.weixin.qq.com/s/busy)\n\
         3. [paper](https://arxiv.org/abs/2207.02696) [missing](https://arxiv.org/abs/9999.99999)\n\
         4. [code](https://github.com/WongKinYiu/yolov7) [csdn](https://blog.csdn.net/x/article/details/1)\n\
         5. [bili](https://www.bilibili.com/video/BV1) [zhihu](https://zhuanlan.zhihu.com/p/1)\n\
         <video src=\"http://mpvideo.qpic.cn/v.f10003.mp4?dis_k=1\"></video>\n\
         <img src=\"https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png\">\n\
         6. [loop](https://example.org/loop) [chain](https://example.org/chain/0) [moved](https://example.org/moved-permanently)\n\
         7. [slow](https://example.org/slow) [flaky](https://example.org/flaky) [gone](https://example.org/gone)\n\
         8. [here](./0711.md) [nowhere](./missing.md) [empty]() [mail](mailto:a@b.org)\n\
         9. [ignored](https://example.org/gone-but-ignored) <!-- archiver-ignore -->\n",
    ).file("notes/0711.md", "again: [live](https://mp.weixin.qq.com/s/live)\n");

    let (code, doc, results) = check(&tree, &fixture, &["--timeout", "1", "notes"]);
    let expected = [
        ("https://mp.weixin.qq.com/s/live", "ok"),
        ("https://mp.weixin.qq.com/s/deleted", "soft-dead"),
        ("https://mp.weixin.qq.com/s/moved", "moved"),
        ("https://mp.weixin.qq.com/s/busy", "blocked"),
        ("https://arxiv.org/abs/2207.02696", "ok"),
        ("https://arxiv.org/abs/9999.99999", "dead"),
        ("https://github.com/WongKinYiu/yolov7", "ok"),
        ("https://blog.csdn.net/x/article/details/1", "soft-dead"),
        ("https://www.bilibili.com/video/BV1", "blocked"),
        ("https://zhuanlan.zhihu.com/p/1", "blocked"),
        ("http://mpvideo.qpic.cn/v.f10003.mp4?dis_k=1", "expired"),
        ("https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png", "ok"),
        ("https://example.org/loop", "dead"),
        ("https://example.org/chain/0", "dead"),
        ("https://example.org/moved-permanently", "redirected"),
        ("https://example.org/slow", "timeout"),
        ("https://example.org/flaky", "ok"),
        ("https://example.org/gone", "dead"),
        ("notes/0711.md", "ok"),
        ("notes/missing.md", "local-missing"),
        ("", "invalid"),
        ("mailto:a@b.org", "unsupported"),
        ("https://example.org/gone-but-ignored", "excluded"),
    ];
    for (url, want) in expected {
        assert_eq!(verdict(&results, url), want, "{url}: {:#}", results[url]);
    }
    assert_eq!(results.len(), expected.len(), "{results:#?}");
    assert_eq!(code, 2, "dead links make the exit status 2");

    // What supports each verdict.
    let moved = &results["https://mp.weixin.qq.com/s/moved"];
    assert_eq!(s(moved, "moved_to"), "https://mp.weixin.qq.com/s/new-home");
    assert_eq!(
        s(
            &results["https://example.org/moved-permanently"],
            "final_url"
        ),
        "https://example.org/new"
    );
    assert_eq!(results["https://arxiv.org/abs/9999.99999"]["status"], 404);
    assert!(
        s(&results["https://mp.weixin.qq.com/s/deleted"], "reason")
            .contains("该内容已被发布者删除")
    );
    assert_eq!(
        results["https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png"]["flags"],
        serde_json::json!(["hotlink-protected"])
    );
    // Each URL once, however many notes cite it; retries and redirects aside.
    let live = &results["https://mp.weixin.qq.com/s/live"];
    assert_eq!(live["occurrences"].as_array().unwrap().len(), 2);
    assert_eq!(fixture.requests("mp.weixin.qq.com", "/s/live"), 1);
    assert_eq!(fixture.requests("arxiv.org", "/abs/2207.02696"), 1);
    // HEAD refused, then GET.
    assert_eq!(
        fixture.methods("github.com", "/WongKinYiu/yolov7"),
        ["HEAD", "GET"]
    );
    // 503 then 200: retried once.
    assert_eq!(fixture.requests("example.org", "/flaky"), 2);
    // The redirect chain stops after 10 redirects.
    assert_eq!(fixture.requests("example.org", "/chain/10"), 1);
    assert_eq!(fixture.requests("example.org", "/chain/11"), 0);
    // Summary counts.
    let summary = &doc["summary"];
    assert_eq!(summary["urls"], expected.len());
    assert_eq!(summary["by_verdict"]["dead"], 4);
}
