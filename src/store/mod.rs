//! The archive: a folder of content-addressed objects.
//!
//! ```text
//! archive/
//!   FORMAT                      "archiver-archive 1": the layout version
//!   manifest.jsonl              url → object records (see crate::manifest)
//!   objects/<2 hex>/<sha256>.<ext>
//!   tmp/                        downloads in progress (never committed to git)
//!   lock                        who holds the archive's lock (see [`lock`])
//! ```
//!
//! An object's name is its content's sha256 and an extension chosen from its magic
//! bytes by a fixed table, so nothing a server sends can choose a path. Objects are
//! written as restic writes them ([`write`]): a temp file inside the archive, hashed
//! while streaming, length checked, fsynced, moved into place without ever
//! replacing an existing object that is whole, and the directory fsynced. A crash at
//! any moment leaves at worst a temp file, which the next `fetch` removes. Every
//! file is written with the permissions a plain `File::create` gives (0644 under
//! umask 022), so a web server can serve the archive.

pub mod intact;
pub mod lock;
pub mod verify;
pub mod write;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use crate::atomic::{sync_dir, temp_file_in, write_atomic, write_atomic_in};
pub use lock::{Lock, LockMode};

use crate::error::Error;

/// The first line of `FORMAT`: this layout, version 1.
pub const FORMAT_LINE: &str = "archiver-archive 1";

/// The rewrite journal's file name inside the archive.
pub const JOURNAL: &str = "rewrites.jsonl";

/// The manifest's file name inside the archive (see `crate::manifest`).
pub const MANIFEST: &str = "manifest.jsonl";

/// Files of an archive that are not content: kept out of git.
const GITIGNORE: &str =
    "# Written by archiver: who holds the lock, and downloads in progress.\nlock\ntmp/\n";

/// An open archive folder, locked for as long as it lives.
#[derive(Debug)]
pub struct Archive {
    root: PathBuf,
    _lock: Lock,
}

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

impl Archive {
    /// Opens (creating it if `create`) the archive at `root`, taking its lock for
    /// `command` (named in the message another run gets).
    ///
    /// # Errors
    /// [`Error::Archive`] when the folder is missing (and not to be created), is
    /// another version's archive, cannot be written, or another run holds the lock.
    pub fn open(root: &Path, mode: LockMode, create: bool, command: &str) -> Result<Self, Error> {
        let fail = |message: String| Error::Archive {
            path: root.to_path_buf(),
            message,
        };
        if !root.is_dir() {
            if !create {
                return Err(fail(
                    "no archive here; `archiver fetch` creates one, or name another with --archive DIR"
                        .into(),
                ));
            }
            fs::create_dir_all(root).map_err(|e| fail(format!("cannot create it: {e}")))?;
        }
        let format = root.join("FORMAT");
        match fs::read_to_string(&format) {
            Ok(text) => {
                let first = text.lines().next().unwrap_or_default().trim();
                if first != FORMAT_LINE {
                    return Err(fail(format!(
                        "FORMAT says `{first}`, but this archiver reads `{FORMAT_LINE}`; use the archiver that wrote it"
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !create {
                    return Err(fail(
                        "not an archive (no FORMAT file); `archiver fetch` creates one".into(),
                    ));
                }
                // `--archive notes` must not scatter an archive among the notes.
                if !may_become_archive(root).unwrap_or(false) {
                    return Err(fail(
                        "this folder holds other files and is not an archive (no FORMAT file); name a new or empty folder with --archive DIR"
                            .into(),
                    ));
                }
            }
            Err(e) => return Err(fail(format!("cannot read FORMAT: {e}"))),
        }
        if create {
            // FORMAT first: it is what the lock is taken on.
            write_format(root).map_err(|e| fail(format!("cannot set it up: {e}")))?;
        }
        let lock = Lock::acquire(root, mode, command)?;
        if create {
            init(root).map_err(|e| fail(format!("cannot set it up: {e}")))?;
        }
        Ok(Archive {
            root: root.to_path_buf(),
            _lock: lock,
        })
    }

    /// The archive folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where downloads in progress are written.
    #[must_use]
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The manifest's path.
    #[must_use]
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }

    /// The absolute-or-relative path of an object.
    #[must_use]
    pub fn object_path(&self, name: &ObjectName) -> PathBuf {
        self.root.join(name.relative())
    }

    /// Every file under `objects/`, as its path relative to the archive folder.
    /// Files that are not named like objects are listed too: `verify` reports them.
    ///
    /// # Errors
    /// A folder that cannot be read.
    pub fn list_objects(&self) -> Result<Vec<String>, Error> {
        let objects = self.root.join("objects");
        let mut found = Vec::new();
        let read = |dir: &Path| {
            fs::read_dir(dir).map_err(|e| Error::Archive {
                path: dir.to_path_buf(),
                message: format!("cannot list it: {e}"),
            })
        };
        if !objects.is_dir() {
            return Ok(found);
        }
        for fan in read(&objects)? {
            let fan = fan.map_err(|e| Error::Archive {
                path: objects.clone(),
                message: e.to_string(),
            })?;
            let fan_name = fan.file_name().to_string_lossy().into_owned();
            // A symlink to a folder is not descended into: what it points at is
            // not in the archive.
            if !fan.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(format!("objects/{fan_name}"));
                continue;
            }
            for file in read(&fan.path())? {
                let file = file.map_err(|e| Error::Archive {
                    path: fan.path(),
                    message: e.to_string(),
                })?;
                found.push(format!(
                    "objects/{fan_name}/{}",
                    file.file_name().to_string_lossy()
                ));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Removes temp files older than `age` (all of them for zero) and returns
    /// their names. Only safe under the exclusive lock.
    ///
    /// # Errors
    /// The tmp folder cannot be read, or a file cannot be removed.
    pub fn clean_tmp(&self, age: Duration) -> Result<Vec<PathBuf>, Error> {
        let tmp = self.tmp_dir();
        let mut removed = Vec::new();
        let Ok(entries) = fs::read_dir(&tmp) else {
            return Ok(removed);
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let path = entry.path();
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_or(true, |at| now.duration_since(at).unwrap_or_default() >= age);
            if old && path.is_file() {
                fs::remove_file(&path).map_err(|e| Error::Archive {
                    path: path.clone(),
                    message: format!("cannot remove this temp file: {e}"),
                })?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// The objects the rewrite journal (`rewrites.jsonl`) refers to: while a
    /// rewrite can be undone, its objects must stay.
    ///
    /// # Errors
    /// The journal exists but cannot be read.
    pub fn journal_refs(&self) -> Result<std::collections::BTreeSet<String>, Error> {
        let path = self.root.join(JOURNAL);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(std::collections::BTreeSet::default());
            }
            Err(e) => {
                return Err(Error::Archive {
                    path,
                    message: format!("cannot read the rewrite journal: {e}"),
                });
            }
        };
        // Any object path written anywhere in the journal counts: reading it
        // loosely can only keep too much, never delete what a restore needs.
        Ok(text
            .match_indices("objects/")
            .filter_map(|(at, _)| {
                let rest = &text[at..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '.'))
                    .unwrap_or(rest.len());
                ObjectName::from_relative(rest[..end].trim_end_matches('.')).map(|n| n.relative())
            })
            .collect())
    }

    /// Temp files present now.
    #[must_use]
    pub fn tmp_files(&self) -> Vec<PathBuf> {
        fs::read_dir(self.tmp_dir())
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }
}

/// Writes FORMAT unless it is there, without ever replacing one: the archive's
/// lock is taken on it, and a run that replaced it under another's lock would
/// lock a file of its own.
fn write_format(root: &Path) -> io::Result<()> {
    let format = root.join("FORMAT");
    if format.exists() {
        return Ok(());
    }
    let downloads = root.join("tmp");
    fs::create_dir_all(&downloads)?;
    let mut temp = temp_file_in(&downloads, ".archiver-", "")?;
    io::Write::write_all(&mut temp, format!("{FORMAT_LINE}\n").as_bytes())?;
    temp.as_file().sync_all()?;
    match temp.persist_noclobber(&format) {
        Ok(_) => sync_dir(root),
        // Another run creating the same archive wrote it first: the same line.
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.error),
    }
}

/// Writes .gitignore and the folders of a new archive; fills in what an older
/// run left missing.
fn init(root: &Path) -> io::Result<()> {
    for dir in ["objects", "tmp"] {
        let path = root.join(dir);
        if !path.is_dir() {
            fs::create_dir_all(&path)?;
            sync_dir(root)?;
        }
    }
    let tmp = root.join("tmp");
    let ignore = root.join(".gitignore");
    if !ignore.exists() {
        write_atomic_in(&ignore, &tmp, GITIGNORE.as_bytes())?;
    }
    Ok(())
}

/// Whether a folder without FORMAT may become an archive: it is empty, or holds
/// only what an archive folder in a repository starts with.
fn may_become_archive(root: &Path) -> io::Result<bool> {
    const ALLOWED: [&str; 8] = [
        "README.md",
        ".gitkeep",
        ".gitignore",
        "objects",
        "tmp",
        "lock",
        "manifest.jsonl",
        JOURNAL,
    ];
    for entry in fs::read_dir(root)? {
        let name = entry?.file_name();
        if !ALLOWED.iter().any(|a| name == *a) {
            return Ok(false);
        }
    }
    Ok(true)
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

    #[test]
    fn a_second_run_is_told_the_archive_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        let first = Archive::open(&root, LockMode::Exclusive, true, "fetch").unwrap();
        let e = Archive::open(&root, LockMode::Exclusive, true, "fetch").unwrap_err();
        let holder = format!("archive locked by pid {} on host ", std::process::id());
        assert!(e.to_string().contains(&holder), "{e}");
        assert!(e.to_string().contains("(`archiver fetch`)"), "{e}");
        let e = Archive::open(&root, LockMode::Shared, false, "verify").unwrap_err();
        assert!(e.to_string().contains("archive locked by"), "{e}");
        // The lock is not the file that names its holder: without it, a second
        // writer is still refused.
        fs::remove_file(root.join("lock")).unwrap();
        let e = Archive::open(&root, LockMode::Exclusive, false, "gc").unwrap_err();
        assert!(e.to_string().contains("archive locked by"), "{e}");
        drop(first);
        assert!(!root.join("lock").exists());
        let a = Archive::open(&root, LockMode::Shared, false, "verify").unwrap();
        let b = Archive::open(&root, LockMode::Shared, false, "verify").unwrap();
        drop((a, b));
        assert_eq!(
            fs::read_to_string(root.join("FORMAT")).unwrap().trim(),
            FORMAT_LINE
        );
    }

    #[test]
    fn another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("FORMAT"), "archiver-archive 9\n").unwrap();
        let e = Archive::open(dir.path(), LockMode::Exclusive, true, "fetch").unwrap_err();
        assert!(e.to_string().contains("archiver-archive 9"), "{e}");
        let e =
            Archive::open(&dir.path().join("none"), LockMode::Shared, false, "verify").unwrap_err();
        assert!(e.to_string().contains("no archive"), "{e}");
    }
}
