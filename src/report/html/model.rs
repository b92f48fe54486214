//! What the HTML report shows, as plain data: gathered by `gather`, drawn by
//! the template. Everything a note or a server wrote stays a string here; the
//! template escapes it, and the JSON handed to the page's script is made
//! inert by `blob`.

use serde::Serialize;

use super::chart::Chart;

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// When the report was written (RFC 3339).
    pub generated_at: String,
    /// The run the counts and failures are of; `None` before any run.
    pub latest: Option<LatestRun>,
    /// The latest run's results by verdict, every verdict present.
    pub counts: Vec<VerdictCount>,
    /// How the latest run stands against the one before.
    pub changes: Changes,
    /// Link health over the recorded runs; `None` before any run.
    pub health: Option<Chart>,
    /// The archive's growth; `None` when the manifest has no times.
    pub growth: Option<Chart>,
    /// The hosts of the latest run, the most failing first.
    pub hosts: Vec<HostRow>,
    /// Hosts left out of the table (it shows the first [`MAX_HOSTS`]).
    pub hosts_left_out: usize,
    /// What the archive holds, by kind.
    pub archive: ArchiveTotals,
    /// The lists the page's script draws page by page: handed to it as JSON
    /// (see `blob`), never to the template.
    #[serde(skip)]
    pub lists: Lists,
}

/// The most hosts the table shows.
pub const MAX_HOSTS: usize = 200;

/// The run shown.
#[derive(Debug, Clone, Serialize)]
pub struct LatestRun {
    /// Its number.
    pub id: i64,
    /// When it started.
    pub started_at: String,
    /// URLs it checked.
    pub urls: u64,
    /// Whether it was stopped before it finished.
    pub interrupted: bool,
    /// Runs recorded in all.
    pub runs: usize,
}

/// One verdict's count in the latest run.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictCount {
    /// The verdict (`dead`, `soft-dead` …).
    pub verdict: &'static str,
    /// How many URLs had it.
    pub count: u64,
    /// Whether results of this verdict failed the run.
    pub failing: bool,
}

/// The latest run against the one before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Failing now, not before.
    pub new: u64,
    /// Failing now and before.
    pub still_failing: u64,
    /// Failing before, not now.
    pub recovered: u64,
}

/// One host's line in the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostRow {
    /// The host (`(local files)` for paths).
    pub host: String,
    /// URLs checked on it.
    pub urls: u64,
    /// Of them, failing.
    pub failures: u64,
    /// Of them, behind a bot wall.
    pub blocked: u64,
    /// Of them, with no answer in time.
    pub timeouts: u64,
    /// The slowest answer of the run, in milliseconds (none where no URL
    /// of the host was answered over the network in this run).
    pub slowest_ms: Option<u64>,
    /// The URL that gave it.
    pub slowest_url: Option<String>,
}

/// What the archive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveTotals {
    /// Objects the manifest names.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Images among them.
    pub images: u64,
    /// Article snapshots.
    pub snapshots: u64,
    /// PDFs.
    pub pdfs: u64,
}

/// The long lists, as JSON for the page's script.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Lists {
    /// Failures (and recoveries), note by note.
    pub failures: Vec<NoteFailures>,
    /// The archive's images, snapshots and PDFs.
    pub gallery: Vec<GalleryItem>,
}

/// One note's failing (and recovered) links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteFailures {
    /// The note as the run named it.
    pub note: String,
    /// The note, relative to the report; `None` when it is not on this
    /// machine (or is standard input).
    pub href: Option<String>,
    /// Its failing links, in the order they stand.
    pub items: Vec<Failure>,
}

/// One failing (or recovered) link where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The URL checked.
    pub url: String,
    /// 1-based line; 0 when the notes read did not cite it.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The verdict.
    pub verdict: &'static str,
    /// Why, in words.
    pub reason: Option<String>,
    /// `new`, `still-failing` or `recovered`.
    pub history: &'static str,
    /// The history in words: `new`, `still failing since 2026-11-20, 3 runs`.
    pub history_words: String,
    /// The archive's copy, relative to the report.
    pub copy: Option<String>,
}

/// What a gallery item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GalleryKind {
    /// An image, shown as a thumbnail.
    Image,
    /// An article's snapshot, shown by its title.
    Snapshot,
    /// A PDF, shown with its size.
    Pdf,
}

/// One archived object in the gallery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GalleryItem {
    /// What it is.
    pub kind: GalleryKind,
    /// The URL it was archived from.
    pub url: String,
    /// The object, relative to the report.
    pub href: String,
    /// Its size in bytes.
    pub size: u64,
    /// A snapshot's page title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Not in the archive at its recorded size: shown as missing, not linked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
}
