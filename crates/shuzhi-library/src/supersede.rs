//! Superseding rows in place: when a newer delivery brings a key, the rows of that key in a
//! published library table are marked deleted with Delta deletion vectors instead of rewriting
//! the files that hold them. Finding them reads only the key column; the superseded rows'
//! provenance is read back for the quarantine, with the other rows skipped.
//!
//! Every deletion vector of one commit goes into one file, `deletion_vector_<uuid>.bin` in the
//! table directory, whose UUID is derived from the run id and the table (`dv_uuid`), so recovery
//! can find the file of a run that died before publishing.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use delta_kernel::actions::deletion_vector_writer::{
    KernelDeletionVector, StreamingDeletionVectorWriter,
};
use deltalake::kernel::{Action, Add, DeletionVectorDescriptor, LogicalFileView, StorageType};
use futures::TryStreamExt;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection};
use sha2::{Digest, Sha256};

use crate::{LibraryError, Result, io_err};

/// What superseding found and prepared; nothing is committed yet.
#[derive(Debug, Default)]
pub struct Supersession {
    /// The superseded rows, restricted to the requested columns.
    pub rows: Vec<RecordBatch>,
    /// Log actions for the commit: each touched file removed and re-added with its new deletion
    /// vector, and a protocol upgrade when the table had no deletion vectors before.
    pub actions: Vec<Action>,
    /// Number of rows superseded.
    pub count: u64,
}

/// The UUID of the deletion-vector file a run writes into a table.
pub fn dv_uuid(run_id: &str, table: &str) -> uuid::Uuid {
    let digest = Sha256::digest(format!("shuzhi-dv\0{run_id}\0{table}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// File name of the deletion-vector file of `run_id` in the table `table`.
pub fn dv_file_name(run_id: &str, table: &str) -> String {
    format!("deletion_vector_{}.bin", dv_uuid(run_id, table))
}

fn dv_error(dir: &Path, e: impl std::fmt::Display) -> LibraryError {
    LibraryError::DeletionVector {
        table: dir.to_path_buf(),
        message: e.to_string(),
    }
}

/// One data file's outcome.
struct FileHits {
    view: LogicalFileView,
    /// Every deleted row of the file afterwards (earlier deletion vector and the new rows), sorted.
    deleted: Vec<u64>,
    rows: RecordBatch,
}

/// The keys to supersede, per partition directory of the table (`_department=hrss/`; `""` for
/// an unpartitioned table): a key supersedes only the rows of its own partition, or of every
/// partition when listed under [`EVERY_PARTITION`].
pub type KeysByPartition = HashMap<String, HashSet<String>>;

/// The entry of [`KeysByPartition`] whose keys supersede their rows in every partition.
pub const EVERY_PARTITION: &str = "*";

/// `rows` with the asked-for `columns` that live in the file's path (`_department=hrss/`) rather
/// than in the file, as text.
fn with_partition_values(rows: RecordBatch, path: &str, columns: &[String]) -> Result<RecordBatch> {
    let mut fields: Vec<arrow::datatypes::FieldRef> = rows.schema().fields().to_vec();
    let mut arrays = rows.columns().to_vec();
    for (name, value) in path.split('/').filter_map(|c| c.split_once('=')) {
        if columns.iter().any(|c| c == name) && rows.column_by_name(name).is_none() {
            let value = crate::files::unescape_partition_value(value);
            fields.push(Arc::new(arrow::datatypes::Field::new(
                name,
                DataType::Utf8,
                false,
            )));
            arrays.push(Arc::new(arrow::array::StringArray::from(vec![
                value;
                rows.num_rows()
            ])));
        }
    }
    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
    Ok(RecordBatch::try_new(schema, arrays)?)
}

/// The entry of `keys` that applies to the files of `partition`: its own, else the keys of
/// every partition.
fn keys_of<'a>(keys: &'a KeysByPartition, partition: &'a str) -> Option<&'a str> {
    [partition, EVERY_PARTITION]
        .into_iter()
        .find(|p| keys.contains_key(*p))
}

/// The partition directory a data file lives in (`""` for an unpartitioned table).
fn partition_of(path: &str) -> &str {
    match path.split_once('/') {
        Some((dir, _)) if dir.contains('=') => &path[..dir.len() + 1],
        _ => "",
    }
}

/// Finds the rows of the table at `dir` (at `version`) whose `key` is in `keys` (of their
/// partition) and that no deletion vector removed yet, returns their `columns` and prepares the deletion vectors that
/// remove them, written to the run's deletion-vector file. `table` names the table in errors
/// and in the file's UUID.
pub async fn supersede(
    dir: &Path,
    version: u64,
    table: &str,
    run_id: &str,
    key: &str,
    keys: Arc<KeysByPartition>,
    columns: &[String],
) -> Result<Supersession> {
    let delta = |source| LibraryError::Delta {
        table: dir.to_path_buf(),
        source,
    };
    let opened = crate::table::open_version(dir, version).await?;
    let snapshot = opened.snapshot().map_err(delta)?;
    let log_store = opened.log_store();
    let views: Vec<LogicalFileView> = snapshot
        .snapshot()
        .file_views(log_store.as_ref(), None)
        .try_collect()
        .await
        .map_err(delta)?;
    let engine = log_store.engine(None);
    let root = crate::table::table_url(dir)?;
    let mut tasks = Vec::with_capacity(views.len());
    for view in views {
        let path = view.path();
        let Some(partition) = keys_of(&keys, partition_of(path.as_ref())).map(str::to_owned) else {
            continue;
        };
        let (dir, key, keys, columns) = (
            dir.to_path_buf(),
            key.to_owned(),
            keys.clone(),
            columns.to_vec(),
        );
        let (engine, root) = (engine.clone(), root.clone());
        tasks.push(tokio::task::spawn_blocking(move || {
            let already: Vec<u64> = match view.deletion_vector_descriptor() {
                Some(d) => {
                    let kernel: delta_kernel::actions::deletion_vector::DeletionVectorDescriptor =
                        d.try_into().map_err(|e| dv_error(&dir, e))?;
                    kernel
                        .row_indexes(engine.storage_handler(), &root)
                        .map_err(|e| dv_error(&dir, e))?
                }
                None => Vec::new(),
            };
            let path = dir.join(view.path().as_ref());
            let empty = HashSet::new();
            let keys = keys.get(&partition).unwrap_or(&empty);
            scan_file(&path, view, &key, keys, &columns, already)
        }));
    }
    let mut hits = Vec::new();
    for t in tasks {
        let found = t
            .await
            .map_err(|e| dv_error(dir, format!("scan task failed: {e}")))??;
        hits.extend(found);
    }
    if hits.is_empty() {
        return Ok(Supersession::default());
    }
    write_deletion_vectors(dir, table, run_id, snapshot.protocol(), hits)
}

/// Reads `key` of one data file and, for the rows whose key is in `keys` and not yet deleted,
/// the `columns`.
fn scan_file(
    path: &Path,
    view: LogicalFileView,
    key: &str,
    keys: &HashSet<String>,
    columns: &[String],
    already: Vec<u64>,
) -> Result<Option<FileHits>> {
    let parquet_err = |source| LibraryError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let open = || -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(path).map_err(io_err("opening", path))?;
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_err)
    };
    let builder = open()?;
    let total = builder.metadata().file_metadata().num_rows() as usize;
    let mask = ProjectionMask::columns(builder.parquet_schema(), [key]);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(parquet_err)?;
    let deleted_before: HashSet<u64> = already.iter().copied().collect();
    let mut found: Vec<u64> = Vec::new();
    let mut position = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| parquet_err(e.into()))?;
        // A cast to the column's own type only clones it.
        let column = cast(batch.column(0), &DataType::Utf8)?;
        for (i, value) in column.as_string::<i32>().iter().enumerate() {
            let row = position + i as u64;
            if value.is_some_and(|v| keys.contains(v)) && !deleted_before.contains(&row) {
                found.push(row);
            }
        }
        position += batch.num_rows() as u64;
    }
    if found.is_empty() {
        return Ok(None);
    }
    let ranges = found.iter().map(|&r| r as usize..r as usize + 1);
    let selection = RowSelection::from_consecutive_ranges(ranges, total);
    let builder = open()?;
    let mask =
        ProjectionMask::columns(builder.parquet_schema(), columns.iter().map(String::as_str));
    let reader = builder
        .with_projection(mask)
        .with_row_selection(selection)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(parquet_err)?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| parquet_err(e.into()))?;
    let rows = arrow::compute::concat_batches(&schema, &batches)?;
    let rows = with_partition_values(rows, view.path().as_ref(), columns)?;
    let mut deleted = already;
    deleted.extend(found);
    deleted.sort_unstable();
    Ok(Some(FileHits {
        view,
        deleted,
        rows,
    }))
}

/// Writes the deletion vectors of every touched file into the run's file and returns the
/// actions that attach them.
fn write_deletion_vectors(
    dir: &Path,
    table: &str,
    run_id: &str,
    protocol: &deltalake::kernel::Protocol,
    hits: Vec<FileHits>,
) -> Result<Supersession> {
    let uuid = dv_uuid(run_id, table);
    let path: PathBuf = dir.join(dv_file_name(run_id, table));
    let mut file = File::create(&path).map_err(io_err("creating", &path))?;
    let mut out = Supersession::default();
    if let Some(upgrade) = protocol_with_deletion_vectors(protocol).map_err(|e| dv_error(dir, e))? {
        out.actions.push(Action::Protocol(upgrade));
    }
    let now = chrono::Utc::now().timestamp_millis();
    {
        let mut writer = StreamingDeletionVectorWriter::new(&mut file);
        for h in hits {
            let mut dv = KernelDeletionVector::new();
            dv.add_deleted_row_indexes(h.deleted.iter().copied());
            let written = writer
                .write_deletion_vector(dv)
                .map_err(|e| dv_error(dir, e))?;
            let add = Add {
                path: h.view.path().into_owned(),
                partition_values: h.view.partition_values_map(),
                size: h.view.size(),
                modification_time: now,
                data_change: true,
                stats: h.view.stats(),
                tags: None,
                deletion_vector: Some(DeletionVectorDescriptor {
                    storage_type: StorageType::UuidRelativePath,
                    path_or_inline_dv: z85::encode(uuid.as_bytes()),
                    offset: Some(written.offset),
                    size_in_bytes: written.size_in_bytes,
                    cardinality: written.cardinality,
                }),
                base_row_id: None,
                default_row_commit_version: None,
                clustering_provider: None,
            };
            out.actions.push(Action::Remove(h.view.remove_action(true)));
            out.actions.push(Action::Add(add));
            out.count += h.rows.num_rows() as u64;
            out.rows.push(h.rows);
        }
        writer.finalize().map_err(|e| dv_error(dir, e))?;
    }
    file.sync_all().map_err(io_err("syncing", &path))?;
    Ok(out)
}

/// The table's protocol with the `deletionVectors` reader and writer feature added, or `None`
/// when it has it already.
fn protocol_with_deletion_vectors(
    current: &deltalake::kernel::Protocol,
) -> std::result::Result<Option<deltalake::kernel::Protocol>, serde_json::Error> {
    const FEATURE: &str = "deletionVectors";
    let mut p = serde_json::to_value(current)?;
    let has = |p: &serde_json::Value, list: &str| {
        p.get(list)
            .and_then(|l| l.as_array())
            .is_some_and(|l| l.iter().any(|f| f == FEATURE))
    };
    if has(&p, "readerFeatures") && has(&p, "writerFeatures") {
        return Ok(None);
    }
    // Table features need reader version 3 and writer version 7; the legacy writer features
    // of versions 2..6 are not used by shuzhi's tables, so the list names only this one.
    p["minReaderVersion"] = 3.into();
    p["minWriterVersion"] = 7.into();
    for list in ["readerFeatures", "writerFeatures"] {
        let mut features: Vec<serde_json::Value> = p
            .get(list)
            .and_then(|l| l.as_array())
            .cloned()
            .unwrap_or_default();
        if !features.iter().any(|f| f == FEATURE) {
            features.push(FEATURE.into());
        }
        p[list] = features.into();
    }
    serde_json::from_value(p).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_apply_to_their_partition_or_to_every_partition() {
        let own = KeysByPartition::from([("_department=hrss/".to_owned(), HashSet::new())]);
        assert_eq!(
            keys_of(&own, "_department=hrss/"),
            Some("_department=hrss/")
        );
        assert_eq!(keys_of(&own, "_department=ps/"), None);
        assert_eq!(keys_of(&own, ""), None);
        let every = KeysByPartition::from([(EVERY_PARTITION.to_owned(), HashSet::new())]);
        assert_eq!(keys_of(&every, "_department=ps/"), Some(EVERY_PARTITION));
        assert_eq!(keys_of(&every, ""), Some(EVERY_PARTITION));
    }

    #[test]
    fn a_file_lives_in_its_partition_directory() {
        assert_eq!(
            partition_of("_department=hrss/part-0.parquet"),
            "_department=hrss/"
        );
        assert_eq!(partition_of("part-0.parquet"), "");
        assert_eq!(partition_of("sub/part-0.parquet"), "");
    }

    #[test]
    fn partition_values_come_back_from_the_path_unescaped() {
        let rows = RecordBatch::try_from_iter([(
            "k",
            Arc::new(arrow::array::StringArray::from(vec!["a", "b"])) as arrow::array::ArrayRef,
        )])
        .expect("batch");
        let department = "卫健/疾控";
        let path = format!(
            "_department={}/part-0.parquet",
            crate::files::escape_partition_value(department)
        );
        let columns = ["k".to_owned(), "_department".to_owned()];
        let rows = with_partition_values(rows, &path, &columns).expect("rows");
        let values = rows
            .column_by_name("_department")
            .and_then(|c| c.as_string_opt::<i32>())
            .expect("department column");
        assert_eq!(
            values.iter().flatten().collect::<Vec<_>>(),
            vec![department; 2]
        );
    }

    #[test]
    fn dv_file_names_are_stable_per_run_and_table() {
        assert_eq!(
            dv_file_name("r1", "population"),
            dv_file_name("r1", "population")
        );
        assert_ne!(
            dv_file_name("r1", "population"),
            dv_file_name("r2", "population")
        );
        assert_ne!(
            dv_file_name("r1", "population"),
            dv_file_name("r1", "legal_person")
        );
        assert!(dv_file_name("r1", "population").starts_with("deletion_vector_"));
    }
}
