//! Parsing single configuration values (URLs, patterns, names, paths), shared by
//! files and flags; durations and sizes are [`crate::units`]. Errors are sentences
//! that say what would be right.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use url::Url;

use crate::error::Error;

/// A list of media kinds (`image`, `pdf`, `paper`, `video`), each once, in the
/// order given.
///
/// # Errors
/// The unknown name, with the known ones.
pub fn media_kinds(names: &[String]) -> Result<Vec<crate::media::MediaKind>, String> {
    let mut kinds = Vec::new();
    for name in names {
        let kind = name.parse()?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// An absolute http(s) URL.
///
/// # Errors
/// A message naming the value when it is not one.
pub fn web_url(value: &str) -> Result<Url, String> {
    match Url::parse(value.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(u),
        _ => Err(format!("`{value}` is not an http(s) URL")),
    }
}

/// A URL template with `{timestamp}` and `{url}` in it.
///
/// # Errors
/// A message when a placeholder is missing or the rest is not a URL.
pub fn capture_template(value: &str) -> Result<String, String> {
    let value = value.trim();
    if !value.contains("{timestamp}") || !value.contains("{url}") {
        return Err(format!(
            "`{value}` must contain {{timestamp}} and {{url}}, e.g. https://web.archive.org/web/{{timestamp}}id_/{{url}}"
        ));
    }
    web_url(&value.replace("{timestamp}", "1").replace("{url}", "x"))?;
    Ok(value.to_owned())
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
    // An archive in a bucket (`s3://bucket/prefix`) is nowhere on disk.
    let remote = path.to_str().is_some_and(|p| p.starts_with("s3://"));
    if remote || path.is_absolute() || folder == Path::new(".") {
        path.to_path_buf()
    } else {
        folder.join(path)
    }
}

/// `archive.public_url`: the address an archive in a bucket is served at
/// (a bucket's public address, a CDN), without its trailing slash.
///
/// # Errors
/// Not an http(s) URL that paths can be joined to.
pub fn public_url(value: Option<String>) -> Result<Option<String>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let value = value.trim().trim_end_matches('/');
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base() => {
            Ok(Some(value.to_owned()))
        }
        _ => Err(format!(
            "archive.public_url `{value}` is not an http(s) address; write it like \"https://media.example.org/archive\""
        )),
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
/// [`Error::ConfigValue`] from `origin` naming `key` and the pattern that does
/// not compile, with the parser's complaint as its source.
pub fn regexes(origin: &str, key: &str, patterns: &[String]) -> Result<Vec<Regex>, Error> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(p).map_err(|e| {
                Error::config_value_because(
                    origin,
                    format!("{key}: `{p}` is not a regular expression"),
                    e,
                )
            })
        })
        .collect()
}

/// Host names, lowercase and without a trailing dot, each checked.
///
/// # Errors
/// A message naming `key` and the name that is not a host name.
pub fn host_names(key: &str, names: &[String]) -> Result<Vec<String>, String> {
    names
        .iter()
        .map(|name| {
            let host = name.trim().trim_end_matches('.').to_ascii_lowercase();
            match url::Host::parse(&host) {
                Ok(url::Host::Domain(_)) if !host.contains(['/', ':', '@']) => Ok(host),
                _ => Err(format!(
                    "{key}: `{name}` is not a host name (e.g. example.com)"
                )),
            }
        })
        .collect()
}

/// Page titles (`gone_titles`, `login_titles`), none of them blank: it would
/// match an empty title.
///
/// # Errors
/// The first blank one, named with `key`.
pub fn titles(key: &str, list: Vec<String>) -> Result<Vec<String>, String> {
    match list.iter().find(|t| crate::sites::titles::is_blank(t)) {
        Some(t) => Err(format!(
            "{key}: `{t}` is no title: a phrase needs a letter or a digit"
        )),
        None => Ok(list),
    }
}

/// CSS selectors the snapshot rewriter can use.
///
/// # Errors
/// The first selector it cannot use, named with `key`.
pub fn selectors(key: &str, list: Vec<String>) -> Result<Vec<String>, String> {
    match list
        .iter()
        .find(|s| s.parse::<lol_html::Selector>().is_err())
    {
        Some(s) => Err(format!(
            "{key}: `{s}` is not a CSS selector the snapshot rewriter supports (simple selectors: tag, #id, .class, [attr], descendant and child combinators)"
        )),
        None => Ok(list),
    }
}

/// A size written as a number of bytes or as text with a unit.
///
/// # Errors
/// Not a size.
pub fn size_value(v: toml::Value) -> Result<u64, String> {
    let text = match v {
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::String(s) => s,
        other => other.to_string(),
    };
    crate::units::size(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_lowercase_without_a_trailing_dot() {
        let names = ["Example.COM.".to_owned(), " localhost ".to_owned()];
        assert_eq!(
            host_names("k", &names),
            Ok(vec!["example.com".to_owned(), "localhost".to_owned()])
        );
        for bad in ["", "a b", "https://example.com/", "1.2.3.4"] {
            assert!(host_names("k", &[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
