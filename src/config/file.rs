//! One configuration file as written: every key optional, unknown keys refused.
//!
//! A file is read into these types, then validated into a [`Partial`] on its own,
//! so that every error names the file that holds the bad value.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use super::values::{self, selectors, size_value, titles};
use crate::error::Error;
use crate::link::Kind;
use crate::media::MediaKind;
use crate::net::connect_to::ConnectTo;
use crate::sites::batch::BatchRule;
use crate::sites::fetch::{FetchRule, Referer, Rewrite, parse_size};
use crate::sites::headers::SiteHeaders;
use crate::sites::{HostPattern, LiveSelector, Method, SiteRule, UserAgent};
use crate::units;
use crate::verdict::Verdict;

/// A configuration file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    links: Option<LinksFile>,
    input: Option<InputFile>,
    kinds: Option<KindsFile>,
    network: Option<NetworkFile>,
    check: Option<CheckFile>,
    archive: Option<ArchiveFile>,
    fetch: Option<FetchFile>,
    rewrite: Option<RewriteFile>,
    state: Option<StateFile>,
    pages: Option<PagesFile>,
    snapshot: Option<SnapshotFile>,
    sites: Option<Vec<SiteFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotFile {
    lazy_src: Option<Vec<String>>,
    show: Option<Vec<String>>,
    drop: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PagesFile {
    gone_titles: Option<Vec<String>>,
    login_titles: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveFile {
    dir: Option<PathBuf>,
    warc: Option<bool>,
    public_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RewriteFile {
    kinds: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FetchFile {
    kinds: Option<Vec<String>>,
    max_object_size: Option<toml::Value>,
    wayback: Option<bool>,
    wayback_api: Option<String>,
    wayback_capture: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputFile {
    max_note_size: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinksFile {
    base_url: Option<String>,
    root_dir: Option<PathBuf>,
    markdown_extensions: Option<Vec<String>>,
    html_extensions: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindsFile {
    image: Option<Vec<String>>,
    video: Option<Vec<String>>,
    pdf: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    user_agent: Option<String>,
    browser_user_agent: Option<String>,
    timeout: Option<String>,
    deadline: Option<String>,
    retries: Option<u32>,
    retry_delay: Option<String>,
    retry_delay_5xx: Option<String>,
    max_retry_after: Option<String>,
    max_concurrency: Option<usize>,
    host_concurrency: Option<usize>,
    min_interval: Option<String>,
    max_redirects: Option<usize>,
    allow_private_redirects: Option<bool>,
    body_prefix: Option<usize>,
    ca_certs: Option<Vec<PathBuf>>,
    connect_to: Option<Vec<String>>,
    canary: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    fail_on: Option<Vec<String>>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    ignore_file: Option<PathBuf>,
    max_age: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchFile {
    api: String,
    endpoint: String,
    id: String,
    size: Option<usize>,
    #[serde(default)]
    reserved: Vec<String>,
    token_env: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    name: String,
    #[serde(default)]
    hosts: Vec<String>,
    kind: Option<Kind>,
    min_interval: Option<String>,
    host_concurrency: Option<usize>,
    method: Option<String>,
    user_agent: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    live_selector: Option<String>,
    #[serde(default)]
    gone_markers: Vec<String>,
    #[serde(default)]
    gone_titles: Vec<String>,
    #[serde(default)]
    gone_redirects: Vec<String>,
    #[serde(default)]
    blocked_markers: Vec<String>,
    #[serde(default)]
    blocked_redirects: Vec<String>,
    #[serde(default)]
    blocked_status: Vec<u16>,
    #[serde(default)]
    expired_status: Vec<u16>,
    #[serde(default)]
    moved_markers: Vec<String>,
    moved_target: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    rewrite: Vec<(String, String)>,
    #[serde(default)]
    drop_query: Vec<String>,
    #[serde(default)]
    prefer: Vec<(String, String)>,
    #[serde(default)]
    referers: Vec<String>,
    #[serde(default)]
    placeholder_sha256: Vec<String>,
    #[serde(default)]
    placeholder_size: Vec<String>,
    placeholder_probe: Option<String>,
    batch: Option<BatchFile>,
}

/// One layer's values, validated and typed; `None` where the layer is silent.
#[derive(Debug, Default)]
pub(super) struct Partial {
    /// `Some(None)`: the layer sets the base URL to nothing, which overrides a lower
    /// layer's URL; `None`: the layer is silent.
    #[allow(clippy::option_option)]
    pub base_url: Option<Option<url::Url>>,
    pub root_dir: Option<PathBuf>,
    pub markdown_extensions: Option<Vec<String>>,
    pub html_extensions: Option<Vec<String>>,
    pub max_note_size: Option<u64>,
    pub image: Option<Vec<String>>,
    pub video: Option<Vec<String>>,
    pub pdf: Option<Vec<String>>,
    pub user_agent: Option<String>,
    pub browser_user_agent: Option<String>,
    pub timeout: Option<std::time::Duration>,
    pub deadline: Option<std::time::Duration>,
    pub retries: Option<u32>,
    pub retry_delay: Option<std::time::Duration>,
    pub retry_delay_5xx: Option<std::time::Duration>,
    pub max_retry_after: Option<std::time::Duration>,
    pub max_concurrency: Option<usize>,
    pub host_concurrency: Option<usize>,
    pub min_interval: Option<std::time::Duration>,
    pub max_redirects: Option<usize>,
    pub allow_private_redirects: Option<bool>,
    pub body_prefix: Option<usize>,
    pub ca_certs: Option<Vec<PathBuf>>,
    pub connect_to: Option<Vec<ConnectTo>>,
    pub canary: Option<Vec<String>>,
    pub fail_on: Option<Vec<Verdict>>,
    pub include: Option<Vec<Regex>>,
    pub exclude: Option<Vec<Regex>>,
    pub ignore_file: Option<PathBuf>,
    pub archive_dir: Option<PathBuf>,
    pub warc: Option<bool>,
    pub public_url: Option<String>,
    pub max_age: Option<std::time::Duration>,
    pub state_path: Option<PathBuf>,
    pub fetch_kinds: Option<Vec<MediaKind>>,
    pub max_object_size: Option<u64>,
    pub wayback: Option<bool>,
    pub wayback_api: Option<url::Url>,
    pub wayback_capture: Option<String>,
    pub rewrite_kinds: Option<Vec<MediaKind>>,
    pub gone_titles: Option<Vec<String>>,
    pub login_titles: Option<Vec<String>>,
    pub snapshot_lazy_src: Option<Vec<String>>,
    pub snapshot_show: Option<Vec<String>>,
    pub snapshot_drop: Option<Vec<String>>,
    pub sites: Vec<SiteRule>,
}

impl FileConfig {
    /// Parses a file's text.
    pub(super) fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::ConfigParse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Validates every value the file sets; relative paths become relative to
    /// `folder` (the file's folder).
    #[allow(clippy::too_many_lines)] // one line per key, in the file's order
    pub(super) fn into_partial(self, origin: &str, folder: &Path) -> Result<Partial, Error> {
        let bad = |message: String| Error::config_value(origin, message);
        let duration = |key: &str, v: Option<String>| -> Result<_, Error> {
            v.map(|v| units::duration(&v).map_err(|e| bad(format!("{key}: {e}"))))
                .transpose()
        };
        let positive_duration = |key: &str, v: Option<String>| -> Result<_, Error> {
            match duration(key, v)? {
                Some(d) if d.is_zero() => Err(bad(format!("{key} must be more than 0"))),
                d => Ok(d),
            }
        };
        let links = self.links.unwrap_or_default();
        let kinds = self.kinds.unwrap_or_default();
        let network = self.network.unwrap_or_default();
        let check = self.check.unwrap_or_default();
        let archive = self.archive.unwrap_or_default();
        let fetch = self.fetch.unwrap_or_default();
        let rewrite = self.rewrite.unwrap_or_default();
        let input = self.input.unwrap_or_default();
        let state = self.state.unwrap_or_default();
        let pages = self.pages.unwrap_or_default();
        let snapshot = self.snapshot.unwrap_or_default();
        let media = |key: &str, v: Option<Vec<String>>| {
            v.map(|v| values::media_kinds(&v).map_err(|e| bad(format!("{key}: {e}"))))
                .transpose()
        };
        let positive = |key: &str, v: Option<usize>| -> Result<_, Error> {
            match v {
                Some(0) => Err(bad(format!("{key} must be at least 1"))),
                v => Ok(v),
            }
        };
        Ok(Partial {
            base_url: links
                .base_url
                .map(|v| values::base_url(&v).map_err(bad))
                .transpose()?,
            root_dir: links.root_dir.map(|p| values::relative_to(folder, &p)),
            markdown_extensions: links.markdown_extensions.map(values::extensions),
            html_extensions: links.html_extensions.map(values::extensions),
            image: kinds.image.map(values::extensions),
            video: kinds.video.map(values::extensions),
            pdf: kinds.pdf.map(values::extensions),
            user_agent: network.user_agent,
            browser_user_agent: network.browser_user_agent,
            timeout: positive_duration("network.timeout", network.timeout)?,
            deadline: positive_duration("network.deadline", network.deadline)?,
            retries: network.retries,
            retry_delay: duration("network.retry_delay", network.retry_delay)?,
            retry_delay_5xx: duration("network.retry_delay_5xx", network.retry_delay_5xx)?,
            max_retry_after: duration("network.max_retry_after", network.max_retry_after)?,
            max_concurrency: positive("network.max_concurrency", network.max_concurrency)?,
            host_concurrency: positive("network.host_concurrency", network.host_concurrency)?,
            min_interval: duration("network.min_interval", network.min_interval)?,
            max_redirects: network.max_redirects,
            allow_private_redirects: network.allow_private_redirects,
            body_prefix: network.body_prefix,
            ca_certs: network
                .ca_certs
                .map(|v| v.iter().map(|p| values::relative_to(folder, p)).collect()),
            connect_to: network
                .connect_to
                .map(|v| v.iter().map(|c| c.parse().map_err(bad)).collect())
                .transpose()?,
            canary: network
                .canary
                .map(|v| values::host_names("network.canary", &v).map_err(bad))
                .transpose()?,
            fail_on: check
                .fail_on
                .map(|v| v.iter().map(|s| s.parse().map_err(bad)).collect())
                .transpose()?,
            include: check
                .include
                .map(|v| values::regexes(origin, "check.include", &v))
                .transpose()?,
            exclude: check
                .exclude
                .map(|v| values::regexes(origin, "check.exclude", &v))
                .transpose()?,
            ignore_file: check.ignore_file.map(|p| values::relative_to(folder, &p)),
            archive_dir: archive.dir.map(|p| values::relative_to(folder, &p)),
            warc: archive.warc,
            public_url: values::public_url(archive.public_url).map_err(bad)?,
            max_age: duration("check.max_age", check.max_age)?,
            state_path: state.path.map(|p| values::relative_to(folder, &p)),
            fetch_kinds: media("fetch.kinds", fetch.kinds)?,
            max_object_size: fetch
                .max_object_size
                .map(|v| size_value(v).map_err(|e| bad(format!("fetch.max_object_size: {e}"))))
                .transpose()?,
            rewrite_kinds: media("rewrite.kinds", rewrite.kinds)?,
            max_note_size: input
                .max_note_size
                .map(|v| size_value(v).map_err(|e| bad(format!("input.max_note_size: {e}"))))
                .transpose()?,
            wayback: fetch.wayback,
            wayback_api: fetch
                .wayback_api
                .map(|v| values::web_url(&v))
                .transpose()
                .map_err(|e| bad(format!("fetch.wayback_api: {e}")))?,
            wayback_capture: fetch
                .wayback_capture
                .map(|v| values::capture_template(&v))
                .transpose()
                .map_err(|e| bad(format!("fetch.wayback_capture: {e}")))?,
            gone_titles: pages
                .gone_titles
                .map(|v| titles("pages.gone_titles", v).map_err(bad))
                .transpose()?,
            login_titles: pages
                .login_titles
                .map(|v| titles("pages.login_titles", v).map_err(bad))
                .transpose()?,
            snapshot_lazy_src: snapshot.lazy_src,
            snapshot_show: snapshot
                .show
                .map(|v| selectors("snapshot.show", v).map_err(bad))
                .transpose()?,
            snapshot_drop: snapshot
                .drop
                .map(|v| selectors("snapshot.drop", v).map_err(bad))
                .transpose()?,
            sites: self
                .sites
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.into_rule().map_err(bad))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl SiteFile {
    fn into_rule(self) -> Result<SiteRule, String> {
        let name = self.name;
        if name.trim().is_empty() {
            return Err("a [[sites]] rule has an empty name".into());
        }
        let within = |e: String| format!("site rule `{name}`: {e}");
        let hosts = self
            .hosts
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(within)?;
        if let Some(kind) = self.kind
            && matches!(kind, Kind::Local | Kind::Mail | Kind::Invalid | Kind::Other)
        {
            return Err(within(format!(
                "kind `{kind}` describes no web link; use article, paper, pdf, code, image, video or page"
            )));
        }
        let min_interval = self
            .min_interval
            .map(|v| units::duration(&v).map_err(|e| within(format!("min_interval: {e}"))))
            .transpose()?;
        let method = self
            .method
            .map(|m| m.parse::<Method>().map_err(within))
            .transpose()?;
        let user_agent = self.user_agent.map(|u| UserAgent::from_config(&u));
        let headers =
            SiteHeaders::parse(self.headers, |var| std::env::var(var).ok()).map_err(within)?;
        let live_selector = self
            .live_selector
            .map(|s| LiveSelector::parse(&s).map_err(|e| within(format!("live_selector: {e}"))))
            .transpose()?;
        let moved_target = self
            .moved_target
            .map(|r| {
                Regex::new(&r)
                    .map_err(|e| within(format!("moved_target is not a regular expression: {e}")))
            })
            .transpose()?;
        if self.host_concurrency == Some(0) {
            return Err(within("host_concurrency must be at least 1".into()));
        }
        let gone_titles = titles("gone_titles", self.gone_titles).map_err(within)?;
        let markers = [
            ("live_selector", live_selector.is_some()),
            ("gone_markers", !self.gone_markers.is_empty()),
            ("gone_titles", !gone_titles.is_empty()),
            ("blocked_markers", !self.blocked_markers.is_empty()),
            ("moved_markers", !self.moved_markers.is_empty()),
        ];
        if method == Some(Method::Head)
            && let Some((key, _)) = markers.iter().find(|(_, set)| *set)
        {
            // A deletion notice is in the body, which HEAD never sees.
            return Err(within(format!(
                "method = \"head\" reads no page, and {key} needs one; leave method out (a rule with page markers is asked with GET) or set it to \"get\""
            )));
        }
        let fetch = fetch_rule(
            &self.rewrite,
            self.drop_query,
            &self.prefer,
            &self.referers,
            &self.placeholder_sha256,
            &self.placeholder_size,
            self.placeholder_probe.as_deref(),
        )
        .map_err(within)?;
        let batch = self
            .batch
            .map(|b| BatchRule::parse(&b.api, &b.endpoint, &b.id, b.size, b.reserved, b.token_env))
            .transpose()
            .map_err(within)?;
        Ok(SiteRule {
            name,
            hosts,
            kind: self.kind,
            min_interval,
            host_concurrency: self.host_concurrency,
            method,
            user_agent,
            headers,
            live_selector,
            gone_markers: self.gone_markers,
            gone_titles,
            gone_redirects: self.gone_redirects,
            blocked_markers: self.blocked_markers,
            blocked_redirects: self.blocked_redirects,
            blocked_status: self.blocked_status,
            expired_status: self.expired_status,
            moved_markers: self.moved_markers,
            moved_target,
            flags: self.flags,
            fetch,
            batch,
        })
    }
}

/// The fetch part of a site rule, validated.
fn fetch_rule(
    rewrite: &[(String, String)],
    drop_query: Vec<String>,
    prefer: &[(String, String)],
    referers: &[String],
    placeholder_sha256: &[String],
    placeholder_size: &[String],
    placeholder_probe: Option<&str>,
) -> Result<FetchRule, String> {
    let rewrites = |key: &str, list: &[(String, String)]| {
        list.iter()
            .map(|(p, r)| Rewrite::parse(p, r).map_err(|e| format!("{key}: {e}")))
            .collect::<Result<Vec<_>, _>>()
    };
    for hash in placeholder_sha256 {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "placeholder_sha256: `{hash}` is not a sha256 (64 hex digits)"
            ));
        }
    }
    let placeholder_probe = match placeholder_probe.map(Referer::parse) {
        None => None,
        Some(Ok(Referer::Url(url))) => Some(url),
        Some(Ok(Referer::None)) => {
            return Err("placeholder_probe: a foreign Referer URL is needed, not \"none\"".into());
        }
        Some(Err(e)) => return Err(format!("placeholder_probe: {e}")),
    };
    Ok(FetchRule {
        rewrite: rewrites("rewrite", rewrite)?,
        drop_query,
        prefer: rewrites("prefer", prefer)?,
        referers: referers
            .iter()
            .map(|r| Referer::parse(r).map_err(|e| format!("referers: {e}")))
            .collect::<Result<_, _>>()?,
        placeholder_sha256: placeholder_sha256
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        placeholder_size: placeholder_size
            .iter()
            .map(|s| parse_size(s).map_err(|e| format!("placeholder_size: {e}")))
            .collect::<Result<_, _>>()?,
        placeholder_probe,
    })
}

impl Partial {
    /// Lays `top` over `self`: what `top` sets wins; site rules merge by name.
    pub(super) fn overlay(mut self, top: Partial) -> Partial {
        macro_rules! take {
            ($($field:ident),* $(,)?) => { $( if top.$field.is_some() { self.$field = top.$field; } )* };
        }
        take!(
            base_url,
            root_dir,
            markdown_extensions,
            html_extensions,
            max_note_size,
            image,
            video,
            pdf,
            user_agent,
            browser_user_agent,
            timeout,
            deadline,
            retries,
            retry_delay,
            retry_delay_5xx,
            max_retry_after,
            max_concurrency,
            host_concurrency,
            min_interval,
            max_redirects,
            allow_private_redirects,
            body_prefix,
            ca_certs,
            connect_to,
            canary,
            fail_on,
            include,
            exclude,
            ignore_file,
            archive_dir,
            warc,
            public_url,
            max_age,
            state_path,
            fetch_kinds,
            max_object_size,
            wayback,
            wayback_api,
            wayback_capture,
            rewrite_kinds,
            gone_titles,
            login_titles,
            snapshot_lazy_src,
            snapshot_show,
            snapshot_drop,
        );
        for rule in top.sites {
            match self.sites.iter_mut().find(|r| r.name == rule.name) {
                Some(slot) => *slot = rule,
                None => self.sites.push(rule),
            }
        }
        self
    }
}
