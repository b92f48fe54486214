//! `archiver check` and the pages behind links: which hosts are asked with GET
//! (a rule that reads pages, a host that refuses HEAD), and what a page that
//! answers 200 says about itself.

mod util;

use std::collections::BTreeMap;

use serde_json::Value;
use util::server::{Fixture, Reply, Req};
use util::{Report, Tree, s};

/// Quick retries; no pacing.
const QUICK: &str = "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n";

fn verdict<'a>(results: &'a BTreeMap<String, Value>, url: &str) -> &'a str {
    results.get(url).map_or_else(
        || panic!("no result for {url}: {results:#?}"),
        |r| s(r, "verdict"),
    )
}

#[test]
fn a_rule_with_page_markers_reads_the_page_without_saying_get() {
    let fixture = Fixture::start(&["wiki.example.org"], |req: &Req| match req.path.as_str() {
        "/gone" => Reply::html("<p>This page was deleted by its author.</p>"),
        _ => Reply::html("<p>Hello</p>"),
    });
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!(
            "{QUICK}\n[[sites]]\nname = \"wiki\"\nhosts = [\"wiki.example.org\"]\n\
             gone_markers = [\"was deleted by its author\"]\n"
        ),
    )
    .file(
        "notes/a.md",
        "https://wiki.example.org/gone https://wiki.example.org/live\n",
    );
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "notes"])
        .finish()
        .report();
    assert_eq!(
        verdict(&results, "https://wiki.example.org/gone"),
        "soft-dead"
    );
    assert_eq!(verdict(&results, "https://wiki.example.org/live"), "ok");
    // A HEAD would have answered 200 and shown nothing.
    for path in ["/gone", "/live"] {
        assert_eq!(fixture.methods("wiki.example.org", path), ["GET"], "{path}");
    }
}

#[test]
fn a_200_page_titled_as_not_found_is_soft_dead_where_pages_are_read() {
    let hosts = ["blog.csdn.net", "wiki.example.org", "example.org"];
    let fixture = Fixture::start(&hosts, |req: &Req| {
        match (req.host.as_str(), req.path.as_str()) {
            // A removed post, at its own address.
            ("blog.csdn.net", "/a/article/details/1") => Reply::html(
                "<html><head><title>404</title></head><body>\
                 <div class=\"error\">您访问的页面不存在或已被删除</div></body></html>",
            ),
            // A live post about 404 errors.
            ("blog.csdn.net", "/a/article/details/2") => Reply::html(
                "<html><head><title>nginx 404 Not Found 报错_someone的博客-CSDN博客</title></head>\
                 <body><h1 class=\"title-article\">nginx 404 Not Found 报错</h1>\
                 <div id=\"content_views\"><p>404 Not Found 页面不存在……</p></div></body></html>",
            ),
            ("blog.csdn.net", "/a/article/details/3") => {
                Reply::redirect(302, "https://blog.csdn.net/error/404.html?from=x")
            }
            ("blog.csdn.net", p) if p.starts_with("/error/404") => {
                Reply::html("<title>404</title>")
            }
            ("wiki.example.org", "/gone") => {
                Reply::html("<title>Page not found · Wiki</title><h1>Page not found</h1>")
            }
            ("wiki.example.org", "/heading") => {
                Reply::html("<title>Wiki</title><main><h2>页面不存在</h2></main>")
            }
            // No rule reads this host's pages: its status is all there is.
            _ => Reply::html("<title>404</title>"),
        }
    });
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!(
            "{QUICK}\n[[sites]]\nname = \"wiki\"\nhosts = [\"wiki.example.org\"]\nmethod = \"get\"\n"
        ),
    )
    .file(
        "notes/a.md",
        "https://blog.csdn.net/a/article/details/1\n\
         https://blog.csdn.net/a/article/details/2\n\
         https://blog.csdn.net/a/article/details/3\n\
         https://wiki.example.org/gone https://wiki.example.org/heading\n\
         https://example.org/titled-404\n",
    );
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "notes"])
        .finish()
        .report();
    let deleted = "https://blog.csdn.net/a/article/details/1";
    assert_eq!(verdict(&results, deleted), "soft-dead");
    assert_eq!(s(&results[deleted], "reason"), "the page is titled «404»");
    assert_eq!(
        verdict(&results, "https://blog.csdn.net/a/article/details/2"),
        "ok"
    );
    assert_eq!(
        verdict(&results, "https://blog.csdn.net/a/article/details/3"),
        "soft-dead"
    );
    // The shipped titles serve any rule that reads pages.
    let gone = "https://wiki.example.org/gone";
    assert_eq!(verdict(&results, gone), "soft-dead");
    assert!(s(&results[gone], "reason").contains("Page not found · Wiki"));
    let heading = "https://wiki.example.org/heading";
    assert_eq!(verdict(&results, heading), "soft-dead");
    assert!(s(&results[heading], "reason").contains("页面不存在"));
    assert_eq!(verdict(&results, "https://example.org/titled-404"), "ok");
    assert_eq!(fixture.methods("example.org", "/titled-404"), ["HEAD"]);
    for n in 1..=2 {
        let path = format!("/a/article/details/{n}");
        assert_eq!(fixture.methods("blog.csdn.net", &path), ["GET"], "{path}");
    }
}

#[test]
fn a_host_that_refuses_head_is_asked_with_get_after_a_few_refusals() {
    use std::time::Duration;
    let hosts = [
        "no-head.example.org",
        "no-head-501.example.org",
        "head.example.org",
    ];
    let fixture = Fixture::start(&hosts, |req: &Req| {
        match (req.host.as_str(), req.method.as_str()) {
            // Slow refusals: the first requests are all out before one returns.
            ("no-head.example.org", "HEAD") => Reply::status(405).delay(Duration::from_millis(200)),
            ("no-head-501.example.org", "HEAD") => Reply::status(501),
            _ => Reply::html("<p>here</p>"),
        }
    });
    let urls =
        |host: &str| -> Vec<String> { (0..30).map(|i| format!("https://{host}/p/{i}")).collect() };
    let mut notes = String::new();
    for host in hosts {
        for url in urls(host) {
            notes.push_str(&url);
            notes.push('\n');
        }
    }
    let tree = Tree::new();
    // The 501 host is asked one URL at a time; the others eight at once.
    tree.file(
        "archiver.toml",
        format!(
            "{QUICK}\n[[sites]]\nname = \"one-at-a-time\"\nhosts = [\"no-head-501.example.org\"]\nhost_concurrency = 1\n"
        ),
    )
    .file("notes/a.md", notes);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "--host-concurrency", "8", "notes"])
        .finish()
        .report();
    let methods = |host: &str| -> Vec<String> {
        (0..30)
            .flat_map(|i| fixture.methods(host, &format!("/p/{i}")))
            .collect()
    };
    for host in hosts {
        for url in urls(host) {
            assert_eq!(verdict(&results, &url), "ok", "{url}");
        }
    }
    for host in ["no-head.example.org", "no-head-501.example.org"] {
        let sent = methods(host);
        let heads = sent.iter().filter(|m| *m == "HEAD").count();
        assert!(
            (1..=3).contains(&heads),
            "{host}: {heads} HEADs in {sent:?}"
        );
        assert_eq!(sent.len(), 30 + heads, "{host}: one GET per URL: {sent:?}");
    }
    // A host that answers HEAD keeps being asked with it.
    assert_eq!(methods("head.example.org"), vec!["HEAD"; 30]);
}
