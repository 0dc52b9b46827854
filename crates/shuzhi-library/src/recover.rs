//! Start-up recovery, run under the lock before every run: a published run missing from the
//! ledger (a crash between publish and ledger) is appended; tables are brought back to the
//! versions `_published.json` names (a crashed run may have committed some tables before it
//! died); tables no published run ever created are removed; and the data files of every run
//! that started (`_runs/<id>/started.json`) but never reached the ledger are deleted (deletion
//! vector files included), whether it was killed, panicked or failed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::layout::write_synced;
use crate::publish::read_published;
use crate::{LibraryError, Result, io_err, ledger};

/// Marker a run writes into `_runs/<id>/` before it writes any data.
pub const STARTED_FILE: &str = "started.json";
/// Marker recovery writes into `_runs/<id>/` of a run it cleaned up.
pub const INTERRUPTED_FILE: &str = "interrupted.json";

/// What recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Published run appended to the ledger.
    pub ledger_appended: Option<String>,
    /// Tables restored: name, version found, version restored to.
    pub restored: Vec<(String, u64, u64)>,
    /// Tables removed because nothing published them.
    pub removed_tables: Vec<String>,
    /// Runs found interrupted (started, never published).
    pub interrupted_runs: Vec<String>,
    /// Their data files deleted.
    pub removed_files: usize,
}

impl Recovery {
    /// Whether anything needed repair.
    pub fn is_empty(&self) -> bool {
        *self == Recovery::default()
    }
}

/// Recovers `root`. `tables` are the query names and directories (relative to `root`) of every
/// table the pipeline writes.
pub async fn recover(root: &Path, tables: &[(String, String)]) -> Result<Recovery> {
    let pointer = read_published(root)?;
    let mut done = Recovery::default();
    if let Some(p) = &pointer {
        let last = ledger::read(root)?.last().map(|e| e.run_id.clone());
        let copy = root
            .join("_runs")
            .join(&p.run_id)
            .join(ledger::RUN_POINTER_FILE);
        if last.as_deref() != Some(p.run_id.as_str()) && copy.exists() {
            ledger::append(root, &p.run_id, &p.published_at)?;
            done.ledger_appended = Some(p.run_id.clone());
        }
    }
    for (name, rel) in tables {
        let dir = root.join(rel);
        if !dir.join("_delta_log").is_dir() {
            continue;
        }
        let published = pointer
            .as_ref()
            .and_then(|p| p.tables.get(name))
            .map(|t| t.version);
        let Some(published) = published else {
            std::fs::remove_dir_all(&dir).map_err(io_err("removing unpublished table", &dir))?;
            done.removed_tables.push(name.clone());
            continue;
        };
        let delta = |source| LibraryError::Delta {
            table: dir.clone(),
            source,
        };
        let url = crate::table::table_url(&dir)?;
        let table = deltalake::open_table(url).await.map_err(delta)?;
        let latest = table.version().unwrap_or(0) as u64;
        if latest > published {
            table
                .restore()
                .with_version_to_restore(published as _)
                .await
                .map_err(delta)?;
            done.restored.push((name.clone(), latest, published));
        }
    }
    let published: BTreeSet<String> = ledger::read(root)?.into_iter().map(|e| e.run_id).collect();
    for run in interrupted_runs(root, &published) {
        let suffix = format!("-{run}.zstd.parquet");
        for (name, rel) in tables {
            done.removed_files += remove_files_ending(&root.join(rel), &suffix)?;
            let dv = root
                .join(rel)
                .join(crate::supersede::dv_file_name(&run, name));
            if dv.exists() {
                std::fs::remove_file(&dv).map_err(io_err("removing", &dv))?;
                done.removed_files += 1;
            }
        }
        let marker = root.join("_runs").join(&run).join(INTERRUPTED_FILE);
        write_synced(&marker, b"{\"cleaned_by\": \"recovery\"}")?;
        done.interrupted_runs.push(run);
    }
    Ok(done)
}

/// Records that `run_id` starts writing into `root`; fails if the id was used there before (its
/// data file names would collide with that run's).
pub fn mark_started(root: &Path, run_id: &str) -> Result<()> {
    let dir = root.join("_runs").join(run_id);
    if dir.exists() {
        return Err(LibraryError::RunIdUsed {
            run_id: run_id.to_owned(),
            path: dir,
        });
    }
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    let marker = serde_json::json!({
        "run_id": run_id,
        "pid": std::process::id(),
        "started_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    write_synced(&dir.join(STARTED_FILE), marker.to_string().as_bytes())
}

/// Runs with a start marker, no ledger entry and no cleanup marker, sorted.
fn interrupted_runs(root: &Path, published: &BTreeSet<String>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join("_runs")) else {
        return Vec::new();
    };
    let mut runs: Vec<String> = entries
        .flatten()
        .filter(|e| {
            e.path().join(STARTED_FILE).exists() && !e.path().join(INTERRUPTED_FILE).exists()
        })
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|run| !published.contains(run))
        .collect();
    runs.sort();
    runs
}

fn remove_files_ending(dir: &Path, suffix: &str) -> Result<usize> {
    let mut removed = 0;
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_str().is_some_and(|p| p.ends_with(suffix)) {
                std::fs::remove_file(&path).map_err(io_err("removing", &path))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
