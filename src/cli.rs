//! The command line: one clap `Args` struct per subcommand. Nothing past this module
//! sees clap types; commands get plain values and resolved `Settings`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::extract::Format;
use crate::link::Kind;
use crate::report::links::LinksFormat;

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

    /// Show the configuration in effect.
    #[command(after_help = AFTER_HELP)]
    Config(ConfigArgs),
}

/// Which notes to read, for every command that reads notes.
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// Notes to read: files, directories (walked recursively), glob patterns
    /// ("notes/**/*.md"), or - for standard input.
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
