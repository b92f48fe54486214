//! The fetch, verify and gc tests' view of an archive: running `fetch` against
//! the fixture server, and reading back the objects, temp files and manifest it
//! left.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::server::Fixture;
use super::{Run, Tree, s};

/// Quick retries, and no Wayback Machine: a test never asks the real one.
pub const FAST: &str =
    "[network]\nretry_delay = \"20ms\"\ntimeout = \"5s\"\n\n[fetch]\nwayback = false\n";

pub const HOSTS: &[&str] = &[
    "mmbiz.qpic.cn",
    "img.example.org",
    "arxiv.org",
    "files.example.org",
];

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The object path an archive gives `bytes` with extension `ext`.
pub fn object_of(bytes: &[u8], ext: &str) -> String {
    let sha = sha256(bytes);
    format!("objects/{}/{sha}.{ext}", &sha[..2])
}

/// `archiver fetch --format json ARGS… notes` in `tree`, with the fixture's
/// network options; finish it with `.expect(Exit::…).report()`.
pub fn fetch(tree: &Tree, fixture: &Fixture, args: &[&str]) -> Run {
    tree.archiver()
        .args(["fetch", "--format", "json"])
        .args(args)
        .arg("notes")
        .args(fixture.args())
}

pub fn outcome<'a>(results: &'a BTreeMap<String, Value>, url: &str) -> (&'a str, &'a str) {
    let r = results
        .get(url)
        .unwrap_or_else(|| panic!("no result for {url}: {results:#?}"));
    (s(r, "outcome"), s(r, "reason_code"))
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
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

pub fn objects(tree: &Tree) -> Vec<String> {
    files_under(&tree.path().join("archive"))
        .into_iter()
        .filter(|f| f.starts_with("objects/"))
        .collect()
}

pub fn temp_files(tree: &Tree) -> Vec<String> {
    files_under(&tree.path().join("archive/tmp"))
}

pub fn manifest(tree: &Tree) -> Vec<Value> {
    let text = std::fs::read_to_string(tree.path().join("archive/manifest.jsonl")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(r#"{"format":"archiver-manifest","version":1}"#)
    );
    lines.map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Asserts that the archive holds nothing but its own files: no temp file of a
/// manifest or FORMAT write beside them.
pub fn assert_only_archive_files(tree: &Tree) {
    for file in files_under(&tree.path().join("archive")) {
        let known = ["FORMAT", ".gitignore", "lock", "manifest.jsonl"].contains(&file.as_str())
            || file.starts_with("objects/")
            || file.starts_with("tmp/");
        assert!(known, "unexpected file in the archive: {file}");
    }
}

pub fn put_object(archive: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let path = archive.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}
