//! `check`'s memory across runs: the state database, history in reports,
//! `--max-age`, `--only-new`, baselines, `--changed-since`, and the `history`
//! and `report` commands.

mod util;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree, archiver_in};

const FAST: &str = "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\nretries = 0\n";

/// A server whose `/flaky` page can be switched off and on.
fn switchable() -> (Fixture, Arc<AtomicBool>) {
    let alive = Arc::new(AtomicBool::new(true));
    let switch = Arc::clone(&alive);
    let fixture = Fixture::start(&["example.org"], move |req: &Req| match req.path.as_str() {
        "/flaky" if !switch.load(Ordering::SeqCst) => Reply::status(404),
        "/gone" => Reply::status(404),
        _ => Reply::html("<p>fine</p>"),
    });
    (fixture, alive)
}

fn notes() -> Tree {
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/a.md",
        "# A\n\n[flaky](https://example.org/flaky) and [ok](https://example.org/ok)\n",
    );
    tree
}

fn history(results: &BTreeMap<String, Value>, url: &str) -> (String, String, u64) {
    let h = &results[url]["history"];
    (
        h["state"].as_str().unwrap_or_default().to_owned(),
        h["since"].as_str().unwrap_or_default().to_owned(),
        h["runs"].as_u64().unwrap_or_default(),
    )
}

#[test]
fn a_link_that_dies_is_new_then_still_failing_then_recovered() {
    let (fixture, alive) = switchable();
    let tree = notes();
    const FLAKY: &str = "https://example.org/flaky";

    let Report { doc, results, .. } = tree
        .check(&fixture)
        .arg("notes")
        .expect(Exit::Success)
        .report();
    assert_eq!(history(&results, FLAKY).0, "ok");
    assert_eq!(doc["summary"]["recovered"], serde_json::json!([]));
    assert!(tree.path().join(".archiver/state.db").is_file());

    alive.store(false, Ordering::SeqCst);
    let Report { results, .. } = tree
        .check(&fixture)
        .arg("notes")
        .expect(Exit::Findings)
        .report();
    let (state, since, runs) = history(&results, FLAKY);
    assert_eq!((state.as_str(), runs), ("new", 1));
    assert!(humantime::parse_rfc3339(&since).is_ok(), "{since}");
    // The text report says it too.
    let text = tree
        .archiver()
        .arg("check")
        .args(fixture.args())
        .args(["--no-state", "notes"])
        .finish()
        .stdout;
    assert!(
        !text.contains("[new]"),
        "no history without a state: {text}"
    );

    // Third run: still failing, since the second run's check; --only-new does
    // not fail on it.
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--only-new", "notes"])
        .expect(Exit::Success)
        .report();
    assert_eq!(
        history(&results, FLAKY),
        ("still-failing".to_owned(), since.clone(), 2)
    );
    let text = tree
        .archiver()
        .arg("check")
        .args(fixture.args())
        .arg("notes")
        .finish()
        .stdout;
    assert!(
        text.contains(&format!(
            "dead           {FLAKY}  [still failing since {}, 3 runs]  (HTTP 404)",
            &since[..10]
        )),
        "{text}"
    );

    // It comes back: recovered, in the result and in the summary.
    alive.store(true, Ordering::SeqCst);
    let Report { doc, results, .. } = tree
        .check(&fixture)
        .arg("notes")
        .expect(Exit::Success)
        .report();
    assert_eq!(history(&results, FLAKY).0, "recovered");
    assert_eq!(doc["summary"]["recovered"], serde_json::json!([FLAKY]));
    assert_eq!(history(&results, "https://example.org/ok").2, 5);

    // `history` tells the whole story, newest first.
    let record = tree
        .archiver()
        .args(["history", "--format", "json", FLAKY])
        .expect(Exit::Success)
        .json();
    let verdicts: Vec<&str> = record["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["ok", "dead", "dead", "dead", "ok"]);
    assert_eq!(record["failing"], false);
    assert_eq!(record["notes"], serde_json::json!(["notes/a.md"]));
    tree.archiver()
        .args(["history", "https://example.org/never"])
        .expect(Exit::Error)
        .stderr_has("no check of it is recorded");

    // `report` over the week: it flapped (died, then recovered).
    let week = tree
        .archiver()
        .args(["report", "--since", "7d", "--format", "json"])
        .expect(Exit::Success)
        .json();
    assert_eq!(week["runs"], 5);
    assert_eq!(week["urls"], 2);
    assert_eq!(week["links"][0]["url"], FLAKY);
    assert_eq!(week["links"][0]["change"], "flapped");
    assert_eq!(week["by_host"]["example.org"]["flapped"], 1);
    assert_eq!(week["by_note"]["notes/a.md"]["flapped"], 1);
    let text = tree.archiver().args(["report"]).finish().stdout;
    assert!(text.contains("5 runs, 2 URLs checked; 1 flapped"), "{text}");
}

#[test]
fn max_age_reuses_fresh_working_results_and_asks_again_for_failures() {
    let (fixture, _alive) = switchable();
    let tree = notes();
    tree.file("notes/b.md", "[gone](https://example.org/gone)\n");
    tree.check(&fixture)
        .arg("notes")
        .expect(Exit::Findings)
        .report();
    let asked = |path: &str| fixture.requests("example.org", path);
    let before = (asked("/ok"), asked("/flaky"), asked("/gone"));

    let Report { doc, results, .. } = tree
        .check(&fixture)
        .args(["--max-age", "24h", "notes"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(
        (asked("/ok"), asked("/flaky"), asked("/gone")),
        (before.0, before.1, before.2 + 1),
        "fresh ok results are not asked again; the failure is"
    );
    assert_eq!(results["https://example.org/ok"]["verdict"], "ok");
    assert!(
        results["https://example.org/ok"]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "cached")
    );
    assert_eq!(doc["summary"]["cached"], 2);
    let (state, _, runs) = history(&results, "https://example.org/ok");
    assert_eq!(
        (state.as_str(), runs),
        ("ok", 2),
        "a reused result continues its streak"
    );

    // --no-cache asks everything again; so does a max age already passed.
    tree.check(&fixture)
        .args(["--max-age", "24h", "--no-cache", "notes"])
        .finish()
        .report();
    assert_eq!(asked("/ok"), before.0 + 1);
    tree.check(&fixture)
        .args(["--max-age", "0s", "notes"])
        .finish()
        .report();
    assert_eq!(asked("/ok"), before.0 + 2);
}

#[test]
fn a_baseline_accepts_old_failures_and_fails_on_new_ones() {
    let (fixture, alive) = switchable();
    let tree = notes();
    tree.file("notes/b.md", "[gone](https://example.org/gone)\n");
    tree.check(&fixture)
        .args(["--no-state", "--write-baseline", "ci/baseline", "notes"])
        .expect(Exit::Findings)
        .report();
    let baseline = std::fs::read_to_string(tree.path().join("ci/baseline")).unwrap();
    assert!(
        baseline.ends_with("\ndead\thttps://example.org/gone\n"),
        "{baseline}"
    );

    let Report { doc, .. } = tree
        .check(&fixture)
        .args(["--no-state", "--baseline", "ci/baseline", "notes"])
        .expect(Exit::Success)
        .report();
    assert_eq!(doc["summary"]["baselined"], 1);

    alive.store(false, Ordering::SeqCst);
    // A failure not in the baseline fails the run.
    let Report { results, .. } = tree
        .check(&fixture)
        .args(["--no-state", "--baseline", "ci/baseline", "notes"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(results["https://example.org/flaky"]["verdict"], "dead");

    tree.file("ci/bad", "https://example.org/gone\n");
    tree.archiver()
        .args(["check", "--no-state", "--baseline", "ci/bad", "notes"])
        .expect(Exit::Usage)
        .stderr_has("ci/bad:1");
}

fn git(tree: &Tree, args: &[&str]) {
    let status = std::process::Command::new("git")
        .current_dir(tree.path())
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn changed_since_checks_only_the_links_a_change_touched() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: git is not installed");
        return;
    }
    let fixture = Fixture::start(&["example.org"], |_: &Req| Reply::html("fine"));
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file(
            "notes/old.md",
            "[one](https://example.org/old-1)\n[two](https://example.org/old-2)\n",
        )
        .file("notes/same.md", "[s](https://example.org/same)\n")
        .file(
            "notes/old-mac.md",
            "[m](https://example.org/mac-1)\r[n](https://example.org/mac-2)\n",
        )
        .file(
            "notes/with space.md",
            "[a](https://example.org/space-a)\n\n[b](https://example.org/space-b)\n",
        );
    git(&tree, &["init", "-q", "-b", "main"]);
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "start"]);
    git(&tree, &["checkout", "-q", "-b", "topic"]);
    // A committed change to one line, an uncommitted one, and a new file.
    tree.file(
        "notes/old.md",
        "[one](https://example.org/old-1)\n[two](https://example.org/new-2)\n",
    );
    git(&tree, &["commit", "-q", "-am", "edit"]);
    tree.file(
        "notes/same.md",
        "[s](https://example.org/same)\n[t](https://example.org/uncommitted)\n",
    );
    tree.file("notes/new.md", "[n](https://example.org/brand-new)\n");
    // Lone CRs: one line for git, two for a reader. The whole git line changed.
    tree.file(
        "notes/old-mac.md",
        "[m](https://example.org/mac-1)\r[n](https://example.org/mac-2b)\n",
    );
    tree.file(
        "notes/with space.md",
        "[a](https://example.org/space-a)\n\n[b](https://example.org/space-b2)\n",
    );

    let urls = |extra: &[&str]| -> Vec<String> {
        let Report { results, .. } = tree
            .check(&fixture)
            .args(extra)
            .arg("notes")
            .expect(Exit::Success)
            .report();
        results.keys().cloned().collect()
    };
    assert_eq!(
        urls(&["--no-state", "--changed-since", "main"]),
        [
            "https://example.org/brand-new",
            "https://example.org/mac-1",
            "https://example.org/mac-2b",
            "https://example.org/new-2",
            "https://example.org/space-b2",
            "https://example.org/uncommitted",
        ]
    );
    assert_eq!(
        urls(&["--no-state", "--changed-since", "main", "--whole-files"]),
        [
            "https://example.org/brand-new",
            "https://example.org/mac-1",
            "https://example.org/mac-2b",
            "https://example.org/new-2",
            "https://example.org/old-1",
            "https://example.org/same",
            "https://example.org/space-a",
            "https://example.org/space-b2",
            "https://example.org/uncommitted",
        ]
    );
    assert_eq!(fixture.requests("example.org", "/old-1"), 1);
    // Run from a folder outside the repository: git is asked in the notes'.
    let elsewhere = Tree::new();
    let Report { results, .. } = archiver_in(elsewhere.path())
        .args([
            "check",
            "--format",
            "json",
            "--no-state",
            "--changed-since",
            "main",
        ])
        .arg("--config")
        .arg(tree.path().join("archiver.toml"))
        .args(fixture.args())
        .arg(tree.path().join("notes"))
        .expect(Exit::Success)
        .report();
    assert_eq!(
        results.keys().map(String::as_str).collect::<Vec<_>>(),
        urls(&["--no-state", "--changed-since", "main"])
    );
    tree.archiver()
        .args([
            "check",
            "--no-state",
            "--changed-since",
            "no-such-branch",
            "notes",
        ])
        .expect(Exit::Usage)
        .stderr_has("--changed-since no-such-branch");
}

#[test]
fn runs_at_once_share_the_database_and_a_killed_run_loses_no_finished_run() {
    let fixture = Fixture::start(&["example.org"], |req: &Req| match req.path.as_str() {
        "/slow" => Reply::html("late").delay(std::time::Duration::from_secs(30)),
        _ => Reply::html("fine"),
    });
    let tree = notes();
    // Two runs at once.
    let spawn = |args: &[&str]| {
        util::archiver_process(tree.path())
            .args(["check", "--format", "json"])
            .args(fixture.args())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&["notes"]), spawn(&["notes"]));
    for child in [a, b] {
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // A third, killed while it waits for a slow page.
    tree.file("slow/s.md", "[s](https://example.org/slow)\n");
    let mut killed = spawn(&["notes", "slow"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while fixture.requests("example.org", "/slow") == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();

    let state =
        archiver::state::State::open_existing(&tree.path().join(".archiver/state.db")).unwrap();
    let runs = state.runs_since("1970-01-01T00:00:00Z").unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs[0].finished_at.is_some() && runs[1].finished_at.is_some());
    assert!(
        runs[2].finished_at.is_none(),
        "the killed run never finished"
    );
    for url in ["https://example.org/flaky", "https://example.org/ok"] {
        let rows = state.rows_for(url).unwrap();
        assert_eq!(rows.len(), 2, "{url}: one row per finished run");
        assert_eq!(rows[1].streak.runs, 2);
    }
    assert!(
        state
            .rows_for("https://example.org/slow")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_unusable_state_database_costs_the_history_not_the_check() {
    let (fixture, _alive) = switchable();
    let tree = notes();
    // A folder cannot be made inside a file.
    let unusable = "notes/a.md/state.db";
    let Report { doc, results, .. } = tree
        .check(&fixture)
        .args(["--state", unusable, "notes"])
        .expect(Exit::Error)
        .report();
    // The report is whole, and the run fails: its results are not recorded.
    assert_eq!(doc["summary"]["by_verdict"]["ok"], 2, "{doc}");
    assert!(results["https://example.org/ok"].get("history").is_none());
    let stderr = tree
        .archiver()
        .args(["check", "--only-new", "--state", unusable, "notes"])
        .args(fixture.args())
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains("state database notes/a.md/state.db"),
        "{stderr}"
    );
}
