//! Whether an object can be pointed at: an object inside the archive (on disk,
//! a regular file), named like an object, whose bytes are the ones its name
//! says.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::backend::{EntryKind, Storage};
use super::{ObjectName, hex};

/// Objects up to this size are rehashed before a note is pointed at them;
/// larger ones (videos) are taken on their size, which `verify` backs up.
pub const REHASH_UP_TO: u64 = 64 * 1024 * 1024;

/// Whether the object at `object` (relative to the archive) is there, an
/// object's bytes (not a symlink that may lead out of the archive), `size`
/// bytes long when a size is given, and, when not larger than
/// [`REHASH_UP_TO`], hashing to its name.
#[must_use]
pub fn holds(storage: &dyn Storage, object: &str, size: Option<u64>) -> bool {
    let Some(name) = ObjectName::from_relative(object) else {
        return false;
    };
    let Ok(Some((EntryKind::File, found))) = storage.stat(&name.relative()) else {
        return false;
    };
    if size.is_some_and(|s| s != found) {
        return false;
    }
    if found > REHASH_UP_TO {
        return true;
    }
    let mut hasher = Sha256::new();
    storage
        .open_object(&name.relative())
        .and_then(|mut read| std::io::copy(&mut read, &mut hasher))
        .is_ok_and(|_| hex(&hasher.finalize()) == name.sha256)
}

/// Whether `path` is a regular file (a symlink is not followed), `size` bytes
/// long when a size is given, whose bytes hash to `sha256` when it is no larger
/// than `rehash_up_to`.
///
/// # Errors
/// The file is there but cannot be read.
pub fn file_holds(
    path: &Path,
    sha256: &str,
    size: Option<u64>,
    rehash_up_to: u64,
) -> std::io::Result<bool> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_file() || size.is_some_and(|s| s != meta.len()) {
        return Ok(false);
    }
    if meta.len() > rehash_up_to {
        return Ok(true);
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()) == sha256)
}

/// [`holds`], asked once per object however many links cite it.
#[derive(Debug)]
pub struct Looked<'a> {
    storage: &'a dyn Storage,
    known: Mutex<HashMap<String, bool>>,
}

impl<'a> Looked<'a> {
    /// For the archive in `storage`.
    #[must_use]
    pub fn new(storage: &'a dyn Storage) -> Self {
        Looked {
            storage,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `object` holds (see [`holds`]); `damaged` runs the first time
    /// an object is found not to, to say so once.
    pub fn holds(&self, object: &str, size: Option<u64>, damaged: impl FnOnce()) -> bool {
        let known = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(object)
            .copied();
        if let Some(known) = known {
            return known;
        }
        // Looked at outside the lock: notes are read in parallel.
        let found = holds(self.storage, object, size);
        let first = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(object.to_owned(), found)
            .is_none();
        if first && !found {
            damaged();
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Local;

    #[test]
    fn only_a_whole_regular_object_holds() {
        let root = tempfile::tempdir().unwrap();
        let archive = Local::unlocked(root.path());
        let bytes = b"\x89PNG\r\n\x1a\nabc";
        let sha = hex(&Sha256::digest(bytes));
        let object = format!("objects/{}/{sha}.png", &sha[..2]);
        let path = root.path().join(&object);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        assert!(!holds(&archive, &object, None), "missing");
        std::fs::write(&path, bytes).unwrap();
        assert!(holds(&archive, &object, Some(bytes.len() as u64)));
        assert!(!holds(&archive, &object, Some(3)), "another size");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nabd").unwrap();
        assert!(!holds(&archive, &object, None), "other bytes");
        std::fs::remove_file(&path).unwrap();
        let outside = root.path().join("elsewhere.png");
        std::fs::write(&outside, bytes).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, &path).unwrap();
            assert!(!holds(&archive, &object, None), "a symlink");
        }
    }
}
