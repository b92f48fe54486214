//! Writing one object, off the async threads, whatever the storage.
//!
//! A download hands its body over in pieces through a small bounded channel to a
//! blocking thread, which hashes them as they pass and hands them to the
//! storage's [`Staged`] object (for the local folder, a temp file in
//! `archive/tmp/`). On commit it checks the length and has the storage keep the
//! bytes under the name their hash gives, `objects/<2 hex>/<sha256>.<ext>`. The
//! same bytes already stored are success; anything else at that name, a
//! truncated file or a symlink, is replaced, so a fetch repairs what it finds
//! broken. Dropped without a commit, the staged bytes are dropped; killed, they
//! are left as a temp file for the next run to sweep, and no object is ever
//! partial.

use std::io;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::backend::Staged;
use super::{ObjectName, hex};

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
    /// Starts a writer into `staged` (from [`super::Storage::stage`]). Must be
    /// called within the tokio runtime.
    #[must_use]
    pub fn start(staged: Box<dyn Staged>) -> Self {
        let (pieces, received) = mpsc::channel::<Piece>(QUEUE);
        let done = tokio::task::spawn_blocking(move || write_object(staged, received));
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

/// The writer's thread: pieces into the hasher and the staged object, then
/// the hash, then (if asked) the object. Returning without a commit drops the
/// staged bytes.
fn write_object(
    mut staged: Box<dyn Staged>,
    mut received: mpsc::Receiver<Piece>,
) -> io::Result<Option<Stored>> {
    let mut hasher = Sha256::new();
    let mut len: u64 = 0;
    let mut digest: Option<Digest> = None;
    while let Some(piece) = received.blocking_recv() {
        match piece {
            Piece::Data(bytes) if digest.is_none() => {
                hasher.update(&bytes);
                staged.write(&bytes)?;
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
                let name = ObjectName {
                    sha256: d.sha256,
                    extension: extension.to_owned(),
                };
                let created = staged.keep(&name, len)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LockMode, Storage, local::Local};

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
        let archive = Local::open(dir.path(), LockMode::Exclusive, true, "fetch").unwrap();
        let (tmp, objects) = (dir.path().join("tmp"), dir.path().join("objects"));
        let rt = runtime();
        let store = |parts: Vec<&'static [u8]>, len: Option<u64>| {
            let staged = archive.stage();
            rt.block_on(async move {
                let mut w = Writer::start(staged);
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
            let mut w = Writer::start(archive.stage());
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
