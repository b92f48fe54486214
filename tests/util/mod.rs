//! Shared helpers for the integration tests: running the binary, reading its JSON,
//! finding the real corpus, and building note trees in temporary folders.

#![allow(dead_code)]

pub mod archive;
pub mod browser;
pub mod media;
pub mod media_hosts;
pub mod raw;
pub mod run;
pub mod s3;
pub mod server;
pub mod warcio;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

// Not every test binary reads a report.
#[allow(unused_imports)]
pub use run::{Exit, Ran, Report, Run};

/// The `archiver` binary run from `dir`, as a fluent [`Run`]: add arguments,
/// then `.expect(Exit::…)` and read what it printed.
pub fn archiver_in(dir: &Path) -> Run {
    Run::new(dir)
}

/// The `archiver` binary run from `dir` as a plain process, with no user
/// configuration or `ARCHIVER_*` variables leaking in from the environment:
/// for tests that spawn it and signal it or watch it while it runs.
/// [`archiver_in`] wraps it for runs that are waited for.
pub fn archiver_process(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_archiver"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ARCHIVER_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_COLOR", "1");
    // A run whose few hosts all fail looks a name up to tell a dead network
    // from dead domains: one that resolves without the web. A test of a
    // machine without a network names one that does not.
    cmd.env("ARCHIVER_CANARY", "localhost");
    // A token from the environment would turn on the GitHub API path.
    cmd.env_remove("GITHUB_TOKEN");
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

/// The `archiver` binary run from the repository root, as a fluent [`Run`].
pub fn archiver() -> Run {
    archiver_in(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Runs `archiver links --format jsonl ARGS…` in `dir`, expecting success, and
/// returns one JSON object per occurrence.
pub fn links_in(dir: &Path, args: &[&str]) -> Vec<Value> {
    archiver_in(dir)
        .args(["links", "--format", "jsonl"])
        .args(args)
        .expect(Exit::Success)
        .jsonl()
}

/// The hosts of the links `links_in` gave.
pub fn hosts_of(links: &[Value]) -> std::collections::BTreeSet<String> {
    links
        .iter()
        .filter_map(|l| {
            url::Url::parse(s(l, "url"))
                .ok()?
                .host_str()
                .map(str::to_owned)
        })
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

/// Copies the folder `from` to `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Every file under `dir/notes` with its bytes, by path relative to `dir`, sorted.
pub fn notes_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.join("notes")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
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

    /// The binary run inside the tree, as a fluent [`Run`].
    pub fn archiver(&self) -> Run {
        archiver_in(self.path())
    }

    /// `archiver check --format json` run inside the tree against `fixture`:
    /// add flags and paths, then `.expect(Exit::…).report()`.
    pub fn check(&self, fixture: &server::Fixture) -> Run {
        self.archiver()
            .args(["check", "--format", "json"])
            .args(fixture.args())
    }

    /// `archiver check --no-state n.md` run inside the tree where no canary
    /// name resolves: with the note's hosts `.invalid` too, a machine without
    /// a network. Add settings, then `.expect(Exit::Error)`.
    pub fn check_offline(&self) -> Run {
        self.archiver()
            .args(["check", "--no-state", "n.md"])
            .env("ARCHIVER_CANARY", "canary.invalid")
    }

    /// `archiver rewrite --restore notes`, which must succeed, then the text
    /// of the note at `rel`.
    pub fn restored(&self, rel: &str) -> String {
        self.archiver()
            .args(["rewrite", "--restore", "notes"])
            .expect(Exit::Success);
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }

    /// `archiver links --format jsonl ARGS…` run inside the tree.
    pub fn links(&self, args: &[&str]) -> Vec<Value> {
        links_in(self.path(), args)
    }
}

/// A string field of a JSON link.
/// The site rule that paces `slow.invalid` to one request a second.
pub const SLOW_SITE: &str = "[[sites]]\nname = \"slow\"\nhosts = [\"slow.invalid\"]\nmin_interval = \"1s\"\nhost_concurrency = 1\n";

/// A note for a machine without a network: links to `dead` domains that do
/// not exist (`hostN.invalid`), then twenty URLs of `slow.invalid`, which
/// [`SLOW_SITE`] paces.
pub fn dead_and_paced_note(dead: usize) -> String {
    let mut note: String = (0..dead)
        .map(|i| format!("[{i}](https://host{i}.invalid/{i})\n"))
        .collect();
    for i in 0..20 {
        note.push_str(&format!("[s{i}](https://slow.invalid/{i})\n"));
    }
    note
}

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

/// Runs `archiver ARGS…` in `dir` with stderr on a fresh pseudo-terminal, as a
/// user at a terminal would; returns the exit code and everything drawn on that
/// terminal.
#[cfg(target_os = "linux")]
pub fn stderr_on_a_terminal(dir: &Path, args: &[String]) -> (Option<i32>, String) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use std::io::Read;

    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let size = rustix::termios::Winsize {
        ws_row: 40,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(&terminal, size).unwrap();

    // The terminal side is read on its own thread so that the child never blocks
    // on a full buffer; reading ends with EIO once the child has closed it.
    let mut reader = std::fs::File::from(master);
    let drawn = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let mut child = archiver_process(dir);
    child
        .args(args)
        .env("TERM", "xterm")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(terminal));
    let status = child.status().unwrap();
    // The command still owns the terminal side; dropping it lets the reader end.
    drop(child);
    (status.code(), drawn.join().unwrap())
}

/// A configuration with quick retries and the shipped site rules `names` with
/// no interval: a corpus run would otherwise take minutes (the shipped
/// intervals have their own tests).
pub fn quick_rules(names: &[&str]) -> String {
    let mut config =
        String::from("[network]\nretry_delay = \"20ms\"\nretry_delay_5xx = \"20ms\"\n");
    let shipped = archiver::config::Settings::shipped().unwrap();
    let rules: Vec<toml::Value> = names
        .iter()
        .map(|name| {
            let rule = shipped
                .sites
                .rules()
                .iter()
                .find(|r| r.name == *name)
                .unwrap_or_else(|| panic!("no shipped rule {name}"));
            let mut rule = toml::Table::try_from(rule).unwrap();
            rule.insert("min_interval".into(), "0s".into());
            toml::Value::Table(rule)
        })
        .collect();
    let mut doc = toml::Table::new();
    doc.insert("sites".into(), toml::Value::Array(rules));
    config.push_str(&toml::to_string(&doc).unwrap());
    config
}

/// Runs `archiver check --no-state --format json ARGS… notes` in `dir`, for
/// two minutes at most; the exit code and the results by URL.
pub fn check_notes(
    dir: &Path,
    args: &[String],
) -> (Option<i32>, std::collections::BTreeMap<String, Value>) {
    let ran = archiver_in(dir)
        .args(["check", "--no-state", "--format", "json"])
        .args(args)
        .arg("notes")
        .timeout(std::time::Duration::from_secs(120))
        .finish();
    (ran.code, ran.report().results)
}

/// A JSON report (`check` or `fetch --format json`) as `stdout` and `stderr`
/// hold it: the document, and its results by URL.
pub fn json_report(
    stdout: &[u8],
    stderr: &[u8],
) -> (Value, std::collections::BTreeMap<String, Value>) {
    let doc: Value = serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(stdout),
            String::from_utf8_lossy(stderr)
        )
    });
    let results = doc["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|r| (s(r, "url").to_owned(), r.clone()))
        .collect();
    (doc, results)
}

/// A small PNG whose bytes depend on `seed`.
pub fn png(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..600).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)));
    bytes
}

/// Lowercase hex of a digest.
pub fn s3_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
