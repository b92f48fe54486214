//! `archiver report --format html`: one self-contained page that shows the
//! notes' links and the archive at a glance: the latest run's counts and what
//! changed since the run before, link health over the recorded runs and the
//! archive's growth as inline SVG, the failures note by note, the hosts, and
//! the archive as a gallery.
//!
//! Gathering is apart from drawing. `health` (the state database), `failures`
//! (the notes' citations) and `gallery` (the manifest and the objects) build
//! the plain data of `model`; `render` draws it with the template, `chart`
//! placing the SVG's points. The long lists (failures, gallery) go to the page
//! as one JSON blob the page's script shows a page at a time, so that 100,000
//! results and 20,000 images open in seconds. Links to the notes and the
//! archive's objects are relative to the report (`paths`).

mod blob;
mod chart;
mod failures;
mod gallery;
mod health;
mod model;
mod paths;
mod render;

use std::path::Path;

pub use failures::{Citation, Citations};
pub use health::latest_run;
pub use model::Page;
pub use paths::absolute;
pub use render::render;

use crate::manifest::Manifest;
use crate::state::{RowBefore, Run, RunCount};
use crate::store::Storage;

use model::Lists;
pub use paths::ObjectLinks;

/// Everything the page is made from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// Every run recorded, oldest first.
    pub runs: &'a [Run],
    /// The runs the health chart shows (`--since`), oldest first.
    pub charted: &'a [Run],
    /// Every finished run's results by verdict.
    pub counts: &'a [RunCount],
    /// The results of the run shown ([`latest_run`]).
    pub latest: &'a [RowBefore],
    /// Where the notes read cite each URL.
    pub citations: &'a Citations,
    /// The archive's manifest.
    pub manifest: &'a Manifest,
    /// The archive.
    pub archive: &'a dyn Storage,
    /// Where the archive's objects are linked to.
    pub objects: &'a ObjectLinks<'a>,
    /// The report's folder, absolute: links to notes are relative to it.
    pub out_dir: &'a Path,
    /// When the report is written (RFC 3339).
    pub now: &'a str,
}

/// The page's data.
#[must_use]
pub fn gather(sources: &Sources<'_>) -> Page {
    let latest = latest_run(sources.runs, sources.counts)
        .map(|run| health::describe(run, sources.latest, sources.runs));
    let copy = |url: &str| {
        sources
            .manifest
            .records
            .get(url)
            .filter(|r| r.is_intact_in(sources.archive))
            .map(|r| sources.objects.href(&r.object))
    };
    let failures = failures::by_note(sources.latest, sources.citations, copy, sources.out_dir);
    let (gallery, archive) = gallery::gallery(sources.manifest, sources.archive, sources.objects);
    let (hosts, hosts_left_out) = health::hosts(sources.latest);
    Page {
        generated_at: sources.now.to_owned(),
        latest,
        counts: health::verdict_counts(sources.latest),
        changes: health::changes(sources.latest),
        health: health::health_chart(sources.charted, sources.counts),
        growth: gallery::growth_chart(sources.manifest),
        hosts,
        hosts_left_out,
        archive,
        lists: Lists { failures, gallery },
    }
}
