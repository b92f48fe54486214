//! Killed at any moment: `archiver fetch`, `archiver rewrite` and `archiver
//! check` are stopped with SIGKILL at random moments of a run; after each kill
//! the archive holds no corrupt or missing object, every note is whole (old or
//! new), every finished run of the state database has all its rows, and a
//! rerun finishes with a clean `verify` and no temp file left.
//!
//! `cargo test` kills each command a few times; `bench/crash.sh` runs the long
//! loop (`CRASH_KILLS=50`) and prints the figures.

#![cfg(unix)]

mod util;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use util::server::{Fixture, Reply, Req};
use util::{Exit, Tree, archiver_in, archiver_process};

const CONFIG: &str =
    "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n\n[fetch]\nwayback = false\n";

/// How many kills per command: `CRASH_KILLS`, else a few.
fn kills() -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

fn image(seed: u32, len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    bytes.extend((0..len).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state.to_le_bytes()[0]
    }));
    bytes
}

/// Forty small images and four large ones that arrive in pieces, so a run
/// lasts long enough to be killed in every phase.
fn media_server() -> Fixture {
    Fixture::start(&["img.example.org"], |req: &Req| {
        let n: u32 = req
            .path
            .trim_start_matches("/small/")
            .trim_start_matches("/large/")
            .trim_end_matches(".png")
            .parse()
            .unwrap_or(0);
        if req.path.starts_with("/large/") {
            Reply::status(200)
                .body(image(1000 + n, 3 << 20))
                .in_pieces(256 * 1024, Duration::from_millis(15))
        } else {
            Reply::status(200)
                .body(image(n, 20_000))
                .delay(Duration::from_millis(u64::from(n % 7) * 10))
        }
    })
}

fn notes(tree: &Tree) {
    for note in 0..4 {
        let mut text = String::from("# images\r\n\r\n");
        for n in 0..10 {
            text.push_str(&format!(
                "![s](https://img.example.org/small/{}.png)\r\n",
                note * 10 + n
            ));
        }
        text.push_str(&format!(
            "![l](https://img.example.org/large/{note}.png)\r\n"
        ));
        tree.file(&format!("notes/{note}.md"), text);
    }
}

/// `verify`'s findings by kind, and whether temp files remain. A verify that
/// could not read the archive at all (a torn manifest) fails the test.
fn verify(dir: &Path) -> (Vec<String>, bool) {
    let ran = archiver_in(dir).arg("verify").finish();
    let stdout = &ran.stdout;
    let no_archive_yet =
        !dir.join("archive/manifest.jsonl").exists() && ran.stderr.contains("archive");
    assert!(
        stdout.contains(" rehashed, ") || no_archive_yet,
        "verify could not read the archive: {}{}",
        stdout,
        ran.stderr
    );
    let problems = stdout
        .lines()
        .filter(|l| !l.starts_with("note ") && !l.contains(" rehashed, "))
        .map(str::to_owned)
        .collect();
    (problems, stdout.contains("temp files in"))
}

/// Runs `args` in `dir` and kills it after `after`; whether it was still
/// running then.
fn kill_after(dir: &Path, args: &[String], after: Duration) -> bool {
    let mut child = archiver_process(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let running = match child.try_wait().unwrap() {
        None => true,
        Some(status) => {
            eprintln!("finished before the kill at {after:?}: {status}");
            false
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    running
}

#[test]
fn fetch_killed_at_random_moments_leaves_a_consistent_archive() {
    let fixture = media_server();
    let tree = Tree::new();
    tree.file("archiver.toml", CONFIG);
    notes(&tree);
    let mut args: Vec<String> = vec!["fetch".into(), "notes".into()];
    args.extend(fixture.args());

    // How long a whole run takes, in a scratch copy.
    let scratch = Tree::new();
    scratch.file("archiver.toml", CONFIG);
    notes(&scratch);
    let started = Instant::now();
    let status = archiver_process(scratch.path())
        .args(&args)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let whole = started.elapsed();

    let seed = fastrand::u64(..);
    eprintln!("seed {seed}; a whole run takes {whole:?}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut killed_running, mut runs) = (0, 0);
    for round in 0..kills() {
        // Odd rounds start from the archive the last kill left; even ones
        // from none, so the kill lands anywhere in a whole run.
        if round % 2 == 0 {
            let _ = std::fs::remove_dir_all(tree.path().join("archive"));
        }
        // Within the first four fifths of a run: a kill after the end tests
        // nothing.
        let at = whole.mul_f64(0.8 * rng.f64());
        if kill_after(tree.path(), &args, at) {
            killed_running += 1;
        }
        let (problems, _) = verify(tree.path());
        let bad: Vec<&String> = problems
            .iter()
            .filter(|p| !p.starts_with("unreferenced"))
            .collect();
        assert!(
            bad.is_empty(),
            "round {round} (seed {seed}), killed at {at:?}: {bad:?}"
        );
        // After two kills, a rerun finishes and leaves the archive clean.
        if round % 2 == 1 || round + 1 == kills() {
            let status = archiver_process(tree.path()).args(&args).status().unwrap();
            assert_eq!(status.code(), Some(0), "round {round} (seed {seed})");
            let (problems, temp) = verify(tree.path());
            assert!(problems.is_empty(), "round {round}: {problems:?}");
            assert!(!temp, "round {round}: temp files left after a finished run");
            runs += 1;
        }
    }
    eprintln!(
        "fetch: {} kills ({killed_running} while running), {runs} reruns, all consistent",
        kills()
    );
    assert!(killed_running > 0 || kills() < 3, "no kill landed mid-run");
}

#[test]
fn rewrite_killed_at_random_moments_leaves_each_note_old_or_new() {
    let fixture = media_server();
    let tree = Tree::new();
    tree.file("archiver.toml", CONFIG);
    notes(&tree);
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Success);
    // Many notes, so a run is long enough to be cut.
    for copy in 0..200 {
        let text = std::fs::read(tree.path().join(format!("notes/{}.md", copy % 4))).unwrap();
        std::fs::write(tree.path().join(format!("notes/copy{copy}.md")), text).unwrap();
    }
    let names: Vec<String> = (0..4)
        .map(|n| format!("{n}.md"))
        .chain((0..200).map(|n| format!("copy{n}.md")))
        .collect();
    let read_all = |dir: &Path| -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|n| std::fs::read(dir.join("notes").join(n)).unwrap())
            .collect()
    };
    let originals = read_all(tree.path());
    // The rewritten text, from a scratch copy.
    let scratch = Tree::new();
    copy_dir(tree.path(), scratch.path());
    let started = Instant::now();
    let status = archiver_process(scratch.path())
        .args(["rewrite", "notes"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let whole = started.elapsed();
    let rewritten = read_all(scratch.path());
    assert_ne!(rewritten, originals);

    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let args: Vec<String> = vec!["rewrite".into(), "notes".into()];
    let mut landed = 0;
    for round in 0..kills() {
        if kill_after(tree.path(), &args, whole.mul_f64(rng.f64())) {
            landed += 1;
        }
        let now = read_all(tree.path());
        for (i, bytes) in now.iter().enumerate() {
            assert!(
                *bytes == originals[i] || *bytes == rewritten[i],
                "round {round} (seed {seed}): {} is neither old nor new",
                names[i]
            );
        }
        // Restore puts every note back as it was, whatever the kill left.
        let status = archiver_process(tree.path())
            .args(["rewrite", "--restore", "notes"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0));
        assert!(
            read_all(tree.path()) == originals,
            "round {round} (seed {seed}): restore did not give the notes back"
        );
        // Entries for notes the killed run never reached are forgotten too.
        let journal =
            std::fs::read_to_string(tree.path().join("archive/rewrites.jsonl")).unwrap_or_default();
        assert!(
            journal
                .lines()
                .filter(|l| !l.contains("archiver-rewrites"))
                .count()
                == 0,
            "round {round} (seed {seed}): the journal kept {journal}"
        );
    }
    assert!(landed > 0 || kills() < 3, "no kill landed mid-run");
    eprintln!(
        "rewrite: {} kills ({landed} while running), every note old or new after each, restore exact (seed {seed})",
        kills()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn check_killed_at_random_moments_loses_no_row_of_a_finished_run() {
    let fixture = Fixture::start(&["slow.example.org"], |req: &Req| {
        let n: u64 = req.path.trim_start_matches('/').parse().unwrap_or(0);
        Reply::html("fine").delay(Duration::from_millis(n * 15))
    });
    let tree = Tree::new();
    tree.file("archiver.toml", CONFIG);
    let mut note = String::new();
    for n in 0..30 {
        note.push_str(&format!("- https://slow.example.org/{n}\n"));
    }
    tree.file("notes/n.md", note);
    let mut args: Vec<String> = vec!["check".into(), "notes".into()];
    args.extend(fixture.args());
    let started = Instant::now();
    let status = archiver_process(tree.path())
        .args(&args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let whole = started.elapsed();
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut landed = 0;
    for round in 0..kills() {
        if round > 0 {
            let status = archiver_process(tree.path())
                .args(&args)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(0));
        }
        if kill_after(tree.path(), &args, whole.mul_f64(rng.f64())) {
            landed += 1;
        }
        // Every finished run has all its rows; runs killed have none.
        let db = rusqlite::Connection::open_with_flags(
            tree.path().join(".archiver/state.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut runs = db
            .prepare(
                "SELECT runs.id, runs.urls, runs.finished_at IS NOT NULL, (SELECT count(*) FROM results WHERE results.run = runs.id) FROM runs",
            )
            .unwrap();
        let runs: Vec<(i64, Option<i64>, bool, i64)> = runs
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let finished = runs.iter().filter(|r| r.2).count();
        assert!(finished > round, "round {round} (seed {seed}): {runs:?}");
        for (id, urls, done, rows) in &runs {
            if *done {
                assert_eq!(Some(*rows), *urls, "round {round} (seed {seed}): run {id}");
                assert_eq!(*rows, 30);
            } else {
                assert_eq!(*rows, 0, "round {round} (seed {seed}): killed run {id}");
            }
        }
    }
    assert!(landed > 0 || kills() < 3, "no kill landed mid-run");
    eprintln!(
        "check: {} kills ({landed} while running), every finished run whole (seed {seed})",
        kills()
    );
}
