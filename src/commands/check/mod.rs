//! `archiver check`: the verdict on every unique link.
//!
//! Links are gathered from the notes (or taken from the command line), grouped by
//! normalized URL so each is asked once, and judged: local paths and malformed or
//! unsupported URLs without the network, web URLs through the polite engine, all
//! at once (the host pool does the pacing). Ctrl-C or SIGTERM stops the run with a
//! report of what was checked.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::scan::{NoteNames, Scanned, Scope, report_skipped, scan, split_inputs, url_input};
use crate::changes::Changes;
use crate::classify::{Classifier, NoteContext};
use crate::cli::CheckArgs;
use crate::config::Settings;
use crate::input::Inputs;
use crate::judge::Judgement;
use crate::link::{Kind, Link};
use crate::report::check::{self, CheckResult, Report, Summary};
use crate::rewrite::Journal;
use crate::store::intact::Looked;
use crate::store::{self, ArchiveFile, Storage};
use crate::verdict::Verdict;
use crate::{Error, ExitStatus};

mod baseline;
mod copies;
mod exclude;
mod ledger;
mod recorder;
mod targets;
mod web;

use baseline::Baseline;
use exclude::Excluder;
use ledger::Ledger;
use recorder::{Results, Writing};
use targets::{CitedUrl, Targets};

/// The comment that keeps the links on its line from being checked.
const IGNORE_MARKER: &str = "archiver-ignore";

/// Checks the links.
///
/// # Errors
/// A malformed glob or pattern, an unusable network setup, the network being
/// down, or a write error on stdout.
pub fn run(args: &CheckArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let started = Instant::now();
    let engine = web::EngineSetup::start(settings);
    let (urls, notes) = split_inputs(&args.notes.inputs);
    // Bad inputs of the run's own are found before anything is asked, and
    // the files it will write are known to take it.
    if let Some(path) = &args.output {
        baseline::check_writable(path, false)?;
    }
    if let Some(path) = &args.history.write_baseline {
        baseline::check_writable(path, true)?;
    }
    let baseline = args
        .history
        .baseline
        .as_deref()
        .map(Baseline::read)
        .transpose()?;
    let changes = args
        .history
        .changed_since
        .as_deref()
        .map(|rev| Changes::since(rev, args.history.whole_files, &repository_folder(&notes)))
        .transpose()?;
    let excluder = Excluder::new(&settings.check)?;
    let mut targets = Targets::default();
    // The state database is opened (made, the first time) while the notes
    // are read.
    let (gathered, state) = alongside(
        || {
            gather_all(
                args,
                settings,
                (&urls, &notes),
                changes.as_ref(),
                &mut targets,
            )
        },
        || Ledger::open_state(args, settings),
    );
    let mut errors = gathered?;
    let mut ledger = Ledger::open(args, settings, state)?;
    if ledger.is_none() && !args.history.no_state {
        // The database could not be used (named in a warning): the report goes
        // out, and the run fails, as its results are not recorded.
        errors += 1;
    }
    let (offline, web) = triage(targets, &excluder, ledger.as_mut())?;

    // The history is written while the network's last answers come in.
    let (mut results, unrecorded) = Results::for_run(ledger, offline.len() + web.len());
    errors += usize::from(unrecorded);
    for result in offline {
        results.take(result);
    }
    let run = web::ask(web, engine, settings, &mut results)?;
    if let Some(message) = run.network_down {
        if let Results::Recorded(recorder) = results {
            recorder.abandon();
        }
        return Err(Error::NetworkDown(message));
    }
    // History is best kept, but a database that cannot be written must not
    // cost the report: it is printed without, and the run fails.
    let (mut results, writing) = results.finish(run.interrupted);
    let writing = writing
        .inspect_err(|e| {
            tracing::error!("{e}");
            errors += 1;
        })
        .ok()
        .flatten();
    // By a copy of each URL: a result is large, and a sort that compares
    // results in place moves each of them many times.
    results.sort_by_cached_key(|r| r.url.clone());
    web::token_hints(&results, settings);

    let fail_on = &settings.check.fail_on;
    copies::mark(&mut results, fail_on, &settings.archive.dir);
    let accepted = |r: &CheckResult| baseline.as_ref().is_some_and(|b| b.accepts(&r.url));
    let mut summary = Summary::of(
        &results,
        started.elapsed().as_secs_f64(),
        run.interrupted.then_some(run.unchecked),
    );
    summary.recovered = writing.as_ref().map(|_| recovered(&results));
    summary.baselined = baseline.as_ref().map(|_| {
        results
            .iter()
            .filter(|r| fail_on.contains(&r.verdict) && accepted(r))
            .count()
    });
    let report = Report {
        summary: &summary,
        results: &results,
        fail_on,
    };
    errors += emit_and_record(args, &report, writing)?;
    if let Some(path) = &args.history.write_baseline {
        baseline::record(path, &results, fail_on, run.interrupted)?;
    }

    let failing = results.iter().any(|r| fails(args, fail_on, r, accepted(r)));
    Ok(if run.interrupted {
        ExitStatus::Interrupted
    } else if errors > 0 || run.lost {
        ExitStatus::Failure
    } else if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// The URLs that recovered in this run, as placed in their histories.
fn recovered(results: &[CheckResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| {
            r.history
                .as_ref()
                .is_some_and(|h| h.state == crate::state::HistoryState::Recovered)
        })
        .map(|r| r.url.clone())
        .collect()
}

/// Whether `result` fails the run: a failing verdict, unless the baseline
/// accepts it, its archived copy is kept (`--archived-ok`), or it was failing
/// last time already (`--only-new`).
fn fails(args: &CheckArgs, fail_on: &[Verdict], result: &CheckResult, accepted: bool) -> bool {
    if !fail_on.contains(&result.verdict) || accepted {
        return false;
    }
    if args.archived_ok && result.archived_copy.is_some() {
        return false;
    }
    let known = result
        .history
        .as_ref()
        .is_some_and(|h| h.state != crate::state::HistoryState::New);
    !(args.history.only_new && known)
}

/// Where git is asked about the notes' changes: the folder of the first note
/// or folder given (the real one, past symlinks), or the folder a glob starts
/// in; the current folder for standard input and for a glob with no folder.
fn repository_folder(notes: &[String]) -> PathBuf {
    let here = || PathBuf::from(".");
    let Some(first) = notes.first().filter(|n| *n != "-") else {
        return here();
    };
    let literal = match first.find(['*', '?', '[', '{']) {
        Some(at) => match first[..at].rfind(['/', std::path::MAIN_SEPARATOR]) {
            Some(slash) => &first[..=slash],
            None => return here(),
        },
        None => first.as_str(),
    };
    let path = std::fs::canonicalize(literal).unwrap_or_else(|_| PathBuf::from(literal));
    if path.is_dir() {
        return path;
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => here(),
    }
}

/// Sorts the targets into those judged without asking the network (local
/// paths, excluded URLs, results reused from the state database) and those to
/// ask.
fn triage(
    targets: Targets,
    excluder: &Excluder,
    mut ledger: Option<&mut Ledger>,
) -> Result<(Vec<CheckResult>, Vec<CitedUrl>), Error> {
    let mut results = Vec::new();
    let targets = targets.into_vec();
    let mut web = Vec::with_capacity(targets.len());
    for target in targets {
        let known = match offline_verdict(&target, excluder) {
            Some(judgement) => Some(judgement),
            None => match ledger.as_deref_mut() {
                Some(ledger) => ledger.reuse(&target.url)?,
                None => None,
            },
        };
        match known {
            Some(judgement) => results.push(target.into_result(judgement)),
            None => web.push(target),
        }
    }
    Ok((results, web))
}

/// Emits the report while the history placed for its results is written: the
/// report already knows what the history says. Returns 1 when the history
/// could not be written (the run then fails), 0 otherwise.
///
/// # Errors
/// A write error on stdout or on `--output`.
fn emit_and_record(
    args: &CheckArgs,
    report: &Report<'_>,
    writing: Option<Writing>,
) -> Result<usize, Error> {
    let emitted = emit(args, report);
    // Written whole even when the report could not be.
    let written = writing.map(Writing::wait);
    emitted?;
    Ok(match written {
        Some(Err(e)) => {
            tracing::error!("{e}");
            1
        }
        _ => 0,
    })
}

/// Runs `here` on this thread and `there` on another at the same time, and
/// gives both results; a panic on the other thread goes on on this one.
fn alongside<A, B: Send>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(there);
        let a = here();
        let b = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// Writes the report to stdout, or to `--output` with a summary on stderr.
fn emit(args: &CheckArgs, report: &Report<'_>) -> Result<(), Error> {
    let reporter = check::reporter(args.format);
    if let Some(path) = &args.output {
        let mut bytes = Vec::new();
        reporter.write(report, &mut bytes).map_err(Error::Output)?;
        write_file(path, &bytes)?;
        // The report went to a file; people at the terminal still see the gist.
        eprintln!("{}", report.summary.line());
    } else {
        let mut out = BufWriter::new(std::io::stdout().lock());
        reporter.write(report, &mut out).map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
        if args.format != check::CheckFormat::Text {
            tracing::info!("{}", report.summary.line());
        }
    }
    Ok(())
}

/// Writes the report file whole or not at all: a temporary file beside it,
/// flushed to disk, then renamed over it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::store::write_atomic(path, bytes).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Puts the URLs given and the links of the notes given into `targets`, each
/// URL once; returns how many inputs could not be read.
fn gather_all(
    args: &CheckArgs,
    settings: &Settings,
    (urls, notes): (&[String], &[String]),
    changes: Option<&Changes>,
    targets: &mut Targets,
) -> Result<usize, Error> {
    let errors = if notes.is_empty() {
        0
    } else {
        gather(args, settings, notes, changes, targets)?
    };
    let classifier = Classifier::new(settings);
    for url in urls {
        let (key, kind) = url_input(classifier, url);
        targets.entry(&key, kind);
    }
    Ok(errors)
}

/// Reads the notes into `targets`; returns how many inputs could not be read.
fn gather(
    args: &CheckArgs,
    settings: &Settings,
    notes: &[String],
    changes: Option<&Changes>,
    targets: &mut Targets,
) -> Result<usize, Error> {
    let inputs = Inputs::parse(notes)?;
    let scope = Scope::of(&inputs, &args.notes);
    let mut errors = 0;
    // Looked at without the archive's lock: a check neither waits for a fetch
    // nor holds one up.
    let archive = store::look(&settings.archive.dir);
    // Links rewritten to the archive's copies are checked at their original URL.
    let journal = rewritten_links(archive.as_ref());
    // A rewritten link counts as archived only while its object is there whole.
    let looked = Looked::new(archive.as_ref());
    let holds = |object: &str| {
        looked.holds(object, None, || {
            tracing::warn!(
                "{object}: notes link to it, but it is missing or damaged in the archive; `archiver fetch` of the original URL downloads it again"
            );
        })
    };
    let names = NoteNames::new(&settings.archive.dir);
    let classifier = Classifier::new(settings);
    let changed_notes = std::sync::atomic::AtomicUsize::new(0);
    let per_note = |note: &crate::input::Note, text: &str, mut links: Vec<Link>| {
        // With --changed-since, only the links on what changed.
        if let Some(changes) = changes {
            if let Some(lines) = changes.lines_of(note.path()) {
                changed_notes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // Lines as git counts them: a lone CR ends a line for the
                // notes' readers, not for git.
                let breaks: Vec<usize> = memchr::memchr_iter(b'\n', text.as_bytes()).collect();
                links.retain(|l| {
                    let line = breaks.partition_point(|&b| b < l.span.start) + 1;
                    lines.contains(u32::try_from(line).unwrap_or(u32::MAX))
                });
            } else {
                if !changes.covers(note.path()) {
                    tracing::warn!(
                        "{}: outside the git repository at {}, so --changed-since cannot tell what changed in it; its links are left out",
                        note.path().display(),
                        changes.root().display()
                    );
                }
                links.clear();
            }
        }
        let marked = text.contains(IGNORE_MARKER);
        let rewritten = if journal.notes.is_empty() {
            None
        } else {
            journal.notes.get(&names.name(note.path()))
        };
        // The n-th place of a path stands for the n-th URL recorded for it, as
        // for a restore: one object may stand for several URLs.
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        links
            .into_iter()
            .map(|mut link| {
                let ignored = marked && line_around(text, link.span.start).contains(IGNORE_MARKER);
                let entry = rewritten
                    .filter(|_| link.kind == Kind::Local)
                    .and_then(|entries| {
                        let n = seen.entry(link.raw.clone()).or_default();
                        let entry = entries.iter().filter(|e| e.replacement == link.raw).nth(*n);
                        *n += 1;
                        entry
                    })
                    .filter(|e| e.original != e.replacement);
                if let Some(entry) = entry {
                    let context = NoteContext::for_file(note.path());
                    // The URL as it was written in the same place: `&amp;` in
                    // an attribute, `\_` in a Markdown destination.
                    let written = crate::extract::decode_written(link.element, &entry.original);
                    let resolved = classifier.resolve(&written, &context, None);
                    link.url = resolved.url;
                    link.kind = resolved.kind;
                    link.parsed = resolved.parsed;
                }
                let archived = entry.is_some_and(|e| holds(&e.object));
                (link, ignored, archived)
            })
            .collect::<Vec<_>>()
    };
    scan(scope, settings, per_note, |scanned| {
        match scanned {
            Scanned::Note(links) => {
                targets.reserve(links.len());
                for (link, ignored, archived) in links {
                    targets.add(link, ignored, archived);
                }
            }
            Scanned::Skipped(skipped) => report_skipped(&skipped),
            Scanned::Failed(e) => {
                tracing::error!("{e}");
                errors += 1;
            }
        }
        Ok(())
    })?;
    if let Some(changes) = changes
        && changed_notes.into_inner() == 0
    {
        tracing::warn!(
            "none of the notes given is among the {} files changed in this git repository; nothing to check",
            changes.len()
        );
    }
    Ok(errors)
}

/// The rewrite journal, as far as it can be read: links rewritten to the
/// archive's copies are checked at their original URL.
fn rewritten_links(archive: &dyn Storage) -> Journal {
    match Journal::load_lenient(archive) {
        Ok((journal, bad)) => {
            for bad in bad {
                tracing::warn!(
                    "{}:{}: {}; the links it recorded are checked as local files",
                    archive.path_of(ArchiveFile::Journal).display(),
                    bad.line,
                    bad.why
                );
            }
            journal
        }
        Err(e) => {
            tracing::warn!("{e}; rewritten links are checked as local files");
            Journal::default()
        }
    }
}

fn line_around(text: &str, at: usize) -> &str {
    let start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let end = text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i);
    &text[start..end]
}

/// The verdict that needs no network, if there is one.
fn offline_verdict(target: &CitedUrl, excluder: &Excluder) -> Option<Judgement> {
    if !target.ignored.is_empty() && target.ignored.iter().all(|i| *i) {
        return Some(Judgement::new(
            Verdict::Excluded,
            format!("an `{IGNORE_MARKER}` comment stands on its line"),
        ));
    }
    // Patterns apply to every kind of link: `--exclude drafts/` spares local
    // paths too.
    if let Some(why) = excluder.excludes(&target.url) {
        return Some(Judgement::new(Verdict::Excluded, why));
    }
    match target.kind {
        Kind::Invalid => Some(Judgement::new(Verdict::Invalid, target.reason.clone())),
        Kind::Local => {
            let path = Path::new(&target.url);
            Some(if path.exists() {
                Judgement::new(Verdict::Ok, None)
            } else {
                let reason = match &target.hint {
                    Some(hint) => format!("no such file: {} ({hint})", target.url),
                    None => format!("no such file: {}", target.url),
                };
                Judgement::new(Verdict::LocalMissing, reason)
            })
        }
        Kind::Mail => Some(Judgement::new(
            Verdict::Unsupported,
            "email addresses are not checked".to_owned(),
        )),
        Kind::Other => {
            let scheme = target.url.split(':').next().unwrap_or_default();
            Some(Judgement::new(
                Verdict::Unsupported,
                format!("`{scheme}:` links are not checked"),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_around_an_offset() {
        let text = "a\n<!-- archiver-ignore --> [x](y)\r\nz";
        assert!(line_around(text, text.find('y').unwrap()).contains(IGNORE_MARKER));
        assert_eq!(line_around(text, text.len() - 1), "z");
    }

    #[test]
    fn git_is_asked_in_the_folder_of_the_first_note() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes");
        std::fs::create_dir(&notes).unwrap();
        std::fs::write(notes.join("a.md"), "").unwrap();
        let real = std::fs::canonicalize(&notes).unwrap();
        let folder = |input: String| repository_folder(&[input, "elsewhere".to_owned()]);
        let shown = notes.display();
        assert_eq!(folder(format!("{shown}")), real);
        assert_eq!(folder(format!("{shown}/a.md")), real);
        assert_eq!(folder(format!("{shown}/**/*.md")), real);
        assert_eq!(folder("-".to_owned()), PathBuf::from("."));
        assert_eq!(folder("*.md".to_owned()), PathBuf::from("."));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.md");
            std::os::unix::fs::symlink(notes.join("a.md"), &link).unwrap();
            assert_eq!(folder(link.display().to_string()), real);
        }
    }
}
