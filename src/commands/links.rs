//! `archiver links`: list every link in the notes.
//!
//! Notes are read and parsed in parallel, a batch at a time, and written in input
//! order, so the output is deterministic and memory stays bounded by one batch (plus
//! everything, for the formats that must see everything before writing).

use std::io::{BufWriter, Write};

use rayon::prelude::*;

use crate::classify::Classifier;
use crate::cli::LinksArgs;
use crate::config::Settings;
use crate::extract;
use crate::input::{self, Note, WalkOptions};
use crate::link::Link;
use crate::report::links::{Tally, sink};
use crate::{Error, ExitStatus};

/// Notes parsed per parallel batch: enough to keep every core busy, few enough
/// that a batch's links are a small amount of memory.
const BATCH: usize = 256;

/// What reading one note gave.
enum Outcome {
    Links(Vec<Link>),
    Binary,
    Failed(Error),
}

/// Lists the links.
///
/// # Errors
/// A write error on stdout; unreadable inputs are reported and counted instead, and
/// make the status [`ExitStatus::Failure`].
pub fn run(args: &LinksArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let walk = WalkOptions {
        hidden: args.hidden,
        no_ignore: args.no_ignore,
    };
    let discovery = input::discover(&args.inputs, settings, walk, args.stdin_format)?;
    let mut tally = Tally::default();
    for skipped in &discovery.skipped {
        let name = input::display_path(&skipped.path);
        if skipped.explicit {
            tracing::warn!("skipped {name}: {}", skipped.why);
        } else {
            tracing::info!("skipped {name}: {}", skipped.why);
        }
        tally.skipped();
    }
    for error in &discovery.errors {
        tracing::error!("{error}");
        tally.error();
    }

    let classifier = Classifier::new(settings);
    let stdout = std::io::stdout().lock();
    let mut out = sink(
        args.format,
        args.unique,
        Box::new(BufWriter::with_capacity(1 << 16, stdout)),
    );

    for batch in discovery.notes.chunks(BATCH) {
        let outcomes: Vec<Outcome> = batch
            .par_iter()
            .map(|note| read_note(note, classifier, args))
            .collect();
        for (note, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Outcome::Links(links) => {
                    tally.note(&links);
                    out.note(links).map_err(Error::Output)?;
                }
                Outcome::Binary => {
                    tracing::warn!("skipped {}: binary file", note.display_name());
                    tally.skipped();
                }
                Outcome::Failed(e) => {
                    tracing::error!("{e}");
                    tally.error();
                }
            }
        }
    }

    let failed = tally.errors() > 0;
    let summary = tally.finish();
    out.finish(&summary).map_err(Error::Output)?;
    tracing::info!("{}", summary.line());
    std::io::stdout().flush().map_err(Error::Output)?;
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn read_note(note: &Note, classifier: Classifier<'_>, args: &LinksArgs) -> Outcome {
    let source = match input::read(note) {
        Ok(Some(source)) => source,
        Ok(None) => return Outcome::Binary,
        Err(e) => return Outcome::Failed(e),
    };
    let name = note.display_name();
    if source.invalid_bytes() > 0 {
        tracing::warn!(
            "{name}: {} bytes are not valid UTF-8; read them as `_` (spans and columns stay exact)",
            source.invalid_bytes()
        );
    }
    let mut links = extract::extract(note.path(), &name, &source, note.format(), classifier);
    if !args.kind.is_empty() {
        links.retain(|l| args.kind.contains(&l.kind));
    }
    Outcome::Links(links)
}
