//! `archiver fetch` against the fixture server: what lands in the archive and
//! what is refused, the manifest it keeps, refreshing and the Wayback Machine,
//! and that a run at its limits, stopped or killed never leaves anything lost
//! or torn. `verify` and `gc` are in tests/verify_gc.rs; what the site rules
//! make fetch do is in tests/site_tricks.rs.

mod util;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::Value;
use util::archive::{
    FAST, HOSTS, assert_only_archive_files, fetch, files_under, manifest, object_of, objects,
    outcome, sha256, temp_files,
};
use util::media::{file, gif, jpeg, pdf, png, webp};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree, s};

/// [`FAST`] with the Wayback Machine asked (at the fixture server).
const FAST_WAYBACK: &str = "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n\n[[sites]]\nname = \"wayback\"\nhosts = [\"archive.org\", \"web.archive.org\"]\n";

fn media_site(req: &Req) -> Reply {
    match (req.host.as_str(), req.path.as_str()) {
        // WeChat's extension-less image URLs, with a content type that lies.
        ("mmbiz.qpic.cn", "/mmbiz_png/a/640?wx_fmt=png") => Reply::status(200)
            .header("content-type", "application/octet-stream")
            .body(png(1)),
        ("mmbiz.qpic.cn", "/mmbiz_jpg/b/640?wx_fmt=jpeg") => Reply::status(200)
            .header("content-type", "image/jpeg")
            .header("etag", "\"jpeg-1\"")
            .body(jpeg()),
        ("mmbiz.qpic.cn", "/mmbiz_gif/c/0?wx_fmt=gif") => Reply::status(200).body(gif()),
        ("img.example.org", "/pic.webp") => Reply::status(200).body(webp()),
        // The same bytes as the first PNG, from another URL.
        ("img.example.org", "/copy-of-a.png") => Reply::status(200)
            .header("content-type", "image/png")
            .body(png(1)),
        // An error page served as an image.
        ("img.example.org", "/missing.png") => Reply::status(200)
            .header("content-type", "image/png")
            .body("<!DOCTYPE html><html><body>Not found</body></html>"),
        ("img.example.org", "/gone.png") => Reply::status(404),
        ("img.example.org", "/large-2x.png") => Reply::status(200).body(png(7)),
        ("files.example.org", "/paper.pdf") => Reply::status(200)
            .header("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            .body(pdf()),
        ("arxiv.org", "/pdf/2207.02696.pdf" | "/pdf/2207.02696") => Reply::status(200).body(pdf()),
        _ => Reply::status(404),
    }
}

fn media_notes() -> Tree {
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/day1.md",
        "# Day 1\n\n\n\
         ![a](https://mmbiz.qpic.cn/mmbiz_png/a/640?wx_fmt=png)\n\n\
         <div align=center><img src=\"https://mmbiz.qpic.cn/mmbiz_jpg/b/640?wx_fmt=jpeg\"></div>\n\n\
         <img data-src=\"https://mmbiz.qpic.cn/mmbiz_gif/c/0?wx_fmt=gif\">\n\n\
         ![webp](https://img.example.org/pic.webp)\n\n\
         [the paper](https://files.example.org/paper.pdf)\n\n\
         [abs](https://arxiv.org/abs/2207.02696) and [pdf](https://arxiv.org/pdf/2207.02696.pdf)\n\n\
         [a page](https://img.example.org/about) is not fetched.\n",
    );
    tree.file(
        "notes/day2.md",
        "![same bytes](https://img.example.org/copy-of-a.png)\n\n\
         ![html](https://img.example.org/missing.png)\n\n\
         ![404](https://img.example.org/gone.png)\n\n\
         <img srcset=\"https://img.example.org/small.png 1x, https://img.example.org/large-2x.png 2x\">\n",
    );
    tree
}

#[test]
fn media_land_named_by_their_bytes_and_bad_content_is_refused() {
    let fixture = Fixture::start(HOSTS, media_site);
    let tree = media_notes();
    let Report {
        summary, results, ..
    } = fetch(&tree, &fixture, &[]).expect(Exit::Findings).report();

    let expect = [
        (
            "https://mmbiz.qpic.cn/mmbiz_png/a/640?wx_fmt=png",
            png(1),
            "png",
            "image/png",
        ),
        (
            "https://mmbiz.qpic.cn/mmbiz_jpg/b/640?wx_fmt=jpeg",
            jpeg(),
            "jpg",
            "image/jpeg",
        ),
        (
            "https://mmbiz.qpic.cn/mmbiz_gif/c/0?wx_fmt=gif",
            gif(),
            "gif",
            "image/gif",
        ),
        (
            "https://img.example.org/pic.webp",
            webp(),
            "webp",
            "image/webp",
        ),
        (
            "https://files.example.org/paper.pdf",
            pdf(),
            "pdf",
            "application/pdf",
        ),
        (
            "https://arxiv.org/pdf/2207.02696.pdf",
            pdf(),
            "pdf",
            "application/pdf",
        ),
        (
            "https://img.example.org/copy-of-a.png",
            png(1),
            "png",
            "image/png",
        ),
        (
            "https://img.example.org/large-2x.png",
            png(7),
            "png",
            "image/png",
        ),
    ];
    for (url, bytes, ext, media_type) in &expect {
        let r = results
            .get(*url)
            .unwrap_or_else(|| panic!("no result for {url}: {results:#?}"));
        assert_eq!(s(r, "outcome"), "fetched", "{r}");
        assert_eq!(s(r, "object"), object_of(bytes, ext), "{url}");
        assert_eq!(s(r, "sha256"), sha256(bytes));
        assert_eq!(s(r, "media_type"), *media_type);
        assert_eq!(r["size"], bytes.len());
        assert_eq!(s(r, "source"), "origin");
        let stored = std::fs::read(tree.path().join("archive").join(s(r, "object"))).unwrap();
        assert_eq!(&stored, bytes, "{url}");
    }
    assert_eq!(
        outcome(&results, "https://img.example.org/missing.png"),
        ("failed", "not-an-image")
    );
    let reason = s(&results["https://img.example.org/missing.png"], "reason");
    assert!(reason.contains("HTML"), "{reason}");
    assert_eq!(
        outcome(&results, "https://img.example.org/gone.png"),
        ("failed", "http-404")
    );
    // The abstract page arrives as its PDF; the smaller srcset candidate and
    // the plain page are not wanted at all.
    assert_eq!(
        s(&results["https://arxiv.org/abs/2207.02696"], "object"),
        object_of(&pdf(), "pdf")
    );
    assert!(!results.contains_key("https://img.example.org/small.png"));
    assert!(!results.contains_key("https://img.example.org/about"));
    assert_eq!(fixture.requests("img.example.org", "/small.png"), 0);

    // Identical bytes from two URLs (and the same PDF from two hosts) are one
    // object each: 9 fetched URLs, 6 distinct objects.
    let objects = objects(&tree);
    assert_eq!(objects.len(), 6, "{objects:#?}");
    assert_eq!(summary["fetched"], 9);
    assert_eq!(summary["new_objects"], 6);
    assert_eq!(summary["failed"], 2);
    assert_eq!(summary["skipped"], 0);
    assert!(temp_files(&tree).is_empty());

    // The manifest: sorted by URL, every field, the citing notes.
    let records = manifest(&tree);
    let urls: Vec<&str> = records.iter().map(|r| s(r, "url")).collect();
    let mut sorted = urls.clone();
    sorted.sort_unstable();
    assert_eq!(urls, sorted);
    assert_eq!(urls.len(), 9);
    let jpeg_record = records
        .iter()
        .find(|r| s(r, "url").contains("mmbiz_jpg"))
        .unwrap();
    assert_eq!(s(jpeg_record, "etag"), "\"jpeg-1\"");
    assert_eq!(jpeg_record["notes"], serde_json::json!(["notes/day1.md"]));
    assert!(s(jpeg_record, "fetched_at").ends_with('Z'));
    let pdf_record = records
        .iter()
        .find(|r| s(r, "url") == "https://files.example.org/paper.pdf")
        .unwrap();
    assert_eq!(
        s(pdf_record, "last_modified"),
        "Wed, 21 Oct 2015 07:28:00 GMT"
    );
    for field in [
        "url",
        "object",
        "sha256",
        "media_type",
        "size",
        "final_url",
        "fetched_at",
        "etag",
        "last_modified",
        "source",
        "notes",
    ] {
        assert!(pdf_record.get(field).is_some(), "{field} in {pdf_record}");
    }

    // A second run downloads nothing that is archived.
    let before: Vec<usize> = expect
        .iter()
        .map(|(url, ..)| requests_for(&fixture, url))
        .collect();
    let manifest_before = std::fs::read(tree.path().join("archive/manifest.jsonl")).unwrap();
    let Report {
        summary, results, ..
    } = fetch(&tree, &fixture, &[]).expect(Exit::Findings).report();
    assert_eq!(summary["present"], 9, "{summary}");
    assert_eq!(summary["fetched"], 0);
    assert_eq!(summary["new_objects"], 0);
    for ((url, ..), n) in expect.iter().zip(before) {
        assert_eq!(requests_for(&fixture, url), n, "{url} asked again");
        assert_eq!(outcome(&results, url).0, "present");
    }
    // Nothing changed, so the manifest is byte for byte the same.
    assert_eq!(
        std::fs::read(tree.path().join("archive/manifest.jsonl")).unwrap(),
        manifest_before
    );
    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Success)
        .stdout;
    assert!(
        stdout.contains("6 objects") && stdout.contains("clean"),
        "{stdout}"
    );
}

fn requests_for(fixture: &Fixture, url: &str) -> usize {
    let url = url::Url::parse(url).unwrap();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    fixture.requests(url.host_str().unwrap(), &path)
}

/// A gzip stream of `len` zero bytes after a PNG signature: a tiny body that
/// inflates to far more than the limit.
fn gzip_bomb(len: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&png(9)[..16]).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..len / zeros.len() {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.finish().unwrap()
}

/// The same as a brotli stream.
fn brotli_bomb(len: usize) -> Vec<u8> {
    let mut encoder = brotli::CompressorWriter::new(Vec::new(), 4096, 9, 22);
    encoder.write_all(&png(9)[..16]).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..len / zeros.len() {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.into_inner()
}

#[test]
fn limits_and_broken_bodies_leave_nothing_behind() {
    let bomb = gzip_bomb(16 << 20);
    assert!(bomb.len() < 200_000, "the bomb is small: {}", bomb.len());
    let br_bomb = brotli_bomb(16 << 20);
    assert!(
        br_bomb.len() < 100_000,
        "the bomb is small: {}",
        br_bomb.len()
    );
    let big = file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 11, 600_000);
    let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
        // No length announced: counted while streaming and cut off.
        "/chunked-big.png" => Reply::status(200)
            .body(big.clone())
            .in_pieces(16 * 1024, Duration::ZERO),
        // A length over the limit: not downloaded at all.
        "/announced-big.png" => Reply::status(200).body(big.clone()),
        "/bomb.png" => Reply::status(200)
            .header("content-encoding", "gzip")
            .body(bomb.clone()),
        "/br-bomb.png" => Reply::status(200)
            .header("content-encoding", "br")
            .body(br_bomb.clone()),
        // Shorter than its Content-Length: the connection breaks midway.
        "/cut.pdf" => Reply::status(200)
            .header("content-length", &pdf().len().to_string())
            .body(pdf())
            .in_pieces(1000, Duration::from_millis(10))
            .cut_after(4000),
        "/small.png" => Reply::status(200).body(png(12)),
        // A body without end: only the limit stops it.
        "/endless.png" => Reply::status(200)
            .body(png(14))
            .in_pieces(64 * 1024, Duration::ZERO)
            .endless(),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![](https://img.example.org/chunked-big.png)\n\
         ![](https://img.example.org/announced-big.png)\n\
         ![](https://img.example.org/bomb.png)\n\
         ![](https://img.example.org/br-bomb.png)\n\
         [pdf](https://files.example.org/cut.pdf)\n\
         ![](https://img.example.org/small.png)\n\
         ![](https://img.example.org/endless.png)\n",
    );
    let Report { results, .. } = fetch(&tree, &fixture, &["--max-object-size", "100KB"])
        .expect(Exit::Findings)
        .report();
    for url in [
        "https://img.example.org/chunked-big.png",
        "https://img.example.org/announced-big.png",
        "https://img.example.org/bomb.png",
        "https://img.example.org/br-bomb.png",
        "https://img.example.org/endless.png",
    ] {
        assert_eq!(outcome(&results, url), ("failed", "too-large"), "{url}");
    }
    assert!(
        s(
            &results["https://img.example.org/chunked-big.png"],
            "reason"
        )
        .contains("cut off")
    );
    assert!(
        s(
            &results["https://img.example.org/announced-big.png"],
            "reason"
        )
        .contains("not downloaded")
    );
    assert_eq!(
        outcome(&results, "https://files.example.org/cut.pdf"),
        ("failed", "truncated")
    );
    assert_eq!(
        outcome(&results, "https://img.example.org/small.png").0,
        "fetched"
    );
    assert_eq!(objects(&tree), vec![object_of(&png(12), "png")]);
    assert!(temp_files(&tree).is_empty(), "{:?}", temp_files(&tree));
    assert_eq!(manifest(&tree).len(), 1);
}

#[test]
fn a_killed_fetch_leaves_a_consistent_archive_and_the_next_run_completes_it() {
    // 3 MB in 48 KB pieces, 60 ms apart: about 4 s, long enough to be killed
    // in the middle. Asked again, it comes at once.
    let large = file(b"%PDF-1.5\n", 21, 3 << 20);
    let served = large.clone();
    let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
        "/large.pdf" if req.nth == 0 => Reply::status(200)
            .header("content-length", &served.len().to_string())
            .body(served.clone())
            .in_pieces(48 * 1024, Duration::from_millis(60)),
        "/large.pdf" => Reply::status(200).body(served.clone()),
        "/small.png" => Reply::status(200).body(png(13)),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![](https://img.example.org/small.png)\n[big](https://files.example.org/large.pdf)\n",
    );
    let mut child = util::archiver_process(tree.path())
        .args(["fetch", "notes"])
        .args(fixture.args())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the download is well under way: a part file of some size.
    let tmp = tree.path().join("archive/tmp");
    let mut waited = 0;
    loop {
        let partial = std::fs::read_dir(&tmp).ok().and_then(|entries| {
            entries
                .flatten()
                .find(|e| e.metadata().is_ok_and(|m| m.len() > 256 * 1024))
        });
        if partial.is_some() {
            break;
        }
        assert!(waited < 3000, "the download never started");
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    // Meanwhile the archive is locked: gc and a second fetch are told so, and
    // touch nothing.
    let stderr = tree
        .archiver()
        .args(["gc", "notes"])
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains(&format!("archive locked by pid {} on host ", child.id())),
        "{stderr}"
    );
    let stderr = tree
        .archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("archive locked by pid"), "{stderr}");

    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    child.wait().unwrap();
    assert!(!temp_files(&tree).is_empty(), "the kill left its part file");
    assert_only_archive_files(&tree);
    // No partial object, ever: whatever is in objects/ is whole.
    for object in objects(&tree) {
        let bytes = std::fs::read(tree.path().join("archive").join(&object)).unwrap();
        assert!(object.contains(&sha256(&bytes)), "{object} is torn");
    }
    if tree.path().join("archive/manifest.jsonl").exists() {
        manifest(&tree);
    }

    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert_eq!(
        outcome(&results, "https://files.example.org/large.pdf").0,
        "fetched"
    );
    assert_eq!(
        s(&results["https://files.example.org/large.pdf"], "object"),
        object_of(&large, "pdf")
    );
    assert!(temp_files(&tree).is_empty(), "{:?}", temp_files(&tree));
    assert_only_archive_files(&tree);
    assert_eq!(manifest(&tree).len(), 2);
    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Success)
        .stdout;
    assert!(stdout.contains("clean"), "{stdout}");
}

#[test]
fn the_archive_folder_is_chosen_by_flag_or_config_and_others_are_refused() {
    let fixture = Fixture::start(HOSTS, |_: &Req| Reply::status(200).body(png(41)));
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!("{FAST}[archive]\ndir = \"mirror\"\n"),
    )
    .file("notes/n.md", "![](https://img.example.org/a.png)\n");
    fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert!(tree.path().join("mirror/FORMAT").is_file());
    assert!(!tree.path().join("archive").exists());
    fetch(&tree, &fixture, &["--archive", "elsewhere"])
        .expect(Exit::Success)
        .report();
    assert_eq!(files_under(&tree.path().join("elsewhere/objects")).len(), 1);

    // verify and gc never create an archive, and say what to do.
    let stderr = tree
        .archiver()
        .args(["verify", "--archive", "nowhere"])
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains("no archive") && stderr.contains("archiver fetch"),
        "{stderr}"
    );
    // Another version's archive is left alone.
    tree.file("old/FORMAT", "archiver-archive 7\n");
    let stderr = tree
        .archiver()
        .args(["fetch", "--archive", "old", "notes"])
        .args(fixture.args())
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("archiver-archive 7"), "{stderr}");
    // Bad values are usage errors naming the flag.
    let stderr = tree
        .archiver()
        .args(["fetch", "--max-object-size", "lots", "notes"])
        .args(fixture.args())
        .expect(Exit::Usage)
        .stderr;
    assert!(stderr.contains("--max-object-size"), "{stderr}");
}

#[test]
fn with_the_network_down_fetch_says_so_instead_of_failing_every_image() {
    let fixture = Fixture::start(&["live.example"], |_: &Req| {
        Reply::status(200).body(png(51))
    });
    let tree = Tree::new();
    let note: String = (0..9)
        .map(|i| format!("![{i}](https://host{i}.invalid/{i}.png)\n\n"))
        .collect();
    tree.file("archiver.toml", FAST).file("notes/n.md", &note);
    let stderr = tree
        .archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("network looks down"), "{stderr}");

    // One live host among them proves the network up: the others are failures.
    tree.file(
        "notes/n.md",
        format!("{note}![live](https://live.example/a.png)\n"),
    );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Findings).report();
    assert_eq!(outcome(&results, "https://live.example/a.png").0, "fetched");
    assert_eq!(
        outcome(&results, "https://host0.invalid/0.png"),
        ("failed", "no-such-host")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn progress_bars_show_urls_bytes_and_downloads_on_a_terminal_only() {
    // Bodies in slow pieces keep the run long enough to draw.
    let fixture = Fixture::start(HOSTS, |req: &Req| {
        let seed = req.path.len() as u8;
        Reply::status(200)
            .body(file(b"%PDF-1.4\n", seed, 64 * 1024))
            .in_pieces(8 * 1024, Duration::from_millis(60))
    });
    let tree = Tree::new();
    let note: String = (0..4)
        .map(|i| {
            format!(
                "[p](https://files.example.org/{}.pdf)\n\n",
                "x".repeat(i + 1)
            )
        })
        .collect();
    tree.file("archiver.toml", FAST).file("notes/n.md", note);
    let mut args: Vec<String> = vec!["fetch".into(), "--host-concurrency".into(), "2".into()];
    args.extend(fixture.args());
    args.push("notes".into());

    let (code, drawn) = util::stderr_on_a_terminal(tree.path(), &args);
    assert_eq!(code, Some(0), "{drawn}");
    assert!(drawn.contains("/4 URLs"), "no done/total: {drawn:?}");
    assert!(drawn.contains("received"), "no bytes: {drawn:?}");
    assert!(
        drawn.contains("downloading from files.example.org ×"),
        "no active downloads: {drawn:?}"
    );

    // On a pipe: no bar, no escape codes; the summary line is the report's.
    std::fs::remove_dir_all(tree.path().join("archive")).unwrap();
    let ran = tree.archiver().args(&args).finish();
    let stderr = &ran.stderr;
    assert!(!stderr.contains("URLs"), "a bar on a pipe: {stderr:?}");
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes on a pipe: {stderr:?}"
    );
    let stdout = &ran.stdout;
    assert!(
        stdout.trim_end().ends_with('s')
            && stdout
                .contains("fetched 4, already present 0, failed 0, skipped 0; 262.2 KB downloaded"),
        "{stdout}"
    );
}

#[test]
fn sigterm_stops_with_what_landed_recorded() {
    let large = file(b"%PDF-1.5\n", 61, 2 << 20);
    let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
        "/slow.pdf" => Reply::status(200)
            .body(large.clone())
            .in_pieces(32 * 1024, Duration::from_millis(200)),
        "/quick.png" => Reply::status(200).body(png(62)),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![](https://img.example.org/quick.png)\n[slow](https://files.example.org/slow.pdf)\n",
    );
    let out = tree.path().join("out.json");
    let mut command = util::archiver_process(tree.path());
    command
        .args(["fetch", "--format", "json", "notes"])
        .args(fixture.args())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    // Stopped once the quick image is recorded (the manifest is saved every few
    // seconds while objects land) and the slow one is still arriving. An object
    // on disk alone is not enough: its result may still be on its way.
    let manifest_path = tree.path().join("archive/manifest.jsonl");
    let recorded = || {
        std::fs::read_to_string(&manifest_path)
            .is_ok_and(|m| m.contains("https://img.example.org/quick.png"))
    };
    for _ in 0..1500 {
        if recorded() && !temp_files(&tree).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(recorded(), "the quick image was never recorded");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["summary"]["interrupted"], true);
    let results: BTreeMap<String, Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(r, "url").to_owned(), r.clone()))
        .collect();
    assert_eq!(
        outcome(&results, "https://img.example.org/quick.png").0,
        "fetched"
    );
    assert_eq!(
        outcome(&results, "https://files.example.org/slow.pdf"),
        ("failed", "interrupted")
    );
    let records = manifest(&tree);
    assert_eq!(records.len(), 1);
    assert_eq!(s(&records[0], "url"), "https://img.example.org/quick.png");
    // The stopped download's temp file went with the run.
    assert!(temp_files(&tree).is_empty(), "{:?}", temp_files(&tree));
    assert_only_archive_files(&tree);
}

#[test]
fn kinds_choose_what_is_fetched_and_citations_follow_the_notes() {
    let fixture = Fixture::start(HOSTS, |req: &Req| match req.path.as_str() {
        "/a.png" => Reply::status(200).body(png(71)),
        "/b.png" => Reply::status(200).body(png(72)),
        "/report.pdf" => Reply::status(200).body(pdf()),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file(
            "notes/one.md",
            "![a](https://img.example.org/a.png)\n\n[report](https://files.example.org/report.pdf)\n",
        )
        .file(
            "notes/two.md",
            "![a again](https://img.example.org/a.png)\n\n![b](https://img.example.org/b.png)\n",
        );

    // Only PDFs: a plain link whose path ends in .pdf is one.
    let Report { results, .. } = fetch(&tree, &fixture, &["--kinds", "pdf"])
        .expect(Exit::Success)
        .report();
    assert_eq!(
        results.keys().collect::<Vec<_>>(),
        ["https://files.example.org/report.pdf"]
    );
    assert_eq!(fixture.requests("img.example.org", "/a.png"), 0);

    fetch(&tree, &fixture, &["--kinds", "image"])
        .expect(Exit::Success)
        .report();
    let notes_of = |url: &str| -> Vec<String> {
        manifest(&tree)
            .iter()
            .find(|r| s(r, "url") == url)
            .map(|r| {
                r["notes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_else(|| panic!("no record for {url}"))
    };
    assert_eq!(
        notes_of("https://img.example.org/a.png"),
        ["notes/one.md", "notes/two.md"]
    );
    // A run for images keeps the PDF's citations.
    assert_eq!(
        notes_of("https://files.example.org/report.pdf"),
        ["notes/one.md"]
    );

    // A note that stops citing a URL leaves its record's notes; a note not read
    // keeps its citations.
    tree.file("notes/two.md", "![b](https://img.example.org/b.png)\n");
    let Report { results, .. } = fetch(&tree, &fixture, &["--kinds", "image"])
        .expect(Exit::Success)
        .report();
    assert_eq!(
        outcome(&results, "https://img.example.org/a.png").0,
        "present"
    );
    assert_eq!(notes_of("https://img.example.org/a.png"), ["notes/one.md"]);
    tree.archiver()
        .args(["fetch", "notes/two.md"])
        .args(fixture.args())
        .expect(Exit::Success);
    assert_eq!(notes_of("https://img.example.org/a.png"), ["notes/one.md"]);
    assert_eq!(notes_of("https://img.example.org/b.png"), ["notes/two.md"]);
}

#[test]
fn an_svg_with_a_comment_first_is_an_image_and_a_folder_of_notes_is_not_an_archive() {
    let svg = "<?xml version=\"1.0\"?>\n<!-- Generator: Adobe Illustrator 24.0.0 -->\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"></svg>\n";
    let fixture = Fixture::start(HOSTS, move |_: &Req| {
        Reply::status(200)
            .header("content-type", "image/svg+xml")
            .body(svg)
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "![logo](https://img.example.org/logo.svg)\n");
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert_eq!(
        s(&results["https://img.example.org/logo.svg"], "media_type"),
        "image/svg+xml"
    );
    assert_eq!(objects(&tree), vec![object_of(svg.as_bytes(), "svg")]);

    let stderr = tree
        .archiver()
        .args(["fetch", "--archive", "notes", "notes"])
        .args(fixture.args())
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("not an archive"), "{stderr}");
    assert!(!tree.path().join("notes/FORMAT").exists());
}

/// The peak resident memory of a running process, in bytes (Linux).
#[cfg(target_os = "linux")]
fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(target_os = "linux")]
#[test]
fn a_large_body_streams_to_disk_in_flat_memory() {
    // 64 MiB sent as 1 MiB pieces; the server never holds more than one.
    let piece = file(b"%PDF-1.7\n", 81, (1 << 20) - 9);
    let fixture = Fixture::start(HOSTS, move |_: &Req| {
        Reply::status(200)
            .body(piece.clone())
            .in_pieces(256 * 1024, Duration::ZERO)
            .repeated(64)
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "[big](https://files.example.org/big.pdf)\n");
    let mut child = util::archiver_process(tree.path())
        .args(["fetch", "--format", "json", "notes"])
        .args(fixture.args())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        if let Some(bytes) = peak_memory(child.id()) {
            peak = peak.max(bytes);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["results"][0]["size"], 64 << 20);
    assert!(peak > 0, "the memory was never read");
    eprintln!("peak resident memory: {} MiB", peak >> 20);
    assert!(
        peak < 48 << 20,
        "{} MiB resident for a 64 MiB download",
        peak >> 20
    );
}

#[test]
fn urls_on_the_command_line_are_fetched_as_what_they_are() {
    let fixture = Fixture::start(HOSTS, |req: &Req| match req.path.as_str() {
        "/direct.gif" => Reply::status(200).body(gif()),
        _ => Reply::html("a page"),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST);
    let stdout = tree
        .archiver()
        .args([
            "fetch",
            "--kinds",
            "pdf",
            "https://img.example.org/direct.gif",
            "https://img.example.org/about",
        ])
        .args(fixture.args())
        .expect(Exit::Success)
        .stdout;
    // --kinds chooses among the notes' links; a URL named is fetched as itself.
    assert!(
        stdout.contains("fetched  https://img.example.org/direct.gif"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped  https://img.example.org/about  not an image, PDF, paper or video link (its kind is page) [not-media]"),
        "{stdout}"
    );
    assert_eq!(fixture.requests("img.example.org", "/about"), 0);
}

#[test]
fn a_dead_image_comes_back_from_the_wayback_machine() {
    let captured = png(101);
    let fixture = Fixture::start(
        &["img.example.org", "archive.org", "web.archive.org"],
        move |req: &Req| {
            match (req.host.as_str(), req.path.as_str()) {
            ("archive.org", p) if p.contains("kept.png") => Reply::status(200)
                .header("content-type", "application/json")
                .body(
                    r#"{"url":"x","archived_snapshots":{"closest":{"status":"200","available":true,"url":"http://web.archive.org/web/20200102030405/https://img.example.org/kept.png","timestamp":"20200102030405"}}}"#,
                ),
            ("archive.org", _) => Reply::status(200).body(r#"{"url":"x","archived_snapshots":{}}"#),
            ("web.archive.org", "/web/20200102030405id_/https://img.example.org/kept.png") => {
                Reply::status(200).body(captured.clone())
            }
            ("img.example.org", "/walled.png") => Reply::status(403),
            _ => Reply::status(404),
        }
        },
    );
    let tree = Tree::new();
    tree.file("archiver.toml", FAST_WAYBACK)
        .file(
            "notes/n.md",
            "![kept](https://img.example.org/kept.png)\n\n![lost](https://img.example.org/lost.png)\n\n![walled](https://img.example.org/walled.png)\n",
        );
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Findings).report();
    let kept = &results["https://img.example.org/kept.png"];
    assert_eq!(s(kept, "outcome"), "fetched", "{kept}");
    assert_eq!(s(kept, "source"), "wayback");
    assert_eq!(s(kept, "captured_at"), "20200102030405");
    assert_eq!(s(kept, "object"), object_of(&png(101), "png"));
    let record = manifest(&tree)
        .into_iter()
        .find(|r| s(r, "url") == "https://img.example.org/kept.png")
        .unwrap();
    assert_eq!(s(&record, "source"), "wayback");
    assert_eq!(s(&record, "captured_at"), "20200102030405");
    assert_eq!(
        s(&record, "final_url"),
        "https://web.archive.org/web/20200102030405id_/https://img.example.org/kept.png"
    );
    // No capture: the original failure, and that there is none.
    let lost = &results["https://img.example.org/lost.png"];
    assert_eq!(s(lost, "reason_code"), "http-404");
    assert!(
        s(lost, "reason").contains("no capture in the Wayback Machine"),
        "{lost}"
    );
    // Walled is not gone: the archive is not asked.
    assert_eq!(
        s(
            &results["https://img.example.org/walled.png"],
            "reason_code"
        ),
        "blocked"
    );
    assert_eq!(fixture.requests_to("archive.org"), 2);

    // --no-wayback: nothing is told to the Internet Archive.
    std::fs::remove_dir_all(tree.path().join("archive")).unwrap();
    let before = fixture.requests_to("archive.org");
    let Report { results, .. } = fetch(&tree, &fixture, &["--no-wayback"])
        .expect(Exit::Findings)
        .report();
    assert_eq!(
        outcome(&results, "https://img.example.org/kept.png"),
        ("failed", "http-404")
    );
    assert_eq!(fixture.requests_to("archive.org"), before);
    assert_eq!(fixture.requests_to("web.archive.org"), 1);

    // The text report says where the bytes came from.
    std::fs::remove_dir_all(tree.path().join("archive")).unwrap();
    let stdout = tree
        .archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .finish()
        .stdout;
    assert!(
        stdout.contains("from the Wayback Machine's capture of 20200102030405"),
        "{stdout}"
    );
}

#[test]
fn refresh_revalidates_and_downloads_only_what_changed() {
    // The second version of /changing.png is served once the first was fetched.
    let version = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let served = std::sync::Arc::clone(&version);
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        let v = served.load(std::sync::atomic::Ordering::SeqCst);
        let etag = format!("\"{}-v{v}\"", req.path);
        match req.path.as_str() {
            "/steady.png" | "/changing.png" => {
                if req.headers.get("if-none-match") == Some(&etag)
                    || (req.path == "/steady.png" && req.headers.contains_key("if-none-match"))
                {
                    return Reply::status(304);
                }
                // Asked without its ETag, steady.png would look changed.
                let seed = if req.path == "/steady.png" {
                    v as u8
                } else {
                    110 + v as u8
                };
                Reply::status(200).header("etag", &etag).body(png(seed))
            }
            // No validators at all: compared by hash.
            "/plain.gif" => Reply::status(200).body(gif()),
            // Gone by the time of the refresh.
            "/gone-later.png" if v == 1 => Reply::status(200).body(png(120)),
            _ => Reply::status(404),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![](https://img.example.org/steady.png)\n\n![](https://img.example.org/changing.png)\n\n\
         ![](https://img.example.org/plain.gif)\n\n![](https://img.example.org/gone-later.png)\n",
    );
    fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    let first = objects(&tree);
    assert_eq!(first.len(), 4);

    version.store(2, std::sync::atomic::Ordering::SeqCst);
    // Without --refresh nothing is asked.
    let Report { summary, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert_eq!(summary["present"], 4);
    assert_eq!(fixture.requests("img.example.org", "/changing.png"), 1);

    let Report {
        summary, results, ..
    } = fetch(&tree, &fixture, &["--refresh"])
        .expect(Exit::Success)
        .report();
    assert_eq!(
        outcome(&results, "https://img.example.org/steady.png").0,
        "present"
    );
    assert_eq!(
        outcome(&results, "https://img.example.org/plain.gif").0,
        "present"
    );
    // Gone at the source: the archived copy stays the URL's object, and says so.
    let gone = &results["https://img.example.org/gone-later.png"];
    assert_eq!(s(gone, "outcome"), "present", "{gone}");
    assert_eq!(s(gone, "reason_code"), "http-404");
    assert_eq!(s(gone, "object"), object_of(&png(120), "png"));
    let changed = &results["https://img.example.org/changing.png"];
    assert_eq!(s(changed, "outcome"), "fetched", "{changed}");
    assert_eq!(s(changed, "object"), object_of(&png(112), "png"));
    assert_eq!(summary["fetched"], 1);
    // Each was asked conditionally: the ETags went along.
    assert_eq!(fixture.requests("img.example.org", "/steady.png"), 2);
    assert_eq!(fixture.requests("img.example.org", "/changing.png"), 2);
    // The old version stays until gc; the manifest names the new one.
    let now = objects(&tree);
    assert_eq!(now.len(), 5);
    assert!(now.contains(&object_of(&png(111), "png")));
    let record = manifest(&tree)
        .into_iter()
        .find(|r| s(r, "url").ends_with("/changing.png"))
        .unwrap();
    assert_eq!(s(&record, "etag"), "\"/changing.png-v2\"");
    let stdout = tree
        .archiver()
        .args(["gc", "--dry-run", "notes"])
        .finish()
        .stdout;
    assert!(stdout.contains(&object_of(&png(111), "png")), "{stdout}");
}
