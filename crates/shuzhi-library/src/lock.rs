//! The lakehouse lock: one run writes an output root at a time.
//!
//! `out/_lock.json` is created exclusively and names the run, process, host and a lease that a
//! background thread renews while the run lives. A second run waits (up to its `wait`) or fails
//! naming the holder. A lock whose lease ran out, or whose process is gone on this host, is
//! stale: the next run takes it over (the stale lock is renamed aside first, so two runs cannot
//! both take it) and recovery repairs what the dead run left.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{LibraryError, Result, io_err};

/// Lock file name in the output root.
pub const LOCK_FILE: &str = "_lock.json";

/// Who holds the lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// Run id.
    pub run_id: String,
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// Lease end, milliseconds since the Unix epoch (UTC).
    pub lease_until_ms: i64,
}

impl LockInfo {
    /// Whether both records name the same run of the same process.
    pub fn same_holder(&self, other: &LockInfo) -> bool {
        (&self.run_id, self.pid, &self.host) == (&other.run_id, other.pid, &other.host)
    }

    /// Whether the holder is gone: lease over, or its process is not running on this host.
    pub fn is_stale(&self) -> bool {
        let expired = chrono::Utc::now().timestamp_millis() > self.lease_until_ms;
        let dead_here = self.host == host_name() && !process_alive(self.pid);
        expired || dead_here
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn process_alive(pid: u32) -> bool {
    // Where /proc is missing, assume alive and rely on the lease.
    !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
}

/// A held lock; released on drop.
pub struct LakeLock {
    path: PathBuf,
    info: LockInfo,
    stop: Arc<AtomicBool>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

impl LakeLock {
    /// The holder's record.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.renewer.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        // Only remove the lock if it is still ours (a takeover may have replaced it); the
        // renewer has moved its lease on since, so compare the holder, not the record.
        if read_lock(&self.path)
            .ok()
            .flatten()
            .is_some_and(|i| i.same_holder(&self.info))
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_lock(path: &Path) -> Result<Option<LockInfo>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading", path)(e)),
    }
}

fn write_new(path: &Path, info: &LockInfo) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(&serde_json::to_vec(info).unwrap_or_default())?;
    f.sync_all()
}

fn renew(path: &Path, info: &LockInfo) -> Result<()> {
    let tmp = path.with_extension(format!("renew-{}", info.pid));
    crate::layout::write_synced(&tmp, &serde_json::to_vec(info).unwrap_or_default())?;
    std::fs::rename(&tmp, path).map_err(io_err("renewing", path))
}

/// Takes the lock of `root` for `run_id`, waiting up to `wait` for a live holder. Returns the
/// lock and, when a stale lock was taken over, the dead holder (whose leftovers recovery must
/// clean).
pub fn acquire(
    root: &Path,
    run_id: &str,
    lease: Duration,
    wait: Duration,
) -> Result<(LakeLock, Option<LockInfo>)> {
    std::fs::create_dir_all(root).map_err(io_err("creating", root))?;
    let path = root.join(LOCK_FILE);
    let lease_ms = lease.as_millis() as i64;
    let deadline = std::time::Instant::now() + wait;
    let mut taken_over = None;
    loop {
        let info = LockInfo {
            run_id: run_id.to_owned(),
            pid: std::process::id(),
            host: host_name(),
            lease_until_ms: chrono::Utc::now().timestamp_millis() + lease_ms,
        };
        match write_new(&path, &info) {
            Ok(()) => {
                let stop = Arc::new(AtomicBool::new(false));
                let renewer = {
                    let (stop, path, mut info) = (stop.clone(), path.clone(), info.clone());
                    std::thread::spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            std::thread::park_timeout(lease / 3);
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            info.lease_until_ms = chrono::Utc::now().timestamp_millis() + lease_ms;
                            if let Err(e) = renew(&path, &info) {
                                tracing::warn!("cannot renew the lakehouse lock: {e}");
                            }
                        }
                    })
                };
                let lock = LakeLock {
                    path,
                    info,
                    stop,
                    renewer: Some(renewer),
                };
                return Ok((lock, taken_over));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("creating", &path)(e)),
        }
        let Some(holder) = read_lock(&path)? else {
            continue; // released (or unreadable and replaced) meanwhile: try again
        };
        if holder.is_stale() {
            let aside = root.join(format!("_lock.stale-{}.json", holder.run_id));
            if std::fs::rename(&path, &aside).is_ok() {
                tracing::warn!(run_id = %holder.run_id, pid = holder.pid, "taking over a stale lakehouse lock");
                taken_over = Some(holder);
            }
            continue;
        }
        if std::time::Instant::now() >= deadline {
            return Err(LibraryError::Locked {
                path,
                run_id: holder.run_id,
                pid: holder.pid,
                host: holder.host,
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Deletes the stale lock that [`acquire`] renamed aside, once recovery has repaired what its run
/// left (the manifest of the new run records the takeover).
pub fn forget_stale(root: &Path, stale: &LockInfo) {
    let _ = std::fs::remove_file(root.join(format!("_lock.stale-{}.json", stale.run_id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("shuzhi-lock-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn second_run_fails_then_lock_is_released() {
        let dir = root("busy");
        let (held, stale) =
            acquire(&dir, "a", Duration::from_secs(30), Duration::ZERO).expect("free");
        assert!(stale.is_none());
        let err = acquire(
            &dir,
            "b",
            Duration::from_secs(30),
            Duration::from_millis(300),
        )
        .err()
        .expect("busy");
        assert!(err.to_string().contains("locked by run a"), "{err}");
        drop(held);
        assert!(!dir.join(LOCK_FILE).exists());
        let (_again, _) =
            acquire(&dir, "b", Duration::from_secs(30), Duration::ZERO).expect("free again");
    }

    #[test]
    fn a_renewed_lock_is_still_released() {
        // A run longer than a third of the lease has its lease renewed in the file.
        let dir = root("renewed");
        let (held, _) =
            acquire(&dir, "long", Duration::from_millis(90), Duration::ZERO).expect("free");
        std::thread::sleep(Duration::from_millis(200));
        let on_disk = read_lock(&dir.join(LOCK_FILE))
            .expect("readable")
            .expect("held");
        assert_ne!(
            on_disk.lease_until_ms,
            held.info().lease_until_ms,
            "renewed"
        );
        drop(held);
        assert!(!dir.join(LOCK_FILE).exists(), "released");
    }

    #[test]
    fn stale_locks_are_taken_over() {
        for (pid, lease_until_ms) in [
            // a dead process on this host
            (u32::MAX - 1, i64::MAX),
            // a live process whose lease ran out
            (std::process::id(), 0),
        ] {
            let dir = root(&format!("stale-{pid}"));
            std::fs::create_dir_all(&dir).expect("dir");
            let dead = LockInfo {
                run_id: "dead".into(),
                pid,
                host: host_name(),
                lease_until_ms,
            };
            write_new(&dir.join(LOCK_FILE), &dead).expect("plant");
            let (lock, stale) =
                acquire(&dir, "next", Duration::from_secs(30), Duration::ZERO).expect("takes over");
            assert_eq!(stale, Some(dead));
            assert_eq!(lock.info().run_id, "next");
            assert!(dir.join("_lock.stale-dead.json").exists());
        }
    }
}
