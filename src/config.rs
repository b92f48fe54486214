//! Configuration: file layers merged into resolved [`Settings`].
//!
//! Layers, lowest first: the shipped `config.toml` (compiled in), then one user file
//! (`--config FILE`, else `$ARCHIVER_CONFIG`, else `./archiver.toml` if present), then
//! `ARCHIVER_*` variables and flags, which the CLI hands over as [`Overrides`]. File
//! layers are [`FileConfig`]s, where every key is optional and unknown keys are
//! errors; a key set in a higher layer replaces the lower one, and site rules merge
//! by `name`. Relative paths resolve against the folder of the file that set them.
//! The core only ever sees [`Settings`], where nothing is optional.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use crate::error::Error;
use crate::link::Kind;
use crate::sites::{HostPattern, SiteRule, SiteRules};

/// The shipped configuration, the bottom layer.
pub const DEFAULT_CONFIG: &str = include_str!("../config.toml");

/// The user file looked for in the current directory when none is named.
pub const LOCAL_CONFIG_NAME: &str = "archiver.toml";

/// One configuration file as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    links: Option<LinksFile>,
    kinds: Option<KindsFile>,
    sites: Option<Vec<SiteFile>>,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    name: String,
    #[serde(default)]
    hosts: Vec<String>,
    kind: Option<Kind>,
}

/// Values from flags and `ARCHIVER_*` variables, the top layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--base-url` / `ARCHIVER_BASE_URL`.
    pub base_url: Option<String>,
    /// `--root-dir` / `ARCHIVER_ROOT_DIR`, relative to the current directory.
    pub root_dir: Option<PathBuf>,
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
    /// Extension → kind fallbacks.
    pub kinds: ExtensionKinds,
    /// Site rules, merged by name.
    pub sites: SiteRules,
    /// The files that were merged, lowest first (not part of `config --show`'s TOML).
    #[serde(skip)]
    pub sources: Vec<String>,
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

/// `[kinds]`, resolved: lowercase extensions, no dots.
#[derive(Debug, Clone, Serialize)]
pub struct ExtensionKinds {
    /// Extensions that make a web link an image.
    pub image: Vec<String>,
    /// Extensions that make a web link a video.
    pub video: Vec<String>,
    /// Extensions that make a web link a PDF.
    pub pdf: Vec<String>,
}

impl ExtensionKinds {
    /// The kind an extension (lowercase, no dot) decides, if any.
    #[must_use]
    pub fn kind_of(&self, ext: &str) -> Option<Kind> {
        let has = |list: &[String]| list.iter().any(|e| e == ext);
        if has(&self.pdf) {
            Some(Kind::Pdf)
        } else if has(&self.image) {
            Some(Kind::Image)
        } else if has(&self.video) {
            Some(Kind::Video)
        } else {
            None
        }
    }
}

#[allow(clippy::ref_option)] // the signature `serialize_with` requires
fn url_or_empty<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_ref().map_or("", Url::as_str))
}

/// A parsed file layer and the folder its relative paths are relative to.
struct Layer {
    origin: String,
    folder: PathBuf,
    file: FileConfig,
}

impl Layer {
    fn parse(text: &str, origin: String, folder: PathBuf, path: &Path) -> Result<Self, Error> {
        let file = toml::from_str(text).map_err(|e| Error::ConfigParse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Ok(Self {
            origin,
            folder,
            file,
        })
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
        Self::parse(&text, path.display().to_string(), folder, path)
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
            PathBuf::from("."),
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
        Self::resolve(&layers, overrides)
    }

    fn resolve(layers: &[Layer], overrides: &Overrides) -> Result<Self, Error> {
        // The last layer that sets a key wins; remember which one, for messages and
        // for resolving relative paths.
        let mut base_url: Option<(&str, &Layer)> = None;
        let mut root_dir: Option<(&Path, &Layer)> = None;
        let mut markdown_extensions = None;
        let mut html_extensions = None;
        let (mut image, mut video, mut pdf) = (None, None, None);
        let mut sites: Vec<(SiteFile, &Layer)> = Vec::new();

        for layer in layers {
            if let Some(links) = &layer.file.links {
                if let Some(v) = &links.base_url {
                    base_url = Some((v, layer));
                }
                if let Some(v) = &links.root_dir {
                    root_dir = Some((v, layer));
                }
                markdown_extensions = links.markdown_extensions.clone().or(markdown_extensions);
                html_extensions = links.html_extensions.clone().or(html_extensions);
            }
            if let Some(kinds) = &layer.file.kinds {
                image = kinds.image.clone().or(image);
                video = kinds.video.clone().or(video);
                pdf = kinds.pdf.clone().or(pdf);
            }
            for site in layer.file.sites.iter().flatten() {
                match sites.iter_mut().find(|(s, _)| s.name == site.name) {
                    Some(slot) => *slot = (site.clone(), layer),
                    None => sites.push((site.clone(), layer)),
                }
            }
        }

        let base_url = match (&overrides.base_url, base_url) {
            (Some(v), _) => parse_base_url(v, "--base-url / ARCHIVER_BASE_URL")?,
            (None, Some((v, layer))) => parse_base_url(v, &layer.origin)?,
            (None, None) => None,
        };
        let root_dir = match (&overrides.root_dir, root_dir) {
            (Some(v), _) => v.clone(),
            (None, Some((v, layer))) => relative_to(&layer.folder, v),
            (None, None) => PathBuf::from("."),
        };

        let links = LinkSettings {
            base_url,
            root_dir,
            markdown_extensions: extensions(markdown_extensions),
            html_extensions: extensions(html_extensions),
        };
        let kinds = ExtensionKinds {
            image: extensions(image),
            video: extensions(video),
            pdf: extensions(pdf),
        };
        let sites = sites
            .into_iter()
            .map(|(site, layer)| resolve_site(site, &layer.origin))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Settings {
            links,
            kinds,
            sites: SiteRules::new(sites),
            sources: layers.iter().map(|l| l.origin.clone()).collect(),
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
    pub fn note_format(&self, ext: &str) -> Option<crate::extract::Format> {
        let ext = ext.to_ascii_lowercase();
        if self.links.markdown_extensions.contains(&ext) {
            Some(crate::extract::Format::Markdown)
        } else if self.links.html_extensions.contains(&ext) {
            Some(crate::extract::Format::Html)
        } else {
            None
        }
    }
}

fn parse_base_url(value: &str, origin: &str) -> Result<Option<Url>, Error> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let invalid = |message: String| Error::ConfigValue {
        origin: origin.to_owned(),
        message,
    };
    let url = Url::parse(value.trim()).map_err(|e| {
        invalid(format!(
            "base_url `{value}` is not an absolute URL ({e}); write it like \"https://example.org/\""
        ))
    })?;
    if url.cannot_be_a_base() {
        return Err(invalid(format!(
            "base_url `{value}` cannot have paths joined to it; write it like \"https://example.org/\""
        )));
    }
    Ok(Some(url))
}

fn relative_to(folder: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || folder == Path::new(".") {
        path.to_path_buf()
    } else {
        folder.join(path)
    }
}

/// Lowercase, without leading dots, deduplicated, in the order given.
fn extensions(list: Option<Vec<String>>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    list.unwrap_or_default()
        .into_iter()
        .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|e| !e.is_empty() && seen.insert(e.clone()))
        .collect()
}

fn resolve_site(site: SiteFile, origin: &str) -> Result<SiteRule, Error> {
    let invalid = |message: String| Error::ConfigValue {
        origin: origin.to_owned(),
        message,
    };
    if site.name.trim().is_empty() {
        return Err(invalid("a [[sites]] rule has an empty name".into()));
    }
    let hosts = site
        .hosts
        .iter()
        .map(|h| HostPattern::parse(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("site rule `{}`: {e}", site.name)))?;
    if let Some(kind) = site.kind
        && matches!(kind, Kind::Local | Kind::Mail | Kind::Invalid | Kind::Other)
    {
        return Err(invalid(format!(
            "site rule `{}`: kind `{kind}` describes no web link; use article, paper, pdf, code, image, video or page",
            site.name
        )));
    }
    Ok(SiteRule {
        name: site.name,
        hosts,
        kind: site.kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(text: &str, folder: &str) -> Layer {
        Layer::parse(
            text,
            format!("{folder}/test.toml"),
            PathBuf::from(folder),
            Path::new("test.toml"),
        )
        .unwrap()
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
        let s = Settings::resolve(&[shipped(), user], &Overrides::default()).unwrap();
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
        let s = Settings::resolve(&[shipped(), user], &Overrides::default()).unwrap();
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
        let s = Settings::resolve(&[shipped(), user], &Overrides::default()).unwrap();
        assert_eq!(s.links.root_dir, Path::new("/etc/notes/site"));
    }

    #[test]
    fn overrides_beat_files() {
        let user = layer("[links]\nbase_url = \"https://a.example/\"\n", ".");
        let overrides = Overrides {
            base_url: Some("https://b.example/".into()),
            root_dir: Some("elsewhere".into()),
        };
        let s = Settings::resolve(&[shipped(), user], &overrides).unwrap();
        assert_eq!(s.links.base_url.unwrap().as_str(), "https://b.example/");
        assert_eq!(s.links.root_dir, Path::new("elsewhere"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_origin() {
        let err = Layer::parse(
            "[links]\nbase_ulr = \"x\"\n",
            "u.toml".into(),
            ".".into(),
            Path::new("u.toml"),
        )
        .err()
        .unwrap();
        let msg = err.to_string();
        assert!(msg.contains("u.toml") && msg.contains("base_ulr"), "{msg}");

        let user = layer("[links]\nbase_url = \"not a url\"\n", "/cfg");
        let msg = Settings::resolve(&[shipped(), user], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("/cfg/test.toml") && msg.contains("not a url"),
            "{msg}"
        );

        let user = layer("[[sites]]\nname = \"x\"\nhosts = [\"a b\"]\n", ".");
        let msg = Settings::resolve(&[shipped(), user], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("site rule `x`"), "{msg}");

        let user = layer(
            "[[sites]]\nname = \"x\"\nhosts = [\"a.b\"]\nkind = \"local\"\n",
            ".",
        );
        assert!(Settings::resolve(&[shipped(), user], &Overrides::default()).is_err());
    }

    #[test]
    fn effective_configuration_round_trips_as_toml() {
        let s = Settings::shipped().unwrap();
        let text = s.to_toml().unwrap();
        let reparsed: FileConfig = toml::from_str(&text).unwrap();
        let again = Settings::resolve(
            &[Layer {
                origin: "show".into(),
                folder: ".".into(),
                file: reparsed,
            }],
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(again.to_toml().unwrap(), text);
    }
}
