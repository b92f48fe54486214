//! Articles (and, on request, other pages) kept as offline snapshots: the page
//! read whole, judged as `check` judges it (a deletion notice, a captcha or a
//! bot wall is never archived), its images and style sheets archived as objects
//! of their own (the same objects, under the same placeholder rules, as the
//! notes' images), and the page rewritten by [`crate::snapshot`] to load them
//! from the archive and nothing from the web. The snapshot is one HTML object;
//! the objects it uses are listed with it, so that `gc` keeps them.

use bytes::Bytes;
use futures_util::StreamExt;
use url::Url;

use sha2::Digest;

use super::{
    Asked, Code, Downloads, Fetched, Hints, Known, Mirrored, Problem, body_failed, mirror,
    unanswered, write_failed,
};
use crate::judge::judge;
use crate::manifest::Source;
use crate::media::{self, Class, MediaKind};
use crate::net::probe::{Engine, Outcome, RequestOptions};
use crate::sites::SiteRules;
use crate::snapshot::{self, Capture, Resolved, css};
use crate::store::write::Writer;
use crate::verdict::Verdict;

/// The largest page read for a snapshot.
const PAGE_LIMIT: usize = 16 << 20;

/// The largest style sheet inlined into one.
const SHEET_LIMIT: usize = 2 << 20;

/// The images of one page asked at once (each host still keeps its own pace).
const IMAGES_AT_ONCE: usize = 6;

/// A page read whole.
struct Page {
    /// Where it answered from, after redirects.
    url: Url,
    /// Its bytes.
    bytes: Vec<u8>,
    /// The answer, its body set to the page, for the judge.
    outcome: Outcome,
}

impl Page {
    /// Its text, in the encoding it was served or declares.
    fn text(&self) -> std::borrow::Cow<'_, str> {
        let content_type = self
            .outcome
            .result
            .as_ref()
            .ok()
            .and_then(|r| r.header("content-type"));
        snapshot::charset::decode(&self.bytes, content_type)
    }
}

/// Snapshots the page at `url` into the archive.
///
/// # Errors
/// A [`Problem`]: the page did not answer, is gone, walled or not a page, or
/// the snapshot could not be written.
pub(super) async fn snapshot(
    engine: &Engine,
    sites: &SiteRules,
    target: &Downloads,
    url: &Url,
    known: Option<&Known>,
) -> Result<Fetched, Problem> {
    let page = live_page(engine, sites, url).await?;
    // A refresh that finds the very page it snapshotted keeps that snapshot.
    let page_sha256 = crate::store::hex(&sha2::Sha256::digest(&page.bytes));
    if known.is_some_and(|k| k.page_sha256.as_deref() == Some(page_sha256.as_str())) {
        return Ok(Fetched::Unchanged);
    }
    // Only a page that is kept is recorded: a corpse is in no part of the archive.
    record(target, &page).await;
    let html = page.text();
    let not_html =
        |e: snapshot::SnapshotError| Problem::new(Code::Unexpected(Class::Html), e.to_string());
    let needs = snapshot::needs(&html, &page.url, &target.snapshot).map_err(not_html)?;
    let mut sheets = Vec::new();
    let mut images = needs.images.clone();
    for sheet_url in &needs.stylesheets {
        // A sheet that cannot be had leaves the page unstyled, not unarchived.
        if let Ok(sheet) = read(engine, sites, sheet_url, SHEET_LIMIT).await
            && sheet
                .outcome
                .result
                .as_ref()
                .is_ok_and(|r| (200..300).contains(&r.status))
        {
            record(target, &sheet).await;
            let text = sheet.text().into_owned();
            for (_, reference) in css::urls(&text) {
                if let Ok(image) = sheet.url.join(&reference)
                    && matches!(image.scheme(), "http" | "https")
                    && !images.contains(&image)
                {
                    images.push(image);
                }
            }
            sheets.push((sheet_url.clone(), sheet.url, text));
        }
    }
    let (resolved_images, uses) = archive_images(engine, sites, target, images).await?;
    let mut resolved = Resolved {
        images: resolved_images,
        ..Resolved::default()
    };
    for (asked, answered, text) in sheets {
        let css = css::rewrite(&text, |reference| {
            Some(
                answered
                    .join(reference)
                    .ok()
                    .and_then(|u| resolved.images.get(&u).cloned())
                    .unwrap_or_default(),
            )
        });
        resolved.stylesheets.insert(asked, css);
    }
    let capture = Capture {
        url: url.as_str(),
        title: needs.title.as_deref(),
        at: std::time::SystemTime::now(),
    };
    let rendered = snapshot::render(&html, &page.url, &capture, &target.snapshot, &resolved)
        .map_err(not_html)?;
    let stored = store_page(target, rendered.into_bytes()).await?;
    Ok(Fetched::Object(Box::new(Mirrored {
        stored,
        sniffed: media::Sniffed {
            class: Class::Html,
            media_type: "text/html",
            extension: "html",
        },
        final_url: page.url.to_string(),
        etag: None,
        last_modified: None,
        source: Source::Origin,
        captured_at: None,
        uses,
        page_sha256: Some(page_sha256),
        title: needs.title,
    })))
}

/// Reads the page at `url` and makes sure it is one worth keeping: live (a
/// deletion notice, a captcha or a wall is never archived) and HTML.
async fn live_page(engine: &Engine, sites: &SiteRules, url: &Url) -> Result<Page, Problem> {
    let mut page = read(engine, sites, url, PAGE_LIMIT).await?;
    let mut judgement = judge(url, &page.outcome, sites);
    // A migration notice names the article's new address: the successor is
    // kept (once: a successor that moved again is not followed further), and
    // the record's final URL says where it came from.
    if judgement.verdict == Verdict::Moved
        && let Some(successor) = judgement
            .moved_to
            .as_deref()
            .and_then(|m| Url::parse(m).ok())
    {
        page = read(engine, sites, &successor, PAGE_LIMIT).await?;
        judgement = judge(&successor, &page.outcome, sites);
    }
    if !matches!(judgement.verdict, Verdict::Ok | Verdict::Redirected) {
        // A corpse is never archived: a deletion notice, a captcha, a wall.
        let reason = judgement
            .reason
            .unwrap_or_else(|| judgement.verdict.to_string());
        return Err(Problem::new(
            Code::Judged(judgement.verdict),
            format!("no snapshot: {reason}"),
        ));
    }
    let said_html = page.outcome.result.as_ref().is_ok_and(|r| {
        r.header("content-type")
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"))
    });
    let sniffed_html = media::sniff(&page.bytes[..page.bytes.len().min(media::SNIFF_LEN)])
        .is_some_and(|s| s.class == Class::Html);
    if !said_html && !sniffed_html {
        return Err(Problem::new(
            Code::Unexpected(Class::Html),
            "expected a web page to snapshot, got another kind of content",
        ));
    }
    Ok(page)
}

/// Archives a page's images; returns each archived one's path relative to the
/// snapshot (`../ab/<sha256>.png`: objects sit one folder deep, all alike) and
/// the objects used. An image that cannot be had is left out (the snapshot
/// shows it missing); a full disk stops the snapshot.
async fn archive_images(
    engine: &Engine,
    sites: &SiteRules,
    target: &Downloads,
    images: Vec<Url>,
) -> Result<(std::collections::BTreeMap<Url, String>, Vec<String>), Problem> {
    let fetched: Vec<(Url, Result<Fetched, Problem>)> = futures_util::stream::iter(images)
        .map(|image| async move {
            // Boxed: a snapshot's images go through `mirror`, which may snapshot.
            let got = Box::pin(mirror(
                engine,
                sites,
                target,
                &image,
                MediaKind::Image,
                Hints::default(),
            ))
            .await;
            (image, got)
        })
        .buffer_unordered(IMAGES_AT_ONCE)
        .collect()
        .await;
    let mut resolved = std::collections::BTreeMap::new();
    let mut uses = Vec::new();
    for (image, got) in fetched {
        match got {
            Ok(Fetched::Object(mirrored)) => {
                let object = mirrored.stored.name.relative();
                let beside = object.strip_prefix("objects/").unwrap_or(&object);
                resolved.insert(image, format!("../{beside}"));
                uses.push(object);
            }
            Err(problem) if problem.code == Code::DiskFull => return Err(problem),
            Err(problem) => tracing::info!("{image}: not in the snapshot: {}", problem.reason),
            Ok(Fetched::Unchanged) => {}
        }
    }
    uses.sort();
    uses.dedup();
    Ok((resolved, uses))
}

/// Writes the snapshot's bytes as an object.
async fn store_page(
    target: &Downloads,
    bytes: Vec<u8>,
) -> Result<crate::store::write::Stored, Problem> {
    let Ok(_writing) = target.writers.acquire().await else {
        return Err(Problem::new(Code::Interrupted, "the run was stopped"));
    };
    let size = bytes.len() as u64;
    let mut writer = Writer::start(target.store.stage());
    let written = async {
        writer.write(Bytes::from(bytes)).await?;
        writer.finish(Some(size)).await
    }
    .await;
    if let Err(e) = written {
        writer.abandon().await;
        return Err(write_failed(&e, target.store.as_ref()));
    }
    let Some(landing) = target.landing.begin() else {
        writer.abandon().await;
        return Err(Problem::new(
            Code::Interrupted,
            "not fetched: the run was stopped",
        ));
    };
    let stored = writer
        .commit("html")
        .await
        .map_err(|e| write_failed(&e, target.store.as_ref()))?;
    drop(landing);
    Ok(stored)
}

/// Records a page read in the run's WARC file, when there is one.
async fn record(target: &Downloads, page: &Page) {
    if let (Some(log), Ok(response)) = (&target.warc, &page.outcome.result) {
        log.redirects(&page.outcome.hops, &RequestOptions::default())
            .await;
        let asked = Asked {
            url: &response.url,
            options: &RequestOptions::default(),
            status: response.status,
            headers: &response.headers,
        };
        log.bytes(&asked, page.bytes.clone()).await;
    }
}

/// Reads `url` whole (up to `limit` bytes) with GET, the way its site rule
/// asks pages.
async fn read(
    engine: &Engine,
    sites: &SiteRules,
    url: &Url,
    limit: usize,
) -> Result<Page, Problem> {
    let download = engine.download(url, &RequestOptions::default()).await;
    let (mut response, mut body) = match (download.result, download.body) {
        (Ok(response), Some(body)) => (response, body),
        (result, _) => {
            let outcome = Outcome {
                hops: download.hops,
                result,
            };
            return Err(unanswered(url, &outcome, sites));
        }
    };
    let mut bytes = Vec::new();
    loop {
        match body.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(Problem::new(
                        Code::TooLarge,
                        format!("the page is over {limit} bytes"),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(body_failed(e, bytes.len() as u64)),
        }
    }
    drop(body);
    response.body.clone_from(&bytes);
    Ok(Page {
        url: response.url.clone(),
        bytes,
        outcome: Outcome {
            hops: download.hops,
            result: Ok(response),
        },
    })
}
