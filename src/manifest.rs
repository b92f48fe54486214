//! `archive/manifest.jsonl`: which URL is stored as which object.
//!
//! A format line, then one JSON record per URL, sorted by URL, each on one line
//! with its fields in a fixed order: committing `archive/` to git gives small,
//! readable diffs. The file is rewritten whole and atomically (temp file, fsync,
//! rename), and only after the objects it names are durable, so after a crash it
//! always parses and never names an object that is not there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::store::{ArchiveFile, EntryKind, ObjectName, Storage};

/// The manifest's file name inside the archive.
pub const FILE_NAME: &str = crate::store::MANIFEST;

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
    /// For a page's snapshot, the objects it shows (its images), relative to
    /// the archive folder: kept as long as the snapshot is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
    /// For a page's snapshot, the sha256 of the page as it was fetched: a
    /// refresh that finds the same page keeps the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_sha256: Option<String>,
    /// For a page's snapshot, the page's title, as its banner shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Earlier snapshots of the page, oldest first, kept when a refresh found
    /// it changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<Capture>,
}

/// An earlier snapshot of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// The snapshot's object, relative to the archive folder.
    pub object: String,
    /// Its sha256.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was taken.
    pub fetched_at: String,
    /// The objects it shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
}

impl Capture {
    /// The snapshot `record` holds now, as an earlier capture.
    #[must_use]
    pub fn of(record: &Record) -> Self {
        Capture {
            object: record.object.clone(),
            sha256: record.sha256.clone(),
            size: record.size,
            fetched_at: record.fetched_at.clone(),
            uses: record.uses.clone(),
        }
    }
}

/// The records, by URL.
#[derive(Debug, Default, Clone)]
pub struct Manifest {
    /// Every record, keyed (and so sorted) by URL.
    pub records: BTreeMap<String, Record>,
    /// Records a later line for the same URL superseded (what a `merge=union`
    /// git merge of two manifests leaves), with their 1-based line. Their
    /// objects stay live for `gc` until the manifest is written again, with one
    /// record per URL.
    pub shadowed: Vec<(usize, Record)>,
    /// For each URL with shadowed records, the line of the record kept.
    pub kept_lines: BTreeMap<String, usize>,
}

/// A manifest line that could not be read, for [`Manifest::parse_lenient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based.
    pub line: usize,
    /// What is wrong with it.
    pub why: String,
}

impl Record {
    /// Whether its object is in `archive`: there as an object (not a symlink,
    /// which may point anywhere or nowhere) at its recorded size, under the
    /// name of its recorded hash. One that is not is downloaded again.
    /// (Rehashing every object on every run would cost as much as `verify`;
    /// `verify` does that.)
    /// A snapshot is intact only with every object it shows: one image gone,
    /// and the page is snapshotted again.
    pub fn is_intact_in(&self, archive: &dyn Storage) -> bool {
        let shown = || {
            self.uses
                .iter()
                .all(|used| matches!(archive.stat(used), Ok(Some((EntryKind::File, _)))))
        };
        self.object_is_in(archive) && shown()
    }

    /// Whether its own object is in `archive`, at its recorded size under the
    /// name of its recorded hash (the objects a snapshot shows not looked at).
    pub fn object_is_in(&self, archive: &dyn Storage) -> bool {
        ObjectName::from_relative(&self.object)
            .is_some_and(|name| name.sha256 == self.sha256 && archive.has(&name, self.size))
    }
}

#[cfg(test)]
impl Record {
    /// A record of `url` downloaded from its origin at `fetched_at` as
    /// `object`, with nothing more known: where the tests start from.
    pub(crate) fn sample(
        url: &str,
        object: String,
        sha256: String,
        media_type: &str,
        size: u64,
        fetched_at: &str,
    ) -> Record {
        Record {
            url: url.to_owned(),
            object,
            sha256,
            media_type: media_type.to_owned(),
            size,
            final_url: url.to_owned(),
            fetched_at: fetched_at.to_owned(),
            etag: None,
            last_modified: None,
            source: Source::Origin,
            captured_at: None,
            notes: BTreeSet::new(),
            uses: Vec::new(),
            page_sha256: None,
            title: None,
            captures: Vec::new(),
        }
    }
}

impl Manifest {
    /// Reads the archive's manifest; an absent file is an empty manifest.
    ///
    /// # Errors
    /// [`Error::Archive`] naming the first line that does not parse, or the
    /// file that cannot be read.
    pub fn load(archive: &dyn Storage) -> Result<Self, Error> {
        let (manifest, bad) = Self::load_lenient(archive)?;
        match bad.first() {
            None => Ok(manifest),
            Some(bad) => Err(Error::archive(
                PathBuf::from(format!(
                    "{}:{}",
                    archive.path_of(ArchiveFile::Manifest).display(),
                    bad.line
                )),
                format!(
                    "{}; restore the file from git, or move it away to start a new manifest",
                    bad.why
                ),
            )),
        }
    }

    /// Reads the archive's manifest as far as it can: the records of the lines
    /// that parse, and the lines that do not (a wrong format line makes the
    /// whole file one bad line: nothing in it can be trusted).
    ///
    /// # Errors
    /// [`Error::Archive`] when the file cannot be read, or is empty.
    pub fn load_lenient(archive: &dyn Storage) -> Result<(Self, Vec<BadLine>), Error> {
        let Some(bytes) = archive.read_file(ArchiveFile::Manifest)? else {
            return Ok(Default::default());
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::archive_io(
                archive.path_of(ArchiveFile::Manifest),
                "cannot read the manifest",
                std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
            )
        })?;
        // Rewritten whole, the manifest always has its format line: an empty
        // file is damage, not an empty archive.
        if text.trim().is_empty() {
            return Err(Error::archive(
                archive.path_of(ArchiveFile::Manifest),
                "the manifest is empty (not even its format line); restore it from git, or remove it if the archive is new",
            ));
        }
        Ok(Self::parse_lenient(&text))
    }

    /// Parses a manifest's text; an error gives the 1-based line and what is wrong.
    ///
    /// # Errors
    /// The first line that is not what it should be.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let (manifest, bad) = Self::parse_lenient(text);
        match bad.into_iter().next() {
            None => Ok(manifest),
            Some(bad) => Err((bad.line, bad.why)),
        }
    }

    /// Parses what can be parsed of a manifest's text. Of two records for one
    /// URL the one fetched later is kept (on a tie, the later line): a union
    /// merge puts lines in no meaningful order, capture times are.
    #[must_use]
    pub fn parse_lenient(text: &str) -> (Self, Vec<BadLine>) {
        let mut lines = text.lines().enumerate();
        if let Some((_, first)) = lines.next()
            && let Err(why) = check_header(first)
        {
            return (Self::default(), vec![BadLine { line: 1, why }]);
        }
        let mut manifest = Manifest::default();
        let mut bad = Vec::new();
        let mut line_of: BTreeMap<String, usize> = BTreeMap::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = match serde_json::from_str(line) {
                Ok(record) => record,
                Err(e) => {
                    bad.push(BadLine {
                        line: i + 1,
                        why: format!("bad record: {e}"),
                    });
                    continue;
                }
            };
            let url = record.url.clone();
            match manifest.records.remove(&url) {
                None => {
                    manifest.records.insert(url.clone(), record);
                    line_of.insert(url, i + 1);
                }
                Some(earlier) => {
                    let earlier_line = line_of.get(&url).copied().unwrap_or(0);
                    let (kept, dropped) = if record.fetched_at >= earlier.fetched_at {
                        line_of.insert(url.clone(), i + 1);
                        ((i + 1, record), (earlier_line, earlier))
                    } else {
                        ((earlier_line, earlier), (i + 1, record))
                    };
                    manifest.records.insert(url, kept.1);
                    manifest.shadowed.push(dropped);
                }
            }
        }
        manifest.shadowed.sort_by_key(|(line, _)| *line);
        for (_, record) in &manifest.shadowed {
            if let Some(line) = line_of.get(&record.url) {
                manifest.kept_lines.insert(record.url.clone(), *line);
            }
        }
        (manifest, bad)
    }

    /// Brings the notes of every record up to date: the notes in `read` speak
    /// for themselves (a note that no longer cites a URL is no longer listed
    /// under it, one that does is), the notes not read keep their citations.
    pub fn recite(&mut self, read: &BTreeSet<String>, cited: &BTreeMap<String, BTreeSet<String>>) {
        for (url, record) in &mut self.records {
            record.notes.retain(|n| !read.contains(n));
            if let Some(notes) = cited.get(url) {
                record.notes.extend(notes.iter().cloned());
            }
        }
    }

    /// Every object a line of the manifest names, superseded records' too.
    pub fn objects(&self) -> impl Iterator<Item = &str> {
        self.records
            .values()
            .chain(self.shadowed.iter().map(|(_, r)| r))
            .flat_map(|r| {
                let captures = r.captures.iter().flat_map(|c| {
                    std::iter::once(c.object.as_str()).chain(c.uses.iter().map(String::as_str))
                });
                std::iter::once(r.object.as_str())
                    .chain(r.uses.iter().map(String::as_str))
                    .chain(captures)
            })
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

    /// Replaces the archive's manifest with this one, whole and atomically.
    ///
    /// # Errors
    /// [`Error::Archive`] when it cannot be written; the old file is then intact.
    pub fn save(&self, archive: &dyn Storage) -> Result<(), Error> {
        archive.replace_file(ArchiveFile::Manifest, self.render().as_bytes())
    }
}

/// Whether `first` is the format line of a manifest this version reads.
fn check_header(first: &str) -> Result<(), String> {
    let header: serde_json::Value =
        serde_json::from_str(first).map_err(|e| format!("not a manifest header: {e}"))?;
    if header.get("format").and_then(|f| f.as_str()) != Some("archiver-manifest") {
        return Err("not an archiver manifest".into());
    }
    if header.get("version").and_then(serde_json::Value::as_u64) != Some(1) {
        return Err(format!("manifest version {} is not 1", header["version"]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(url: &str) -> Record {
        Record {
            etag: Some("\"x\"".into()),
            notes: BTreeSet::from(["notes/b.md".to_owned(), "notes/a.md".to_owned()]),
            ..Record::sample(
                url,
                format!("objects/ab/{}.png", "ab".repeat(32)),
                "ab".repeat(32),
                "image/png",
                3,
                "2026-11-27T10:00:00Z",
            )
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
    fn of_two_records_for_one_url_the_later_capture_is_kept_and_the_other_shadowed() {
        let mut older = record("https://a.org/1.png");
        older.fetched_at = "2026-01-01T00:00:00Z".into();
        older.object = format!("objects/cd/{}.png", "cd".repeat(32));
        let newer = record("https://a.org/1.png");
        let line = |r: &Record| serde_json::to_string(r).unwrap();
        // The newer record first, as a union merge may leave it.
        let text = format!(
            "{FORMAT_LINE}\n{}\n{}\n{}\n",
            line(&newer),
            line(&older),
            line(&older)
        );
        let (m, bad) = Manifest::parse_lenient(&text);
        assert!(bad.is_empty());
        assert_eq!(m.records["https://a.org/1.png"], newer);
        assert_eq!(
            m.shadowed.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            [3, 4]
        );
        assert_eq!(m.objects().filter(|o| o.contains("/cd/")).count(), 2);
        // Written again, one record per URL.
        assert_eq!(m.render().lines().count(), 2);
    }

    #[test]
    fn a_damaged_line_is_named_and_the_others_still_read() {
        let text = format!(
            "{FORMAT_LINE}\nnot json\n{}\n",
            serde_json::to_string(&record("https://a.org/1.png")).unwrap()
        );
        let (m, bad) = Manifest::parse_lenient(&text);
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), [2]);
        assert_eq!(m.records.len(), 1);
    }

    #[test]
    fn a_damaged_line_is_named() {
        let text = format!("{FORMAT_LINE}\n{{\"url\": 1}}\n");
        assert_eq!(Manifest::parse(&text).unwrap_err().0, 2);
        assert_eq!(Manifest::parse("{}\n").unwrap_err().0, 1);
        assert!(Manifest::parse("").unwrap().records.is_empty());
    }
}
