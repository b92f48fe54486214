//! What the notes ask `fetch` for: each unique media URL with its kind, the
//! notes citing it, and what is known of it already.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use url::Url;

use crate::Error;
use crate::classify::Classifier;
use crate::cli::FetchArgs;
use crate::commands::scan::{
    NoteNames, Scanned, Scope, report_skipped, scan, split_inputs, url_input,
};
use crate::config::Settings;
use crate::input::Inputs;
use crate::link::{Kind, Link};
use crate::manifest::Record;
use crate::media::{MediaKind, archived_as};
use crate::mirror::{Code, Known, Problem};
use crate::report::fetch::{Citation, FetchOutcome, FetchResult};
use crate::state::State;

/// One URL to archive.
#[derive(Debug)]
pub(super) struct Want {
    pub(super) url: String,
    pub(super) kind: MediaKind,
    /// The notes citing it, as the manifest names them.
    pub(super) notes: BTreeSet<String>,
    pub(super) cited_at: Option<Citation>,
    /// With `--refresh`, the archived copy's validators.
    pub(super) known: Option<Known>,
    /// For a paper, its PDF as `check` learnt it from the site's API.
    pub(super) pdf: Option<Url>,
}

impl Want {
    pub(super) fn result(&self, outcome: FetchOutcome) -> FetchResult {
        FetchResult {
            url: self.url.clone(),
            kind: Some(self.kind),
            outcome,
            reason_code: None,
            reason: None,
            object: None,
            sha256: None,
            media_type: None,
            size: None,
            source: None,
            captured_at: None,
            cited_at: self.cited_at.clone(),
            new_object: false,
        }
    }

    pub(super) fn failed(&self, problem: Problem) -> FetchResult {
        FetchResult {
            reason_code: Some(problem.code.to_string()),
            reason: Some(problem.reason),
            ..self.result(FetchOutcome::Failed)
        }
    }

    pub(super) fn with_record(&self, outcome: FetchOutcome, record: &Record) -> FetchResult {
        FetchResult {
            object: Some(record.object.clone()),
            sha256: Some(record.sha256.clone()),
            media_type: Some(record.media_type.clone()),
            size: Some(record.size),
            source: Some(record.source),
            captured_at: record.captured_at.clone(),
            ..self.result(outcome)
        }
    }
}

/// What the notes ask for.
#[derive(Debug, Default)]
pub(super) struct Wanted {
    pub(super) targets: BTreeMap<String, Want>,
    /// Every note read, as the manifest names notes.
    pub(super) scanned: BTreeSet<String>,
    /// The notes citing each media URL, of any kind.
    pub(super) cited: BTreeMap<String, BTreeSet<String>>,
    /// Inputs that could not be read.
    pub(super) errors: usize,
    /// URLs named on the command line that are no media.
    pub(super) skipped: Vec<FetchResult>,
}

impl Wanted {
    /// Adds a citation of `url`, to be fetched as `kind`.
    pub(super) fn add(&mut self, url: &str, kind: MediaKind, note: Option<(String, Citation)>) {
        let want = self.targets.entry(url.to_owned()).or_insert_with(|| Want {
            url: url.to_owned(),
            kind,
            notes: BTreeSet::new(),
            cited_at: None,
            known: None,
            pdf: None,
        });
        // A URL cited both as a PDF and as a paper page is fetched as the former.
        if rank(kind) < rank(want.kind) {
            want.kind = kind;
        }
        if let Some((name, citation)) = note {
            want.notes.insert(name);
            want.cited_at.get_or_insert(citation);
        }
    }
}

/// What a link is fetched as, if it is fetched at all: media of one of
/// `kinds` ([`archived_as`]), and of a srcset only the `largest` candidate.
/// (`rewrite` points any candidate the archive holds at its copy: the smaller
/// ones are not downloaded, but may be archived as another link.)
pub(super) fn wanted_kind(
    link_url: &str,
    kind: Kind,
    largest: bool,
    kinds: &[MediaKind],
) -> Option<MediaKind> {
    if !largest {
        return None;
    }
    archived_as(link_url, kind, kinds)
}

pub(super) fn gather(
    args: &FetchArgs,
    settings: &Settings,
    names: &NoteNames,
) -> Result<Wanted, Error> {
    let (urls, notes) = split_inputs(&args.notes.inputs);
    let mut wanted = Wanted::default();
    if !notes.is_empty() {
        read_notes(args, settings, names, &notes, &mut wanted)?;
    }
    let classifier = Classifier::new(settings);
    // Named on the command line: fetched whatever --kinds says, as what it is;
    // any page but an article only when --kinds asks for pages.
    let pages = args
        .kinds
        .as_ref()
        .is_some_and(|k| k.contains(&MediaKind::Page));
    let asked_kinds: Vec<MediaKind> = MediaKind::ALL
        .into_iter()
        .filter(|k| *k != MediaKind::Page || pages)
        .collect();
    for url in &urls {
        let (key, link_kind) = url_input(classifier, url);
        if let Some(kind) = wanted_kind(&key, link_kind, true, &asked_kinds) {
            wanted.add(&key, kind, None);
        } else {
            wanted.skipped.push(FetchResult {
                url: key,
                kind: None,
                outcome: FetchOutcome::Skipped,
                reason_code: Some(Code::NotMedia.to_string()),
                reason: Some(format!(
                    "not an image, PDF, paper or video link (its kind is {link_kind})"
                )),
                object: None,
                sha256: None,
                media_type: None,
                size: None,
                source: None,
                captured_at: None,
                cited_at: None,
                new_object: false,
            });
        }
    }
    Ok(wanted)
}

/// Reads the notes' media links into `wanted`.
pub(super) fn read_notes(
    args: &FetchArgs,
    settings: &Settings,
    names: &NoteNames,
    notes: &[String],
    wanted: &mut Wanted,
) -> Result<(), Error> {
    let kinds = &settings.fetch.kinds;
    let inputs = Inputs::parse(notes)?;
    let scope = Scope::of(&inputs, &args.notes);
    // Each media link, and what it is fetched as under --kinds (if at all).
    let per_note = |note: &crate::input::Note, _: &str, links: Vec<Link>| {
        let name = names.name(note.path());
        let media: Vec<(Link, Option<MediaKind>)> = links
            .into_iter()
            .filter_map(|link| {
                let largest = link.srcset.as_ref().is_none_or(|s| s.largest);
                wanted_kind(&link.url, link.kind, largest, &MediaKind::ALL)?;
                let kind = wanted_kind(&link.url, link.kind, largest, kinds);
                Some((link, kind))
            })
            .collect();
        (name, media)
    };
    scan(scope, settings, per_note, |result| {
        match result {
            Scanned::Note((name, media)) => {
                for (link, kind) in media {
                    wanted
                        .cited
                        .entry(link.identity().to_owned())
                        .or_default()
                        .insert(name.clone());
                    let Some(kind) = kind else { continue };
                    let citation = Citation {
                        file: Arc::clone(&link.file),
                        line: link.line,
                        column: link.column,
                    };
                    wanted.add(link.identity(), kind, Some((name.clone(), citation)));
                }
                wanted.scanned.insert(name);
            }
            Scanned::Skipped(skipped) => report_skipped(&skipped),
            Scanned::Failed(e) => {
                tracing::error!("{e}");
                wanted.errors += 1;
            }
        }
        Ok(())
    })
}

pub(super) fn rank(kind: MediaKind) -> u8 {
    match kind {
        MediaKind::Pdf => 0,
        MediaKind::Image => 1,
        MediaKind::Video => 2,
        MediaKind::Paper => 3,
        MediaKind::Article => 4,
        MediaKind::Page => 5,
    }
}

/// Papers whose PDF a `check` learnt from the site's API (arXiv) are fetched
/// from there, without reading their page first. Without a state database, or
/// with one that cannot be read, papers are resolved the usual way.
pub(super) fn learn_pdfs(downloads: &mut [Want], settings: &Settings) {
    if !downloads.iter().any(|w| w.kind == MediaKind::Paper) || !settings.state.path.is_file() {
        return;
    }
    let state = match State::open_existing(&settings.state.path) {
        Ok(state) => state,
        Err(e) => {
            tracing::debug!("{e}; papers are resolved from their pages");
            return;
        }
    };
    for want in downloads.iter_mut().filter(|w| w.kind == MediaKind::Paper) {
        want.pdf = state
            .pdf_for(&want.url)
            .ok()
            .flatten()
            .and_then(|pdf| Url::parse(&pdf).ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_link_is_fetched_as() {
        let all = MediaKind::ALL;
        let images = [MediaKind::Image];
        assert_eq!(
            wanted_kind("https://a.org/x.png", Kind::Image, true, &all),
            Some(MediaKind::Image)
        );
        // A smaller srcset candidate is not fetched.
        assert_eq!(
            wanted_kind("https://a.org/x.png", Kind::Image, false, &all),
            None
        );
        // A paper host's direct PDF is a PDF, whatever its kind.
        assert_eq!(
            wanted_kind("https://arxiv.org/pdf/1.pdf", Kind::Paper, true, &all),
            Some(MediaKind::Pdf)
        );
        assert_eq!(
            wanted_kind("https://arxiv.org/abs/1", Kind::Paper, true, &all),
            Some(MediaKind::Paper)
        );
        assert_eq!(
            wanted_kind("https://a.org/x.PDF", Kind::Page, true, &images),
            None
        );
        // Pages and articles are snapshots, when wanted.
        assert_eq!(
            wanted_kind("https://a.org/", Kind::Page, true, &all),
            Some(MediaKind::Page)
        );
        assert_eq!(
            wanted_kind("https://a.org/", Kind::Page, true, &images),
            None
        );
        assert_eq!(
            wanted_kind("https://mp.weixin.qq.com/s/x", Kind::Article, true, &all),
            Some(MediaKind::Article)
        );
        assert_eq!(wanted_kind("img/x.png", Kind::Local, true, &all), None);
    }
}
