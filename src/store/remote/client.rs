//! The object-store client of a remote archive: where it is (`s3://bucket/prefix`),
//! the S3 client built from the standard AWS environment (and profile), and the runtime its
//! requests run on.
//!
//! The [`Storage`](crate::store::Storage) trait is synchronous and is called
//! from plain threads, rayon's threads and fetch's async threads alike. So the
//! client keeps a small runtime of its own, and [`Client::run`] spawns a request
//! there and waits for its answer on a plain channel: that blocks only the
//! calling thread, wherever it is, and never nests one runtime inside another.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};

use super::profile::Profile;
use object_store::path::Path as Key;

use crate::error::Error;

/// The scheme of an archive on object storage.
pub const SCHEME: &str = "s3://";

/// Whether `location` names an archive on object storage (`s3://…`).
#[must_use]
pub fn is_remote(location: &std::path::Path) -> bool {
    location.to_str().is_some_and(|s| s.starts_with(SCHEME))
}

/// A bucket and a prefix in it, with a client to reach them.
#[derive(Debug, Clone)]
pub struct Client {
    /// `s3://bucket/prefix`, for messages.
    url: String,
    /// The prefix every key of the archive is under (may be empty).
    prefix: String,
    store: Arc<AmazonS3>,
    runtime: Arc<Runtime>,
}

/// The client's runtime, shut down without waiting when the last client goes
/// (it may go on one of fetch's async threads, where waiting is not allowed).
#[derive(Debug)]
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Client {
    /// A client for `location` (`s3://bucket/prefix`), its credentials, region
    /// and endpoint from the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ALLOW_HTTP` …). Nothing is asked of the server yet.
    ///
    /// # Errors
    /// [`Error::Archive`] when the location is not a bucket URL or the
    /// environment does not make a client.
    pub fn new(location: &std::path::Path) -> Result<Self, Error> {
        let url = location.to_string_lossy().trim_end_matches('/').to_owned();
        let rest = url.strip_prefix(SCHEME).unwrap_or(&url);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::archive(
                location,
                "name a bucket: --archive s3://BUCKET/PREFIX",
            ));
        }
        // The region defaults to us-east-1, which servers that ignore regions
        // (MinIO, Ceph, a local test server) accept for signing.
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        // What the environment leaves unsaid comes from the AWS profile.
        let profile = Profile::from_files();
        for (var, key) in [
            ("AWS_ACCESS_KEY_ID", AmazonS3ConfigKey::AccessKeyId),
            ("AWS_SECRET_ACCESS_KEY", AmazonS3ConfigKey::SecretAccessKey),
            ("AWS_SESSION_TOKEN", AmazonS3ConfigKey::Token),
            ("AWS_REGION", AmazonS3ConfigKey::Region),
            ("AWS_ENDPOINT_URL", AmazonS3ConfigKey::Endpoint),
        ] {
            if std::env::var_os(var).is_none()
                && let Some(value) = profile.get(var)
            {
                builder = builder.with_config(key, value);
            }
        }
        let store = builder.build().map_err(|e| {
            Error::archive_io(location, "cannot set up the S3 client", io::Error::other(e))
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("archiver-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::archive_io(location, "cannot start the S3 client", e))?;
        Ok(Client {
            prefix: prefix.trim_matches('/').to_owned(),
            url,
            store: Arc::new(store),
            runtime: Arc::new(Runtime(Some(runtime))),
        })
    }

    /// `s3://bucket/prefix`, for messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where `relative` (`objects/ab/….png`, `manifest.jsonl`) is, for messages.
    #[must_use]
    pub fn display(&self, relative: &str) -> PathBuf {
        PathBuf::from(format!("{}/{relative}", self.url))
    }

    /// The key of `relative` in the bucket.
    #[must_use]
    pub fn key(&self, relative: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(relative)
        } else {
            Key::from(format!("{}/{relative}", self.prefix))
        }
    }

    /// `key` relative to the archive, when it is inside it.
    #[must_use]
    pub fn relative<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.prefix.is_empty() {
            Some(key)
        } else {
            key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
        }
    }

    /// The S3 client, for a request handed to [`Client::run`].
    #[must_use]
    pub fn store(&self) -> Arc<AmazonS3> {
        Arc::clone(&self.store)
    }

    /// Runs `request` on the client's runtime and waits for its answer, from
    /// any thread.
    ///
    /// # Errors
    /// The runtime is gone (the process is ending).
    pub fn run<F>(&self, request: F) -> io::Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let Some(runtime) = &self.runtime.0 else {
            return Err(io::Error::other("the S3 client has stopped"));
        };
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = answer.send(request.await);
        });
        answered
            .recv()
            .map_err(|_| io::Error::other("the S3 client stopped before answering"))
    }
}

/// An object-store error as an I/O error of the matching kind (its message
/// names the key and the server's answer, never a credential).
#[must_use]
pub fn io_error(e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. } => {
            io::ErrorKind::Unsupported
        }
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_under_the_prefix() {
        let client = Client::new(std::path::Path::new("s3://bucket/some/prefix/")).unwrap();
        assert_eq!(client.url(), "s3://bucket/some/prefix");
        assert_eq!(
            client.key("objects/ab/x.png").as_ref(),
            "some/prefix/objects/ab/x.png"
        );
        assert_eq!(
            client.relative("some/prefix/manifest.jsonl"),
            Some("manifest.jsonl")
        );
        assert_eq!(client.relative("some/prefixed/x"), None);
        let bare = Client::new(std::path::Path::new("s3://bucket")).unwrap();
        assert_eq!(bare.key("FORMAT").as_ref(), "FORMAT");
        assert!(Client::new(std::path::Path::new("s3:///x")).is_err());
    }
}
