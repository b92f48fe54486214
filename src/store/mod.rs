//! The archive: content-addressed objects, the manifest and the rewrite
//! journal, behind one [`Storage`] trait ([`backend`]) with two
//! implementations: a local folder ([`local`]) and object storage ([`remote`]).
//!
//! An object's name is its content's sha256 and an extension chosen from its
//! magic bytes by a fixed table, so nothing a server sends can choose a path.
//! Objects are hashed while they stream ([`write`]) and only then kept under
//! their name, never half-written; an object already there is success. The
//! archive is locked for as long as it is open ([`lock`]).

pub mod backend;
pub mod intact;
pub mod local;
pub mod lock;
pub mod remote;
pub mod verify;
pub mod write;

use std::path::Path;

pub use crate::atomic::{sync_dir, temp_file_in, write_atomic, write_atomic_in};
pub use backend::{ArchiveFile, EntryKind, Listed, Staged, Storage};
pub use local::Local;
pub use lock::{Lock, LockMode};
pub use remote::Remote;

use crate::error::Error;

/// The first line of `FORMAT`: this layout, version 1.
pub const FORMAT_LINE: &str = "archiver-archive 1";

/// The rewrite journal's file name inside the archive.
pub const JOURNAL: &str = "rewrites.jsonl";

/// The manifest's file name inside the archive (see `crate::manifest`).
pub const MANIFEST: &str = "manifest.jsonl";

/// An object's file name, parsed: `<sha256>.<ext>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectName {
    /// The lowercase hex sha256 of its content.
    pub sha256: String,
    /// The extension, without the dot.
    pub extension: String,
}

impl ObjectName {
    /// Parses `objects/ab/<sha256>.<ext>` (relative to the archive folder, `/`
    /// separated), checking that the fan-out folder matches the hash.
    #[must_use]
    pub fn from_relative(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("objects/")?;
        let (fan, file) = rest.split_once('/')?;
        let name = Self::from_file_name(file)?;
        (fan == &name.sha256[..2]).then_some(name)
    }

    /// Parses a file name `<sha256>.<ext>`.
    #[must_use]
    pub fn from_file_name(file: &str) -> Option<Self> {
        let (sha, ext) = file.split_once('.')?;
        let hex = sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let ext_ok = !ext.is_empty()
            && ext.len() <= 8
            && ext
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        (hex && ext_ok).then(|| ObjectName {
            sha256: sha.to_owned(),
            extension: ext.to_owned(),
        })
    }

    /// The path relative to the archive folder: `objects/ab/<sha256>.<ext>`.
    #[must_use]
    pub fn relative(&self) -> String {
        format!(
            "objects/{}/{}.{}",
            &self.sha256[..2],
            self.sha256,
            self.extension
        )
    }
}

/// Opens (creating it if `create`) the archive at `location`, taking its lock
/// in `mode` for `command` (named in the message another run gets). This is
/// where a backend is chosen: `s3://bucket/prefix` is an archive on object
/// storage ([`remote`]), anything else a local folder ([`local`]).
///
/// # Errors
/// [`Error::Archive`] when there is no archive there (and none is to be
/// created), it is another version's, it cannot be written, or another run
/// holds its lock.
pub fn open(
    location: &Path,
    mode: LockMode,
    create: bool,
    command: &str,
) -> Result<Box<dyn Storage>, Error> {
    if remote::is_remote(location) {
        return Ok(Box::new(Remote::open(location, mode, create, command)?));
    }
    Ok(Box::new(Local::open(location, mode, create, command)?))
}

/// The archive at `location`, looked at without its lock (see
/// [`Local::unlocked`], [`Remote::unlocked`]): for `check`'s archived marks.
#[must_use]
pub fn look(location: &Path) -> Box<dyn Storage> {
    if remote::is_remote(location) {
        if let Some(remote) = Remote::unlocked(location) {
            return Box::new(remote);
        }
        tracing::warn!("{}: cannot set up an S3 client for it", location.display());
    }
    Box::new(Local::unlocked(location))
}

/// Lowercase hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_come_from_hashes_only() {
        let sha = "ab".repeat(32);
        let name = ObjectName::from_relative(&format!("objects/ab/{sha}.png")).unwrap();
        assert_eq!(name.extension, "png");
        assert_eq!(name.relative(), format!("objects/ab/{sha}.png"));
        // The wrong fan-out folder, an uppercase hash, a path in the extension.
        assert!(ObjectName::from_relative(&format!("objects/cd/{sha}.png")).is_none());
        assert!(ObjectName::from_file_name(&format!("{}.png", "AB".repeat(32))).is_none());
        assert!(ObjectName::from_file_name(&format!("{sha}.p/ng")).is_none());
        assert!(ObjectName::from_file_name(&format!("{sha}.")).is_none());
        assert!(ObjectName::from_file_name("ab.png").is_none());
    }
}
