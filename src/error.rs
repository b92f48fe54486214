//! The crate's one error type. Each variant names the file, pattern or URL involved,
//! keeps its cause, and knows which exit status it maps to.

use std::io;
use std::path::PathBuf;

use crate::ExitStatus;

/// Everything that can stop a command or one of its inputs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// A configuration file is not valid TOML or has unknown keys.
    #[error("invalid config file {}: {}", path.display(), source.to_string().trim_end())]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// The parser's complaint, with line and column (its text ends in a line
        /// break, which the message leaves out).
        #[source]
        source: Box<toml::de::Error>,
    },

    /// A configuration value (from a file, the environment or a flag) is unusable.
    #[error("invalid configuration ({origin}): {message}{}", after_colon(source.as_deref()))]
    ConfigValue {
        /// Where the value came from: a file path, a flag or a variable.
        origin: String,
        /// What is wrong and what would be right (the cause, when there is
        /// one, is said after it).
        message: String,
        /// The error behind it (a CA file that is not PEM, a TLS or HTTP client
        /// setup that failed), if one is.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// An input named on the command line does not exist.
    #[error("{}: no such file or directory", path.display())]
    InputNotFound {
        /// The input as given.
        path: PathBuf,
    },

    /// An input that exists but is not a regular file (a FIFO, a device, a
    /// socket) or a symlink that cannot be followed (a loop, a missing target).
    #[error("{}: {what}", path.display())]
    NotAFile {
        /// The input as given or found.
        path: PathBuf,
        /// What it is, and what to do.
        what: String,
    },

    /// An input glob pattern matched nothing.
    #[error("pattern `{pattern}` matched no files")]
    NoMatch {
        /// The pattern as given.
        pattern: String,
    },

    /// An input glob pattern is malformed.
    #[error("invalid glob pattern `{pattern}`: {source}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// The parser's complaint.
        #[source]
        source: globset::Error,
    },

    /// A directory could not be walked (permissions, a vanished folder, a loop).
    #[error("cannot walk {}: {source}", path.display())]
    Walk {
        /// The folder being walked.
        path: PathBuf,
        /// Why.
        #[source]
        source: ignore::Error,
    },

    /// A note could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The note.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// Standard input could not be read.
    #[error("cannot read standard input: {0}")]
    Stdin(#[source] io::Error),

    /// A bug: reading this note failed where it never should. The other notes are
    /// still read.
    #[error("internal error while reading {}: {message}; please report it, with the file", path.display())]
    Internal {
        /// The note.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// The async runtime for the network work could not be started (the
    /// operating system refused its threads).
    #[error("cannot start the runtime for the network work: {0}")]
    Runtime(#[source] io::Error),

    /// No host answered: the network (or DNS, or the proxy) is down, which says
    /// nothing about the links.
    #[error("the network looks down: {0}")]
    NetworkDown(String),

    /// A file (a report) could not be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// The archive cannot be used: missing, another version, locked by another
    /// run, or a file in it that cannot be read or written.
    #[error("archive {}: {message}{}", path.display(), after_colon(source.as_ref()))]
    Archive {
        /// The archive folder, or the file in it.
        path: PathBuf,
        /// What is wrong and what to do (the cause, when there is one, is
        /// said after it).
        message: String,
        /// The I/O error behind it, if one is.
        #[source]
        source: Option<io::Error>,
    },

    /// The state database cannot be used: not a database, written by a newer
    /// version, or held by another run for too long.
    #[error("state database {}: {message}", path.display())]
    State {
        /// The database file.
        path: PathBuf,
        /// What is wrong (with the cause's own words) and what to do.
        message: String,
        /// The SQLite or I/O error behind it, if one is.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// `--changed-since`: git could not say what changed.
    #[error("--changed-since {rev}: {message}")]
    ChangedSince {
        /// The revision given.
        rev: String,
        /// What git said, and what to do.
        message: String,
        /// Why git could not be run, when it could not.
        #[source]
        source: Option<io::Error>,
    },

    /// The report could not be written.
    #[error("cannot write output: {0}")]
    Output(#[source] io::Error),
}

/// `: {error}` when there is an error, to follow a message.
fn after_colon<E: std::fmt::Display + ?Sized>(error: Option<&E>) -> String {
    error.map(|e| format!(": {e}")).unwrap_or_default()
}

impl Error {
    /// An [`Error::ConfigValue`] without an underlying error: `message` says
    /// what is wrong with the value from `origin`.
    #[must_use]
    pub fn config_value(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Error::ConfigValue {
            origin: origin.into(),
            message: message.into(),
            source: None,
        }
    }

    /// An [`Error::ConfigValue`] caused by `source`: the message says what could
    /// not be done with the value from `origin`, and the error why.
    #[must_use]
    pub fn config_value_because(
        origin: impl Into<String>,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::ConfigValue {
            origin: origin.into(),
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::Archive`] without an underlying error: `message` says it all.
    #[must_use]
    pub fn archive(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Archive {
            path: path.into(),
            message: message.into(),
            source: None,
        }
    }

    /// An [`Error::Archive`] caused by `source`: the message says what could
    /// not be done (`cannot read the manifest`), and the error why.
    #[must_use]
    pub fn archive_io(
        path: impl Into<PathBuf>,
        message: impl Into<String>,
        source: io::Error,
    ) -> Self {
        Error::Archive {
            path: path.into(),
            message: message.into(),
            source: Some(source),
        }
    }

    /// The exit status this error ends the process with.
    #[must_use]
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::ConfigRead { .. } | Error::ConfigParse { .. } | Error::ConfigValue { .. } => {
                ExitStatus::Usage
            }
            // A revision git does not know, or no repository: the command
            // line asks for something that is not there.
            Error::Glob { .. } | Error::ChangedSince { .. } => ExitStatus::Usage,
            _ => ExitStatus::Failure,
        }
    }

    /// Whether this error is a closed output pipe (`archiver links | head`), which is
    /// not a failure.
    #[must_use]
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
