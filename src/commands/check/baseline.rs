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
            let bad = |message: String| {
                Error::config_value(format!("{}:{}", path.display(), n + 1), message)
            };
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            // A tab as written; any run of spaces where an editor replaced it.
            let split = line
                .split_once('\t')
                .or_else(|| line.trim().split_once(char::is_whitespace));
            let Some((verdict, url)) = split.map(|(v, u)| (v.trim(), u)) else {
                return Err(bad(
                    "expected a verdict, a tab and a URL, as --write-baseline writes".to_owned(),
                ));
            };
            if verdict.parse::<Verdict>().is_err() {
                return Err(bad(format!("`{verdict}` is not a verdict")));
            }
            urls.insert(unquote(url).map_err(bad)?);
        }
        Ok(Baseline { urls })
    }

    /// Whether the baseline accepts `url` failing.
    #[must_use]
    pub fn accepts(&self, url: &str) -> bool {
        self.urls.contains(url)
    }
}

/// A URL as a baseline line holds it: as it is, or, when it would not read
/// back as itself (empty, with spaces at an end, a tab, a line break or
/// another control character, or a leading quote), as a JSON string.
fn quote(url: &str) -> String {
    let plain = !url.is_empty()
        && url.trim() == url
        && !url.starts_with('"')
        && !url.chars().any(char::is_control);
    if plain {
        url.to_owned()
    } else {
        serde_json::to_string(url).unwrap_or_default()
    }
}

/// The URL a baseline line holds (see [`quote`]).
fn unquote(written: &str) -> Result<String, String> {
    let written = written.trim();
    if written.starts_with('"') {
        serde_json::from_str(written).map_err(|e| format!("a quoted URL that does not parse: {e}"))
    } else if written.is_empty() {
        Err("no URL after the verdict".to_owned())
    } else {
        Ok(written.to_owned())
    }
}

/// Fails now, before a run, if `path` could not be written after it: its
/// folder must exist (or, with `create`, be made) and take a new file.
///
/// # Errors
/// [`Error::WriteFile`] naming the file and why.
pub fn check_writable(path: &Path, create: bool) -> Result<(), Error> {
    let failed = |source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    if create {
        std::fs::create_dir_all(folder).map_err(failed)?;
    } else if !folder.is_dir() {
        return Err(failed(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no folder {}: create it first", folder.display()),
        )));
    }
    if path.is_dir() {
        return Err(failed(std::io::Error::other("a folder stands there")));
    }
    tempfile::Builder::new()
        .prefix(".archiver-")
        .tempfile_in(folder)
        .map(drop)
        .map_err(failed)
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
        let _ = writeln!(text, "{}\t{}", result.verdict, quote(&result.url));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_reads_back_as_itself() {
        for url in [
            "https://example.org/a b",
            "",
            " lead",
            "trail ",
            "a\tb",
            "a\nb",
            "\"quoted\"",
            "https://例え.jp/%E3%81%82",
        ] {
            assert_eq!(unquote(&quote(url)), Ok(url.to_owned()), "{url:?}");
        }
    }
}
