//! `archiver rewrite`: point the notes at the archive's copies, or put the URLs
//! back (`--restore`).
//!
//! The notes are read as for `links`; every link of a kind in `rewrite.kinds`
//! whose URL has an object in the manifest gets its span replaced by the path
//! from the note to the object. The journal is written before the notes (write
//! order: object, manifest, journal, notes), and each note is replaced whole and
//! atomically, with its permissions kept, so a failure midway leaves every file
//! either old or new, and the journal able to undo what was done.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::scan::{NoteNames, Scope, read_all};
use crate::cli::RewriteArgs;
use crate::config::Settings;
use crate::driver::signals::interrupt_flag;
use crate::input::Inputs;
use crate::link::{Element, Kind, Link};
use crate::manifest::Manifest;
use crate::media::{MediaKind, archived_as};
use crate::note_file::{Replaced, replace_if_unchanged, sweep_leftovers};
use crate::rewrite::{Edit, Entry, Journal, apply, merge_entries, relative_href};
use crate::store::intact::Looked;
use crate::store::{self, LockMode, ObjectName, Storage};
use crate::{Error, ExitStatus};

mod copies;
mod failing;
mod restore;

use copies::{copy_note, out_dir, write_copies};
use restore::{load_journal, restore_notes};

/// One note's planned change.
struct Plan {
    path: PathBuf,
    /// With `--out`, where the rewritten copy goes.
    dest: Option<PathBuf>,
    name: String,
    edits: Vec<(Edit, Entry)>,
    /// Links of a rewritten kind with no archived object: (line, column, URL).
    unarchived: Vec<(u32, u32, String)>,
    /// Bare URLs and autolinks of a rewritten kind, which stay web addresses.
    kept: Vec<(u32, u32, String)>,
}

/// Where notes link to an archive in a bucket: `archive.public_url`, without
/// which a bucket's objects have nothing for notes to link to.
fn public_url<'s>(args: &RewriteArgs, settings: &'s Settings) -> Result<Option<&'s str>, Error> {
    let public_url = settings.archive.public_url.as_deref();
    if !args.restore && public_url.is_none() && store::remote::is_remote(&settings.archive.dir) {
        return Err(Error::archive(
            &settings.archive.dir,
            "an archive in a bucket has no local files for notes to link to: set archive.public_url to the address the bucket is served at (its public URL or a CDN's), and rewrite points notes at it",
        ));
    }
    Ok(public_url)
}

/// Rewrites (or restores) the notes.
///
/// # Errors
/// No archive, an archive in use, an unreadable manifest or journal, a note
/// that cannot be written, or a write error on stdout.
pub fn run(args: &RewriteArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let writes = !(args.dry_run || args.check);
    // A copy elsewhere leaves the notes, and so the journal, alone.
    let copy_to = match &args.out {
        Some(dir) => Some(out_dir(dir)?),
        None => None,
    };
    let mode = if writes && copy_to.is_none() {
        LockMode::Exclusive
    } else {
        LockMode::Shared
    };
    let public_url = public_url(args, settings)?;
    let archive = store::open(&settings.archive.dir, mode, false, "rewrite")?;
    let archive = archive.as_ref();
    // Ctrl-C or SIGTERM stops between two notes, with the journal true to them.
    let stop = if writes {
        interrupt_flag()
    } else {
        std::sync::Arc::default()
    };
    let mut journal = load_journal(args, archive)?;
    let unreadable_entries = !journal.unreadable.is_empty();
    let names = NoteNames::new(&settings.archive.dir);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let status = if args.restore {
        let notes = read_notes(args, settings, &names, None, |_, _| None)?;
        if writes {
            sweep_leftovers_of(&notes);
        }
        // A note moved or renamed since its rewrite is not found under its old
        // name: say so, rather than leave its links rewritten without a word.
        for name in journal.notes.keys() {
            if names.path_of(name).is_some_and(|p| !p.exists()) {
                tracing::warn!(
                    "the rewrite journal has links of {name}, which is no longer there (moved or renamed?): move it back to restore them; its objects stay kept for gc meanwhile"
                );
            }
        }
        let at = Journaled {
            archive,
            stop: &stop,
        };
        let status = restore_notes(args, &notes, &mut journal, &at, &mut out)?;
        if unreadable_entries && status == ExitStatus::Success {
            ExitStatus::Failure
        } else {
            status
        }
    } else {
        let manifest = Manifest::load(archive)?;
        let kinds = match &args.kinds {
            None if args.only_failing => MediaKind::ALL.to_vec(),
            _ => settings.rewrite.kinds.clone(),
        };
        let failing = if args.only_failing {
            let fail_on = args.fail_on.as_deref().unwrap_or(&failing::FAILING);
            Some(failing::urls(settings, fail_on)?)
        } else {
            None
        };
        // A note is pointed only at an object that is there whole.
        let looked = Looked::new(archive);
        let holds = |record: &crate::manifest::Record| {
            looked.holds(&record.object, Some(record.size), || {
                tracing::warn!(
                    "{}: missing or damaged in the archive, so links to {} are not rewritten; `archiver fetch {}` downloads it again",
                    record.object,
                    record.url,
                    record.url
                );
            })
        };
        let plans = read_notes(args, settings, &names, copy_to.as_ref(), |link, folder| {
            if !wanted(link, &kinds)
                || failing
                    .as_ref()
                    .is_some_and(|f| !f.contains(link.identity()))
            {
                return None;
            }
            Some(manifest.records.get(link.identity()).and_then(|record| {
                if !holds(record) {
                    return None;
                }
                let name = ObjectName::from_relative(&record.object)?;
                let href = match archive.local_path(&name) {
                    Some(path) => relative_href(folder, &path),
                    None => format!("{}/{}", public_url?, record.object),
                };
                Some((href + fragment_of(link), record.object.clone()))
            }))
        })?;
        if writes && copy_to.is_none() {
            sweep_leftovers_of(&plans);
        }
        let at = Journaled {
            archive,
            stop: &stop,
        };
        rewrite_notes(args, plans, &mut journal, &at, &mut out)?
    };
    out.flush().map_err(Error::Output)?;
    Ok(status)
}

/// The link's fragment as written (`#page=3`), which points into the copy as
/// it pointed into the original; empty when it has none. The last `#` of the
/// text starts it: a character reference such as `&#47;` may come before.
fn fragment_of(link: &Link) -> &str {
    match link.raw.rfind('#') {
        Some(at) if link.url.contains('#') => &link.raw[at..],
        _ => "",
    }
}

/// Whether a link is of a kind rewritten. A bare URL or an autolink stays: a
/// path in their place would be plain text, no longer a link.
fn wanted(link: &Link, kinds: &[MediaKind]) -> bool {
    !matches!(link.element, Element::Bare | Element::Autolink)
        && archived_as(&link.url, link.kind, kinds).is_some()
}

/// Reads the notes; `target` says for each link whether it is rewritten (Some)
/// and with what (href, object), given the note's absolute folder.
fn read_notes(
    args: &RewriteArgs,
    settings: &Settings,
    names: &NoteNames,
    copy_to: Option<&(PathBuf, PathBuf)>,
    target: impl Fn(&Link, &Path) -> Option<Option<(String, String)>> + Sync,
) -> Result<Vec<Plan>, Error> {
    let inputs = Inputs::parse(&args.notes.inputs)?;
    let scope = Scope::of(&inputs, &args.notes);
    let per_note = |note: &crate::input::Note, _: &str, links: Vec<Link>| -> Option<Plan> {
        let path = note.path().to_path_buf();
        if path == Path::new("-") {
            return None;
        }
        // Never through a symlink: it may lead out of the notes.
        if let Some(link) = symlink_on_the_way(&path) {
            tracing::warn!(
                "{}: {} is a symlink, which is not followed; not rewritten",
                path.display(),
                link.display()
            );
            return None;
        }
        let canonical = std::fs::canonicalize(&path).ok()?;
        // With --out, the copy sits at the note's place under the output folder,
        // and its paths to the objects start from there.
        let dest = if let Some((cwd, out)) = copy_to {
            // Nothing already under the output folder is copied into it again.
            if canonical.starts_with(out) {
                return None;
            }
            let Ok(within) = canonical.strip_prefix(cwd) else {
                tracing::warn!(
                    "{}: outside the current folder, so it has no place under --out; skipped",
                    path.display()
                );
                return None;
            };
            Some(out.join(within))
        } else {
            None
        };
        let folder = dest
            .as_deref()
            .unwrap_or(&canonical)
            .parent()?
            .to_path_buf();
        let name = names.name(&path);
        let mut plan = Plan {
            path,
            dest,
            name: name.clone(),
            edits: Vec::new(),
            unarchived: Vec::new(),
            kept: Vec::new(),
        };
        for link in &links {
            if matches!(link.element, Element::Bare | Element::Autolink)
                && matches!(link.kind, Kind::Image | Kind::Video)
            {
                plan.kept.push((link.line, link.column, link.url.clone()));
            }
            match target(link, &folder) {
                None => {}
                Some(None) => plan
                    .unarchived
                    .push((link.line, link.column, link.url.clone())),
                Some(Some((href, object))) => plan.edits.push((
                    Edit {
                        span: link.span.clone(),
                        replacement: href.clone(),
                    },
                    Entry {
                        note: name.clone(),
                        original: link.raw.clone(),
                        replacement: href,
                        object,
                    },
                )),
            }
        }
        Some(plan)
    };
    // Nothing is changed when a note could not even be read.
    let plans = read_all(scope, settings, per_note)??;
    Ok(plans.into_iter().flatten().collect())
}

fn rewrite_notes(
    args: &RewriteArgs,
    plans: Vec<Plan>,
    journal: &mut Journal,
    at: &Journaled<'_>,
    out: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (mut links, mut notes, mut missing) = (0, 0, 0);
    let mut changed = Vec::new();
    for mut plan in plans {
        for (line, column, url) in &plan.unarchived {
            writeln!(out, "not archived  {}:{line}:{column}  {url}", plan.name)
                .map_err(Error::Output)?;
            missing += 1;
        }
        for (line, column, url) in &plan.kept {
            writeln!(
                out,
                "kept          {}:{line}:{column}  {url}  (a bare URL or autolink must stay a web address)",
                plan.name
            )
            .map_err(Error::Output)?;
        }
        let bytes = std::fs::read(&plan.path).map_err(|source| Error::Read {
            path: plan.path.clone(),
            source,
        })?;
        // Only spans that still hold what was read are touched.
        plan.edits.retain(|(edit, entry)| {
            bytes.get(edit.span.clone()) == Some(entry.original.as_bytes())
        });
        plan.edits.sort_by_key(|(edit, _)| edit.span.start);
        // One edit per place: a span met twice, or overlapping another, is made
        // (and journaled) once.
        let mut end = 0;
        plan.edits.retain(|(edit, _)| {
            let keep = edit.span.start >= end;
            end = end.max(edit.span.end);
            keep
        });
        if let Some(dest) = &plan.dest
            && plan.edits.is_empty()
            && !(args.check || args.dry_run)
        {
            // The copy is of the whole tree, unchanged notes too.
            copy_note(&plan.path, dest, &bytes)?;
            continue;
        }
        if plan.edits.is_empty() {
            continue;
        }
        let edits: Vec<Edit> = plan.edits.iter().map(|(e, _)| e.clone()).collect();
        let new = apply(&bytes, &edits);
        links += edits.len();
        notes += 1;
        if args.dry_run {
            diff(out, &plan.name, &bytes, &new).map_err(Error::Output)?;
        }
        changed.push((plan, bytes, new));
    }
    if args.check || args.dry_run {
        let listed = if args.check { changed.as_slice() } else { &[] };
        for (plan, _, _) in listed {
            writeln!(
                out,
                "would change  {} ({} links)",
                plan.name,
                plan.edits.len()
            )
            .map_err(Error::Output)?;
        }
        writeln!(
            out,
            "{links} links in {notes} notes would be rewritten; {missing} not archived"
        )
        .map_err(Error::Output)?;
        return Ok(if args.check && !changed.is_empty() {
            ExitStatus::Findings
        } else {
            ExitStatus::Success
        });
    }
    let counts = Counts {
        links,
        notes,
        missing,
    };
    if changed.iter().any(|(plan, _, _)| plan.dest.is_some()) {
        return write_copies(&changed, counts, out);
    }
    commit_notes(&changed, journal, at, counts, out)
}

/// How many links and notes a rewrite touches, and links left unarchived.
#[derive(Clone, Copy)]
struct Counts {
    links: usize,
    notes: usize,
    missing: usize,
}

/// Records the journal, then writes the notes.
fn commit_notes(
    changed: &[Changed],
    journal: &mut Journal,
    at: &Journaled<'_>,
    Counts {
        mut links,
        mut notes,
        missing,
    }: Counts,
    out: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    // The journal first: a note is changed only once its undo is recorded,
    // each note's entries in the order their paths stand in its new text.
    let before = journal.clone();
    for (plan, _, new) in changed {
        let old = journal.notes.remove(&plan.name).unwrap_or_default();
        journal.notes.insert(
            plan.name.clone(),
            merge_entries(old, new, written_at(&plan.edits)),
        );
    }
    journal.save(at.archive)?;
    // A note's entries as they were before this run, for a note left unwritten.
    let undo = |journal: &mut Journal, name: &str| {
        match before.notes.get(name) {
            Some(entries) => journal.notes.insert(name.to_owned(), entries.clone()),
            None => journal.notes.remove(name),
        };
    };
    let mut left = 0;
    for (n, (plan, old, new)) in changed.iter().enumerate() {
        if at.stop.load(Ordering::SeqCst) {
            for (unwritten, _, _) in &changed[n..] {
                undo(journal, &unwritten.name);
            }
            journal.save(at.archive)?;
            writeln!(
                out,
                "interrupted: {n} of {} notes rewritten; the others are as they were",
                changed.len()
            )
            .map_err(Error::Output)?;
            return Ok(ExitStatus::Interrupted);
        }
        match replace_note(&plan.path, old, new) {
            Ok(Replaced::Done) => {
                writeln!(out, "rewrote  {} ({} links)", plan.name, plan.edits.len())
                    .map_err(Error::Output)?;
            }
            Ok(Replaced::ChangedMeanwhile) => {
                undo(journal, &plan.name);
                journal.save(at.archive)?;
                tracing::error!(
                    "{}: changed while it was being rewritten (an editor or another program wrote to it); left as it is: run `archiver rewrite` again",
                    plan.path.display()
                );
                left += 1;
                links -= plan.edits.len();
                notes -= 1;
            }
            Err(e) => {
                // The notes not written keep their old entries.
                for (unwritten, _, _) in &changed[n..] {
                    undo(journal, &unwritten.name);
                }
                journal.save(at.archive)?;
                return Err(e);
            }
        }
    }
    writeln!(
        out,
        "rewrote {links} links in {notes} notes; {missing} not archived"
    )
    .map_err(Error::Output)?;
    Ok(if left > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Where each edit's path starts in the new text.
fn written_at(edits: &[(Edit, Entry)]) -> Vec<(usize, Entry)> {
    let mut shift: isize = 0;
    edits
        .iter()
        .map(|(edit, entry)| {
            let at = edit.span.start.saturating_add_signed(shift);
            #[allow(clippy::cast_possible_wrap)] // lengths of one note
            {
                shift += edit.replacement.len() as isize - edit.span.len() as isize;
            }
            (at, entry.clone())
        })
        .collect()
}

/// The first symlink on the way to `path`: the note itself or a folder it is
/// named through. Folders above the current one (for an absolute path outside
/// it, above the note's own folder) are the user's setup, not the notes tree,
/// and are not looked at.
fn symlink_on_the_way(path: &Path) -> Option<PathBuf> {
    let is_link = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink());
    let cwd = std::env::current_dir().ok();
    let floor: Option<&Path> = if path.is_absolute() {
        match cwd.as_deref() {
            Some(cwd) if path.starts_with(cwd) => Some(cwd),
            _ => path.parent(),
        }
    } else {
        None
    };
    path.ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && Some(*p) != floor)
        .filter(|p| !p.ends_with(".."))
        .find(|p| is_link(p))
        .map(Path::to_path_buf)
}

/// Removes the temp files a killed rewrite left beside the notes of `plans`.
fn sweep_leftovers_of(plans: &[Plan]) {
    let folders: std::collections::BTreeSet<&Path> =
        plans.iter().filter_map(|p| p.path.parent()).collect();
    for folder in folders {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        for path in sweep_leftovers(folder) {
            tracing::info!(
                "removed {}, a temp file left by an interrupted rewrite",
                path.display()
            );
        }
    }
}

/// Replaces a note with `new` if it still holds `old`.
fn replace_note(path: &Path, old: &[u8], new: &[u8]) -> Result<Replaced, Error> {
    replace_if_unchanged(path, old, new).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Where the journal is saved, and the flag that stops a run between notes.
struct Journaled<'a> {
    archive: &'a dyn Storage,
    stop: &'a AtomicBool,
}

/// A note to change: its plan, the bytes read, the bytes to write.
type Changed = (Plan, Vec<u8>, Vec<u8>);

/// The changed lines, as a unified diff without context.
fn diff(out: &mut dyn Write, name: &str, old: &[u8], new: &[u8]) -> std::io::Result<()> {
    writeln!(out, "--- a/{name}\n+++ b/{name}")?;
    let old_lines: Vec<&[u8]> = old.split_inclusive(|b| *b == b'\n').collect();
    let new_lines: Vec<&[u8]> = new.split_inclusive(|b| *b == b'\n').collect();
    // Rewrites change bytes inside lines, never the number of lines.
    for (n, (a, b)) in old_lines.iter().zip(&new_lines).enumerate() {
        if a != b {
            writeln!(out, "@@ -{0},1 +{0},1 @@", n + 1)?;
            writeln!(
                out,
                "-{}",
                String::from_utf8_lossy(a).trim_end_matches(['\n', '\r'])
            )?;
            writeln!(
                out,
                "+{}",
                String::from_utf8_lossy(b).trim_end_matches(['\n', '\r'])
            )?;
        }
    }
    Ok(())
}
