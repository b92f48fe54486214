//! Checking through a site's API, many links per request: arXiv's query API
//! and GitHub's REST API, against the fixture server standing in for them.

mod util;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree};

/// The shipped arXiv rules, the API's interval set to `interval`.
fn arxiv_config(interval: &str) -> String {
    let mut doc: toml::Table = util::quick_rules(&["arxiv", "arxiv-api"]).parse().unwrap();
    for rule in doc["sites"].as_array_mut().unwrap() {
        let rule = rule.as_table_mut().unwrap();
        if rule["name"].as_str() == Some("arxiv-api") {
            rule.insert("min_interval".into(), interval.into());
        }
    }
    toml::to_string(&doc).unwrap()
}

/// A request as the server saw it: host, path, Authorization.
type Seen = (String, String, Option<String>);

#[test]
fn five_hundred_papers_take_five_api_requests_spaced_by_the_interval() {
    const INTERVAL: Duration = Duration::from_secs(1);
    let starts: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let too_soon = Arc::new(Mutex::new(0));
    let (log, early) = (Arc::clone(&starts), Arc::clone(&too_soon));
    let fixture = Fixture::start(&["arxiv.org", "export.arxiv.org"], move |req: &Req| {
        if req.host != "export.arxiv.org" {
            return Reply::status(500);
        }
        let now = Instant::now();
        let mut log = log.lock().unwrap();
        // A client that does not wait its turn gets what arXiv gives it.
        if log
            .last()
            .is_some_and(|last| now.duration_since(*last) < INTERVAL)
        {
            *early.lock().unwrap() += 1;
            return Reply::status(429);
        }
        log.push(now);
        let ids = req
            .path
            .split_once("id_list=")
            .map(|(_, r)| r.split('&').next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let mut feed = String::from("<feed xmlns=\"http://www.w3.org/2005/Atom\">");
        for id in ids.split(',') {
            let n: u32 = id.rsplit('.').next().unwrap_or("0").parse().unwrap_or(0);
            if !n.is_multiple_of(25) {
                feed.push_str(&format!("<entry><id>http://arxiv.org/abs/{id}v2</id><link title=\"pdf\" href=\"http://arxiv.org/pdf/{id}v2\"/></entry>"));
            }
        }
        feed.push_str("</feed>");
        Reply::status(200).body(feed)
    });
    let tree = Tree::new();
    let mut notes = String::new();
    for n in 1..=500 {
        notes.push_str(&format!("- [paper](https://arxiv.org/abs/2301.{n:05})\n"));
    }
    tree.file("archiver.toml", arxiv_config("1s"))
        .file("notes/papers.md", notes);

    // Twenty papers are missing.
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "notes"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(results.len(), 500);
    for (url, result) in &results {
        let n: u32 = url.rsplit('.').next().unwrap().parse().unwrap();
        let expected = if n.is_multiple_of(25) { "dead" } else { "ok" };
        assert_eq!(result["verdict"], expected, "{url}: {result}");
    }
    assert_eq!(
        results["https://arxiv.org/abs/2301.00001"]["pdf_url"],
        "https://arxiv.org/pdf/2301.00001v2"
    );
    let starts = starts.lock().unwrap();
    assert!(
        starts.len() <= 500_usize.div_ceil(100),
        "{} API requests",
        starts.len()
    );
    assert_eq!(
        *too_soon.lock().unwrap(),
        0,
        "no request came within the interval"
    );
    assert_eq!(
        fixture.requests_to("arxiv.org"),
        0,
        "no paper was asked one by one"
    );
}

#[test]
fn papers_the_api_cannot_answer_for_are_asked_one_by_one() {
    let fixture = Fixture::start(&["arxiv.org", "export.arxiv.org"], |req: &Req| {
        match (req.host.as_str(), req.path.as_str()) {
            ("export.arxiv.org", _) => Reply::status(503),
            (_, "/abs/2301.00002") => Reply::status(404),
            _ => Reply::html("<p>abstract</p>"),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", arxiv_config("0s")).file(
        "notes/p.md",
        "[a](https://arxiv.org/abs/2301.00001) [b](https://arxiv.org/abs/2301.00002)\n",
    );
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "notes"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(results["https://arxiv.org/abs/2301.00001"]["verdict"], "ok");
    assert_eq!(
        results["https://arxiv.org/abs/2301.00002"]["verdict"],
        "dead"
    );
    assert!(fixture.requests_to("export.arxiv.org") >= 1);
    assert_eq!(fixture.requests("arxiv.org", "/abs/2301.00001"), 1);
}

#[test]
fn github_repositories_go_through_the_api_with_the_token_and_the_token_nowhere_else() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    let fixture = Fixture::start(
        &["github.com", "api.github.com", "elsewhere.example.org"],
        move |req: &Req| {
            log.lock().unwrap().push((
                req.host.clone(),
                req.path.clone(),
                req.headers.get("authorization").cloned(),
            ));
            let repo = |name: &str| {
                Reply::status(200).body(format!(
                    "{{\"full_name\":\"{name}\",\"html_url\":\"https://github.com/{name}\"}}"
                ))
            };
            match (req.host.as_str(), req.path.as_str()) {
                ("api.github.com", "/repos/a/live") => repo("a/live"),
                ("api.github.com", "/repos/a/renamed") => {
                    Reply::redirect(301, "https://api.github.com/repositories/42")
                }
                ("api.github.com", "/repositories/42") => repo("b/new-name"),
                // Sent back to clear text: the token must not follow.
                ("api.github.com", "/repos/a/plain") => {
                    Reply::redirect(302, "http://api.github.com/repos/a/plain-text")
                }
                ("api.github.com", "/repos/a/plain-text") => repo("a/plain"),
                ("api.github.com", "/repos/a/away") => {
                    Reply::redirect(302, "https://elsewhere.example.org/repos/a/away")
                }
                ("elsewhere.example.org", _) => repo("a/away"),
                ("api.github.com", _) => Reply::status(404),
                ("github.com", "/a/gone") => Reply::status(404),
                ("github.com", _) if req.method == "HEAD" => Reply::status(405),
                _ => Reply::html("<p>repository</p>"),
            }
        },
    );
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        util::quick_rules(&["github", "github-api"]),
    )
    .file(
        "notes/code.md",
        "[live](https://github.com/a/live) [gone](https://github.com/a/gone) \
         [renamed](https://github.com/a/renamed) [away](https://github.com/a/away) \
         [plain](https://github.com/a/plain) \
         [topic](https://github.com/topics/rust) [issues](https://github.com/a/live/issues)\n",
    );

    // Without a token: every link is asked on github.com, none through the API.
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "notes"])
        .finish()
        .report();
    assert_eq!(results["https://github.com/a/gone"]["verdict"], "dead");
    assert_eq!(fixture.requests_to("api.github.com"), 0);

    seen.lock().unwrap().clear();
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "notes"])
        .env("GITHUB_TOKEN", "s3cret")
        .expect(Exit::Findings)
        .report();
    let verdict = |u: &str| results[u]["verdict"].as_str().unwrap().to_owned();
    assert_eq!(verdict("https://github.com/a/live"), "ok");
    assert_eq!(verdict("https://github.com/a/gone"), "dead");
    assert_eq!(verdict("https://github.com/a/renamed"), "redirected");
    assert_eq!(
        results["https://github.com/a/renamed"]["final_url"],
        "https://github.com/b/new-name"
    );
    for u in ["https://github.com/a/live", "https://github.com/a/gone"] {
        assert!(
            results[u]["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "api"),
            "{u}"
        );
    }
    let seen = seen.lock().unwrap();
    let with_token: Vec<&Seen> = seen.iter().filter(|(_, _, auth)| auth.is_some()).collect();
    assert!(!with_token.is_empty());
    for (host, path, auth) in &with_token {
        assert_eq!(host, "api.github.com", "the token went to {host}{path}");
        assert_ne!(
            path, "/repos/a/plain-text",
            "the token went out in clear text"
        );
        assert_eq!(auth.as_deref(), Some("Bearer s3cret"));
    }
    // The API sent one repository elsewhere: it was asked there without the
    // token, and the repository was then checked the usual way or there.
    assert!(
        seen.iter()
            .any(|(h, _, auth)| h == "elsewhere.example.org" && auth.is_none())
    );
    assert!(
        seen.iter()
            .any(|(_, p, auth)| p == "/repos/a/plain-text" && auth.is_none()),
        "the clear-text hop was asked, without the token"
    );
    // Reserved names and deeper pages are not repositories: asked on github.com.
    assert!(
        seen.iter()
            .any(|(h, p, _)| h == "github.com" && p == "/topics/rust")
    );
    assert!(
        seen.iter()
            .any(|(h, p, _)| h == "github.com" && p == "/a/live/issues")
    );
    assert!(
        !seen
            .iter()
            .any(|(h, p, _)| h == "api.github.com" && p.contains("topics"))
    );
}

#[test]
fn fetch_takes_a_paper_from_the_pdf_the_api_named() {
    let fixture = Fixture::start(&["arxiv.org", "export.arxiv.org"], |req: &Req| {
        match (req.host.as_str(), req.path.as_str()) {
            ("export.arxiv.org", _) => Reply::status(200).body(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>\
                 <id>http://arxiv.org/abs/2301.00001v3</id>\
                 <link title=\"pdf\" href=\"http://arxiv.org/pdf/2301.00001v3\"/></entry></feed>",
            ),
            ("arxiv.org", "/pdf/2301.00001v3") => Reply::status(200)
                .header("content-type", "application/pdf")
                .body(b"%PDF-1.5\n% the third version\n%%EOF\n"),
            _ => Reply::status(404),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", arxiv_config("0s"))
        .file("notes/p.md", "[paper](https://arxiv.org/abs/2301.00001)\n");
    tree.archiver()
        .args(["check", "notes"])
        .args(fixture.args())
        .expect(Exit::Success);
    tree.archiver()
        .args([
            "fetch",
            "--kinds",
            "paper",
            "--no-wayback",
            "--format",
            "json",
            "notes",
        ])
        .args(fixture.args())
        .expect(Exit::Success);
    assert_eq!(fixture.requests("arxiv.org", "/pdf/2301.00001v3"), 1);
    assert_eq!(fixture.requests("arxiv.org", "/pdf/2301.00001"), 0);
    assert_eq!(fixture.requests("arxiv.org", "/abs/2301.00001"), 0);
}

#[test]
fn a_slow_api_answer_proves_the_network_up_among_dead_domains() {
    // Nine dead domains fail at once; the API takes longer than the grace a
    // run gives the network to show it is up. Its answer must count: the
    // papers are checked and the domains are dead, not "the network is down".
    let fixture = Fixture::start(&["arxiv.org", "export.arxiv.org"], |req: &Req| {
        if req.host != "export.arxiv.org" {
            return Reply::status(500);
        }
        let mut feed = String::from("<feed xmlns=\"http://www.w3.org/2005/Atom\">");
        for id in ["2101.00001", "2101.00002"] {
            feed.push_str(&format!(
                "<entry><id>http://arxiv.org/abs/{id}v1</id><link title=\"pdf\" href=\"http://arxiv.org/pdf/{id}v1\"/></entry>"
            ));
        }
        feed.push_str("</feed>");
        Reply::status(200).body(feed).delay(Duration::from_secs(7))
    });
    let tree = Tree::new();
    let mut note: String = (0..9)
        .map(|i| format!("[{i}](https://host{i}.invalid/)\n"))
        .collect();
    note.push_str("https://arxiv.org/abs/2101.00001\nhttps://arxiv.org/abs/2101.00002\n");
    tree.file("archiver.toml", arxiv_config("1s"))
        .file("notes/n.md", &note);
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "notes"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(results["https://arxiv.org/abs/2101.00001"]["verdict"], "ok");
    assert_eq!(results["https://host0.invalid/"]["verdict"], "dead");
    assert_eq!(fixture.requests_to("arxiv.org"), 0);
}
