//! Rewriting notes to use the archive's copies, and putting them back.
//!
//! A rewrite replaces exactly the bytes of a link's URL (its span) with the
//! relative path from the note to the object; every other byte stays. Each
//! replacement is recorded in the rewrite journal (`archive/rewrites.jsonl`):
//! the note, the URL as written, the path put in its place, the object. A
//! restore finds the paths by content, not by offset, so notes edited since still
//! come back byte for byte, and puts the URLs back.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
pub use crate::manifest::BadLine;
use crate::store::{ArchiveFile, Storage};

/// The journal's file name inside the archive.
pub const JOURNAL: &str = crate::store::JOURNAL;

/// The journal's first line.
pub const FORMAT_LINE: &str = r#"{"format":"archiver-rewrites","version":1}"#;

/// One replacement made in a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The note, relative to the archive's parent folder.
    pub note: String,
    /// The URL exactly as it was written.
    pub original: String,
    /// The relative path written in its place.
    pub replacement: String,
    /// The object, relative to the archive folder.
    pub object: String,
}

/// A replacement to make in a note's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The bytes replaced.
    pub span: Range<usize>,
    /// What goes there.
    pub replacement: String,
}

/// The journal: every replacement in force, note by note, in the order made.
#[derive(Debug, Default, Clone)]
pub struct Journal {
    /// Entries by note.
    pub notes: BTreeMap<String, Vec<Entry>>,
    /// Lines that could not be read, kept as they are: saving the journal
    /// writes them back after the entries, for a person to repair.
    pub unreadable: Vec<String>,
}

impl Journal {
    /// Reads the archive's journal; an absent file is an empty journal.
    ///
    /// # Errors
    /// [`Error::Archive`] naming the first line that does not parse.
    pub fn load(archive: &dyn Storage) -> Result<Self, Error> {
        let (journal, bad) = Self::load_lenient(archive)?;
        match bad.first() {
            None => Ok(journal),
            Some(bad) => Err(Error::archive(
                PathBuf::from(format!(
                    "{}:{}",
                    archive.path_of(ArchiveFile::Journal).display(),
                    bad.line
                )),
                format!("{}; restore the file from git", bad.why),
            )),
        }
    }

    /// Reads the archive's journal as far as it can: the entries of the lines
    /// that parse, and the lines that do not.
    ///
    /// # Errors
    /// [`Error::Archive`] when the file cannot be read.
    pub fn load_lenient(archive: &dyn Storage) -> Result<(Self, Vec<BadLine>), Error> {
        Ok(match archive.read_file(ArchiveFile::Journal)? {
            Some(bytes) => Self::parse_lenient(&String::from_utf8_lossy(&bytes)),
            None => Default::default(),
        })
    }

    /// Parses what can be parsed of a journal's text.
    #[must_use]
    pub fn parse_lenient(text: &str) -> (Self, Vec<BadLine>) {
        let mut journal = Journal::default();
        let mut bad = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || (i == 0 && line.contains("archiver-rewrites")) {
                continue;
            }
            match serde_json::from_str::<Entry>(line) {
                Ok(entry) => journal
                    .notes
                    .entry(entry.note.clone())
                    .or_default()
                    .push(entry),
                Err(e) => {
                    bad.push(BadLine {
                        line: i + 1,
                        why: format!("bad journal entry: {e}"),
                    });
                    journal.unreadable.push(line.to_owned());
                }
            }
        }
        (journal, bad)
    }

    /// Replaces the archive's journal with this one, whole and atomically.
    ///
    /// # Errors
    /// [`Error::Archive`] when it cannot be written.
    pub fn save(&self, archive: &dyn Storage) -> Result<(), Error> {
        let mut out = String::from(FORMAT_LINE);
        out.push('\n');
        for entry in self.notes.values().flatten() {
            if let Ok(line) = serde_json::to_string(entry) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        for line in &self.unreadable {
            out.push_str(line);
            out.push('\n');
        }
        archive.replace_file(ArchiveFile::Journal, out.as_bytes())
    }
}

/// `text` with `edits` made (sorted by position, not overlapping).
#[must_use]
pub fn apply(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    for edit in edits {
        if edit.span.start < at || edit.span.end > text.len() {
            continue;
        }
        out.extend_from_slice(&text[at..edit.span.start]);
        out.extend_from_slice(edit.replacement.as_bytes());
        at = edit.span.end;
    }
    out.extend_from_slice(&text[at..]);
    out
}

/// `text` with the journal's replacements put back: each occurrence of a
/// replacement, in order, gets the URL recorded for it (in order, when one path
/// stood for several URLs). Returns the text and the entries not found.
#[must_use]
pub fn restore(text: &[u8], entries: &[Entry]) -> (Vec<u8>, Vec<Entry>) {
    let mut by_path: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        by_path.entry(&entry.replacement).or_default().push(entry);
    }
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut missing = Vec::new();
    for (path, wanted) in &by_path {
        let found = places(text, path);
        // Never more URLs put back than were taken out.
        for (at, entry) in found.iter().zip(wanted) {
            edits.push((*at..at + path.len(), entry.original.clone()));
        }
        missing.extend(wanted.iter().skip(found.len()).map(|e| (*e).clone()));
    }
    edits.sort_by_key(|(span, _)| span.start);
    let edits: Vec<Edit> = edits
        .into_iter()
        .map(|(span, replacement)| Edit { span, replacement })
        .collect();
    (apply(text, &edits), missing)
}

/// A note's journal entries after a rewrite, in the order their paths stand in
/// the new text (the order `restore` gives URLs back in): the entries already
/// there (those whose path is no longer in the text dropped) and the new ones,
/// each with the position its path was written at.
#[must_use]
pub fn merge_entries(old: Vec<Entry>, text: &[u8], new: Vec<(usize, Entry)>) -> Vec<Entry> {
    let taken: std::collections::BTreeSet<usize> = new.iter().map(|(at, _)| *at).collect();
    let mut by_path: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for entry in old {
        by_path
            .entry(entry.replacement.clone())
            .or_default()
            .push(entry);
    }
    for (_, entry) in &new {
        by_path.entry(entry.replacement.clone()).or_default();
    }
    let mut placed: Vec<(usize, Entry)> = new;
    for (path, entries) in by_path {
        let Some((note, object)) = placed
            .iter()
            .map(|(_, e)| e)
            .chain(&entries)
            .find(|e| e.replacement == path)
            .map(|e| (e.note.clone(), e.object.clone()))
        else {
            continue;
        };
        let mut entries = entries.into_iter();
        for at in places(text, &path)
            .into_iter()
            .filter(|at| !taken.contains(at))
        {
            // A place no entry accounts for was there before any rewrite (a
            // path written by hand): it is recorded as itself, so a restore
            // leaves it be.
            let entry = entries.next().unwrap_or_else(|| Entry {
                note: note.clone(),
                original: path.clone(),
                replacement: path.clone(),
                object: object.clone(),
            });
            placed.push((at, entry));
        }
    }
    placed.sort_by_key(|(at, _)| *at);
    placed.into_iter().map(|(_, entry)| entry).collect()
}

/// Where `path` stands in `text` as a whole link target: not inside a longer
/// URL or path (the bytes around it cannot be part of one).
#[must_use]
pub fn places(text: &[u8], path: &str) -> Vec<usize> {
    let bounds = |b: Option<&u8>| {
        b.is_none_or(|b| {
            matches!(
                b,
                b'(' | b')' | b'<' | b'>' | b'"' | b'\'' | b'=' | b',' | b'[' | b']'
            ) || b.is_ascii_whitespace()
        })
    };
    memchr::memmem::find_iter(text, path.as_bytes())
        .filter(|at| {
            let before = at.checked_sub(1).and_then(|i| text.get(i));
            bounds(before) && bounds(text.get(at + path.len()))
        })
        .collect()
}

/// The path from the folder `from` to `to` (both absolute), with forward
/// slashes, every byte that could end a Markdown destination or an HTML
/// attribute percent-encoded.
#[must_use]
pub fn relative_href(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    let path = parts.join("/");
    percent_encoding::utf8_percent_encode(&path, HREF).to_string()
}

/// Bytes kept as they are in a written path; everything else is encoded.
const HREF: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_touch_only_their_spans() {
        let text =
            b"\xef\xbb\xbf![a](https://x.org/a.png)\r\n<img src='https://x.org/b.png' alt=1>\r\n";
        let a = 8..27;
        assert_eq!(&text[a.clone()], b"https://x.org/a.png");
        let b = 40..59;
        assert_eq!(&text[b.clone()], b"https://x.org/b.png");
        let out = apply(
            text,
            &[
                Edit {
                    span: a,
                    replacement: "../archive/objects/aa/a.png".into(),
                },
                Edit {
                    span: b,
                    replacement: "../archive/objects/bb/b.png".into(),
                },
            ],
        );
        assert_eq!(
            out,
            b"\xef\xbb\xbf![a](../archive/objects/aa/a.png)\r\n<img src='../archive/objects/bb/b.png' alt=1>\r\n"
        );
    }

    #[test]
    fn restore_finds_paths_by_content_and_in_order() {
        let entry = |original: &str, replacement: &str| Entry {
            note: "n.md".into(),
            original: original.into(),
            replacement: replacement.into(),
            object: replacement.trim_start_matches("../archive/").into(),
        };
        let entries = [
            entry("https://a.org/1.png", "../archive/objects/aa/x.png"),
            entry("https://b.org/same.png", "../archive/objects/aa/x.png"),
            entry("https://c.org/gone.png", "../archive/objects/cc/z.png"),
        ];
        let text = b"new line\n![](../archive/objects/aa/x.png) ![](../archive/objects/aa/x.png)\n";
        let (out, missing) = restore(text, &entries);
        assert_eq!(
            out,
            b"new line\n![](https://a.org/1.png) ![](https://b.org/same.png)\n"
        );
        assert_eq!(missing, [entries[2].clone()]);
    }

    #[test]
    fn entries_follow_the_text_whatever_the_run_that_made_them() {
        let entry = |original: &str| Entry {
            note: "n.md".into(),
            original: original.into(),
            replacement: "p.png".into(),
            object: "objects/aa/p.png".into(),
        };
        // Run 1 rewrote A (now at offset 30); run 2 rewrites B, written above it.
        let text = b"![](p.png)\nsome text here.....\n![](p.png)\nhttps://x/p.png\n";
        let merged = merge_entries(
            vec![entry("https://a/x.png")],
            text,
            vec![(4, entry("https://b/x.png"))],
        );
        let originals: Vec<&str> = merged.iter().map(|e| e.original.as_str()).collect();
        assert_eq!(originals, ["https://b/x.png", "https://a/x.png"]);
        let (back, missing) = restore(text, &merged);
        assert!(missing.is_empty());
        assert_eq!(
            back,
            b"![](https://b/x.png)\nsome text here.....\n![](https://a/x.png)\nhttps://x/p.png\n"
        );
        // An old entry whose path is gone is dropped.
        let merged = merge_entries(vec![entry("https://a/x.png")], b"nothing\n", vec![]);
        assert!(merged.is_empty());
    }

    #[test]
    fn paths_are_relative_and_safe_where_they_stand() {
        assert_eq!(
            relative_href(
                Path::new("/r/notes/2022/06"),
                Path::new("/r/archive/objects/ab/x.png")
            ),
            "../../../archive/objects/ab/x.png"
        );
        assert_eq!(
            relative_href(
                Path::new("/r"),
                Path::new("/r/my archive/objects/ab/x (1).png")
            ),
            "my%20archive/objects/ab/x%20%281%29.png"
        );
    }
}
