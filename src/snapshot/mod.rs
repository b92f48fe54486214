//! Offline snapshots of articles: a fetched page made into one HTML file a person
//! can read from the archive years later, with no network.
//!
//! Two steps, so that the caller can archive what a page needs in between:
//!
//! 1. [`needs`] reads the page: its title, the images it shows (lazy ones from
//!    `data-src` and the like, CSS backgrounds in `style` attributes and
//!    `<style>` elements) and its style sheets. The caller archives those (and
//!    the images the sheets use, from [`css::urls`]) as objects.
//! 2. [`render`] writes the snapshot: scripts, frames, embeds, preloads and event
//!    handlers removed; what the page hides until its scripts run shown; every
//!    image pointed at its archived copy by a relative path (an image that could
//!    not be archived loads nothing); style sheets inlined; links made absolute;
//!    a Content-Security-Policy that lets the page load nothing from the network;
//!    and a banner at the top with the original URL, title and capture time.
//!
//! Which elements to show, drop, and which attributes hold lazy images are
//! [`SnapshotRules`], data from the configuration rather than code per site.

pub mod charset;
pub mod css;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use lol_html::html_content::{ContentType, Element};
use lol_html::{RewriteStrSettings, element, rewrite_str, text};
use url::Url;

/// The policy every snapshot carries: nothing from the network, no scripts;
/// its own inline styles and the archive's files only.
const POLICY: &str = "default-src 'none'; img-src 'self' data: file:; media-src 'self' file:; style-src 'unsafe-inline'; font-src data:";

/// What a snapshot keeps and drops, by CSS selector and attribute name
/// (`[snapshot]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotRules {
    /// Attributes holding an image's real address when its `src` is missing or
    /// a placeholder, the first present winning over `src`.
    pub lazy_src: Vec<String>,
    /// Elements the page hides until its scripts run (WeChat's `#js_content`).
    pub show: Vec<String>,
    /// Elements removed with their content.
    pub drop: Vec<String>,
}

impl Default for SnapshotRules {
    /// What any page needs: no scripts, frames or embeds, lazy images found.
    /// Sites' own elements (WeChat's `#js_content`) come from the
    /// configuration's `[snapshot]`.
    fn default() -> Self {
        let strings = |s: &[&str]| s.iter().map(|&s| s.to_owned()).collect();
        SnapshotRules {
            lazy_src: strings(&["data-src", "data-original"]),
            show: Vec::new(),
            drop: strings(&[
                "script",
                "iframe",
                "frame",
                "embed",
                "object",
                "template",
                "base",
                "meta[http-equiv]",
            ]),
        }
    }
}

/// What a page needs archived before its snapshot is written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Needs {
    /// The page's title: `og:title`, else `<title>`.
    pub title: Option<String>,
    /// The images it shows, absolute, in page order, each once.
    pub images: Vec<Url>,
    /// Its style sheets, absolute, in page order, each once.
    pub stylesheets: Vec<Url>,
}

/// How a page's resources were archived, for [`render`].
#[derive(Debug, Default, Clone)]
pub struct Resolved {
    /// Each archived image's path relative to the snapshot.
    pub images: BTreeMap<Url, String>,
    /// Each archived style sheet's text, its own `url(…)`s already pointed at
    /// the archive (see [`css::rewrite`]).
    pub stylesheets: BTreeMap<Url, String>,
}

/// What the banner says about the capture.
#[derive(Debug, Clone)]
pub struct Capture<'a> {
    /// The URL the page was asked for.
    pub url: &'a str,
    /// Its title, when it has one.
    pub title: Option<&'a str>,
    /// When it was fetched.
    pub at: SystemTime,
}

/// The page could not be rewritten (it is not HTML a streaming parser can follow).
#[derive(Debug, thiserror::Error)]
#[error("the page could not be rewritten: {0}")]
pub struct SnapshotError(#[source] lol_html::errors::RewritingError);

/// Reads what `html`, fetched from `page`, needs archived.
///
/// # Errors
/// [`SnapshotError`] when the page cannot be parsed.
pub fn needs(html: &str, page: &Url, rules: &SnapshotRules) -> Result<Needs, SnapshotError> {
    let images = RefCell::new(Ordered::default());
    let stylesheets = RefCell::new(Ordered::default());
    let og_title = RefCell::new(None::<String>);
    let title = RefCell::new(String::new());
    let style_text = RefCell::new(String::new());
    let absolute = |reference: &str| resolve(page, reference);
    let handlers = vec![
        element!("img, video[poster], input[type=image]", |el| {
            if let Some(url) = image_source(el, rules).and_then(|s| absolute(&s)) {
                images.borrow_mut().push(url);
            }
            Ok(())
        }),
        element!("[style]", |el| {
            let style = attribute(el, "style").unwrap_or_default();
            for (_, reference) in css::urls(&style) {
                if let Some(url) = absolute(&reference) {
                    images.borrow_mut().push(url);
                }
            }
            Ok(())
        }),
        element!("link[rel][href]", |el| {
            if is_stylesheet(el)
                && let Some(url) = attribute(el, "href").and_then(|h| absolute(&h))
            {
                stylesheets.borrow_mut().push(url);
            }
            Ok(())
        }),
        element!("meta[property='og:title'][content]", |el| {
            og_title
                .borrow_mut()
                .get_or_insert_with(|| attribute(el, "content").unwrap_or_default());
            Ok(())
        }),
        text!("title", |t| {
            title.borrow_mut().push_str(t.as_str());
            Ok(())
        }),
        text!("style", |t| {
            let mut text = style_text.borrow_mut();
            text.push_str(t.as_str());
            if t.last_in_text_node() {
                for (_, reference) in css::urls(&text) {
                    if let Some(url) = absolute(&reference) {
                        images.borrow_mut().push(url);
                    }
                }
                text.clear();
            }
            Ok(())
        }),
    ];
    rewrite_str(html, settings(handlers)).map_err(SnapshotError)?;
    let title = og_title
        .into_inner()
        .or_else(|| Some(decode(&title.into_inner())))
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    Ok(Needs {
        title,
        images: images.into_inner().items,
        stylesheets: stylesheets.into_inner().items,
    })
}

/// One rewriting handler: a selector and what to do with what it matches.
type Handler<'h> = (
    std::borrow::Cow<'static, lol_html::Selector>,
    lol_html::ElementContentHandlers<'h>,
);

/// Writes the snapshot of `html`, fetched from `page`, with its resources as
/// `resolved` says.
///
/// # Errors
/// [`SnapshotError`] when the page cannot be parsed.
pub fn render(
    html: &str,
    page: &Url,
    capture: &Capture<'_>,
    rules: &SnapshotRules,
    resolved: &Resolved,
) -> Result<String, SnapshotError> {
    let headed = Cell::new(false);
    let bannered = Cell::new(false);
    let mut handlers: Vec<Handler<'_>> = vec![
        element!("*", |el| {
            strip_handlers(el);
            Ok(())
        }),
        element!("head", |el| {
            el.prepend(&head_tags(capture), ContentType::Html);
            headed.set(true);
            Ok(())
        }),
        element!("body", |el| {
            el.prepend(&banner(capture), ContentType::Html);
            bannered.set(true);
            Ok(())
        }),
        element!("noscript", |el| {
            // Scripts never run in a snapshot: what a page shows without them
            // is what it shows.
            el.remove_and_keep_content();
            Ok(())
        }),
        element!("title", |el| {
            // The head's tags name the title the capture found (og:title first).
            el.remove();
            Ok(())
        }),
        element!("meta[charset]", |el| {
            // The snapshot is UTF-8 whatever the page was; its own tag says so.
            el.remove();
            Ok(())
        }),
    ];
    handlers.extend(resource_handlers(page, rules, resolved));
    for selector in &rules.show {
        handlers.push(element!(selector.as_str(), |el| {
            let style = attribute(el, "style").unwrap_or_default();
            set(
                el,
                "style",
                &format!("{style};visibility:visible;opacity:1"),
            );
            Ok(())
        }));
    }
    for selector in &rules.drop {
        handlers.push(element!(selector.as_str(), |el| {
            el.remove();
            Ok(())
        }));
    }
    let mut out = rewrite_str(html, settings(handlers)).map_err(SnapshotError)?;
    // A page with no <head> or <body> tags still gets its policy and banner.
    if !bannered.get() {
        out.insert_str(0, &banner(capture));
    }
    if !headed.get() {
        out.insert_str(0, &head_tags(capture));
    }
    Ok(out)
}

/// The handlers that point what a page loads at the archive: images, CSS
/// backgrounds, style sheets, media; and its links at absolute URLs.
fn resource_handlers<'h>(
    page: &'h Url,
    rules: &'h SnapshotRules,
    resolved: &'h Resolved,
) -> Vec<Handler<'h>> {
    let local_image = move |reference: &str| -> String {
        resolve(page, reference)
            .and_then(|url| resolved.images.get(&url).cloned())
            .unwrap_or_default()
    };
    let mut style_text = String::new();
    vec![
        element!("img, input[type=image]", move |el| {
            let source = image_source(el, rules);
            let set_aside = ["srcset", "data-srcset", "sizes"];
            for name in rules.lazy_src.iter().map(String::as_str).chain(set_aside) {
                el.remove_attribute(name);
            }
            let local = source.as_deref().map(local_image).unwrap_or_default();
            if local.is_empty() {
                el.remove_attribute("src");
                if let Some(source) = source {
                    set(el, "data-archiver-missing", &source);
                }
            } else {
                set(el, "src", &local);
            }
            Ok(())
        }),
        element!("video, audio, source, track", move |el| {
            // Media streams are not part of a snapshot: nothing to load.
            el.remove_attribute("src");
            if let Some(poster) = attribute(el, "poster") {
                set(el, "poster", &local_image(&poster));
            }
            Ok(())
        }),
        element!("[style]", move |el| {
            let style = attribute(el, "style").unwrap_or_default();
            let rewritten = css::rewrite(&style, |r| Some(local_image(r)));
            set(el, "style", &rewritten);
            Ok(())
        }),
        element!("link", move |el| {
            let sheet = is_stylesheet(el)
                .then(|| attribute(el, "href").and_then(|h| resolve(page, &h)))
                .flatten()
                .and_then(|url| resolved.stylesheets.get(&url));
            match sheet {
                Some(css) => el.replace(&style_element(css), ContentType::Html),
                // Preloads, icons, manifests, fonts: nothing a reader needs.
                None => el.remove(),
            }
            Ok(())
        }),
        element!("a[href], area[href], form[action]", move |el| {
            let name = if el.has_attribute("action") {
                "action"
            } else {
                "href"
            };
            let target = attribute(el, name).unwrap_or_default();
            if target
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("javascript:")
            {
                el.remove_attribute(name);
            } else if let Some(url) = resolve_any(page, &target) {
                set(el, name, url.as_str());
            }
            Ok(())
        }),
        text!("style", move |t| {
            style_text.push_str(t.as_str());
            if t.last_in_text_node() {
                let css = css::rewrite(&style_text, |r| Some(local_image(r)));
                t.replace(&css.replace("</", "<\\/"), ContentType::Html);
                style_text.clear();
            } else {
                t.remove();
            }
            Ok(())
        }),
    ]
}

/// Rewriter settings with `handlers`. Not strict: a page whose markup is
/// ambiguous to a streaming parser is still rewritten, as browsers read it
/// (the snapshot's policy forbids scripts and loads whatever it became).
fn settings(handlers: Vec<Handler<'_>>) -> RewriteStrSettings<'_, 'static> {
    handlers
        .into_iter()
        .fold(RewriteStrSettings::new(), |settings, handler| {
            settings.append_element_content_handler(handler)
        })
        .with_strict(false)
}

/// The tags every snapshot's head starts with: encoding, policy, title.
fn head_tags(capture: &Capture<'_>) -> String {
    let title = capture
        .title
        .map(|t| format!("<title>{}</title>", html_escape::encode_text(t)))
        .unwrap_or_default();
    format!(
        "<meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\"><meta name=\"referrer\" content=\"no-referrer\">{title}"
    )
}

/// The banner at the top of a snapshot.
fn banner(capture: &Capture<'_>) -> String {
    let url = html_escape::encode_double_quoted_attribute(capture.url);
    let shown = html_escape::encode_text(capture.url);
    let title = capture
        .title
        .map(|t| format!(" · “{}”", html_escape::encode_text(t)))
        .unwrap_or_default();
    let at = humantime::format_rfc3339_seconds(capture.at);
    format!(
        "<div id=\"archiver-banner\" style=\"all:initial;display:block;font:13px/1.5 system-ui,sans-serif;background:#fffbe6;color:#222;border-bottom:1px solid #d9c97a;padding:6px 12px;position:relative;z-index:2147483647\">Archived copy of <a href=\"{url}\" style=\"color:#0645ad\">{shown}</a>{title} · captured <time datetime=\"{at}\">{at}</time></div>"
    )
}

fn style_element(css: &str) -> String {
    format!("<style>{}</style>", css.replace("</", "<\\/"))
}

/// The image an element shows: the first lazy attribute present, else `src`
/// (`poster` for a video). `data:` images need no archiving.
fn image_source(el: &Element<'_, '_>, rules: &SnapshotRules) -> Option<String> {
    let source = rules
        .lazy_src
        .iter()
        .find_map(|name| attribute(el, name).filter(|v| !v.trim().is_empty()))
        .or_else(|| attribute(el, "src"))
        .or_else(|| attribute(el, "poster"))?;
    let source = source.trim().to_owned();
    (!source.is_empty() && !source.to_ascii_lowercase().starts_with("data:")).then_some(source)
}

fn is_stylesheet(el: &Element<'_, '_>) -> bool {
    attribute(el, "rel").is_some_and(|rel| {
        rel.split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case("stylesheet"))
    })
}

/// Removes event handler attributes (`onload`, `onclick`, …).
fn strip_handlers(el: &mut Element<'_, '_>) {
    let names: Vec<String> = el
        .attributes()
        .iter()
        .map(lol_html::html_content::Attribute::name)
        .filter(|n| n.len() > 2 && n.to_ascii_lowercase().starts_with("on"))
        .collect();
    for name in names {
        el.remove_attribute(&name);
    }
}

/// An attribute's value with its character references decoded.
fn attribute(el: &Element<'_, '_>, name: &str) -> Option<String> {
    el.get_attribute(name).map(|v| decode(&v))
}

fn decode(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

/// Sets an attribute to `value`, escaped for a double-quoted attribute.
fn set(el: &mut Element<'_, '_>, name: &str, value: &str) {
    let escaped = html_escape::encode_double_quoted_attribute(value);
    // The names set here are literals that are valid attribute names.
    let _ = el.set_attribute(name, &escaped);
}

/// A web resource's absolute URL (http or https only).
fn resolve(page: &Url, reference: &str) -> Option<Url> {
    resolve_any(page, reference).filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// A link's absolute URL, any scheme; a fragment of the page itself stays a
/// fragment.
fn resolve_any(page: &Url, reference: &str) -> Option<Url> {
    let reference = reference.trim();
    if reference.is_empty() || reference.starts_with('#') {
        return None;
    }
    let mut url = page.join(reference).ok()?;
    // An empty fragment says nothing: `x.png#` is the `x.png` the archive keys.
    if url.fragment() == Some("") {
        url.set_fragment(None);
    }
    Some(url)
}

/// URLs in first-seen order, each once.
#[derive(Default)]
struct Ordered {
    seen: BTreeSet<Url>,
    items: Vec<Url>,
}

impl Ordered {
    fn push(&mut self, url: Url) {
        if self.seen.insert(url.clone()) {
            self.items.push(url);
        }
    }
}

#[cfg(test)]
mod tests;
