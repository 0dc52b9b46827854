//! Deliveries as a DataFusion input: a streaming partition per source whose batches come from
//! `shuzhi-ingest` on a dedicated thread (rayon inside), mapped to the library's fields.

use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use shuzhi_ingest::{
    CsvOptions, CsvSummary, FILE_COLUMN, INGEST_ERROR_COLUMN, LINE_COLUMN, RAW_COLUMN,
};
use shuzhi_rules::{LibraryRules, Source};

/// What ingest found in one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// Source id.
    pub source: String,
    /// Ingest summary.
    pub summary: CsvSummary,
    /// Header columns no field maps.
    pub unused_columns: Vec<String>,
    /// Mapped columns not in the header (read as null).
    pub missing_columns: Vec<String>,
}

/// Shared, filled while the plan runs.
pub type FileReports = Arc<Mutex<Vec<FileReport>>>;

/// The columns every source stream has: library fields (text), then provenance.
pub fn source_schema(library: &LibraryRules) -> SchemaRef {
    let fields: Vec<Field> = library
        .fields
        .iter()
        .map(|f| Field::new(&f.name, DataType::Utf8, true))
        .chain([
            Field::new(FILE_COLUMN, DataType::Utf8, false),
            Field::new(LINE_COLUMN, DataType::Int64, false),
            Field::new(INGEST_ERROR_COLUMN, DataType::Utf8, true),
            Field::new(RAW_COLUMN, DataType::Utf8, true),
        ])
        .collect();
    Arc::new(Schema::new(fields))
}

/// One source's files, read in order when the plan executes.
#[derive(Debug)]
pub struct SourceStream {
    source: Source,
    schema: SchemaRef,
    field_names: Vec<String>,
    options: CsvOptions,
    reports: FileReports,
}

impl SourceStream {
    /// A stream for `source` feeding `library`.
    pub fn new(
        source: &Source,
        library: &LibraryRules,
        options: CsvOptions,
        reports: FileReports,
    ) -> Self {
        Self {
            source: source.clone(),
            schema: source_schema(library),
            field_names: library.fields.iter().map(|f| f.name.clone()).collect(),
            options,
            reports,
        }
    }
}

/// Maps a file batch (header columns + provenance) to the source schema.
fn map_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
    column_index: &[Option<usize>],
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
    columns.push(by_name(FILE_COLUMN)?);
    columns.push(cast(&by_name(LINE_COLUMN)?, &DataType::Int64)?);
    columns.push(by_name(INGEST_ERROR_COLUMN)?);
    columns.push(by_name(RAW_COLUMN)?);
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
        let mut options = self.options.clone();
        options.delimiter = source.delimiter;
        options.encoding = match source.encoding {
            shuzhi_rules::Encoding::Utf8 => Some(shuzhi_ingest::TextEncoding::Utf8),
            shuzhi_rules::Encoding::Gb18030 => Some(shuzhi_ingest::TextEncoding::Gb18030),
            shuzhi_rules::Encoding::Auto => None,
        };
        let reports = self.reports.clone();
        // A plain thread: ingest uses rayon, which must not run on tokio workers.
        std::thread::spawn(move || {
            for path in &source.files {
                let mut column_index: Option<Vec<Option<usize>>> = None;
                let result = shuzhi_ingest::read_csv(path, &options, |batch| {
                    let index = column_index.get_or_insert_with(|| {
                        let file_schema = batch.schema();
                        field_names
                            .iter()
                            .map(|f| {
                                source
                                    .columns
                                    .iter()
                                    .find(|(field, _)| field == f)
                                    .and_then(|(_, col)| file_schema.index_of(col).ok())
                            })
                            .collect()
                    });
                    let mapped = map_batch(&batch, &schema, index).map_err(|e| e.to_string())?;
                    tx.blocking_send(Ok(mapped))
                        .map_err(|_| "query stopped reading".to_string())
                });
                match result {
                    Ok(summary) => {
                        let mapped: Vec<&str> =
                            source.columns.iter().map(|(_, c)| c.as_str()).collect();
                        let report = FileReport {
                            source: source.id.clone(),
                            unused_columns: summary
                                .header
                                .iter()
                                .filter(|h| !mapped.contains(&h.as_str()))
                                .cloned()
                                .collect(),
                            missing_columns: mapped
                                .iter()
                                .filter(|c| !summary.header.iter().any(|h| h == *c))
                                .map(|c| (*c).to_owned())
                                .collect(),
                            summary,
                        };
                        if let Ok(mut r) = reports.lock() {
                            r.push(report);
                        }
                    }
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
