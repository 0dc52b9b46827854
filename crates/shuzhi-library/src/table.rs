//! Committing written files to a Delta table in one atomic log entry.

use std::path::Path;

use arrow::datatypes::{DataType as ArrowType, SchemaRef};
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add, ArrayType, DataType, MetadataExt, StructField, StructType};
use deltalake::protocol::{DeltaOperation, SaveMode};
use futures::TryStreamExt;

use crate::files::WrittenFile;
use crate::{LibraryError, Result};

fn delta_type(column: &str, t: &ArrowType) -> Result<DataType> {
    Ok(match t {
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => DataType::STRING,
        ArrowType::Date32 => DataType::DATE,
        ArrowType::Int64 => DataType::LONG,
        ArrowType::Boolean => DataType::BOOLEAN,
        ArrowType::Int32 => DataType::INTEGER,
        ArrowType::Float64 => DataType::DOUBLE,
        // Topics store lists (evidence rows, sources) and structs (an evidence row).
        ArrowType::List(item) | ArrowType::LargeList(item) => DataType::Array(Box::new(
            ArrayType::new(delta_type(column, item.data_type())?, item.is_nullable()),
        )),
        ArrowType::Struct(fields) => {
            let fields = fields
                .iter()
                .map(|f| {
                    let t = delta_type(column, f.data_type())?;
                    Ok(StructField::new(f.name(), t, f.is_nullable()))
                })
                .collect::<Result<Vec<_>>>()?;
            let unsupported = |_| LibraryError::UnsupportedType {
                column: column.into(),
                data_type: t.clone(),
            };
            DataType::Struct(Box::new(StructType::try_new(fields).map_err(unsupported)?))
        }
        other => {
            return Err(LibraryError::UnsupportedType {
                column: column.into(),
                data_type: other.clone(),
            });
        }
    })
}

pub(crate) fn table_url(dir: &Path) -> Result<url::Url> {
    std::fs::create_dir_all(dir).map_err(crate::io_err("creating", dir))?;
    let abs = std::fs::canonicalize(dir).map_err(crate::io_err("resolving", dir))?;
    url::Url::from_directory_path(&abs).map_err(|()| LibraryError::Corrupt {
        path: abs.clone(),
        message: "not an absolute path".into(),
    })
}

fn add_action(f: &WrittenFile) -> Add {
    let partition_values = f
        .partition
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    Add {
        path: f.relative_path.clone(),
        partition_values,
        size: f.size as i64,
        modification_time: chrono::Utc::now().timestamp_millis(),
        data_change: true,
        stats: Some(format!("{{\"numRecords\":{}}}", f.rows)),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    }
}

/// How a commit changes a table.
#[derive(Debug)]
pub enum Change {
    /// The files become the whole content of the table.
    Replace,
    /// The files are added to the current content, with `actions` (deletion vectors attached
    /// to earlier files, see [`crate::supersede`]) in the same commit.
    Append {
        /// Further log actions of the commit.
        actions: Vec<Action>,
    },
}

/// Makes `files` the whole content of the Delta table at `dir` in one commit (creating the table
/// on first use) and returns the new version. `schema` is the full logical schema, partition
/// column included. Readers of the table see either the old or the new content, never a mix.
pub async fn commit_replace(
    dir: &Path,
    name: &str,
    schema: &SchemaRef,
    partition_column: Option<&str>,
    files: &[WrittenFile],
) -> Result<u64> {
    commit(dir, name, schema, partition_column, files, Change::Replace).await
}

/// Commits `files` to the Delta table at `dir` as `change` says, in one atomic log entry
/// (creating the table on first use), and returns the new version.
pub async fn commit(
    dir: &Path,
    name: &str,
    schema: &SchemaRef,
    partition_column: Option<&str>,
    files: &[WrittenFile],
    change: Change,
) -> Result<u64> {
    let url = table_url(dir)?;
    let delta = |source| LibraryError::Delta {
        table: dir.to_path_buf(),
        source,
    };
    let adds: Vec<Action> = files.iter().map(|f| Action::Add(add_action(f))).collect();
    let partition_by: Vec<String> = partition_column.into_iter().map(String::from).collect();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        columns.push(StructField::new(
            f.name().clone(),
            delta_type(f.name(), f.data_type())?,
            f.is_nullable(),
        ));
    }
    if !dir.join("_delta_log").is_dir() {
        let table = deltalake::operations::create::CreateBuilder::new()
            .with_location(url.as_str())
            .with_table_name(name)
            .with_columns(columns)
            .with_partition_columns(partition_by.clone())
            .with_save_mode(SaveMode::ErrorIfExists)
            .with_actions(adds)
            .await
            .map_err(delta)?;
        return Ok(table.version().unwrap_or(0));
    }
    let table = deltalake::open_table(url).await.map_err(delta)?;
    let snapshot = table.snapshot().map_err(delta)?;
    let log_store = table.log_store();
    let partition_by = (!partition_by.is_empty()).then_some(partition_by);
    let (mut actions, operation) = match change {
        Change::Replace => {
            let removes: Vec<Action> = snapshot
                .snapshot()
                .file_views(log_store.as_ref(), None)
                .map_ok(|f| Action::Remove(f.remove_action(true)))
                .try_collect()
                .await
                .map_err(delta)?;
            let mut actions = removes;
            // New content may have a new shape (a field added to the rules, a new verdict
            // column): the table's schema follows, or readers would not see the new columns.
            let new_schema = StructType::try_new(columns).map_err(|e| delta(e.into()))?;
            if snapshot.schema().as_ref() != &new_schema {
                let metadata = snapshot
                    .metadata()
                    .clone()
                    .with_schema(&new_schema)
                    .map_err(|e| delta(e.into()))?;
                actions.push(Action::Metadata(metadata));
            }
            let op = DeltaOperation::Write {
                mode: SaveMode::Overwrite,
                partition_by,
                predicate: None,
            };
            (actions, op)
        }
        Change::Append { actions } if actions.is_empty() => (
            actions,
            DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by,
                predicate: None,
            },
        ),
        Change::Append { actions } => (
            actions,
            DeltaOperation::Delete {
                predicate: Some("key superseded by a newer delivery".into()),
            },
        ),
    };
    actions.extend(adds);
    let commit = CommitBuilder::default()
        .with_actions(actions)
        .build(Some(snapshot), log_store.clone(), operation)
        .await
        .map_err(delta)?;
    Ok(commit.version)
}

/// Opens a table at a version (for readers of published state).
pub async fn open_version(dir: &Path, version: u64) -> Result<DeltaTable> {
    let url = table_url(dir)?;
    deltalake::open_table_with_version(url, version)
        .await
        .map_err(|source| LibraryError::Delta {
            table: dir.to_path_buf(),
            source,
        })
}
