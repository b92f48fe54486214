//! Replacing a user's file whole, and only while it still holds what was read.
//!
//! A note is rewritten from bytes read a moment earlier, and the user (an
//! editor's autosave, a sync tool, a script appending a line) may write to it in
//! between. The new text goes to a temp file beside the note (with the note's
//! permissions, fsynced), and takes the note's place only if the note still
//! holds the bytes read. A rename cannot be made conditional, so on Linux the
//! two names are exchanged (`RENAME_EXCHANGE`): the file that was at the note's
//! name is then still there under the temp name, and is looked at once more. If
//! it is not the text that was read (a write slipped in, or an editor saved a
//! new file), the names are exchanged back, and anything appended to the new
//! text meanwhile is added to the user's. Elsewhere a plain rename follows the
//! last look. Either way the caller learns when a note was left as the user has
//! it.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

use crate::atomic::{TEMP_PREFIX, durable_temp};

/// What became of a replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// The file now holds the new bytes.
    Done,
    /// The file changed since it was read: it was left as it is now.
    ChangedMeanwhile,
}

/// Replaces the file at `path` with `new`, if it still holds `expected`.
///
/// # Errors
/// An I/O error: the file cannot be read, the temp file cannot be written, or
/// a name cannot be changed.
pub fn replace_if_unchanged(path: &Path, expected: &[u8], new: &[u8]) -> io::Result<Replaced> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut old = File::open(path)?;
    let seen = old.metadata()?;
    if read_all(&mut old)? != expected {
        return Ok(Replaced::ChangedMeanwhile);
    }
    let temp = durable_temp(folder, &seen, new)?;
    if !still_same(path, &old, &seen)? {
        return Ok(Replaced::ChangedMeanwhile);
    }
    #[cfg(target_os = "linux")]
    match exchange(temp.path(), path) {
        Ok(()) => return settle_exchange(temp, path, folder, expected, new),
        // A file system without exchange: the plain rename below.
        Err(e) if matches!(e.raw_os_error(), Some(22 | 38 | 95)) => {}
        Err(e) => return Err(e),
    }
    temp.persist(path).map_err(|e| e.error)?;
    crate::store::sync_dir(folder)?;
    Ok(Replaced::Done)
}

/// After the exchange: the new text is at `path`, and what was there is at
/// `temp`'s name. Keeps the exchange if that is the text read; otherwise puts
/// the user's file back.
#[cfg(target_os = "linux")]
fn settle_exchange(
    temp: tempfile::NamedTempFile,
    path: &Path,
    folder: &Path,
    expected: &[u8],
    new: &[u8],
) -> io::Result<Replaced> {
    let theirs = std::fs::read(temp.path())?;
    if theirs == expected {
        // `temp` now names the old text: dropping it removes it.
        drop(temp);
        crate::store::sync_dir(folder)?;
        return Ok(Replaced::Done);
    }
    exchange(temp.path(), path)?;
    // Bytes appended to the new text while it stood at the note's name are the
    // user's too.
    let ours = std::fs::read(temp.path())?;
    if let Some(appended) = ours.strip_prefix(new)
        && !appended.is_empty()
    {
        let mut note = std::fs::OpenOptions::new().append(true).open(path)?;
        note.write_all(appended)?;
        note.sync_all()?;
    }
    drop(temp);
    crate::store::sync_dir(folder)?;
    Ok(Replaced::ChangedMeanwhile)
}

/// Swaps the files at two names, atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

/// Random characters after [`TEMP_PREFIX`].
const TEMP_RANDOM: usize = 6;

/// Removes the temp files a killed run left in `folder` (files named
/// [`TEMP_PREFIX`] and six random characters); returns them. Only for a run
/// that holds the archive exclusively: another run's temp files would be live.
pub fn sweep_leftovers(folder: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix(TEMP_PREFIX).is_some_and(|rest| {
                rest.len() == TEMP_RANDOM && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            }) && entry.file_type().is_ok_and(|t| t.is_file())
        })
        .map(|entry| entry.path())
        .filter(|path| std::fs::remove_file(path).is_ok())
        .collect()
}

/// The whole file, from its start.
fn read_all(file: &mut File) -> io::Result<Vec<u8>> {
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Whether `path` is still the file `open` and unchanged since `seen`.
fn still_same(path: &Path, open: &File, seen: &Metadata) -> io::Result<bool> {
    let at_path = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(same_file(&at_path, seen) && unchanged(&open.metadata()?, seen))
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    true
}

/// Same size and modification time (to the nanosecond where the file system
/// keeps them), and on Unix the same change time.
fn unchanged(now: &Metadata, seen: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (now.ctime(), now.ctime_nsec()) != (seen.ctime(), seen.ctime_nsec()) {
            return false;
        }
    }
    now.len() == seen.len() && now.modified().ok() == seen.modified().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_still_as_read_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.md");
        std::fs::write(&path, "old\n").unwrap();
        assert_eq!(
            replace_if_unchanged(&path, b"old\n", b"new\n").unwrap(),
            Replaced::Done
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        // No temp file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.md");
        std::fs::write(&path, "old\nmore\n").unwrap();
        assert_eq!(
            replace_if_unchanged(&path, b"old\n", b"new\n").unwrap(),
            Replaced::ChangedMeanwhile
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"old\nmore\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
