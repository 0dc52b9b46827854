//! Writing a table the stages build after governing (golden tables, topics): files per
//! output stream, optionally partitioned by department, uncommitted until the stage has
//! checked them.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use shuzhi_engine::EngineError;
use shuzhi_engine::sink::{column, with_partition, write_by_department};
use shuzhi_library::{
    Change, PartitionedWriter, PublishedTable, WriteOptions, Writer, WrittenFile, commit,
};

use crate::JobError;
use crate::stages::Committed;

/// A table's files, written but not committed.
pub(crate) struct Written {
    pub name: String,
    pub dir: String,
    pub schema: SchemaRef,
    pub partition: Option<&'static str>,
    pub files: Vec<WrittenFile>,
    pub rows: u64,
    /// Rows whose first column (the entity id) is null.
    pub null_ids: u64,
}

impl Written {
    /// Commits the files as the table's next Delta version and records the table in
    /// `committed` (for the pointer and lineage), then passes its `after_commit` failpoint;
    /// returns the version.
    pub async fn commit(
        self,
        root: &Path,
        change: Change,
        committed: &mut Committed,
    ) -> Result<u64, JobError> {
        let version = commit(
            &root.join(&self.dir),
            &self.name,
            &self.schema,
            self.partition,
            &self.files,
            change,
        )
        .await?;
        committed
            .schemas
            .insert(self.name.clone(), (self.dir.clone(), self.schema));
        committed.tables.insert(
            self.name.clone(),
            PublishedTable {
                path: self.dir,
                version,
            },
        );
        shuzhi_library::failpoint::hit(&format!("after_commit:{}", self.name));
        Ok(version)
    }

    /// Adds another partition's files of the same table.
    pub fn merge(&mut self, other: Written) {
        self.files.extend(other.files);
        self.rows += other.rows;
        self.null_ids += other.null_ids;
    }
}

/// One output stream's writer of one table (partitioned by department or not).
pub(crate) struct TableWriter {
    name: String,
    dir: String,
    /// The table's columns (the partition column last, when partitioned).
    schema: SchemaRef,
    /// The columns in its files (without the partition column).
    file_schema: SchemaRef,
    partition: Option<&'static str>,
    writer: PartitionedWriter,
    rows: u64,
    null_ids: u64,
}

impl TableWriter {
    pub fn new(
        (name, dir, partition): (String, String, Option<&'static str>),
        schema: &SchemaRef,
        root: &Path,
        stream: usize,
        write: &WriteOptions,
    ) -> Self {
        let file_schema: SchemaRef = match partition {
            Some(p) => Arc::new(Schema::new(
                schema
                    .fields()
                    .iter()
                    .filter(|f| f.name() != p)
                    .map(|f| f.as_ref().clone())
                    .collect::<Vec<_>>(),
            )),
            None => schema.clone(),
        };
        let writer = PartitionedWriter::new(
            &root.join(&dir),
            file_schema.clone(),
            partition,
            Writer::Stream(stream),
            write.clone(),
        );
        TableWriter {
            name,
            dir,
            schema: match partition {
                Some(_) => with_partition(&file_schema),
                None => file_schema.clone(),
            },
            file_schema,
            partition,
            writer,
            rows: 0,
            null_ids: 0,
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), EngineError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        self.null_ids += batch.column(0).null_count() as u64;
        match self.partition {
            Some(p) => {
                let departments = column(batch, p)?;
                let cols = self
                    .file_schema
                    .fields()
                    .iter()
                    .map(|f| column(batch, f.name()))
                    .collect::<Result<Vec<_>, _>>()?;
                let rows = RecordBatch::try_new(self.file_schema.clone(), cols)?;
                write_by_department(&mut self.writer, &rows, &departments, None)?;
            }
            None => self.writer.write(batch, None)?,
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Written, EngineError> {
        Ok(Written {
            name: self.name,
            dir: self.dir,
            schema: self.schema,
            partition: self.partition,
            files: self.writer.finish()?,
            rows: self.rows,
            null_ids: self.null_ids,
        })
    }
}
