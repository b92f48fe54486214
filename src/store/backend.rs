//! The archive's storage boundary: every operation the commands do on an
//! archive, whatever holds it. The local folder ([`super::local`]) is one
//! implementation; object storage ([`super::remote`]) is the other, built as
//! described below.
//!
//! The trait is synchronous. The commands that use the archive (verify, gc,
//! rewrite, check's archived marks) are synchronous, and several read it from
//! rayon's threads; the one asynchronous user, a download streaming into an
//! object, already hands its bytes to a blocking thread through a bounded
//! channel ([`super::write::Writer`]), and that thread is what drives a
//! [`Staged`] object. An object-store backend keeps its async client inside
//! its file, on a runtime of its own driven from its own thread, and waits for
//! the answers: a call made from inside fetch's runtime (the manifest saved as
//! objects land) then blocks only its thread, as the local fsync does today,
//! and nothing above the backend needs to know. A multipart upload fits
//! [`Staged`] as it is: parts go up as bytes arrive (memory bounded by the
//! writer's channel and one part), to a temp key, and [`Staged::keep`] copies
//! them to the object's key only if none is there, then drops the temp key.
//!
//! What the trait leaves out on purpose:
//! - Hashing. The bytes are hashed and counted as they stream, in one place
//!   (the writer), and a backend is only told the name they earned; no backend
//!   can store an object under a name its bytes do not hash to.
//! - The lock. An open storage holds the archive's lock for as long as it
//!   lives, taken when it is opened (see [`super::open`]) and given back when
//!   it is dropped: a folder takes an flock, an object store a lock object
//!   written conditionally and renewed while held. Commands never lock or
//!   unlock by hand.
//! - Versions of the manifest and journal. [`Storage::replace_file`] replaces a
//!   file whole; a backend that can write conditionally makes it conditional on
//!   the version it last read or wrote, so two writers cannot lose each other's
//!   update, without the callers carrying version tokens.

use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use super::ObjectName;
use crate::error::Error;

/// The archive's files that are replaced whole: the manifest and the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFile {
    /// `manifest.jsonl`: which URL is stored as which object.
    Manifest,
    /// `rewrites.jsonl`: the rewrite journal, what a restore puts back.
    Journal,
}

impl ArchiveFile {
    /// Its name inside the archive.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ArchiveFile::Manifest => super::MANIFEST,
            ArchiveFile::Journal => super::JOURNAL,
        }
    }

    /// What it is, for messages: `the manifest`, `the rewrite journal`.
    #[must_use]
    pub fn what(self) -> &'static str {
        match self {
            ArchiveFile::Manifest => "the manifest",
            ArchiveFile::Journal => "the rewrite journal",
        }
    }
}

/// What is at a name under `objects/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An object's bytes (a regular file, on disk).
    File,
    /// Anything else, which is never read as an object: `a symlink`,
    /// `a folder`, `a FIFO` … (only a local folder can hold such things).
    Other(&'static str),
}

/// One name found under `objects/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its path relative to the archive: `objects/ab/<sha256>.png`. Names not
    /// shaped like objects are listed too: `verify` reports them.
    pub key: String,
    /// What is there.
    pub kind: EntryKind,
    /// Its size, when the listing says it (object storage lists sizes; a
    /// folder's listing does not, and a stat costs no more there).
    pub size: Option<u64>,
}

/// An object's bytes being written, not yet visible under `objects/`.
///
/// Driven from a blocking thread: written to, then either kept under the
/// name its bytes hash to, or dropped. Dropped without [`Staged::keep`], it
/// leaves nothing behind but, at worst (a killed process), a temp file that
/// [`Storage::clean_temp`] removes.
pub trait Staged: Send {
    /// Appends bytes.
    ///
    /// # Errors
    /// The bytes cannot be written (a full disk: [`io::ErrorKind::StorageFull`]).
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Makes the bytes durable and visible as the object `name`, of `size`
    /// bytes; returns whether this created (or repaired) the object. The same
    /// bytes already stored are success, not an error.
    ///
    /// # Errors
    /// The bytes cannot be made durable or moved into place; nothing is then
    /// visible under the object's name that was not there before.
    fn keep(self: Box<Self>, name: &ObjectName, size: u64) -> io::Result<bool>;
}

/// An archive: content-addressed objects, the manifest, the rewrite journal
/// and temp files, held under the archive's lock (see the module docs).
pub trait Storage: fmt::Debug + Send + Sync {
    /// Where the archive is, for messages: a folder, or a URL.
    fn location(&self) -> PathBuf;

    /// Where a file of the archive is, for messages.
    fn path_of(&self, file: ArchiveFile) -> PathBuf;

    /// Where temp files are kept, for messages.
    fn temp_location(&self) -> PathBuf;

    /// Starts writing an object whose name is not known yet. Cheap: nothing is
    /// created before the first write.
    fn stage(&self) -> Box<dyn Staged>;

    /// What is at `key` (relative to the archive: `objects/ab/….png`), and
    /// its size in bytes; `None` when nothing is.
    ///
    /// # Errors
    /// It cannot be looked at.
    fn stat(&self, key: &str) -> io::Result<Option<(EntryKind, u64)>>;

    /// Whether the object `name` is there as an object of `size` bytes (not
    /// rehashed: `verify` does that).
    fn has(&self, name: &ObjectName, size: u64) -> bool {
        matches!(self.stat(&name.relative()), Ok(Some((EntryKind::File, s))) if s == size)
    }

    /// Opens the object at `key` for reading; anything but an object's bytes
    /// there (a symlink, a folder …) is an error, never followed.
    ///
    /// # Errors
    /// Nothing there, not an object, or it cannot be read.
    fn open_object(&self, key: &str) -> io::Result<Box<dyn Read + Send>>;

    /// Every name under `objects/`, sorted.
    ///
    /// # Errors
    /// [`Error::Archive`] when the objects cannot be listed.
    fn list_objects(&self) -> Result<Vec<Listed>, Error>;

    /// Removes the object at `key`.
    ///
    /// # Errors
    /// [`Error::Archive`] naming it, when it cannot be removed.
    fn delete_object(&self, key: &str) -> Result<(), Error>;

    /// On this machine, the absolute path of the object `name`, through which
    /// notes can link to it; `None` when the archive is not a local folder.
    fn local_path(&self, name: &ObjectName) -> Option<PathBuf>;

    /// On this machine, the folder WARC files are written to (`warc/` in a
    /// local archive); `None` when the archive is not a local folder.
    fn warc_folder(&self) -> Option<PathBuf>;

    /// Whether `file` exists.
    ///
    /// # Errors
    /// [`Error::Archive`] when that cannot be known.
    fn has_file(&self, file: ArchiveFile) -> Result<bool, Error>;

    /// The bytes of `file`; `None` when there is none.
    ///
    /// # Errors
    /// [`Error::Archive`] when it exists but cannot be read.
    fn read_file(&self, file: ArchiveFile) -> Result<Option<Vec<u8>>, Error>;

    /// Replaces `file` whole and atomically: a reader sees the old bytes or
    /// the new, never a mix, and a crash leaves one or the other.
    ///
    /// # Errors
    /// [`Error::Archive`] when it cannot be written; the old file then stands.
    fn replace_file(&self, file: ArchiveFile, bytes: &[u8]) -> Result<(), Error>;

    /// Temp files present now (left by an interrupted run, or being written).
    fn temp_files(&self) -> Vec<PathBuf>;

    /// Removes temp files older than `age` (all of them for zero) and returns
    /// them. Only safe under the exclusive lock.
    ///
    /// # Errors
    /// [`Error::Archive`] when one cannot be removed.
    fn clean_temp(&self, age: Duration) -> Result<Vec<PathBuf>, Error>;
}

#[cfg(test)]
mod tests {
    //! A second backend in a few lines, kept in memory: what the commands'
    //! parts need from a storage is the trait and nothing else.

    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;

    use super::*;
    use crate::manifest::{Manifest, Record};
    use crate::store::verify::{Problem, verify};
    use crate::store::write::Writer;

    #[derive(Debug, Default)]
    struct Memory {
        files: Mutex<BTreeMap<&'static str, Vec<u8>>>,
        objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    }

    struct InMemory {
        bytes: Vec<u8>,
        objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    }

    impl Staged for InMemory {
        fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.bytes.extend_from_slice(bytes);
            Ok(())
        }

        fn keep(self: Box<Self>, name: &ObjectName, _size: u64) -> io::Result<bool> {
            let mut objects = self.objects.lock().unwrap();
            let same = objects.get(&name.relative()) == Some(&self.bytes);
            objects.insert(name.relative(), self.bytes);
            Ok(!same)
        }
    }

    impl Storage for Memory {
        fn location(&self) -> PathBuf {
            PathBuf::from("memory:")
        }
        fn path_of(&self, file: ArchiveFile) -> PathBuf {
            PathBuf::from(format!("memory:{}", file.name()))
        }
        fn temp_location(&self) -> PathBuf {
            PathBuf::from("memory:tmp")
        }
        fn stage(&self) -> Box<dyn Staged> {
            Box::new(InMemory {
                bytes: Vec::new(),
                objects: Arc::clone(&self.objects),
            })
        }
        fn stat(&self, key: &str) -> io::Result<Option<(EntryKind, u64)>> {
            let objects = self.objects.lock().unwrap();
            Ok(objects.get(key).map(|b| (EntryKind::File, b.len() as u64)))
        }
        fn open_object(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
            let objects = self.objects.lock().unwrap();
            let bytes = objects.get(key).cloned().ok_or(io::ErrorKind::NotFound)?;
            Ok(Box::new(io::Cursor::new(bytes)))
        }
        fn list_objects(&self) -> Result<Vec<Listed>, Error> {
            let objects = self.objects.lock().unwrap();
            Ok(objects
                .keys()
                .map(|key| Listed {
                    key: key.clone(),
                    kind: EntryKind::File,
                    size: None,
                })
                .collect())
        }
        fn delete_object(&self, key: &str) -> Result<(), Error> {
            self.objects.lock().unwrap().remove(key);
            Ok(())
        }
        fn local_path(&self, _: &ObjectName) -> Option<PathBuf> {
            None
        }
        fn warc_folder(&self) -> Option<PathBuf> {
            None
        }
        fn has_file(&self, file: ArchiveFile) -> Result<bool, Error> {
            Ok(self.files.lock().unwrap().contains_key(file.name()))
        }
        fn read_file(&self, file: ArchiveFile) -> Result<Option<Vec<u8>>, Error> {
            Ok(self.files.lock().unwrap().get(file.name()).cloned())
        }
        fn replace_file(&self, file: ArchiveFile, bytes: &[u8]) -> Result<(), Error> {
            self.files
                .lock()
                .unwrap()
                .insert(file.name(), bytes.to_vec());
            Ok(())
        }
        fn temp_files(&self) -> Vec<PathBuf> {
            Vec::new()
        }
        fn clean_temp(&self, _: Duration) -> Result<Vec<PathBuf>, Error> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn objects_manifest_and_checks_go_through_the_trait_alone() {
        let memory = Arc::new(Memory::default());
        let store: Arc<dyn Storage> = Arc::clone(&memory) as Arc<dyn Storage>;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let put = |bytes: &'static [u8]| {
            let staged = store.stage();
            runtime.block_on(async move {
                let mut writer = Writer::start(staged);
                writer.write(Bytes::from_static(bytes)).await.unwrap();
                writer.finish(Some(bytes.len() as u64)).await.unwrap();
                writer.commit("txt").await.unwrap()
            })
        };
        let stored = put(b"hello world");
        assert!(stored.created);
        assert!(!put(b"hello world").created, "the same bytes: success");
        assert!(store.has(&stored.name, 11));

        let mut manifest = Manifest::default();
        let url = "https://example.org/hello.txt";
        manifest.records.insert(
            url.into(),
            Record::sample(
                url,
                stored.name.relative(),
                stored.name.sha256.clone(),
                "text/plain",
                11,
                "2026-12-01T00:00:00Z",
            ),
        );
        manifest.save(store.as_ref()).unwrap();
        let loaded = Manifest::load(store.as_ref()).unwrap();
        assert_eq!(loaded.records, manifest.records);

        let live = std::collections::BTreeSet::new();
        let report = verify(store.as_ref(), &loaded, &live).unwrap();
        assert_eq!((report.objects, report.bytes), (1, 11));
        assert!(report.problems.is_empty(), "{:?}", report.problems);

        // Bytes that are not the name's are found, whatever holds them.
        memory
            .objects
            .lock()
            .unwrap()
            .insert(stored.name.relative(), b"hello there".to_vec());
        let report = verify(store.as_ref(), &loaded, &live).unwrap();
        assert!(
            matches!(&report.problems[..], [Problem::Corrupt { .. }]),
            "{:?}",
            report.problems
        );
        store.delete_object(&stored.name.relative()).unwrap();
        let report = verify(store.as_ref(), &loaded, &live).unwrap();
        assert!(matches!(&report.problems[..], [Problem::Missing { .. }]));
    }
}
