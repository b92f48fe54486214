//! `archiver check` and the pages behind links: which hosts are asked with GET
//! (a rule that reads pages, a host that refuses HEAD), and what a page that
//! answers 200 says about itself.

mod util;

use std::collections::BTreeMap;

use serde_json::Value;
use util::server::{Fixture, Reply, Req};
use util::{Tree, archiver_in, s};

/// Quick retries; no pacing.
const QUICK: &str = "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n";

/// Runs `archiver check --no-state --format json ARGS… notes` in `tree` against
/// `fixture`; the results by URL.
fn check(tree: &Tree, fixture: &Fixture, extra: &[&str]) -> BTreeMap<String, Value> {
    let output = archiver_in(tree.path())
        .args(["check", "--no-state", "--format", "json"])
        .args(fixture.args())
        .args(extra)
        .arg("notes")
        .output()
        .unwrap();
    util::json_report(&output.stdout, &output.stderr).1
}

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
    let results = check(&tree, &fixture, &[]);
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
