//! Resolving a URL as written to its target, and deciding its kind.
//!
//! Precedence for web links: the element decides first (an `<img>` is an image
//! wherever it points), then site rules, then the extension rules, else `page`.
//! Before that, the target's location decides the kinds that are not web links:
//! `mail` (`mailto:` and email autolinks), `local` (relative paths, resolved against
//! the note's folder), `other` (schemes the tool does not follow) and `invalid`
//! (with the reason). Web URLs are parsed the WHATWG way (the `url` crate), which
//! lowercases the host and drops a default port: that is the normalized URL that
//! `--unique` and the checker use.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use url::Url;

use crate::link::Kind;
use crate::sites::SiteRules;

/// Where a note lives, for resolving its relative links.
#[derive(Debug, Clone)]
pub struct NoteContext {
    /// The note itself, which `#fragment` links point into.
    pub file: PathBuf,
    /// The folder relative links resolve against (the note's folder; `.` for stdin).
    pub folder: PathBuf,
}

impl NoteContext {
    /// The context of a note at `file` (as displayed; `-` for standard input).
    #[must_use]
    pub fn for_file(file: &Path) -> Self {
        let folder = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() && file != Path::new("-") => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self {
            file: file.to_path_buf(),
            folder,
        }
    }
}

/// A resolved target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Absolute URL, or local path (with `#fragment` when the link has one).
    pub url: String,
    /// What it points at.
    pub kind: Kind,
    /// Why it is invalid.
    pub reason: Option<String>,
    /// A likely fix.
    pub hint: Option<String>,
    /// `url`, parsed, for a web (`http`, `https`) target: what is asked of the
    /// network, so the checker need not parse it again.
    pub parsed: Option<Url>,
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

/// Resolves and classifies links under one configuration: the part of it
/// classifying reads, borrowed. The configuration's `Settings` turn into one
/// (`Classifier::new(&settings)`), so this layer needs nothing from config.
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'s> {
    /// Site rules, which may give a host's links a kind.
    sites: &'s SiteRules,
    /// The extension fallbacks.
    kinds: &'s ExtensionKinds,
    /// Base for root-relative links; `None` makes them local paths under `root_dir`.
    base_url: Option<&'s Url>,
    /// Folder root-relative links point into when there is no base URL.
    root_dir: &'s Path,
}

impl<'s> Classifier<'s> {
    /// A classifier for `settings` (the configuration's resolved settings, or
    /// anything else that becomes one).
    #[must_use]
    pub fn new(settings: impl Into<Self>) -> Self {
        settings.into()
    }

    /// A classifier with these rules: site rules, extension fallbacks, and where
    /// root-relative links lead (`base_url` when set, else under `root_dir`).
    #[must_use]
    pub fn with_rules(
        sites: &'s SiteRules,
        kinds: &'s ExtensionKinds,
        base_url: Option<&'s Url>,
        root_dir: &'s Path,
    ) -> Self {
        Self {
            sites,
            kinds,
            base_url,
            root_dir,
        }
    }

    /// Resolves `target` (the URL as a renderer reads it: escapes and entities
    /// already decoded) found in a note at `note`. `element_kind` is the kind the
    /// element imposes (an `<img>` is an image), if any.
    #[must_use]
    pub fn resolve(self, target: &str, note: &NoteContext, element_kind: Option<Kind>) -> Resolved {
        // Browsers strip leading and trailing ASCII whitespace from URLs, and tabs
        // and line breaks anywhere in them.
        let target = target.trim_matches(|c: char| c.is_ascii_whitespace());
        let cleaned;
        let target = if target.contains(['\t', '\n', '\r']) {
            cleaned = target.replace(['\t', '\n', '\r'], "");
            cleaned.as_str()
        } else {
            target
        };
        if target.is_empty() {
            return invalid(target, "empty URL: the link points nowhere".into());
        }
        let parsed = if let Some(rest) = target.strip_prefix("//") {
            // Protocol-relative: notes are read outside any page, so assume HTTPS.
            Url::parse(&format!("https://{rest}"))
        } else {
            Url::parse(target)
        };
        match parsed {
            Ok(url) => self.absolute(url, element_kind),
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                self.relative(target, note, element_kind)
            }
            Err(e) => invalid(target, format!("{e}")),
        }
    }

    fn absolute(self, url: Url, element_kind: Option<Kind>) -> Resolved {
        let kind = match url.scheme() {
            "http" | "https" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return invalid(url.as_str(), "the URL has no host".into());
                }
                element_kind
                    .or_else(|| self.site_kind(&url))
                    .or_else(|| self.extension_kind(&url))
                    .unwrap_or(Kind::Page)
            }
            "mailto" => Kind::Mail,
            "file" => {
                return match url.to_file_path() {
                    Ok(path) => local(path.to_string_lossy().into_owned(), url.fragment()),
                    Err(()) => invalid(url.as_str(), "a file: URL that names no local path".into()),
                };
            }
            _ => Kind::Other,
        };
        let (serialized, parsed) = if matches!(url.scheme(), "http" | "https") {
            (url.as_str().to_owned(), Some(url))
        } else {
            (url.into(), None)
        };
        Resolved {
            url: serialized,
            kind,
            reason: None,
            hint: None,
            parsed,
        }
    }

    fn site_kind(self, url: &Url) -> Option<Kind> {
        self.sites
            .lookup(url.host_str()?)
            .and_then(|rule| rule.kind)
    }

    fn extension_kind(self, url: &Url) -> Option<Kind> {
        let last = url.path_segments()?.next_back()?;
        let (_, ext) = last.rsplit_once('.')?;
        self.kinds.kind_of(&ext.to_ascii_lowercase())
    }

    fn relative(self, target: &str, note: &NoteContext, element_kind: Option<Kind>) -> Resolved {
        if target.starts_with('/')
            && let Some(base) = self.base_url
        {
            return match base.join(target) {
                Ok(url) => self.absolute(url, element_kind),
                Err(e) => invalid(target, format!("{e}")),
            };
        }
        let (before_fragment, fragment) = match target.split_once('#') {
            Some((path, fragment)) => (path, Some(fragment)),
            None => (target, None),
        };
        let path_part = before_fragment
            .split_once('?')
            .map_or(before_fragment, |(p, _)| p);
        let decoded = percent_encoding::percent_decode_str(path_part).decode_utf8_lossy();
        let path = if decoded.is_empty() {
            // `#section` or `?x`: the note itself.
            note.file.clone()
        } else if let Some(rooted) = decoded.strip_prefix('/') {
            self.root_dir.join(rooted)
        } else {
            note.folder.join(decoded.as_ref())
        };
        let mut resolved = local(display(&normalize(&path)), fragment);
        resolved.hint = scheme_hint(path_part, &path);
        resolved
    }
}

fn invalid(target: &str, reason: String) -> Resolved {
    Resolved {
        url: target.to_owned(),
        kind: Kind::Invalid,
        reason: Some(reason),
        hint: None,
        parsed: None,
    }
}

fn local(path: String, fragment: Option<&str>) -> Resolved {
    let url = match fragment {
        Some(f) => format!("{path}#{f}"),
        None => path,
    };
    Resolved {
        url,
        kind: Kind::Local,
        reason: None,
        hint: None,
        parsed: None,
    }
}

/// Removes `.` components and folds `..` into the folder before it, without touching
/// the file system (the target may not exist; that is for `check` to say).
#[must_use]
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// A path as reports print it: forward slashes on every platform.
#[must_use]
pub fn display(path: &Path) -> String {
    let s = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Endings that make `x.y/...` a file name rather than a host written without its
/// scheme.
const FILE_ENDINGS: &[&str] = &[
    "md", "markdown", "txt", "html", "htm", "png", "jpg", "jpeg", "gif", "svg", "webp", "pdf",
    "json", "toml", "yaml", "yml", "csv", "py", "rs", "js", "ts", "c", "h", "cpp", "sh", "zip",
    "gz", "tar", "mp4", "ipynb",
];

/// For a relative link that looks like a web or mail address missing its scheme
/// (`arxiv.org/abs/2111.08687`, `name@host.edu.cn`), the likely intended link. Not
/// offered when the local path exists.
fn scheme_hint(written: &str, resolved: &Path) -> Option<String> {
    let first = written.split('/').next().unwrap_or_default();
    let looks_like_mail = !written.contains('/')
        && first.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && !domain.contains('@') && looks_like_domain(domain)
        });
    let looks_like_host = (written.contains('/') || first.starts_with("www."))
        && looks_like_domain(first)
        && first
            .rsplit('.')
            .next()
            .is_some_and(|tld| !FILE_ENDINGS.contains(&tld.to_ascii_lowercase().as_str()));
    if !(looks_like_mail || looks_like_host) || resolved.exists() {
        return None;
    }
    Some(if looks_like_mail {
        format!(
            "looks like an email address written without `mailto:`: did you mean mailto:{written}?"
        )
    } else {
        format!(
            "looks like a web address written without its scheme: did you mean https://{written}?"
        )
    })
}

/// `label.label…tld` with a purely alphabetic top-level label of two or more letters.
fn looks_like_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, Settings, UserConfig};

    fn settings() -> Settings {
        Settings::shipped().unwrap()
    }

    fn resolve_in(settings: &Settings, target: &str, element: Option<Kind>) -> Resolved {
        let note = NoteContext::for_file(Path::new("notes/202104/0424.md"));
        Classifier::new(settings).resolve(target, &note, element)
    }

    fn resolve(target: &str, element: Option<Kind>) -> Resolved {
        resolve_in(&settings(), target, element)
    }

    fn kind(target: &str) -> Kind {
        resolve(target, None).kind
    }

    #[test]
    fn the_element_decides_first() {
        let r = resolve("https://github.com/o/r/raw/master/a.png", Some(Kind::Image));
        assert_eq!(r.kind, Kind::Image);
        assert_eq!(
            resolve("https://mp.weixin.qq.com/s/x", Some(Kind::Image)).kind,
            Kind::Image
        );
    }

    #[test]
    fn host_rules_come_before_extensions() {
        assert_eq!(kind("https://arxiv.org/pdf/2207.02696.pdf"), Kind::Paper);
        assert_eq!(kind("https://github.com/o/r/raw/master/a.png"), Kind::Code);
        assert_eq!(
            kind("https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png"),
            Kind::Image
        );
        assert_eq!(kind("https://MP.WEIXIN.QQ.COM/s/abc"), Kind::Article);
    }

    #[test]
    fn extensions_decide_when_nothing_else_does() {
        assert_eq!(kind("https://example.org/papers/x.PDF"), Kind::Pdf);
        assert_eq!(kind("https://example.org/a/b.jpeg?w=3"), Kind::Image);
        assert_eq!(kind("http://example.org/clip.mp4#t=3"), Kind::Video);
        assert_eq!(kind("https://zju3dv.github.io/neuralbody/"), Kind::Page);
        assert_eq!(kind("https://example.org"), Kind::Page);
    }

    #[test]
    fn urls_are_normalized_the_whatwg_way() {
        let r = resolve("HTTPS://Example.ORG:443/a/../b?q=1#Frag", None);
        assert_eq!(r.url, "https://example.org/b?q=1#Frag");
        assert_eq!(
            resolve("//cdn.example.org/x.png", None).url,
            "https://cdn.example.org/x.png"
        );
    }

    #[test]
    fn relative_links_are_local_paths_from_the_note_folder() {
        let r = resolve("./images/1.gif", Some(Kind::Image));
        assert_eq!(
            (r.kind, r.url.as_str()),
            (Kind::Local, "notes/202104/images/1.gif")
        );
        assert_eq!(
            resolve("../202105/0509.md#top", None).url,
            "notes/202105/0509.md#top"
        );
        assert_eq!(resolve("my%20file.md", None).url, "notes/202104/my file.md");
        assert_eq!(resolve("x\ny.md", None).url, "notes/202104/xy.md");
        assert_eq!(
            resolve("#section", None).url,
            "notes/202104/0424.md#section"
        );
        assert!(resolve("./images/1.gif", None).hint.is_none());
    }

    #[test]
    fn root_relative_links_use_the_base_url_or_the_root_dir() {
        let r = resolve("/docs/a.md", None);
        assert_eq!((r.kind, r.url.as_str()), (Kind::Local, "docs/a.md"));
        let with_base = Settings::load(
            &UserConfig::None,
            &Overrides {
                base_url: Some("https://notes.example.org/site/".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        let r = resolve_in(&with_base, "/photo?id=1", Some(Kind::Image));
        assert_eq!(r.kind, Kind::Image);
        let r = resolve_in(&with_base, "/docs/a.pdf", None);
        assert_eq!(
            (r.kind, r.url.as_str()),
            (Kind::Pdf, "https://notes.example.org/docs/a.pdf")
        );
    }

    #[test]
    fn addresses_missing_their_scheme_are_local_with_a_hint() {
        let r = resolve("arxiv.org/abs/2111.08687", None);
        assert_eq!(r.kind, Kind::Local);
        assert!(r.hint.unwrap().contains("https://arxiv.org/abs/2111.08687"));
        let r = resolve("airhr@air.tsinghua.edu.cn", None);
        assert_eq!(r.kind, Kind::Local);
        assert!(r.hint.unwrap().contains("mailto:airhr@air.tsinghua.edu.cn"));
        assert!(resolve("www.example.com", None).hint.is_some());
        for plain in [
            "README.md",
            "docs/setup.md",
            "v1.2/notes.txt",
            "images/a.png",
        ] {
            assert!(resolve(plain, None).hint.is_none(), "{plain}");
        }
    }

    #[test]
    fn other_schemes_mail_and_malformed_urls() {
        assert_eq!(kind("mailto:a@b.org"), Kind::Mail);
        assert_eq!(kind("ftp://ftp.example.org/x"), Kind::Other);
        assert_eq!(kind("data:image/png;base64,AAAA"), Kind::Other);
        assert_eq!(kind("javascript:void(0)"), Kind::Other);
        for (bad, why) in [
            ("http://exa mple.com/", "invalid international domain name"),
            ("https://", "empty host"),
            ("http://[::1/x", "invalid IPv6 address"),
            ("https://example.org:99999/", "invalid port number"),
            ("", "empty URL"),
            ("   ", "empty URL"),
        ] {
            let r = resolve(bad, None);
            assert_eq!(r.kind, Kind::Invalid, "{bad}");
            assert!(
                r.reason.as_deref().unwrap().contains(why),
                "{bad}: {:?}",
                r.reason
            );
        }
    }

    #[test]
    fn normalize_folds_dots_lexically() {
        assert_eq!(normalize(Path::new("a/./b/../c")), Path::new("a/c"));
        assert_eq!(normalize(Path::new("../a/../../b")), Path::new("../../b"));
        assert_eq!(normalize(Path::new("/a/../../b")), Path::new("/b"));
        assert_eq!(normalize(Path::new("./")), Path::new("."));
    }
}
