//! Running the binary in a test, fluently: build the command, say which exit
//! code it must end with, then read its output as text, JSON, JSON lines or a
//! report by URL.
//!
//! ```ignore
//! let stdout = tree.archiver().args(["verify"]).expect(Exit::Findings).stdout;
//! let Report { summary, results, .. } = tree
//!     .check(&fixture)
//!     .arg("notes")
//!     .expect(Exit::Success)
//!     .report();
//! tree.archiver().args(["gc", "nowhere"]).expect(Exit::Error).stderr_has("no archive");
//! ```
//!
//! A failed expectation names the command and shows everything it printed, so
//! the assertion that follows needs no message of its own about the exit code.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// The exit codes the binary documents (docs/commands.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: everything worked and nothing was found wrong.
    Success,
    /// 1: a runtime error (an unreadable note, a locked archive, the network down).
    Error,
    /// 2: findings: failing links, failed downloads, archive problems.
    Findings,
    /// 3: a usage or configuration error.
    Usage,
    /// 130: stopped by Ctrl-C or SIGTERM, with a partial report.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Error => 1,
            Self::Findings => 2,
            Self::Usage => 3,
            Self::Interrupted => 130,
        }
    }
}

/// A command being built: the binary in a folder, with a clean environment
/// (see [`super::archiver_process`]).
pub struct Run {
    cmd: Command,
    shown: Vec<String>,
}

impl Run {
    /// The binary run from `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            cmd: Command::from_std(super::archiver_process(dir)),
            shown: Vec::new(),
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Takes an environment variable away from the run.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Feeds `bytes` on standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.cmd.write_stdin(bytes);
        self
    }

    /// Kills the run after `limit`: a hung run fails its test instead of the suite.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.cmd.timeout(limit);
        self
    }

    /// Runs it and asserts that it exits with `exit`.
    #[track_caller]
    pub fn expect(self, exit: Exit) -> Ran {
        let ran = self.finish();
        assert_eq!(
            ran.code,
            Some(exit.code()),
            "archiver {} exited {:?}, not {exit:?}\nstdout: {}\nstderr: {}",
            ran.command,
            ran.code,
            ran.stdout,
            ran.stderr
        );
        ran
    }

    /// Runs it, whatever its exit code; the test looks at [`Ran::code`] itself
    /// (a helper that hands the code back, or a run that may or may not fail).
    pub fn finish(mut self) -> Ran {
        let output = self.cmd.output().expect("archiver runs");
        Ran {
            command: self.shown.join(" "),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            stdout_bytes: output.stdout,
        }
    }
}

/// A finished run: its exit code and what it printed.
pub struct Ran {
    /// The arguments, for messages.
    pub command: String,
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// Standard output as it came.
    pub stdout_bytes: Vec<u8>,
}

impl Ran {
    /// The exit code, or -1 when a signal ended the run.
    pub fn code(&self) -> i32 {
        self.code.unwrap_or(-1)
    }

    /// Asserts that standard output contains `text`.
    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "archiver {}: no {text:?} in stdout: {}",
            self.command,
            self.stdout
        );
        self
    }

    /// Asserts that standard output is exactly `text`.
    #[track_caller]
    pub fn stdout_is(self, text: impl AsRef<str>) -> Self {
        assert_eq!(self.stdout, text.as_ref(), "archiver {}", self.command);
        self
    }

    /// Asserts that standard output starts with `text`.
    #[track_caller]
    pub fn stdout_starts_with(self, text: &str) -> Self {
        assert!(
            self.stdout.starts_with(text),
            "archiver {}: stdout does not start with {text:?}: {}",
            self.command,
            self.stdout
        );
        self
    }

    /// Asserts that standard error contains `text`.
    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "archiver {}: no {text:?} in stderr: {}",
            self.command,
            self.stderr
        );
        self
    }

    /// Asserts that standard error does not contain `text`.
    #[track_caller]
    pub fn stderr_lacks(self, text: &str) -> Self {
        assert!(
            !self.stderr.contains(text),
            "archiver {}: {text:?} in stderr: {}",
            self.command,
            self.stderr
        );
        self
    }

    /// Standard output as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout_bytes).unwrap_or_else(|e| {
            panic!(
                "archiver {} printed no JSON ({e}): {}\nstderr: {}",
                self.command, self.stdout, self.stderr
            )
        })
    }

    /// Standard output as JSON lines, one value a line.
    pub fn jsonl(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!(
                        "archiver {} printed a line not JSON ({e}): {l}",
                        self.command
                    )
                })
            })
            .collect()
    }

    /// Standard output as a JSON report (`check` or `fetch --format json`).
    pub fn report(&self) -> Report {
        let (doc, results) = super::json_report(&self.stdout_bytes, self.stderr.as_bytes());
        Report {
            summary: doc["summary"].clone(),
            doc,
            results,
        }
    }
}

/// A JSON report of `check` or `fetch`, taken apart.
pub struct Report {
    /// The whole document.
    pub doc: Value,
    /// Its `summary` object.
    pub summary: Value,
    /// Its results by URL.
    pub results: BTreeMap<String, Value>,
}
