//! Deliveries as a DataFusion input: a streaming partition per source whose batches come from
//! `shuzhi-ingest` on a dedicated thread (rayon inside), mapped to the library's fields.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, new_null_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use shuzhi_ingest::{FileSummary, Format, ReadOptions, SheetSelection, TextEncoding};
use shuzhi_rules::{Encoding, FileFormat, LibraryRules, SheetChoice, Source};

/// What ingest found in one file, and how its columns met the source's mapping.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// Source id.
    pub source: String,
    /// Ingest summary.
    pub summary: FileSummary,
    /// Field → the column it was read from (the first of its names the file has).
    pub matched: Vec<(String, String)>,
    /// Columns of the file that no field maps.
    pub unused_columns: Vec<String>,
    /// Fields none of whose names the file has (read as null).
    pub missing_fields: Vec<String>,
}

impl FileReport {
    fn new(source: &Source, summary: FileSummary) -> Self {
        let matched: Vec<(String, String)> = source
            .columns
            .iter()
            .filter_map(|(field, names)| {
                names
                    .iter()
                    .find(|n| summary.header.contains(n))
                    .map(|n| (field.clone(), n.clone()))
            })
            .collect();
        let missing_fields = source
            .columns
            .iter()
            .filter(|(field, _)| !matched.iter().any(|(f, _)| f == field))
            .map(|(field, _)| field.clone())
            .collect();
        let unused_columns = summary
            .header
            .iter()
            .filter(|h| !matched.iter().any(|(_, c)| c == *h))
            .cloned()
            .collect();
        Self {
            source: source.id.clone(),
            summary,
            matched,
            unused_columns,
            missing_fields,
        }
    }
}

/// A live batch ready to govern: the source's rules with the batch's archived files.
#[derive(Debug, Clone)]
pub struct LiveBatch {
    /// The source, `files` pointing at the archived copies.
    pub source: shuzhi_rules::Source,
    /// The path each archived file was delivered as (provenance), parallel to `source.files`.
    pub labels: Vec<String>,
    /// Each file's sha256, when already known (ingest does not hash it again).
    pub sha256: Vec<String>,
    /// Batch id.
    pub batch: String,
    /// Delivery order.
    pub seq: u64,
    /// Delivery mode of this batch.
    pub delivery: shuzhi_rules::Delivery,
}

impl LiveBatch {
    /// The pipeline's sources as batches, without archiving (for planning without data).
    pub fn declared(pipeline: &shuzhi_rules::Pipeline) -> Vec<LiveBatch> {
        pipeline
            .sources
            .iter()
            .map(|s| LiveBatch {
                labels: s.files.iter().map(|f| f.display().to_string()).collect(),
                sha256: Vec::new(),
                source: s.clone(),
                batch: "declared".into(),
                seq: 1,
                delivery: s.delivery,
            })
            .collect()
    }
}

/// The delivered operation of a cdc row (null for other deliveries).
pub const OP_COLUMN: &str = "_op";

/// What ingest reports about each file it finished, collected while the plan runs (the files'
/// checksums, encodings, sheets and column matches, and the rows ingest produced: the audit
/// compares those with the rows the sinks routed).
#[derive(Debug, Clone, Default)]
pub struct FileReports(Arc<Mutex<Vec<FileReport>>>);

impl FileReports {
    fn record(&self, report: FileReport) {
        if let Ok(mut reports) = self.0.lock() {
            reports.push(report);
        }
    }

    /// The reports so far, by source and path (sources are read concurrently: the order must
    /// not depend on timing).
    pub fn sorted(&self) -> Vec<FileReport> {
        let mut reports = self.0.lock().map(|r| r.clone()).unwrap_or_default();
        reports.sort_by(|a, b| (&a.source, &a.summary.path).cmp(&(&b.source, &b.summary.path)));
        reports
    }
}

/// The columns every source stream has: library fields (text), then provenance.
pub fn source_schema(library: &LibraryRules) -> SchemaRef {
    let fields: Vec<Field> = library
        .fields
        .iter()
        .map(|f| Field::new(&f.name, DataType::Utf8, true))
        .chain(shuzhi_ingest::batch::provenance_fields())
        .chain([Field::new(OP_COLUMN, DataType::Utf8, true)])
        .collect();
    Arc::new(Schema::new(fields))
}

/// One source's files, read in order when the plan executes.
#[derive(Debug)]
pub struct SourceStream {
    source: Source,
    schema: SchemaRef,
    field_names: Vec<String>,
    options: ReadOptions,
    reports: FileReports,
    labels: Vec<String>,
    sha256: Vec<String>,
}

impl SourceStream {
    /// A stream for `source` feeding `library`; `labels` name each file as delivered (the
    /// `_file` provenance), parallel to `source.files`.
    pub fn new(
        source: &Source,
        labels: Vec<String>,
        sha256: Vec<String>,
        library: &LibraryRules,
        options: ReadOptions,
        reports: FileReports,
    ) -> Self {
        Self {
            labels,
            sha256,
            source: source.clone(),
            schema: source_schema(library),
            field_names: library.fields.iter().map(|f| f.name.clone()).collect(),
            options: read_options(source, options),
            reports,
        }
    }
}

/// The source's declarations as ingest options.
fn read_options(source: &Source, base: ReadOptions) -> ReadOptions {
    ReadOptions {
        format: match source.format {
            FileFormat::Auto => None,
            FileFormat::Csv => Some(Format::Csv),
            FileFormat::Excel => Some(Format::Excel),
            FileFormat::Jsonl => Some(Format::Jsonl),
            FileFormat::Parquet => Some(Format::Parquet),
        },
        encoding: match source.encoding {
            Encoding::Utf8 => Some(TextEncoding::Utf8),
            Encoding::Gb18030 => Some(TextEncoding::Gb18030),
            Encoding::Auto => None,
        },
        delimiter: source.delimiter,
        sheet: match &source.sheet {
            SheetChoice::All => SheetSelection::All,
            SheetChoice::Name(n) => SheetSelection::Name(n.clone()),
            SheetChoice::Index(i) => SheetSelection::Index(*i),
        },
        hidden_sheets: source.hidden_sheets,
        header_row: source.header_row,
        expected_columns: source
            .columns
            .iter()
            .flat_map(|(_, names)| names.iter().cloned())
            .collect(),
        ..base
    }
}

/// For each library field, the index of the batch column it is read from.
fn column_index(source: &Source, fields: &[String], batch: &Schema) -> Vec<Option<usize>> {
    fields
        .iter()
        .map(|f| {
            source
                .columns
                .iter()
                .find(|(field, _)| field == f)
                .and_then(|(_, names)| names.iter().find_map(|n| batch.index_of(n).ok()))
        })
        .collect()
}

/// Maps a file batch (header columns + provenance) to the source schema; `_op` is the
/// operation column `op` (if any).
fn map_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
    column_index: &[Option<usize>],
    op: Option<usize>,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut columns: Vec<ArrayRef> = column_index
        .iter()
        .map(|i| match i {
            Some(i) => batch.column(*i).clone(),
            None => new_null_array(&DataType::Utf8, batch.num_rows()),
        })
        .collect();
    let by_name = |name: &str| {
        batch
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| arrow::error::ArrowError::SchemaError(format!("ingest lost {name}")))
    };
    for provenance in shuzhi_ingest::batch::provenance_fields() {
        columns.push(by_name(provenance.name())?);
    }
    columns.push(match op {
        Some(i) => batch.column(i).clone(),
        None => new_null_array(&DataType::Utf8, batch.num_rows()),
    });
    RecordBatch::try_new(schema.clone(), columns)
}

impl PartitionStream for SourceStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(4);
        let source = self.source.clone();
        let schema = self.schema.clone();
        let field_names = self.field_names.clone();
        let options = self.options.clone();
        let reports = self.reports.clone();
        let labels = self.labels.clone();
        let known_sha256 = self.sha256.clone();
        // A plain thread: ingest uses rayon, which must not run on tokio workers.
        std::thread::spawn(move || {
            for (i, path) in source.files.iter().enumerate() {
                // Batches of one file may differ in columns (sheets, JSON keys): map each schema.
                let mut mapping: Option<(SchemaRef, Vec<Option<usize>>, Option<usize>)> = None;
                let options = ReadOptions {
                    sha256: known_sha256.get(i).cloned(),
                    delivered_as: labels.get(i).map(PathBuf::from),
                    ..options.clone()
                };
                let result = shuzhi_ingest::read_file(path, &options, |batch| {
                    let fresh = match &mapping {
                        Some((s, _, _)) => s != &batch.schema(),
                        None => true,
                    };
                    if fresh {
                        let index = column_index(&source, &field_names, &batch.schema());
                        let op = source
                            .operation
                            .as_ref()
                            .and_then(|o| batch.schema().index_of(&o.column).ok());
                        mapping = Some((batch.schema(), index, op));
                    }
                    let (index, op) = mapping
                        .as_ref()
                        .map(|(_, i, op)| (i.as_slice(), *op))
                        .unwrap_or((&[], None));
                    let mapped =
                        map_batch(&batch, &schema, index, op).map_err(|e| e.to_string())?;
                    tx.blocking_send(Ok(mapped))
                        .map_err(|_| "query stopped reading".to_string())
                });
                match result {
                    Ok(summary) => reports.record(FileReport::new(&source, summary)),
                    Err(e) => {
                        let _ = tx.blocking_send(Err(DataFusionError::External(Box::new(e))));
                        return;
                    }
                }
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}
