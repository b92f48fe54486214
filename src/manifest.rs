//! `archive/manifest.jsonl`: which URL is stored as which object.
//!
//! A format line, then one JSON record per URL, sorted by URL, each on one line
//! with its fields in a fixed order: committing `archive/` to git gives small,
//! readable diffs. The file is rewritten whole and atomically (temp file, fsync,
//! rename), and only after the objects it names are durable, so after a crash it
//! always parses and never names an object that is not there.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::store::write_atomic_in;

/// The manifest's file name inside the archive.
pub const FILE_NAME: &str = "manifest.jsonl";

/// The first line: what the file is and its version.
pub const FORMAT_LINE: &str = r#"{"format":"archiver-manifest","version":1}"#;

/// Where an object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The URL itself (or where it redirected).
    Origin,
    /// The Wayback Machine's copy.
    Wayback,
}

/// One URL's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The URL as the notes cite it (normalized, without fragment).
    pub url: String,
    /// The object's path relative to the archive folder.
    pub object: String,
    /// The object's sha256, lowercase hex.
    pub sha256: String,
    /// Its media type, from its magic bytes.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The URL that answered, after redirects.
    pub final_url: String,
    /// When it was downloaded (RFC 3339, UTC, seconds).
    pub fetched_at: String,
    /// The server's ETag, if it sent one.
    pub etag: Option<String>,
    /// The server's Last-Modified, if it sent one.
    pub last_modified: Option<String>,
    /// Where the bytes came from.
    pub source: Source,
    /// For a Wayback Machine capture, its timestamp (`YYYYMMDDhhmmss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    /// The notes citing the URL, relative to the archive's parent folder, sorted.
    pub notes: BTreeSet<String>,
}

/// The records, by URL.
#[derive(Debug, Default, Clone)]
pub struct Manifest {
    /// Every record, keyed (and so sorted) by URL.
    pub records: BTreeMap<String, Record>,
}

impl Manifest {
    /// Reads the manifest at `path`; an absent file is an empty manifest.
    ///
    /// # Errors
    /// [`Error::Archive`] naming the line that does not parse, or the file that
    /// cannot be read.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = match std::fs::read_to_string(path) {
            // Rewritten whole, the manifest always has its format line: an empty
            // file is damage, not an empty archive.
            Ok(text) if text.trim().is_empty() => {
                return Err(Error::Archive {
                    path: path.to_path_buf(),
                    message: "the manifest is empty (not even its format line); restore it from git, or remove it if the archive is new".into(),
                });
            }
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::Archive {
                    path: path.to_path_buf(),
                    message: format!("cannot read the manifest: {e}"),
                });
            }
        };
        Self::parse(&text).map_err(|(line, message)| Error::Archive {
            path: PathBuf::from(format!("{}:{line}", path.display())),
            message: format!(
                "{message}; restore the file from git, or move it away to start a new manifest"
            ),
        })
    }

    /// Parses a manifest's text; an error gives the 1-based line and what is wrong.
    ///
    /// # Errors
    /// The first line that is not what it should be.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            None => return Ok(Self::default()),
            Some((_, first)) => {
                let header: serde_json::Value = serde_json::from_str(first)
                    .map_err(|e| (1, format!("not a manifest header: {e}")))?;
                if header.get("format").and_then(|f| f.as_str()) != Some("archiver-manifest") {
                    return Err((1, "not an archiver manifest".into()));
                }
                if header.get("version").and_then(serde_json::Value::as_u64) != Some(1) {
                    return Err((
                        1,
                        format!("manifest version {} is not 1", header["version"]),
                    ));
                }
            }
        }
        let mut records = BTreeMap::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record =
                serde_json::from_str(line).map_err(|e| (i + 1, format!("bad record: {e}")))?;
            records.insert(record.url.clone(), record);
        }
        Ok(Manifest { records })
    }

    /// The file's text: the format line, then the records in URL order.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(64 + self.records.len() * 400);
        out.push_str(FORMAT_LINE);
        out.push('\n');
        for record in self.records.values() {
            // A record of strings, numbers and a set always serializes.
            if let Ok(line) = serde_json::to_string(record) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// Writes the manifest to `path` atomically, through a temp file in
    /// `temp_dir` (the archive's `tmp/`).
    ///
    /// # Errors
    /// [`Error::Archive`] when it cannot be written; the old file is then intact.
    pub fn save(&self, path: &Path, temp_dir: &Path) -> Result<(), Error> {
        write_atomic_in(path, temp_dir, self.render().as_bytes()).map_err(|e| Error::Archive {
            path: path.to_path_buf(),
            message: format!("cannot write the manifest: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(url: &str) -> Record {
        Record {
            url: url.into(),
            object: format!("objects/ab/{}.png", "ab".repeat(32)),
            sha256: "ab".repeat(32),
            media_type: "image/png".into(),
            size: 3,
            final_url: url.into(),
            fetched_at: "2026-11-27T10:00:00Z".into(),
            etag: Some("\"x\"".into()),
            last_modified: None,
            source: Source::Origin,
            captured_at: None,
            notes: BTreeSet::from(["notes/b.md".to_owned(), "notes/a.md".to_owned()]),
        }
    }

    #[test]
    fn records_are_sorted_and_round_trip() {
        let mut m = Manifest::default();
        for url in ["https://z.org/1.png", "https://a.org/2.png"] {
            m.records.insert(url.into(), record(url));
        }
        let text = m.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], FORMAT_LINE);
        assert!(lines[1].starts_with(r#"{"url":"https://a.org/2.png","object":"#));
        assert!(lines[1].contains(r#""notes":["notes/a.md","notes/b.md"]"#));
        assert_eq!(Manifest::parse(&text).unwrap().render(), text);
    }

    #[test]
    fn a_damaged_line_is_named() {
        let text = format!("{FORMAT_LINE}\n{{\"url\": 1}}\n");
        assert_eq!(Manifest::parse(&text).unwrap_err().0, 2);
        assert_eq!(Manifest::parse("{}\n").unwrap_err().0, 1);
        assert!(Manifest::parse("").unwrap().records.is_empty());
    }
}
