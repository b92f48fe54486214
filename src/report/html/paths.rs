//! Links from the report to files beside it: the notes and the archive's
//! objects, by relative path from the report's folder, so the report works
//! opened from disk, and again after the folder holding both is moved.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// Where the report links an archived object to.
#[derive(Debug, Clone)]
pub enum ObjectLinks<'a> {
    /// An archive folder, linked by relative path from the report's folder.
    Folder {
        /// The archive's folder, absolute.
        archive_dir: &'a Path,
        /// The report's folder, absolute.
        out_dir: &'a Path,
    },
    /// An archive in a bucket, linked at the address it is served at
    /// (`archive.public_url`), as `rewrite` links notes to it.
    Served(&'a str),
}

impl ObjectLinks<'_> {
    /// The link to the object at `key` (`objects/ab/<sha256>.png`).
    #[must_use]
    pub fn href(&self, key: &str) -> String {
        match self {
            ObjectLinks::Folder {
                archive_dir,
                out_dir,
            } => relative_href(out_dir, &archive_dir.join(key)),
            ObjectLinks::Served(base) => format!("{}/{key}", base.trim_end_matches('/')),
        }
    }
}

/// The path of `target` relative to the folder `from`, with forward slashes
/// and every segment percent-encoded as a URL path needs; both absolute.
#[must_use]
pub fn relative_href(from: &Path, target: &Path) -> String {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| encode(&c.as_os_str().to_string_lossy())),
    );
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// `path` made absolute (against the current folder) with `.` and `..`
/// resolved, whether or not it exists yet; links through symlinks stay as
/// written, as a browser would follow them.
#[must_use]
pub fn absolute(path: &Path) -> PathBuf {
    let joined = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// One path segment as a URL writes it: unreserved characters as they are,
/// every other byte percent-encoded (`#`, `?` and `%` would otherwise change
/// what the link means).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_report_folder() {
        let from = Path::new("/home/me/notes/out");
        assert_eq!(
            relative_href(from, Path::new("/home/me/notes/archive/objects/ab/x.png")),
            "../archive/objects/ab/x.png"
        );
        assert_eq!(
            relative_href(from, Path::new("/home/me/notes/out/a b#1.md")),
            "a%20b%231.md"
        );
        assert_eq!(relative_href(from, from), ".");
    }

    #[test]
    fn dots_are_resolved_without_the_file_existing() {
        assert_eq!(
            absolute(Path::new("/a/b/../c/./d.html")),
            PathBuf::from("/a/c/d.html")
        );
    }
}
