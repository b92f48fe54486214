//! The archive lock: an operating-system lock (flock) on the archive's `FORMAT`
//! file, held exclusively by `fetch`, `gc` and `rewrite` (they write) and shared
//! by `verify` (it reads).
//!
//! The lock is on `FORMAT` because a valid archive cannot be without it: a file
//! whose only job is to be locked can be deleted by hand or by `git clean -X`
//! while a run holds it, and the next run would create a fresh one, lock that,
//! and get in beside the first. `FORMAT` is committed with the archive and
//! never rewritten, so the lock stays on the file every run opens. The
//! operating system drops the lock when the process ends, however it ends, so a
//! killed run never leaves the archive locked.
//!
//! Who holds the lock is written to `archive/lock`, for the message another run
//! prints; that file is information only, and losing it loses nothing but the
//! name in the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// How the archive is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Alone: for commands that write.
    Exclusive,
    /// With other readers: for commands that only read.
    Shared,
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    /// The locked `FORMAT` file; the lock lives as long as this handle.
    _file: File,
    /// `archive/lock`, naming the holder, for an exclusive hold.
    holder: Option<PathBuf>,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // The holder's name goes with the hold, so a later message never names a
        // process long gone (a kill skips this, but a killed holder holds nothing).
        if let Some(path) = &self.holder {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// How often a lock is retried when `FORMAT` was replaced between opening and
/// locking it (a `git checkout` rewrites files that way).
const REPLACED_TRIES: usize = 3;

impl Lock {
    /// Takes the lock of the archive at `root` without waiting; `command` names
    /// the run (`fetch`, `gc` …) in the message another run prints. `FORMAT`
    /// must exist.
    ///
    /// # Errors
    /// [`Error::Archive`] saying who holds it, when another run does; or when
    /// `FORMAT` cannot be opened or locked.
    pub fn acquire(root: &Path, mode: LockMode, command: &str) -> Result<Self, Error> {
        let format = root.join("FORMAT");
        let fail = |message: String| Error::archive(root, message);
        for _ in 0..REPLACED_TRIES {
            let file = open_format(&format, mode).map_err(|e| {
                Error::archive_io(
                    root,
                    format!("cannot open {} to lock the archive", format.display()),
                    e,
                )
            })?;
            let taken = match mode {
                LockMode::Exclusive => file.try_lock(),
                LockMode::Shared => file.try_lock_shared(),
            };
            match taken {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(root.join("lock")).unwrap_or_default();
                    let holder = holder.trim();
                    let who = if holder.is_empty() {
                        "another archiver run".to_owned()
                    } else {
                        holder.to_owned()
                    };
                    return Err(fail(format!(
                        "archive locked by {who}; wait for it to finish, then run this again"
                    )));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::archive_io(
                        root,
                        format!("cannot lock {}", format.display()),
                        e,
                    ));
                }
            }
            // The name may have been given to another file between the open and
            // the lock: the lock only counts on the file every run opens.
            if !same_file(&file, &format) {
                continue;
            }
            let holder = (mode == LockMode::Exclusive).then(|| {
                let path = root.join("lock");
                // Best effort: the lock itself is what counts.
                let _ = write_holder(&path, command);
                path
            });
            return Ok(Lock {
                _file: file,
                holder,
            });
        }
        Err(fail(format!(
            "{} keeps being replaced while it is locked; run this again once nothing else writes the archive",
            format.display()
        )))
    }
}

/// Opens `FORMAT` for locking. Writable when it can be (a lock on a network file
/// system may need it); a reader also takes a read-only copy of an archive.
fn open_format(format: &Path, mode: LockMode) -> std::io::Result<File> {
    match OpenOptions::new().read(true).write(true).open(format) {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(e),
        Err(e) => match mode {
            LockMode::Shared => File::open(format),
            LockMode::Exclusive => File::open(format).map_err(|_| e),
        },
    }
}

/// Whether the open `file` is still the one at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.is_file()
    }
}

/// Writes `pid N on host H (`archiver COMMAND`)` to `path`.
fn write_holder(path: &Path, command: &str) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    write!(
        file,
        "pid {} on host {} (`archiver {command}`)",
        std::process::id(),
        host_name()
    )
}

/// This machine's name, as far as it can be learnt without asking the network.
pub(crate) fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .chain(std::env::var("HOSTNAME").ok())
        .chain(std::env::var("COMPUTERNAME").ok())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
