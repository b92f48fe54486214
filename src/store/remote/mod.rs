//! The archive on object storage (`s3://bucket/prefix`): the same layout as a
//! local folder, keys instead of paths.
//!
//! ```text
//! s3://bucket/prefix/
//!   FORMAT                      "archiver-archive 1": the layout version
//!   manifest.jsonl              replaced whole, conditionally (If-Match)
//!   rewrites.jsonl              the rewrite journal, the same way
//!   objects/<2 hex>/<sha256>.<ext>
//!   warc/                       as on disk, when copied from a local archive
//!   tmp/                        multipart uploads in progress and their markers
//!   lock                        the lock object (see [`lock`])
//! ```
//!
//! So a local archive copied to a bucket with any S3 sync tool is a valid
//! archive there, and back. Objects are uploaded as [`staged`] explains;
//! listing pages through the bucket (object_store asks for 1,000 keys a page).
//! The manifest and the journal are written with `If-Match` on the version this
//! run last read or wrote (`If-None-Match: *` when there was none), so a second
//! writer that slipped past the lock gets an error, never a lost update.

pub mod client;
pub mod lock;
pub mod profile;
pub mod read;
pub mod staged;

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt as _;
use object_store::{ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, UpdateVersion};

use client::io_error;
pub use client::{Client, is_remote};
use lock::{Holder, LOCK, RemoteLock};
use read::ObjectReader;
use staged::{MARKER, RemoteStaged, TMP};

use super::backend::{ArchiveFile, EntryKind, Listed, Staged, Storage};
use super::lock::LockMode;
use super::{FORMAT_LINE, ObjectName};
use crate::error::Error;

/// What this run knows of a file's version, for its conditional replace.
#[derive(Debug, Clone, Default)]
enum Known {
    /// Never read: replaced unconditionally.
    #[default]
    Unknown,
    /// Read as absent: created only if still absent.
    Absent,
    /// Read or written at this version: replaced only if still at it.
    At(UpdateVersion),
}

/// An archive in a bucket, locked for as long as it lives (unless only looked
/// at: [`Remote::unlocked`]).
#[derive(Debug)]
pub struct Remote {
    client: Client,
    /// The manifest's and the journal's versions, as this run last saw them.
    known: Mutex<[Known; 2]>,
    _lock: Option<RemoteLock>,
}

fn slot(file: ArchiveFile) -> usize {
    match file {
        ArchiveFile::Manifest => 0,
        ArchiveFile::Journal => 1,
    }
}

impl Remote {
    /// Opens (creating it if `create`) the archive at `location`
    /// (`s3://bucket/prefix`), taking its lock for `command`. The lock object is
    /// exclusive whatever `mode` says: readers take it too, so that no writer
    /// changes the archive under a `verify`.
    ///
    /// # Errors
    /// [`Error::Archive`] when there is no archive there (and none is to be
    /// created), it is another version's, the bucket cannot be reached or
    /// written, or another run holds the lock.
    pub fn open(
        location: &std::path::Path,
        mode: LockMode,
        create: bool,
        command: &str,
    ) -> Result<Self, Error> {
        let _ = mode;
        let client = Client::new(location)?;
        let fail = |message: &str| Error::archive(client.url(), message);
        let failed = |message: &str, e: io::Error| Error::archive_io(client.url(), message, e);
        let (store, format) = (client.store(), client.key("FORMAT"));
        let read = client.run(async move {
            match store.get(&format).await {
                Ok(got) => got.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        match read.and_then(|r| r.map_err(io_error)) {
            Ok(Some(text)) => {
                let text = String::from_utf8_lossy(&text);
                let first = text.lines().next().unwrap_or_default().trim();
                if first != FORMAT_LINE {
                    return Err(fail(&format!(
                        "FORMAT says `{first}`, but this archiver reads `{FORMAT_LINE}`; use the archiver that wrote it"
                    )));
                }
            }
            Ok(None) if !create => {
                return Err(fail(
                    "no archive here (no FORMAT object); `archiver fetch` creates one, or name another with --archive",
                ));
            }
            Ok(None) => create_format(&client)?,
            Err(e) => return Err(failed("cannot read FORMAT", e)),
        }
        let lock = RemoteLock::acquire(&client, command)?;
        Ok(Remote {
            client,
            known: Mutex::default(),
            _lock: Some(lock),
        })
    }

    /// The archive at `location`, looked at without its lock (for `check`'s
    /// archived marks); `None` when no client can be made for it.
    #[must_use]
    pub fn unlocked(location: &std::path::Path) -> Option<Self> {
        Some(Remote {
            client: Client::new(location).ok()?,
            known: Mutex::default(),
            _lock: None,
        })
    }

    /// Every key under `folder/` (relative to the archive) with its size and
    /// age, page after page.
    fn list_under(&self, folder: &str) -> io::Result<Vec<(String, u64, SystemTime)>> {
        let (store, prefix) = (self.client.store(), self.client.key(folder));
        let metas = self
            .client
            .run(async move { store.list(Some(&prefix)).try_collect::<Vec<_>>().await })?
            .map_err(io_error)?;
        Ok(metas
            .into_iter()
            .filter_map(|meta| {
                let key = self.client.relative(meta.location.as_ref())?.to_owned();
                Some((key, meta.size, SystemTime::from(meta.last_modified)))
            })
            .collect())
    }

    /// Who the other writer of a conflicting write is, as far as the lock
    /// object tells: its holder, or, when that is this run, a writer that
    /// took no lock.
    fn other_writer(&self) -> String {
        let (store, key) = (self.client.store(), self.client.key(LOCK));
        let read = self
            .client
            .run(async move { store.get(&key).await?.bytes().await });
        match read.map(|r| r.map(|b| serde_json::from_slice::<Holder>(&b))) {
            Ok(Ok(Ok(holder))) if holder.is_this_process() => {
                format!("a writer that took no lock (this run, {holder}, holds it)")
            }
            Ok(Ok(Ok(holder))) => format!("{holder}, which holds the archive's lock now"),
            Ok(Ok(Err(_))) => "a run whose lock object cannot be read".to_owned(),
            _ => "a writer that took no lock (nobody holds it now)".to_owned(),
        }
    }
}

/// Writes `FORMAT` to a new archive, which must be an empty prefix: an
/// archive is not scattered among other keys.
fn create_format(client: &Client) -> Result<(), Error> {
    let (store, root, format) = (client.store(), client.key(""), client.key("FORMAT"));
    let created = client.run(async move {
        let listed = store.list_with_delimiter(Some(&root)).await?;
        if !(listed.objects.is_empty() && listed.common_prefixes.is_empty()) {
            return Ok(false);
        }
        let body = bytes::Bytes::from(format!("{FORMAT_LINE}\n"));
        match store
            .put_opts(&format, body.into(), PutMode::Create.into())
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(true),
            Err(e) => Err(e),
        }
    });
    match created.and_then(|c| c.map_err(io_error)) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::archive(
            client.url(),
            "this prefix holds other objects and is not an archive (no FORMAT); name a new or empty prefix with --archive s3://BUCKET/PREFIX",
        )),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => Err(Error::archive_io(
            client.url(),
            "cannot set it up: the archive needs conditional writes (If-None-Match, If-Match), which this client or server does not do (AWS_CONDITIONAL_PUT=disabled?)",
            e,
        )),
        Err(e) => Err(Error::archive_io(client.url(), "cannot set it up", e)),
    }
}

impl Storage for Remote {
    fn location(&self) -> PathBuf {
        PathBuf::from(self.client.url())
    }

    fn path_of(&self, file: ArchiveFile) -> PathBuf {
        self.client.display(file.name())
    }

    fn temp_location(&self) -> PathBuf {
        self.client.display(TMP)
    }

    fn stage(&self) -> Box<dyn Staged> {
        Box::new(RemoteStaged::new(self.client.clone()))
    }

    fn stat(&self, key: &str) -> io::Result<Option<(EntryKind, u64)>> {
        let (store, key) = (self.client.store(), self.client.key(key));
        match self.client.run(async move { store.head(&key).await })? {
            Ok(meta) => Ok(Some((EntryKind::File, meta.size))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    fn open_object(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        let (store, key) = (self.client.store(), self.client.key(key));
        let got = self
            .client
            .run(async move { store.get(&key).await })?
            .map_err(io_error)?;
        Ok(Box::new(ObjectReader::new(
            self.client.clone(),
            got.into_stream(),
        )))
    }

    fn list_objects(&self) -> Result<Vec<Listed>, Error> {
        let mut found: Vec<Listed> = self
            .list_under("objects")
            .map_err(|e| Error::archive_io(self.client.display("objects"), "cannot list it", e))?
            .into_iter()
            .map(|(key, size, _)| Listed {
                key,
                kind: EntryKind::File,
                size: Some(size),
            })
            .collect();
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn delete_object(&self, key: &str) -> Result<(), Error> {
        let (store, k) = (self.client.store(), self.client.key(key));
        self.client
            .run(async move { store.delete(&k).await })
            .and_then(|r| r.map_err(io_error))
            .map_err(|e| {
                Error::archive_io(self.client.display(key), "cannot remove this object", e)
            })
    }

    fn local_path(&self, _: &ObjectName) -> Option<PathBuf> {
        None
    }

    fn warc_folder(&self) -> Option<PathBuf> {
        None
    }

    fn has_file(&self, file: ArchiveFile) -> Result<bool, Error> {
        self.stat(file.name())
            .map(|found| found.is_some())
            .map_err(|e| {
                Error::archive_io(
                    self.path_of(file),
                    format!("cannot look at {}", file.what()),
                    e,
                )
            })
    }

    fn read_file(&self, file: ArchiveFile) -> Result<Option<Vec<u8>>, Error> {
        let (store, key) = (self.client.store(), self.client.key(file.name()));
        let read = self.client.run(async move {
            match store.get(&key).await {
                Ok(got) => {
                    let version = UpdateVersion {
                        e_tag: got.meta.e_tag.clone(),
                        version: got.meta.version.clone(),
                    };
                    Ok(Some((got.bytes().await?, version)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        let read = read.and_then(|r| r.map_err(io_error)).map_err(|e| {
            Error::archive_io(
                self.path_of(file),
                format!("cannot read {}", file.what()),
                e,
            )
        })?;
        let (known, bytes) = match read {
            Some((bytes, version)) => (Known::At(version), Some(bytes.to_vec())),
            None => (Known::Absent, None),
        };
        if let Ok(mut all) = self.known.lock() {
            all[slot(file)] = known;
        }
        Ok(bytes)
    }

    fn replace_file(&self, file: ArchiveFile, bytes: &[u8]) -> Result<(), Error> {
        let known = self
            .known
            .lock()
            .map(|all| all[slot(file)].clone())
            .unwrap_or_default();
        let mode = match known {
            Known::Unknown => PutMode::Overwrite,
            Known::Absent => PutMode::Create,
            Known::At(version) => PutMode::Update(version),
        };
        let (store, key) = (self.client.store(), self.client.key(file.name()));
        let body = bytes::Bytes::copy_from_slice(bytes);
        let put = self
            .client
            .run(async move {
                store
                    .put_opts(&key, body.into(), PutOptions::from(mode))
                    .await
            })
            .map_err(|e| {
                Error::archive_io(
                    self.path_of(file),
                    format!("cannot write {}", file.what()),
                    e,
                )
            })?;
        match put {
            Ok(result) => {
                if let Ok(mut all) = self.known.lock() {
                    all[slot(file)] = Known::At(UpdateVersion::from(result));
                }
                Ok(())
            }
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Err(Error::archive(
                self.path_of(file),
                format!(
                    "{} was changed since this run read it, by {}; nothing was overwritten: run this again once that writer is done",
                    file.what(),
                    self.other_writer()
                ),
            )),
            Err(e) => Err(Error::archive_io(
                self.path_of(file),
                format!("cannot write {}", file.what()),
                io_error(e),
            )),
        }
    }

    fn temp_files(&self) -> Vec<PathBuf> {
        self.list_under(TMP)
            .unwrap_or_default()
            .into_iter()
            .map(|(key, _, _)| self.client.display(&key))
            .collect()
    }

    fn clean_temp(&self, age: Duration) -> Result<Vec<PathBuf>, Error> {
        let listed = self
            .list_under(TMP)
            .map_err(|e| Error::archive_io(self.temp_location(), "cannot list it", e))?;
        // The age spares a local archive's temp files written by an archiver
        // that takes no lock. Every archiver that can write a bucket takes its
        // lock, and this is called under it: all of tmp/ is a dead run's.
        let _ = age;
        let mut removed = Vec::new();
        for (key, _, _) in listed {
            let (store, client) = (self.client.store(), &self.client);
            let (k, upload) = (
                client.key(&key),
                key.strip_suffix(MARKER).map(|t| client.key(t)),
            );
            let swept = client.run(async move {
                // A marker: its multipart upload is aborted before it goes.
                if let Some(upload) = upload {
                    let id = store.get(&k).await?.bytes().await?;
                    let id = String::from_utf8_lossy(&id).into_owned();
                    match object_store::multipart::MultipartStore::abort_multipart(
                        store.as_ref(),
                        &upload,
                        &id,
                    )
                    .await
                    {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                match store.delete(&k).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            });
            swept.and_then(|r| r.map_err(io_error)).map_err(|e| {
                Error::archive_io(client.display(&key), "cannot remove this temp file", e)
            })?;
            removed.push(self.client.display(&key));
        }
        Ok(removed)
    }
}
