//! `rewrite --only-failing`: only the links whose latest `check` verdict is
//! failing are pointed at their archived copies, so live links keep pointing
//! at the web.

use std::collections::HashSet;

use crate::Error;
use crate::config::Settings;
use crate::state::State;
use crate::verdict::Verdict;

/// The verdicts that count as failing unless `--fail-on` says otherwise.
pub(super) const FAILING: [Verdict; 3] = [Verdict::Dead, Verdict::SoftDead, Verdict::Expired];

/// The URLs whose latest recorded verdict is one of `fail_on`.
///
/// # Errors
/// [`Error::State`] when there is no state database (no `check` ran) or it
/// cannot be read.
pub(super) fn urls(settings: &Settings, fail_on: &[Verdict]) -> Result<HashSet<String>, Error> {
    let state = State::open_existing(&settings.state.path).map_err(|e| match e {
        Error::State {
            path,
            message,
            source,
        } => Error::State {
            path,
            message: format!(
                "{message}; `rewrite --only-failing` rewrites the links `archiver check` found failing: run it first"
            ),
            source,
        },
        other => other,
    })?;
    Ok(state
        .latest_rows()?
        .into_iter()
        .filter(|row| fail_on.contains(&row.verdict))
        .map(|row| row.url)
        .collect())
}
