//! The archive's side of the report: its images, article snapshots and PDFs
//! as a gallery, what it holds in all, and how it grew (from the manifest's
//! download times).

use std::io::Read;

use super::chart::{self, Chart, Column, SeriesSpec, Unit};
use super::model::{ArchiveTotals, GalleryItem, GalleryKind};
use super::paths::ObjectLinks;
use crate::extract::entities;
use crate::manifest::{Manifest, Record};
use crate::store::Storage;

/// The growth chart's lines.
const GROWTH: [SeriesSpec; 2] = [
    SeriesSpec {
        name: "objects",
        unit: Unit::Count,
        right: false,
    },
    SeriesSpec {
        name: "bytes",
        unit: Unit::Bytes,
        right: true,
    },
];

/// The most points the growth chart draws: downloads are grouped into this
/// many steps at most.
const GROWTH_POINTS: usize = 120;

/// How much of a snapshot is read to find its title.
const TITLE_WINDOW: u64 = 64 * 1024;

/// What a record shows as in the gallery; `None` for kinds it leaves out.
#[must_use]
pub fn kind_of(record: &Record) -> Option<GalleryKind> {
    let media = record
        .media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if media.starts_with("image/") {
        Some(GalleryKind::Image)
    } else if media == "text/html" {
        Some(GalleryKind::Snapshot)
    } else if media == "application/pdf" {
        Some(GalleryKind::Pdf)
    } else {
        None
    }
}

/// The gallery, in the manifest's order (by URL), with the totals; snapshots
/// are read from `archive` for their titles, and linked as `objects` says. In
/// an archive in a folder, an object that is not there at its recorded size is
/// marked missing (a warning counts them); one in a bucket is not asked for
/// object by object.
#[must_use]
pub fn gallery(
    manifest: &Manifest,
    archive: &dyn Storage,
    objects: &ObjectLinks<'_>,
) -> (Vec<GalleryItem>, ArchiveTotals) {
    let mut totals = ArchiveTotals::default();
    let mut items = Vec::new();
    let mut missing = 0_usize;
    // A bucket would take a request per object.
    let looked_for = matches!(objects, ObjectLinks::Folder { .. });
    for record in manifest.records.values() {
        totals.objects += 1;
        totals.bytes += record.size;
        let Some(kind) = kind_of(record) else {
            continue;
        };
        match kind {
            GalleryKind::Image => totals.images += 1,
            GalleryKind::Snapshot => totals.snapshots += 1,
            GalleryKind::Pdf => totals.pdfs += 1,
        }
        // Recorded with the snapshot; read from it only for a record made
        // before titles were recorded.
        let title = (kind == GalleryKind::Snapshot)
            .then(|| {
                record
                    .title
                    .clone()
                    .or_else(|| read_title(archive, &record.object))
            })
            .flatten();
        let gone = looked_for && !record.object_is_in(archive);
        missing += usize::from(gone);
        items.push(GalleryItem {
            kind,
            url: record.url.clone(),
            href: objects.href(&record.object),
            size: record.size,
            title,
            missing: gone,
        });
    }
    if missing > 0 {
        tracing::warn!(
            "{}: {missing} of the objects the manifest records are missing or damaged, and marked so in the gallery; `archiver verify` lists them, and `archiver fetch` of their URLs downloads them again",
            archive.location().display()
        );
    }
    (items, totals)
}

/// Objects and bytes in the archive after each download, oldest first, in at
/// most [`GROWTH_POINTS`] steps; `None` when no record has a time.
#[must_use]
pub fn growth_chart(manifest: &Manifest) -> Option<Chart> {
    let mut downloads: Vec<(&str, u64)> = manifest
        .records
        .values()
        .filter(|r| crate::state::parse_timestamp(&r.fetched_at).is_some())
        .map(|r| (r.fetched_at.as_str(), r.size))
        .collect();
    downloads.sort_unstable();
    let step = downloads.len().div_ceil(GROWTH_POINTS).max(1);
    let (mut objects, mut bytes) = (0_u64, 0_u64);
    let mut columns: Vec<Column> = Vec::new();
    for (i, chunk) in downloads.chunks(step).enumerate() {
        objects += chunk.len() as u64;
        bytes += chunk.iter().map(|(_, size)| size).sum::<u64>();
        let time = chunk
            .last()
            .map(|(at, _)| (*at).to_owned())
            .unwrap_or_default();
        // Downloads of one second are one step.
        if columns.last().is_some_and(|c| c.time == time) {
            columns.pop();
        }
        columns.push(Column {
            key: i.to_string(),
            time,
            values: vec![objects, bytes],
        });
    }
    chart::draw(&columns, &GROWTH)
}

/// A snapshot's `<title>`, its character references decoded and its spaces
/// collapsed; `None` when it has none or cannot be read.
fn read_title(archive: &dyn Storage, object: &str) -> Option<String> {
    let mut head = Vec::new();
    archive
        .open_object(object)
        .ok()?
        .take(TITLE_WINDOW)
        .read_to_end(&mut head)
        .ok()?;
    title_in(&String::from_utf8_lossy(&head))
}

/// The text of the first `<title>` element in `html`.
#[must_use]
pub fn title_in(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let text = entities::decode(&html[start..end]);
    let title = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_read_as_text_with_its_references_decoded() {
        assert_eq!(
            title_in("<html><head><TITLE lang=en>\n A &amp; B </TITLE>").as_deref(),
            Some("A & B")
        );
        assert_eq!(
            title_in("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>").as_deref(),
            Some("<script>alert(1)</script>")
        );
        assert_eq!(title_in("<title> </title>"), None);
        assert_eq!(title_in("<p>no title</p>"), None);
    }

    fn record(url: &str, media_type: &str, size: u64, at: &str) -> Record {
        let sha = format!("{size:0>64}");
        let object = format!("objects/{}/{sha}.bin", &sha[..2]);
        Record::sample(url, object, sha, media_type, size, at)
    }

    #[test]
    fn the_gallery_shows_images_snapshots_and_pdfs_and_the_archive_grows() {
        let mut manifest = Manifest::default();
        for r in [
            record(
                "https://a.example/1.png",
                "image/png",
                100,
                "2026-11-01T00:00:00Z",
            ),
            record(
                "https://a.example/p.pdf",
                "application/pdf",
                2000,
                "2026-11-02T00:00:00Z",
            ),
            record(
                "https://a.example/page",
                "text/html",
                50,
                "2026-11-02T00:00:00Z",
            ),
            record(
                "https://a.example/v.mp4",
                "video/mp4",
                7,
                "2026-11-03T00:00:00Z",
            ),
        ] {
            manifest.records.insert(r.url.clone(), r);
        }
        let dir = tempfile::tempdir().unwrap();
        let archive = crate::store::look(&dir.path().join("archive"));
        let archive_dir = dir.path().join("archive");
        let folder = ObjectLinks::Folder {
            archive_dir: &archive_dir,
            out_dir: dir.path(),
        };
        let (items, totals) = gallery(&manifest, archive.as_ref(), &folder);
        // The snapshot's object is not in the archive: no title to read.
        assert_eq!(items[2].title, None);
        let kinds: Vec<GalleryKind> = items.iter().map(|i| i.kind).collect();
        // By URL, as the manifest is.
        assert_eq!(
            kinds,
            [GalleryKind::Image, GalleryKind::Pdf, GalleryKind::Snapshot]
        );
        assert!(items[0].href.starts_with("archive/objects/"));
        // A recorded title is used as it is, without the object.
        manifest
            .records
            .get_mut("https://a.example/page")
            .unwrap()
            .title = Some("A page".into());
        let (items, _) = gallery(&manifest, archive.as_ref(), &folder);
        assert_eq!(items[2].title.as_deref(), Some("A page"));
        // A bucket's objects, where they are served.
        let served = ObjectLinks::Served("https://media.example.org/a/");
        let (items, _) = gallery(&manifest, archive.as_ref(), &served);
        assert!(
            items[0]
                .href
                .starts_with("https://media.example.org/a/objects/"),
            "{}",
            items[0].href
        );
        assert_eq!(
            totals,
            ArchiveTotals {
                objects: 4,
                bytes: 2157,
                images: 1,
                snapshots: 1,
                pdfs: 1
            }
        );
        let chart = growth_chart(&manifest).unwrap();
        // One step per second that saw downloads.
        assert_eq!(chart.columns.len(), 3);
        assert!(chart.columns[2].title.contains("4 objects"));
    }
}
