//! What ordinary mistakes and tools do to an archive and its notes: a union
//! merge of the manifest, a damaged journal line, an editor writing to a note
//! while `rewrite` runs, an object deleted by hand. Nothing is lost, and every
//! command says what it found.

mod util;

use std::path::Path;

use util::archive::{FAST, files_under, object_of, objects};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Ran, Tree, png};

/// Notes citing two images, fetched into the archive.
fn fetched() -> (Fixture, Tree) {
    let fixture = Fixture::start(&["img.example.org"], |req: &Req| match req.path.as_str() {
        "/a.png" => Reply::status(200).body(png(1)),
        "/b.png" => Reply::status(200).body(png(2)),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file(
            "notes/a.md",
            "# A\n\n![a](https://img.example.org/a.png)\n\n![b](https://img.example.org/b.png)\n",
        )
        .file("notes/b.md", "![b](https://img.example.org/b.png)\n");
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Success);
    (fixture, tree)
}

fn manifest_lines(tree: &Tree) -> Vec<String> {
    std::fs::read_to_string(tree.path().join("archive/manifest.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_union_merged_manifest_is_reported_its_objects_kept_and_written_back_whole() {
    let (fixture, tree) = fetched();
    let lines = manifest_lines(&tree);
    let a_line = lines.iter().find(|l| l.contains("/a.png\"")).unwrap();
    // The other side of the merge stored a.png as another object (an earlier
    // capture), and the exact same b.png line twice.
    let other = png(9);
    let other_object = object_of(&other, "png");
    std::fs::create_dir_all(
        tree.path()
            .join("archive")
            .join(&other_object)
            .parent()
            .unwrap(),
    )
    .unwrap();
    std::fs::write(tree.path().join("archive").join(&other_object), &other).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(a_line).unwrap();
    let sha = other_object
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".png");
    record["object"] = other_object.clone().into();
    record["sha256"] = sha.into();
    record["size"] = other.len().into();
    record["fetched_at"] = "2020-01-01T00:00:00Z".into();
    let b_line = lines.iter().find(|l| l.contains("/b.png\"")).unwrap();
    let mut merged = lines.clone();
    merged.push(serde_json::to_string(&record).unwrap());
    merged.push(b_line.clone());
    std::fs::write(
        tree.path().join("archive/manifest.jsonl"),
        merged.join("\n") + "\n",
    )
    .unwrap();

    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Findings)
        .stdout;
    assert!(
        stdout.contains("duplicate") && stdout.contains("https://img.example.org/a.png"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the same record for https://img.example.org/b.png"),
        "an exact duplicate is reported too: {stdout}"
    );
    assert!(!stdout.contains("unreferenced"), "{stdout}");

    // gc keeps every object any line names.
    let stdout = tree
        .archiver()
        .args(["gc", "notes"])
        .expect(Exit::Success)
        .stdout;
    assert!(
        tree.path().join("archive").join(&other_object).exists(),
        "{stdout}"
    );
    assert!(
        tree.path()
            .join("archive")
            .join(object_of(&png(1), "png"))
            .exists()
    );

    // The next fetch writes one record per URL: the later capture.
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Success);
    let lines = manifest_lines(&tree);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains(&object_of(&png(1), "png"))),
        "{lines:#?}"
    );
    // The old capture is now unreferenced.
    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Findings)
        .stdout;
    assert!(
        stdout.contains("unreferenced") && !stdout.contains("duplicate"),
        "{stdout}"
    );
}

#[test]
fn a_manifest_line_that_is_not_json_is_a_finding_of_verify() {
    let (_fixture, tree) = fetched();
    let mut lines = manifest_lines(&tree);
    lines.insert(2, "<<<<<<< HEAD".into());
    std::fs::write(
        tree.path().join("archive/manifest.jsonl"),
        lines.join("\n") + "\n",
    )
    .unwrap();
    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Findings)
        .stdout;
    assert!(
        stdout.contains("bad-record") && stdout.contains("manifest.jsonl:3"),
        "{stdout}"
    );
    // gc will not sweep an archive it cannot read whole.
    let stderr = tree
        .archiver()
        .args(["gc", "notes"])
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("manifest.jsonl:3"), "{stderr}");
}

#[test]
fn a_damaged_journal_line_is_reported_stops_gc_and_the_rest_is_restored() {
    let (_fixture, tree) = fetched();
    let original_a = std::fs::read(tree.path().join("notes/a.md")).unwrap();
    let original_b = std::fs::read(tree.path().join("notes/b.md")).unwrap();
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    let journal_path = tree.path().join("archive/rewrites.jsonl");
    let journal = std::fs::read_to_string(&journal_path).unwrap();
    // Cut the entry of b.md short, as a bad merge or a crashed editor might.
    let damaged: Vec<String> = journal
        .lines()
        .map(|l| {
            if l.contains("\"note\":\"notes/b.md\"") {
                l[..l.len() / 2].to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    let bad_line = damaged.iter().position(|l| !l.ends_with('}')).unwrap() + 1;
    std::fs::write(&journal_path, damaged.join("\n") + "\n").unwrap();

    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Findings)
        .stdout;
    assert!(
        stdout.contains("bad-entry") && stdout.contains(&format!("rewrites.jsonl:{bad_line}")),
        "{stdout}"
    );

    let count = || objects(&tree).len();
    let before = count();
    let stderr = tree.archiver().args(["gc"]).expect(Exit::Error).stderr;
    assert!(
        stderr.contains(&format!("rewrites.jsonl:{bad_line}"))
            && stderr.contains("nothing removed"),
        "{stderr}"
    );
    assert_eq!(count(), before);

    let stderr = tree
        .archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains(&format!("rewrites.jsonl:{bad_line}")),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(tree.path().join("notes/a.md")).unwrap(),
        original_a
    );
    assert_ne!(
        std::fs::read(tree.path().join("notes/b.md")).unwrap(),
        original_b
    );
    // The damaged line is kept for a person to repair, not dropped.
    let journal = std::fs::read_to_string(&journal_path).unwrap();
    assert!(journal.contains(&damaged[bad_line - 1]), "{journal}");
}

#[test]
fn a_deleted_object_is_not_rewritten_to_nor_counted_archived() {
    let (fixture, tree) = fetched();
    std::fs::remove_file(tree.path().join("archive").join(object_of(&png(2), "png"))).unwrap();
    let Ran { stdout, stderr, .. } = tree
        .archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    assert!(
        stdout.contains("not archived  notes/b.md:1:6  https://img.example.org/b.png"),
        "{stdout}"
    );
    assert!(stderr.contains("missing or damaged"), "{stderr}");
    let b = std::fs::read_to_string(tree.path().join("notes/b.md")).unwrap();
    assert_eq!(b, "![b](https://img.example.org/b.png)\n");
    let a = std::fs::read_to_string(tree.path().join("notes/a.md")).unwrap();
    assert!(
        a.contains(&object_of(&png(1), "png")) && a.contains("https://img.example.org/b.png"),
        "{a}"
    );
    // Nothing more can be rewritten.
    tree.archiver()
        .args(["rewrite", "--check", "notes"])
        .expect(Exit::Success);
    // verify names the command that brings it back.
    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Findings)
        .stdout;
    assert!(
        stdout.contains("`archiver fetch https://img.example.org/b.png` downloads it again"),
        "{stdout}"
    );

    // Rewritten, then the object goes: check no longer calls the link archived.
    std::fs::remove_file(tree.path().join("archive").join(object_of(&png(1), "png"))).unwrap();
    let report = tree
        .archiver()
        .args(["check", "--no-state", "--format", "json", "notes/a.md"])
        .args(fixture.args())
        .finish()
        .json();
    let archived: Vec<&serde_json::Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "archived"))
        })
        .collect();
    assert!(archived.is_empty(), "{archived:#?}\n{stderr}");
    assert!(stderr.contains("missing or damaged"), "{stderr}");
}

/// Appends numbered lines to `path`, opening and closing it for each (as an
/// editor's autosave or `echo >>` does), until `stop` is set; returns how many.
fn appender(
    path: std::path::PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            writeln!(file, "line {n}").unwrap();
            drop(file);
            n += 1;
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        n
    })
}

#[test]
fn a_note_written_to_during_rewrite_and_restore_loses_no_line() {
    let (_fixture, tree) = fetched();
    let note = tree.path().join("notes/a.md");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = appender(note.clone(), stop.clone());
    let mut left_alone = 0;
    // 200 runs: every rewrite and restore races the writer.
    for _ in 0..100 {
        for args in [
            &["rewrite", "notes"][..],
            &["rewrite", "--restore", "notes"][..],
        ] {
            let Ran {
                code,
                stdout,
                stderr,
                ..
            } = tree.archiver().args(args).finish();
            assert!(code == Some(0) || code == Some(1), "{stdout}{stderr}");
            if code == Some(1) {
                assert!(stderr.contains("changed while it was being"), "{stderr}");
                left_alone += 1;
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let appended = writer.join().unwrap();
    let text = std::fs::read_to_string(&note).unwrap();
    let kept = appended_in_order(&text);
    assert_eq!(
        kept,
        appended,
        "lines lost or out of order: {:?} of {appended}",
        lines_lost(&text, appended)
    );
    // Whatever happened, the note can still be put back whole.
    let text = tree.restored("notes/a.md");
    assert!(
        text.starts_with(
            "# A\n\n![a](https://img.example.org/a.png)\n\n![b](https://img.example.org/b.png)\n"
        ),
        "{text}"
    );
    eprintln!("{appended} lines appended; {left_alone} runs left the note alone");
}

/// How many of the appender's lines `text` holds from the first on, each
/// whole and in the order written: `line 0`, `line 1`, … found in one pass as
/// a subsequence of the note's lines (the note's own lines may stand between).
fn appended_in_order(text: &str) -> usize {
    let mut next = 0;
    for line in text.split_inclusive('\n') {
        let number = line
            .strip_prefix("line ")
            .and_then(|rest| rest.strip_suffix('\n'))
            .and_then(|n| n.parse::<usize>().ok());
        if number == Some(next) {
            next += 1;
        }
    }
    next
}

/// The appended lines missing from `text` anywhere, for the failure message.
fn lines_lost(text: &str, appended: usize) -> Vec<usize> {
    let present: std::collections::HashSet<&str> = text.split_inclusive('\n').collect();
    (0..appended)
        .filter(|n| !present.contains(format!("line {n}\n").as_str()))
        .collect()
}

/// Every file in the tree whose name starts like a rewrite's temp file.
fn temp_files(tree: &Tree) -> Vec<String> {
    files_under(tree.path())
        .into_iter()
        .filter(|f| {
            f.rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(".archiver-"))
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn sigterm_during_rewrite_leaves_no_temp_file_and_a_journal_true_to_the_notes() {
    let (_fixture, tree) = fetched();
    let original = "![a](https://img.example.org/a.png)\n";
    for i in 0..400 {
        tree.file(&format!("notes/many/{i:03}.md"), original);
    }
    let rewritten = || {
        (0..400)
            .filter(|i| {
                std::fs::read_to_string(tree.path().join(format!("notes/many/{i:03}.md")))
                    .is_ok_and(|t| t != original)
            })
            .count()
    };
    let mut child = util::archiver_process(tree.path())
        .args(["rewrite", "notes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..2000 {
        if rewritten() > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let done = rewritten();
    eprintln!("{status:?} after {done} notes rewritten");
    assert!(
        status.code() == Some(130) || (status.code() == Some(0) && done == 400),
        "{status:?}, {done} rewritten"
    );
    assert!(temp_files(&tree).is_empty(), "{:?}", temp_files(&tree));
    // The journal names exactly the notes that were rewritten: a restore puts
    // every one back, and the notes not reached are untouched.
    let journal = std::fs::read_to_string(tree.path().join("archive/rewrites.jsonl")).unwrap();
    assert_eq!(journal.matches("notes/many/").count(), done, "{journal}");
    tree.archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Success);
    assert_eq!(rewritten(), 0);
}

#[test]
fn a_rewrite_removes_the_temp_files_a_killed_one_left() {
    let (_fixture, tree) = fetched();
    tree.file("notes/.archiver-Ab12Cd", "half a note");
    tree.file("notes/.archiver-notes.txt", "the user's own file");
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    assert!(!tree.path().join("notes/.archiver-Ab12Cd").exists());
    assert!(tree.path().join("notes/.archiver-notes.txt").exists());
}

#[test]
fn a_state_database_that_cannot_be_used_costs_the_history_not_the_report_and_fails_the_run() {
    let tree = Tree::new();
    tree.file("notes/a.md", "[b](./b.md)\n")
        .file("notes/b.md", "b\n");
    std::fs::create_dir_all(tree.path().join(".archiver")).unwrap();
    std::fs::write(tree.path().join(".archiver/state.db"), vec![0x5a; 8192]).unwrap();
    let Ran { stdout, stderr, .. } = tree
        .archiver()
        .args(["check", "notes/a.md"])
        .expect(Exit::Error);
    assert!(stdout.contains("1 ok"), "{stdout}{stderr}");
    assert!(stderr.contains("damaged: move it away"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn history_and_report_read_a_database_in_a_folder_they_cannot_write() {
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new();
    tree.file("notes/a.md", "[b](./b.md)\n")
        .file("notes/b.md", "b\n");
    tree.archiver()
        .args(["check", "notes/a.md"])
        .expect(Exit::Success);
    let state = tree.path().join(".archiver");
    // Root may write anywhere: the commands then run as `nobody`.
    let as_root = rustix::process::geteuid().is_root();
    let su = Path::new("/usr/bin/su").exists() || Path::new("/bin/su").exists();
    if as_root && !su {
        eprintln!("skipped: running as root without `su` to run as another user");
        return;
    }
    let mut open = tree.path().to_path_buf();
    while as_root && open.as_os_str() != "/" {
        // Every folder on the way must be open to the other user.
        let mode = std::fs::metadata(&open).unwrap().permissions().mode();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(mode | 0o555)).unwrap();
        if !open.pop() {
            break;
        }
    }
    for path in [state.join("state.db"), state.clone()] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    for args in [["report", ""], ["history", "./notes/b.md"]] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let output = if as_root {
            let command = format!(
                "cd '{}' && '{}' {}",
                tree.path().display(),
                env!("CARGO_BIN_EXE_archiver"),
                args.join(" ")
            );
            std::process::Command::new("su")
                .args(["nobody", "-s", "/bin/sh", "-c", &command])
                .output()
                .unwrap()
        } else {
            util::archiver_process(tree.path())
                .args(&args)
                .output()
                .unwrap()
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("readonly"), "{stderr}");
    }
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_baseline_reads_back_what_it_wrote_and_outputs_are_checked_before_the_run() {
    let tree = Tree::new();
    tree.file(
        "n.md",
        "[empty]()\n[gone](./gone.md)\n[spaced](< ./x.md>)\n",
    );
    tree.archiver()
        .args([
            "check",
            "--no-state",
            "--write-baseline",
            "base.txt",
            "n.md",
        ])
        .expect(Exit::Findings);
    let stdout = tree
        .archiver()
        .args(["check", "--no-state", "--baseline", "base.txt", "n.md"])
        .expect(Exit::Success)
        .stdout;
    assert!(stdout.contains("3 failing as in the baseline"), "{stdout}");

    // A report into a folder that is not there fails at once, before any
    // link is checked.
    let stderr = tree
        .archiver()
        .args([
            "check",
            "--no-state",
            "--output",
            "missing/report.json",
            "n.md",
        ])
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("missing/report.json"), "{stderr}");
    assert!(
        !stderr.contains("checked in"),
        "the run did not start: {stderr}"
    );
}

#[test]
fn an_object_a_note_cites_by_its_absolute_path_is_kept_by_gc() {
    let (_fixture, tree) = fetched();
    let extra = png(7);
    let object = object_of(&extra, "png");
    let path = tree.path().join("archive").join(&object);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &extra).unwrap();
    let absolute = std::fs::canonicalize(&path).unwrap();
    tree.file("notes/abs.md", format!("![x]({})\n", absolute.display()));
    let stdout = tree
        .archiver()
        .args(["gc", "notes"])
        .expect(Exit::Success)
        .stdout;
    assert!(path.exists(), "{stdout}");
    // Without the note, it goes.
    std::fs::remove_file(tree.path().join("notes/abs.md")).unwrap();
    let stdout = tree
        .archiver()
        .args(["gc", "notes"])
        .expect(Exit::Success)
        .stdout;
    assert!(!path.exists(), "{stdout}");
}
