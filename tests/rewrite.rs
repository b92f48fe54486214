//! `archiver rewrite`: notes pointed at the archive's copies, only the URL bytes
//! changed, and `--restore` putting them back byte for byte.

mod util;

use std::path::Path;

use util::archive::{FAST, object_of, sha256};
use util::server::{Fixture, Reply, Req};
use util::{Exit, Tree, archiver_in, copy_tree, notes_files as snapshot, png};

/// A deep note with a BOM and CRLF lines, HTML in single quotes, a Markdown
/// destination in angle brackets, a srcset, and a link that is not archived.
fn notes_and_archive() -> (Fixture, Tree) {
    let fixture = Fixture::start(&["img.example.org"], |req: &Req| match req.path.as_str() {
        "/a.png" => Reply::status(200).body(png(1)),
        "/b%20c.png" => Reply::status(200).body(png(2)),
        "/big.png" => Reply::status(200).body(png(3)),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    tree.file("archiver.toml", FAST)
        .file(
            "notes/2022/06/0620.md",
            b"\xef\xbb\xbf# Day\r\n\r\n![a](https://img.example.org/a.png \"title\")\r\n\r\n\
              <div align=center><img src='https://img.example.org/a.png' alt='x' width=300></div>\r\n\r\n\
              ![b](<https://img.example.org/b c.png>)\r\n\r\n\
              <img srcset=\"https://img.example.org/small.png 1x, https://img.example.org/big.png 2x\">\r\n\r\n\
              ![gone](https://img.example.org/gone.png) and [a page](https://img.example.org/page)\r\n"
                ,
        )
        .file("notes/top.md", "![a](https://img.example.org/a.png)\n");
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Findings);
    (fixture, tree)
}

#[test]
fn a_fragment_stays_on_the_path_and_comes_back_with_the_url() {
    let fixture = Fixture::start(&["img.example.org"], |req: &Req| match req.path.as_str() {
        "/a.png" | "/a.png?x=1&y=2" => Reply::status(200).body(png(1)),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    // Character references in attributes too: check reads the URL the
    // journal keeps as the note wrote it, decoded as the note's syntax does.
    let note = "![a](https://img.example.org/a.png)\n\
                ![b](https://img.example.org/a.png#page=2)\n\
                <img src=\"https://img.example.org/a.png#x\">\n\
                <img src=\"https://img.example.org/&#97;.png\">\n\
                <img src=\"https://img.example.org/a.png?x=1&amp;y=2\">\n";
    tree.file("archiver.toml", FAST).file("notes/n.md", note);
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Success);
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    let a = format!("../archive/{}", object_of(&png(1), "png"));
    assert_eq!(
        std::fs::read_to_string(tree.path().join("notes/n.md")).unwrap(),
        format!(
            "![a]({a})\n![b]({a}#page=2)\n<img src=\"{a}#x\">\n<img src=\"{a}\">\n<img src=\"{a}\">\n"
        )
    );
    // check follows each of them back to the URL, as archived.
    let results = tree.check(&fixture).arg("notes").finish().report().results;
    let urls: Vec<&str> = results.keys().map(String::as_str).collect();
    assert_eq!(
        urls,
        [
            "https://img.example.org/a.png",
            "https://img.example.org/a.png?x=1&y=2"
        ],
        "{results:#?}"
    );
    let occurrences = results[urls[0]]["occurrences"].as_array().unwrap();
    assert_eq!(occurrences.len(), 4, "{occurrences:#?}");
    assert!(
        results
            .values()
            .all(|r| r["verdict"] == "ok" && r["flags"][0] == "archived"),
        "{results:#?}"
    );
    assert_eq!(tree.restored("notes/n.md"), note);
}

#[test]
fn rewrite_changes_only_url_bytes_and_restore_gives_back_every_byte() {
    let (fixture, tree) = notes_and_archive();
    let original = snapshot(tree.path());

    tree.archiver()
        .args(["rewrite", "--check", "notes"])
        .expect(Exit::Findings);
    let stdout = tree
        .archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success)
        .stdout;
    assert!(
        stdout
            .contains("not archived  notes/2022/06/0620.md:11:9  https://img.example.org/gone.png"),
        "{stdout}"
    );

    let deep = std::fs::read(tree.path().join("notes/2022/06/0620.md")).unwrap();
    let a = format!("../../../archive/{}", object_of(&png(1), "png"));
    let b = format!("../../../archive/{}", object_of(&png(2), "png"));
    let big = format!("../../../archive/{}", object_of(&png(3), "png"));
    let expected = format!(
        "\u{feff}# Day\r\n\r\n![a]({a} \"title\")\r\n\r\n\
         <div align=center><img src='{a}' alt='x' width=300></div>\r\n\r\n\
         ![b](<{b}>)\r\n\r\n\
         <img srcset=\"https://img.example.org/small.png 1x, {big} 2x\">\r\n\r\n\
         ![gone](https://img.example.org/gone.png) and [a page](https://img.example.org/page)\r\n"
    );
    assert_eq!(String::from_utf8(deep).unwrap(), expected);
    let top = std::fs::read_to_string(tree.path().join("notes/top.md")).unwrap();
    assert_eq!(
        top,
        format!("![a](../archive/{})\n", object_of(&png(1), "png"))
    );
    // Every rewritten link resolves to an object.
    for path in [&a, &b, &big] {
        assert!(
            tree.path().join("notes/2022/06").join(path).is_file(),
            "{path}"
        );
    }

    // check still checks the original URLs, flagged as archived.
    let doc = tree
        .archiver()
        .args(["check", "--format", "json", "notes"])
        .args(fixture.args())
        .finish()
        .json();
    let results = doc["results"].as_array().unwrap();
    let a_png = results
        .iter()
        .find(|r| r["url"] == "https://img.example.org/a.png")
        .unwrap_or_else(|| panic!("{results:#?}"));
    assert_eq!(a_png["verdict"], "ok");
    assert!(
        a_png["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "archived"),
        "{a_png}"
    );
    assert_eq!(a_png["occurrences"].as_array().unwrap().len(), 3);
    assert!(!results.iter().any(|r| {
        r["url"]
            .as_str()
            .unwrap_or_default()
            .contains("archive/objects")
    }));

    // A second rewrite changes nothing; --check now passes.
    let after = snapshot(tree.path());
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    assert_eq!(snapshot(tree.path()), after);
    tree.archiver()
        .args(["rewrite", "--check", "notes"])
        .expect(Exit::Success);

    // gc keeps what the notes point to (through the journal and the links).
    let stdout = tree
        .archiver()
        .args(["gc", "--dry-run", "notes"])
        .expect(Exit::Success)
        .stdout;
    assert!(stdout.contains("would remove 0 unreferenced"), "{stdout}");

    // An unrelated edit that cites the URL again: that occurrence is not
    // archived, so neither is the URL as a whole.
    const ADDED: &[u8] = b"a line added later, ![again](https://img.example.org/a.png)\n";
    let top_path = tree.path().join("notes/top.md");
    let mut edited = std::fs::read(&top_path).unwrap();
    edited.extend_from_slice(ADDED);
    std::fs::write(&top_path, &edited).unwrap();
    let doc = tree
        .archiver()
        .args(["check", "--format", "json", "notes"])
        .args(fixture.args())
        .finish()
        .json();
    let a_png = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"] == "https://img.example.org/a.png")
        .unwrap()
        .clone();
    assert!(a_png.get("flags").is_none(), "{a_png}");
    let occurrences = a_png["occurrences"].as_array().unwrap();
    let archived: Vec<_> = occurrences
        .iter()
        .map(|o| {
            (
                o["file"].as_str().unwrap(),
                o["line"].as_u64().unwrap(),
                o["archived"] == true,
            )
        })
        .collect();
    assert_eq!(
        archived,
        [
            ("notes/2022/06/0620.md", 3, true),
            ("notes/2022/06/0620.md", 5, true),
            ("notes/top.md", 1, true),
            ("notes/top.md", 2, false),
        ]
    );

    // Then restore: the URLs come back byte for byte.
    tree.archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Success);
    let mut restored = snapshot(tree.path());
    for (name, bytes) in &mut restored {
        if name.ends_with("top.md") {
            assert!(bytes.ends_with(ADDED));
            bytes.truncate(bytes.len() - ADDED.len());
        }
    }
    assert_eq!(restored, original);
    // The journal forgot what it put back.
    let journal = std::fs::read_to_string(tree.path().join("archive/rewrites.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
}

#[test]
fn a_dry_run_shows_the_change_and_touches_nothing() {
    let (_fixture, tree) = notes_and_archive();
    let before = snapshot(tree.path());
    let stdout = tree
        .archiver()
        .args(["rewrite", "--dry-run", "notes"])
        .expect(Exit::Success)
        .stdout;
    assert!(stdout.contains("--- a/notes/top.md\n+++ b/notes/top.md\n@@ -1,1 +1,1 @@\n-![a](https://img.example.org/a.png)\n+![a](../archive/objects/"), "{stdout}");
    assert_eq!(snapshot(tree.path()), before);
    assert!(!tree.path().join("archive/rewrites.jsonl").exists());
}

#[cfg(unix)]
#[test]
fn a_rewritten_note_keeps_its_permissions_and_a_symlink_is_not_followed() {
    use std::os::unix::fs::PermissionsExt;
    let (_fixture, tree) = notes_and_archive();
    let top = tree.path().join("notes/top.md");
    std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o640)).unwrap();
    // A note outside the notes, linked from inside them.
    tree.file("outside/o.md", "![a](https://img.example.org/a.png)\n");
    std::os::unix::fs::symlink(
        tree.path().join("outside/o.md"),
        tree.path().join("notes/link.md"),
    )
    .unwrap();
    // The same note named through a symlinked folder.
    std::os::unix::fs::symlink(
        tree.path().join("outside"),
        tree.path().join("notes/folder"),
    )
    .unwrap();
    let stderr = tree
        .archiver()
        .args(["rewrite", "notes", "notes/link.md", "notes/folder/o.md"])
        .expect(Exit::Success)
        .stderr;
    assert!(
        stderr.contains("notes/folder/o.md: notes/folder is a symlink, which is not followed"),
        "{stderr}"
    );
    let mode = std::fs::metadata(&top).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(
        std::fs::read_to_string(tree.path().join("outside/o.md")).unwrap(),
        "![a](https://img.example.org/a.png)\n"
    );
}

/// Copies the files under `from` into `to`.

#[test]
fn the_whole_corpus_is_rewritten_and_restored_byte_for_byte() {
    let Some(dir) = util::corpus() else { return };
    let tree = Tree::new();
    copy_tree(&dir.join("notes"), &tree.path().join("notes"));
    let fixture = util::media_hosts::start(tree.path());
    tree.file("archiver.toml", util::media_hosts::config());
    // Some images are dead in the imitation.
    tree.archiver()
        .args(["fetch", "--kinds", "image,video", "notes"])
        .args(fixture.args())
        .expect(Exit::Findings);
    let original = snapshot(tree.path());

    tree.archiver()
        .args(["rewrite", "--check", "notes"])
        .expect(Exit::Findings);
    let started = std::time::Instant::now();
    let stdout = tree
        .archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success)
        .stdout;
    let took = started.elapsed();
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    let rewritten: usize = last
        .strip_prefix("rewrote ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{last}"));
    assert!(rewritten > 400, "{last}");
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!("rewrote {rewritten} links of the corpus in {took:?} ({build} build)");

    // Only URL bytes changed: every line count is the same, and every link that
    // now points into the archive resolves to an object.
    let after = snapshot(tree.path());
    assert_eq!(after.len(), original.len());
    for ((name, old), (_, new)) in original.iter().zip(&after) {
        assert_eq!(
            old.iter().filter(|b| **b == b'\n').count(),
            new.iter().filter(|b| **b == b'\n').count(),
            "{name}"
        );
    }
    let links = util::links_in(tree.path(), &["notes"]);
    let local: Vec<&serde_json::Value> = links
        .iter()
        .filter(|l| util::s(l, "url").contains("archive/objects/"))
        .collect();
    assert_eq!(local.len(), rewritten);
    for link in local {
        // A fragment (CSDN's `#pic_center`) stays on the path.
        let path = util::s(link, "url").split('#').next().unwrap_or_default();
        assert!(
            Path::new(path).is_file() || tree.path().join(path).is_file(),
            "{link}"
        );
    }

    // Again: nothing to do. gc keeps every object a note points to.
    tree.archiver()
        .args(["rewrite", "--check", "notes"])
        .expect(Exit::Success);
    let stdout = tree
        .archiver()
        .args(["gc", "--dry-run", "notes"])
        .expect(Exit::Success)
        .stdout;
    assert!(stdout.contains("would remove 0 unreferenced"), "{stdout}");

    // An unrelated line added to a note, then restore: byte for byte.
    let (first, _) = &after[0];
    let first_path = tree.path().join(first);
    let mut edited = std::fs::read(&first_path).unwrap();
    edited.extend_from_slice(b"\nadded later\n");
    std::fs::write(&first_path, &edited).unwrap();
    tree.archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Success);
    let mut restored = snapshot(tree.path());
    let keep = restored[0].1.len() - b"\nadded later\n".len();
    restored[0].1.truncate(keep);
    let hash = |files: &[(String, Vec<u8>)]| -> Vec<(String, String)> {
        files.iter().map(|(n, b)| (n.clone(), sha256(b))).collect()
    };
    assert_eq!(hash(&restored), hash(&original));
}

#[test]
fn out_writes_a_rewritten_copy_and_leaves_the_notes_alone() {
    let (_fixture, tree) = notes_and_archive();
    tree.file("notes/plain.md", "no links here\n");
    let before = snapshot(tree.path());
    tree.archiver()
        .args(["rewrite", "--out", "site", "notes"])
        .expect(Exit::Success);
    assert_eq!(snapshot(tree.path()), before, "the notes are untouched");
    assert!(!tree.path().join("archive/rewrites.jsonl").exists());
    let top = std::fs::read_to_string(tree.path().join("site/notes/top.md")).unwrap();
    let href = format!("../../archive/{}", object_of(&png(1), "png"));
    assert_eq!(top, format!("![a]({href})\n"));
    assert!(tree.path().join("site/notes").join(&href).is_file());
    assert_eq!(
        std::fs::read_to_string(tree.path().join("site/notes/plain.md")).unwrap(),
        "no links here\n"
    );
    assert!(tree.path().join("site/notes/2022/06/0620.md").is_file());
}

#[test]
fn bare_urls_and_autolinks_stay_links_and_an_archive_elsewhere_is_found() {
    let fixture = Fixture::start(&["img.example.org"], |_: &Req| {
        Reply::status(200).body(png(9))
    });
    let tree = Tree::new();
    let note = "see https://img.example.org/bare.png and <https://img.example.org/auto.png>\n\n\
                [ref]: https://img.example.org/ref.png\n\n![r][ref]\n";
    tree.file("archiver.toml", FAST)
        .file("work/notes/n.md", note);
    archiver_in(&tree.path().join("work"))
        .args([
            "fetch",
            "--archive",
            "../store",
            "--kinds",
            "image",
            "notes",
        ])
        .args(fixture.args())
        .expect(Exit::Success);
    archiver_in(&tree.path().join("work"))
        .args(["rewrite", "--archive", "../store", "notes"])
        .expect(Exit::Success);
    let rewritten = std::fs::read_to_string(tree.path().join("work/notes/n.md")).unwrap();
    // Only the reference definition's URL became a path: to ../store, from the
    // note's folder.
    let href = format!("../../store/{}", object_of(&png(9), "png"));
    assert_eq!(
        rewritten,
        note.replace(
            "[ref]: https://img.example.org/ref.png",
            &format!("[ref]: {href}")
        )
    );
    assert!(tree.path().join("work/notes").join(&href).is_file());
}

#[test]
fn restore_is_exact_across_runs_and_leaves_paths_it_did_not_write() {
    // Two URLs with the same bytes, rewritten in two runs, the second above
    // the first; a path written by hand stays a path.
    let fixture = Fixture::start(&["a.example", "b.example"], |_: &Req| {
        Reply::status(200).body(png(21))
    });
    let tree = Tree::new();
    let href = format!("../archive/{}", object_of(&png(21), "png"));
    tree.file("archiver.toml", FAST).file(
        "notes/n.md",
        format!("![hand]({href})\n![a](https://a.example/x.png)\n"),
    );
    let fetch = |tree: &Tree| {
        tree.archiver()
            .args(["fetch", "notes"])
            .args(fixture.args())
            .expect(Exit::Success);
    };
    fetch(&tree);
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    let note = tree.path().join("notes/n.md");
    let first = std::fs::read_to_string(&note).unwrap();
    std::fs::write(&note, format!("![b](https://b.example/x.png)\n{first}")).unwrap();
    fetch(&tree);
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    // check follows each place to its own URL, and leaves the hand-written path
    // a local file.
    let doc = tree
        .archiver()
        .args(["check", "--format", "json", "notes"])
        .args(fixture.args())
        .finish()
        .json();
    let urls: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&"https://a.example/x.png"), "{urls:?}");
    assert!(urls.contains(&"https://b.example/x.png"), "{urls:?}");
    assert_eq!(urls.len(), 3, "{urls:?}");
    // Each URL back in its place, and the path written by hand left a path.
    assert_eq!(
        tree.restored("notes/n.md"),
        format!("![b](https://b.example/x.png)\n![hand]({href})\n![a](https://a.example/x.png)\n")
    );

    // --out must not be the notes' own folder.
    let stderr = tree
        .archiver()
        .args(["rewrite", "--out", ".", "notes"])
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("--out is the current folder"), "{stderr}");
}

#[test]
fn restore_says_when_a_rewritten_note_has_moved() {
    let (_fixture, tree) = notes_and_archive();
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    std::fs::rename(
        tree.path().join("notes/top.md"),
        tree.path().join("notes/moved.md"),
    )
    .unwrap();
    let stderr = tree
        .archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Success)
        .stderr;
    assert!(
        stderr.contains("notes/top.md, which is no longer there (moved or renamed?)"),
        "{stderr}"
    );
    // Moved back, it is restored.
    std::fs::rename(
        tree.path().join("notes/moved.md"),
        tree.path().join("notes/top.md"),
    )
    .unwrap();
    let stderr = tree
        .archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Success)
        .stderr;
    assert!(!stderr.contains("no longer there"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(tree.path().join("notes/top.md")).unwrap(),
        "![a](https://img.example.org/a.png)\n"
    );
}

#[test]
fn links_written_inside_an_html_block_are_fetched_rewritten_and_restored() {
    let fixture = Fixture::start(&["img.example.org"], |req: &Req| match req.path.as_str() {
        "/a.png" => Reply::status(200).body(png(1)),
        "/b.png" => Reply::status(200).body(png(2)),
        _ => Reply::status(404),
    });
    let tree = Tree::new();
    // The list item follows the image block with no blank line: CommonMark reads
    // it as part of the HTML block.
    let note = "<div align=center><img src=\"https://img.example.org/a.png\" style='zoom:100%'>\n</div>\n\
                2. [an article](https://img.example.org/page)\n   - Figure: ![b](https://img.example.org/b.png \"t\")\n\n\
                <p>\n<https://img.example.org/b.png>\n</p>\n";
    tree.file("archiver.toml", FAST).file("notes/n.md", note);

    let found = util::links_in(tree.path(), &["notes"]);
    let hinted: Vec<_> = found
        .iter()
        .filter(|l| util::s(l, "hint").contains("HTML block"))
        .map(|l| (util::s(l, "element"), l["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(hinted, [("link", 3), ("image", 4), ("autolink", 7)]);

    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Success);
    let original = snapshot(tree.path());
    tree.archiver()
        .args(["rewrite", "notes"])
        .expect(Exit::Success);
    let a = format!("../archive/{}", object_of(&png(1), "png"));
    let b = format!("../archive/{}", object_of(&png(2), "png"));
    let rewritten = std::fs::read_to_string(tree.path().join("notes/n.md")).unwrap();
    assert_eq!(
        rewritten,
        format!(
            "<div align=center><img src=\"{a}\" style='zoom:100%'>\n</div>\n\
             2. [an article](https://img.example.org/page)\n   - Figure: ![b]({b} \"t\")\n\n\
             <p>\n<https://img.example.org/b.png>\n</p>\n"
        )
    );
    tree.archiver()
        .args(["rewrite", "--restore", "notes"])
        .expect(Exit::Success);
    assert_eq!(snapshot(tree.path()), original);
}
