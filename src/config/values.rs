//! Parsing single configuration values (durations, URLs, patterns), shared by
//! files and flags. Errors are sentences that say what would be right.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use url::Url;

/// A duration: plain seconds (`20`, `0.5`) or with a unit (`250ms`, `20s`, `1m`,
/// `1h 30m`).
///
/// # Errors
/// A message with an example when `s` is neither.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(seconds) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("`{s}` is not a duration of zero or more seconds"));
    }
    humantime::parse_duration(s).map_err(|e| {
        format!("`{s}` is not a duration ({e}); write seconds (20) or a unit (250ms, 20s, 1m)")
    })
}

/// A duration as the configuration writes it, e.g. `20s` or `250ms`.
#[must_use]
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        "0s".into()
    } else {
        humantime::format_duration(d).to_string().replace(' ', "")
    }
}

/// A base URL for root-relative links; empty means none.
///
/// # Errors
/// A message with an example when `value` is not an absolute URL paths can join.
pub fn base_url(value: &str) -> Result<Option<Url>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let url = Url::parse(value).map_err(|e| {
        format!("base_url `{value}` is not an absolute URL ({e}); write it like \"https://example.org/\"")
    })?;
    if url.cannot_be_a_base() {
        return Err(format!(
            "base_url `{value}` cannot have paths joined to it; write it like \"https://example.org/\""
        ));
    }
    Ok(Some(url))
}

/// `path` as seen from the current directory, when it is written relative to
/// `folder`.
#[must_use]
pub fn relative_to(folder: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || folder == Path::new(".") {
        path.to_path_buf()
    } else {
        folder.join(path)
    }
}

/// File extensions: lowercase, without leading dots, deduplicated, in order.
#[must_use]
pub fn extensions(list: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    list.into_iter()
        .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|e| !e.is_empty() && seen.insert(e.clone()))
        .collect()
}

/// Regular expressions, each checked.
///
/// # Errors
/// A message naming `key` and the pattern that does not compile.
pub fn regexes(key: &str, patterns: &[String]) -> Result<Vec<Regex>, String> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(p).map_err(|e| format!("{key}: `{p}` is not a regular expression: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_seconds_or_with_units() {
        assert_eq!(duration("20"), Ok(Duration::from_secs(20)));
        assert_eq!(duration("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(duration("1m"), Ok(Duration::from_mins(1)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(duration("-1").unwrap_err().contains("zero or more"));
        assert!(duration("soon").unwrap_err().contains("250ms"));
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(
            duration(&format_duration(Duration::from_millis(1500))),
            Ok(Duration::from_millis(1500))
        );
    }
}
