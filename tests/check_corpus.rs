//! `archiver check` on every URL of the real notes, each host imitated by the
//! fixture server with its real behaviour (WeChat's deletion notices, CSDN's 404
//! redirect, GitHub refusing HEAD, bot walls), and each URL live or dead by a fixed
//! rule. No live link may be reported failing, and no dead one may pass.

mod util;

use std::collections::BTreeSet;

use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, corpus, links_in, s};

/// Whether the URL at `host` + `path` is dead in this imitation: about one in
/// seven, by a hash both the server and the test compute. An arXiv paper is
/// dead or alive whichever page of it is asked (abstract, PDF, the API).
fn is_dead(host: &str, path: &str) -> bool {
    let key = match paper_id(host, path) {
        Some(id) => format!("arxiv:{id}"),
        None => format!("{host}{path}"),
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash.is_multiple_of(7)
}

/// The arXiv id (without version) of an abstract or PDF path.
fn paper_id(host: &str, path: &str) -> Option<String> {
    if !host.ends_with("arxiv.org") {
        return None;
    }
    let id = path
        .strip_prefix("/abs/")
        .or_else(|| path.strip_prefix("/pdf/"))?;
    let id = id.trim_end_matches('/').trim_end_matches(".pdf");
    Some(strip_version(id).to_owned())
}

fn strip_version(id: &str) -> &str {
    match id.rfind('v') {
        Some(at) if at + 1 < id.len() && id[at + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            &id[..at]
        }
        _ => id,
    }
}

/// arXiv's query API: an Atom entry for each id that lives.
fn arxiv_api(path: &str) -> Reply {
    let ids = path
        .split_once("id_list=")
        .map(|(_, rest)| rest.split('&').next().unwrap_or_default())
        .unwrap_or_default();
    let mut feed = String::from("<feed xmlns=\"http://www.w3.org/2005/Atom\">");
    for id in ids
        .split(',')
        .filter(|id| !is_dead("arxiv.org", &format!("/abs/{id}")))
    {
        let id = strip_version(id);
        feed.push_str(&format!(
            "<entry><id>http://arxiv.org/abs/{id}v1</id><link title=\"pdf\" href=\"http://arxiv.org/pdf/{id}v1\"/></entry>"
        ));
    }
    feed.push_str("</feed>");
    Reply::status(200)
        .header("content-type", "application/atom+xml")
        .body(feed)
}

/// Hosts that stand behind bot walls or sign their links: their verdict says
/// nothing about life or death, so it must be `blocked` or `expired`.
fn walled(host: &str) -> Option<&'static str> {
    match host {
        h if h.ends_with("bilibili.com") => Some("blocked"),
        h if h.ends_with("zhihu.com") => Some("blocked"),
        "mpvideo.qpic.cn" => Some("expired"),
        _ => None,
    }
}

fn imitate(req: &Req) -> Reply {
    if let Some(wall) = walled(&req.host) {
        // Signed links and zhihu answer 403, bilibili 412.
        let bilibili = wall == "blocked" && req.host.ends_with("bilibili.com");
        return Reply::status(if bilibili { 412 } else { 403 });
    }
    let dead = is_dead(&req.host, &req.path);
    match req.host.as_str() {
        "export.arxiv.org" if req.path.starts_with("/api/query") => arxiv_api(&req.path),
        "mp.weixin.qq.com" if dead => {
            Reply::html("<div class=\"weui-msg\"><p>此内容因违规无法查看</p></div>")
        }
        "mp.weixin.qq.com" => Reply::html("<div id=\"js_content\"><p>正文</p></div>"),
        "blog.csdn.net" if req.path.starts_with("/error/404") => Reply::html("not found"),
        "blog.csdn.net" if dead => {
            Reply::redirect(302, "https://blog.csdn.net/error/404.html?from=x")
        }
        "github.com" if req.method == "HEAD" => Reply::status(405),
        _ if dead => Reply::status(404),
        _ => Reply::html("<p>live</p>"),
    }
}

#[test]
fn no_live_link_fails_and_no_dead_one_passes() {
    let Some(dir) = corpus() else { return };
    let links = links_in(&dir, &["--unique", "."]);
    let urls: BTreeSet<String> = links
        .iter()
        .map(|l| s(l, "url").split('#').next().unwrap_or_default().to_owned())
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect();
    let hosts: BTreeSet<String> = urls
        .iter()
        .filter_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_owned))
        .collect();
    assert!(
        urls.len() > 1500 && hosts.len() > 50,
        "{} URLs on {} hosts",
        urls.len(),
        hosts.len()
    );
    let mut host_list: Vec<&str> = hosts.iter().map(String::as_str).collect();
    host_list.push("export.arxiv.org");
    let fixture = Fixture::start(&host_list, imitate);

    // The shipped rules, with the intervals shortened (the shipped ones would make
    // this run take minutes; their values have their own test).
    let tree = util::Tree::new();
    let config = util::quick_rules(&[
        "wechat-article",
        "arxiv",
        "arxiv-api",
        "github",
        "github-raw",
    ]);
    tree.file("archiver.toml", &config);

    let Report { results, .. } = tree
        .archiver()
        .args(["check", "--format", "json"])
        .args(fixture.args())
        .arg(dir.join("."))
        .expect(Exit::Findings)
        .report();

    let mut checked = 0;
    let mut dead_seen = 0;
    for url in &urls {
        let parsed = url::Url::parse(url).unwrap();
        let host = parsed.host_str().unwrap();
        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let Some(result) = results.get(url.as_str()) else {
            panic!("no result for {url}");
        };
        let verdict = s(result, "verdict");
        if let Some(wall) = walled(host) {
            assert_eq!(verdict, wall, "{url}: {result}");
            continue;
        }
        checked += 1;
        if is_dead(host, &path) {
            dead_seen += 1;
            assert!(
                matches!(verdict, "dead" | "soft-dead"),
                "a dead link passed: {url}: {result}"
            );
        } else {
            assert!(
                matches!(verdict, "ok" | "redirected"),
                "a live link failed: {url}: {result}"
            );
        }
    }
    assert!(
        checked > 1000 && dead_seen > 100,
        "{checked} checked, {dead_seen} dead"
    );
    // Politeness held on the busiest host.
    assert!(fixture.most_in_flight("mp.weixin.qq.com") <= 2);
    // arXiv's papers were asked through its API, a hundred at a time.
    let papers = urls
        .iter()
        .filter(|u| u.contains("arxiv.org/abs/") || u.contains("arxiv.org/pdf/"))
        .count();
    assert!(papers > 300, "{papers}");
    let api = fixture.requests_to("export.arxiv.org");
    assert!(
        api >= 1 && api <= papers.div_ceil(100) + 1,
        "{api} API requests"
    );
    assert!(
        fixture.requests_to("arxiv.org") < papers / 10,
        "{} requests to arxiv.org",
        fixture.requests_to("arxiv.org")
    );
}
