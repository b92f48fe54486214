//! Checking an archive: every object rehashed and compared with its name (and
//! its content type with its extension), every manifest record checked against
//! its object, and objects nothing refers to listed. An object is a regular file
//! inside the archive: a symlink, folder or anything else at an object's name is
//! a finding, and is never followed (a symlink's target lies outside what the
//! archive holds, and a FIFO would never end a read).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::backend::{EntryKind, Storage};
use super::{ObjectName, hex};
use crate::error::Error;
use crate::manifest::Manifest;
use crate::media::{self, SNIFF_LEN};

/// One thing wrong with the archive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// An object whose content does not match its name.
    Corrupt {
        /// Its path relative to the archive.
        object: String,
        /// What is wrong.
        why: String,
    },
    /// An object the manifest names that is not there.
    Missing {
        /// Its path relative to the archive.
        object: String,
        /// The URL whose record names it.
        url: String,
    },
    /// A manifest record that contradicts itself or its object.
    BadRecord {
        /// The record's URL.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// An object nothing refers to.
    Unreferenced {
        /// Its path relative to the archive.
        object: String,
    },
    /// A file under objects/ that is not named like an object.
    Stray {
        /// Its path relative to the archive.
        path: String,
    },
    /// A line of the manifest or of the rewrite journal that cannot be read.
    BadLine {
        /// The file, relative to the archive.
        file: String,
        /// 1-based.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// Two or more manifest lines for one URL.
    Duplicate {
        /// The URL.
        url: String,
        /// The lines, 1-based.
        lines: Vec<usize>,
        /// Whether the lines are all the same record.
        exact: bool,
    },
    /// Something under objects/ that is not a regular file or a fan-out folder:
    /// a symlink, a FIFO, a folder at an object's name.
    NotAFile {
        /// Its path relative to the archive.
        path: String,
        /// What it is instead.
        what: &'static str,
    },
    /// A WARC file that does not read back whole, or a payload that does not
    /// match its digest.
    BadWarc {
        /// Its path relative to the archive.
        file: String,
        /// What is wrong.
        why: String,
    },
}

impl Problem {
    /// Whether it is about a line of the rewrite journal.
    fn in_journal(&self) -> bool {
        matches!(self, Problem::BadLine { file, .. } if file == crate::store::JOURNAL)
    }

    /// A short word for the kind of problem.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Corrupt { .. } => "corrupt",
            Problem::Missing { .. } => "missing",
            Problem::BadRecord { .. } | Problem::BadLine { .. } if !self.in_journal() => {
                "bad-record"
            }
            Problem::Unreferenced { .. } => "unreferenced",
            Problem::Stray { .. } => "stray",
            Problem::BadRecord { .. } | Problem::BadLine { .. } => "bad-entry",
            Problem::Duplicate { .. } => "duplicate",
            Problem::NotAFile { .. } => "not-a-file",
            Problem::BadWarc { .. } => "bad-warc",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Corrupt { object, why } => write!(
                f,
                "{object}: {why}; `archiver fetch` downloads it again and replaces it, or restore it from a copy"
            ),
            Problem::Missing { object, url } => write!(
                f,
                "{object}: missing, though the manifest stores {url} there; `archiver fetch {url}` downloads it again"
            ),
            Problem::BadRecord { url, why } => write!(f, "manifest record for {url}: {why}"),
            Problem::Unreferenced { object } => write!(
                f,
                "{object}: neither the manifest nor the rewrite journal refers to it; `archiver gc NOTES` removes it unless a note links to it"
            ),
            Problem::Stray { path } => write!(f, "{path}: not an object's name (sha256.ext)"),
            Problem::BadLine { file, line, why } => write!(
                f,
                "{file}:{line}: {why}; fix or remove the line (restore the file from git), as gc refuses to run on it"
            ),
            Problem::Duplicate { url, lines, exact } => {
                let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
                let what = if *exact {
                    "the same record"
                } else {
                    "different records (the latest capture counts; gc keeps every object named)"
                };
                write!(
                    f,
                    "manifest lines {} are {what} for {url}; the next `archiver fetch` writes one",
                    lines.join(", ")
                )
            }
            Problem::BadWarc { file, why } => write!(
                f,
                "{file}: {why}; the objects it records are archived on their own, and a `fetch --warc` records them again"
            ),
            Problem::NotAFile { path, what } => write!(
                f,
                "{path}: {what}, not a regular file; objects are files inside the archive and verify does not follow it: remove it, then `archiver fetch` downloads what the manifest names there"
            ),
        }
    }
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Objects rehashed.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Manifest records checked.
    pub records: usize,
    /// Everything wrong, sorted.
    pub problems: Vec<Problem>,
}

/// What reading one object found.
struct Read_ {
    size: u64,
    sha256: String,
    /// What its first bytes say it is.
    extension: Option<&'static str>,
}

/// Checks `archive` against `manifest`; `also_live` names objects referred to
/// from elsewhere (the rewrite journal).
///
/// # Errors
/// The objects folder cannot be listed.
pub fn verify(
    archive: &dyn Storage,
    manifest: &Manifest,
    also_live: &BTreeSet<String>,
) -> Result<Report, Error> {
    let files = archive.list_objects()?;
    let mut problems = Vec::new();
    let mut objects: Vec<(String, ObjectName)> = Vec::new();
    // Names present in any form, for telling a missing object from a broken one.
    let mut present: BTreeSet<String> = BTreeSet::new();
    for listed in files {
        let path = listed.key;
        present.insert(path.clone());
        if let EntryKind::Other(what) = listed.kind {
            problems.push(Problem::NotAFile { path, what });
            continue;
        }
        match ObjectName::from_relative(&path) {
            Some(name) => objects.push((path, name)),
            None => problems.push(Problem::Stray { path }),
        }
    }
    let read: Vec<(String, ObjectName, std::io::Result<Read_>)> = objects
        .into_par_iter()
        .map(|(path, name)| {
            let read = archive.open_object(&path).and_then(read_object);
            (path, name, read)
        })
        .collect();
    let mut report = Report {
        records: manifest.records.len(),
        ..Report::default()
    };
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for (path, name, read) in read {
        report.objects += 1;
        match read {
            Err(e) => problems.push(Problem::Corrupt {
                object: path.clone(),
                why: format!("cannot be read: {e}"),
            }),
            Ok(read) => {
                report.bytes += read.size;
                if read.sha256 != name.sha256 {
                    problems.push(Problem::Corrupt {
                        object: path.clone(),
                        why: format!("its content hashes to {}", read.sha256),
                    });
                } else if let Some(extension) = read.extension
                    && extension != name.extension
                {
                    problems.push(Problem::Corrupt {
                        object: path.clone(),
                        why: format!(
                            "its content is a .{extension} file but it is named .{}",
                            name.extension
                        ),
                    });
                }
                sizes.insert(path.clone(), read.size);
            }
        }
    }
    let mut live: BTreeSet<&str> = also_live.iter().map(String::as_str).collect();
    live.extend(manifest.objects());
    problems.extend(check_records(manifest, &sizes, &present));
    for path in sizes.keys() {
        if !live.contains(path.as_str()) {
            problems.push(Problem::Unreferenced {
                object: path.clone(),
            });
        }
    }
    problems.extend(duplicates(manifest));
    problems.extend(missing_shown(manifest, &present));
    problems.sort();
    problems.dedup();
    report.problems = problems;
    Ok(report)
}

/// Every manifest record checked against its object (`sizes`: what was
/// rehashed; `present`: every name under objects/).
fn check_records(
    manifest: &Manifest,
    sizes: &BTreeMap<String, u64>,
    present: &BTreeSet<String>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for record in manifest.records.values() {
        let Some(name) = ObjectName::from_relative(&record.object) else {
            problems.push(Problem::BadRecord {
                url: record.url.clone(),
                why: format!("`{}` is not an object path", record.object),
            });
            continue;
        };
        if name.sha256 != record.sha256 {
            problems.push(Problem::BadRecord {
                url: record.url.clone(),
                why: format!(
                    "sha256 {} does not match its object {}",
                    record.sha256, record.object
                ),
            });
        }
        match sizes.get(&record.object) {
            None if !present.contains(&record.object) => problems.push(Problem::Missing {
                object: record.object.clone(),
                url: record.url.clone(),
            }),
            Some(size) if *size != record.size => problems.push(Problem::BadRecord {
                url: record.url.clone(),
                why: format!("size {} but its object has {size} bytes", record.size),
            }),
            _ => {}
        }
    }
    problems
}

/// The objects snapshots show (theirs and their earlier captures') that are
/// not there.
fn missing_shown(manifest: &Manifest, present: &BTreeSet<String>) -> Vec<Problem> {
    let mut missing = Vec::new();
    for record in manifest.records.values() {
        let captures = record
            .captures
            .iter()
            .flat_map(|c| std::iter::once(&c.object).chain(&c.uses));
        for object in record.uses.iter().chain(captures) {
            if !present.contains(object) {
                missing.push(Problem::Missing {
                    object: object.clone(),
                    url: record.url.clone(),
                });
            }
        }
    }
    missing
}

/// The URLs the manifest has more than one line for.
fn duplicates(manifest: &Manifest) -> Vec<Problem> {
    let mut by_url: BTreeMap<&str, Vec<(usize, &crate::manifest::Record)>> = BTreeMap::new();
    for (line, record) in &manifest.shadowed {
        by_url.entry(&record.url).or_default().push((*line, record));
    }
    by_url
        .into_iter()
        .filter_map(|(url, shadowed)| {
            let kept = manifest.records.get(url)?;
            let mut lines: Vec<usize> = shadowed.iter().map(|(line, _)| *line).collect();
            lines.extend(manifest.kept_lines.get(url));
            lines.sort_unstable();
            Some(Problem::Duplicate {
                url: url.to_owned(),
                exact: shadowed.iter().all(|(_, r)| *r == kept),
                lines,
            })
        })
        .collect()
}

/// Hashes an object's bytes, keeping its first ones to tell its type.
fn read_object(mut file: Box<dyn Read + Send>) -> std::io::Result<Read_> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut size: u64 = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if head.len() < SNIFF_LEN {
            let room = SNIFF_LEN - head.len();
            head.extend_from_slice(&buf[..n.min(room)]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Read_ {
        size,
        sha256: hex(&hasher.finalize()),
        extension: media::sniff(&head).map(|s| s.extension),
    })
}
