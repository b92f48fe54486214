//! `archiver links`: list every link in the notes.
//!
//! Notes are read, parsed and (for the streaming formats) rendered in parallel
//! ([`scan`](super::scan)) and written in input order: the output is deterministic,
//! and memory stays bounded by one batch (plus every link, for the formats that
//! must see everything before writing).

use std::io::{BufWriter, Write};

use super::scan::{Scanned, Scope, report_skipped, scan};
use crate::cli::LinksArgs;
use crate::config::Settings;
use crate::input::Inputs;
use crate::link::Link;
use crate::report::links::{Collected, NoteCounts, Render, Tally};
use crate::{Error, ExitStatus};

/// A note's links, either rendered on the worker or kept for the end.
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
    let inputs = Inputs::parse(&args.notes.inputs)?;
    let scope = Scope::of(&inputs, &args.notes);
    let render = Render::streaming(args.format, args.unique);
    let mut collected = Collected::new(args.format, args.unique);
    let mut tally = Tally::default();
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if let Some(render) = render {
        out.write_all(render.header()).map_err(Error::Output)?;
    }

    let per_note = |_: &_, _: &str, mut links: Vec<Link>| {
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
        (counts, listed)
    };
    scan(scope, settings, per_note, |scanned| {
        match scanned {
            Scanned::Note((counts, listed)) => {
                tally.note(&counts);
                match listed {
                    Listed::Rendered(bytes) => out.write_all(&bytes).map_err(Error::Output)?,
                    Listed::Kept(links) => collected.note(links),
                }
            }
            Scanned::Skipped(skipped) => {
                report_skipped(&skipped);
                tally.skipped();
            }
            Scanned::Failed(e) => {
                tracing::error!("{e}");
                tally.error();
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
