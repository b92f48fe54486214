//! Shared helpers for the integration tests: running the binary, reading its JSON,
//! finding the real corpus, and building note trees in temporary folders.

#![allow(dead_code)]

pub mod server;

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The `archiver` binary, run from `dir`, with no user configuration or
/// `ARCHIVER_*` variables leaking in from the environment.
pub fn archiver_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("archiver").expect("the binary is built");
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ARCHIVER_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_COLOR", "1");
    // A proxy from the environment would take requests away from the fixture server.
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The `archiver` binary, run from the repository root.
pub fn archiver() -> Command {
    archiver_in(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Runs `archiver links --format jsonl ARGS…` in `dir`, expecting success, and
/// returns one JSON object per occurrence.
pub fn links_in(dir: &Path, args: &[&str]) -> Vec<Value> {
    let output = archiver_in(dir)
        .args(["links", "--format", "jsonl"])
        .args(args)
        .output()
        .expect("archiver runs");
    assert!(
        output.status.success(),
        "archiver links {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The real notes, or `None` (after saying why the test is skipped) on a clone
/// without `../shared`. `ARCHIVER_TEST_CORPUS` points elsewhere.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("ARCHIVER_TEST_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dairly-learning"),
        PathBuf::from,
    );
    if dir.join("notes").is_dir() {
        Some(dir)
    } else {
        // Written straight to stderr, which the test harness does not capture, so
        // the skip shows in a normal `cargo test` run.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the corpus is not at {} (set ARCHIVER_TEST_CORPUS to its folder)",
            dir.display()
        );
        None
    }
}

/// A temporary folder with files written into it.
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// Writes `bytes` at `rel`, creating folders.
    pub fn file(&self, rel: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `archiver links --format jsonl ARGS…` run inside the tree.
    pub fn links(&self, args: &[&str]) -> Vec<Value> {
        links_in(self.path(), args)
    }
}

/// A string field of a JSON link.
pub fn s<'a>(link: &'a Value, field: &str) -> &'a str {
    link[field].as_str().unwrap_or_default()
}

/// The `[start, end)` span of a JSON link.
pub fn span(link: &Value) -> std::ops::Range<usize> {
    let pair = link["span"].as_array().expect("span is an array");
    pair[0].as_u64().unwrap() as usize..pair[1].as_u64().unwrap() as usize
}

/// Asserts that the bytes of `file` at each link's span are its `raw`.
pub fn assert_spans_match_raw(root: &Path, links: &[Value]) {
    for link in links {
        let bytes = std::fs::read(root.join(s(link, "file"))).unwrap();
        let span = span(link);
        let at = String::from_utf8_lossy(&bytes[span.clone()]);
        assert_eq!(at, s(link, "raw"), "span {span:?} of {link}");
    }
}
