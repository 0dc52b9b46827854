//! `shuzhi export --snapshot DIR`: the published libraries as plain Hive-partitioned Parquet
//! (`DIR/<table>/_department=<department>/*.parquet`) for platforms that do not read Delta
//! (Hive, StarRocks, 达梦 loaders). The snapshot is written beside `DIR` and renamed into place,
//! so a reader never sees half of it; `DIR/_snapshot.json` names the run and table versions.

use std::path::{Path, PathBuf};

use datafusion::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::SessionContext;

use crate::layout::write_synced;
use crate::publish::{Published, register_published};
use crate::{LibraryError, Result, io_err};

/// Partition column of snapshot tables that have it.
const PARTITION: &str = "_department";

/// One exported table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedTable {
    /// Query name and folder.
    pub name: String,
    /// Rows written.
    pub rows: u64,
}

/// Writes every published table of `root` under `dest`. `dest` must not exist unless
/// `replace` is set (then the old snapshot is swapped out after the new one is complete).
pub async fn export_snapshot(
    ctx: &SessionContext,
    root: &Path,
    pointer: &Published,
    dest: &Path,
    replace: bool,
) -> Result<Vec<ExportedTable>> {
    if dest.exists() && !replace {
        return Err(LibraryError::Corrupt {
            path: dest.to_path_buf(),
            message: "already exists; pass --replace to swap in a new snapshot".into(),
        });
    }
    let staging = sibling(dest, &format!("tmp-{}", pointer.run_id));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_err("removing", &staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io_err("creating", &staging))?;
    register_published(ctx, root, pointer).await?;
    let failed = |table: &str| {
        let table = table.to_owned();
        move |source| LibraryError::Register { table, source }
    };
    let mut written = Vec::new();
    for name in pointer.tables.keys() {
        let frame = ctx.table(name.as_str()).await.map_err(failed(name))?;
        let rows = frame.clone().count().await.map_err(failed(name))? as u64;
        let partition_by = if frame.schema().has_column_with_unqualified_name(PARTITION) {
            vec![PARTITION.to_owned()]
        } else {
            Vec::new()
        };
        let mut parquet = TableParquetOptions::default();
        parquet.global.compression = Some("zstd(3)".into());
        let dir = staging.join(name);
        std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let target = format!("{}/", dir.display());
        frame
            .write_parquet(
                &target,
                DataFrameWriteOptions::new().with_partition_by(partition_by),
                Some(parquet),
            )
            .await
            .map_err(failed(name))?;
        written.push(ExportedTable {
            name: name.clone(),
            rows,
        });
    }
    let manifest = serde_json::json!({
        "run_id": pointer.run_id,
        "published_at": pointer.published_at,
        "rule_fingerprint": pointer.rule_fingerprint,
        "tables": pointer.tables.iter().map(|(n, t)| (n.clone(), t.version)).collect::<std::collections::BTreeMap<_, _>>(),
        "rows": written.iter().map(|t| (t.name.clone(), t.rows)).collect::<std::collections::BTreeMap<_, _>>(),
        "partitioned_by": PARTITION,
    });
    write_synced(
        &staging.join("_snapshot.json"),
        manifest.to_string().as_bytes(),
    )?;
    if dest.exists() {
        let old = sibling(dest, "old");
        std::fs::rename(dest, &old).map_err(io_err("moving aside", dest))?;
        std::fs::rename(&staging, dest).map_err(io_err("renaming", &staging))?;
        std::fs::remove_dir_all(&old).map_err(io_err("removing", &old))?;
    } else {
        std::fs::rename(&staging, dest).map_err(io_err("renaming", &staging))?;
    }
    Ok(written)
}

fn sibling(dest: &Path, suffix: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    dest.with_file_name(format!(".{name}.{suffix}"))
}
