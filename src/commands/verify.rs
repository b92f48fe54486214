//! `archiver verify`: is the archive whole? Every object is rehashed and
//! compared with its name, every manifest record with its object.

use std::io::{BufWriter, Write};

use crate::cli::VerifyArgs;
use crate::config::Settings;
use crate::manifest::{FILE_NAME as MANIFEST, Manifest};
use crate::references::References;
use crate::rewrite::{JOURNAL, Journal};
use crate::store::verify::{self, Problem};
use crate::store::{self, LockMode, Storage};
use crate::units::human_size;
use crate::warc;
use crate::{Error, ExitStatus};

/// Verifies the archive.
///
/// # Errors
/// No archive, an archive in use by a writer, an unreadable manifest, or a
/// write error on stdout.
pub fn run(_args: &VerifyArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    // Shared: other readers may look at the same time, writers may not.
    let archive = store::open(&settings.archive.dir, LockMode::Shared, false, "verify")?;
    let archive = archive.as_ref();
    // Damaged lines are findings, not a reason to stop: the rest is checked.
    let (manifest, bad_records) = Manifest::load_lenient(archive)?;
    let (_, bad_entries) = Journal::load_lenient(archive)?;
    let live = References::of_archive(archive, &manifest)?;
    let mut report = verify::verify(archive, &manifest, live.objects())?;
    let bad_lines = [(MANIFEST, bad_records), (JOURNAL, bad_entries)]
        .into_iter()
        .flat_map(|(file, bad)| {
            bad.into_iter().map(move |bad| Problem::BadLine {
                file: file.to_owned(),
                line: bad.line,
                why: bad.why,
            })
        });
    report.problems.extend(bad_lines);
    let warc = check_warc(archive, &mut report.problems);
    report.problems.sort();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let write = |out: &mut BufWriter<_>| -> std::io::Result<()> {
        for problem in &report.problems {
            writeln!(out, "{:<13} {problem}", problem.code())?;
        }
        let temp = archive.temp_files().len();
        if temp > 0 {
            writeln!(
                out,
                "note          {temp} temp files in {}: left by an interrupted fetch; the next fetch removes them",
                archive.temp_location().display()
            )?;
        }
        if warc.unfinished > 0 {
            writeln!(
                out,
                "note          {} unfinished WARC files (.open): left by an interrupted fetch; their whole records read back",
                warc.unfinished
            )?;
        }
        let verdict = if report.problems.is_empty() {
            "clean".to_owned()
        } else {
            format!("{} problems", report.problems.len())
        };
        let warc_part = if warc.files > 0 {
            format!(
                ", {} WARC records in {} files read back ({} payload digests)",
                warc.checked.records, warc.files, warc.checked.digests
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "{}: {} objects ({}) rehashed, {} manifest records checked{warc_part}: {verdict}",
            archive.location().display(),
            report.objects,
            human_size(report.bytes),
            report.records
        )?;
        out.flush()
    };
    write(&mut out).map_err(Error::Output)?;
    Ok(if report.problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}

/// What reading the archive's WARC files back found.
#[derive(Debug, Default)]
struct WarcFiles {
    /// Finished files read.
    files: usize,
    /// Their records and digests.
    checked: warc::Checked,
    /// Files an interrupted run left unfinished (`.open`).
    unfinished: usize,
}

/// Reads every WARC file of the archive back; what is wrong becomes a problem.
/// An unfinished file is read too: its whole records must read back, and the
/// record a kill cut short is expected.
fn check_warc(archive: &dyn Storage, problems: &mut Vec<Problem>) -> WarcFiles {
    let mut found = WarcFiles::default();
    let Some(folder) = archive.warc_folder() else {
        return found;
    };
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return found;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let path = folder.join(&name);
        if name.ends_with(warc::OPEN_SUFFIX) {
            found.unfinished += 1;
        } else if name.ends_with(".warc.gz") {
            found.files += 1;
            match warc::check(&path) {
                Ok(checked) => {
                    found.checked.records += checked.records;
                    found.checked.digests += checked.digests;
                }
                Err(why) => problems.push(Problem::BadWarc {
                    file: format!("warc/{name}"),
                    why,
                }),
            }
        }
    }
    found
}
