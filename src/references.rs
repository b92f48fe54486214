//! What references an object, in one place: the manifest (every line, a
//! superseded record's too), the rewrite journal (while a rewrite can be
//! undone, its objects must stay) and notes that link to an object as a local
//! file. `gc` keeps every object referenced; `fetch` removes an object it
//! disowned only when nothing references it; `verify` lists the others.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Error;
use crate::link::{Kind, Link};
use crate::manifest::Manifest;
use crate::store::{ArchiveFile, ObjectName, Storage};

/// The objects something refers to, by their path relative to the archive.
#[derive(Debug, Default, Clone)]
pub struct References {
    objects: BTreeSet<String>,
}

impl References {
    /// What the archive itself refers to: every object a line of `manifest`
    /// names, and every object the rewrite journal of `archive` names.
    ///
    /// # Errors
    /// [`Error::Archive`] when the journal exists but cannot be read.
    pub fn of_archive(archive: &dyn Storage, manifest: &Manifest) -> Result<Self, Error> {
        let mut objects = in_journal(archive)?;
        objects.extend(manifest.objects().map(str::to_owned));
        Ok(References { objects })
    }

    /// Adds objects cited elsewhere (by notes: see [`cited_by`]).
    pub fn extend(&mut self, objects: impl IntoIterator<Item = String>) {
        self.objects.extend(objects);
    }

    /// Whether `object` is referenced.
    #[must_use]
    pub fn contains(&self, object: &str) -> bool {
        self.objects.contains(object)
    }

    /// Every object referenced.
    #[must_use]
    pub fn objects(&self) -> &BTreeSet<String> {
        &self.objects
    }
}

/// Removes those of `objects` that nothing refers to any more, once `manifest`,
/// which no longer names them, is saved. Left to `gc` when the rewrite journal
/// cannot be read (it might name them).
pub fn remove_unreferenced(objects: &[String], manifest: &mut Manifest, archive: &dyn Storage) {
    // Saved, the manifest has one record per URL: superseded lines are gone.
    manifest.shadowed.clear();
    manifest.kept_lines.clear();
    let Ok(live) = References::of_archive(archive, manifest) else {
        return;
    };
    for object in objects {
        if !live.contains(object) && ObjectName::from_relative(object).is_some() {
            // Best effort: an object left is one `gc` removes.
            let _ = archive.delete_object(object);
        }
    }
}

/// The objects the rewrite journal names.
///
/// # Errors
/// [`Error::Archive`] when the journal exists but cannot be read.
pub fn in_journal(archive: &dyn Storage) -> Result<BTreeSet<String>, Error> {
    let Some(bytes) = archive.read_file(ArchiveFile::Journal)? else {
        return Ok(BTreeSet::new());
    };
    let text = String::from_utf8_lossy(&bytes);
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

/// The objects of `archive` that `links` (one note's) point at as local files.
#[must_use]
pub fn cited_by(links: Vec<Link>, archive: &dyn Storage) -> Vec<String> {
    links
        .into_iter()
        .filter(|l| l.kind == Kind::Local)
        .filter_map(|l| {
            // `/home/…/archive/objects/…` is a path from the site's root to a
            // renderer, and a file's own path to an editor: either way, it
            // keeps the object.
            object_of(&l.url, archive).or_else(|| {
                l.raw
                    .starts_with('/')
                    .then(|| object_of(&l.raw, archive))
                    .flatten()
            })
        })
        .collect()
}

/// The object a local link points at, if it points into the archive's objects.
fn object_of(link: &str, archive: &dyn Storage) -> Option<String> {
    let path = Path::new(link.split('#').next().unwrap_or(link));
    let name = ObjectName::from_file_name(path.file_name()?.to_str()?)?;
    let object = archive.local_path(&name)?;
    // Compared as real paths: `../archive/objects/ab/….png` from any folder.
    let at = std::fs::canonicalize(path).ok()?;
    (at == object).then(|| name.relative())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Local;

    #[test]
    fn the_journal_keeps_every_object_it_names_however_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Local::unlocked(dir.path());
        assert!(in_journal(&archive).unwrap().is_empty(), "no journal");
        let sha = "ab".repeat(32);
        let text = format!(
            "{{\"object\":\"objects/ab/{sha}.png\"}}\nnot json, objects/ab/{sha}.jpg.\nobjects/cd/{sha}.png\n"
        );
        std::fs::write(dir.path().join(crate::store::JOURNAL), text).unwrap();
        let found = in_journal(&archive).unwrap();
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            [
                format!("objects/ab/{sha}.jpg"),
                format!("objects/ab/{sha}.png")
            ],
            "the wrong fan is no object's"
        );
    }
}
