//! Every `check` report format on one fixed set of results: snapshots of the exact
//! output, and validity where a format has a grammar (SARIF's schema, XML).

use std::sync::Arc;

use archiver::link::Kind;
use archiver::report::check::{CheckFormat, CheckResult, Occurrence, Report, Summary, reporter};
use archiver::state::{History, HistoryState};
use archiver::verdict::Verdict;

fn occurrence(file: &str, line: u32, column: u32, kind: Kind) -> Occurrence {
    Occurrence {
        file: Arc::from(file),
        line,
        column,
        kind,
        archived: false,
    }
}

fn result(
    url: &str,
    verdict: Verdict,
    reason: Option<&str>,
    occurrences: Vec<Occurrence>,
) -> CheckResult {
    CheckResult {
        url: url.to_owned(),
        verdict,
        status: None,
        final_url: None,
        moved_to: None,
        pdf_url: None,
        reason: reason.map(str::to_owned),
        flags: Vec::new(),
        answer_ms: None,
        archived_copy: None,
        occurrences,
        history: None,
    }
}

/// A run with one of everything that reports treat differently.
fn results() -> Vec<CheckResult> {
    let mut moved = result(
        "https://mp.weixin.qq.com/s/moved",
        Verdict::Moved,
        Some("the page says «该公众号已迁移»"),
        vec![occurrence("notes/202207/0710.md", 4, 12, Kind::Article)],
    );
    moved.status = Some(200);
    moved.moved_to = Some("https://mp.weixin.qq.com/s/new-home".into());
    let mut dead = result(
        "https://arxiv.org/abs/9999.99999",
        Verdict::Dead,
        Some("HTTP 404"),
        vec![
            occurrence("notes/202207/0710.md", 7, 106, Kind::Paper),
            occurrence("notes/a|b <c> & \"d\".md", 2, 1, Kind::Paper),
        ],
    );
    dead.status = Some(404);
    dead.history = Some(History {
        state: HistoryState::StillFailing,
        since: "2026-11-20T03:00:00Z".into(),
        runs: 3,
    });
    let mut image = result(
        "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&wxfrom=5",
        Verdict::Ok,
        None,
        vec![occurrence("notes/202207/0710.md", 10, 29, Kind::Image)],
    );
    image.status = Some(200);
    image.flags = vec!["hotlink-protected".into()];
    image.history = Some(History {
        state: HistoryState::Ok,
        since: "2026-11-01T03:00:00Z".into(),
        runs: 27,
    });
    let mut deleted = result(
        "https://mp.weixin.qq.com/s/deleted",
        Verdict::SoftDead,
        Some("the page says «该内容已被发布者删除»"),
        vec![occurrence("notes/202207/0710.md", 3, 38, Kind::Article)],
    );
    deleted.history = Some(History {
        state: HistoryState::New,
        since: "2026-11-27T03:00:00Z".into(),
        runs: 1,
    });
    vec![
        dead,
        deleted,
        moved,
        image,
        result(
            "https://www.bilibili.com/video/BV1",
            Verdict::Blocked,
            Some("HTTP 412: the site turns away tools (a bot wall, not a dead link)"),
            vec![occurrence("notes/202207/0711.md", 5, 14, Kind::Page)],
        ),
        result(
            "notes/202207/images/missing.png",
            Verdict::LocalMissing,
            Some("no such file: notes/202207/images/missing.png"),
            vec![occurrence("notes/202207/0711.md", 9, 29, Kind::Local)],
        ),
        result(
            "mailto:a@b.org",
            Verdict::Unsupported,
            Some("email addresses are not checked"),
            vec![occurrence("notes/202207/0711.md", 12, 3, Kind::Mail)],
        ),
        result(
            "https://example.org/slow",
            Verdict::Timeout,
            Some("no answer in time (3 attempts)"),
            vec![],
        ),
    ]
}

fn render(format: CheckFormat) -> String {
    let results = results();
    let mut summary = Summary::of(&results, 12.5, None);
    summary.recovered = Some(vec!["https://example.org/back-again".into()]);
    let report = Report {
        summary: &summary,
        results: &results,
        fail_on: &[
            Verdict::Dead,
            Verdict::SoftDead,
            Verdict::LocalMissing,
            Verdict::Invalid,
        ],
    };
    let mut out = Vec::new();
    reporter(format).write(&report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn text() {
    insta::assert_snapshot!(render(CheckFormat::Text));
}

#[test]
fn json() {
    insta::assert_snapshot!(render(CheckFormat::Json));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(render(CheckFormat::Markdown));
}

#[test]
fn github() {
    insta::assert_snapshot!(render(CheckFormat::Github));
}

#[test]
fn junit_snapshot_and_it_parses() {
    let xml = render(CheckFormat::Junit);
    insta::assert_snapshot!(xml);
    let doc = roxmltree::Document::parse(&xml).expect("the JUnit report is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    // One test case per occurrence, plus one for the URL given on the command line.
    assert_eq!(cases.len(), 9);
    let failures = root
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 4);
    assert_eq!(root.attribute("failures"), Some("4"));
    let odd = cases
        .iter()
        .find(|c| c.attribute("file") == Some("notes/a|b <c> & \"d\".md"))
        .expect("names with XML's special characters survive");
    assert_eq!(odd.attribute("line"), Some("2"));
}

#[test]
fn sarif_snapshot_and_it_validates_against_the_2_1_0_schema() {
    let text = render(CheckFormat::Sarif);
    insta::assert_snapshot!(text);
    let log: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("schemas/sarif-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &log["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let results = run["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["ruleId"].is_string()));
    let located = results
        .iter()
        .filter(|r| r.get("locations").is_some())
        .count();
    assert_eq!(
        located, 6,
        "every listed occurrence has a physical location"
    );
}

#[test]
fn an_interrupted_run_says_so_in_junit_and_sarif() {
    let results = results();
    let summary = Summary::of(&results, 3.0, Some(42));
    let report = Report {
        summary: &summary,
        results: &results,
        fail_on: &[Verdict::Dead],
    };
    let mut junit = Vec::new();
    reporter(CheckFormat::Junit)
        .write(&report, &mut junit)
        .unwrap();
    let junit = String::from_utf8(junit).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("an error case");
    assert!(
        error
            .attribute("message")
            .unwrap()
            .contains("42 URLs were not checked")
    );
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));

    let mut sarif = Vec::new();
    reporter(CheckFormat::Sarif)
        .write(&report, &mut sarif)
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&sarif).unwrap();
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
}
