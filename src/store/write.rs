//! Writing one object, off the async threads.
//!
//! A download hands its body over in pieces through a small bounded channel to a
//! blocking thread, which writes them to a temp file in `archive/tmp/` and hashes
//! them as they pass. On commit it checks the length, fsyncs the file, moves it to
//! `objects/<2 hex>/<sha256>.<ext>` and fsyncs the folder. The same bytes
//! already stored are success (the temp file is simply removed); anything else
//! at that name, a truncated file or a symlink, is replaced, so a fetch repairs
//! what it finds broken. Dropped without a commit, the temp file is removed;
//! killed, it is left in `tmp/` for the next run to sweep, and no object is
//! ever partial.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::intact::file_holds;
use super::{ObjectName, hex, sync_dir};

/// Pieces in flight between a download and its writer: bounds the memory a fast
/// network and a slow disk can take.
const QUEUE: usize = 4;

/// An object in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its name.
    pub name: ObjectName,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this write created it (false: the same bytes were there already).
    pub created: bool,
}

enum Piece {
    Data(Bytes),
    /// The body is complete: check its length and say its hash.
    Finish {
        expected_len: Option<u64>,
        reply: oneshot::Sender<io::Result<Digest>>,
    },
    /// Keep it, under this extension.
    Commit {
        extension: &'static str,
    },
}

/// A complete body's hash and length, before it is kept or dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// A writer for one object.
#[derive(Debug)]
pub struct Writer {
    pieces: mpsc::Sender<Piece>,
    done: Option<tokio::task::JoinHandle<io::Result<Option<Stored>>>>,
}

impl std::fmt::Debug for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Piece::Data(b) => write!(f, "Data({} bytes)", b.len()),
            Piece::Finish { expected_len, .. } => write!(f, "Finish({expected_len:?})"),
            Piece::Commit { extension } => write!(f, "Commit({extension})"),
        }
    }
}

impl Writer {
    /// Starts a writer whose temp file lives in `tmp` and whose object will go
    /// under `objects`. Must be called within the tokio runtime.
    #[must_use]
    pub fn start(tmp_dir: PathBuf, objects: PathBuf) -> Self {
        let (pieces, received) = mpsc::channel::<Piece>(QUEUE);
        let done = tokio::task::spawn_blocking(move || write_object(&tmp_dir, &objects, received));
        Writer {
            pieces,
            done: Some(done),
        }
    }

    /// Hands a piece of the body to the writer.
    ///
    /// # Errors
    /// The writer failed (a full disk, say): its error.
    pub async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        if self.pieces.send(Piece::Data(bytes)).await.is_ok() {
            return Ok(());
        }
        Err(self.failure().await)
    }

    /// Ends the body: checks that `expected_len` bytes (if known) were written,
    /// and returns the hash, for the caller to decide whether to keep it.
    ///
    /// # Errors
    /// A length mismatch (the temp file is then removed) or an I/O error.
    pub async fn finish(&mut self, expected_len: Option<u64>) -> io::Result<Digest> {
        let (reply, answer) = oneshot::channel();
        if self
            .pieces
            .send(Piece::Finish {
                expected_len,
                reply,
            })
            .await
            .is_err()
        {
            return Err(self.failure().await);
        }
        match answer.await {
            Ok(digest) => digest,
            Err(_) => Err(self.failure().await),
        }
    }

    /// Keeps a finished body: fsyncs it and moves it into place under its hash
    /// with `extension`.
    ///
    /// # Errors
    /// An I/O error; the temp file is then removed.
    pub async fn commit(mut self, extension: &'static str) -> io::Result<Stored> {
        if self.pieces.send(Piece::Commit { extension }).await.is_err() {
            return Err(self.failure().await);
        }
        let Some(done) = self.done.take() else {
            return Err(io::Error::other("the object writer stopped"));
        };
        match done.await {
            Ok(Ok(Some(stored))) => Ok(stored),
            Ok(Ok(None)) => Err(io::Error::other("the object writer stopped")),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(io::Error::other(format!("the object writer failed: {e}"))),
        }
    }

    /// Gives up on the object: the temp file is removed before this returns (a
    /// process about to exit must not leave it behind).
    pub async fn abandon(self) {
        drop(self.pieces);
        if let Some(done) = self.done {
            let _ = done.await;
        }
    }

    /// Why the writer stopped early.
    async fn failure(&mut self) -> io::Error {
        match self.done.take() {
            Some(done) => match done.await {
                Ok(Err(e)) => e,
                Ok(Ok(_)) => io::Error::other("the object writer stopped"),
                Err(e) => io::Error::other(format!("the object writer failed: {e}")),
            },
            None => io::Error::other("the object writer stopped"),
        }
    }
}

/// The writer's thread: pieces into the temp file and the hasher, then the
/// hash, then (if asked) the object. Returning without a commit drops the temp
/// file.
fn write_object(
    tmp_dir: &Path,
    objects: &Path,
    mut received: mpsc::Receiver<Piece>,
) -> io::Result<Option<Stored>> {
    std::fs::create_dir_all(tmp_dir)?;
    let part = super::temp_file_in(tmp_dir, "fetch-", ".part")?;
    let mut file = BufWriter::with_capacity(256 * 1024, part);
    let mut hasher = Sha256::new();
    let mut len: u64 = 0;
    let mut digest: Option<Digest> = None;
    while let Some(piece) = received.blocking_recv() {
        match piece {
            Piece::Data(bytes) if digest.is_none() => {
                hasher.update(&bytes);
                #[cfg(debug_assertions)]
                fault::disk_full(bytes.len())?;
                file.write_all(&bytes)?;
                len += bytes.len() as u64;
            }
            Piece::Data(_) => return Err(io::Error::other("data after the end of the body")),
            Piece::Finish {
                expected_len,
                reply,
            } => {
                if let Some(expected) = expected_len
                    && expected != len
                {
                    let _ = reply.send(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{len} bytes written, {expected} expected"),
                    )));
                    return Ok(None);
                }
                let d = Digest {
                    sha256: hex(&hasher.clone().finalize()),
                    size: len,
                };
                digest = Some(d.clone());
                let _ = reply.send(Ok(d));
            }
            Piece::Commit { extension } => {
                let Some(d) = digest.take() else {
                    return Err(io::Error::other("commit before the end of the body"));
                };
                let part = file.into_inner().map_err(io::IntoInnerError::into_error)?;
                part.as_file().sync_all()?;
                let name = ObjectName {
                    sha256: d.sha256,
                    extension: extension.to_owned(),
                };
                let created = place(part, objects, &name, len)?;
                return Ok(Some(Stored {
                    name,
                    size: len,
                    created,
                }));
            }
        }
    }
    Ok(None)
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
    if std::fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir(target).map_err(|e| {
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
    let made = match std::fs::create_dir(fan) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(fan)?;
            true
        }
        Err(e) => return Err(e),
    };
    let known = || {
        DURABLE_FANS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if !made && known().contains(fan) {
        return Ok(());
    }
    sync_dir(objects)?;
    known().insert(fan.to_path_buf());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_same_bytes_are_stored_once_and_temp_files_do_not_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, objects) = (dir.path().join("tmp"), dir.path().join("objects"));
        let rt = runtime();
        let store = |parts: Vec<&'static [u8]>, len: Option<u64>| {
            let (tmp, objects) = (tmp.clone(), objects.clone());
            rt.block_on(async move {
                let mut w = Writer::start(tmp, objects);
                for p in parts {
                    w.write(Bytes::from_static(p)).await.unwrap();
                }
                let digest = w.finish(len).await?;
                assert_eq!(digest.size, 11);
                w.commit("txt").await
            })
        };
        let first = store(vec![b"hello ", b"world"], Some(11)).unwrap();
        assert!(first.created);
        assert_eq!(
            first.name.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        let again = store(vec![b"hello world"], None).unwrap();
        assert!(!again.created);
        assert_eq!(again.name, first.name);
        let path = objects
            .join(&first.name.sha256[..2])
            .join(format!("{}.txt", first.name.sha256));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        assert_eq!(
            hex(&Sha256::digest(std::fs::read(&path).unwrap())),
            first.name.sha256
        );
        // A broken object at the name (cut short, say) is replaced.
        std::fs::write(&path, b"hello").unwrap();
        let repaired = store(vec![b"hello world"], None).unwrap();
        assert!(repaired.created);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        // Short of the promised length: no object, no temp file.
        let e = store(vec![b"hell"], Some(11)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        // Abandoned midway.
        rt.block_on(async {
            let mut w = Writer::start(tmp.clone(), objects.clone());
            w.write(Bytes::from_static(b"partial")).await.unwrap();
            drop(w);
        });
        // The writer thread removes its temp file once it sees the channel close.
        let mut left = usize::MAX;
        for _ in 0..500 {
            left = std::fs::read_dir(&tmp).unwrap().count();
            if left == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(left, 0);
        assert_eq!(std::fs::read_dir(&objects).unwrap().count(), 1);
    }
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
