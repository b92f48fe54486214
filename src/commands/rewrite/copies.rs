//! `rewrite --out DIR`: rewritten copies of the notes under another folder, the
//! notes themselves and the journal left alone.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Changed, Counts};
use crate::atomic::replace_keeping_permissions;
use crate::{Error, ExitStatus};

/// Writes the rewritten copies under `--out`.
pub(super) fn write_copies(
    changed: &[Changed],
    Counts {
        links,
        notes,
        missing,
    }: Counts,
    out: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    for (plan, _, new) in changed {
        if let Some(dest) = &plan.dest {
            copy_note(&plan.path, dest, new)?;
            writeln!(
                out,
                "wrote  {} ({} links)",
                dest.display(),
                plan.edits.len()
            )
            .map_err(Error::Output)?;
        }
    }
    writeln!(
        out,
        "rewrote {links} links in {notes} copies; {missing} not archived"
    )
    .map_err(Error::Output)?;
    Ok(ExitStatus::Success)
}

/// The current folder and the output folder (created), both absolute.
pub(super) fn out_dir(dir: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let failed = |source: std::io::Error| Error::WriteFile {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let out = std::fs::canonicalize(dir).map_err(failed)?;
    let cwd = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .map_err(failed)?;
    if out == cwd {
        return Err(Error::WriteFile {
            path: dir.to_path_buf(),
            source: std::io::Error::other(
                "--out is the current folder: the copies would overwrite the notes; name another folder",
            ),
        });
    }
    Ok((cwd, out))
}

/// Writes the copy of `note` at `dest`, with the note's permissions.
pub(super) fn copy_note(note: &Path, dest: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::WriteFile {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    // Never through a symlink planted in the output folder.
    if std::fs::symlink_metadata(dest).is_ok_and(|m| m.is_symlink()) {
        return Err(Error::WriteFile {
            path: dest.to_path_buf(),
            source: std::io::Error::other("a symlink stands there; not written through"),
        });
    }
    if !dest.exists() {
        std::fs::copy(note, dest).map_err(|source| Error::WriteFile {
            path: dest.to_path_buf(),
            source,
        })?;
    }
    write_note(dest, bytes)
}

/// Writes a copy under `--out` whole, with the permissions it has.
fn write_note(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    replace_keeping_permissions(path, bytes).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}
