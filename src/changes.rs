//! What a change touched, from git: the files that differ from a revision and
//! the lines added or changed in them (`check --changed-since REV`).
//!
//! The change is everything between the merge base of REV and HEAD and the
//! working tree: the commits of `git diff REV...HEAD` plus uncommitted edits,
//! staged or not, plus untracked files (whole). Deleted lines have no links left
//! to check, so only the new side of each hunk counts.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// Which lines of a changed file count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lines {
    /// The whole file: new, or `--whole-files`.
    All,
    /// These line ranges (1-based, inclusive) of the file as it is now.
    Ranges(Vec<RangeInclusive<u32>>),
}

/// The files a change touched, by canonical path.
#[derive(Debug, Default)]
pub struct Changes {
    /// The repository's top folder.
    root: PathBuf,
    files: HashMap<PathBuf, Lines>,
}

impl Changes {
    /// Asks git what differs from `rev` in the repository that holds the
    /// folder `at`. With `whole_files`, every line of a changed file counts.
    ///
    /// # Errors
    /// [`Error::ChangedSince`] when git is missing, the folder is not in a
    /// repository, or `rev` is not a revision of it.
    pub fn since(rev: &str, whole_files: bool, at: &Path) -> Result<Self, Error> {
        let git = |args: &[&str]| git(rev, at, args);
        let root = git(&["rev-parse", "--show-toplevel"])?;
        let root = path_of(root.strip_suffix(b"\n").unwrap_or(&root));
        let base = git(&["merge-base", rev, "HEAD"])?;
        let base = String::from_utf8_lossy(&base).trim().to_owned();
        // Fixed prefixes and paths from the top, whatever the user's git
        // configuration says (diff.mnemonicPrefix, diff.relative, quotePath).
        let diff = [
            "-c",
            "core.quotePath=false",
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--no-relative",
            "--src-prefix=a/",
            "--dst-prefix=b/",
        ];
        let mut changes = Changes {
            root: std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone()),
            files: HashMap::new(),
        };
        if whole_files {
            let names = git(&[&diff[..], &["--name-only", "-z", &base, "--"]].concat())?;
            for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
                changes.add(&root, name, Lines::All);
            }
        } else {
            let patch = git(&[&diff[..], &["--unified=0", &base, "--"]].concat())?;
            for (name, ranges) in parse_diff(&patch) {
                changes.add(&root, &name, Lines::Ranges(ranges));
            }
        }
        let untracked = git(&[
            "ls-files",
            "--others",
            "--exclude-standard",
            "-z",
            "--full-name",
            ":/",
        ])?;
        for name in untracked.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            changes.add(&root, name, Lines::All);
        }
        Ok(changes)
    }

    fn add(&mut self, root: &Path, name: &[u8], lines: Lines) {
        let path = root.join(path_of(name));
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        self.files.insert(path, lines);
    }

    /// The lines of `note` that changed; `None` when the note did not change.
    #[must_use]
    pub fn lines_of(&self, note: &Path) -> Option<&Lines> {
        let canonical = std::fs::canonicalize(note).ok()?;
        self.files.get(&canonical)
    }

    /// The repository's top folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `note` is in the repository, so that a change to it would show.
    #[must_use]
    pub fn covers(&self, note: &Path) -> bool {
        std::fs::canonicalize(note).is_ok_and(|path| path.starts_with(&self.root))
    }

    /// How many files changed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A path from git's bytes: on Unix exactly those bytes, elsewhere as UTF-8.
fn path_of(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

impl Lines {
    /// Whether `line` (1-based) is among them.
    #[must_use]
    pub fn contains(&self, line: u32) -> bool {
        match self {
            Lines::All => true,
            Lines::Ranges(ranges) => ranges.iter().any(|r| r.contains(&line)),
        }
    }
}

/// Runs git with `args` in the folder `at`; its stdout.
fn git(rev: &str, at: &Path, args: &[&str]) -> Result<Vec<u8>, Error> {
    let failed = |message: String, source: Option<std::io::Error>| Error::ChangedSince {
        rev: rev.to_owned(),
        message,
        source,
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(at)
        .args(args)
        .output()
        .map_err(|e| failed(format!("cannot run git: {e}; is it installed?"), Some(e)))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(
            format!(
                "`git {}` in {} failed: {}",
                args.join(" "),
                at.display(),
                stderr.trim()
            ),
            None,
        ));
    }
    Ok(output.stdout)
}

/// The new-side line ranges of each file (its path as git's bytes) in a
/// `--unified=0` diff. Notes need not be UTF-8, nor their names.
fn parse_diff(diff: &[u8]) -> Vec<(Vec<u8>, Vec<RangeInclusive<u32>>)> {
    let mut files: Vec<(Vec<u8>, Vec<RangeInclusive<u32>>)> = Vec::new();
    let mut current: Option<usize> = None;
    // Between `diff --git` and the first hunk: a `+++` line there names the
    // file, while in a hunk it is an added line that starts with `++`.
    let mut in_header = false;
    for line in diff.split(|b| *b == b'\n') {
        if line.starts_with(b"diff --git ") {
            current = None;
            in_header = true;
        } else if let (true, Some(name)) = (in_header, line.strip_prefix(b"+++ ")) {
            // Git ends the line with a tab when the name has a space in it.
            let name = name.strip_suffix(b"\t").unwrap_or(name);
            current = if name == b"/dev/null" {
                None
            } else {
                let name = unquote(name);
                let name = name.strip_prefix(b"b/").unwrap_or(&name).to_vec();
                files.push((name, Vec::new()));
                Some(files.len() - 1)
            };
        } else if let Some(hunk) = line.strip_prefix(b"@@ ") {
            in_header = false;
            if let (Some(i), Some(range)) = (current, new_side(&String::from_utf8_lossy(hunk))) {
                files[i].1.push(range);
            }
        }
    }
    files
}

/// The new side of a hunk header (`-12,3 +14,5 @@ …`): lines 14 to 18. A hunk
/// that only deletes (`+14,0`) changes no line that is still there.
fn new_side(hunk: &str) -> Option<RangeInclusive<u32>> {
    let plus = hunk.split(' ').find_map(|part| part.strip_prefix('+'))?;
    let (start, count) = match plus.split_once(',') {
        Some((s, c)) => (s.parse::<u32>().ok()?, c.parse::<u32>().ok()?),
        None => (plus.parse::<u32>().ok()?, 1),
    };
    (count > 0).then(|| start..=start + count - 1)
}

/// A path as git prints it: C-quoted (`"a\tb.md"`, octal escapes) when it holds
/// unusual bytes.
fn unquote(name: &[u8]) -> Vec<u8> {
    let Some(inner) = name.strip_prefix(b"\"").and_then(|n| n.strip_suffix(b"\"")) else {
        return name.to_vec();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.iter().copied().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(7),
            Some(b'b') => bytes.push(8),
            Some(b'f') => bytes.push(12),
            Some(b'v') => bytes.push(11),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&next @ b'0'..=b'7') = chars.peek() {
                        value = value * 8 + u32::from(next - b'0');
                        chars.next();
                    }
                }
                bytes.push(u8::try_from(value).unwrap_or(b'?'));
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_side_ranges_come_from_hunk_headers() {
        let diff = "diff --git a/notes/a.md b/notes/a.md\n\
                    index 1..2 100644\n\
                    --- a/notes/a.md\n\
                    +++ b/notes/a.md\n\
                    @@ -3 +3 @@ x\n\
                    -old\n\
                    +new\n\
                    @@ -10,0 +11,2 @@\n\
                    +a\n\
                    +b\n\
                    @@ -20,2 +21,0 @@\n\
                    -gone\n\
                    -gone\n\
                    diff --git a/old.md b/old.md\n\
                    --- a/old.md\n\
                    +++ /dev/null\n\
                    @@ -1 +0,0 @@\n\
                    -x\n\
                    diff --git \"a/\\344\\270\\255 x.md\" \"b/\\344\\270\\255 x.md\"\n\
                    --- \"a/\\344\\270\\255 x.md\"\n\
                    +++ \"b/\\344\\270\\255 x.md\"\n\
                    @@ -1 +1 @@\n\
                    -+++ b/not-a-header\n\
                    ++++ b/still-not\n\
                    @@ -5,0 +6 @@\n\
                    +++ b/an added line\n\
                    diff --git a/my note.md b/my note.md\n\
                    --- a/my note.md\t\n\
                    +++ b/my note.md\t\n\
                    @@ -2 +2 @@\n\
                    -x\n\
                    +y\n\
                    diff --git \"a/bad\\377.md\" \"b/bad\\377.md\"\n\
                    +++ \"b/bad\\377.md\"\n\
                    @@ -1 +1 @@\n";
        let files = parse_diff(diff.as_bytes());
        assert_eq!(
            files,
            [
                (b"notes/a.md".to_vec(), vec![3..=3, 11..=12]),
                ("中 x.md".as_bytes().to_vec(), vec![1..=1, 6..=6]),
                (b"my note.md".to_vec(), vec![2..=2]),
                (b"bad\xff.md".to_vec(), vec![1..=1]),
            ]
        );
    }

    #[test]
    fn lines_contain_what_changed() {
        let lines = Lines::Ranges(vec![3..=3, 11..=12]);
        assert!(lines.contains(3) && lines.contains(12));
        assert!(!lines.contains(4) && !lines.contains(10));
        assert!(Lines::All.contains(1));
    }
}
