//! `archiver fetch`, `verify` and `gc` against the fixture server: what lands in
//! the archive, what is refused and why, and that nothing is ever lost or torn.

mod util;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use util::server::{Fixture, Reply, Req};
use util::{Tree, archiver_in, s};

/// Quick retries, and no Wayback Machine: a test never asks the real one.
const FAST: &str =
    "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n\n[fetch]\nwayback = false\n";

/// [`FAST`] with the Wayback Machine asked (at the fixture server).
const FAST_WAYBACK: &str = "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n\n[[sites]]\nname = \"wayback\"\nhosts = [\"archive.org\", \"web.archive.org\"]\n";

const HOSTS: &[&str] = &[
    "mmbiz.qpic.cn",
    "img.example.org",
    "arxiv.org",
    "files.example.org",
];

/// A file that starts like its type says, then `len` bytes of filler that
/// depend on `seed`, so two fixtures never share a hash by accident.
fn file(magic: &[u8], seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

fn png(seed: u8) -> Vec<u8> {
    file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", seed, 2000)
}
fn jpeg() -> Vec<u8> {
    file(b"\xff\xd8\xff\xe0\0\x10JFIF\0", 2, 3000)
}
fn gif() -> Vec<u8> {
    file(b"GIF89a\x01\0\x01\0", 3, 500)
}
fn webp() -> Vec<u8> {
    file(b"RIFF\x24\0\0\0WEBPVP8 ", 4, 700)
}
fn pdf() -> Vec<u8> {
    file(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", 5, 9000)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The object path an archive gives `bytes` with extension `ext`.
fn object_of(bytes: &[u8], ext: &str) -> String {
    let sha = sha256(bytes);
    format!("objects/{}/{sha}.{ext}", &sha[..2])
}

/// Runs a command in `tree` (with the fixture's network options for `fetch`);
/// exit code, stdout, stderr.
fn run(tree: &Tree, fixture: &Fixture, args: &[&str]) -> (i32, String, String) {
    let mut cmd = archiver_in(tree.path());
    cmd.args(args);
    if args.first() == Some(&"fetch") {
        cmd.args(fixture.args());
    }
    let output = cmd.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `archiver fetch --format json ARGS… notes`; exit code, the summary and
/// the results by URL.
fn fetch(tree: &Tree, fixture: &Fixture, args: &[&str]) -> (i32, Value, BTreeMap<String, Value>) {
    let mut all = vec!["fetch", "--format", "json"];
    all.extend(args);
    all.push("notes");
    let (code, stdout, stderr) = run(tree, fixture, &all);
    let (doc, results) = util::json_report(stdout.as_bytes(), stderr.as_bytes());
    (code, doc["summary"].clone(), results)
}

fn outcome<'a>(results: &'a BTreeMap<String, Value>, url: &str) -> (&'a str, &'a str) {
    let r = results
        .get(url)
        .unwrap_or_else(|| panic!("no result for {url}: {results:#?}"));
    (s(r, "outcome"), s(r, "reason_code"))
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn objects(tree: &Tree) -> Vec<String> {
    files_under(&tree.path().join("archive"))
        .into_iter()
        .filter(|f| f.starts_with("objects/"))
        .collect()
}

fn temp_files(tree: &Tree) -> Vec<String> {
    files_under(&tree.path().join("archive/tmp"))
}

fn manifest(tree: &Tree) -> Vec<Value> {
    let text = std::fs::read_to_string(tree.path().join("archive/manifest.jsonl")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(r#"{"format":"archiver-manifest","version":1}"#)
    );
    lines.map(|l| serde_json::from_str(l).unwrap()).collect()
}

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
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 2, "a wanted object failed: {summary}");

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
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 2);
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
    let (code, stdout, _) = run(&tree, &fixture, &["verify"]);
    assert_eq!(code, 0, "{stdout}");
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
    let (code, summary, results) = fetch(&tree, &fixture, &["--max-object-size", "100KB"]);
    assert_eq!(code, 2, "{summary}");
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
    let (code, _, stderr) = run(&tree, &fixture, &["gc", "notes"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("archive locked by pid {} on host ", child.id())),
        "{stderr}"
    );
    let (code, _, stderr) = run(&tree, &fixture, &["fetch", "notes"]);
    assert_eq!(code, 1, "{stderr}");
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

    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary}");
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
    let (code, stdout, _) = run(&tree, &fixture, &["verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("clean"), "{stdout}");
}

/// Asserts that the archive holds nothing but its own files: no temp file of a
/// manifest or FORMAT write beside them.
fn assert_only_archive_files(tree: &Tree) {
    for file in files_under(&tree.path().join("archive")) {
        let known = ["FORMAT", ".gitignore", "lock", "manifest.jsonl"].contains(&file.as_str())
            || file.starts_with("objects/")
            || file.starts_with("tmp/");
        assert!(known, "unexpected file in the archive: {file}");
    }
}

/// A fetched archive of two images cited by one note.
fn small_archive() -> (Fixture, Tree) {
    let fixture = Fixture::start(HOSTS, |req: &Req| match req.path.as_str() {
        "/one.png" => Reply::status(200).body(png(31)),
        "/two.gif" => Reply::status(200).body(gif()),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![](https://img.example.org/one.png)\n![](https://img.example.org/two.gif)\n",
    );
    let (code, summary, _) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary}");
    (fixture, tree)
}

#[test]
fn verify_finds_a_flipped_byte_a_missing_object_and_an_unreferenced_one() {
    let (fixture, tree) = small_archive();
    let archive = tree.path().join("archive");
    let one = archive.join(object_of(&png(31), "png"));
    let mut bytes = std::fs::read(&one).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&one, &bytes).unwrap();
    let (code, stdout, _) = run(&tree, &fixture, &["verify"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("corrupt") && l.contains(&object_of(&png(31), "png"))),
        "{stdout}"
    );
    assert!(stdout.contains("1 problems"), "{stdout}");

    // Put it right, then lose the other object and add one nothing refers to.
    bytes[100] ^= 0x01;
    std::fs::write(&one, &bytes).unwrap();
    std::fs::remove_file(archive.join(object_of(&gif(), "gif"))).unwrap();
    let stray = object_of(&webp(), "webp");
    put_object(&archive, &stray, &webp());
    let (code, stdout, _) = run(&tree, &fixture, &["verify"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("missing") && l.contains("two.gif")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("unreferenced") && l.contains(&stray)),
        "{stdout}"
    );
    assert!(!stdout.contains("corrupt"), "{stdout}");

    // fetch brings the lost object back; gc takes the stray away: clean again.
    let (code, _, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        outcome(&results, "https://img.example.org/two.gif").0,
        "fetched"
    );
    let (code, stdout, _) = run(&tree, &fixture, &["gc", "notes"]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = run(&tree, &fixture, &["verify"]);
    assert_eq!(code, 0, "{stdout}");
}

fn put_object(archive: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let path = archive.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn gc_removes_exactly_what_nothing_refers_to() {
    let (fixture, tree) = small_archive();
    let archive = tree.path().join("archive");
    // Three objects the manifest does not know: one a note links to locally, one
    // the rewrite journal names, one nothing refers to.
    let by_note = object_of(&jpeg(), "jpg");
    let by_journal = object_of(&pdf(), "pdf");
    let orphan = object_of(&webp(), "webp");
    put_object(&archive, &by_note, &jpeg());
    put_object(&archive, &by_journal, &pdf());
    put_object(&archive, &orphan, &webp());
    tree.file("notes/local.md", format!("![kept](../archive/{by_note})\n"));
    tree.file(
        "archive/rewrites.jsonl",
        format!(
            "{{\"note\":\"notes/x.md\",\"original\":\"https://x.example/y.pdf\",\"replacement\":\"../archive/{by_journal}\",\"object\":\"{by_journal}\"}}\n"
        ),
    );
    let before = objects(&tree);
    assert_eq!(before.len(), 5);

    let (code, stdout, _) = run(&tree, &fixture, &["gc", "--dry-run", "notes"]);
    assert_eq!(code, 0, "{stdout}");
    let listed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("would remove  "))
        .collect();
    assert_eq!(listed.len(), 1, "{stdout}");
    assert!(listed[0].contains(&orphan), "{stdout}");
    assert_eq!(objects(&tree), before, "a dry run removes nothing");

    let (code, stdout, _) = run(&tree, &fixture, &["gc", "notes"]);
    assert_eq!(code, 0, "{stdout}");
    let after = objects(&tree);
    let gone: Vec<&String> = before.iter().filter(|o| !after.contains(o)).collect();
    assert_eq!(gone, vec![&orphan], "{stdout}");

    // Without the note, its object is garbage too.
    let (_, stdout, _) = run(&tree, &fixture, &["gc", "--dry-run", "notes/n.md"]);
    assert!(
        stdout.contains(&by_note) && !stdout.contains(&by_journal),
        "{stdout}"
    );
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
    let (code, _, _) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0);
    assert!(tree.path().join("mirror/FORMAT").is_file());
    assert!(!tree.path().join("archive").exists());
    let (code, _, _) = fetch(&tree, &fixture, &["--archive", "elsewhere"]);
    assert_eq!(code, 0);
    assert_eq!(files_under(&tree.path().join("elsewhere/objects")).len(), 1);

    // verify and gc never create an archive, and say what to do.
    let (code, _, stderr) = run(&tree, &fixture, &["verify", "--archive", "nowhere"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no archive") && stderr.contains("archiver fetch"),
        "{stderr}"
    );
    // Another version's archive is left alone.
    tree.file("old/FORMAT", "archiver-archive 7\n");
    let (code, _, stderr) = run(&tree, &fixture, &["fetch", "--archive", "old", "notes"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("archiver-archive 7"), "{stderr}");
    // Bad values are usage errors naming the flag.
    let (code, _, stderr) = run(
        &tree,
        &fixture,
        &["fetch", "--max-object-size", "lots", "notes"],
    );
    assert_eq!(code, 3, "{stderr}");
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
    let (code, _, stderr) = run(&tree, &fixture, &["fetch", "notes"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("network looks down"), "{stderr}");

    // One live host among them proves the network up: the others are failures.
    tree.file(
        "notes/n.md",
        format!("{note}![live](https://live.example/a.png)\n"),
    );
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 2, "{summary}");
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
    let output = archiver_in(tree.path()).args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("URLs"), "a bar on a pipe: {stderr:?}");
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes on a pipe: {stderr:?}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
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
    let (code, summary, results) = fetch(&tree, &fixture, &["--kinds", "pdf"]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        results.keys().collect::<Vec<_>>(),
        ["https://files.example.org/report.pdf"]
    );
    assert_eq!(fixture.requests("img.example.org", "/a.png"), 0);

    let (code, _, _) = fetch(&tree, &fixture, &["--kinds", "image"]);
    assert_eq!(code, 0);
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
    let (code, _, results) = fetch(&tree, &fixture, &["--kinds", "image"]);
    assert_eq!(code, 0);
    assert_eq!(
        outcome(&results, "https://img.example.org/a.png").0,
        "present"
    );
    assert_eq!(notes_of("https://img.example.org/a.png"), ["notes/one.md"]);
    let (code, _, _) = run(&tree, &fixture, &["fetch", "notes/two.md"]);
    assert_eq!(code, 0);
    assert_eq!(notes_of("https://img.example.org/a.png"), ["notes/one.md"]);
    assert_eq!(notes_of("https://img.example.org/b.png"), ["notes/two.md"]);
}

#[test]
fn gc_keeps_a_fresh_temp_file_and_refuses_without_a_manifest() {
    let (_fixture, tree) = small_archive();
    let tmp = tree.path().join("archive/tmp");
    let fresh = tmp.join("fetch-fresh.part");
    let stale = tmp.join("fetch-stale.part");
    std::fs::write(&fresh, b"still downloading").unwrap();
    std::fs::write(&stale, b"left by a killed run").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let output = archiver_in(tree.path())
        .args(["gc", "notes"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        fresh.exists(),
        "a fresh temp file may belong to a running fetch"
    );
    assert!(!stale.exists());

    // A lost manifest would make every object garbage: gc refuses.
    let before = objects(&tree);
    let manifest = tree.path().join("archive/manifest.jsonl");
    std::fs::rename(&manifest, tree.path().join("manifest.bak")).unwrap();
    let output = archiver_in(tree.path())
        .args(["gc", "notes/none.md"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("manifest.jsonl") && stderr.contains("restore"),
        "{stderr}"
    );
    assert_eq!(objects(&tree), before);
    // An empty manifest is damage, not an empty archive.
    std::fs::write(&manifest, "").unwrap();
    let output = archiver_in(tree.path())
        .args(["gc", "notes/none.md"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(objects(&tree), before);
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
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        s(&results["https://img.example.org/logo.svg"], "media_type"),
        "image/svg+xml"
    );
    assert_eq!(objects(&tree), vec![object_of(svg.as_bytes(), "svg")]);

    let (code, _, stderr) = run(&tree, &fixture, &["fetch", "--archive", "notes", "notes"]);
    assert_eq!(code, 1, "{stderr}");
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

/// A PNG of `width`×`height` (as its header says), with filler after.
fn png_sized(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde]);
    bytes.extend((0..1500).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)));
    bytes
}

/// WeChat's CDN as the notes meet it: a placeholder for a foreign Referer, WebP
/// when asked with `tp=webp`, the original at `/0`.
fn wechat_cdn(req: &Req) -> Reply {
    let referer = req.headers.get("referer").map(String::as_str);
    let foreign = referer.is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"));
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    if foreign {
        return Reply::status(200)
            .header("content-type", "image/png")
            .body(png_sized(470, 349, 1));
    }
    match path {
        // Full size: the original; the 640 copy is smaller.
        "/mmbiz_png/full/0" if query.contains("tp=webp") => Reply::status(200).body(webp()),
        "/mmbiz_png/full/0" => Reply::status(200).body(png_sized(1280, 720, 2)),
        "/mmbiz_png/full/640" => Reply::status(200).body(png_sized(640, 360, 3)),
        // No original at /0 for this one.
        "/mmbiz_jpg/only640/640" => Reply::status(200).body(jpeg()),
        // This one answers every request with the placeholder.
        p if p.starts_with("/mmbiz_png/walled/") => Reply::status(200).body(png_sized(470, 349, 1)),
        _ => Reply::status(404),
    }
}

#[test]
fn wechat_images_arrive_as_originals_never_as_the_placeholder() {
    let foreign = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&foreign);
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        if req
            .headers
            .get("referer")
            .is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"))
        {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        wechat_cdn(req)
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![full](https://mmbiz.qpic.cn/mmbiz_png/full/640?wx_fmt=png&tp=webp&wxfrom=5)\n\n\
         ![only](https://mmbiz.qpic.cn/mmbiz_jpg/only640/640?wx_fmt=jpeg)\n\n\
         ![walled](https://mmbiz.qpic.cn/mmbiz_png/walled/640?wx_fmt=png)\n",
    );
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 2, "{summary}");
    // tp=webp dropped, /0 preferred: the full-size PNG, not WebP, not the 640 copy.
    let full = &results["https://mmbiz.qpic.cn/mmbiz_png/full/640?wx_fmt=png&tp=webp&wxfrom=5"];
    assert_eq!(s(full, "outcome"), "fetched", "{full}");
    assert_eq!(
        s(full, "object"),
        object_of(&png_sized(1280, 720, 2), "png")
    );
    // /0 missing: the URL as written.
    let only = &results["https://mmbiz.qpic.cn/mmbiz_jpg/only640/640?wx_fmt=jpeg"];
    assert_eq!(s(only, "object"), object_of(&jpeg(), "jpg"), "{only}");
    // Only ever the placeholder: reported, not archived.
    assert_eq!(
        outcome(
            &results,
            "https://mmbiz.qpic.cn/mmbiz_png/walled/640?wx_fmt=png"
        ),
        ("failed", "placeholder")
    );
    assert!(!objects(&tree).contains(&object_of(&png_sized(470, 349, 1), "png")));
    // The manifest says where the bytes really came from.
    let record = manifest(&tree)
        .into_iter()
        .find(|r| s(r, "url").contains("/full/"))
        .unwrap();
    assert_eq!(
        s(&record, "final_url"),
        "https://mmbiz.qpic.cn/mmbiz_png/full/0?wx_fmt=png&wxfrom=5"
    );
    // The shipped rule sends no Referer first: nothing foreign was sent but the
    // one probe that learns the placeholder.
    assert_eq!(foreign.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_placeholder_learnt_at_run_time_sends_fetch_to_the_next_referer() {
    // This CDN answers a missing Referer with a stand-in of no known size or
    // hash; only its own site's Referer gets the image.
    let stand_in = png_sized(200, 100, 9);
    let fixture = Fixture::start(&["cdn.example.net"], move |req: &Req| {
        match req.headers.get("referer").map(String::as_str) {
            Some("https://www.example.net/") => {
                let seed = req.path.len() as u8;
                Reply::status(200).body(png_sized(800, 600, seed))
            }
            _ => Reply::status(200).body(stand_in.clone()),
        }
    });
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!(
            "{FAST}\n[[sites]]\nname = \"example-cdn\"\nhosts = [\"cdn.example.net\"]\nkind = \"image\"\n\
             referers = [\"none\", \"https://www.example.net/\"]\nplaceholder_probe = \"https://elsewhere.example/\"\n"
        ),
    )
    .file(
        "notes/n.md",
        "![a](https://cdn.example.net/a)\n\n![bb](https://cdn.example.net/bb)\n",
    );
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary} {results:#?}");
    assert_eq!(
        s(&results["https://cdn.example.net/a"], "object"),
        object_of(&png_sized(800, 600, 2), "png")
    );
    assert_eq!(
        s(&results["https://cdn.example.net/bb"], "object"),
        object_of(&png_sized(800, 600, 3), "png")
    );
}

#[test]
fn papers_arrive_as_pdfs() {
    let paper = file(b"%PDF-1.5\n", 91, 5000);
    let meta_pdf = file(b"%PDF-1.6\n", 92, 5000);
    let fixture = Fixture::start(
        &[
            "arxiv.org",
            "openreview.net",
            "doi.org",
            "publisher.example",
            "github.com",
            "raw.githubusercontent.com",
        ],
        move |req: &Req| match (req.host.as_str(), req.path.as_str()) {
            ("arxiv.org", "/pdf/2207.02696v2" | "/pdf/quant-ph/0112019") => Reply::status(200)
                .header("content-type", "application/pdf")
                .body(paper.clone()),
            ("openreview.net", "/forum?id=abc") => Reply::html(
                "<html><head><meta name=\"citation_pdf_url\" content=\"https://openreview.net/pdf?id=abc\"></head></html>",
            ),
            ("openreview.net", "/pdf?id=abc") => Reply::status(200).body(meta_pdf.clone()),
            ("openreview.net", "/forum?id=nopdf") => Reply::html("<html><head></head></html>"),
            ("doi.org", "/10.1000/xyz") => {
                Reply::redirect(302, "https://publisher.example/article/xyz")
            }
            ("publisher.example", "/article/xyz") => {
                Reply::html("<meta name=\"citation_pdf_url\" content=\"/article/xyz.pdf\">")
            }
            ("publisher.example", "/article/xyz.pdf") => Reply::status(200).body(pdf()),
            ("github.com", "/o/r/raw/main/fig.png") => {
                Reply::redirect(302, "https://raw.githubusercontent.com/o/r/main/fig.png")
            }
            ("raw.githubusercontent.com", "/o/r/main/fig.png") => Reply::status(200).body(png(93)),
            _ => Reply::status(404),
        },
    );
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "[v7](https://arxiv.org/abs/2207.02696v2) [old](https://arxiv.org/abs/quant-ph/0112019)\n\n\
         [or](https://openreview.net/forum?id=abc) [none](https://openreview.net/forum?id=nopdf)\n\n\
         [doi](https://doi.org/10.1000/xyz)\n\n\
         ![fig](https://github.com/o/r/blob/main/fig.png)\n",
    );
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 2, "{summary}");
    for (url, bytes) in [
        (
            "https://arxiv.org/abs/2207.02696v2",
            &file(b"%PDF-1.5\n", 91, 5000),
        ),
        (
            "https://arxiv.org/abs/quant-ph/0112019",
            &file(b"%PDF-1.5\n", 91, 5000),
        ),
        (
            "https://openreview.net/forum?id=abc",
            &file(b"%PDF-1.6\n", 92, 5000),
        ),
        ("https://doi.org/10.1000/xyz", &pdf()),
    ] {
        let r = &results[url];
        assert_eq!(s(r, "outcome"), "fetched", "{url}: {r}");
        assert_eq!(s(r, "media_type"), "application/pdf");
        assert_eq!(s(r, "object"), object_of(bytes, "pdf"), "{url}");
    }
    assert_eq!(
        outcome(&results, "https://openreview.net/forum?id=nopdf"),
        ("failed", "no-pdf")
    );
    assert_eq!(
        s(
            &results["https://github.com/o/r/blob/main/fig.png"],
            "object"
        ),
        object_of(&png(93), "png")
    );
    // arXiv's abstract page itself was never asked for.
    assert_eq!(fixture.requests("arxiv.org", "/abs/2207.02696v2"), 0);
}

#[test]
fn urls_on_the_command_line_are_fetched_as_what_they_are() {
    let fixture = Fixture::start(HOSTS, |req: &Req| match req.path.as_str() {
        "/direct.gif" => Reply::status(200).body(gif()),
        _ => Reply::html("a page"),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST);
    let (code, stdout, stderr) = run(
        &tree,
        &fixture,
        &[
            "fetch",
            "--kinds",
            "pdf",
            "https://img.example.org/direct.gif",
            "https://img.example.org/about",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
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
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 2, "{summary}");
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
    let (code, _, results) = fetch(&tree, &fixture, &["--no-wayback"]);
    assert_eq!(code, 2);
    assert_eq!(
        outcome(&results, "https://img.example.org/kept.png"),
        ("failed", "http-404")
    );
    assert_eq!(fixture.requests_to("archive.org"), before);
    assert_eq!(fixture.requests_to("web.archive.org"), 1);

    // The text report says where the bytes came from.
    std::fs::remove_dir_all(tree.path().join("archive")).unwrap();
    let (_, stdout, _) = run(&tree, &fixture, &["fetch", "notes"]);
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
    let (code, _, _) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0);
    let first = objects(&tree);
    assert_eq!(first.len(), 4);

    version.store(2, std::sync::atomic::Ordering::SeqCst);
    // Without --refresh nothing is asked.
    let (code, summary, _) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0);
    assert_eq!(summary["present"], 4);
    assert_eq!(fixture.requests("img.example.org", "/changing.png"), 1);

    let (code, summary, results) = fetch(&tree, &fixture, &["--refresh"]);
    assert_eq!(code, 0, "{summary}");
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
    let (_, stdout, _) = run(&tree, &fixture, &["gc", "--dry-run", "notes"]);
    assert!(stdout.contains(&object_of(&png(111), "png")), "{stdout}");
}

/// A rule for `cdn.example.net` that learns its stand-in.
fn learning_rule() -> String {
    format!(
        "{FAST}\n[[sites]]\nname = \"example-cdn\"\nhosts = [\"cdn.example.net\"]\nkind = \"image\"\n\
         host_concurrency = 1\nreferers = [\"none\", \"https://www.example.net/\"]\n\
         placeholder_probe = \"https://elsewhere.example/\"\n"
    )
}

/// `cdn.example.net`: the stand-in unless its own site's Referer is sent; a
/// path starting `/0dead` is gone and one starting `/0walled` is always the
/// stand-in (the `0` sorts them first, so learning meets them first).
fn walled_cdn(req: &Req) -> Reply {
    let stand_in = png_sized(200, 100, 9);
    if req.path.starts_with("/0dead") {
        return Reply::status(404);
    }
    if req.path.starts_with("/0walled") {
        return Reply::status(200).body(stand_in);
    }
    match req.headers.get("referer").map(String::as_str) {
        Some("https://www.example.net/") => {
            Reply::status(200).body(png_sized(800, 600, req.path.len() as u8))
        }
        _ => Reply::status(200).body(stand_in),
    }
}

#[test]
fn learning_survives_a_dead_or_walled_first_url() {
    let fixture = Fixture::start(&["cdn.example.net"], walled_cdn);
    let tree = Tree::new();
    tree.file("archiver.toml", learning_rule()).file(
        "notes/n.md",
        "![d](https://cdn.example.net/0dead)\n\n![w](https://cdn.example.net/0walled)\n\n\
         ![a](https://cdn.example.net/a)\n\n![bb](https://cdn.example.net/bb)\n",
    );
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 2, "{summary}");
    assert_eq!(
        outcome(&results, "https://cdn.example.net/0dead"),
        ("failed", "http-404")
    );
    assert_eq!(
        outcome(&results, "https://cdn.example.net/0walled"),
        ("failed", "placeholder")
    );
    assert_eq!(
        s(&results["https://cdn.example.net/a"], "object"),
        object_of(&png_sized(800, 600, 2), "png")
    );
    assert_eq!(
        s(&results["https://cdn.example.net/bb"], "object"),
        object_of(&png_sized(800, 600, 3), "png")
    );
    assert!(!objects(&tree).contains(&object_of(&png_sized(200, 100, 9), "png")));
    assert!(temp_files(&tree).is_empty());
}

#[test]
fn a_host_that_ignores_referers_keeps_every_picture() {
    // Two URLs with the same bytes, one picture the size of WeChat's stand-in:
    // this CDN gives everyone the same, so nothing is a placeholder.
    let fixture = Fixture::start(HOSTS, |req: &Req| {
        let path = req
            .path
            .split_once('?')
            .map_or(req.path.as_str(), |(p, _)| p);
        match path {
            "/mmbiz_png/a/640" | "/mmbiz_png/b/640" => {
                Reply::status(200).body(png_sized(640, 360, 3))
            }
            _ => Reply::status(404),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![a](https://mmbiz.qpic.cn/mmbiz_png/a/640?wx_fmt=png)\n\n\
         ![b](https://mmbiz.qpic.cn/mmbiz_png/b/640?wx_fmt=png)\n",
    );
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary} {results:#?}");
    for url in [
        "https://mmbiz.qpic.cn/mmbiz_png/a/640?wx_fmt=png",
        "https://mmbiz.qpic.cn/mmbiz_png/b/640?wx_fmt=png",
    ] {
        assert_eq!(
            s(&results[url], "object"),
            object_of(&png_sized(640, 360, 3), "png")
        );
    }
}

#[test]
fn a_real_picture_the_size_of_the_stand_in_is_kept_once_the_stand_in_is_known() {
    let fixture = Fixture::start(HOSTS, |req: &Req| {
        let foreign = req
            .headers
            .get("referer")
            .is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"));
        if foreign {
            return Reply::status(200).body(png_sized(470, 349, 1));
        }
        let path = req
            .path
            .split_once('?')
            .map_or(req.path.as_str(), |(p, _)| p);
        match path {
            "/mmbiz_png/real/640" => Reply::status(200).body(png_sized(470, 349, 7)),
            _ => Reply::status(404),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![r](https://mmbiz.qpic.cn/mmbiz_png/real/640?wx_fmt=png)\n",
    );
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        s(
            &results["https://mmbiz.qpic.cn/mmbiz_png/real/640?wx_fmt=png"],
            "object"
        ),
        object_of(&png_sized(470, 349, 7), "png")
    );
}

#[test]
fn a_refused_video_is_asked_again_with_wechat_s_referer() {
    let mp4 = file(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2", 6, 2000);
    let served = mp4.clone();
    let fixture = Fixture::start(&["mpvideo.qpic.cn"], move |req: &Req| {
        match req.headers.get("referer").map(String::as_str) {
            Some("https://mp.weixin.qq.com/") => Reply::status(200).body(served.clone()),
            _ => Reply::status(403),
        }
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "<video src=\"https://mpvideo.qpic.cn/0bc3abc.f10002.mp4?dis_k=x&dis_t=1\"></video>\n",
    );
    let (code, summary, results) = fetch(&tree, &fixture, &["--kinds", "video"]);
    assert_eq!(code, 0, "{summary}");
    let video = &results["https://mpvideo.qpic.cn/0bc3abc.f10002.mp4?dis_k=x&dis_t=1"];
    assert_eq!(s(video, "object"), object_of(&mp4, "mp4"), "{video}");
}

#[test]
fn an_expired_video_says_so() {
    let fixture = Fixture::start(&["mpvideo.qpic.cn"], |_: &Req| Reply::status(403));
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "<video src=\"https://mpvideo.qpic.cn/old.f10002.mp4?dis_k=x&dis_t=1\"></video>\n",
    );
    let (code, _, results) = fetch(&tree, &fixture, &["--kinds", "video"]);
    assert_eq!(code, 2);
    assert_eq!(
        outcome(
            &results,
            "https://mpvideo.qpic.cn/old.f10002.mp4?dis_k=x&dis_t=1"
        ),
        ("failed", "expired")
    );
}

#[test]
fn a_paper_link_that_is_a_pdf_is_asked_once() {
    let fixture = Fixture::start(HOSTS, |req: &Req| match req.path.as_str() {
        "/pdf/2207.02696" => Reply::status(200)
            .header("content-type", "application/pdf")
            .body(pdf()),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "[p](https://arxiv.org/pdf/2207.02696)\n");
    let (code, summary, results) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        s(&results["https://arxiv.org/pdf/2207.02696"], "object"),
        object_of(&pdf(), "pdf")
    );
    assert_eq!(fixture.requests("arxiv.org", "/pdf/2207.02696"), 1);
}

#[test]
fn a_refresh_keeps_the_archived_copy_when_the_origin_is_gone_or_walled() {
    // Phase 1 serves everything; phase 2: /lm.png answers 304 to its date,
    // /gone.png is gone (and has a Wayback capture, which must not be used),
    // /0walled serves the stand-in to everyone.
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let served = std::sync::Arc::clone(&phase);
    let fixture = Fixture::start(
        &["cdn.example.net", "archive.org", "web.archive.org"],
        move |req: &Req| {
            let later = served.load(std::sync::atomic::Ordering::SeqCst) == 2;
            match (req.host.as_str(), req.path.as_str()) {
                ("archive.org", _) => Reply::status(200).body(
                    r#"{"archived_snapshots":{"closest":{"available":true,"status":"200","timestamp":"20200101000000"}}}"#,
                ),
                ("web.archive.org", _) => Reply::status(200).body(png(131)),
                ("cdn.example.net", "/lm.png") => {
                    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
                    if req.headers.get("if-modified-since").map(String::as_str) == Some(date) {
                        Reply::status(304)
                    } else {
                        let seed = if later { 133 } else { 132 };
                        Reply::status(200).header("last-modified", date).body(png(seed))
                    }
                }
                ("cdn.example.net", "/gone.png") if later => Reply::status(404),
                ("cdn.example.net", "/0walled.png") if later => {
                    Reply::status(200).body(png_sized(200, 100, 9))
                }
                _ if later => walled_cdn(req),
                _ => Reply::status(200).body(png_sized(800, 600, req.path.len() as u8)),
            }
        },
    );
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        learning_rule().replace("[fetch]\nwayback = false\n", ""),
    )
    .file(
        "notes/n.md",
        "![](https://cdn.example.net/lm.png)\n\n![](https://cdn.example.net/gone.png)\n\n\
         ![](https://cdn.example.net/0walled.png)\n\n![](https://cdn.example.net/a)\n",
    );
    let (code, summary, _) = fetch(&tree, &fixture, &[]);
    assert_eq!(code, 0, "{summary}");
    let before = manifest(&tree);

    phase.store(2, std::sync::atomic::Ordering::SeqCst);
    let (code, summary, results) = fetch(&tree, &fixture, &["--refresh"]);
    assert_eq!(code, 0, "{summary} {results:#?}");
    // The date went along, and 304 kept the copy.
    assert_eq!(
        outcome(&results, "https://cdn.example.net/lm.png"),
        ("present", "")
    );
    // Gone at the origin: the copy stays, the Wayback Machine is not asked.
    assert_eq!(
        outcome(&results, "https://cdn.example.net/gone.png"),
        ("present", "http-404")
    );
    assert_eq!(fixture.requests_to("archive.org"), 0);
    // Walled now: the copy stays, whenever the stand-in was learnt.
    assert_eq!(
        outcome(&results, "https://cdn.example.net/0walled.png"),
        ("present", "placeholder")
    );
    // Nothing the first run archived was lost.
    assert_eq!(manifest(&tree), before);
    let (_, stdout, _) = run(&tree, &fixture, &["gc", "--dry-run", "notes"]);
    assert!(stdout.contains("would remove 0 unreferenced"), "{stdout}");
}
