//! The archive on object storage, against a real S3 server (moto's, started by
//! each test on an ephemeral port of 127.0.0.1 and stopped at its end; without
//! it the tests print "skipped: …"): a fetch to a bucket lands what a fetch to
//! a folder lands, a rerun uploads nothing, verify and gc work by listing,
//! the lock object keeps a second run out and is taken over from a dead one,
//! a killed upload leaves nothing behind a rerun cannot clean, and a large
//! object streams up in bounded memory.

#![cfg(unix)]

mod util;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use util::archive::{FAST, HOSTS, fetch, object_of, sha256};
use util::media::{pdf, png};
use util::s3::{S3, peak_rss_kb};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Tree, archiver_process};

/// The secret the tests give the archiver: it must appear in no output.
const SECRET: &str = "test-secret-never-printed";

fn site(req: &Req) -> Reply {
    match (req.host.as_str(), req.path.as_str()) {
        ("img.example.org", "/a.png") => Reply::status(200).body(png(1)),
        ("img.example.org", "/b.png") => Reply::status(200).body(png(2)),
        ("img.example.org", "/copy-of-a.png") => Reply::status(200).body(png(1)),
        ("files.example.org", "/paper.pdf") => Reply::status(200).body(pdf()),
        _ => Reply::status(404),
    }
}

fn notes(archive: &str) -> Tree {
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!("{FAST}\n[archive]\ndir = \"{archive}\"\npublic_url = \"https://media.example.org/a/\"\n"),
    )
    .file(
        "notes/day.md",
        "![a](https://img.example.org/a.png)\n\n![b](https://img.example.org/b.png)\n\n\
         ![same](https://img.example.org/copy-of-a.png)\n\n[paper](https://files.example.org/paper.pdf)\n",
    );
    tree
}

/// The manifest's records without the moment each was fetched.
fn records(text: &str) -> Vec<Value> {
    text.lines()
        .skip(1)
        .map(|l| {
            let mut record: Value = serde_json::from_str(l).unwrap();
            record.as_object_mut().unwrap().remove("fetched_at");
            record
        })
        .collect()
}

#[test]
fn a_bucket_holds_what_a_folder_holds_and_verify_and_gc_work_by_listing() {
    let Some(s3) = S3::start("a_bucket_holds_what_a_folder_holds") else {
        return;
    };
    let fixture = Fixture::start(HOSTS, site);
    let local = notes("archive");
    fetch(&local, &fixture, &[]).expect(Exit::Success);
    let remote = notes(&s3.url("a"));
    let ran = s3.with(fetch(&remote, &fixture, &[])).expect(Exit::Success);
    assert!(!ran.stderr.contains(SECRET));

    // The same layout, the same objects, the same records.
    let mut on_disk = util::archive::objects(&local);
    on_disk.sort();
    assert_eq!(s3.objects("a"), on_disk);
    assert!(
        s3.get("a/FORMAT")
            .unwrap()
            .starts_with(b"archiver-archive 1")
    );
    let local_manifest =
        std::fs::read_to_string(local.path().join("archive/manifest.jsonl")).unwrap();
    let remote_manifest = String::from_utf8(s3.get("a/manifest.jsonl").unwrap()).unwrap();
    assert_eq!(records(&remote_manifest), records(&local_manifest));
    assert!(s3.get("a/lock").is_none(), "the lock goes with the run");

    // A rerun uploads nothing: every object keeps its version.
    let before = s3.list("a");
    s3.with(fetch(&remote, &fixture, &[])).expect(Exit::Success);
    let after = s3.list("a");
    let objects = |l: &[util::s3::Listed]| {
        l.iter()
            .filter(|o| o.key.starts_with("objects/"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(objects(&after), objects(&before));

    // verify is clean, and finds bytes that are not their name's.
    s3.with(remote.archiver().arg("verify"))
        .expect(Exit::Success);
    let a = object_of(&png(1), "png");
    s3.put(&format!("a/{a}"), b"\x89PNG\r\n\x1a\nnot these bytes");
    s3.with(remote.archiver().arg("verify"))
        .expect(Exit::Findings)
        .stdout_has(&a);
    s3.put(&format!("a/{a}"), &png(1));

    // gc removes exactly the unreferenced objects, and uploads a dead run left.
    let stray = b"\x89PNG\r\n\x1a\nnothing refers to me".to_vec();
    let stray_key = object_of(&stray, "png");
    s3.put(&format!("a/{stray_key}"), &stray);
    let upload =
        s3.boto3("print(s3.create_multipart_upload(Bucket=bucket, Key='a/tmp/dead')['UploadId'])");
    s3.put("a/tmp/dead.upload", upload.as_bytes());
    assert_eq!(s3.uploads(), ["a/tmp/dead"]);
    s3.with(remote.archiver().arg("gc")).expect(Exit::Success);
    assert_eq!(s3.objects("a"), on_disk);
    assert!(s3.uploads().is_empty(), "{:?}", s3.uploads());
    assert!(s3.list("a/tmp").is_empty());
    s3.with(remote.archiver().arg("verify"))
        .expect(Exit::Success);
}

#[test]
fn rewrite_points_notes_at_the_public_url_or_refuses_without_one() {
    let Some(s3) = S3::start("rewrite_points_notes_at_the_public_url") else {
        return;
    };
    let fixture = Fixture::start(HOSTS, site);
    let remote = notes(&s3.url("r"));
    s3.with(fetch(&remote, &fixture, &[])).expect(Exit::Success);
    s3.with(remote.archiver().args(["rewrite", "notes"]))
        .expect(Exit::Success);
    let note = std::fs::read_to_string(remote.path().join("notes/day.md")).unwrap();
    let a = object_of(&png(1), "png");
    assert!(
        note.contains(&format!("![a](https://media.example.org/a/{a})")),
        "{note}"
    );
    assert!(s3.get("r/rewrites.jsonl").is_some());
    // And back, from the journal in the bucket.
    let original = std::fs::read_to_string(remote.path().join("notes/day.md")).unwrap();
    s3.with(remote.archiver().args(["rewrite", "--restore", "notes"]))
        .expect(Exit::Success);
    let restored = std::fs::read_to_string(remote.path().join("notes/day.md")).unwrap();
    assert!(
        restored.contains("![a](https://img.example.org/a.png)"),
        "{restored}"
    );
    assert_ne!(restored, original);
    // WARC files are written to a folder: a bucket's fetch --warc refuses.
    s3.with(fetch(&remote, &fixture, &["--warc"]))
        .expect(Exit::Error)
        .stderr_has("WARC files are written to a local archive folder only");

    // Without a public address there is nothing to link to.
    let bare = Tree::new();
    bare.file("archiver.toml", FAST)
        .file("notes/n.md", "![a](https://img.example.org/a.png)\n");
    s3.with(
        bare.archiver()
            .args(["rewrite", "--archive", &s3.url("r"), "notes"]),
    )
    .expect(Exit::Error)
    .stderr_has("archive.public_url");
}

/// The lock's JSON, as another machine would write it.
fn foreign_lock(expires: u64) -> String {
    format!(r#"{{"host":"elsewhere","pid":1,"command":"fetch","expires":{expires}}}"#)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_lock_held_elsewhere_refuses_until_its_lease_ends() {
    let Some(s3) = S3::start("a_lock_held_elsewhere") else {
        return;
    };
    let fixture = Fixture::start(HOSTS, site);
    let remote = notes(&s3.url("l"));
    s3.with(fetch(&remote, &fixture, &[])).expect(Exit::Success);
    s3.put("l/lock", foreign_lock(now() + 600).as_bytes());
    s3.with(remote.archiver().arg("verify"))
        .expect(Exit::Error)
        .stderr_has("archive locked by pid 1 on host elsewhere (`archiver fetch`)")
        .stderr_lacks(SECRET);
    s3.put("l/lock", foreign_lock(now() - 1).as_bytes());
    s3.with(remote.archiver().arg("verify"))
        .expect(Exit::Success);
    assert!(s3.get("l/lock").is_none());
}

/// Twelve megabytes of PNG-looking bytes, more than one part.
fn big_image() -> Vec<u8> {
    let mut bytes = png(9);
    let mut state: u32 = 0x9e37_79b9;
    bytes.extend((0..12 << 20).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state.to_le_bytes()[0]
    }));
    bytes
}

#[test]
fn a_second_run_is_refused_and_a_killed_upload_is_cleaned_by_the_rerun() {
    let Some(s3) = S3::start("a_second_run_is_refused") else {
        return;
    };
    let big = Arc::new(big_image());
    let served = Arc::new(AtomicUsize::new(0));
    let (body, count) = (Arc::clone(&big), Arc::clone(&served));
    // The first answer trickles, so that the run is killed mid-upload.
    let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
        "/big.png" if count.fetch_add(1, Ordering::SeqCst) == 0 => Reply::status(200)
            .body(body.as_slice())
            .in_pieces(256 << 10, Duration::from_millis(40)),
        "/big.png" => Reply::status(200).body(body.as_slice()),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!("{FAST}\n[archive]\ndir = \"{}\"\n", s3.url("k")),
    )
    .file("notes/n.md", "![big](https://img.example.org/big.png)\n");
    let mut args = vec!["fetch".to_owned(), "notes".to_owned()];
    args.extend(fixture.args());
    let mut first = archiver_process(tree.path())
        .args(&args)
        .envs(s3.env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once its first part is up: the marker of its upload is there.
    let started = Instant::now();
    while !s3.list("k/tmp").iter().any(|l| l.key.ends_with(".upload")) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no upload began"
        );
        assert!(first.try_wait().unwrap().is_none(), "finished too soon");
        std::thread::sleep(Duration::from_millis(20));
    }
    s3.with(tree.archiver().args(&args))
        .expect(Exit::Error)
        .stderr_has(&format!("archive locked by pid {} on host", first.id()))
        .stderr_lacks(SECRET);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(s3.uploads().len(), 1, "the killed run's upload is left");
    assert!(
        s3.objects("k").is_empty(),
        "nothing half-uploaded is visible"
    );

    // Its pid is gone on this host: the lock is taken over at once.
    s3.with(tree.archiver().args(&args)).expect(Exit::Success);
    assert!(s3.uploads().is_empty(), "{:?}", s3.uploads());
    assert!(s3.list("k/tmp").is_empty());
    assert_eq!(s3.objects("k"), [object_of(&big, "png")]);
    s3.with(tree.archiver().arg("verify")).expect(Exit::Success);
}

/// `S3_BIG_MB` megabytes (64 by default; bench/s3_big.sh runs 2048) go up as a
/// multipart upload while the archiver's resident memory stays under 64 MB.
#[test]
fn a_large_object_streams_up_in_bounded_memory() {
    let Some(s3) = S3::start("a_large_object_streams_up") else {
        return;
    };
    let megabytes: usize = std::env::var("S3_BIG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    // A megabyte of PNG-looking bytes sent `megabytes` times over: the
    // fixture never holds the body whole.
    let mut chunk = png(3);
    chunk.resize(1 << 20, 7);
    let expected = {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        for _ in 0..megabytes {
            hasher.update(&chunk);
        }
        util::s3_hex(&hasher.finalize())
    };
    let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
        "/huge.png" => Reply::status(200).body(&chunk).repeated(megabytes),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file(
        "archiver.toml",
        format!("{FAST}\n[archive]\ndir = \"{}\"\n", s3.url("big"))
            .replace("[fetch]\n", "[fetch]\nmax_object_size = \"3GB\"\n")
            .replace("timeout = \"5s\"", "timeout = \"60s\""),
    )
    .file("notes/n.md", "![huge](https://img.example.org/huge.png)\n");
    let mut args = vec!["fetch".to_owned(), "notes".to_owned()];
    args.extend(fixture.args());
    let started = Instant::now();
    let mut run = archiver_process(tree.path())
        .args(&args)
        .envs(s3.env())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(run.id()) {
            peak = peak.max(kb);
        }
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "{megabytes} MB up in {:.1} s, peak RSS {} MB",
        started.elapsed().as_secs_f64(),
        peak / 1024
    );
    assert!(status.success());
    assert_eq!(
        s3.objects("big"),
        [format!("objects/{}/{expected}.png", &expected[..2])]
    );
    assert!(peak < 64 * 1024, "peak RSS {peak} kB");
}

/// A fetch into the bucket's `prefix` of one large image served slowly
/// (`piece` bytes every `pause`), to act while it runs.
struct SlowFetch {
    big: Arc<Vec<u8>>,
    fixture: Fixture,
    tree: Tree,
    args: Vec<String>,
}

impl SlowFetch {
    fn new(s3: &S3, prefix: &str, piece: usize, pause: Duration) -> Self {
        let big = Arc::new(big_image());
        let body = Arc::clone(&big);
        let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
            "/big.png" => Reply::status(200)
                .body(body.as_slice())
                .in_pieces(piece, pause),
            _ => Reply::status(404),
        });
        let tree = Tree::new();
        tree.file(
            "archiver.toml",
            format!("{FAST}\n[archive]\ndir = \"{}\"\n", s3.url(prefix)),
        )
        .file("notes/n.md", "![big](https://img.example.org/big.png)\n");
        let mut args = vec!["fetch".to_owned(), "notes".to_owned()];
        args.extend(fixture.args());
        SlowFetch {
            big,
            fixture,
            tree,
            args,
        }
    }

    /// The fetch, as a process to spawn.
    fn command(&self, s3: &S3) -> std::process::Command {
        let mut command = archiver_process(self.tree.path());
        command.args(&self.args).envs(s3.env());
        command
    }
}

#[test]
fn a_manifest_changed_behind_a_runs_back_is_not_overwritten() {
    let Some(s3) = S3::start("a_manifest_changed_behind_a_runs_back") else {
        return;
    };
    let slow = SlowFetch::new(&s3, "m", 1 << 20, Duration::from_millis(100));
    let run = slow
        .command(&s3)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let SlowFetch {
        big,
        fixture,
        tree,
        args,
    } = slow;
    // Another writer, one that takes no lock, writes the manifest once the
    // run has read it (its download has begun).
    let started = Instant::now();
    while fixture.requests("img.example.org", "/big.png") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never downloaded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let theirs = b"{\"format\":\"archiver-manifest\",\"version\":1}\n";
    s3.put("m/manifest.jsonl", theirs);
    let out = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "the manifest was changed since this run read it, by a writer that took no lock"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET));
    assert_eq!(
        s3.get("m/manifest.jsonl").unwrap(),
        theirs,
        "not overwritten"
    );
    // The object is there; a rerun records it.
    assert_eq!(s3.objects("m"), [object_of(&big, "png")]);
    s3.with(tree.archiver().args(&args)).expect(Exit::Success);
    let manifest = String::from_utf8(s3.get("m/manifest.jsonl").unwrap()).unwrap();
    assert!(manifest.contains(&sha256(&big)), "{manifest}");
}

#[test]
fn the_holder_renews_its_lease_while_it_runs() {
    let Some(s3) = S3::start("the_holder_renews_its_lease") else {
        return;
    };
    // Four seconds of download, with a lease of three renewed every second.
    let slow = SlowFetch::new(&s3, "n", 256 << 10, Duration::from_millis(80));
    let mut run = slow
        .command(&s3)
        .env("ARCHIVER_S3_LEASE", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let expires = || -> Option<u64> {
        let lock: Value = serde_json::from_slice(&s3.get("n/lock")?).ok()?;
        lock["expires"].as_u64()
    };
    let started = Instant::now();
    let first = loop {
        if let Some(at) = expires() {
            break at;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never locked");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(2200));
    let later = expires().expect("still locked");
    assert!(later > first, "{later} > {first}");
    assert!(run.wait().unwrap().success());
    assert!(s3.get("n/lock").is_none());
}

#[test]
fn a_profile_supplies_what_the_environment_leaves_unsaid() {
    let Some(s3) = S3::start("a_profile_supplies") else {
        return;
    };
    let fixture = Fixture::start(HOSTS, site);
    let tree = notes(&s3.url("p"));
    s3.with(fetch(&tree, &fixture, &[])).expect(Exit::Success);
    tree.file(
        "aws/config",
        format!("[profile archive]\nregion = us-east-1\nendpoint_url = {}\n", s3.endpoint),
    )
    .file(
        "aws/credentials",
        format!("[default]\naws_access_key_id = nobody\n\n[archive]\naws_access_key_id = test\naws_secret_access_key = {SECRET}\n"),
    );
    let mut run = tree.archiver().arg("verify");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
    ] {
        run = run.env_remove(var);
    }
    run.env("AWS_PROFILE", "archive")
        .env("AWS_CONFIG_FILE", tree.path().join("aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            tree.path().join("aws/credentials"),
        )
        .env("AWS_ALLOW_HTTP", "true")
        .expect(Exit::Success)
        .stdout_has("clean")
        .stderr_lacks(SECRET);
}

#[test]
fn listing_pages_through_more_objects_than_one_answer_holds() {
    let Some(s3) = S3::start("listing_pages_through") else {
        return;
    };
    let fixture = Fixture::start(HOSTS, site);
    let remote = notes(&s3.url("g"));
    s3.with(fetch(&remote, &fixture, &[])).expect(Exit::Success);
    // 2,500 objects nothing refers to: three pages of a listing.
    s3.boto3(
        "import hashlib\nfrom concurrent.futures import ThreadPoolExecutor\n\
         def put(i):\n    body = f'object {i}'.encode()\n    sha = hashlib.sha256(body).hexdigest()\n    \
         s3.put_object(Bucket=bucket, Key=f'g/objects/{sha[:2]}/{sha}.txt', Body=body)\n\
         with ThreadPoolExecutor(8) as pool:\n    list(pool.map(put, range(2500)))\n",
    );
    s3.with(remote.archiver().args(["gc", "--dry-run"]))
        .expect(Exit::Success)
        .stdout_has("would remove 2500 unreferenced objects");
    s3.with(remote.archiver().arg("gc")).expect(Exit::Success);
    assert_eq!(s3.objects("g").len(), 3);
    s3.with(remote.archiver().arg("verify"))
        .expect(Exit::Success);
}

#[test]
fn check_marks_a_dead_link_with_its_copy_in_the_bucket() {
    let Some(s3) = S3::start("check_marks_a_dead_link") else {
        return;
    };
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deleted = Arc::clone(&gone);
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        if deleted.load(Ordering::SeqCst) {
            return Reply::status(404);
        }
        site(req)
    });
    let remote = notes(&s3.url("c"));
    s3.with(fetch(&remote, &fixture, &[])).expect(Exit::Success);
    gone.store(true, Ordering::SeqCst);
    let report = s3
        .with(remote.check(&fixture).arg("notes"))
        .expect(Exit::Findings)
        .report();
    let dead = &report.results["https://img.example.org/a.png"];
    assert_eq!(
        util::s(dead, "archived_copy"),
        format!("{}/{}", s3.url("c"), object_of(&png(1), "png"))
    );
    s3.with(remote.check(&fixture).args(["--archived-ok", "notes"]))
        .expect(Exit::Success);
}

#[test]
fn the_html_report_shows_a_buckets_objects_at_the_public_url() {
    let Some(s3) = S3::start("the_html_report_shows_a_buckets_objects") else {
        return;
    };
    let fixture = Fixture::start(HOSTS, site);
    let remote = notes(&s3.url("h"));
    s3.with(fetch(&remote, &fixture, &[])).expect(Exit::Success);
    s3.with(remote.check(&fixture).arg("notes"))
        .expect(Exit::Success);
    s3.with(remote.archiver().args([
        "report",
        "--format",
        "html",
        "--output",
        "report.html",
        "notes",
    ]))
    .expect(Exit::Success);
    let html = std::fs::read_to_string(remote.path().join("report.html")).unwrap();
    let a = object_of(&png(1), "png");
    assert!(
        html.contains(&format!("https://media.example.org/a/{a}")),
        "the gallery links the bucket's objects where they are served"
    );
    // The PDF is there too, linked the same way.
    assert!(
        html.contains(&format!(
            "https://media.example.org/a/{}",
            object_of(&pdf(), "pdf")
        )),
        "the PDF is in the gallery"
    );

    // Without a public address the report has nothing to link to.
    let bare = Tree::new();
    bare.file("archiver.toml", FAST);
    std::fs::create_dir_all(bare.path().join(".archiver")).unwrap();
    std::fs::copy(
        remote.path().join(".archiver/state.db"),
        bare.path().join(".archiver/state.db"),
    )
    .unwrap();
    s3.with(bare.archiver().args([
        "report",
        "--format",
        "html",
        "--output",
        "report.html",
        "--archive",
        &s3.url("h"),
    ]))
    .expect(Exit::Error)
    .stderr_has("archive.public_url");
}
