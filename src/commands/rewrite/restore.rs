//! `rewrite --restore`: the URLs put back where the journal says the notes were
//! pointed at the archive, note by note, each note's entries saved as it goes.

use std::io::Write;
use std::sync::atomic::Ordering;

use super::{Journaled, Plan, diff, replace_note};
use crate::cli::RewriteArgs;
use crate::note_file::Replaced;
use crate::rewrite::{Entry, Journal, places, restore};
use crate::store::{ArchiveFile, Storage};
use crate::{Error, ExitStatus};

/// The journal: a restore puts back what it can read of it and names the rest;
/// a rewrite adds to it, so it must read it whole.
pub(super) fn load_journal(args: &RewriteArgs, archive: &dyn Storage) -> Result<Journal, Error> {
    if !args.restore {
        return Journal::load(archive);
    }
    let (journal, bad) = Journal::load_lenient(archive)?;
    for bad in &bad {
        tracing::error!(
            "{}:{}: {}; the links it recorded cannot be put back until the line is repaired (restore the file from git)",
            archive.path_of(ArchiveFile::Journal).display(),
            bad.line,
            bad.why
        );
    }
    Ok(journal)
}

/// Keeps only `left` of the journal's entries for `note`.
pub(super) fn forget(journal: &mut Journal, note: &str, left: &[Entry]) {
    if left.is_empty() {
        journal.notes.remove(note);
    } else {
        journal.notes.insert(note.to_owned(), left.to_vec());
    }
}

pub(super) fn restore_notes(
    args: &RewriteArgs,
    plans: &[Plan],
    journal: &mut Journal,
    at: &Journaled<'_>,
    out: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (mut restored, mut notes, mut left) = (0, 0, 0);
    let mut pending = false;
    for plan in plans {
        if at.stop.load(Ordering::SeqCst) {
            writeln!(
                out,
                "interrupted: {notes} notes restored; run `archiver rewrite --restore` again for the rest"
            )
            .map_err(Error::Output)?;
            return Ok(ExitStatus::Interrupted);
        }
        let Some(entries) = journal.notes.get(&plan.name).cloned() else {
            continue;
        };
        let bytes = std::fs::read(&plan.path).map_err(|source| Error::Read {
            path: plan.path.clone(),
            source,
        })?;
        let (new, missing) = restore(&bytes, &entries);
        // A path that is not there while its URL is was never written (a
        // rewrite stopped before it reached this note): nothing to put back,
        // and nothing to keep in the journal.
        let (unwritten, missing): (Vec<Entry>, Vec<Entry>) = missing
            .into_iter()
            .partition(|e| !places(&bytes, &e.original).is_empty());
        for entry in &missing {
            tracing::warn!(
                "{}: {} is no longer in the note; {} is not put back",
                plan.name,
                entry.replacement,
                entry.original
            );
        }
        if new == bytes {
            if !unwritten.is_empty() && !args.dry_run && !args.check {
                forget(journal, &plan.name, &missing);
                journal.save(at.archive)?;
            }
            continue;
        }
        restored += entries.len() - missing.len();
        notes += 1;
        pending = true;
        if args.dry_run {
            diff(out, &plan.name, &bytes, &new).map_err(Error::Output)?;
        } else if args.check {
            writeln!(out, "would change  {}", plan.name).map_err(Error::Output)?;
        } else {
            if replace_note(&plan.path, &bytes, &new)? == Replaced::ChangedMeanwhile {
                tracing::error!(
                    "{}: changed while it was being restored (an editor or another program wrote to it); left as it is: run `archiver rewrite --restore` again",
                    plan.path.display()
                );
                restored -= entries.len() - missing.len();
                notes -= 1;
                left += 1;
                continue;
            }
            // What could not be put back stays recorded (a note reverted to its
            // rewritten text can still be restored), and the journal is saved at
            // once: a later failure must not leave entries already undone.
            forget(journal, &plan.name, &missing);
            journal.save(at.archive)?;
            writeln!(out, "restored  {}", plan.name).map_err(Error::Output)?;
        }
    }
    let verb = if args.dry_run || args.check {
        "would restore"
    } else {
        "restored"
    };
    writeln!(out, "{verb} {restored} links in {notes} notes").map_err(Error::Output)?;
    Ok(if left > 0 {
        ExitStatus::Failure
    } else if args.check && pending {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}
