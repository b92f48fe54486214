//! archiver keeps a collection of notes (Markdown, HTML, plain text) alive: it finds
//! every link in them, checks that each still works, mirrors the media they depend on
//! into a local content-addressed archive, and rewrites the notes to use the local
//! copies.
//!
//! The pipeline, one module per stage: [`input`] chooses the notes, [`extract`] finds
//! their links ([`link`]) with exact byte spans, [`classify`] resolves each URL and
//! decides its kind ([`media`]) using the site rules of [`sites`] and the
//! [`config`]. To check them, the [`driver`] runs the work host by host (results,
//! network watch, Ctrl-C, progress) while [`net`] asks the web politely (with
//! [`batch`] asking APIs for many URLs at once), [`judge`] turns each answer into a
//! [`verdict`], and [`state`] keeps every run for the history ([`changes`] narrows a
//! run to what git says changed). To keep them, [`mirror`] downloads media into the
//! content-addressed [`store`] (one storage trait; a local folder today), whose
//! [`manifest`] maps URLs to objects, and [`rewrite`] points the notes at the copies
//! and back, replacing a note only through [`note_file`]; [`references`] says what
//! still refers to an object. [`snapshot`] makes a fetched article an offline page
//! and [`warc`] records HTTP exchanges as WARC files. [`report`] writes the results;
//! [`error`] says what went wrong; [`units`] reads and writes durations and sizes.
//! [`commands`] orchestrates each subcommand; [`cli`] is the only place that knows
//! clap.
//! docs/architecture.md maps every file.

#![warn(missing_docs, clippy::pedantic)]
// Prose names (CommonMark, WeChat, arXiv) are not code; backticks would be noise.
#![allow(
    clippy::module_name_repetitions,
    clippy::must_use_candidate,
    clippy::doc_markdown
)]

pub mod atomic;
pub mod batch;
pub mod changes;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod driver;
pub mod error;
pub mod extract;
pub mod input;
pub mod judge;
pub mod link;
mod logging;
pub mod manifest;
pub mod media;
pub mod mirror;
pub mod net;
pub mod note_file;
pub mod references;
pub mod report;
pub mod rewrite;
pub mod sites;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod units;
pub mod verdict;
pub mod warc;

use cli::{Cli, Command};
use config::{Overrides, Settings, UserConfig};
pub use error::Error;

/// How the process ends. Findings are data, not errors: they end with
/// [`ExitStatus::Findings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// Everything worked and nothing was found wanting.
    Success = 0,
    /// A runtime error: an input or a note could not be read, and so on.
    Failure = 1,
    /// The command ran and found problems (failing links, archive damage).
    Findings = 2,
    /// The command line or the configuration is wrong.
    Usage = 3,
    /// Interrupted by Ctrl-C.
    Interrupted = 130,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}

/// Runs a parsed command line and reports errors on stderr.
pub fn run(cli: &Cli) -> ExitStatus {
    let verbosity = if cli.global.quiet {
        -1
    } else {
        i8::try_from(cli.global.verbose).unwrap_or(i8::MAX)
    };
    logging::init(verbosity);

    let result = settings_for(cli).and_then(|settings| match &cli.command {
        Command::Links(args) => commands::links::run(args, &settings),
        Command::Check(args) => commands::check::run(args, &settings),
        Command::Fetch(args) => commands::fetch::run(args, &settings),
        Command::Verify(args) => commands::verify::run(args, &settings),
        Command::Gc(args) => commands::gc::run(args, &settings),
        Command::Rewrite(args) => commands::rewrite::run(args, &settings),
        Command::History(args) => commands::history::run(args, &settings),
        Command::Report(args) => commands::report::run(args, &settings),
        Command::Config(args) => commands::config::run(args, &settings),
    });
    match result {
        Ok(status) => status,
        // `archiver links | head` closing the pipe early is not a failure.
        Err(e) if e.is_broken_pipe() => ExitStatus::Success,
        Err(e) => {
            tracing::error!("{e}");
            e.exit_status()
        }
    }
}

fn settings_for(cli: &Cli) -> Result<Settings, Error> {
    let user = match &cli.global.config {
        Some(path) => UserConfig::File(path.clone()),
        None => UserConfig::Discover,
    };
    let overrides = match &cli.command {
        Command::Links(args) => Overrides {
            base_url: args.notes.base_url.clone(),
            root_dir: args.notes.root_dir.clone(),
            ..Overrides::default()
        },
        Command::Check(args) => Overrides {
            fail_on: args.fail_on.clone(),
            include: args.include.clone(),
            exclude: args.exclude.clone(),
            max_age: args.history.max_age.clone(),
            state_path: args.history.state.clone(),
            ..network_overrides(&args.notes, &args.network)
        },
        Command::Fetch(args) => Overrides {
            archive_dir: args.archive.dir.clone(),
            fetch_kinds: args.kinds.clone(),
            max_object_size: args.max_object_size.clone(),
            no_wayback: args.no_wayback,
            warc: args.warc,
            ..network_overrides(&args.notes, &args.network)
        },
        Command::Verify(args) => Overrides {
            archive_dir: args.archive.dir.clone(),
            ..Overrides::default()
        },
        Command::Rewrite(args) => Overrides {
            base_url: args.notes.base_url.clone(),
            root_dir: args.notes.root_dir.clone(),
            archive_dir: args.archive.dir.clone(),
            rewrite_kinds: args.kinds.clone(),
            ..Overrides::default()
        },
        Command::Gc(args) => Overrides {
            base_url: args.notes.base_url.clone(),
            root_dir: args.notes.root_dir.clone(),
            archive_dir: args.archive.dir.clone(),
            ..Overrides::default()
        },
        Command::History(args) => Overrides {
            state_path: args.state.path.clone(),
            ..Overrides::default()
        },
        Command::Report(args) => Overrides {
            state_path: args.state.path.clone(),
            base_url: args.notes.base_url.clone(),
            root_dir: args.notes.root_dir.clone(),
            archive_dir: args.archive.dir.clone(),
            ..Overrides::default()
        },
        Command::Config(_) => Overrides::default(),
    };
    Settings::load(&user, &overrides)
}

fn network_overrides(notes: &cli::NotesArgs, network: &cli::NetworkArgs) -> Overrides {
    Overrides {
        base_url: notes.base_url.clone(),
        root_dir: notes.root_dir.clone(),
        timeout: network.timeout.clone(),
        max_concurrency: network.max_concurrency,
        host_concurrency: network.host_concurrency,
        user_agent: network.user_agent.clone(),
        connect_to: network.connect_to.clone(),
        ca_certs: network.ca_cert.clone(),
        canary: network.canary.clone(),
        ..Overrides::default()
    }
}
