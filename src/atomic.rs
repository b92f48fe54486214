//! Writing files whole or not at all, in one place: a temp file in the same
//! folder (or the archive's `tmp/`), written, fsynced, renamed over the target, and
//! the folder fsynced so that the rename survives a power cut. Temp files get the
//! permissions a plain `File::create` would give, and are named `.archiver-XXXXXX`
//! so that a later run can tell its own leftovers.

use std::fs::{self, Metadata};
use std::io::{self, Write};
use std::path::Path;

/// The start of a temp file's name.
pub const TEMP_PREFIX: &str = ".archiver-";

/// Writes a file whole or not at all: a temp file beside it, fsynced, renamed over
/// it, and the folder fsynced so the rename survives a power cut.
///
/// # Errors
/// Any I/O error; the old file is then untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    write_atomic_in(path, folder, bytes)
}

/// [`write_atomic`] with the temp file in `temp_dir` (on the same file system):
/// a kill between its creation and the rename leaves it there, where a later
/// run sweeps it, rather than beside `path`.
///
/// # Errors
/// Any I/O error; the old file is then untouched.
pub fn write_atomic_in(path: &Path, temp_dir: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut temp = temp_file_in(temp_dir, TEMP_PREFIX, "")?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(folder)
}

/// A new temp file in `dir` named `<prefix>…<suffix>`, with the
/// permissions a plain `File::create` gives (0666 less the umask: 0644 under
/// umask 022). tempfile's own default, 0600, would leave objects, manifest and
/// journal unreadable to a web server serving the archive once renamed into
/// place.
///
/// # Errors
/// The file cannot be created.
pub fn temp_file_in(dir: &Path, prefix: &str, suffix: &str) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode is given to open(2), which takes the umask off it.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// fsyncs a folder, so the names created or renamed in it are durable.
///
/// # Errors
/// The folder cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Writes `bytes` to a durable temp file beside the target, with the target's
/// permissions.
///
/// # Errors
/// The temp file cannot be made, written or synced.
pub fn durable_temp(
    folder: &Path,
    like: &Metadata,
    bytes: &[u8],
) -> io::Result<tempfile::NamedTempFile> {
    let mut temp = temp_file_in(folder, TEMP_PREFIX, "")?;
    temp.write_all(bytes)?;
    temp.as_file().set_permissions(like.permissions())?;
    temp.as_file().sync_all()?;
    Ok(temp)
}

/// Replaces the file at `path` whole, keeping its permissions (a copy the run
/// made itself: `rewrite --out`).
///
/// # Errors
/// Any I/O error; the old file is then untouched.
pub fn replace_keeping_permissions(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = folder_of(path);
    let like = fs::metadata(path)?;
    let temp = durable_temp(folder, &like, bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(folder)
}

/// The folder a path's file is in (`.` for a bare name).
#[must_use]
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
