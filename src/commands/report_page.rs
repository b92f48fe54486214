//! `archiver report --format html --output FILE [notes…]`: reads the state
//! database, the notes and the archive (read-only, without its lock, as
//! `check` looks at it), and writes the page `report::html` draws.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::scan::{Scope, read_all, split_inputs};
use crate::cli::ReportArgs;
use crate::config::Settings;
use crate::input::Inputs;
use crate::manifest::Manifest;
use crate::report::html::{self, Citation, Citations, ObjectLinks, Sources};
use crate::state::{self, RowBefore, Run, State};
use crate::store::{self, ArchiveFile};
use crate::{Error, ExitStatus};

/// Writes the HTML report.
///
/// # Errors
/// [`Error::ConfigValue`] without `--output`; [`Error::State`] when the
/// database is missing or unreadable; [`Error::Archive`] when the manifest
/// cannot be read; an error of the notes' inputs; [`Error::WriteFile`] when
/// the page cannot be written.
pub fn run(args: &ReportArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let Some(output) = &args.output else {
        return Err(Error::config_value(
            "--output",
            "`--format html` writes a file, its links relative to it: name it with --output FILE",
        ));
    };
    let state = State::open_existing(&settings.state.path)?;
    let runs = state.runs_since("")?;
    // The health chart over the period asked for, every run without one; the
    // latest run, the failures and the archive are shown as they are now.
    let charted: Vec<Run> = match &args.since {
        Some(since) => {
            let since = state::period_start(since, SystemTime::now())?;
            runs.iter()
                .filter(|r| r.started_at >= since)
                .cloned()
                .collect()
        }
        None => runs.clone(),
    };
    let counts = state.counts_by_run()?;
    let latest = match html::latest_run(&runs, &counts) {
        Some(run) => state.rows_of_run(run.id)?,
        None => Vec::new(),
    };
    let citations = if latest.iter().any(|r| r.row.streak.failing) {
        cite(args, settings)?
    } else {
        Citations::new()
    };
    let remote = store::remote::is_remote(&settings.archive.dir);
    let archive_dir = if remote {
        settings.archive.dir.clone()
    } else {
        html::absolute(&settings.archive.dir)
    };
    let archive = store::look(&archive_dir);
    let (manifest, bad) = Manifest::load_lenient(archive.as_ref())?;
    if let Some(bad) = bad.first() {
        tracing::warn!(
            "{}:{}: {}; the report leaves out the records it cannot read",
            archive.path_of(ArchiveFile::Manifest).display(),
            bad.line,
            bad.why
        );
    }
    let out_path = html::absolute(output);
    let out_dir = out_path
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf);
    let objects = match (remote, settings.archive.public_url.as_deref()) {
        (false, _) => ObjectLinks::Folder {
            archive_dir: &archive_dir,
            out_dir: &out_dir,
        },
        (true, Some(served)) => ObjectLinks::Served(served),
        (true, None) => {
            return Err(Error::archive(
                &settings.archive.dir,
                "an archive in a bucket has no files beside the report to link to: set archive.public_url to the address the bucket is served at (its public URL or a CDN's), and the report links its objects there",
            ));
        }
    };
    let now = state::timestamp(SystemTime::now());
    let page = html::gather(&Sources {
        runs: &runs,
        charted: &charted,
        counts: &counts,
        latest: &latest,
        citations: &citations,
        manifest: &manifest,
        archive: archive.as_ref(),
        objects: &objects,
        out_dir: &out_dir,
        now: &now,
    });
    let write_error = |source| Error::WriteFile {
        path: output.clone(),
        source,
    };
    let text = html::render(&page).map_err(write_error)?;
    std::fs::create_dir_all(&out_dir).map_err(write_error)?;
    store::write_atomic(&out_path, text.as_bytes()).map_err(write_error)?;
    summarize(output, text.len(), &latest);
    Ok(ExitStatus::Success)
}

/// Where the notes given cite each URL. URLs given as inputs are not notes
/// and are passed over.
fn cite(args: &ReportArgs, settings: &Settings) -> Result<Citations, Error> {
    let (_, notes) = split_inputs(&args.notes.inputs);
    let inputs = Inputs::parse(&notes)?;
    let scope = Scope::of(&inputs, &args.notes);
    let per_note = |note: &crate::input::Note, _: &str, links: Vec<crate::link::Link>| {
        let path = (note.path() != Path::new("-")).then(|| {
            std::fs::canonicalize(note.path()).unwrap_or_else(|_| html::absolute(note.path()))
        });
        links
            .into_iter()
            .map(|link| {
                let citation = Citation {
                    note: link.file.to_string(),
                    path: path.clone(),
                    line: link.line,
                    column: link.column,
                };
                (link.identity().to_owned(), citation)
            })
            .collect::<Vec<_>>()
    };
    let mut citations = Citations::new();
    // A note that cannot be read costs only its line numbers: its failures
    // are still listed, under the notes the run recorded.
    let read = match read_all(scope, settings, per_note)? {
        Ok(read) => read,
        Err(e) => {
            tracing::warn!("{e}");
            Vec::new()
        }
    };
    for (url, citation) in read.into_iter().flatten() {
        citations.entry(url).or_default().push(citation);
    }
    Ok(citations)
}

/// One line on stderr: what was written.
fn summarize(output: &Path, bytes: usize, latest: &[RowBefore]) {
    let failing = latest.iter().filter(|r| r.row.streak.failing).count();
    eprintln!(
        "wrote {} ({}): {} URLs, {failing} failing",
        output.display(),
        crate::units::human_size(bytes as u64),
        latest.len()
    );
}
