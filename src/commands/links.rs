//! `archiver links`: list every link in the notes.
//!
//! Notes are read, parsed and (for the streaming formats) rendered in parallel, a
//! batch at a time, and written in input order: the output is deterministic, and
//! memory stays bounded by one batch (plus every link, for the formats that must
//! see everything before writing).

use std::io::{BufWriter, Write};
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;

use crate::classify::Classifier;
use crate::cli::LinksArgs;
use crate::config::Settings;
use crate::extract;
use crate::input::{self, Found, Inputs, Note, Skipped, WalkOptions};
use crate::link::Link;
use crate::report::links::{Collected, NoteCounts, Render, Tally};
use crate::{Error, ExitStatus};

/// Notes handled per parallel batch: enough to keep every core busy, few enough
/// that a batch's output is a small amount of memory.
const BATCH: usize = 256;

/// What became of one thing the walk found.
enum Outcome {
    /// A note's counts, and its links either rendered or kept for later.
    Listed(NoteCounts, Listed),
    /// Not a note, or a binary file.
    Skipped(Skipped),
    /// An input or a note that could not be read.
    Failed(Error),
}

enum Listed {
    Rendered(Vec<u8>),
    Kept(Vec<Link>),
}

/// Lists the links.
///
/// # Errors
/// A malformed glob, or a write error on stdout. Unreadable inputs are reported
/// and counted instead, and make the status [`ExitStatus::Failure`].
pub fn run(args: &LinksArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let started = std::time::Instant::now();
    let inputs = Inputs::parse(&args.inputs)?;
    let walk = WalkOptions {
        hidden: args.hidden,
        no_ignore: args.no_ignore,
    };
    let classifier = Classifier::new(settings);
    let render = Render::streaming(args.format, args.unique);
    let mut collected = Collected::new(args.format, args.unique);
    let mut tally = Tally::default();
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if let Some(render) = render {
        out.write_all(render.header()).map_err(Error::Output)?;
    }

    // The walk runs on its own thread and hands over batches, so that reading and
    // parsing start with the first batch instead of after the whole tree is known.
    std::thread::scope(|scope| -> Result<(), Error> {
        let (batches, received) = sync_channel::<Vec<Found>>(2);
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            inputs.walk(settings, walk, args.stdin_format, |found| {
                batch.push(found);
                batch.len() < BATCH
                    || batches
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_ok()
            });
            let _ = batches.send(batch);
        });
        for batch in received {
            let outcomes: Vec<Outcome> = batch
                .into_par_iter()
                .map(|found| match found {
                    Found::Note(note) => list_note(&note, classifier, render, args),
                    Found::Skipped(skipped) => Outcome::Skipped(skipped),
                    Found::Error(e) => Outcome::Failed(e),
                })
                .collect();
            for outcome in outcomes {
                match outcome {
                    Outcome::Listed(counts, Listed::Rendered(bytes)) => {
                        tally.note(&counts);
                        out.write_all(&bytes).map_err(Error::Output)?;
                    }
                    Outcome::Listed(counts, Listed::Kept(links)) => {
                        tally.note(&counts);
                        collected.note(links);
                    }
                    Outcome::Skipped(skipped) => {
                        let name = input::display_path(&skipped.path);
                        if skipped.explicit {
                            tracing::warn!("skipped {name}: {}", skipped.why);
                        } else {
                            tracing::info!("skipped {name}: {}", skipped.why);
                        }
                        tally.skipped();
                    }
                    Outcome::Failed(e) => {
                        tracing::error!("{e}");
                        tally.error();
                    }
                }
            }
        }
        Ok(())
    })?;

    let failed = tally.errors() > 0;
    let summary = tally.finish();
    if render.is_none() {
        collected
            .finish(&summary, &mut out)
            .map_err(Error::Output)?;
    }
    out.flush().map_err(Error::Output)?;
    tracing::info!("{}", summary.line());
    tracing::debug!("listed in {:.0?}", started.elapsed());
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn list_note(
    note: &Note,
    classifier: Classifier<'_>,
    render: Option<Render>,
    args: &LinksArgs,
) -> Outcome {
    let source = match input::read(note) {
        Ok(Some(source)) => source,
        Ok(None) => {
            return Outcome::Skipped(Skipped {
                path: note.path().to_path_buf(),
                why: "binary file",
                // A binary file with a note's extension is worth a warning.
                explicit: true,
            });
        }
        Err(e) => return Outcome::Failed(e),
    };
    let name = note.display_name();
    if source.invalid_bytes() > 0 {
        tracing::warn!(
            "{name}: {} bytes are not valid UTF-8 (or are NUL); each bad sequence is read as one character, so spans and columns stay exact",
            source.invalid_bytes()
        );
    }
    // A parser bug on one strange note must not end the run for all the others.
    let extracted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        extract::extract(note.path(), &name, &source, note.format(), classifier)
    }));
    let mut links = match extracted {
        Ok(links) => links,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a parser panicked".to_owned());
            return Outcome::Failed(Error::Internal {
                path: note.path().to_path_buf(),
                message,
            });
        }
    };
    if !args.kind.is_empty() {
        links.retain(|l| args.kind.contains(&l.kind));
    }
    let counts = NoteCounts::of(&links);
    let listed = match render {
        Some(render) => {
            let mut bytes = Vec::with_capacity(links.len() * 160);
            render.note(&links, &mut bytes);
            Listed::Rendered(bytes)
        }
        None => Listed::Kept(links),
    };
    Outcome::Listed(counts, listed)
}
