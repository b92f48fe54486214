//! How runs pace themselves against what hosts answer: a burst of 429s counts
//! once and slows the host down, a retry's wait leaves the other hosts their
//! global slots, a host given up on says so, and a machine without a network is
//! told from a few dead domains. Every assertion is on the fixture server's
//! request log (what came, in which order, how many were in flight), never on
//! the clock.

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use util::server::{Fixture, Gate, Reply, Req};
use util::{Exit, Ran, Tree, s};

/// Quick retries; no interval unless a test sets one.
const QUICK: &str = "[network]\nretry_delay = \"20ms\"\ntimeout = \"10s\"\n";

/// Long enough for any of these runs; a hung one fails its test.
const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_burst_of_429s_is_one_pause_and_the_host_is_then_asked_more_slowly() {
    // The host answers a first HEAD at once (until a host has answered one,
    // only a few HEADs go to it together). Then eight requests reach it
    // together and are answered together: four with 429 and Retry-After: 1,
    // four with the page. Everything after is answered, a little slowly, so
    // that requests pile up if the pace allows.
    let gate = Gate::new(8);
    let arrived = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&arrived);
    let fixture = Fixture::start(&["example.org"], move |_: &Req| {
        match count.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::html("ok"),
            1..5 => Reply::status(429).header("retry-after", "1").gate(&gate),
            5..9 => Reply::html("ok").gate(&gate),
            _ => Reply::html("ok").delay(Duration::from_millis(100)),
        }
    });
    let tree = Tree::new();
    let note: String = (0..12)
        .map(|i| format!("[{i}](https://example.org/{i})\n"))
        .collect();
    tree.file("archiver.toml", QUICK).file("n.md", &note);
    let ran = tree
        .check(&fixture)
        .args(["--no-state", "--host-concurrency", "8", "n.md"])
        .timeout(LIMIT)
        .finish();
    let code = ran.code();
    let results = ran.report().results;
    let stderr = ran.stderr;

    // One pause, not four (four were more than the run bears, and the host
    // was given up on): every URL is judged on its page.
    assert_eq!(results.len(), 12);
    for (url, result) in &results {
        assert_eq!(s(result, "verdict"), "ok", "{url}: {result}\n{stderr}");
    }
    assert_eq!(code, 0, "{stderr}");
    let arrivals = fixture.arrivals();
    assert_eq!(arrivals[8].in_flight, 8, "the burst: {arrivals:#?}");
    let limited: Vec<&str> = arrivals
        .iter()
        .filter(|a| a.status == 429)
        .map(|a| a.path.as_str())
        .collect();
    assert_eq!(limited.len(), 4, "{arrivals:#?}");
    for path in &limited {
        assert_eq!(fixture.requests("example.org", path), 2, "{path}");
    }
    assert_eq!(
        arrivals.len(),
        16,
        "each URL once, the four retried once: {arrivals:#?}"
    );
    // After the 429s, at most half as many in flight as before.
    let after: Vec<usize> = arrivals[9..].iter().map(|a| a.in_flight).collect();
    assert!(
        after.iter().all(|n| *n <= 4),
        "in flight after the burst: {after:?}"
    );
}

#[test]
fn fetch_takes_a_burst_of_429s_as_one_pause_too() {
    // As above, for downloads: twelve images, the first four requests
    // answered 429 together.
    let gate = Gate::new(8);
    let arrived = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&arrived);
    let image = |seed: u8| {
        let mut body = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        body.extend((0..2000u32).map(|i| (i as u8).wrapping_mul(seed)));
        Reply::status(200)
            .header("content-type", "image/png")
            .body(body)
    };
    let fixture = Fixture::start(&["img.example.org"], move |req: &Req| {
        let seed = req.path.len() as u8;
        match count.fetch_add(1, Ordering::SeqCst) {
            0..4 => Reply::status(429).header("retry-after", "1").gate(&gate),
            4..8 => image(seed).gate(&gate),
            _ => image(seed).delay(Duration::from_millis(100)),
        }
    });
    let tree = Tree::new();
    let note: String = (0..12)
        .map(|i| format!("![{i}](https://img.example.org/{i}.png)\n"))
        .collect();
    tree.file(
        "archiver.toml",
        format!("{QUICK}\n[fetch]\nwayback = false\n"),
    )
    .file("notes/n.md", &note);
    let results = tree
        .archiver()
        .args([
            "fetch",
            "--format",
            "json",
            "--host-concurrency",
            "8",
            "notes",
        ])
        .args(fixture.args())
        .timeout(LIMIT)
        .expect(Exit::Success)
        .report()
        .results;
    assert_eq!(results.len(), 12);
    for (url, result) in &results {
        assert_eq!(s(result, "outcome"), "fetched", "{url}: {result}");
    }
    let arrivals = fixture.arrivals();
    assert_eq!(arrivals.iter().filter(|a| a.status == 429).count(), 4);
    assert!(
        arrivals[8..].iter().all(|a| a.in_flight <= 4),
        "{arrivals:#?}"
    );
}

#[test]
fn a_retry_waiting_its_backoff_leaves_the_other_hosts_their_slots() {
    // Four requests at once over all hosts. Each of flaky.example's four URLs
    // is answered 503 once, then retried after a backoff of 2 to 4 s; while
    // they wait, steady.example's requests must have all four slots.
    let fixture = Fixture::start(&["flaky.example", "steady.example"], |req: &Req| {
        match (req.host.as_str(), req.nth) {
            ("flaky.example", 0) => Reply::status(503),
            ("flaky.example", _) => Reply::html("ok"),
            _ => Reply::html("ok").delay(Duration::from_millis(300)),
        }
    });
    let tree = Tree::new();
    let mut note = String::new();
    for i in 0..4 {
        note.push_str(&format!("[f{i}](https://flaky.example/{i})\n"));
    }
    for i in 0..40 {
        note.push_str(&format!("[s{i}](https://steady.example/{i})\n"));
    }
    tree.file(
        "archiver.toml",
        "[network]\nretry_delay_5xx = \"4s\"\ntimeout = \"10s\"\n",
    )
    .file("n.md", &note);
    let ran = tree
        .check(&fixture)
        .args(["--no-state", "--max-concurrency", "4", "n.md"])
        .timeout(LIMIT)
        .finish();
    let code = ran.code();
    let results = ran.report().results;
    let stderr = ran.stderr;
    assert!(
        results.values().all(|r| s(r, "verdict") == "ok"),
        "{results:#?}\n{stderr}"
    );
    assert_eq!(code, 0);

    // The wait: from the last of flaky.example's first tries to its first retry.
    let arrivals = fixture.arrivals();
    let flaky = |a: &&util::server::Arrival| a.host == "flaky.example";
    let last_first_try = arrivals
        .iter()
        .rposition(|a| flaky(&a) && a.nth == 0)
        .unwrap();
    let first_retry = arrivals
        .iter()
        .position(|a| flaky(&a) && a.nth > 0)
        .unwrap();
    assert!(last_first_try < first_retry, "{arrivals:#?}");
    let steady_meanwhile: Vec<usize> = arrivals[last_first_try..first_retry]
        .iter()
        .filter(|a| a.host == "steady.example")
        .map(|a| a.in_flight)
        .collect();
    assert_eq!(
        steady_meanwhile.iter().max(),
        Some(&4),
        "steady.example's requests in flight while flaky.example's retries waited: {steady_meanwhile:?}"
    );
}

#[test]
fn a_host_given_up_on_after_many_pauses_says_so() {
    // Every answer is a 429 asking for a pause of 1 s: the first URL uses its
    // retries; by the fourth pause the run gives up on the host.
    let fixture = Fixture::start(&["example.org"], |_: &Req| {
        Reply::status(429).header("retry-after", "1")
    });
    let tree = Tree::new();
    let note: String = (0..6)
        .map(|i| format!("[{i}](https://example.org/{i})\n"))
        .collect();
    tree.file("archiver.toml", QUICK).file("n.md", &note);
    let ran = tree
        .check(&fixture)
        .args(["--no-state", "--host-concurrency", "1", "n.md"])
        .timeout(LIMIT)
        .finish();
    let code = ran.code();
    let results = ran.report().results;
    let stderr = ran.stderr;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        results.values().all(|r| s(r, "verdict") == "blocked"),
        "{results:#?}"
    );
    let gave_up: Vec<&Value> = results
        .values()
        .filter(|r| s(r, "reason").contains("gave up on it"))
        .collect();
    assert!(!gave_up.is_empty(), "{results:#?}");
    // It asked for 1 s each time, never to be left alone for minutes.
    assert!(
        results
            .values()
            .all(|r| !s(r, "reason").contains("asked to be left alone")),
        "{results:#?}"
    );
    assert_eq!(
        fixture.requests_to("example.org"),
        4,
        "four pauses, then no more requests"
    );
}

/// A paper host like arXiv, its API a hundred ids a request, on names that
/// do not exist.
const PAPERS: &str = r#"
[[sites]]
name = "papers"
hosts = ["papers.invalid"]
kind = "paper"
batch = { api = "arxiv", endpoint = "https://export.papers.invalid/api/query", size = 100, id = "^https://papers\\.invalid/abs/([0-9]{4}\\.[0-9]{5})$" }
"#;

/// Checks `n.md` of `tree` where no canary name resolves, and asserts that
/// the run says the network looks down.
fn says_the_network_is_down(tree: &Tree) -> Ran {
    let ran = tree.check_offline().timeout(LIMIT).expect(Exit::Error);
    assert!(
        ran.stderr.contains("the network looks down"),
        "{}",
        ran.stderr
    );
    ran
}

#[test]
fn a_small_run_on_a_machine_without_a_network_says_so() {
    // Eight URLs on four dead domains, and a hundred and twenty papers whose
    // API is as unreachable: with a canary name that does not resolve either,
    // the network is down, whatever the run's size.
    let tree = Tree::new();
    let mut note: String = (0..8)
        .map(|i| format!("[{i}](https://host{}.invalid/{i})\n", i % 4))
        .collect();
    for i in 0..120 {
        note.push_str(&format!(
            "[p{i}](https://papers.invalid/abs/2207.{:05})\n",
            10_000 + i
        ));
    }
    tree.file("archiver.toml", PAPERS).file("n.md", &note);
    let ran = says_the_network_is_down(&tree);
    let stderr = &ran.stderr;
    assert!(
        stderr.contains("canary.invalid does not resolve"),
        "{stderr}"
    );
    // Short: no debugging text, no list of the ids asked about.
    assert!(stderr.lines().count() <= 2, "{stderr}");
    for noise in ["id_list", "2207.10", "NoSuchHost", "Resolve(", "{"] {
        assert!(!stderr.contains(noise), "{noise}: {stderr}");
    }
    assert!(ran.stdout.is_empty(), "no links declared dead");

    // The same dead domains while names resolve: dead links.
    tree.file(
        "n.md",
        (0..8)
            .map(|i| format!("[{i}](https://host{}.invalid/{i})\n", i % 4))
            .collect::<String>(),
    );
    tree.archiver()
        .args(["check", "--no-state", "n.md"])
        .env("ARCHIVER_CANARY", "canary.invalid,localhost")
        .expect(Exit::Findings)
        .stdout_has("8 dead");
}

#[test]
fn api_requests_cut_short_by_a_network_down_stop_are_not_reported() {
    // Four batches of papers, asked 3 s apart, a few dead domains and a host
    // paced to a request a second, on a machine where no name resolves: the
    // run stops before the last batches go out, and says only that the
    // network looks down.
    let tree = Tree::new();
    let mut note = util::dead_and_paced_note(4);
    for i in 0..350 {
        note.push_str(&format!(
            "[p{i}](https://papers.invalid/abs/2207.{:05})\n",
            10_000 + i
        ));
    }
    let api = "\n[[sites]]\nname = \"papers-api\"\nhosts = [\"export.papers.invalid\"]\nmin_interval = \"3s\"\nhost_concurrency = 1\n\n";
    tree.file("archiver.toml", format!("{PAPERS}{api}{}", util::SLOW_SITE))
        .file("n.md", &note);
    let stderr = says_the_network_is_down(&tree).stderr;
    assert!(!stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.lines().count() <= 2, "{stderr}");
}

#[test]
fn blocked_repository_links_say_what_a_token_would_do() {
    let fixture = Fixture::start(&["github.com"], |req: &Req| {
        if req.path == "/a/walled" {
            Reply::status(429)
        } else {
            Reply::html("repository")
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK).file(
        "n.md",
        "[walled](https://github.com/a/walled) [live](https://github.com/b/live)\n",
    );
    let ran = tree
        .check(&fixture)
        .args(["--no-state", "n.md"])
        .timeout(LIMIT)
        .finish();
    let results = ran.report().results;
    let stderr = ran.stderr;
    assert_eq!(
        s(&results["https://github.com/a/walled"], "verdict"),
        "blocked"
    );
    assert!(
        stderr.contains("1 link of site rule `github` ended blocked")
            && stderr.contains("GITHUB_TOKEN"),
        "{stderr}"
    );
    // Nothing blocked, nothing to say.
    tree.file("n.md", "[live](https://github.com/b/live)\n");
    let stderr = tree
        .check(&fixture)
        .args(["--no-state", "n.md"])
        .timeout(LIMIT)
        .finish()
        .stderr;
    assert!(!stderr.contains("GITHUB_TOKEN"), "{stderr}");
}
