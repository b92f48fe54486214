//! `archiver verify` and `gc` on an archive that `fetch` filled from the fixture
//! server: what each finds, what gc keeps and removes, and when it refuses.

mod util;

use std::time::Duration;

use util::archive::{FAST, HOSTS, fetch, object_of, objects, outcome, put_object};
use util::media::{gif, jpeg, pdf, png, webp};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Report, Tree};

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
    fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
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
    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Findings)
        .stdout;
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
    let stdout = tree
        .archiver()
        .args(["verify"])
        .expect(Exit::Findings)
        .stdout;
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
    let Report { results, .. } = fetch(&tree, &fixture, &[]).expect(Exit::Success).report();
    assert_eq!(
        outcome(&results, "https://img.example.org/two.gif").0,
        "fetched"
    );
    tree.archiver().args(["gc", "notes"]).expect(Exit::Success);
    tree.archiver().args(["verify"]).expect(Exit::Success);
}

#[test]
fn gc_removes_exactly_what_nothing_refers_to() {
    let (_fixture, tree) = small_archive();
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

    let stdout = tree
        .archiver()
        .args(["gc", "--dry-run", "notes"])
        .expect(Exit::Success)
        .stdout;
    let listed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("would remove  "))
        .collect();
    assert_eq!(listed.len(), 1, "{stdout}");
    assert!(listed[0].contains(&orphan), "{stdout}");
    assert_eq!(objects(&tree), before, "a dry run removes nothing");

    let stdout = tree
        .archiver()
        .args(["gc", "notes"])
        .expect(Exit::Success)
        .stdout;
    let after = objects(&tree);
    let gone: Vec<&String> = before.iter().filter(|o| !after.contains(o)).collect();
    assert_eq!(gone, vec![&orphan], "{stdout}");

    // Without the note, its object is garbage too.
    let stdout = tree
        .archiver()
        .args(["gc", "--dry-run", "notes/n.md"])
        .finish()
        .stdout;
    assert!(
        stdout.contains(&by_note) && !stdout.contains(&by_journal),
        "{stdout}"
    );
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
    tree.archiver().args(["gc", "notes"]).expect(Exit::Success);
    assert!(
        fresh.exists(),
        "a fresh temp file may belong to a running fetch"
    );
    assert!(!stale.exists());

    // A lost manifest would make every object garbage: gc refuses.
    let before = objects(&tree);
    let manifest = tree.path().join("archive/manifest.jsonl");
    std::fs::rename(&manifest, tree.path().join("manifest.bak")).unwrap();
    let stderr = tree
        .archiver()
        .args(["gc", "notes/none.md"])
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains("manifest.jsonl") && stderr.contains("restore"),
        "{stderr}"
    );
    assert_eq!(objects(&tree), before);
    // An empty manifest is damage, not an empty archive.
    std::fs::write(&manifest, "").unwrap();
    tree.archiver()
        .args(["gc", "notes/none.md"])
        .expect(Exit::Error);
    assert_eq!(objects(&tree), before);
}
