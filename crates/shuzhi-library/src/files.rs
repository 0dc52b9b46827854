//! Parquet data files for a table: one writer per partition value, zstd, explicit row groups,
//! statistics, and the run id and rule fingerprint in the key-value metadata.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::{LibraryError, Result, io_err};

/// Settings shared by every file of a run.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Run id, stored in file names and metadata.
    pub run_id: String,
    /// Rule-set fingerprint, stored in metadata.
    pub fingerprint: String,
    /// Maximum rows per row group.
    pub row_group_rows: usize,
}

/// A finished data file, relative to its table directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Path relative to the table root, `/`-separated.
    pub relative_path: String,
    /// Partition column value, if the table is partitioned.
    pub partition: Option<(String, String)>,
    /// Bytes on disk.
    pub size: u64,
    /// Rows.
    pub rows: u64,
}

struct OpenFile {
    writer: ArrowWriter<File>,
    relative_path: String,
    rows: u64,
}

/// Which writer of a run a table's file comes from: distinct writers of one table in one run
/// never share a file name (`part-<tag>-<run id>.zstd.parquet`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// Output partition `n` of a library's plan.
    Stream(usize),
    /// Output partition `stream` of the library at `library` (its position in the pipeline),
    /// for tables that libraries share (verdicts).
    LibraryStream {
        /// Position of the library in the pipeline.
        library: usize,
        /// Output partition.
        stream: usize,
    },
    /// Records made outside the plan, e.g. `superseded` rows of an incremental run.
    Named(&'static str),
}

impl Writer {
    /// The part of the file name that tells writers apart.
    fn tag(&self) -> String {
        match self {
            Writer::Stream(n) => format!("{n:05}"),
            Writer::LibraryStream { library, stream } => format!("{library:03}-{stream:05}"),
            Writer::Named(name) => (*name).to_owned(),
        }
    }
}

/// Writes one writer's share of a table: a file per partition value.
pub struct PartitionedWriter {
    table_dir: PathBuf,
    schema: SchemaRef,
    partition_column: Option<String>,
    writer: Writer,
    options: WriteOptions,
    files: BTreeMap<Option<String>, OpenFile>,
}

impl std::fmt::Debug for PartitionedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedWriter")
            .field("table_dir", &self.table_dir)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

/// The value [`escape_partition_value`] escaped (`%XX` sequences decoded; invalid ones kept).
pub fn unescape_partition_value(escaped: &str) -> String {
    if escaped == "__HIVE_DEFAULT_PARTITION__" {
        return String::new();
    }
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = escaped
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Hive-style escaping of a partition value (`/ = % : #`, controls, and empty → default).
pub fn escape_partition_value(value: &str) -> String {
    if value.is_empty() {
        return "__HIVE_DEFAULT_PARTITION__".into();
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(
            c,
            '/' | '=' | '%' | ':' | '#' | '\\' | '?' | '*' | '"' | '<' | '>' | '|'
        ) || c.is_control()
        {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl PartitionedWriter {
    /// A writer of a run's files of a table; `schema` excludes the partition column.
    pub fn new(
        table_dir: &Path,
        schema: SchemaRef,
        partition_column: Option<&str>,
        writer: Writer,
        options: WriteOptions,
    ) -> Self {
        Self {
            table_dir: table_dir.to_path_buf(),
            schema,
            partition_column: partition_column.map(String::from),
            writer,
            options,
            files: BTreeMap::new(),
        }
    }

    fn properties(&self) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(self.options.row_group_rows))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_created_by(format!("shuzhi {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![
                KeyValue::new("shuzhi.run_id".into(), self.options.run_id.clone()),
                KeyValue::new(
                    "shuzhi.rule_fingerprint".into(),
                    self.options.fingerprint.clone(),
                ),
            ]))
            .build()
    }

    /// Appends a batch (without the partition column) to the file of `partition`.
    pub fn write(&mut self, batch: &RecordBatch, partition: Option<&str>) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let key = partition.map(String::from);
        if !self.files.contains_key(&key) {
            let dir_rel = match (&self.partition_column, partition) {
                (Some(col), Some(v)) => format!("{col}={}/", escape_partition_value(v)),
                _ => String::new(),
            };
            let relative_path = format!(
                "{dir_rel}part-{}-{}.zstd.parquet",
                self.writer.tag(),
                self.options.run_id
            );
            let path = self.table_dir.join(&relative_path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
            }
            let file = File::create(&path).map_err(io_err("creating", &path))?;
            let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties()))
                .map_err(|source| LibraryError::Parquet { path, source })?;
            self.files.insert(
                key.clone(),
                OpenFile {
                    writer,
                    relative_path,
                    rows: 0,
                },
            );
        }
        let table_dir = &self.table_dir;
        if let Some(open) = self.files.get_mut(&key) {
            open.writer
                .write(batch)
                .map_err(|source| LibraryError::Parquet {
                    path: table_dir.join(&open.relative_path),
                    source,
                })?;
            open.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    /// Closes every file, syncs it to disk and describes it.
    pub fn finish(self) -> Result<Vec<WrittenFile>> {
        let mut out = Vec::with_capacity(self.files.len());
        for (partition, open) in self.files {
            let path = self.table_dir.join(&open.relative_path);
            let file = open
                .writer
                .into_inner()
                .map_err(|source| LibraryError::Parquet {
                    path: path.clone(),
                    source,
                })?;
            file.sync_all().map_err(io_err("syncing", &path))?;
            let size = file
                .metadata()
                .map_err(io_err("reading size of", &path))?
                .len();
            out.push(WrittenFile {
                relative_path: open.relative_path,
                partition: self.partition_column.clone().zip(partition),
                size,
                rows: open.rows,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_partition_values() {
        assert_eq!(escape_partition_value("public_security"), "public_security");
        assert_eq!(escape_partition_value("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(escape_partition_value(""), "__HIVE_DEFAULT_PARTITION__");
        assert_eq!(escape_partition_value("公安"), "公安");
    }
}
