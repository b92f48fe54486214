//! The command line: one clap `Args` struct per subcommand. Nothing past this module
//! sees clap types; commands get plain values and resolved `Settings`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::extract::Format;
use crate::link::Kind;
use crate::media::MediaKind;
use crate::report::check::CheckFormat;
use crate::report::fetch::FetchFormat;
use crate::report::links::LinksFormat;
use crate::verdict::Verdict;

/// The closing paragraph of every help page.
macro_rules! after_help {
    () => {
        "\
Exit status:
  0  success
  1  runtime error (an unreadable note, a missing input …)
  2  findings (failing links, archive problems)
  3  usage or configuration error

Configuration: the shipped defaults, then --config FILE (or $ARCHIVER_CONFIG, or
./archiver.toml), then ARCHIVER_* variables, then flags. See `archiver config --show`."
    };
}

const AFTER_HELP: &str = after_help!();

const LINKS_EXAMPLES: &str = concat!(
    "\
Examples:
  archiver links notes/                         every link, file:line:col  kind  url
  archiver links --kind image,video notes/      only the media
  archiver links --unique --format json notes/  one entry per URL, with its occurrences
  archiver links 'notes/2022*/**/*.md'          a glob, expanded by archiver
  cat note.md | archiver links -                standard input

",
    after_help!()
);

const CHECK_EXAMPLES: &str = concat!(
    "\
Examples:
  archiver check notes/                          every link; exit 2 if any is dead
  archiver check --format json notes/ > r.json   one result per URL, for programs
  archiver check --fail-on dead notes/           fail only on dead links
  archiver check -vv https://arxiv.org/abs/2207.02696   each hop, for one URL
  archiver check --max-age 24h --only-new notes/  nightly: page only for new failures
  archiver check --changed-since origin/main notes/   CI: only the links a change touched
  archiver check --write-baseline .archiver/baseline notes/   accept today's dead links,
  archiver check --baseline .archiver/baseline notes/         then fail only on new ones

",
    after_help!()
);

const FETCH_EXAMPLES: &str = concat!(
    "\
Examples:
  archiver fetch notes/                          images, PDFs and papers into ./archive
  archiver fetch --kinds image,video notes/      only images and videos
  archiver fetch --format json notes/ > r.json   one result per URL, for programs
  archiver fetch --archive ~/mirror notes/       another archive folder

",
    after_help!()
);

/// Keeps a collection of notes alive: finds every link, checks it, mirrors the media
/// it needs into a local archive, and points the notes at the local copies.
#[derive(Debug, Parser)]
#[command(name = "archiver", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file merged over the shipped defaults [default: ./archiver.toml
    /// when it exists].
    #[arg(long, global = true, value_name = "FILE", env = "ARCHIVER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Say more: -v for notes on skipped files, -vv for debugging detail.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Say nothing but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every link in the notes with its exact position and kind.
    ///
    /// Reads Markdown (.md, .markdown, .txt) and HTML (.html, .htm): inline links,
    /// images, reference definitions, autolinks, bare URLs, and HTML attributes
    /// (a[href], img[src|data-src|srcset], video, audio, source, iframe, embed, object,
    /// link). Code is not links.
    #[command(after_help = AFTER_HELP, after_long_help = LINKS_EXAMPLES)]
    Links(LinksArgs),

    /// Check that every link still works, and say how each one failed.
    ///
    /// Every unique URL is asked once, concurrently but politely (per-host limits,
    /// intervals and Retry-After from the site rules), and judged: ok, redirected,
    /// moved, dead, soft-dead (a page that says it is gone), blocked (a bot wall),
    /// expired, timeout, error, local-missing, invalid, unsupported or excluded.
    /// Inputs are notes as for `links`, or URLs to check directly.
    #[command(after_help = AFTER_HELP, after_long_help = CHECK_EXAMPLES)]
    Check(CheckArgs),

    /// Mirror the media the notes link to into the local archive.
    ///
    /// Images (Markdown images, img src/data-src, the largest srcset candidate),
    /// PDFs, paper pages resolved to their PDF, videos, and offline snapshots of
    /// articles, as `--kinds` chooses, are downloaded once each into
    /// archive/objects/, named by their sha256, and listed in archive/manifest.jsonl.
    /// A deleted article, a captcha or a bot wall is never kept as a snapshot. Content that is not what the link promised
    /// (an HTML error page for an image), bodies cut short and bodies over the size
    /// limit are not archived, and say why. A rerun downloads only what is missing.
    #[command(after_help = AFTER_HELP, after_long_help = FETCH_EXAMPLES)]
    Fetch(FetchArgs),

    /// Check the archive: rehash every object, check every manifest record.
    ///
    /// Lists missing, corrupt and unreferenced objects and bad manifest records;
    /// exit status 2 when there is any, 0 when the archive is clean.
    #[command(after_help = AFTER_HELP)]
    Verify(VerifyArgs),

    /// Remove objects nothing refers to.
    ///
    /// An object is kept while the manifest, the notes given (links into
    /// archive/objects/) or the rewrite journal (archive/rewrites.jsonl) refer to
    /// it. Temp files left by a killed run are removed once they are an hour old.
    #[command(after_help = AFTER_HELP)]
    Gc(GcArgs),

    /// Point the notes at the archive's copies, reversibly.
    ///
    /// Every link of a kind in `rewrite.kinds` (default: image, video) whose URL
    /// has an archived object gets exactly the bytes of its URL replaced by the
    /// relative path to the object; every other byte stays. The rewrite journal
    /// (archive/rewrites.jsonl) records each change, so `--restore` puts the URLs
    /// back byte for byte, even after other edits to the notes.
    #[command(after_help = AFTER_HELP)]
    Rewrite(RewriteArgs),

    /// Show what the state database knows about one link: every check of it,
    /// and whether it is failing, since when.
    #[command(after_help = AFTER_HELP)]
    History(HistoryCmdArgs),

    /// Summarize the link checks of a period: links that died, recovered,
    /// flapped or stayed dead, by host and by note; or, with `--format html`,
    /// write one page to look at: the runs, the failures by note, the archive.
    #[command(after_help = AFTER_HELP)]
    Report(ReportArgs),

    /// Show the configuration in effect.
    #[command(after_help = AFTER_HELP)]
    Config(ConfigArgs),
}

/// Which state database, for the commands that read one.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The state database `check` records into [default: .archiver/state.db].
    #[arg(long = "state", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

/// `archiver history`.
#[derive(Debug, Args)]
pub struct HistoryCmdArgs {
    /// The URL (as written in a note, or normalized as `check` reports it).
    #[arg(value_name = "URL")]
    pub url: String,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: SummaryFormat,

    /// The state database.
    #[command(flatten)]
    pub state: StateArgs,
}

/// `archiver report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The period: a duration back from now (7d, 24h, 2w) or a date or time
    /// (2026-11-01, 2026-11-01T08:00:00Z). Default: 7d; with `--format html`,
    /// the health chart's runs, every run by default.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: ReportFormat,

    /// Write the report to this file (whole or not at all) instead of stdout;
    /// `--format html` needs one, as its links are relative to it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The state database.
    #[command(flatten)]
    pub state: StateArgs,

    /// The archive the HTML report shows (and links the failures' copies in).
    #[command(flatten)]
    pub archive: ArchiveArgs,

    /// The notes the HTML report places the failures in, by line and column.
    #[command(flatten)]
    pub notes: NotesArgs,
}

/// Formats of `report`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// For people.
    #[default]
    Text,
    /// Markdown, to paste into an issue or a job summary.
    Markdown,
    /// One JSON document, for programs.
    Json,
    /// One self-contained page (`--output FILE`): the latest run's counts,
    /// health over the runs, the failures by note, the hosts and the
    /// archive's gallery.
    Html,
}

/// Formats of `history`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    /// For people.
    #[default]
    Text,
    /// Markdown, to paste into an issue or a job summary.
    Markdown,
    /// One JSON document, for programs.
    Json,
}

/// Which notes to read, for every command that reads notes.
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// Notes to read: files, directories (walked recursively), glob patterns
    /// ("notes/**/*.md"), or - for standard input. `check` and `fetch` also take
    /// http(s) URLs to work on directly.
    #[arg(value_name = "INPUT", default_value = ".")]
    pub inputs: Vec<String>,

    /// Absolute URL that root-relative links ("/docs/a.md") resolve against.
    #[arg(long, value_name = "URL", env = "ARCHIVER_BASE_URL")]
    pub base_url: Option<String>,

    /// Folder that root-relative links point into when there is no base URL.
    #[arg(long, value_name = "DIR", env = "ARCHIVER_ROOT_DIR")]
    pub root_dir: Option<PathBuf>,

    /// Also read hidden files and folders.
    #[arg(long)]
    pub hidden: bool,

    /// Read files that .gitignore or .ignore exclude.
    #[arg(long)]
    pub no_ignore: bool,

    /// How to read standard input (`-`).
    #[arg(long, value_enum, default_value = "markdown", value_name = "FORMAT")]
    pub stdin_format: Format,
}

/// `archiver links`.
#[derive(Debug, Args)]
pub struct LinksArgs {
    /// Which notes.
    #[command(flatten)]
    pub notes: NotesArgs,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: LinksFormat,

    /// One entry per normalized URL (host lowercased, default port dropped, fragment
    /// ignored) with its count and occurrences, instead of one per occurrence.
    #[arg(short, long)]
    pub unique: bool,

    /// Only list links of these kinds (comma-separated): article, paper, pdf, code,
    /// image, video, page, local, mail, invalid, other.
    #[arg(short, long, value_delimiter = ',', value_name = "KIND")]
    pub kind: Vec<Kind>,
}

/// `archiver check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Which notes (or URLs, given as inputs: `archiver check https://…`).
    #[command(flatten)]
    pub notes: NotesArgs,

    /// A failing link whose copy the archive holds (named in the report as
    /// its archived copy) does not fail the run.
    #[arg(long)]
    pub archived_ok: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: CheckFormat,

    /// Write the report to this file (whole or not at all) instead of stdout; a
    /// one-line summary still goes to stderr.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Verdicts that make the exit status 2 (comma-separated)
    /// [default: dead,soft-dead,local-missing,invalid].
    #[arg(long, value_delimiter = ',', value_name = "VERDICT")]
    pub fail_on: Option<Vec<Verdict>>,

    /// Only check URLs matching this regular expression (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub include: Vec<String>,

    /// Do not check URLs matching this regular expression (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub exclude: Vec<String>,

    /// History, cache, baseline and what to check.
    #[command(flatten)]
    pub history: HistoryArgs,

    /// How to use the network.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// `check`'s history, cache, baseline and change-scoping options.
#[derive(Debug, Args)]
#[command(next_help_heading = "History and CI")]
#[allow(clippy::struct_excessive_bools)] // independent switches, as clap gives them
pub struct HistoryArgs {
    /// The state database that records every result and tells new failures
    /// from old ones [default: .archiver/state.db].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Record nothing and report no history.
    #[arg(long, conflicts_with_all = ["state", "only_new", "max_age"])]
    pub no_state: bool,

    /// Reuse a working result younger than this instead of asking again
    /// (failures are always asked again): 24h, 90m, 3600 [default: 0s, never].
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,

    /// Ask the network for every URL, whatever `--max-age` says.
    #[arg(long)]
    pub no_cache: bool,

    /// Exit with status 2 only for new failures (failing now, not last time),
    /// not for links that were already failing.
    #[arg(long)]
    pub only_new: bool,

    /// Check only the links on lines that differ from git revision REV: the
    /// changes of `git diff REV...HEAD` and the uncommitted ones, new files whole,
    /// in the repository of the first note or folder given.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,

    /// With --changed-since, every link in a changed file, not only those on
    /// changed lines.
    #[arg(long, requires = "changed_since")]
    pub whole_files: bool,

    /// Record this run's failures in FILE, to pass to --baseline later (a
    /// whole run: not with --changed-since).
    #[arg(long, value_name = "FILE", conflicts_with = "changed_since")]
    pub write_baseline: Option<PathBuf>,

    /// Failures listed in FILE (from --write-baseline) do not make the exit
    /// status 2; they are still reported.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// How to use the network, for every command that does.
#[derive(Debug, Args)]
#[command(next_help_heading = "Network")]
pub struct NetworkArgs {
    /// The most one request may take to answer, and the longest a download may
    /// stall: seconds (20), or with a unit (20s, 1m) [default: 20s].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Requests in flight at once, over all hosts [default: 128].
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<usize>,

    /// Requests in flight at once to one host [default: 8].
    #[arg(long, value_name = "N")]
    pub host_concurrency: Option<usize>,

    /// Connect to ADDR:PORT for HOST:PORT, keeping the URL, Host header and TLS
    /// name (curl's --connect-to; repeatable): HOST:PORT=ADDR:PORT.
    #[arg(long, value_name = "HOST:PORT=ADDR:PORT")]
    pub connect_to: Vec<String>,

    /// Trust this CA certificate (PEM) too, besides the system's (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,

    /// The User-Agent to send (site rules may still send a browser's).
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,

    /// Names that exist, looked up when hosts failed as on a machine without
    /// a network and none answered, to tell which it is (comma-separated;
    /// replaces `network.canary`).
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        env = "ARCHIVER_CANARY",
        hide = true
    )]
    pub canary: Option<Vec<String>>,
}

/// `archiver fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Which notes (or URLs to fetch directly: `archiver fetch https://…`).
    #[command(flatten)]
    pub notes: NotesArgs,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: FetchFormat,

    /// What to fetch (comma-separated): image, pdf, paper, video, article (offline
    /// snapshots of articles), page (snapshots of any other page)
    /// [default: image,pdf,paper,article].
    #[arg(long, value_delimiter = ',', value_name = "KIND")]
    pub kinds: Option<Vec<MediaKind>>,

    /// The largest object archived, counted after decompression: bytes, or with a
    /// unit (200MB, 1.5GiB) [default: 200MB].
    #[arg(long, value_name = "SIZE")]
    pub max_object_size: Option<String>,

    /// Never ask the Wayback Machine for files gone at their source (it would
    /// learn which URLs are wanted).
    #[arg(long)]
    pub no_wayback: bool,

    /// Also record every exchange archived (request, response headers and
    /// payload) as WARC/1.1 in archive/warc/, for web-archive tools such as pywb
    /// or ReplayWeb.page [config: archive.warc].
    #[arg(long)]
    pub warc: bool,

    /// Ask again for what is archived, conditionally (If-None-Match,
    /// If-Modified-Since): a changed file becomes a new object; the old one
    /// stays until `archiver gc`.
    #[arg(long)]
    pub refresh: bool,

    /// The archive.
    #[command(flatten)]
    pub archive: ArchiveArgs,

    /// How to use the network.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Which archive, for every command that uses one.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// The archive folder, or `s3://BUCKET/PREFIX` for one in object storage
    /// [default: archive, or archive.dir from the configuration].
    #[arg(long = "archive", value_name = "DIR", env = "ARCHIVER_ARCHIVE")]
    pub dir: Option<PathBuf>,
}

/// `archiver verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The archive.
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// `archiver gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The notes whose local links keep objects alive (links written as paths into
    /// the archive's objects/), besides the manifest and the rewrite journal.
    #[command(flatten)]
    pub notes: NotesArgs,

    /// List what would be removed, and remove nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// The archive.
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// `archiver rewrite`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // independent switches, as clap gives them
pub struct RewriteArgs {
    /// Which notes.
    #[command(flatten)]
    pub notes: NotesArgs,

    /// Put the original URLs back, from the rewrite journal.
    #[arg(long)]
    pub restore: bool,

    /// Show what would change, as a diff, and change nothing.
    #[arg(short = 'n', long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Change nothing; exit 2 if any note would change (a CI gate that the
    /// notes use the local copies).
    #[arg(long)]
    pub check: bool,

    /// Write a rewritten copy of the notes under DIR (at their paths relative to
    /// the current folder) and leave the notes themselves untouched.
    #[arg(long, value_name = "DIR", conflicts_with = "restore")]
    pub out: Option<PathBuf>,

    /// Which links (comma-separated): image, pdf, paper, video, article, page
    /// [default: image,video; with --only-failing, every kind].
    #[arg(long, value_delimiter = ',', value_name = "KIND")]
    pub kinds: Option<Vec<MediaKind>>,

    /// Only the links whose latest `archiver check` verdict is failing (dead,
    /// soft-dead, expired, or --fail-on's list) point at their archived copies,
    /// article snapshots included; live links keep pointing at the web.
    #[arg(long, conflicts_with = "restore")]
    pub only_failing: bool,

    /// With --only-failing: the verdicts that count as failing
    /// (comma-separated) [default: dead,soft-dead,expired].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "VERDICT",
        requires = "only_failing"
    )]
    pub fail_on: Option<Vec<Verdict>>,

    /// The archive.
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// `archiver config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the effective configuration as TOML (the default action).
    #[arg(long)]
    pub show: bool,

    /// Print the shipped default configuration, with its comments: a starting point
    /// for a user file.
    #[arg(long, conflicts_with = "show")]
    pub default: bool,
}
