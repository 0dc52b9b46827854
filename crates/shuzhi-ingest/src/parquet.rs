//! Parquet files from other platforms: every column becomes text (integers exactly, dates as
//! ISO dates, nested values as their display form); `_line` is the 1-based row ordinal.
//!
//! Schema drift between deliveries (missing or extra columns) is not an error here: the
//! summary's header lists what the file has and the engine reports the difference.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray, StringBuilder, new_null_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::DataType;
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::batch::text_schema;
use crate::{FileSummary, Format, IngestError, ReadOptions, sha256_file};

/// Reads a Parquet file batch by batch.
pub fn read_parquet<F>(
    path: &Path,
    options: &ReadOptions,
    mut emit: F,
) -> Result<FileSummary, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let io = IngestError::io(path);
    let corrupt = |message: String| IngestError::corrupt(path, "Parquet", message);
    let (sha256, total) = match &options.sha256 {
        Some(known) => (known.clone(), std::fs::metadata(path).map_err(&io)?.len()),
        None => sha256_file(path)?,
    };
    let file = std::fs::File::open(path).map_err(&io)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| corrupt(e.to_string()))?
        .with_batch_size(options.batch_size.max(1))
        .build()
        .map_err(|e| corrupt(e.to_string()))?;
    let header: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let schema = text_schema(&header);
    let file = options.file_label(path);
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(e.to_string()))?;
        let n = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(header.len() + 5);
        for column in batch.columns() {
            columns.push(as_text(column).map_err(|e| corrupt(e.to_string()))?);
        }
        columns.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(&*file, n),
        )));
        columns.push(new_null_array(&DataType::Utf8, n));
        let first = i64::try_from(rows).unwrap_or(i64::MAX);
        columns.push(Arc::new(Int64Array::from_iter_values(
            (first + 1)..=(first + n as i64),
        )));
        columns.push(new_null_array(&DataType::Utf8, n));
        columns.push(new_null_array(&DataType::Utf8, n));
        rows += n as u64;
        let out = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| IngestError::Consumer(e.to_string()))?;
        emit(out).map_err(IngestError::Consumer)?;
    }
    Ok(FileSummary {
        header,
        rows,
        ..FileSummary::new(path, Format::Parquet, total, sha256)
    })
}

/// A column as `Utf8`: a cast where Arrow has one (column-wise), else each value's display form.
fn as_text(column: &ArrayRef) -> Result<ArrayRef, arrow::error::ArrowError> {
    match column.data_type() {
        DataType::Utf8 => Ok(column.clone()),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Boolean
        | DataType::Date32
        | DataType::Date64
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Decimal128(_, _)
        | DataType::Timestamp(_, _)
        | DataType::Dictionary(_, _) => cast_with_options(
            column,
            &DataType::Utf8,
            &CastOptions {
                safe: false,
                ..CastOptions::default()
            },
        ),
        _ => {
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            let mut out = StringBuilder::with_capacity(column.len(), column.len() * 8);
            for i in 0..column.len() {
                if column.is_null(i) {
                    out.append_null();
                } else {
                    out.append_value(formatter.value(i).to_string());
                }
            }
            Ok(Arc::new(out.finish()))
        }
    }
}
