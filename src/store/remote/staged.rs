//! An object being uploaded: small objects in one request, large ones as a
//! multipart upload to a temp key, moved to their name only once whole.
//!
//! The name is the sha256 of the bytes, known only after the last byte, and a
//! multipart upload's key is fixed when it starts. So:
//! - Bytes are buffered up to one part ([`PART`]). An object that ends within
//!   it goes up in one `PUT` to its name, which S3 makes visible whole or not
//!   at all; created only if absent (`If-None-Match: *`).
//! - A larger object starts a multipart upload at `tmp/<uuid>` and sends a part
//!   each time the buffer fills, so memory stays at about two parts whatever
//!   the size. A marker `tmp/<uuid>.upload` holds the upload's id, so that a
//!   killed run's upload can be aborted later (object_store cannot list
//!   multipart uploads; the marker is how `fetch` and `gc` find them). On
//!   [`Staged::keep`] the upload is completed (still under `tmp/`, never under
//!   `objects/`), copied server-side to its name, and the temp key and marker
//!   deleted. The copy is plain, not copy-if-not-exists: S3 has no conditional
//!   copy, and under a content-addressed name a racing copy can only write the
//!   same bytes. An object already there with the same size is left alone.
//! - Dropped without a keep, the upload is aborted and its marker deleted.

use std::io;

use bytes::{Bytes, BytesMut};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use object_store::{ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use super::client::{Client, io_error};
use crate::store::ObjectName;
use crate::store::backend::Staged;

/// The size of one part of a multipart upload, and the largest object sent
/// in one request. S3 takes parts of 5 MiB and more (but the last).
pub const PART: usize = 5 * 1024 * 1024;

/// The temp folder's name inside the archive, as on disk.
pub const TMP: &str = "tmp";

/// What a marker's name ends with.
pub const MARKER: &str = ".upload";

/// An object being uploaded (see the module docs).
pub struct RemoteStaged {
    client: Client,
    buffer: BytesMut,
    upload: Option<Upload>,
}

/// A multipart upload under way.
struct Upload {
    temp: Key,
    marker: Key,
    id: String,
    parts: Vec<PartId>,
}

impl RemoteStaged {
    /// Starts an object; nothing is sent before a part fills or it is kept.
    #[must_use]
    pub fn new(client: Client) -> Self {
        RemoteStaged {
            client,
            buffer: BytesMut::new(),
            upload: None,
        }
    }

    /// Sends the buffer as the next part, and empties it.
    fn send_part(&mut self) -> io::Result<()> {
        if self.upload.is_none() {
            self.upload = Some(start(&self.client)?);
        }
        let Some(upload) = self.upload.as_mut() else {
            return Err(io::Error::other("no upload"));
        };
        let part: Bytes = std::mem::take(&mut self.buffer).freeze();
        let (store, temp, id, index, payload) = (
            self.client.store(),
            upload.temp.clone(),
            upload.id.clone(),
            upload.parts.len(),
            PutPayload::from(part.clone()),
        );
        let part_id = self
            .client
            .run(async move { store.put_part(&temp, &id, index, payload).await })?
            .map_err(io_error)?;
        // The request is over and has let go of the part: its buffer is
        // filled again with the next one. One part's memory, whatever the size.
        self.buffer = match part.try_into_mut() {
            Ok(mut buffer) => {
                buffer.clear();
                buffer
            }
            Err(_) => BytesMut::with_capacity(PART),
        };
        upload.parts.push(part_id);
        Ok(())
    }

    /// Puts a small object to its name in one request.
    fn put_whole(&mut self, target: Key, size: u64) -> io::Result<bool> {
        let bytes = std::mem::take(&mut self.buffer).freeze();
        let store = self.client.store();
        let created = self.client.run(async move {
            let create = PutOptions::from(PutMode::Create);
            match store
                .put_opts(&target, PutPayload::from(bytes.clone()), create)
                .await
            {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    match store.head(&target).await {
                        Ok(meta) if meta.size == size => Ok(false),
                        // Something else under the name: replaced, as on disk.
                        _ => store.put(&target, bytes.into()).await.map(|_| true),
                    }
                }
                Err(e) => Err(e),
            }
        })?;
        created.map_err(io_error)
    }
}

/// Starts a multipart upload at a fresh temp key and writes its marker.
fn start(client: &Client) -> io::Result<Upload> {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    let temp = client.key(&format!("{TMP}/{uuid}"));
    let marker = client.key(&format!("{TMP}/{uuid}{MARKER}"));
    let store = client.store();
    let (t, m) = (temp.clone(), marker.clone());
    let id = client
        .run(async move {
            let id = store.create_multipart(&t).await?;
            store.put(&m, Bytes::from(id.clone()).into()).await?;
            Ok::<_, object_store::Error>(id)
        })?
        .map_err(io_error)?;
    Ok(Upload {
        temp,
        marker,
        id,
        parts: Vec::new(),
    })
}

impl Staged for RemoteStaged {
    fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        // Filled to one part exactly, never grown past it, and sent before
        // more is taken: memory stays at one part.
        while !bytes.is_empty() {
            if self.buffer.capacity() == 0 {
                // Room for a whole part at once rather than grown into by
                // copies: only the pages written count as memory.
                self.buffer.reserve(PART);
            }
            let room = PART - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;
            if self.buffer.len() == PART {
                self.send_part()?;
            }
        }
        Ok(())
    }

    fn keep(mut self: Box<Self>, name: &ObjectName, size: u64) -> io::Result<bool> {
        let target = self.client.key(&name.relative());
        if self.upload.is_none() {
            return self.put_whole(target, size);
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        let Some(upload) = self.upload.take() else {
            return Err(io::Error::other("no upload"));
        };
        let store = self.client.store();
        let placed = self.client.run(async move {
            let placed = async {
                store
                    .complete_multipart(&upload.temp, &upload.id, upload.parts)
                    .await?;
                match store.head(&target).await {
                    Ok(meta) if meta.size == size => Ok(false),
                    _ => store.copy(&upload.temp, &target).await.map(|()| true),
                }
            }
            .await;
            if placed.is_err() {
                let _ = store.abort_multipart(&upload.temp, &upload.id).await;
            }
            // Best effort: what stays is swept by the next fetch or gc.
            let _ = store.delete(&upload.temp).await;
            let _ = store.delete(&upload.marker).await;
            placed
        })?;
        placed.map_err(io_error)
    }
}

impl Drop for RemoteStaged {
    fn drop(&mut self) {
        // Not kept: the upload is given up, and nothing of it stays.
        if let Some(upload) = self.upload.take() {
            let store = self.client.store();
            let _ = self.client.run(async move {
                let _ = store.abort_multipart(&upload.temp, &upload.id).await;
                let _ = store.delete(&upload.marker).await;
            });
        }
    }
}
