//! The archive as a local folder: the [`Storage`] every command uses today.
//!
//! ```text
//! archive/
//!   FORMAT                      "archiver-archive 1": the layout version
//!   manifest.jsonl              url → object records (see crate::manifest)
//!   rewrites.jsonl              the rewrite journal (see crate::rewrite)
//!   objects/<2 hex>/<sha256>.<ext>
//!   tmp/                        downloads in progress (never committed to git)
//!   lock                        who holds the archive's lock (see [`super::lock`])
//! ```
//!
//! Objects are written as restic writes them: a temp file in `tmp/` (on the
//! same file system), fsynced, moved into place without ever replacing an
//! existing object that is whole, and the folder fsynced. A crash at any moment
//! leaves at worst a temp file, which the next `fetch` removes. Every file is
//! written with the permissions a plain `File::create` gives (0644 under umask
//! 022), so a web server can serve the archive.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::backend::{ArchiveFile, EntryKind, Listed, Staged, Storage};
use super::intact::file_holds;
use super::lock::{Lock, LockMode};
use super::{FORMAT_LINE, JOURNAL, MANIFEST, ObjectName};
use crate::atomic::{TEMP_PREFIX, sync_dir, temp_file_in, write_atomic_in};
use crate::error::Error;

/// Files of an archive that are not content: kept out of git.
const GITIGNORE: &str =
    "# Written by archiver: who holds the lock, and downloads in progress.\nlock\ntmp/\n";

/// An archive folder, locked for as long as it lives (unless it is only
/// looked at: [`Local::unlocked`]).
#[derive(Debug)]
pub struct Local {
    root: PathBuf,
    /// The folder's real path, through which notes link to objects.
    canonical: Option<PathBuf>,
    _lock: Option<Lock>,
}

impl Local {
    /// Opens (creating it if `create`) the archive at `root`, taking its lock for
    /// `command` (named in the message another run gets).
    ///
    /// # Errors
    /// [`Error::Archive`] when the folder is missing (and not to be created), is
    /// another version's archive, cannot be written, or another run holds the lock.
    pub fn open(root: &Path, mode: LockMode, create: bool, command: &str) -> Result<Self, Error> {
        let fail = |message: &str| Error::archive(root, message);
        let failed = |message: &str, e: io::Error| Error::archive_io(root, message, e);
        if !root.is_dir() {
            if !create {
                return Err(fail(
                    "no archive here; `archiver fetch` creates one, or name another with --archive DIR",
                ));
            }
            fs::create_dir_all(root).map_err(|e| failed("cannot create it", e))?;
        }
        match fs::read_to_string(root.join("FORMAT")) {
            Ok(text) => {
                let first = text.lines().next().unwrap_or_default().trim();
                if first != FORMAT_LINE {
                    return Err(fail(&format!(
                        "FORMAT says `{first}`, but this archiver reads `{FORMAT_LINE}`; use the archiver that wrote it"
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !create {
                    return Err(fail(
                        "not an archive (no FORMAT file); `archiver fetch` creates one",
                    ));
                }
                // `--archive notes` must not scatter an archive among the notes.
                if !may_become_archive(root).unwrap_or(false) {
                    return Err(fail(
                        "this folder holds other files and is not an archive (no FORMAT file); name a new or empty folder with --archive DIR",
                    ));
                }
            }
            Err(e) => return Err(failed("cannot read FORMAT", e)),
        }
        if create {
            // FORMAT first: it is what the lock is taken on.
            write_format(root).map_err(|e| failed("cannot set it up", e))?;
        }
        let lock = Lock::acquire(root, mode, command)?;
        if create {
            init(root).map_err(|e| failed("cannot set it up", e))?;
        }
        Ok(Local {
            _lock: Some(lock),
            ..Local::unlocked(root)
        })
    }

    /// The archive at `root`, looked at without its lock and without checking
    /// it is one (it may not exist: it then holds nothing). For `check`, whose
    /// archived marks must neither wait for nor hold up a running fetch.
    #[must_use]
    pub fn unlocked(root: &Path) -> Self {
        Local {
            root: root.to_path_buf(),
            canonical: fs::canonicalize(root).ok(),
            _lock: None,
        }
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

impl Storage for Local {
    fn location(&self) -> PathBuf {
        self.root.clone()
    }

    fn path_of(&self, file: ArchiveFile) -> PathBuf {
        self.root.join(file.name())
    }

    fn temp_location(&self) -> PathBuf {
        self.tmp_dir()
    }

    fn stage(&self) -> Box<dyn Staged> {
        Box::new(LocalStaged {
            tmp: self.tmp_dir(),
            objects: self.root.join("objects"),
            file: None,
        })
    }

    fn stat(&self, key: &str) -> io::Result<Option<(EntryKind, u64)>> {
        match fs::symlink_metadata(self.root.join(key)) {
            Ok(meta) => Ok(Some((kind_of(meta.file_type(), false), meta.len()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn open_object(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        let path = self.root.join(key);
        // Not opened unless it is a file: opening a FIFO would never return.
        if !fs::symlink_metadata(&path)?.file_type().is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        let file = fs::File::open(&path)?;
        // Checked again on what was opened: the name may have changed since.
        if !file.metadata()?.file_type().is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        Ok(Box::new(file))
    }

    fn list_objects(&self) -> Result<Vec<Listed>, Error> {
        let objects = self.root.join("objects");
        let mut found = Vec::new();
        let read =
            |dir: &Path| fs::read_dir(dir).map_err(|e| Error::archive_io(dir, "cannot list it", e));
        if !objects.is_dir() {
            return Ok(found);
        }
        for fan in read(&objects)? {
            let fan = fan.map_err(|e| Error::archive_io(&objects, "cannot list it", e))?;
            let fan_name = fan.file_name().to_string_lossy().into_owned();
            // A symlink to a folder is not descended into: what it points at is
            // not in the archive.
            match fan.file_type() {
                Ok(kind) if kind.is_dir() => {}
                kind => {
                    found.push(Listed {
                        key: format!("objects/{fan_name}"),
                        kind: kind.map_or(EntryKind::File, |k| kind_of(k, true)),
                        size: None,
                    });
                    continue;
                }
            }
            for file in read(&fan.path())? {
                let file = file.map_err(|e| Error::archive_io(fan.path(), "cannot list it", e))?;
                // Unknown when it cannot be looked at: reading it says why.
                let kind = file
                    .file_type()
                    .map_or(EntryKind::File, |k| kind_of(k, false));
                found.push(Listed {
                    key: format!("objects/{fan_name}/{}", file.file_name().to_string_lossy()),
                    kind,
                    size: None,
                });
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn delete_object(&self, key: &str) -> Result<(), Error> {
        let full = self.root.join(key);
        fs::remove_file(&full)
            .map_err(|e| Error::archive_io(&full, "cannot remove this object", e))?;
        if let Some(fan) = full.parent() {
            // An emptied fan-out folder goes too; a full one stays (the error).
            if fs::remove_dir(fan).is_ok() {
                // Gone: if it is made again, it must be synced again.
                known_fans().remove(fan);
            } else {
                let _ = sync_dir(fan);
            }
        }
        Ok(())
    }

    fn local_path(&self, name: &ObjectName) -> Option<PathBuf> {
        Some(self.canonical.as_ref()?.join(name.relative()))
    }

    fn warc_folder(&self) -> Option<PathBuf> {
        Some(self.root.join("warc"))
    }

    fn has_file(&self, file: ArchiveFile) -> Result<bool, Error> {
        Ok(self.path_of(file).exists())
    }

    fn read_file(&self, file: ArchiveFile) -> Result<Option<Vec<u8>>, Error> {
        let path = self.path_of(file);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::archive_io(
                path,
                format!("cannot read {}", file.what()),
                e,
            )),
        }
    }

    fn replace_file(&self, file: ArchiveFile, bytes: &[u8]) -> Result<(), Error> {
        let path = self.path_of(file);
        // The temp file in tmp/: a kill before the rename leaves it where the
        // next run sweeps it, not beside the manifest.
        write_atomic_in(&path, &self.tmp_dir(), bytes)
            .map_err(|e| Error::archive_io(&path, format!("cannot write {}", file.what()), e))
    }

    fn temp_files(&self) -> Vec<PathBuf> {
        fs::read_dir(self.tmp_dir())
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    fn clean_temp(&self, age: Duration) -> Result<Vec<PathBuf>, Error> {
        let mut removed = Vec::new();
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
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
                fs::remove_file(&path)
                    .map_err(|e| Error::archive_io(&path, "cannot remove this temp file", e))?;
                removed.push(path);
            }
        }
        Ok(removed)
    }
}

/// What a file type is, as an entry under `objects/`; a folder counts as a
/// file only where fan-out folders are (`fan`).
fn kind_of(kind: fs::FileType, fan: bool) -> EntryKind {
    if kind.is_file() || (fan && kind.is_dir()) {
        EntryKind::File
    } else if kind.is_symlink() {
        EntryKind::Other("a symlink")
    } else if kind.is_dir() {
        EntryKind::Other("a folder")
    } else {
        EntryKind::Other(special(kind))
    }
}

/// Names the kinds of file that are neither files, folders nor symlinks.
fn special(kind: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    let _ = kind;
    "something else"
}

/// An object being written: a temp file in `tmp/`, made at the first write.
struct LocalStaged {
    tmp: PathBuf,
    objects: PathBuf,
    file: Option<BufWriter<tempfile::NamedTempFile>>,
}

impl LocalStaged {
    fn file(&mut self) -> io::Result<&mut BufWriter<tempfile::NamedTempFile>> {
        if self.file.is_none() {
            fs::create_dir_all(&self.tmp)?;
            let part = temp_file_in(&self.tmp, "fetch-", ".part")?;
            self.file = Some(BufWriter::with_capacity(256 * 1024, part));
        }
        // Made just above when it was not there.
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("no temp file"))
    }
}

impl Staged for LocalStaged {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        #[cfg(debug_assertions)]
        fault::disk_full(bytes.len())?;
        self.file()?.write_all(bytes)
    }

    fn keep(mut self: Box<Self>, name: &ObjectName, size: u64) -> io::Result<bool> {
        self.file()?;
        let Some(file) = self.file.take() else {
            return Err(io::Error::other("no temp file"));
        };
        let part = file.into_inner().map_err(io::IntoInnerError::into_error)?;
        part.as_file().sync_all()?;
        place(part, &self.objects, name, size)
    }
}

/// Moves a complete temp file to its object path; returns whether it created
/// (or repaired) the object. An object already there is kept when it is whole:
/// a regular file of these very bytes. Anything else at its name (a truncated
/// file, a git-LFS pointer, a symlink, dangling or not) is replaced, atomically.
fn place(
    temp: tempfile::NamedTempFile,
    objects: &Path,
    name: &ObjectName,
    size: u64,
) -> io::Result<bool> {
    let fan = objects.join(&name.sha256[..2]);
    make_durable_fan(objects, &fan)?;
    let target = fan.join(format!("{}.{}", name.sha256, name.extension));
    // Not replaced when whole: rewriting it would only open a window for a torn
    // file.
    let created = match temp.persist_noclobber(&target) {
        Ok(_) => true,
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
            // Hashed whole when the size matches: the caller has just
            // downloaded as many bytes, so reading them costs less than the
            // download did, and a file of the right size with the wrong bytes
            // must not pass for the object.
            if file_holds(&target, &name.sha256, Some(size), u64::MAX)? {
                false
            } else {
                tracing::info!("{}: not this object's bytes; replaced", target.display());
                replace(e.file, &target)?;
                true
            }
        }
        Err(e) => return Err(e.error),
    };
    #[cfg(debug_assertions)]
    fault::slow_disk();
    // The fan is synced whoever created the name: another download of the
    // same bytes may have put it there without syncing it yet, and the
    // manifest must not name an object a power cut could take back.
    sync_dir(&fan)?;
    Ok(created)
}

/// Renames `temp` over whatever is at `target`. A folder there cannot be
/// renamed over: it is removed first when empty, and otherwise named in the
/// error for a person to move away.
fn replace(temp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    if fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir(target).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{} is a folder where an object belongs; move it away and fetch again: {e}",
                    target.display()
                ),
            )
        })?;
    }
    temp.persist(target).map(|_| ()).map_err(|e| e.error)
}

/// Fan folders this process has seen durable in `objects/`.
static DURABLE_FANS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Makes `fan` exist, with its name in `objects` durable. The `objects` folder
/// is synced once per fan and process, not once per object: a fan's name, once
/// synced, stays (only `gc`, under the exclusive lock, removes fans). A fan
/// made here, or one another writer made and may not have synced yet, is
/// synced before it counts.
fn make_durable_fan(objects: &Path, fan: &Path) -> io::Result<()> {
    let made = match fs::create_dir(fan) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(fan)?;
            true
        }
        Err(e) => return Err(e),
    };
    if !made && known_fans().contains(fan) {
        return Ok(());
    }
    sync_dir(objects)?;
    known_fans().insert(fan.to_path_buf());
    Ok(())
}

/// [`DURABLE_FANS`], locked.
fn known_fans() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    DURABLE_FANS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    let mut temp = temp_file_in(&downloads, TEMP_PREFIX, "")?;
    temp.write_all(format!("{FORMAT_LINE}\n").as_bytes())?;
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
        MANIFEST,
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

/// Disk faults on demand, for the tests of debug builds only. A full disk:
/// with `ARCHIVER_FAULT_DISK_FULL_AFTER=N`, object writes fail with "no space
/// left on device" once the process has written N bytes of objects. A slow
/// disk: see [`fault::slow_disk`]. Release builds have no such switch.
#[cfg(debug_assertions)]
mod fault {
    use std::io;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// With `ARCHIVER_FAULT_SLOW_DISK_MS=N`, each object, once in place, takes
    /// N ms more to become durable: a disk whose fsync is slow, which widens
    /// the moment between an object landing and its download reporting it.
    pub fn slow_disk() {
        static PAUSE: OnceLock<Option<u64>> = OnceLock::new();
        let pause = PAUSE.get_or_init(|| {
            std::env::var("ARCHIVER_FAULT_SLOW_DISK_MS")
                .ok()
                .and_then(|v| v.parse().ok())
        });
        if let Some(ms) = pause {
            std::thread::sleep(std::time::Duration::from_millis(*ms));
        }
    }

    pub fn disk_full(len: usize) -> io::Result<()> {
        static LEFT: OnceLock<Option<AtomicU64>> = OnceLock::new();
        let left = LEFT.get_or_init(|| {
            std::env::var("ARCHIVER_FAULT_DISK_FULL_AFTER")
                .ok()
                .and_then(|v| v.parse().ok())
                .map(AtomicU64::new)
        });
        let Some(left) = left else { return Ok(()) };
        let len = len as u64;
        match left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(len)) {
            Ok(_) => Ok(()),
            Err(_) => Err(io::Error::from(io::ErrorKind::StorageFull)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_told_the_archive_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        let first = Local::open(&root, LockMode::Exclusive, true, "fetch").unwrap();
        let e = Local::open(&root, LockMode::Exclusive, true, "fetch").unwrap_err();
        let holder = format!("archive locked by pid {} on host ", std::process::id());
        assert!(e.to_string().contains(&holder), "{e}");
        assert!(e.to_string().contains("(`archiver fetch`)"), "{e}");
        let e = Local::open(&root, LockMode::Shared, false, "verify").unwrap_err();
        assert!(e.to_string().contains("archive locked by"), "{e}");
        // The lock is not the file that names its holder: without it, a second
        // writer is still refused.
        fs::remove_file(root.join("lock")).unwrap();
        let e = Local::open(&root, LockMode::Exclusive, false, "gc").unwrap_err();
        assert!(e.to_string().contains("archive locked by"), "{e}");
        drop(first);
        assert!(!root.join("lock").exists());
        let a = Local::open(&root, LockMode::Shared, false, "verify").unwrap();
        let b = Local::open(&root, LockMode::Shared, false, "verify").unwrap();
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
        let e = Local::open(dir.path(), LockMode::Exclusive, true, "fetch").unwrap_err();
        assert!(e.to_string().contains("archiver-archive 9"), "{e}");
        let e =
            Local::open(&dir.path().join("none"), LockMode::Shared, false, "verify").unwrap_err();
        assert!(e.to_string().contains("no archive"), "{e}");
    }

    #[test]
    fn files_are_replaced_whole_and_objects_listed_with_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        let archive = Local::open(&root, LockMode::Exclusive, true, "fetch").unwrap();
        assert_eq!(archive.read_file(ArchiveFile::Journal).unwrap(), None);
        archive
            .replace_file(ArchiveFile::Journal, b"one\n")
            .unwrap();
        assert!(archive.has_file(ArchiveFile::Journal).unwrap());
        assert!(!archive.has_file(ArchiveFile::Manifest).unwrap());
        assert_eq!(
            archive.read_file(ArchiveFile::Journal).unwrap().as_deref(),
            Some(&b"one\n"[..])
        );
        assert!(archive.temp_files().is_empty());
        let sha = "ab".repeat(32);
        let name = ObjectName::from_file_name(&format!("{sha}.png")).unwrap();
        let mut staged = archive.stage();
        staged.write(b"not really").unwrap();
        assert_eq!(archive.temp_files().len(), 1);
        assert!(staged.keep(&name, 10).unwrap());
        assert!(archive.has(&name, 10));
        assert!(!archive.has(&name, 9));
        let mut read = String::new();
        archive
            .open_object(&name.relative())
            .unwrap()
            .read_to_string(&mut read)
            .unwrap();
        assert_eq!(read, "not really");
        fs::create_dir(root.join("objects/cd")).unwrap();
        fs::create_dir(root.join("objects/cd/x.png")).unwrap();
        let listed = archive.list_objects().unwrap();
        assert_eq!(
            listed,
            [
                Listed {
                    key: name.relative(),
                    kind: EntryKind::File,
                    size: None,
                },
                Listed {
                    key: "objects/cd/x.png".into(),
                    kind: EntryKind::Other("a folder"),
                    size: None,
                },
            ]
        );
        archive.delete_object(&name.relative()).unwrap();
        assert!(!archive.has(&name, 10));
        assert!(!root.join("objects/ab").exists(), "an emptied fan goes");
    }
}
