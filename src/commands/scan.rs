//! Reading the notes: the walk runs on its own thread and hands over batches;
//! each batch is read, parsed and turned into whatever the command needs on every
//! core, while the batch before it goes to the command; results come back in
//! input order. Shared by `links` and `check`.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;

use crate::Error;
use crate::classify::Classifier;
use crate::config::Settings;
use crate::extract;
use crate::extract::source::SourceText;
use crate::input::{self, Found, Inputs, Loaded, Note, Skipped, WalkOptions};
use crate::link::Link;
use crate::units::{format_size, human_size};

/// Things found per parallel batch: enough to keep every core busy, few enough
/// that a batch's results are a small amount of memory.
const BATCH: usize = 256;

/// The first batch's size; each next one is twice the last, up to [`BATCH`].
/// Small at first, so the command's work on the links starts while most
/// notes are still being read; large after, where a batch's hand-over costs
/// less than its notes take.
const FIRST_BATCH: usize = 16;

/// What became of one input item.
#[derive(Debug)]
pub enum Scanned<T> {
    /// A note, and what the command made of its links.
    Note(T),
    /// Not a note, or a binary file.
    Skipped(Skipped),
    /// An input or a note that could not be read.
    Failed(Error),
}

/// Where to look.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The inputs, understood.
    pub inputs: &'a Inputs,
    /// How directories are walked.
    pub walk: WalkOptions,
    /// How standard input is read.
    pub stdin_format: extract::Format,
}

impl<'a> Scope<'a> {
    /// The scope the notes options of a command line describe.
    #[must_use]
    pub fn of(inputs: &'a Inputs, notes: &crate::cli::NotesArgs) -> Self {
        Scope {
            inputs,
            walk: WalkOptions {
                hidden: notes.hidden,
                no_ignore: notes.no_ignore,
            },
            stdin_format: notes.stdin_format,
        }
    }
}

/// Reads every note in `scope`, calls `per_note` with the note, its text and its
/// links (on a worker thread) and `sink` with each result in input order. Stops at
/// the first error `sink` returns.
///
/// # Errors
/// What `sink` returned.
pub fn scan<T: Send>(
    scope: Scope<'_>,
    settings: &Settings,
    per_note: impl Fn(&Note, &str, Vec<Link>) -> T + Sync,
    mut sink: impl FnMut(Scanned<T>) -> Result<(), Error>,
) -> Result<(), Error> {
    let classifier = Classifier::new(settings);
    let per_note = &per_note;
    std::thread::scope(|threads| {
        let (batches, received) = sync_channel::<Vec<Found>>(2);
        threads.spawn(move || {
            let mut size = FIRST_BATCH;
            let mut batch = Vec::with_capacity(size);
            scope.inputs.walk(
                &|ext| settings.note_format(ext),
                scope.walk,
                scope.stdin_format,
                |found| {
                    batch.push(found);
                    if batch.len() < size {
                        return true;
                    }
                    size = (size * 2).min(BATCH);
                    batches
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(size)))
                        .is_ok()
                },
            );
            let _ = batches.send(batch);
        });
        // The cores read one batch while this thread hands the batch before
        // it to `sink`: a command's own work on the links (a check's table of
        // URLs) runs alongside the reading, not after it.
        let (extracted, results) = sync_channel::<Vec<Scanned<T>>>(2);
        threads.spawn(move || {
            for batch in received {
                let results: Vec<Scanned<T>> = batch
                    .into_par_iter()
                    .map(|found| match found {
                        Found::Note(note) => match read_links(&note, settings, classifier) {
                            Ok((source, links)) => {
                                Scanned::Note(per_note(&note, source.text(), links))
                            }
                            Err(scanned) => scanned,
                        },
                        Found::Skipped(skipped) => Scanned::Skipped(skipped),
                        Found::Error(e) => Scanned::Failed(e),
                    })
                    .collect();
                // The receiver gone, `sink` failed: nothing more is wanted.
                if extracted.send(results).is_err() {
                    break;
                }
            }
        });
        for results in results {
            for result in results {
                sink(result)?;
            }
        }
        Ok(())
    })
}

/// How notes are named in the archive (the manifest, the rewrite journal): relative to the archive's parent folder
/// (the notes' repository, usually), with forward slashes, so the manifest reads
/// the same on every machine.
pub struct NoteNames {
    base: Option<PathBuf>,
}

impl NoteNames {
    /// Names relative to the parent folder of the archive at `archive`; for
    /// an archive in a bucket, which has no folder, relative to the current
    /// one (where a local archive usually sits, `./archive`).
    #[must_use]
    pub fn new(archive: &Path) -> Self {
        let base = if crate::store::remote::is_remote(archive) {
            std::env::current_dir().and_then(std::fs::canonicalize).ok()
        } else {
            std::fs::canonicalize(archive)
                .ok()
                .and_then(|a| a.parent().map(Path::to_path_buf))
        };
        NoteNames { base }
    }

    /// Where the note named `name` is, if the names have a base folder.
    #[must_use]
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        self.base.as_ref().map(|base| base.join(name))
    }

    /// The name of `note`.
    #[must_use]
    pub fn name(&self, note: &Path) -> String {
        if note == Path::new("-") {
            return "-".into();
        }
        let absolute = std::fs::canonicalize(note).unwrap_or_else(|_| note.to_path_buf());
        let shown = match &self.base {
            Some(base) => absolute.strip_prefix(base).unwrap_or(&absolute),
            None => &absolute,
        };
        crate::input::display_path(shown)
    }
}

/// A URL named on the command line, identified as a note's link would be
/// (resolved, its fragment dropped), with its kind.
#[must_use]
pub fn url_input(classifier: Classifier<'_>, input: &str) -> (String, crate::link::Kind) {
    let resolved = classifier.resolve(
        input,
        &crate::classify::NoteContext::for_file(Path::new("-")),
        None,
    );
    let identity = resolved
        .url
        .split('#')
        .next()
        .unwrap_or_default()
        .to_owned();
    (identity, resolved.kind)
}

/// Whether a command-line input is a web URL rather than a note.
#[must_use]
pub fn is_web_url(input: &str) -> bool {
    let lower = input.get(..8).unwrap_or(input).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The command-line inputs split into web URLs to work on directly and notes
/// (files, folders, globs, `-`), each in the order given.
#[must_use]
pub fn split_inputs(inputs: &[String]) -> (Vec<String>, Vec<String>) {
    inputs.iter().cloned().partition(|i| is_web_url(i))
}

/// Reports a skipped file: a warning when the user named it, a note otherwise.
/// [`scan`] for commands that need every note read: what each note gave, in
/// the order the notes were read, skipped files reported as they come. A note
/// that cannot be read fails the whole: the first such error is returned (as
/// the inner `Err`) once the scan is over, any further ones are logged.
///
/// # Errors
/// The outer `Err`: the inputs cannot be walked at all.
pub fn read_all<T: Send>(
    scope: Scope<'_>,
    settings: &Settings,
    per_note: impl Fn(&Note, &str, Vec<Link>) -> T + Sync,
) -> Result<Result<Vec<T>, Error>, Error> {
    let mut gave = Vec::new();
    let mut unreadable = None;
    scan(scope, settings, per_note, |scanned| {
        match scanned {
            Scanned::Note(note) => gave.push(note),
            Scanned::Skipped(skipped) => report_skipped(&skipped),
            // The first is the run's error, said once at its end; any
            // further ones are said as they come.
            Scanned::Failed(e) if unreadable.is_some() => tracing::error!("{e}"),
            Scanned::Failed(e) => unreadable = Some(e),
        }
        Ok(())
    })?;
    Ok(match unreadable {
        Some(e) => Err(e),
        None => Ok(gave),
    })
}

/// Says that a file was skipped: a warning when it was named, else a note.
pub fn report_skipped(skipped: &Skipped) {
    let name = input::display_path(&skipped.path);
    if skipped.explicit {
        tracing::warn!("skipped {name}: {}", skipped.why);
    } else {
        tracing::info!("skipped {name}: {}", skipped.why);
    }
}

fn read_links<T>(
    note: &Note,
    settings: &Settings,
    classifier: Classifier<'_>,
) -> Result<(SourceText, Vec<Link>), Scanned<T>> {
    let max_size = settings.input.max_note_size;
    let skipped = |why: String| {
        Err(Scanned::Skipped(Skipped {
            path: note.path().to_path_buf(),
            why,
            // A binary or oversized file with a note's extension is worth a
            // warning.
            explicit: true,
        }))
    };
    let source = match input::read(note, max_size) {
        Ok(Loaded::Text(source)) => source,
        Ok(Loaded::Binary) => return skipped("binary file".to_owned()),
        Ok(Loaded::TooLarge(size)) => {
            // A stream is read one byte past the limit, which says nothing of
            // its size: only a file's is worth giving.
            let size = match note {
                Note::File { .. } => format!(" ({})", human_size(size)),
                Note::Stdin { .. } => String::new(),
            };
            return skipped(format!(
                "larger{size} than input.max_note_size ({}); not read (raise input.max_note_size in archiver.toml to read it)",
                format_size(max_size)
            ));
        }
        Err(e) => return Err(Scanned::Failed(e)),
    };
    let name = note.display_name();
    if source.invalid_bytes() > 0 {
        tracing::warn!(
            "{name}: {} bytes are not valid UTF-8 (or are NUL); each bad sequence is read as one character, so spans and columns stay exact",
            source.invalid_bytes()
        );
    }
    // A parser bug on one strange note must not end the run for all the others.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        extract::extract(note.path(), &name, &source, note.format(), classifier)
    }))
    .map(|links| (source, links))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a parser panicked".to_owned());
        Scanned::Failed(Error::Internal {
            path: note.path().to_path_buf(),
            message,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_on_the_command_line_are_told_from_notes() {
        assert!(is_web_url("https://a.org"));
        assert!(is_web_url("HTTP://a.org"));
        assert!(!is_web_url("notes/a.md"));
        assert!(!is_web_url("http"));
    }
}
