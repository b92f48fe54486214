//! `report --format html`: after real `fetch` and `check` runs against the
//! fixture server, the page shows what `check` said (its counts, one chart
//! point per run, every failing URL, the archive's copies and gallery), and,
//! opened in headless Chromium with the network blocked, asks nothing of the
//! network and runs nothing a server wrote (the browser part is skipped, with
//! a note, without chromium and playwright).

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use util::archive::{FAST, object_of};
use util::media::{pdf, png_decodable};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree};

const HOSTS: &[&str] = &["example.org", "mp.weixin.qq.com", "mmbiz.qpic.cn"];

/// A title no page should be able to run.
const XSS: &str = "<script>alert(1)</script>";

/// An article whose title is a script, as a hostile server would write it.
const ARTICLE: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8">
<meta property="og:title" content="&lt;script&gt;alert(1)&lt;/script&gt;">
<title>&lt;script&gt;alert(1)&lt;/script&gt;</title></head>
<body><div id="js_article"><h1 class="rich_media_title">&lt;script&gt;alert(1)&lt;/script&gt;</h1>
<div id="js_content"><p>An article worth keeping, and long enough to be one.</p>
<img data-src="https://mmbiz.qpic.cn/mmbiz_png/fig1/640?wx_fmt=png" data-type="png">
</div></div></body></html>"#;

const NOTES_A: &str = "# A\n\n\
    [ok](https://example.org/ok) and [gone](https://example.org/gone)\n\n\
    [flaky](https://example.org/flaky)\n\n\
    ![figure](https://mmbiz.qpic.cn/mmbiz_png/photo/640?wx_fmt=png)\n\n\
    ![lost](https://mmbiz.qpic.cn/mmbiz_png/lost/640?wx_fmt=png)\n\n\
    [article](https://mp.weixin.qq.com/s/xss) and [a paper](https://example.org/paper.pdf)\n";

const NOTES_B: &str = "# B\n\nAgain [gone](https://example.org/gone), and [a file](missing.md).\n";

/// An image archived and then lost from the archive.
fn lost_image() -> Vec<u8> {
    png_decodable(40, 30, [0, 200, 0])
}

/// Switches for the flaky page and the article.
struct Switches {
    flaky: Arc<AtomicBool>,
    article: Arc<AtomicBool>,
}

fn server() -> (Fixture, Switches) {
    let flaky = Arc::new(AtomicBool::new(true));
    let article = Arc::new(AtomicBool::new(true));
    let switches = Switches {
        flaky: Arc::clone(&flaky),
        article: Arc::clone(&article),
    };
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        let path = req.path.split('?').next().unwrap_or_default();
        match (req.host.as_str(), path) {
            ("example.org", "/gone") => Reply::status(404),
            ("example.org", "/flaky") if !flaky.load(Ordering::SeqCst) => Reply::status(404),
            ("example.org", "/paper.pdf") => Reply::status(200)
                .header("content-type", "application/pdf")
                .body(pdf()),
            ("example.org", _) => Reply::html("<p>fine</p>"),
            ("mp.weixin.qq.com", "/s/xss") if article.load(Ordering::SeqCst) => Reply::status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body(ARTICLE),
            ("mmbiz.qpic.cn", "/mmbiz_png/fig1/640" | "/mmbiz_png/fig1/0") => {
                Reply::status(200).body(png_decodable(64, 48, [200, 0, 0]))
            }
            ("mmbiz.qpic.cn", "/mmbiz_png/photo/640" | "/mmbiz_png/photo/0") => {
                Reply::status(200).body(png_decodable(80, 60, [0, 120, 200]))
            }
            ("mmbiz.qpic.cn", "/mmbiz_png/lost/640" | "/mmbiz_png/lost/0") => {
                Reply::status(200).body(lost_image())
            }
            _ => Reply::status(404),
        }
    });
    (fixture, switches)
}

/// The verdict counts the page's `data-verdict` elements hold, read from its
/// HTML.
fn counts_in(html: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for part in html.split("data-verdict=\"").skip(1) {
        let (verdict, rest) = part.split_once('"').unwrap();
        let number = rest.trim_start_matches('>').split('<').next().unwrap();
        counts.insert(verdict.to_owned(), number.trim().parse().unwrap());
    }
    counts
}

fn summary_counts(doc: &Value) -> BTreeMap<String, u64> {
    doc["summary"]["by_verdict"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

/// The page as headless Chromium shows it (tests/browser/report_page.py);
/// `None`, with a note, without chromium or playwright.
fn open_report(file: &Path, root: &Path) -> Option<Value> {
    util::browser::run_script("report_page.py", &[file.as_os_str(), root.as_os_str()])
}

#[test]
fn the_html_report_shows_what_check_found_offline_and_inert() {
    let (fixture, switches) = server();
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/a.md", NOTES_A)
        .file("notes/b.md", NOTES_B);

    // The archive: the image, the PDF and the article's snapshot (with its
    // figure).
    util::archive::fetch(&tree, &fixture, &["--kinds", "image,pdf,article"]).expect(Exit::Success);
    // One object goes missing from the archive: the gallery says so.
    std::fs::remove_file(
        tree.path()
            .join("archive")
            .join(object_of(&lost_image(), "png")),
    )
    .unwrap();

    // Three runs: the flaky page dies and comes back; the article dies and
    // stays dead, its snapshot kept.
    tree.check(&fixture).arg("notes").expect(Exit::Findings);
    switches.flaky.store(false, Ordering::SeqCst);
    switches.article.store(false, Ordering::SeqCst);
    tree.check(&fixture).arg("notes").expect(Exit::Findings);
    switches.flaky.store(true, Ordering::SeqCst);
    let Report { doc, results, .. } = tree
        .check(&fixture)
        .arg("notes")
        .expect(Exit::Findings)
        .report();
    let failing: BTreeSet<String> = results
        .iter()
        .filter(|(_, r)| {
            matches!(
                r["history"]["state"].as_str(),
                Some("new" | "still-failing")
            )
        })
        .map(|(url, _)| url.clone())
        .collect();
    assert_eq!(failing.len(), 3, "{results:#?}");
    const ARTICLE_URL: &str = "https://mp.weixin.qq.com/s/xss";
    assert!(
        results[ARTICLE_URL]["archived_copy"].is_string(),
        "{results:#?}"
    );
    assert_eq!(
        doc["summary"]["recovered"],
        serde_json::json!(["https://example.org/flaky"])
    );

    let stderr = tree
        .archiver()
        .args([
            "report",
            "--format",
            "html",
            "--output",
            "out/report.html",
            "notes",
        ])
        .expect(Exit::Success)
        .stderr;
    assert!(
        stderr.contains("1 of the objects the manifest records are missing or damaged"),
        "{stderr}"
    );
    let report = tree.path().join("out/report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("\"missing\":true").count(), 1);
    // The page's own counts, before any script runs.
    assert_eq!(counts_in(&html), summary_counts(&doc));
    assert_eq!(html.matches("data-run=\"").count(), 3);
    // The title is never markup: escaped in the JSON the script reads.
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the data and the page's script"
    );
    assert!(html.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    // Each host's slowest answer of the run, as check timed it.
    let timed = results
        .values()
        .filter_map(|r| r["answer_ms"].as_u64())
        .max()
        .expect("check reports answer times");
    assert!(
        html.contains(&format!("\">{timed} ms</span>")),
        "the slowest answer, {timed} ms, is in the hosts table"
    );

    let Some(seen) = open_report(&report, tree.path()) else {
        return;
    };
    let counts: BTreeMap<String, u64> = serde_json::from_value(seen["verdicts"].clone()).unwrap();
    assert_eq!(counts, summary_counts(&doc), "{seen}");
    assert_eq!(
        seen["changes"],
        serde_json::json!({"new": 0, "still-failing": 3, "recovered": 1}),
        "{seen}"
    );
    assert_eq!(seen["runs"], serde_json::json!(["1", "2", "3"]), "{seen}");
    // Every failing URL is listed, and the one that recovered, as recovered.
    let rows = seen["failure_rows"].as_array().unwrap();
    let listed: BTreeSet<String> = rows
        .iter()
        .filter(|r| r["history"] != "recovered")
        .map(|r| r["url"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, failing, "{seen}");
    let recovered: Vec<&Value> = rows
        .iter()
        .filter(|r| r["history"] == "recovered")
        .collect();
    assert_eq!(recovered.len(), 1, "{seen}");
    assert_eq!(recovered[0]["url"], "https://example.org/flaky", "{seen}");

    // Each failure where the notes cite it, its note and copy linked by
    // relative path.
    let row = |url: &str, note: &str| {
        rows.iter()
            .find(|r| r["url"] == url && r["note"] == note)
            .unwrap_or_else(|| panic!("{url} in {note} is not listed: {seen}"))
    };
    let gone_a = row("https://example.org/gone", "notes/a.md");
    assert_eq!(gone_a["at"], "3:41", "{seen}");
    assert_eq!(gone_a["note_href"], "../notes/a.md", "{seen}");
    assert_eq!(gone_a["history"], "still-failing", "{seen}");
    assert!(
        gone_a["history_words"]
            .as_str()
            .unwrap()
            .starts_with("still failing since"),
        "{seen}"
    );
    assert_eq!(row("https://example.org/gone", "notes/b.md")["at"], "3:14");
    let article = row(ARTICLE_URL, "notes/a.md");
    let copy = article["copy"]
        .as_str()
        .expect("the article's archived copy");
    assert!(copy.starts_with("../archive/objects/"), "{seen}");
    assert!(report.parent().unwrap().join(copy).is_file(), "{copy}");

    // The gallery: the image loads from the archive; the snapshot shows by
    // its title, as text.
    let images = seen["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{seen}");
    assert!(images.iter().all(|i| i["loaded"] == true), "{seen}");
    let inside = seen["inside"].as_array().unwrap();
    assert!(
        images.iter().all(|i| {
            let src = i["src"].as_str().unwrap().trim_start_matches("../");
            inside.iter().any(|a| a == src)
        }),
        "{seen}"
    );
    let gallery = seen["gallery"].as_array().unwrap();
    let item = |what: &str, wanted: &dyn Fn(&Value) -> bool| -> &Value {
        let found: Vec<&Value> = gallery.iter().filter(|g| wanted(g)).collect();
        assert_eq!(found.len(), 1, "one {what} in the gallery: {seen}");
        found[0]
    };
    let text = |item: &Value| item["text"].as_str().unwrap().to_owned();
    let snapshot = item("snapshot", &|g| g["kind"] == "snapshot");
    assert!(text(snapshot).contains(XSS), "{seen}");
    let paper = item("PDF", &|g| g["kind"] == "pdf");
    assert!(text(paper).contains("PDF, "), "{seen}");
    assert!(
        report
            .parent()
            .unwrap()
            .join(paper["href"].as_str().unwrap())
            .is_file(),
        "{seen}"
    );
    // The lost image: said to be missing, no broken image, and its only link
    // the original URL's.
    let lost = item("lost image", &|g| text(g).contains("/lost/"));
    assert!(text(lost).contains("missing from the archive"), "{seen}");
    assert_eq!(
        lost["href"], "https://mmbiz.qpic.cn/mmbiz_png/lost/640?wx_fmt=png",
        "{seen}"
    );
    assert!(seen["text"].as_str().unwrap().contains(XSS), "{seen}");

    // Nothing left the page, nothing ran, nothing failed.
    assert_eq!(seen["outside"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["dialogs"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");
    // The controls are reached with the keyboard.
    let focusable = seen["focusable"].as_array().unwrap();
    assert!(focusable.iter().any(|f| f == "search"), "{seen}");
}

#[test]
fn since_narrows_the_health_chart_to_the_runs_of_the_period() {
    let (fixture, _switches) = server();
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file("notes/b.md", NOTES_B);
    tree.check(&fixture).arg("notes").expect(Exit::Findings);
    // Timestamps are whole seconds: the second run starts in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let between = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    tree.check(&fixture).arg("notes").expect(Exit::Findings);
    let charted = |since: Option<&str>| {
        let mut run = tree
            .archiver()
            .args(["report", "--format", "html", "--output", "r.html"]);
        if let Some(since) = since {
            run = run.args(["--since", since]);
        }
        run.expect(Exit::Success);
        let html = std::fs::read_to_string(tree.path().join("r.html")).unwrap();
        html.matches("data-run=\"").count()
    };
    assert_eq!(charted(None), 2, "every run without --since");
    assert_eq!(charted(Some("1h")), 2);
    assert_eq!(charted(Some(&between)), 1, "the second run only");
    assert_eq!(charted(Some("2999-01-01")), 0);
    tree.archiver()
        .args([
            "report", "--format", "html", "--output", "r.html", "--since", "soon",
        ])
        .expect(Exit::Usage)
        .stderr_has("--since");
}

#[test]
fn html_needs_a_file_to_write_and_a_state_database() {
    let tree = Tree::new();
    tree.archiver()
        .args(["report", "--format", "html"])
        .expect(Exit::Usage)
        .stderr_has("--output");
    tree.archiver()
        .args(["report", "--format", "html", "--output", "r.html"])
        .expect(Exit::Error)
        .stderr_has("no state database");
    assert!(!tree.path().join("r.html").exists());
}

#[test]
fn output_writes_the_other_formats_to_a_file_as_they_print() {
    let tree = Tree::new();
    tree.file("notes/a.md", "[a file](missing.md) and [another](a.md)\n");
    tree.archiver()
        .args(["check", "notes"])
        .expect(Exit::Findings);
    for format in ["text", "markdown", "json"] {
        let printed = tree
            .archiver()
            // A fixed period: `7d` would say a time that moves between runs.
            .args(["report", "--since", "2020-01-01", "--format", format])
            .expect(Exit::Success)
            .stdout;
        let file = format!("out.{format}");
        tree.archiver()
            .args(["report", "--since", "2020-01-01", "--format", format])
            .args(["--output", &file])
            .expect(Exit::Success)
            .stdout_is("");
        assert_eq!(
            std::fs::read_to_string(tree.path().join(&file)).unwrap(),
            printed
        );
    }
}
