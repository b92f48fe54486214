//! The lock of an archive on object storage: a `lock` object created only if
//! absent (`If-None-Match: *`), naming the holder's host, pid and command and a
//! lease expiry, renewed by a background thread while the lock is held
//! (`If-Match` on the version last written), and deleted when it is given back.
//!
//! A lock object that is there is someone else's run, unless its holder is
//! known to be gone: on this host when its pid is no longer alive (taken over
//! at once), anywhere once its lease has expired (a holder renews long before
//! then). A takeover is itself conditional on the version read, so of two runs
//! taking over the same dead lock one wins and the other is refused.
//!
//! A server without conditional writes (no `If-None-Match`/`If-Match`) answers
//! the create with an error, and the archive cannot be locked there: such a
//! server is refused rather than written unsafely.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use object_store::{ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::client::{Client, io_error};
use crate::error::Error;
use crate::store::lock::host_name;

/// The lock object's name inside the archive.
pub const LOCK: &str = "lock";

/// How long a lock stays valid without renewal. `ARCHIVER_S3_LEASE` (seconds)
/// overrides it, for tests of expiry.
const LEASE: Duration = Duration::from_mins(1);

/// Who holds the lock, as the lock object says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    /// The host's name.
    pub host: String,
    /// The process id on that host.
    pub pid: u32,
    /// The command it runs (`fetch`, `gc` …).
    pub command: String,
    /// When the lease ends, in seconds since the Unix epoch.
    pub expires: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {} (`archiver {}`)",
            self.pid, self.host, self.command
        )
    }
}

impl Holder {
    fn this_run(command: &str, lease: Duration) -> Self {
        Holder {
            host: host_name(),
            pid: std::process::id(),
            command: command.to_owned(),
            expires: now() + lease.as_secs(),
        }
    }

    /// Whether the holder is this very process.
    #[must_use]
    pub fn is_this_process(&self) -> bool {
        self.pid == std::process::id() && self.host == host_name()
    }

    /// Whether the holder is known to hold nothing any more.
    fn is_gone(&self) -> bool {
        if self.expires <= now() {
            return true;
        }
        self.host == host_name() && !pid_alive(self.pid)
    }
}

/// A held lock: renewed until dropped, then deleted.
#[derive(Debug)]
pub struct RemoteLock {
    client: Client,
    version: Arc<Mutex<UpdateVersion>>,
    stop: Arc<AtomicBool>,
    renewer: Option<JoinHandle<()>>,
}

impl RemoteLock {
    /// Takes the archive's lock for `command`.
    ///
    /// # Errors
    /// [`Error::Archive`] naming the holder when another live run holds it, or
    /// saying why the lock object cannot be written.
    pub fn acquire(client: &Client, command: &str) -> Result<Self, Error> {
        let lease = lease();
        let key = client.key(LOCK);
        let fail = |message: String, e: Option<object_store::Error>| match e {
            Some(e) => Error::archive_io(client.display(LOCK), message, io_error(e)),
            None => Error::archive(client.display(LOCK), message),
        };
        let me = Holder::this_run(command, lease);
        let body = Bytes::from(serde_json::to_vec(&me).unwrap_or_default());
        let store = client.store();
        let (k, b) = (key.clone(), body.clone());
        let created = client
            .run(async move { store.put_opts(&k, b.into(), PutMode::Create.into()).await })
            .map_err(|e| Error::archive_io(client.url(), "cannot lock the archive", e))?;
        let result = match created {
            Ok(result) => result,
            Err(object_store::Error::AlreadyExists { .. }) => Self::take_over(client, body)?,
            Err(e) => {
                return Err(fail(
                    "cannot create the lock object (the server must support conditional writes, If-None-Match)".into(),
                    Some(e),
                ));
            }
        };
        let version = Arc::new(Mutex::new(UpdateVersion::from(result)));
        let stop = Arc::new(AtomicBool::new(false));
        let renewer = {
            let (client, version, stop) = (client.clone(), Arc::clone(&version), Arc::clone(&stop));
            let me = me.clone();
            std::thread::Builder::new()
                .name("archiver-lease".into())
                .spawn(move || renew(&client, &version, &stop, me, lease))
                .ok()
        };
        Ok(RemoteLock {
            client: client.clone(),
            version,
            stop,
            renewer,
        })
    }

    /// The lock object is there: takes it over when its holder is gone,
    /// otherwise refuses naming the holder.
    fn take_over(client: &Client, body: Bytes) -> Result<object_store::PutResult, Error> {
        let key = client.key(LOCK);
        let store = client.store();
        let k = key.clone();
        let read = client
            .run(async move {
                let got = store.get(&k).await?;
                let version = UpdateVersion {
                    e_tag: got.meta.e_tag.clone(),
                    version: got.meta.version.clone(),
                };
                Ok::<_, object_store::Error>((got.bytes().await?, version))
            })
            .map_err(|e| Error::archive_io(client.url(), "cannot lock the archive", e))?;
        let (bytes, version) = match read {
            Ok(read) => read,
            // Deleted since: its holder has just finished; try once more.
            Err(object_store::Error::NotFound { .. }) => (
                Bytes::new(),
                UpdateVersion {
                    e_tag: None,
                    version: None,
                },
            ),
            Err(e) => {
                return Err(Error::archive_io(
                    client.display(LOCK),
                    "cannot read the lock object",
                    io_error(e),
                ));
            }
        };
        let holder: Option<Holder> = serde_json::from_slice(&bytes).ok();
        let mode = match &holder {
            _ if version.e_tag.is_none() && bytes.is_empty() => PutMode::Create,
            Some(holder) if holder.is_gone() => {
                tracing::info!("{holder} holds the archive's lock no longer; taken over");
                PutMode::Update(version)
            }
            Some(holder) => {
                return Err(Error::archive(
                    client.url(),
                    format!(
                        "archive locked by {holder}, its lease renewed until {}; wait for it to finish, then run this again",
                        humantime::format_rfc3339_seconds(
                            UNIX_EPOCH + Duration::from_secs(holder.expires)
                        )
                    ),
                ));
            }
            None => {
                return Err(Error::archive(
                    client.display(LOCK),
                    "archive locked by an unknown holder (the lock object cannot be read); if no run is using the archive, delete the lock object",
                ));
            }
        };
        let store = client.store();
        let put = client
            .run(async move {
                store
                    .put_opts(&key, body.into(), PutOptions::from(mode))
                    .await
            })
            .map_err(|e| Error::archive_io(client.url(), "cannot lock the archive", e))?;
        put.map_err(|e| match e {
            object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. } => {
                Error::archive(
                    client.url(),
                    "archive locked by another run that took over the lock at the same moment; run this again once it is done",
                )
            }
            e => Error::archive_io(client.display(LOCK), "cannot take over the lock", io_error(e)),
        })
    }
}

impl Drop for RemoteLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(renewer) = self.renewer.take() {
            renewer.thread().unpark();
            let _ = renewer.join();
        }
        // Deleted only while it is still ours: a lock taken over after a lapse
        // belongs to its new holder.
        let version = self.version.lock().map(|v| v.clone()).ok();
        let (store, key) = (self.client.store(), self.client.key(LOCK));
        let _ = self.client.run(async move {
            let ours = match store.head(&key).await {
                Ok(meta) => version.is_some_and(|v| v.e_tag == meta.e_tag),
                Err(_) => false,
            };
            if ours {
                let _ = store.delete(&key).await;
            }
        });
    }
}

/// The renewing thread: every third of the lease, the lease is pushed on,
/// conditionally on the version this run last wrote.
fn renew(
    client: &Client,
    version: &Mutex<UpdateVersion>,
    stop: &AtomicBool,
    mut me: Holder,
    lease: Duration,
) {
    let every = lease / 3;
    loop {
        let until = std::time::Instant::now() + every;
        while std::time::Instant::now() < until {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::park_timeout(until - std::time::Instant::now());
        }
        me.expires = now() + lease.as_secs();
        let Ok(last) = version.lock().map(|v| v.clone()) else {
            return;
        };
        let body = Bytes::from(serde_json::to_vec(&me).unwrap_or_default());
        let (store, key) = (client.store(), client.key(LOCK));
        let renewed = client.run(async move {
            store
                .put_opts(&key, body.into(), PutMode::Update(last).into())
                .await
        });
        match renewed {
            Ok(Ok(result)) => {
                if let Ok(mut v) = version.lock() {
                    *v = UpdateVersion::from(result);
                }
            }
            Ok(Err(object_store::Error::Precondition { .. })) => {
                tracing::warn!(
                    "{}: the archive's lock was taken over by another run after its lease lapsed",
                    client.url()
                );
                return;
            }
            Ok(Err(e)) => tracing::warn!("{}: cannot renew the archive's lock: {e}", client.url()),
            Err(_) => return,
        }
    }
}

fn lease() -> Duration {
    std::env::var("ARCHIVER_S3_LEASE")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(LEASE, Duration::from_secs)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether process `pid` is alive on this machine.
fn pid_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        // A zombie has ended: it holds nothing.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    } else {
        // Unknown elsewhere: only the lease frees it.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_is_gone_when_its_lease_ended_or_its_pid_here_is() {
        let mut holder = Holder::this_run("fetch", LEASE);
        assert!(!holder.is_gone(), "this process, leased");
        holder.pid = u32::MAX;
        assert!(holder.is_gone(), "no such pid on this host");
        holder.host = "elsewhere".into();
        assert!(!holder.is_gone(), "another host's pid cannot be looked at");
        holder.expires = now() - 1;
        assert!(holder.is_gone(), "an expired lease");
    }
}
