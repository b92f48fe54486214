//! `archiver check` against the fixture server, which imitates the real hosts of
//! the notes on their real names.

mod util;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree, s};

/// A config that keeps test runs short: quick retries, and the shipped rules for
/// WeChat articles and arXiv without their pacing (the shipped intervals have
/// their own test). arXiv's abstract pages are asked one by one, as a rule
/// without a batch API would: the batch path has its own tests (tests/batch.rs).
fn fast() -> String {
    let mut doc: toml::Table = util::quick_rules(&["wechat-article", "arxiv"])
        .parse()
        .unwrap();
    doc["network"]
        .as_table_mut()
        .unwrap()
        .insert("timeout".into(), "5s".into());
    for rule in doc["sites"].as_array_mut().unwrap() {
        let rule = rule.as_table_mut().unwrap();
        if rule["name"].as_str() == Some("arxiv") {
            rule.remove("batch");
        }
    }
    toml::to_string(&doc).unwrap()
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
    tree.file("archiver.toml", fast()).file(
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

    // Dead links make the exit status 2.
    let Report { doc, results, .. } = tree
        .check(&fixture)
        .args(["--timeout", "1", "notes"])
        .expect(Exit::Findings)
        .report();
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
    // HTTPS spoke HTTP/2, as the server offered it.
    assert!(
        fixture.versions().iter().any(|v| v == "HTTP/2.0"),
        "{:?}",
        fixture.versions()
    );
    // Summary counts.
    let summary = &doc["summary"];
    assert_eq!(summary["urls"], expected.len());
    assert_eq!(summary["by_verdict"]["dead"], 4);
}

/// Gaps between consecutive request starts to `host`.
fn gaps(fixture: &Fixture, host: &str) -> Vec<Duration> {
    let starts = fixture.starts(host);
    starts
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .collect()
}

#[test]
fn no_host_ever_has_more_than_its_limit_in_flight() {
    // Every request is held 150 ms, so concurrency shows; redirects count too.
    let fixture = Fixture::start(&["example.org", "example.net"], |req: &Req| {
        if req.path.starts_with("/hop/") {
            Reply::redirect(302, &req.path.replace("/hop/", "/page/"))
                .delay(Duration::from_millis(150))
        } else {
            Reply::html("ok").delay(Duration::from_millis(150))
        }
    });
    let tree = Tree::new();
    let mut note = String::new();
    for i in 0..24 {
        note.push_str(&format!(
            "[a{i}](https://example.org/hop/{i}) [b{i}](https://example.net/page/{i})\n"
        ));
    }
    tree.file("archiver.toml", fast()).file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--host-concurrency", "3", "n.md"])
        .expect(Exit::Success)
        .report();
    assert!(
        results
            .values()
            .all(|r| matches!(s(r, "verdict"), "ok" | "redirected"))
    );
    for host in ["example.org", "example.net"] {
        assert_eq!(fixture.most_in_flight(host), 3, "{host}");
    }
    // 24 redirects plus 24 pages on one host, 24 pages on the other.
    assert_eq!(fixture.requests_to("example.org"), 48);
    assert_eq!(fixture.requests_to("example.net"), 24);
}

#[test]
fn a_slow_host_first_in_the_notes_does_not_hold_up_the_others() {
    // The note cites a slow host 8 times, then a fast one 8 times (and the
    // slow host's URLs sort first too, so any order puts them first). With 4
    // places and 2 per host, the slow host can use only 2: the fast host's
    // links must take the other 2 at once, not wait behind the slow host's
    // queue (which would take its second round, 800 ms later).
    let fixture = Fixture::start(&["a-slow.example", "b-fast.example"], |req: &Req| {
        if req.host == "a-slow.example" {
            Reply::html("ok").delay(Duration::from_millis(800))
        } else {
            Reply::html("ok")
        }
    });
    let tree = Tree::new();
    let mut note = String::new();
    for host in ["a-slow.example", "b-fast.example"] {
        for i in 0..8 {
            note.push_str(&format!("- <https://{host}/{i}>\n"));
        }
    }
    tree.file("archiver.toml", fast()).file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--max-concurrency", "4", "--host-concurrency", "2", "n.md"])
        .expect(Exit::Success)
        .report();
    assert_eq!(results.len(), 16);
    let (slow, fast) = (
        fixture.starts("a-slow.example"),
        fixture.starts("b-fast.example"),
    );
    assert_eq!((slow.len(), fast.len()), (8, 8));
    assert!(
        fast.iter().max() < slow.get(2),
        "the fast host waited for the slow one's second round: slow starts {slow:?}, fast {fast:?}"
    );
}

#[test]
fn a_rule_s_headers_go_to_its_hosts_over_https_and_nowhere_else() {
    // bilibili's shipped rule sends $BILIBILI_COOKIE; its wall lets a request
    // through with the cookie only.
    // (host, path, Cookie) of every request.
    type Seen = Vec<(String, String, Option<String>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = Arc::clone(&seen);
    let fixture = Fixture::start(&["www.bilibili.com", "example.org"], move |req: &Req| {
        let cookie = req.headers.get("cookie").cloned();
        log.lock()
            .unwrap()
            .push((req.host.clone(), req.path.clone(), cookie.clone()));
        match (req.host.as_str(), req.path.as_str()) {
            ("www.bilibili.com", "/away") => Reply::redirect(302, "https://example.org/landing"),
            // The host's own cookie, set on the way, goes along with the rule's.
            // Its path keeps it to that page: the other URLs, asked at the same
            // time, in whatever order, get the rule's cookie alone.
            ("www.bilibili.com", "/setter") => {
                Reply::redirect(302, "/video/BV2").header("set-cookie", "sid=1; Path=/video/BV2")
            }
            ("www.bilibili.com", "/video/BV2") => match cookie.as_deref() {
                Some("sid=1; buvid3=abc") => Reply::html("video"),
                _ => Reply::status(412),
            },
            ("www.bilibili.com", _) if cookie.as_deref() == Some("buvid3=abc") => {
                Reply::html("video")
            }
            ("www.bilibili.com", _) => Reply::status(412),
            _ => Reply::html("elsewhere"),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", fast()).file(
        "n.md",
        "https://www.bilibili.com/video/BV1\n\
         https://www.bilibili.com/setter\n\
         https://www.bilibili.com/away\n\
         http://www.bilibili.com/plain\n",
    );
    let run = |cookie: Option<&str>| {
        let mut run = tree
            .check(&fixture)
            .args(["--no-state", "n.md"])
            .env_remove("BILIBILI_COOKIE");
        if let Some(cookie) = cookie {
            run = run.env("BILIBILI_COOKIE", cookie);
        }
        run.finish().report().results
    };

    let without = run(None);
    assert_eq!(
        verdict(&without, "https://www.bilibili.com/video/BV1"),
        "blocked"
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|(_, _, c)| !c.as_deref().unwrap_or_default().contains("buvid3"))
    );

    seen.lock().unwrap().clear();
    let with = run(Some("buvid3=abc"));
    assert_eq!(verdict(&with, "https://www.bilibili.com/video/BV1"), "ok");
    assert_eq!(
        verdict(&with, "https://www.bilibili.com/setter"),
        "redirected"
    );
    let seen = seen.lock().unwrap();
    let cookie_of = |host: &str, path: &str| -> Vec<Option<String>> {
        seen.iter()
            .filter(|(h, p, _)| h == host && p == path)
            .map(|(_, _, c)| c.clone())
            .collect()
    };
    let sent = Some("buvid3=abc".to_owned());
    assert!(
        cookie_of("www.bilibili.com", "/video/BV1")
            .iter()
            .all(|c| *c == sent)
    );
    assert!(
        cookie_of("www.bilibili.com", "/away")
            .iter()
            .all(|c| *c == sent)
    );
    // Not to the host a redirect leads to, not over clear-text HTTP.
    let landing = cookie_of("example.org", "/landing");
    assert!(
        !landing.is_empty() && landing.iter().all(Option::is_none),
        "{seen:?}"
    );
    let plain = cookie_of("www.bilibili.com", "/plain");
    assert!(
        !plain.is_empty() && plain.iter().all(Option::is_none),
        "{seen:?}"
    );
}

#[test]
fn the_shipped_intervals_keep_wechat_and_arxiv_under_their_limits() {
    // No fast() config: the shipped rules, with their intervals.
    let fixture = Fixture::start(&["mp.weixin.qq.com", "arxiv.org"], |req: &Req| {
        if req.host == "arxiv.org" {
            Reply::html("<title>paper</title>")
        } else {
            Reply::html("<div id=\"js_content\">正文</div>")
        }
    });
    let tree = Tree::new();
    let mut note = String::new();
    for i in 0..8 {
        note.push_str(&format!(
            "[w{i}](https://mp.weixin.qq.com/s/article{i}) [p{i}](https://arxiv.org/abs/2207.0{i:04})\n"
        ));
    }
    tree.file("n.md", &note);
    tree.check(&fixture)
        .args(["n.md"])
        .expect(Exit::Success)
        .report();
    // WeChat shows a verification page beyond about 5 requests a second, arXiv
    // answers 429 beyond 4: no two starts closer than 1/5 s and 1/4 s.
    for (host, limit_per_second) in [("mp.weixin.qq.com", 5.0), ("arxiv.org", 4.0)] {
        assert_eq!(fixture.starts(host).len(), 8, "{host}");
        for gap in gaps(&fixture, host) {
            assert!(
                gap.as_secs_f64() >= 1.0 / limit_per_second,
                "{host}: {gap:?}"
            );
        }
    }
}

#[test]
fn retry_after_holds_the_whole_host() {
    // The first request to the host is answered 429 with Retry-After: 1; every
    // request after it, to any path, must wait that second.
    let fixture = Fixture::start(&["example.org"], |req: &Req| {
        if req.path == "/a" && req.nth == 0 {
            Reply::status(429).header("retry-after", "1")
        } else {
            Reply::html("ok")
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", fast())
        .file("n.md", "[a](https://example.org/a)\n");
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--host-concurrency", "1", "n.md"])
        .expect(Exit::Success)
        .report();
    assert_eq!(verdict(&results, "https://example.org/a"), "ok");
    assert_eq!(fixture.requests("example.org", "/a"), 2);
    let gap = gaps(&fixture, "example.org")[0];
    assert!(gap >= Duration::from_secs(1), "{gap:?}");

    // Always 429: blocked, after the bounded retries.
    let storm = Fixture::start(&["example.org"], |_: &Req| {
        Reply::status(429).header("retry-after", "0")
    });
    // Blocked is not a failure by default.
    let Report { results, .. } = tree
        .check(&storm)
        .args(["n.md"])
        .expect(Exit::Success)
        .report();
    assert_eq!(verdict(&results, "https://example.org/a"), "blocked");
    assert_eq!(
        storm.requests("example.org", "/a"),
        3,
        "the first try and 2 retries"
    );
}

#[test]
fn network_failures_are_told_apart() {
    let fixture = Fixture::start(&["example.org"], |_: &Req| Reply::html("ok"));
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let tree = Tree::new();
    tree.file("archiver.toml", fast()).file(
        "n.md",
        "[ok](https://example.org/) [refused](https://refused.example/) [nxdomain](https://no-such-host.invalid/)\n",
    );
    let refused = format!("refused.example:443=127.0.0.1:{closed_port}");
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--connect-to", &refused, "n.md"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(verdict(&results, "https://example.org/"), "ok");
    assert_eq!(verdict(&results, "https://refused.example/"), "dead");
    assert!(s(&results["https://refused.example/"], "reason").contains("refused"));
    assert_eq!(verdict(&results, "https://no-such-host.invalid/"), "dead");
}

#[test]
fn an_untrusted_certificate_is_an_error_not_a_dead_link() {
    let fixture = Fixture::start(&["example.org"], |_: &Req| Reply::html("ok"));
    let tree = Tree::new();
    tree.file("archiver.toml", fast())
        .file("n.md", "[a](https://example.org/)\n");
    // The same server, without trusting its CA.
    let args: Vec<String> = fixture.args().into_iter().skip(2).collect();
    // An error is not in the default --fail-on.
    let doc = tree
        .archiver()
        .args(["check", "--format", "json"])
        .args(&args)
        .arg("n.md")
        .expect(Exit::Success)
        .json();
    let result = &doc["results"][0];
    assert_eq!(s(result, "verdict"), "error");
    assert!(s(result, "reason").contains("TLS"), "{result}");
}

/// Checks, where no canary name resolves, a note citing `dead` dead domains
/// and twenty URLs of a host paced to one request a second; asserts the run
/// says the network looks down, and why. Returns its stderr, with the debug
/// log (each request to the paced host is logged as it goes out).
fn offline_with_a_paced_host(dead: usize) -> String {
    let tree = Tree::new();
    tree.file("archiver.toml", util::SLOW_SITE)
        .file("n.md", util::dead_and_paced_note(dead));
    let stderr = tree
        .check_offline()
        .env("ARCHIVER_LOG", "archiver=debug")
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("network looks down"), "{stderr}");
    assert!(
        stderr.contains("canary.invalid does not resolve"),
        "{stderr}"
    );
    stderr
}

/// How many requests went to the paced host of [`offline_with_a_paced_host`].
fn paced_asked(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("https://slow.invalid/") && l.contains("HEAD with"))
        .count()
}

#[test]
fn without_a_resolver_a_paced_host_does_not_hold_up_the_verdict() {
    // Nine dead domains, and twenty paced URLs still to go when the grace
    // time is over: the run stops then, instead of waiting a request's
    // timeout for the paced URLs.
    let stderr = offline_with_a_paced_host(9);
    let asked = paced_asked(&stderr);
    assert!((1..12).contains(&asked), "{asked} asked:\n{stderr}");
}

#[test]
fn without_a_resolver_a_few_paced_hosts_are_not_asked_to_the_end() {
    // Two dead domains: too few hosts to tell by counting, but no canary name
    // resolves. The run stops once the grace time is over, not after asking
    // all twenty paced URLs.
    let stderr = offline_with_a_paced_host(2);
    let asked = paced_asked(&stderr);
    assert!((1..12).contains(&asked), "{asked} asked:\n{stderr}");
}

#[test]
fn when_no_host_answers_the_network_is_down_not_the_links() {
    let tree = Tree::new();
    let many: String = (0..9)
        .map(|i| format!("[{i}](https://host{i}.invalid/)\n"))
        .collect();
    tree.file("many.md", &many);
    tree.archiver()
        .args(["check", "many.md"])
        .expect(Exit::Error)
        .stderr_has("network looks down");

    // A few dead domains are dead links, not a dead network.
    tree.file(
        "few.md",
        "[a](https://a.invalid/) [b](https://b.invalid/) [c](https://c.invalid/)\n",
    );
    tree.archiver()
        .args(["check", "few.md"])
        .expect(Exit::Findings)
        .stdout_has("3 dead");
}

#[test]
fn a_slow_live_host_among_many_dead_domains_proves_the_network_up() {
    let fixture = Fixture::start(&["example.org"], |_: &Req| {
        Reply::html("ok").delay(Duration::from_millis(800))
    });
    let tree = Tree::new();
    let mut note: String = (0..9)
        .map(|i| format!("[{i}](https://host{i}.invalid/)\n"))
        .collect();
    note.push_str("[live](https://example.org/)\n");
    tree.file("archiver.toml", fast()).file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["n.md"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(verdict(&results, "https://example.org/"), "ok");
    assert_eq!(verdict(&results, "https://host0.invalid/"), "dead");
}

#[test]
fn odd_but_live_servers_are_not_failed() {
    let fixture = Fixture::start(&["example.org"], |req: &Req| match req.path.as_str() {
        // Raw UTF-8 in Location, as Chinese sites send it.
        "/utf8" => Reply::redirect(302, "/页面"),
        p if p.starts_with("/%E9%A1%B5%E9%9D%A2") => Reply::html("found"),
        // A redirect back to itself that sets a cookie, then the page.
        "/cookie"
            if req
                .headers
                .get("cookie")
                .is_some_and(|c| c.contains("seen=1")) =>
        {
            Reply::html("welcome")
        }
        "/cookie" => Reply::redirect(302, "/cookie").header("set-cookie", "seen=1; Path=/"),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", fast()).file(
        "n.md",
        "[a](https://example.org/utf8) [b](https://example.org/cookie)\n",
    );
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["n.md"])
        .expect(Exit::Success)
        .report();
    assert_eq!(
        verdict(&results, "https://example.org/utf8"),
        "redirected",
        "{results:#?}"
    );
    // It ends where it began.
    assert_eq!(
        verdict(&results, "https://example.org/cookie"),
        "ok",
        "{results:#?}"
    );
}

#[test]
fn a_retry_after_longer_than_allowed_blocks_the_host_without_asking_again() {
    let fixture = Fixture::start(&["example.org"], |_: &Req| {
        Reply::status(429).header("retry-after", "3600")
    });
    let tree = Tree::new();
    let note: String = (0..10)
        .map(|i| format!("[{i}](https://example.org/{i})\n"))
        .collect();
    tree.file("archiver.toml", fast()).file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--host-concurrency", "1", "n.md"])
        .expect(Exit::Success)
        .report();
    assert!(
        results.values().all(|r| s(r, "verdict") == "blocked"),
        "{results:#?}"
    );
    assert_eq!(
        fixture.requests_to("example.org"),
        1,
        "one 429 is enough to stop asking"
    );
}

#[test]
fn text_report_lists_problems_by_note_and_urls_can_be_given_directly() {
    let fixture = Fixture::start(&["example.org"], |req: &Req| {
        if req.path == "/gone" {
            Reply::status(404)
        } else {
            Reply::html("ok")
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", fast()).file(
        "a.md",
        "fine: https://example.org/ok\n\nbad: [x](https://example.org/gone)\n",
    );
    let text = tree
        .archiver()
        .arg("check")
        .args(fixture.args())
        .arg("a.md")
        .expect(Exit::Findings)
        .stdout;
    assert!(text.starts_with("2 URLs (2 links) checked in "), "{text}");
    assert!(text.contains(": 1 ok, 1 dead\n"), "{text}");
    assert!(
        text.contains(
            "\na.md\n  3:10  dead           https://example.org/gone  [new]  (HTTP 404)\n"
        ),
        "{text}"
    );
    assert!(!text.contains("/ok"), "live links are not listed: {text}");

    // A URL on the command line; --fail-on decides the status.
    tree.archiver()
        .arg("check")
        .args(fixture.args())
        .args(["--fail-on", "timeout", "https://example.org/gone"])
        .expect(Exit::Success)
        .stdout_has("(command line)");
}

#[test]
fn exclusions_from_patterns_flags_and_the_ignore_file() {
    let fixture = Fixture::start(&["example.org"], |_: &Req| Reply::status(404));
    let tree = Tree::new();
    tree.file("archiver.toml", fast())
        .file(".archiverignore", "# known dead, kept for history\n^https://example\\.org/old/\n")
        .file(
            "n.md",
            "[a](https://example.org/old/1) [b](https://example.org/tmp/2) [c](https://example.org/live/3)\n",
        );
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--exclude", "/tmp/", "n.md"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(verdict(&results, "https://example.org/old/1"), "excluded");
    assert!(s(&results["https://example.org/old/1"], "reason").contains("old"));
    assert_eq!(verdict(&results, "https://example.org/tmp/2"), "excluded");
    assert_eq!(verdict(&results, "https://example.org/live/3"), "dead");
    assert_eq!(
        fixture.requests_to("example.org"),
        1,
        "excluded URLs are not asked"
    );
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--include", "/live/", "n.md"])
        .finish()
        .report();
    assert_eq!(verdict(&results, "https://example.org/tmp/2"), "excluded");
}

#[test]
#[cfg(unix)]
fn sigterm_stops_the_run_with_a_partial_report() {
    let fixture = Fixture::start(&["example.org"], |req: &Req| {
        if req.path == "/fast" {
            Reply::html("ok")
        } else {
            Reply::html("late").delay(Duration::from_secs(30))
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", "[network]\ntimeout = \"60s\"\n").file(
        "n.md",
        "[a](https://example.org/fast) [b](https://example.org/slow) [c](https://example.org/slower)\n",
    );
    let child = util::archiver_process(tree.path())
        .args(["check", "--format", "json"])
        .args(fixture.args())
        .arg("n.md")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the fast link is answered and the slow ones are in flight.
    let waited = std::time::Instant::now();
    while fixture.requests("example.org", "/slower") == 0
        && waited.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["summary"]["interrupted"], true);
    let urls: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| s(r, "url"))
        .collect();
    assert_eq!(urls, ["https://example.org/fast"]);
}

#[test]
fn the_deadline_runs_from_the_first_request_not_from_the_queue() {
    // Eight URLs on a host paced 300 ms apart take over 2 s in all; each URL's 1 s
    // deadline must not count the time spent waiting for its turn.
    let fixture = Fixture::start(&["example.org"], |_: &Req| Reply::html("ok"));
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        "[network]\ndeadline = \"1s\"\n\n[[sites]]\nname = \"paced\"\nhosts = [\"example.org\"]\nmin_interval = \"300ms\"\n",
    );
    let note: String = (0..8)
        .map(|i| format!("[{i}](https://example.org/{i})\n"))
        .collect();
    tree.file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["n.md"])
        .expect(Exit::Success)
        .report();
    assert!(
        results.values().all(|r| s(r, "verdict") == "ok"),
        "{results:#?}"
    );
    // Starts are 300 ms apart at the client; arrivals may be a little closer (the
    // first request also sets up the connection).
    for gap in gaps(&fixture, "example.org") {
        assert!(gap >= Duration::from_millis(250), "{gap:?}");
    }
}

#[test]
fn output_goes_to_a_file_and_a_summary_to_stderr() {
    let fixture = Fixture::start(&["example.org"], |req: &Req| {
        if req.path == "/gone" {
            Reply::status(404)
        } else {
            Reply::html("ok")
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", fast()).file(
        "a.md",
        "[x](https://example.org/gone) [y](https://example.org/ok)\n",
    );
    for (format, marker) in [
        ("sarif", "\"version\": \"2.1.0\""),
        ("junit", "<testsuites"),
        ("markdown", "## Link check"),
        ("github", "::error file=a.md,line=1,col=5"),
    ] {
        let out = tree.path().join(format!("report.{format}"));
        tree.archiver()
            .arg("check")
            .args(fixture.args())
            .args(["--format", format, "--output"])
            .arg(&out)
            .arg("a.md")
            .expect(Exit::Findings)
            .stdout_is("")
            .stderr_has("2 URLs (2 links) checked");
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(written.contains(marker), "{format}: {written}");
    }
}

#[test]
fn redirect_hops_do_not_queue_behind_other_urls() {
    // Twenty URLs on a paced host, each redirecting once on the same host: the
    // hops keep their URL's place, so none of them runs out its 1 s deadline
    // though the whole run takes about 4 s.
    let fixture = Fixture::start(&["example.org"], |req: &Req| {
        if req.path.starts_with("/from/") {
            Reply::redirect(301, &req.path.replace("/from/", "/to/"))
        } else {
            Reply::html("ok")
        }
    });
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        "[network]\ndeadline = \"1s\"\n\n[[sites]]\nname = \"paced\"\nhosts = [\"example.org\"]\nmin_interval = \"100ms\"\nhost_concurrency = 2\n",
    );
    let note: String = (0..20)
        .map(|i| format!("[{i}](https://example.org/from/{i})\n"))
        .collect();
    tree.file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["n.md"])
        .expect(Exit::Success)
        .report();
    assert!(
        results.values().all(|r| s(r, "verdict") == "redirected"),
        "{results:#?}"
    );
    assert!(fixture.most_in_flight("example.org") <= 2);
}

#[test]
fn exclusions_cover_local_links_and_ignored_occurrences_are_not_listed() {
    let fixture = Fixture::start(&["example.org"], |_: &Req| Reply::status(404));
    let tree = Tree::new();
    tree.file("archiver.toml", fast()).file(
        "n.md",
        "[draft](drafts/missing.md)\n\n[gone](https://example.org/gone)\n\n[gone again](https://example.org/gone) <!-- archiver-ignore -->\n",
    );
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--exclude", "^drafts/", "n.md"])
        .finish()
        .report();
    assert_eq!(verdict(&results, "drafts/missing.md"), "excluded");
    let gone = &results["https://example.org/gone"];
    assert_eq!(s(gone, "verdict"), "dead");
    let lines: Vec<u64> = gone["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3], "the ignored line is not listed");
}

#[test]
fn rate_limits_that_cannot_be_waited_out_are_blocked_not_timeouts() {
    // One host answers every request 429 with a Retry-After of 2^64-1 seconds
    // (no crash), another 429 with a pause longer than the URLs' deadline.
    let fixture = Fixture::start(
        &["huge.example", "slow.example", "ok.example"],
        |req: &Req| match req.host.as_str() {
            "huge.example" => Reply::status(429).header("retry-after", "18446744073709551615"),
            "slow.example" => Reply::status(429).header("retry-after", "6"),
            _ => Reply::html("ok"),
        },
    );
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        "[network]\ndeadline = \"3s\"\nmax_retry_after = \"30s\"\nretry_delay = \"20ms\"\n",
    );
    let note: String = (0..3)
        .map(|i| format!("[h{i}](https://huge.example/{i}) [s{i}](https://slow.example/{i})\n"))
        .chain(std::iter::once("[ok](https://ok.example/)\n".to_owned()))
        .collect();
    tree.file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--host-concurrency", "1", "n.md"])
        .expect(Exit::Success)
        .report();
    assert_eq!(results.len(), 7, "no URL vanishes: {results:#?}");
    for (url, result) in &results {
        let want = if url.contains("ok.example") {
            "ok"
        } else {
            "blocked"
        };
        assert_eq!(s(result, "verdict"), want, "{url}: {result}");
    }
    assert_eq!(fixture.requests_to("huge.example"), 1);
}

#[test]
fn a_trailing_dot_is_the_same_host_for_politeness() {
    let fixture = Fixture::start(&["example.org"], |_: &Req| {
        Reply::html("ok").delay(Duration::from_millis(100))
    });
    let tree = Tree::new();
    tree.file("archiver.toml", fast());
    let note: String = (0..6)
        .map(|i| format!("[a{i}](https://example.org/{i}) [b{i}](https://example.org./{i}b)\n"))
        .collect();
    tree.file("n.md", &note);
    tree.check(&fixture)
        .args(["--host-concurrency", "2", "n.md"])
        .expect(Exit::Success)
        .report();
    assert!(
        fixture.most_in_flight("example.org") <= 2,
        "{}",
        fixture.most_in_flight("example.org")
    );
}

#[test]
fn answers_count_as_they_come_for_the_network_down_test() {
    // Nine dead domains fail at once; the live host only answers with a
    // redirect after 3 s, then its page after 3 more: the network is up.
    let fixture = Fixture::start(&["live.example"], |req: &Req| {
        if req.path == "/start" {
            Reply::redirect(302, "/end").delay(Duration::from_secs(3))
        } else {
            Reply::html("ok").delay(Duration::from_secs(3))
        }
    });
    let tree = Tree::new();
    let mut note: String = (0..9)
        .map(|i| format!("[{i}](https://host{i}.invalid/)\n"))
        .collect();
    note.push_str("[live](https://live.example/start)\n");
    tree.file("archiver.toml", fast()).file("n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--timeout", "10", "n.md"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(
        verdict(&results, "https://live.example/start"),
        "redirected"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_progress_bar_is_drawn_on_a_terminal_and_nowhere_else() {
    // Slow answers, one at a time per host, keep the run long enough to draw.
    let fixture = Fixture::start(&["example.org", "github.com"], |req: &Req| {
        let reply = if req.path == "/gone" {
            Reply::status(404)
        } else {
            Reply::html("ok")
        };
        reply.delay(Duration::from_millis(150))
    });
    let tree = Tree::new();
    let mut note = String::from("[gone](https://example.org/gone)\n");
    for i in 0..6 {
        note.push_str(&format!(
            "[a](https://example.org/{i}) [b](https://github.com/{i})\n"
        ));
    }
    tree.file("archiver.toml", fast()).file("a.md", note);
    let mut args = vec![
        "check".to_owned(),
        "--host-concurrency".to_owned(),
        "1".to_owned(),
    ];
    args.extend(fixture.args());
    args.push("a.md".to_owned());

    let (code, drawn) = util::stderr_on_a_terminal(tree.path(), &args);
    assert_eq!(code, Some(2), "one link is dead");
    assert!(drawn.contains("/13 URLs"), "no done/total: {drawn:?}");
    assert!(drawn.contains("/s"), "no rate: {drawn:?}");
    assert!(
        drawn.contains("example.org ×1") || drawn.contains("github.com ×1"),
        "no host in flight: {drawn:?}"
    );

    // The same run with stderr on a pipe draws nothing: no bar, no cursor moves.
    let stderr = tree.archiver().args(&args).finish().stderr;
    assert!(!stderr.contains("URLs,"), "a bar on a pipe: {stderr:?}");
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes on a pipe: {stderr:?}"
    );
}
