//! Keeping the manifest true to what landed: records made from downloads, and
//! stand-ins (placeholders) disowned.

use std::time::SystemTime;

use super::WebRun;
use super::wanted::Want;
use crate::manifest::{Capture, Manifest, Record};
use crate::mirror::{Code, Mirrored};
use crate::report::fetch::{FetchOutcome, FetchResult};

/// URLs archived before the run learnt their host's placeholder, and found to
/// hold it, lose their record (a refreshed one gets its old record back): a
/// placeholder is never a URL's object. Returns the objects so disowned.
pub(super) fn disown_stand_ins(
    run: &WebRun,
    results: &mut [FetchResult],
    manifest: &mut Manifest,
) -> Vec<String> {
    let stand_ins = &run.stand_ins;
    let mut disowned = Vec::new();
    if stand_ins.is_empty() {
        return disowned;
    }
    for result in results.iter_mut() {
        let held = matches!(
            result.outcome,
            FetchOutcome::Fetched | FetchOutcome::Present
        ) && result
            .sha256
            .as_ref()
            .is_some_and(|s| stand_ins.contains(s));
        if !held {
            continue;
        }
        if manifest
            .records
            .get(&result.url)
            .is_some_and(|r| stand_ins.contains(&r.sha256))
        {
            manifest.records.remove(&result.url);
        }
        disowned.extend(result.object.take());
        if let Some(old) = run.replaced.get(&result.url) {
            manifest.records.insert(result.url.clone(), old.clone());
            *result = FetchResult {
                reason_code: Some(Code::Placeholder.to_string()),
                reason: Some(
                    "kept the archived copy; the host now answers with its anti-hotlink placeholder"
                        .into(),
                ),
                new_object: false,
                ..FetchResult {
                    object: Some(old.object.clone()),
                    sha256: Some(old.sha256.clone()),
                    media_type: Some(old.media_type.clone()),
                    size: Some(old.size),
                    source: Some(old.source),
                    captured_at: old.captured_at.clone(),
                    outcome: FetchOutcome::Present,
                    ..result.clone()
                }
            };
            continue;
        }
        *result = FetchResult {
            outcome: FetchOutcome::Failed,
            reason_code: Some(Code::Placeholder.to_string()),
            reason: Some(
                "the host's anti-hotlink placeholder (learnt during the run), not the file".into(),
            ),
            sha256: None,
            media_type: None,
            size: None,
            source: None,
            captured_at: None,
            new_object: false,
            ..result.clone()
        };
    }
    disowned
}

/// The record of `want`, archived as `mirrored`; `old` is the record it
/// replaces.
pub(super) fn record_for(want: &Want, mirrored: &Mirrored, old: Option<&Record>) -> Record {
    // The old record's notes were brought up to date before the downloads.
    let mut notes = old.map(|r| r.notes.clone()).unwrap_or_default();
    notes.extend(want.notes.iter().cloned());
    Record {
        url: want.url.clone(),
        object: mirrored.stored.name.relative(),
        sha256: mirrored.stored.name.sha256.clone(),
        media_type: mirrored.sniffed.media_type.to_owned(),
        size: mirrored.stored.size,
        final_url: mirrored.final_url.clone(),
        fetched_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        etag: mirrored.etag.clone(),
        last_modified: mirrored.last_modified.clone(),
        source: mirrored.source,
        captured_at: mirrored.captured_at.clone(),
        uses: mirrored.uses.clone(),
        page_sha256: mirrored.page_sha256.clone(),
        title: mirrored.title.clone(),
        captures: captures(mirrored, old),
        notes,
    }
}

/// The earlier snapshots a record keeps: a page that changed keeps the one it
/// replaces, oldest first.
fn captures(mirrored: &Mirrored, old: Option<&Record>) -> Vec<Capture> {
    let Some(old) = old else {
        return Vec::new();
    };
    let mut captures = old.captures.clone();
    let replaced = old.object != mirrored.stored.name.relative();
    if replaced && mirrored.page_sha256.is_some() && old.page_sha256.is_some() {
        captures.push(Capture::of(old));
    }
    captures
}
