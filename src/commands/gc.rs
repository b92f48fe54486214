//! `archiver gc`: remove objects nothing refers to.
//!
//! The plan comes first, from everything that can refer to an object: the
//! manifest, the rewrite journal, and the notes given (local links into the
//! archive's objects/). Then, unless `--dry-run`, the sweep, under the archive's
//! exclusive lock so no fetch can add a reference meanwhile. A note that cannot
//! be read stops the run before anything is removed: it might refer to anything.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::scan::{Scope, read_all};
use crate::cli::GcArgs;
use crate::config::Settings;
use crate::input::Inputs;
use crate::link::Link;
use crate::manifest::Manifest;
use crate::references::{References, cited_by};
use crate::rewrite::Journal;
use crate::store::{self, ArchiveFile, EntryKind, LockMode, ObjectName, Storage};
use crate::units::human_size;
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
    let archive = store::open(&settings.archive.dir, LockMode::Exclusive, false, "gc")?;
    let archive = archive.as_ref();
    let objects = archive.list_objects()?;
    // Without its manifest an archive looks like garbage: refuse rather than
    // sweep it (a moved-away or lost manifest is a mistake to undo, not a plan).
    if !archive.has_file(ArchiveFile::Manifest)? && !objects.is_empty() {
        return Err(Error::archive(
            archive.path_of(ArchiveFile::Manifest),
            format!(
                "missing, so nothing would keep the {} objects; restore it (from git), or run `archiver fetch` to rebuild it, then gc",
                objects.len()
            ),
        ));
    }
    // Every object any line names is live, a superseded record's too; and an
    // archive whose manifest or journal cannot be read whole is not swept: a
    // damaged line may be the only one keeping an object.
    let manifest = Manifest::load(archive)?;
    let (_, bad) = Journal::load_lenient(archive)?;
    if let Some(bad) = bad.first() {
        return Err(Error::archive(
            PathBuf::from(format!(
                "{}:{}",
                archive.path_of(ArchiveFile::Journal).display(),
                bad.line
            )),
            format!(
                "{}; nothing removed: this line may be what keeps an object. Fix or remove it (restore the file from git), then gc",
                bad.why
            ),
        ));
    }
    let mut live = References::of_archive(archive, &manifest)?;
    live.extend(cited_by_notes(args, settings, archive)?);

    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut removed = 0usize;
    let mut bytes = 0u64;
    let mut kept = 0usize;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for listed in objects {
        let path = listed.key.clone();
        // Files not named like objects are not gc's to judge; verify lists them.
        if ObjectName::from_relative(&path).is_none() || live.contains(&path) {
            kept += 1;
            continue;
        }
        // The listing's size when it gave one: a request per object saved.
        let size = match listed.size {
            Some(size) => size,
            None => match archive.stat(&path) {
                Ok(Some((EntryKind::File, size))) => size,
                _ => 0,
            },
        };
        if !args.dry_run {
            archive.delete_object(&path)?;
        }
        writeln!(out, "{verb}  {path}  ({})", human_size(size)).map_err(Error::Output)?;
        removed += 1;
        bytes += size;
    }
    let temp = if args.dry_run {
        Vec::new()
    } else {
        archive.clean_temp(TEMP_GRACE)?
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
    archive: &dyn Storage,
) -> Result<BTreeSet<String>, Error> {
    let inputs = Inputs::parse(&args.notes.inputs)?;
    let scope = Scope::of(&inputs, &args.notes);
    let per_note = |_: &crate::input::Note, _: &str, links: Vec<Link>| -> Vec<String> {
        cited_by(links, archive)
    };
    match read_all(scope, settings, per_note)? {
        Err(e) => Err(Error::archive(
            archive.location(),
            format!("nothing removed: a note could not be read ({e}), and it may link to objects"),
        )),
        Ok(cited) => Ok(cited.into_iter().flatten().collect()),
    }
}
