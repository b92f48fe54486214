//! Failing links the archive holds a copy of: each such result names its copy,
//! and with `--archived-ok` it does not fail the run (the notes' reference is
//! kept; `archiver rewrite --only-failing` points the notes at it).

use std::path::Path;

use crate::manifest::Manifest;
use crate::report::check::CheckResult;
use crate::store;
use crate::verdict::Verdict;

/// Names the archived copy of every failing result whose URL the manifest
/// maps to an object that is there whole. Looked at without the archive's
/// lock; an archive that cannot be read names no copies.
pub(super) fn mark(results: &mut [CheckResult], fail_on: &[Verdict], archive_dir: &Path) {
    if !results.iter().any(|r| fail_on.contains(&r.verdict)) {
        return;
    }
    let archive = store::look(archive_dir);
    let Ok((manifest, _)) = Manifest::load_lenient(archive.as_ref()) else {
        return;
    };
    for result in results.iter_mut().filter(|r| fail_on.contains(&r.verdict)) {
        if let Some(record) = manifest.records.get(&result.url)
            && record.is_intact_in(archive.as_ref())
        {
            result.archived_copy = Some(archive_dir.join(&record.object).display().to_string());
        }
    }
}
