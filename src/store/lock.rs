//! The archive lock: `archive/lock`, locked exclusively by `fetch` and `gc` (they
//! write) and shared by `verify` (it reads). The operating system drops the lock
//! when the process ends, however it ends, so a killed run never leaves the
//! archive locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

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
    /// `None` for a read-only archive whose lock file cannot be created.
    file: Option<File>,
    mode: LockMode,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // The holder's name goes with the hold, so a later message never names a
        // process long gone (a kill skips this, but a killed holder holds nothing).
        if self.mode == LockMode::Exclusive
            && let Some(file) = &self.file
        {
            let _ = file.set_len(0);
        }
    }
}

impl Lock {
    /// Takes the lock of the archive at `root` without waiting.
    ///
    /// # Errors
    /// [`Error::Archive`] saying who holds it, when another run does; or when the
    /// lock file cannot be opened.
    pub fn acquire(root: &Path, mode: LockMode) -> Result<Self, Error> {
        let path = root.join("lock");
        let fail = |message: String| Error::Archive {
            path: root.to_path_buf(),
            message,
        };
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        let mut file = match opened {
            Ok(file) => file,
            // A reader may look at a read-only copy of an archive.
            Err(_) if mode == LockMode::Shared => match File::open(&path) {
                Ok(file) => file,
                Err(_) => return Ok(Lock { file: None, mode }),
            },
            Err(e) => {
                return Err(fail(format!(
                    "cannot open the lock file {}: {e}",
                    path.display()
                )));
            }
        };
        let taken = match mode {
            LockMode::Exclusive => file.try_lock(),
            LockMode::Shared => file.try_lock_shared(),
        };
        match taken {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another archiver run".to_owned()
                } else {
                    format!("another archiver run ({holder})")
                };
                return Err(fail(format!(
                    "in use by {who}; wait for it to finish, then run this again"
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(fail(format!("cannot lock {}: {e}", path.display())));
            }
        }
        if mode == LockMode::Exclusive {
            // Who holds it, for the message another run prints. Best effort: the
            // lock itself is what counts.
            let _ = file.set_len(0).and_then(|()| {
                file.rewind()?;
                write!(file, "process {}", std::process::id())
            });
        }
        Ok(Lock {
            file: Some(file),
            mode,
        })
    }
}
