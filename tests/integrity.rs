//! Nothing lost, whatever the user or the disk does: the archive's lock holds
//! when its holder's file is deleted, files are written for the umask, broken
//! objects are repaired by the next fetch, verify never follows what is not a
//! file, and a stopped fetch records every object that landed.

mod util;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use util::archive::{FAST, object_of, objects, sha256};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Ran, Tree, archiver_process, s};

const HOSTS: &[&str] = &["img.example.org", "files.example.org", "cdn.example.org"];

/// A PNG-looking file of `len` bytes whose filler depends on `seed`.
fn png(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

/// Long enough for any run here; a hung one fails its test.
const LIMIT: Duration = Duration::from_secs(60);

/// Waits up to 30 s for `ready`.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what}: never");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, signal: rustix::process::Signal) {
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        signal,
    )
    .unwrap();
}

#[test]
fn deleting_the_lock_file_does_not_let_gc_in_beside_a_fetch() {
    let (first, second, third) = (png(1, 3000), png(2, 3000), png(3, 3000));
    let (a, b) = (second.clone(), third.clone());
    let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
        "/first.png" => Reply::status(200).body(first.clone()),
        "/second.png" => Reply::status(200).body(a.clone()),
        "/third.png" => Reply::status(200).body(b.clone()),
        // Held long enough for the test to act while the fetch runs.
        "/held.png" => Reply::status(200)
            .body(png(4, 3000))
            .delay(Duration::from_secs(30)),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "![](https://img.example.org/first.png)\n");
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .timeout(LIMIT)
        .expect(Exit::Success);
    tree.file(
        "notes/n.md",
        "![](https://img.example.org/first.png)\n\
         ![](https://files.example.org/second.png)\n\
         ![](https://files.example.org/third.png)\n\
         ![](https://cdn.example.org/held.png)\n",
    );
    let mut child = archiver_process(tree.path())
        .args(["fetch", "notes"])
        .args(fixture.args())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let landed = [object_of(&second, "png"), object_of(&third, "png")];
    wait_for("the quick objects land", || {
        let now = objects(&tree);
        landed.iter().all(|o| now.contains(o))
    });
    // What `git clean -X` does to the ignored lock file.
    let lock = tree.path().join("archive/lock");
    assert!(lock.exists(), "the fetch says who holds the archive");
    std::fs::remove_file(&lock).unwrap();

    let Ran {
        code,
        stdout,
        stderr,
        ..
    } = tree
        .archiver()
        .args(["gc", "notes"])
        .timeout(LIMIT)
        .finish();
    let now = objects(&tree);
    signal(&child, rustix::process::Signal::KILL);
    child.wait().unwrap();
    assert_eq!(
        code,
        Some(1),
        "gc got in beside the fetch: {stdout}{stderr}"
    );
    assert!(
        stderr.contains("archive locked by another archiver run"),
        "{stderr}"
    );
    for object in &landed {
        assert!(now.contains(object), "gc removed {object}: {stdout}");
    }
}

#[test]
fn a_second_run_is_told_which_process_on_which_host_holds_the_archive() {
    let fixture = Fixture::start(HOSTS, |_: &Req| {
        Reply::status(200)
            .body(png(5, 100))
            .delay(Duration::from_secs(30))
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "![](https://img.example.org/held.png)\n");
    let mut child = archiver_process(tree.path())
        .args(["fetch", "notes"])
        .args(fixture.args())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = tree.path().join("archive/lock");
    wait_for("the fetch takes the lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("archiver fetch"))
    });
    let Ran { code, stderr, .. } = tree.archiver().args(["verify"]).timeout(LIMIT).finish();
    signal(&child, rustix::process::Signal::KILL);
    child.wait().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("archive locked by pid {} on host ", child.id()))
            && stderr.contains("(`archiver fetch`)"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn archive_files_are_written_for_the_umask() {
    use std::os::unix::fs::PermissionsExt;

    let image = png(6, 2000);
    let served = image.clone();
    let fixture = Fixture::start(HOSTS, move |_: &Req| {
        Reply::status(200).body(served.clone())
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file("notes/n.md", "![](https://img.example.org/a.png)\n");
    // Through a shell, which sets the umask the way a login does, with the
    // environment the other tests' runs get.
    let under_umask = |args: &[String]| {
        let base = archiver_process(tree.path());
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg("umask 022; exec \"$0\" \"$@\"")
            .arg(base.get_program())
            .args(args)
            .current_dir(tree.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in base.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.status().unwrap().code()
    };
    let mut fetch = vec!["fetch".to_owned(), "notes".to_owned()];
    fetch.extend(fixture.args());
    assert_eq!(under_umask(&fetch), Some(0));
    assert_eq!(
        under_umask(&["rewrite".to_owned(), "notes".to_owned()]),
        Some(0)
    );
    let archive = tree.path().join("archive");
    for file in [
        "FORMAT".to_owned(),
        ".gitignore".to_owned(),
        "manifest.jsonl".to_owned(),
        "rewrites.jsonl".to_owned(),
        object_of(&image, "png"),
    ] {
        let mode = std::fs::metadata(archive.join(&file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{file}: {:o}", mode & 0o777);
    }
}

/// An archive of three images cited by one note, fetched.
fn three_images() -> (Fixture, Tree, [Vec<u8>; 3]) {
    let images = [png(11, 4000), png(12, 4000), png(13, 4000)];
    let served = images.clone();
    let fixture = Fixture::start(HOSTS, move |req: &Req| match req.path.as_str() {
        "/one.png" => Reply::status(200).body(served[0].clone()),
        "/two.png" => Reply::status(200).body(served[1].clone()),
        "/three.png" => Reply::status(200).body(served[2].clone()),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        "![](https://img.example.org/one.png)\n\
         ![](https://img.example.org/two.png)\n\
         ![](https://img.example.org/three.png)\n",
    );
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .timeout(LIMIT)
        .expect(Exit::Success);
    (fixture, tree, images)
}

#[cfg(unix)]
#[test]
fn fetch_repairs_a_truncated_object_and_one_replaced_by_a_symlink() {
    let (fixture, tree, images) = three_images();
    let archive = tree.path().join("archive");
    // One cut short (as a git-LFS pointer or an interrupted copy leaves it).
    let truncated = archive.join(object_of(&images[0], "png"));
    std::fs::write(&truncated, &images[0][..100]).unwrap();
    // One a dangling symlink.
    let dangling = archive.join(object_of(&images[1], "png"));
    std::fs::remove_file(&dangling).unwrap();
    std::os::unix::fs::symlink(tree.path().join("nowhere.png"), &dangling).unwrap();
    // One a symlink to the right bytes, outside the archive.
    let outside = tree.path().join("outside.png");
    std::fs::write(&outside, &images[2]).unwrap();
    let linked = archive.join(object_of(&images[2], "png"));
    std::fs::remove_file(&linked).unwrap();
    std::os::unix::fs::symlink(&outside, &linked).unwrap();

    let stdout = tree
        .archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .timeout(LIMIT)
        .expect(Exit::Success)
        .stdout;
    assert!(stdout.contains("fetched 3"), "{stdout}");
    for (path, bytes) in [
        (&truncated, &images[0]),
        (&dangling, &images[1]),
        (&linked, &images[2]),
    ] {
        let meta = std::fs::symlink_metadata(path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "{} is not a file",
            path.display()
        );
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    let stdout = tree
        .archiver()
        .args(["verify"])
        .timeout(LIMIT)
        .expect(Exit::Success)
        .stdout;
    assert!(stdout.contains("clean"), "{stdout}");
}

/// Runs `archiver verify` in `dir`, killing it after 20 s: exit code, stdout.
fn verify_within(dir: &Path) -> (Option<i32>, String) {
    let out = dir.join("verify.out");
    let mut child = archiver_process(dir)
        .arg("verify")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, std::fs::read_to_string(&out).unwrap_or_default())
}

#[cfg(unix)]
#[test]
fn verify_reports_what_is_not_a_file_and_never_follows_it() {
    let (_fixture, tree, images) = three_images();
    let archive = tree.path().join("archive");
    // A symlink to the very bytes its name promises, outside the archive.
    let outside = tree.path().join("outside.png");
    std::fs::write(&outside, &images[0]).unwrap();
    let linked = object_of(&images[0], "png");
    std::fs::remove_file(archive.join(&linked)).unwrap();
    std::os::unix::fs::symlink(&outside, archive.join(&linked)).unwrap();
    // A FIFO, which a read would wait on for ever.
    let fifo = object_of(&images[1], "png");
    std::fs::remove_file(archive.join(&fifo)).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(archive.join(&fifo))
        .status()
        .unwrap();
    assert!(made.success());
    // A folder.
    let folder = object_of(&images[2], "png");
    std::fs::remove_file(archive.join(&folder)).unwrap();
    std::fs::create_dir(archive.join(&folder)).unwrap();

    // A fan-out folder that is a symlink to objects kept elsewhere.
    let elsewhere = tree.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let kept = png(14, 500);
    let sha = sha256(&kept);
    std::fs::write(elsewhere.join(format!("{sha}.png")), &kept).unwrap();
    let fan = format!("objects/{}", &sha[..2]);
    assert!(!archive.join(&fan).exists());
    std::os::unix::fs::symlink(&elsewhere, archive.join(&fan)).unwrap();

    let (code, stdout) = verify_within(tree.path());
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("not-a-file") && l.contains(&fan)),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&sha),
        "the symlinked fan was read: {stdout}"
    );
    for (object, what) in [
        (&linked, "a symlink"),
        (&fifo, "a FIFO"),
        (&folder, "a folder"),
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with("not-a-file")
                && l.contains(object.as_str())
                && l.contains(what)),
            "{object} ({what}): {stdout}"
        );
    }
    // Reported once each, not also as missing.
    assert!(!stdout.contains("missing"), "{stdout}");
}

/// The manifest's records: URL → object.
fn records(tree: &Tree) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(tree.path().join("archive/manifest.jsonl")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (s(&v, "url").to_owned(), s(&v, "object").to_owned())
        })
        .collect()
}

#[test]
fn sigterm_records_every_object_that_landed() {
    let quick: Vec<Vec<u8>> = (0..4).map(|i| png(40 + i, 20_000)).collect();
    let served = quick.clone();
    let fixture = Fixture::start(HOSTS, move |req: &Req| {
        match req
            .path
            .strip_prefix("/quick-")
            .and_then(|p| p.strip_suffix(".png"))
        {
            Some(n) => Reply::status(200).body(served[n.parse::<usize>().unwrap()].clone()),
            // The others hang until the run is stopped.
            None => Reply::status(200)
                .body(png(50, 100))
                .delay(Duration::from_secs(30)),
        }
    });
    let tree = Tree::new();
    let mut note = String::new();
    for (i, host) in HOSTS.iter().enumerate().take(2) {
        note.push_str(&format!("![](https://{host}/quick-{}.png)\n", 2 * i));
        note.push_str(&format!("![](https://{host}/quick-{}.png)\n", 2 * i + 1));
    }
    note.push_str(
        "![](https://cdn.example.org/hung-1.png)\n![](https://cdn.example.org/hung-2.png)\n",
    );
    tree.file("archiver.toml", FAST).file("notes/n.md", &note);
    let out = tree.path().join("out.json");
    let mut child = archiver_process(tree.path())
        .args(["fetch", "--format", "json", "notes"])
        .args(fixture.args())
        // A disk slow to make a landed object durable: the object is in place
        // well before its download can report it.
        .env("ARCHIVER_FAULT_SLOW_DISK_MS", "1500")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let landed: Vec<String> = quick.iter().map(|b| object_of(b, "png")).collect();
    wait_for("the quick objects land", || {
        let now = objects(&tree);
        landed.iter().all(|o| now.contains(o))
    });
    signal(&child, rustix::process::Signal::TERM);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["summary"]["interrupted"], true);

    // Every object in the archive is recorded: the quick ones, nothing else.
    let recorded: BTreeSet<String> = records(&tree).into_iter().map(|(_, o)| o).collect();
    let present: BTreeSet<String> = objects(&tree).into_iter().collect();
    assert_eq!(present, landed.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(recorded, present);
    tree.archiver()
        .args(["verify"])
        .timeout(LIMIT)
        .expect(Exit::Success);
}
