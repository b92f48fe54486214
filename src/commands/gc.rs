//! `archiver gc`: remove objects nothing refers to.
//!
//! The plan comes first, from everything that can refer to an object: the
//! manifest, the rewrite journal, and the notes given (local links into the
//! archive's objects/). Then, unless `--dry-run`, the sweep, under the archive's
//! exclusive lock so no fetch can add a reference meanwhile. A note that cannot
//! be read stops the run before anything is removed: it might refer to anything.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::scan::{Scanned, Scope, report_skipped, scan};
use crate::cli::GcArgs;
use crate::config::Settings;
use crate::config::values::human_size;
use crate::input::Inputs;
use crate::link::{Kind, Link};
use crate::manifest::Manifest;
use crate::rewrite::{JOURNAL, Journal};
use crate::store::{Archive, LockMode, ObjectName, sync_dir};
use crate::{Error, ExitStatus};

/// Temp files younger than this may belong to a fetch running with another
/// archiver (one that does not take the lock): they are left alone.
const TEMP_GRACE: Duration = Duration::from_hours(1);

/// Collects garbage.
///
/// # Errors
/// No archive, an archive in use, an unreadable manifest, journal or note, or a
/// file that cannot be removed.
pub fn run(args: &GcArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let archive = Archive::open(&settings.archive.dir, LockMode::Exclusive, false, "gc")?;
    let manifest_path = archive.manifest_path();
    let objects = archive.list_objects()?;
    // Without its manifest an archive looks like garbage: refuse rather than
    // sweep it (a moved-away or lost manifest is a mistake to undo, not a plan).
    if !manifest_path.exists() && !objects.is_empty() {
        return Err(Error::Archive {
            path: manifest_path,
            message: format!(
                "missing, so nothing would keep the {} objects; restore it (from git), or run `archiver fetch` to rebuild it, then gc",
                objects.len()
            ),
        });
    }
    // Every object any line names is live, a superseded record's too; and an
    // archive whose manifest or journal cannot be read whole is not swept: a
    // damaged line may be the only one keeping an object.
    let manifest = Manifest::load(&manifest_path)?;
    let mut live: BTreeSet<String> = manifest.objects().map(str::to_owned).collect();
    let journal_path = archive.root().join(JOURNAL);
    let (_, bad) = Journal::load_lenient(&journal_path)?;
    if let Some(bad) = bad.first() {
        return Err(Error::Archive {
            path: PathBuf::from(format!("{}:{}", journal_path.display(), bad.line)),
            message: format!(
                "{}; nothing removed: this line may be what keeps an object. Fix or remove it (restore the file from git), then gc",
                bad.why
            ),
        });
    }
    live.extend(archive.journal_refs()?);
    live.extend(cited_by_notes(args, settings, &archive)?);

    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut removed = 0usize;
    let mut bytes = 0u64;
    let mut kept = 0usize;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for path in objects {
        // Files not named like objects are not gc's to judge; verify lists them.
        if ObjectName::from_relative(&path).is_none() || live.contains(&path) {
            kept += 1;
            continue;
        }
        let full = archive.root().join(&path);
        let size = std::fs::metadata(&full).map_or(0, |m| m.len());
        if !args.dry_run {
            std::fs::remove_file(&full).map_err(|e| Error::Archive {
                path: full.clone(),
                message: format!("cannot remove this object: {e}"),
            })?;
            if let Some(fan) = full.parent() {
                // An emptied fan-out folder goes too; a full one stays (the error).
                if std::fs::remove_dir(fan).is_err() {
                    let _ = sync_dir(fan);
                }
            }
        }
        writeln!(out, "{verb}  {path}  ({})", human_size(size)).map_err(Error::Output)?;
        removed += 1;
        bytes += size;
    }
    let temp = if args.dry_run {
        Vec::new()
    } else {
        archive.clean_tmp(TEMP_GRACE)?
    };
    for path in &temp {
        writeln!(
            out,
            "removed  {}  (temp file of an interrupted fetch)",
            path.display()
        )
        .map_err(Error::Output)?;
    }
    writeln!(
        out,
        "{verb} {removed} unreferenced objects ({}); {kept} kept",
        human_size(bytes)
    )
    .map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
    Ok(ExitStatus::Success)
}

/// Objects the notes link to as local files.
fn cited_by_notes(
    args: &GcArgs,
    settings: &Settings,
    archive: &Archive,
) -> Result<BTreeSet<String>, Error> {
    let inputs = Inputs::parse(&args.notes.inputs)?;
    let scope = Scope::of(&inputs, &args.notes);
    let objects = std::fs::canonicalize(archive.root().join("objects")).ok();
    let per_note = |_: &crate::input::Note, _: &str, links: Vec<Link>| -> Vec<String> {
        links
            .into_iter()
            .filter(|l| l.kind == Kind::Local)
            .filter_map(|l| {
                // `/home/…/archive/objects/…` is a path from the site's root to a
                // renderer, and a file's own path to an editor: either way, it
                // keeps the object.
                object_of(&l.url, objects.as_deref()).or_else(|| {
                    l.raw
                        .starts_with('/')
                        .then(|| object_of(&l.raw, objects.as_deref()))
                        .flatten()
                })
            })
            .collect()
    };
    let mut cited = BTreeSet::new();
    let mut unreadable = None;
    scan(scope, settings, per_note, |scanned| {
        match scanned {
            Scanned::Note(found) => cited.extend(found),
            Scanned::Skipped(skipped) => report_skipped(&skipped),
            // The first is the run's error, said once at its end; any
            // further ones are said as they come.
            Scanned::Failed(e) if unreadable.is_some() => tracing::error!("{e}"),
            Scanned::Failed(e) => unreadable = Some(e),
        }
        Ok(())
    })?;
    match unreadable {
        Some(e) => Err(Error::Archive {
            path: archive.root().to_path_buf(),
            message: format!(
                "nothing removed: a note could not be read ({e}), and it may link to objects"
            ),
        }),
        None => Ok(cited),
    }
}

/// The object a local link points at, if it points into `objects`.
fn object_of(link: &str, objects: Option<&Path>) -> Option<String> {
    let path = Path::new(link.split('#').next().unwrap_or(link));
    let name = ObjectName::from_file_name(path.file_name()?.to_str()?)?;
    let objects = objects?;
    // Compared as real paths: `../archive/objects/ab/….png` from any folder.
    let at = std::fs::canonicalize(path).ok()?;
    (at == objects.join(&name.sha256[..2]).join(path.file_name()?)).then(|| name.relative())
}
