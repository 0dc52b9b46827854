//! The ledger, `out/_ledger`: one JSON line per published run, each hashing the previous entry,
//! the run's manifest and its publish pointer, so a changed or removed run breaks the chain.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{LibraryError, Result, io_err};

pub use crate::layout::{LEDGER_FILE, RUN_POINTER_FILE};
use crate::layout::{MANIFEST_FILE, run_dir};

/// One published run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LedgerEntry {
    /// 1-based position.
    pub seq: u64,
    /// Run id.
    pub run_id: String,
    /// When it was published.
    pub published_at: String,
    /// sha256 of `_runs/<id>/manifest.json`.
    pub manifest_sha256: String,
    /// sha256 of `_runs/<id>/published.json`.
    pub pointer_sha256: String,
    /// Hash of the previous entry (empty for the first).
    pub prev: String,
    /// Hash of this entry's fields.
    pub hash: String,
}

impl LedgerEntry {
    fn compute_hash(&self) -> String {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.seq,
            self.run_id,
            self.published_at,
            self.manifest_sha256,
            self.pointer_sha256,
            self.prev
        );
        format!("{:x}", Sha256::digest(text.as_bytes()))
    }
}

fn file_sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(io_err("reading", path))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// Every entry, oldest first.
pub fn read(root: &Path) -> Result<Vec<LedgerEntry>> {
    let path = root.join(LEDGER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("reading", &path)(e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| LibraryError::Corrupt {
                path: path.clone(),
                message: format!("line {}: {e}", i + 1),
            })
        })
        .collect()
}

/// Appends the entry of a published run (its manifest and pointer must be in `_runs/<id>/`).
pub fn append(root: &Path, run_id: &str, published_at: &str) -> Result<LedgerEntry> {
    let entries = read(root)?;
    let dir = run_dir(root, run_id);
    let mut entry = LedgerEntry {
        seq: entries.last().map_or(1, |e| e.seq + 1),
        run_id: run_id.to_owned(),
        published_at: published_at.to_owned(),
        manifest_sha256: file_sha256(&dir.join(MANIFEST_FILE))?,
        pointer_sha256: file_sha256(&dir.join(RUN_POINTER_FILE))?,
        prev: entries.last().map(|e| e.hash.clone()).unwrap_or_default(),
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    let path = root.join(LEDGER_FILE);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err("opening", &path))?;
    let mut line = serde_json::to_string(&entry).map_err(|e| LibraryError::Corrupt {
        path: path.clone(),
        message: e.to_string(),
    })?;
    line.push('\n');
    f.write_all(line.as_bytes())
        .map_err(io_err("appending to", &path))?;
    f.sync_all().map_err(io_err("syncing", &path))?;
    Ok(entry)
}

/// Checks the chain: each entry's hash, its link to the previous one, and the hashes of the
/// manifest and pointer files it names. Returns the entries, or the first problem.
pub fn verify(root: &Path) -> Result<Vec<LedgerEntry>> {
    let entries = read(root)?;
    let broken = |message: String| LibraryError::Corrupt {
        path: root.join(LEDGER_FILE),
        message,
    };
    let mut prev = String::new();
    for (i, e) in entries.iter().enumerate() {
        if e.seq != i as u64 + 1 {
            return Err(broken(format!("entry {} has seq {}", i + 1, e.seq)));
        }
        if e.prev != prev {
            return Err(broken(format!(
                "entry {} ({}) does not link to entry {}",
                e.seq, e.run_id, i
            )));
        }
        if e.compute_hash() != e.hash {
            return Err(broken(format!(
                "entry {} ({}) was altered: its hash does not match",
                e.seq, e.run_id
            )));
        }
        let dir = run_dir(root, &e.run_id);
        for (file, expected) in [
            (MANIFEST_FILE, &e.manifest_sha256),
            (RUN_POINTER_FILE, &e.pointer_sha256),
        ] {
            let actual = file_sha256(&dir.join(file))
                .map_err(|err| broken(format!("entry {} ({}): {err}", e.seq, e.run_id)))?;
            if &actual != expected {
                return Err(broken(format!(
                    "entry {} ({}): _runs/{}/{file} changed since it was published",
                    e.seq, e.run_id, e.run_id
                )));
            }
        }
        prev = e.hash.clone();
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_detects_altered_and_removed_runs() {
        let root = std::env::temp_dir().join(format!("shuzhi-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for run in ["r1", "r2", "r3"] {
            let dir = run_dir(&root, run);
            std::fs::create_dir_all(&dir).expect("dir");
            std::fs::write(dir.join(MANIFEST_FILE), format!("{{\"run\":\"{run}\"}}"))
                .expect("manifest");
            std::fs::write(dir.join(RUN_POINTER_FILE), run).expect("pointer");
            append(&root, run, "2026-12-02T00:00:00Z").expect("append");
        }
        assert_eq!(verify(&root).expect("intact").len(), 3);
        std::fs::write(run_dir(&root, "r2").join(MANIFEST_FILE), "{}").expect("tamper");
        let err = verify(&root).expect_err("tampered manifest");
        assert!(
            err.to_string()
                .contains("entry 2 (r2): _runs/r2/manifest.json changed"),
            "{err}"
        );
        let text = std::fs::read_to_string(root.join(LEDGER_FILE)).expect("ledger");
        let without_second: Vec<&str> = text
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| l)
            .collect();
        std::fs::write(root.join(LEDGER_FILE), without_second.join("\n")).expect("rewrite");
        assert!(verify(&root).is_err(), "a removed entry breaks the chain");
    }
}
