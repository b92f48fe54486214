//! Configuration: file layers merged into resolved [`Settings`].
//!
//! Layers, lowest first: the shipped `config.toml` (compiled in), then one user file
//! (`--config FILE`, else `$ARCHIVER_CONFIG`, else `./archiver.toml` if present), then
//! `ARCHIVER_*` variables and flags, which the CLI hands over as [`Overrides`]. Each
//! file is parsed (unknown keys are errors) and validated on its own into a partial
//! layer, so every error names the file that holds the bad value; relative paths
//! resolve against that file's folder. Layers are then laid over one another: a key
//! set higher wins, and site rules merge by `name`. The core only ever sees
//! [`Settings`], where nothing is optional.

mod file;
pub mod values;

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Serialize, Serializer};
use url::Url;

use crate::classify::{Classifier, ExtensionKinds};
use crate::error::Error;
use crate::media::MediaKind;
use crate::net::settings::NetSettings;
use crate::sites::SiteRules;
use crate::snapshot::SnapshotRules;
use crate::units;
use crate::verdict::Verdict;
use file::{FileConfig, Partial};

/// The shipped configuration, the bottom layer.
pub const DEFAULT_CONFIG: &str = include_str!("../../config.toml");

/// The user file looked for in the current directory when none is named.
pub const LOCAL_CONFIG_NAME: &str = "archiver.toml";

/// Values from flags and `ARCHIVER_*` variables, the top layer. List values
/// (`connect_to`, `ca_certs`) add to the configured ones; the others replace them.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--base-url` / `ARCHIVER_BASE_URL`.
    pub base_url: Option<String>,
    /// `--root-dir` / `ARCHIVER_ROOT_DIR`, relative to the current directory.
    pub root_dir: Option<PathBuf>,
    /// `--timeout`.
    pub timeout: Option<String>,
    /// `--max-concurrency`.
    pub max_concurrency: Option<usize>,
    /// `--host-concurrency`.
    pub host_concurrency: Option<usize>,
    /// `--user-agent`.
    pub user_agent: Option<String>,
    /// `--connect-to`, repeated.
    pub connect_to: Vec<String>,
    /// `--ca-cert`, repeated.
    pub ca_certs: Vec<PathBuf>,
    /// `--canary` / `ARCHIVER_CANARY`: replaces `network.canary`.
    pub canary: Option<Vec<String>>,
    /// `--fail-on`.
    pub fail_on: Option<Vec<Verdict>>,
    /// `--include`, repeated.
    pub include: Vec<String>,
    /// `--exclude`, repeated.
    pub exclude: Vec<String>,
    /// `--archive DIR`, relative to the current directory.
    pub archive_dir: Option<PathBuf>,
    /// `--max-age`.
    pub max_age: Option<String>,
    /// `--state FILE`, relative to the current directory.
    pub state_path: Option<PathBuf>,
    /// `--kinds`.
    pub fetch_kinds: Option<Vec<MediaKind>>,
    /// `--max-object-size`.
    pub max_object_size: Option<String>,
    /// `--no-wayback`.
    pub no_wayback: bool,
    /// `fetch --warc`.
    pub warc: bool,
    /// `rewrite --kinds`.
    pub rewrite_kinds: Option<Vec<MediaKind>>,
}

/// Where the user layer comes from.
#[derive(Debug, Clone)]
pub enum UserConfig {
    /// No user file: only the shipped configuration (and overrides).
    None,
    /// This file, which must exist.
    File(PathBuf),
    /// `./archiver.toml` if it exists.
    Discover,
}

/// The resolved configuration every command runs on.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// How links are found and resolved.
    pub links: LinkSettings,
    /// How notes are read.
    pub input: InputSettings,
    /// Extension → kind fallbacks.
    pub kinds: ExtensionKinds,
    /// How the network is used.
    pub network: NetworkSettings,
    /// What `check` reports and fails on.
    pub check: CheckSettings,
    /// The archive.
    pub archive: ArchiveSettings,
    /// `fetch`.
    pub fetch: FetchSettings,
    /// `rewrite`.
    pub rewrite: RewriteSettings,
    /// The state database.
    pub state: StateSettings,
    /// How pages are read.
    pub pages: PageSettings,
    /// What an article's snapshot keeps and drops.
    pub snapshot: SnapshotRules,
    /// Site rules, merged by name.
    pub sites: SiteRules,
    /// The files that were merged, lowest first (not part of `config --show`'s TOML).
    #[serde(skip)]
    pub sources: Vec<String>,
}

/// `[input]`, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct InputSettings {
    /// The largest note read, in bytes; a larger one is skipped with a warning.
    #[serde(serialize_with = "size")]
    pub max_note_size: u64,
}

/// `[links]`, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct LinkSettings {
    /// Base for root-relative links; `None` makes them local paths under `root_dir`.
    #[serde(serialize_with = "url_or_empty")]
    pub base_url: Option<Url>,
    /// Folder root-relative links point into when there is no base URL.
    pub root_dir: PathBuf,
    /// Extensions (lowercase, no dot) of Markdown notes.
    pub markdown_extensions: Vec<String>,
    /// Extensions (lowercase, no dot) of HTML notes.
    pub html_extensions: Vec<String>,
}

/// `[network]`, resolved: the network layer's own settings, which it runs on
/// without reading the configuration.
pub type NetworkSettings = NetSettings;

/// `[check]`, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSettings {
    /// Verdicts that make `check` exit with 2.
    pub fail_on: Vec<Verdict>,
    /// When not empty, only URLs matching one of these are checked.
    #[serde(serialize_with = "patterns")]
    pub include: Vec<Regex>,
    /// URLs matching one of these are not checked (`excluded`).
    #[serde(serialize_with = "patterns")]
    pub exclude: Vec<Regex>,
    /// A file of URL patterns to exclude, one regular expression per line.
    pub ignore_file: PathBuf,
    /// A result younger than this is reused instead of asking again (failures
    /// never are); zero asks every time (`check.max_age`, `--max-age`).
    #[serde(serialize_with = "units::serialize_duration")]
    pub max_age: std::time::Duration,
}

/// `[pages]`, resolved: what a page says about itself, for hosts whose site
/// rule reads pages.
#[derive(Debug, Clone, Serialize)]
pub struct PageSettings {
    /// Titles or main headings of a not-found page (`soft-dead`); the site
    /// rules carry them too ([`SiteRules::gone_titles`]).
    pub gone_titles: Vec<String>,
    /// Titles of a sign-in page (`blocked`): the content needs an account.
    pub login_titles: Vec<String>,
}

/// Where `check` keeps its history.
#[derive(Debug, Clone, Serialize)]
pub struct StateSettings {
    /// The SQLite database (`state.path`, `--state`).
    pub path: PathBuf,
}

/// What `rewrite` points at the archive.
#[derive(Debug, Clone, Serialize)]
pub struct RewriteSettings {
    /// The kinds of links rewritten (`rewrite.kinds`, `--kinds`).
    pub kinds: Vec<MediaKind>,
}

/// Where the archive is.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveSettings {
    /// The archive folder (`archive.dir`, `--archive`).
    pub dir: PathBuf,
    /// Whether `fetch` records every exchange it archives as WARC
    /// (`archive.warc`, `fetch --warc`).
    pub warc: bool,
    /// Where an archive in a bucket is served, for `rewrite` to point notes
    /// at (`archive.public_url`): the object's key is joined to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// What `fetch` mirrors, and how much of it.
#[derive(Debug, Clone, Serialize)]
pub struct FetchSettings {
    /// The kinds of media fetched (`fetch.kinds`, `--kinds`).
    pub kinds: Vec<MediaKind>,
    /// The largest object archived, in bytes (after decompression).
    #[serde(serialize_with = "size")]
    pub max_object_size: u64,
    /// Whether a file gone at its source is looked for in the Wayback Machine.
    pub wayback: bool,
    /// The Wayback Machine's availability API.
    #[serde(serialize_with = "url_str")]
    pub wayback_api: Url,
    /// Where a capture's raw bytes are: `{timestamp}` and `{url}` filled in.
    pub wayback_capture: String,
}

fn url_str<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_str())
}

#[allow(clippy::trivially_copy_pass_by_ref)] // the signature `serialize_with` requires
fn size<S: Serializer>(bytes: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&units::format_size(*bytes))
}

#[allow(clippy::ref_option)] // the signature `serialize_with` requires
fn url_or_empty<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_ref().map_or("", Url::as_str))
}

fn patterns<S: Serializer>(list: &[Regex], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(Regex::as_str))
}

/// A file layer: where it came from and its validated values.
struct Layer {
    origin: String,
    partial: Partial,
}

impl Layer {
    fn parse(text: &str, origin: String, folder: &Path, path: &Path) -> Result<Self, Error> {
        let partial = FileConfig::parse(text, path)?.into_partial(&origin, folder)?;
        Ok(Self { origin, partial })
    }

    fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::parse(&text, path.display().to_string(), &folder, path)
    }
}

impl Overrides {
    fn into_partial(self) -> Result<Partial, Error> {
        let bad = |flag: &str, message: String| Error::config_value(flag, message);
        Ok(Partial {
            base_url: self
                .base_url
                .map(|v| values::base_url(&v).map_err(|e| bad("--base-url / ARCHIVER_BASE_URL", e)))
                .transpose()?,
            root_dir: self.root_dir,
            timeout: match self.timeout.map(|v| units::duration(&v)).transpose() {
                Ok(Some(d)) if d.is_zero() => {
                    return Err(bad("--timeout", "must be more than 0".into()));
                }
                Ok(d) => d,
                Err(e) => return Err(bad("--timeout", e)),
            },
            max_concurrency: match self.max_concurrency {
                Some(0) => return Err(bad("--max-concurrency", "must be at least 1".into())),
                v => v,
            },
            host_concurrency: match self.host_concurrency {
                Some(0) => return Err(bad("--host-concurrency", "must be at least 1".into())),
                v => v,
            },
            user_agent: self.user_agent,
            connect_to: (!self.connect_to.is_empty())
                .then(|| {
                    self.connect_to
                        .iter()
                        .map(|c| c.parse().map_err(|e| bad("--connect-to", e)))
                        .collect()
                })
                .transpose()?,
            ca_certs: (!self.ca_certs.is_empty()).then_some(self.ca_certs),
            canary: self
                .canary
                .map(|v| values::host_names("--canary / ARCHIVER_CANARY", &v))
                .transpose()
                .map_err(|e| bad("--canary / ARCHIVER_CANARY", e))?,
            fail_on: self.fail_on,
            include: (!self.include.is_empty())
                .then(|| values::regexes("--include", "--include", &self.include))
                .transpose()?,
            exclude: (!self.exclude.is_empty())
                .then(|| values::regexes("--exclude", "--exclude", &self.exclude))
                .transpose()?,
            archive_dir: self.archive_dir,
            max_age: self
                .max_age
                .map(|v| units::duration(&v).map_err(|e| bad("--max-age", e)))
                .transpose()?,
            state_path: self.state_path,
            fetch_kinds: self.fetch_kinds,
            max_object_size: self
                .max_object_size
                .map(|v| units::size(&v).map_err(|e| bad("--max-object-size", e)))
                .transpose()?,
            wayback: self.no_wayback.then_some(false),
            warc: self.warc.then_some(true),
            rewrite_kinds: self.rewrite_kinds,
            ..Partial::default()
        })
    }
}

impl Settings {
    /// The shipped configuration alone, with no user file and no overrides.
    ///
    /// # Errors
    /// Only if the shipped file is broken, which a unit test rules out.
    pub fn shipped() -> Result<Self, Error> {
        Self::load(&UserConfig::None, &Overrides::default())
    }

    /// Merges the shipped file, the user file and the overrides.
    ///
    /// # Errors
    /// [`Error::ConfigRead`] / [`Error::ConfigParse`] for an unreadable or malformed
    /// file, [`Error::ConfigValue`] for a value that cannot be used, each naming where
    /// it came from.
    pub fn load(user: &UserConfig, overrides: &Overrides) -> Result<Self, Error> {
        let mut layers = vec![Layer::parse(
            DEFAULT_CONFIG,
            "shipped config.toml".into(),
            Path::new("."),
            Path::new("config.toml (shipped)"),
        )?];
        match user {
            UserConfig::None => {}
            UserConfig::File(path) => layers.push(Layer::read(path)?),
            UserConfig::Discover => {
                let local = Path::new(LOCAL_CONFIG_NAME);
                if local.is_file() {
                    layers.push(Layer::read(local)?);
                }
            }
        }
        Self::resolve(layers, overrides.clone())
    }

    /// The layers, each over the one before, and the command line over them
    /// all; lists given on the command line add to the configured ones.
    fn merge(layers: Vec<Layer>, overrides: Overrides) -> Result<Partial, Error> {
        let mut top = overrides.into_partial()?;
        let mut merged = layers
            .into_iter()
            .map(|l| l.partial)
            .fold(Partial::default(), Partial::overlay);
        if let Some(extra) = top.connect_to.take() {
            merged.connect_to.get_or_insert_default().extend(extra);
        }
        if let Some(extra) = top.ca_certs.take() {
            merged.ca_certs.get_or_insert_default().extend(extra);
        }
        if let Some(extra) = top.include.take() {
            merged.include.get_or_insert_default().extend(extra);
        }
        if let Some(extra) = top.exclude.take() {
            merged.exclude.get_or_insert_default().extend(extra);
        }
        Ok(merged.overlay(top))
    }

    fn resolve(layers: Vec<Layer>, overrides: Overrides) -> Result<Self, Error> {
        let sources: Vec<String> = layers.iter().map(|l| l.origin.clone()).collect();
        let p = Self::merge(layers, overrides)?;

        // The shipped file sets every key (a unit test makes sure), so a missing
        // one is a broken build rather than a user's mistake; say which.
        let missing =
            |key: &str| Error::config_value("shipped config.toml", format!("`{key}` is not set"));
        macro_rules! get {
            ($field:ident, $key:literal) => {
                p.$field.ok_or_else(|| missing($key))?
            };
        }
        let pages = PageSettings {
            gone_titles: get!(gone_titles, "pages.gone_titles"),
            login_titles: get!(login_titles, "pages.login_titles"),
        };
        let sites =
            SiteRules::new(p.sites).with_page_titles(&pages.gone_titles, &pages.login_titles);
        Ok(Settings {
            links: LinkSettings {
                base_url: p.base_url.flatten(),
                root_dir: get!(root_dir, "links.root_dir"),
                markdown_extensions: get!(markdown_extensions, "links.markdown_extensions"),
                html_extensions: get!(html_extensions, "links.html_extensions"),
            },
            input: InputSettings {
                max_note_size: get!(max_note_size, "input.max_note_size"),
            },
            kinds: ExtensionKinds {
                image: get!(image, "kinds.image"),
                video: get!(video, "kinds.video"),
                pdf: get!(pdf, "kinds.pdf"),
            },
            network: NetworkSettings {
                user_agent: get!(user_agent, "network.user_agent"),
                browser_user_agent: get!(browser_user_agent, "network.browser_user_agent"),
                timeout: get!(timeout, "network.timeout"),
                deadline: get!(deadline, "network.deadline"),
                retries: get!(retries, "network.retries"),
                retry_delay: get!(retry_delay, "network.retry_delay"),
                retry_delay_5xx: get!(retry_delay_5xx, "network.retry_delay_5xx"),
                max_retry_after: get!(max_retry_after, "network.max_retry_after"),
                max_concurrency: get!(max_concurrency, "network.max_concurrency"),
                host_concurrency: get!(host_concurrency, "network.host_concurrency"),
                min_interval: get!(min_interval, "network.min_interval"),
                max_redirects: get!(max_redirects, "network.max_redirects"),
                allow_private_redirects: get!(
                    allow_private_redirects,
                    "network.allow_private_redirects"
                ),
                body_prefix: get!(body_prefix, "network.body_prefix"),
                ca_certs: p.ca_certs.unwrap_or_default(),
                connect_to: p.connect_to.unwrap_or_default(),
                canary: get!(canary, "network.canary"),
            },
            check: CheckSettings {
                fail_on: get!(fail_on, "check.fail_on"),
                include: p.include.unwrap_or_default(),
                exclude: p.exclude.unwrap_or_default(),
                ignore_file: get!(ignore_file, "check.ignore_file"),
                max_age: get!(max_age, "check.max_age"),
            },
            state: StateSettings {
                path: get!(state_path, "state.path"),
            },
            archive: ArchiveSettings {
                dir: get!(archive_dir, "archive.dir"),
                warc: get!(warc, "archive.warc"),
                public_url: p.public_url,
            },
            fetch: FetchSettings {
                kinds: get!(fetch_kinds, "fetch.kinds"),
                max_object_size: get!(max_object_size, "fetch.max_object_size"),
                wayback: get!(wayback, "fetch.wayback"),
                wayback_api: get!(wayback_api, "fetch.wayback_api"),
                wayback_capture: get!(wayback_capture, "fetch.wayback_capture"),
            },
            rewrite: RewriteSettings {
                kinds: get!(rewrite_kinds, "rewrite.kinds"),
            },
            pages,
            snapshot: SnapshotRules {
                lazy_src: get!(snapshot_lazy_src, "snapshot.lazy_src"),
                show: get!(snapshot_show, "snapshot.show"),
                drop: get!(snapshot_drop, "snapshot.drop"),
            },
            sites,
            sources,
        })
    }

    /// The effective configuration as TOML, for `archiver config --show`.
    ///
    /// # Errors
    /// Never in practice: every resolved value is representable in TOML.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// Whether a file extension (without the dot, any case) is a note, and which
    /// format it is read as.
    #[must_use]
    pub fn note_format(&self, ext: &str) -> Option<crate::link::Format> {
        let ext = ext.to_ascii_lowercase();
        if self.links.markdown_extensions.contains(&ext) {
            Some(crate::link::Format::Markdown)
        } else if self.links.html_extensions.contains(&ext) {
            Some(crate::link::Format::Html)
        } else {
            None
        }
    }
}

/// Classifying reads the site rules, the extension fallbacks and where
/// root-relative links lead.
impl<'s> From<&'s Settings> for Classifier<'s> {
    fn from(settings: &'s Settings) -> Self {
        Classifier::with_rules(
            &settings.sites,
            &settings.kinds,
            settings.links.base_url.as_ref(),
            &settings.links.root_dir,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::link::Kind;

    fn layer(text: &str, folder: &str) -> Layer {
        try_layer(text, folder).unwrap()
    }

    fn try_layer(text: &str, folder: &str) -> Result<Layer, Error> {
        Layer::parse(
            text,
            format!("{folder}/test.toml"),
            Path::new(folder),
            Path::new("test.toml"),
        )
    }

    fn shipped() -> Layer {
        layer(DEFAULT_CONFIG, ".")
    }

    fn kind_for(settings: &Settings, host: &str) -> Option<Kind> {
        settings.sites.lookup(host).and_then(|r| r.kind)
    }

    #[test]
    fn shipped_config_parses_and_gets_the_corpus_hosts_right() {
        let s = Settings::shipped().unwrap();
        let expect = [
            ("mp.weixin.qq.com", Kind::Article),
            ("blog.csdn.net", Kind::Article),
            ("zhuanlan.zhihu.com", Kind::Article),
            ("www.zhihu.com", Kind::Article),
            ("mmbiz.qpic.cn", Kind::Image),
            ("img-blog.csdnimg.cn", Kind::Image),
            ("mpvideo.qpic.cn", Kind::Video),
            ("arxiv.org", Kind::Paper),
            ("export.arxiv.org", Kind::Paper),
            ("openreview.net", Kind::Paper),
            ("openaccess.thecvf.com", Kind::Paper),
            ("ieeexplore.ieee.org", Kind::Paper),
            ("aclanthology.org", Kind::Paper),
            ("www.aclweb.org", Kind::Paper),
            ("doi.org", Kind::Paper),
            ("github.com", Kind::Code),
            ("gitlab.com", Kind::Code),
            ("gitee.com", Kind::Code),
        ];
        for (host, kind) in expect {
            assert_eq!(kind_for(&s, host), Some(kind), "{host}");
        }
        assert_eq!(kind_for(&s, "zju3dv.github.io"), None);
        assert_eq!(s.kinds.kind_of("pdf"), Some(Kind::Pdf));
        assert_eq!(s.kinds.kind_of("png"), Some(Kind::Image));
        assert_eq!(s.kinds.kind_of("mp4"), Some(Kind::Video));
        assert!(s.links.base_url.is_none());
        assert_eq!(s.note_format("TXT"), Some(crate::extract::Format::Markdown));
        assert_eq!(s.note_format("htm"), Some(crate::extract::Format::Html));
        assert_eq!(s.note_format("rs"), None);
    }

    #[test]
    fn shipped_intervals_keep_under_the_hosts_limits() {
        // mp.weixin.qq.com answers more than about 5 requests a second with a
        // verification page, arxiv.org more than 4 a second with 429: the shipped
        // rules must start fewer than that, whatever the concurrency.
        let s = Settings::shipped().unwrap();
        for (host, limit_per_second) in [
            ("mp.weixin.qq.com", 5.0),
            ("arxiv.org", 4.0),
            ("export.arxiv.org", 4.0),
        ] {
            let rule = s.sites.lookup(host).unwrap();
            let interval = rule.min_interval.unwrap().as_secs_f64();
            assert!(
                1.0 / interval < limit_per_second,
                "{host}: {interval}s apart"
            );
        }
        let wechat = s.sites.lookup("mp.weixin.qq.com").unwrap();
        assert!(
            wechat
                .moved_target
                .as_ref()
                .unwrap()
                .is_match("var transferTargetLink = 'https://mp.weixin.qq.com/s/x';")
        );
    }

    #[test]
    fn shipped_fetch_rules_ask_for_the_real_files() {
        let s = Settings::shipped().unwrap();
        let fetch_of = |url: &str| {
            let url = Url::parse(url).unwrap();
            let rule = &s.sites.lookup(url.host_str().unwrap()).unwrap().fetch;
            let target = rule.target(&url);
            let tries: Vec<String> = rule
                .candidates(&target)
                .iter()
                .map(ToString::to_string)
                .collect();
            (target.to_string(), tries)
        };
        let (_, tries) = fetch_of(
            "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&tp=webp&wxfrom=5&wx_lazy=1&wx_co=1",
        );
        assert_eq!(
            tries,
            [
                "https://mmbiz.qpic.cn/mmbiz_png/abc/0?wx_fmt=png&wxfrom=5&wx_lazy=1&wx_co=1",
                "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&wxfrom=5&wx_lazy=1&wx_co=1",
            ]
        );
        let (_, tries) = fetch_of("https://mmbiz.qpic.cn/sz_mmbiz_jpg/x/640");
        assert_eq!(
            tries,
            [
                "https://mmbiz.qpic.cn/sz_mmbiz_jpg/x/0",
                "https://mmbiz.qpic.cn/sz_mmbiz_jpg/x/640"
            ]
        );
        // Already the original: asked as written, once.
        let (_, tries) = fetch_of("https://mmbiz.qpic.cn/mmbiz_jpg/x/0?wx_fmt=jpeg");
        assert_eq!(tries, ["https://mmbiz.qpic.cn/mmbiz_jpg/x/0?wx_fmt=jpeg"]);
        for (from, to) in [
            (
                "https://arxiv.org/abs/2207.02696v2",
                "https://arxiv.org/pdf/2207.02696v2",
            ),
            (
                "http://arxiv.org/abs/quant-ph/0112019",
                "https://arxiv.org/pdf/quant-ph/0112019",
            ),
            (
                "https://arxiv.org/abs/2207.02696/",
                "https://arxiv.org/pdf/2207.02696",
            ),
            (
                "https://export.arxiv.org/abs/1706.03762",
                "https://arxiv.org/pdf/1706.03762",
            ),
            (
                "https://github.com/o/r/blob/main/docs/a.png",
                "https://github.com/o/r/raw/main/docs/a.png",
            ),
            (
                "https://github.com/o/r/tree/main/docs",
                "https://github.com/o/r/tree/main/docs",
            ),
        ] {
            assert_eq!(fetch_of(from).0, to, "{from}");
        }
        let wechat = &s.sites.lookup("mmbiz.qpic.cn").unwrap().fetch;
        assert_eq!(
            wechat.referer_policies()[0],
            crate::sites::fetch::Referer::None
        );
        assert!(wechat.placeholder_size.contains(&(470, 349)));
        assert!(wechat.placeholder_probe.is_some());
    }

    #[test]
    fn user_rules_replace_by_name_and_add_new_names() {
        let user = layer(
            r#"
            [[sites]]
            name = "github"
            hosts = ["github.com"]
            kind = "page"

            [[sites]]
            name = "my-wiki"
            hosts = ["wiki.example.org"]
            kind = "article"
            "#,
            ".",
        );
        let s = Settings::resolve(vec![shipped(), user], Overrides::default()).unwrap();
        assert_eq!(kind_for(&s, "github.com"), Some(Kind::Page));
        // The replaced rule lost its other hosts: replacing means replacing.
        assert_eq!(kind_for(&s, "gist.github.com"), None);
        assert_eq!(kind_for(&s, "wiki.example.org"), Some(Kind::Article));
        assert_eq!(kind_for(&s, "arxiv.org"), Some(Kind::Paper));
        let names: Vec<_> = s.sites.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names.iter().filter(|n| **n == "github").count(), 1);
    }

    #[test]
    fn keys_in_a_higher_layer_replace_lower_ones() {
        let user = layer(
            "[links]\nbase_url = \"https://notes.example.org/\"\n[kinds]\npdf = [\".PDF\", \"djvu\"]\n",
            ".",
        );
        let s = Settings::resolve(vec![shipped(), user], Overrides::default()).unwrap();
        assert_eq!(
            s.links.base_url.unwrap().as_str(),
            "https://notes.example.org/"
        );
        assert_eq!(s.kinds.pdf, ["pdf", "djvu"]);
        // Untouched keys keep the shipped values.
        assert!(s.kinds.image.contains(&"png".to_owned()));
    }

    #[test]
    fn relative_paths_resolve_against_the_file_that_set_them() {
        let user = layer("[links]\nroot_dir = \"site\"\n", "/etc/notes");
        let s = Settings::resolve(vec![shipped(), user], Overrides::default()).unwrap();
        assert_eq!(s.links.root_dir, Path::new("/etc/notes/site"));
    }

    #[test]
    fn overrides_beat_files_and_lists_add_up() {
        let user = layer(
            "[links]\nbase_url = \"https://a.example/\"\n[network]\nconnect_to = [\"a.org:443=127.0.0.1:1\"]\n",
            ".",
        );
        let overrides = Overrides {
            base_url: Some("https://b.example/".into()),
            root_dir: Some("elsewhere".into()),
            timeout: Some("5".into()),
            connect_to: vec!["b.org:443=127.0.0.1:2".into()],
            ..Overrides::default()
        };
        let s = Settings::resolve(vec![shipped(), user], overrides).unwrap();
        assert_eq!(s.links.base_url.unwrap().as_str(), "https://b.example/");
        assert_eq!(s.links.root_dir, Path::new("elsewhere"));
        assert_eq!(s.network.timeout, Duration::from_secs(5));
        let rules: Vec<String> = s
            .network
            .connect_to
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(rules, ["a.org:443=127.0.0.1:1", "b.org:443=127.0.0.1:2"]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_origin() {
        let msg = try_layer("[links]\nbase_ulr = \"x\"\n", ".")
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("test.toml") && msg.contains("base_ulr"),
            "{msg}"
        );
        for (text, needle) in [
            ("[links]\nbase_url = \"not a url\"\n", "not a url"),
            (
                "[[sites]]\nname = \"x\"\nhosts = [\"a b\"]\n",
                "site rule `x`",
            ),
            (
                "[[sites]]\nname = \"x\"\nhosts = [\"a.b\"]\nkind = \"local\"\n",
                "kind `local`",
            ),
            ("[network]\ntimeout = \"soon\"\n", "network.timeout"),
            (
                "[network]\nconnect_to = [\"a.org\"]\n",
                "HOST:PORT=ADDR:PORT",
            ),
            ("[network]\nmax_concurrency = 0\n", "at least 1"),
            ("[check]\nfail_on = [\"gone\"]\n", "unknown verdict"),
            ("[check]\nexclude = [\"(\"]\n", "not a regular expression"),
            ("[[sites]]\nname = \"x\"\nmethod = \"post\"\n", "method"),
            (
                "[[sites]]\nname = \"x\"\nmethod = \"head\"\ngone_markers = [\"gone\"]\n",
                "reads no page, and gone_markers needs one",
            ),
            (
                "[[sites]]\nname = \"x\"\nmethod = \"head\"\ngone_titles = [\"404\"]\n",
                "gone_titles needs one",
            ),
            ("[pages]\ngone_titles = [\" - \"]\n", "pages.gone_titles"),
            (
                "[[sites]]\nname = \"x\"\ngone_titles = [\"\"]\n",
                "site rule `x`: gone_titles",
            ),
            (
                "[fetch]\nwayback_capture = \"https://w.example/{url}\"\n",
                "{timestamp}",
            ),
            ("[fetch]\nwayback_api = \"ftp://x\"\n", "fetch.wayback_api"),
            (
                "[fetch]\nmax_object_size = \"lots\"\n",
                "fetch.max_object_size",
            ),
            ("[fetch]\nkinds = [\"audio\"]\n", "fetch.kinds"),
            (
                "[[sites]]\nname = \"x\"\nplaceholder_size = [\"big\"]\n",
                "WIDTHxHEIGHT",
            ),
            (
                "[[sites]]\nname = \"x\"\nrewrite = [[\"(\", \"y\"]]\n",
                "rewrite",
            ),
            (
                "[[sites]]\nname = \"x\"\nreferers = [\"nobody\"]\n",
                "referers",
            ),
        ] {
            let msg = try_layer(text, "/cfg").err().unwrap().to_string();
            assert!(
                msg.contains("/cfg/test.toml") && msg.contains(needle),
                "{text}: {msg}"
            );
        }
    }

    #[test]
    fn effective_configuration_round_trips_as_toml() {
        let s = Settings::shipped().unwrap();
        let text = s.to_toml().unwrap();
        let again = Settings::resolve(vec![layer(&text, ".")], Overrides::default()).unwrap();
        assert_eq!(again.to_toml().unwrap(), text);
    }
}
