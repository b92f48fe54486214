//! Baselines: the failures a collection already had when it turned the check
//! on (`--write-baseline FILE`), which later runs accept (`--baseline FILE`)
//! while failing on any other.
//!
//! The file is plain text, one failing URL per line after its verdict and a
//! tab, sorted, so it reads and diffs well in git; `#` starts a comment. A line
//! deleted once its link is fixed makes that link count again.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use crate::error::Error;
use crate::report::check::CheckResult;
use crate::verdict::Verdict;

/// The URLs a baseline accepts as failing.
#[derive(Debug, Default)]
pub struct Baseline {
    urls: HashSet<String>,
}

impl Baseline {
    /// Reads a baseline file.
    ///
    /// # Errors
    /// [`Error::Read`] when it cannot be read; [`Error::ConfigValue`] naming
    /// the line that is not `VERDICT<TAB>URL`.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut urls = HashSet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            // A tab as written; any run of spaces where an editor replaced it.
            let split = line
                .split_once('\t')
                .or_else(|| line.split_once(char::is_whitespace));
            let Some((verdict, url)) = split.map(|(v, u)| (v.trim(), u.trim())) else {
                return Err(Error::ConfigValue {
                    origin: format!("{}:{}", path.display(), n + 1),
                    message: "expected a verdict, a tab and a URL, as --write-baseline writes"
                        .to_owned(),
                });
            };
            if verdict.parse::<Verdict>().is_err() {
                return Err(Error::ConfigValue {
                    origin: format!("{}:{}", path.display(), n + 1),
                    message: format!("`{verdict}` is not a verdict"),
                });
            }
            urls.insert(url.to_owned());
        }
        Ok(Baseline { urls })
    }

    /// Whether the baseline accepts `url` failing.
    #[must_use]
    pub fn accepts(&self, url: &str) -> bool {
        self.urls.contains(url)
    }
}

/// `--write-baseline`: writes the baseline, unless the run was stopped before
/// it finished (the unchecked failures would drop out of it), and says so.
///
/// # Errors
/// [`Error::WriteFile`] when the file cannot be written.
pub fn record(
    path: &Path,
    results: &[CheckResult],
    fail_on: &[Verdict],
    interrupted: bool,
) -> Result<(), Error> {
    if interrupted {
        tracing::warn!(
            "{}: not written, as the run was stopped before it finished",
            path.display()
        );
        return Ok(());
    }
    let n = write(path, results, fail_on)?;
    tracing::warn!(
        "{}: {n} failing links recorded as the baseline",
        path.display()
    );
    Ok(())
}

/// Writes the failing results (by `fail_on`) as a baseline, atomically.
///
/// # Errors
/// [`Error::WriteFile`] when the file cannot be written.
fn write(path: &Path, results: &[CheckResult], fail_on: &[Verdict]) -> Result<usize, Error> {
    let mut text = format!(
        "# archiver baseline: the links failing at {}.\n\
         # `archiver check --baseline {}` reports them but does not fail on them.\n\
         # Delete a line once its link is fixed, so that it counts again.\n",
        crate::state::timestamp(SystemTime::now()),
        path.display()
    );
    let mut failing: Vec<&CheckResult> = results
        .iter()
        .filter(|r| fail_on.contains(&r.verdict))
        .collect();
    failing.sort_by(|a, b| a.url.cmp(&b.url));
    for result in &failing {
        // A URL holds no tab or line break once normalized; a local path might.
        let url = result.url.replace(['\t', '\n', '\r'], " ");
        let _ = writeln!(text, "{}\t{url}", result.verdict);
    }
    let failed = |source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    crate::store::write_atomic(path, text.as_bytes()).map_err(failed)?;
    Ok(failing.len())
}
