//! Write–audit–publish: `out/_published.json` names the run and the Delta version of every
//! table; it is replaced atomically (write, fsync, rename, fsync the directory). shuzhi's readers
//! read only the versions it names.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::{LibraryError, Result, io_err};

pub use crate::layout::POINTER_FILE;
use crate::layout::{RUN_POINTER_FILE, run_dir, write_synced};

/// One published table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublishedTable {
    /// Directory relative to the output root.
    pub path: String,
    /// Delta version.
    pub version: u64,
}

/// The publish pointer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Published {
    /// Run that published.
    pub run_id: String,
    /// When, RFC 3339 UTC.
    pub published_at: String,
    /// Rule-set fingerprint of that run.
    pub rule_fingerprint: String,
    /// Fingerprint of the rules, source settings and shuzhi version the tables were governed
    /// with; a run with another one rebuilds every table instead of adding to them.
    #[serde(default)]
    pub plan_fingerprint: String,
    /// Query name → table.
    pub tables: BTreeMap<String, PublishedTable>,
    /// The live deliveries the tables are made of, in delivery order.
    #[serde(default)]
    pub batches: Vec<BatchRecord>,
}

/// One delivered file of a batch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchFile {
    /// The path as delivered.
    pub path: String,
    /// Its copy under `_deliveries/<source>/<batch>/`, relative to the output root.
    pub archived: String,
    /// sha256 of its bytes.
    pub sha256: String,
}

/// A live delivery: a source's batch, kept until a full delivery of the source retires it or
/// a delivery with the same batch id replaces it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchRecord {
    /// Source id.
    pub source: String,
    /// Batch id.
    pub batch: String,
    /// Delivery order: later batches win over earlier ones for the same key.
    pub seq: u64,
    /// `full`, `increment` or `cdc`.
    pub delivery: String,
    /// Run that delivered it.
    pub run_id: String,
    /// Its files.
    pub files: Vec<BatchFile>,
}

/// Atomically replaces the pointer in `root`, after keeping a copy beside the run's manifest
/// (`_runs/<id>/published.json`, hashed by the ledger).
pub fn publish(root: &Path, pointer: &Published) -> Result<()> {
    let tmp = root.join(format!("{POINTER_FILE}.tmp-{}", pointer.run_id));
    let target = root.join(POINTER_FILE);
    let bytes = serde_json::to_vec_pretty(pointer).map_err(|e| LibraryError::Corrupt {
        path: target.clone(),
        message: e.to_string(),
    })?;
    let run_dir = run_dir(root, &pointer.run_id);
    std::fs::create_dir_all(&run_dir).map_err(io_err("creating", &run_dir))?;
    write_synced(&run_dir.join(RUN_POINTER_FILE), &bytes)?;
    write_synced(&tmp, &bytes)?;
    std::fs::rename(&tmp, &target).map_err(io_err("renaming", &tmp))?;
    if let Ok(dir) = std::fs::File::open(root) {
        // Directory fsync makes the rename durable; not every platform allows it.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Reads the pointer, `None` when nothing was published yet.
pub fn read_published(root: &Path) -> Result<Option<Published>> {
    let path = root.join(POINTER_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| LibraryError::Corrupt {
                path,
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading", &path)(e)),
    }
}

/// Registers every published table, at its published version, under its query name.
pub async fn register_published(
    ctx: &SessionContext,
    root: &Path,
    pointer: &Published,
) -> Result<()> {
    for (name, t) in &pointer.tables {
        let provider = table_at(ctx, root, name, t).await?;
        ctx.register_table(name.as_str(), provider)
            .map_err(|source| LibraryError::Register {
                table: name.clone(),
                source,
            })?;
    }
    Ok(())
}

/// A table at a committed version, as a DataFusion provider of `ctx` (deletion vectors
/// applied).
pub async fn table_at(
    ctx: &SessionContext,
    root: &Path,
    name: &str,
    t: &PublishedTable,
) -> Result<std::sync::Arc<dyn datafusion::catalog::TableProvider>> {
    let table = crate::table::open_version(&root.join(&t.path), t.version).await?;
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|source| LibraryError::Delta {
            table: root.join(&t.path),
            source,
        })?;
    table
        .table_provider()
        .await
        .map_err(|source| LibraryError::Register {
            table: name.to_owned(),
            source,
        })
}
