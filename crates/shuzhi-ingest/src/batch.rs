//! The batch shape every reader emits: the delivery's own columns as text, then provenance.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayBuilder, ArrayRef, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::{FILE_COLUMN, INGEST_ERROR_COLUMN, LINE_COLUMN, RAW_COLUMN, SHEET_COLUMN};

/// Schema of a batch with these delivery columns (all `Utf8`) followed by the provenance
/// columns `_file`, `_sheet`, `_line`, `_ingest_error` and `_raw`.
pub fn text_schema(columns: &[String]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|name| Field::new(name, DataType::Utf8, true))
        .chain(provenance_fields())
        .collect();
    Arc::new(Schema::new(fields))
}

/// The provenance columns ingest adds to every batch, in order: `_file`, `_sheet`, `_line`
/// (`Int64`, as stored in every table), `_ingest_error`, `_raw`. The one definition of their
/// types.
pub fn provenance_fields() -> [Field; 5] {
    [
        Field::new(FILE_COLUMN, DataType::Utf8, false),
        Field::new(SHEET_COLUMN, DataType::Utf8, true),
        Field::new(LINE_COLUMN, DataType::Int64, false),
        Field::new(INGEST_ERROR_COLUMN, DataType::Utf8, true),
        Field::new(RAW_COLUMN, DataType::Utf8, true),
    ]
}

/// Header names made usable: normalised (full-width, spaces), empty ones named after their
/// position, repeated ones suffixed `__2`, `__3`.
pub fn unique_names<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let mut base = shuzhi_functions::text::normalize_text(raw).into_owned();
        if base.is_empty() {
            base = format!("column_{}", i + 1);
        }
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}__{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// Where a row came from.
pub struct RowOrigin<'a> {
    /// Sheet name, for spreadsheets.
    pub sheet: Option<&'a str>,
    /// 1-based line (text files), spreadsheet row or Parquet row ordinal.
    pub line: u64,
}

/// Accumulates rows of text cells plus provenance. Columns can be added while rows arrive
/// (JSON Lines objects bring new keys); earlier rows read as null in them.
pub struct TextBatchBuilder {
    names: Vec<String>,
    index: HashMap<String, usize>,
    columns: Vec<StringBuilder>,
    file: Arc<str>,
    files: StringBuilder,
    sheets: StringBuilder,
    lines: Int64Builder,
    errors: StringBuilder,
    raws: StringBuilder,
    len: usize,
}

impl TextBatchBuilder {
    /// A builder with a fixed set of columns (more can be added with [`Self::column`]).
    pub fn new(file: Arc<str>, columns: &[String], capacity: usize) -> Self {
        let mut builder = Self {
            names: Vec::new(),
            index: HashMap::new(),
            columns: Vec::new(),
            file,
            files: StringBuilder::with_capacity(capacity, 0),
            sheets: StringBuilder::new(),
            lines: Int64Builder::with_capacity(capacity),
            errors: StringBuilder::new(),
            raws: StringBuilder::new(),
            len: 0,
        };
        for name in columns {
            builder.column(name, capacity);
        }
        builder
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of delivery columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Index of a column, adding it (null for the rows so far) if new.
    pub fn column(&mut self, name: &str, capacity: usize) -> usize {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let mut builder = StringBuilder::with_capacity(capacity, capacity * 12);
        builder.append_nulls(self.len);
        self.columns.push(builder);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), self.columns.len() - 1);
        self.columns.len() - 1
    }

    /// Column names in order of first appearance.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Appends a value to column `i` of the row being built.
    pub fn cell(&mut self, i: usize, value: Option<&str>) {
        if let Some(b) = self.columns.get_mut(i) {
            b.append_option(value);
        }
    }

    /// Ends a row whose cells were appended with [`Self::cell`]: columns that got no value are
    /// null.
    pub fn end_row(&mut self, origin: RowOrigin<'_>, error: Option<&str>, raw: Option<&str>) {
        let len = self.len + 1;
        for b in &mut self.columns {
            if b.len() < len {
                b.append_null();
            }
        }
        self.files.append_value(&self.file);
        self.sheets.append_option(origin.sheet);
        self.lines
            .append_value(i64::try_from(origin.line).unwrap_or(i64::MAX));
        self.errors.append_option(error);
        self.raws.append_option(raw);
        self.len = len;
    }

    /// The rows as a batch once `batch_size` rows are held.
    pub fn take_full(&mut self, batch_size: usize) -> Result<Option<RecordBatch>, ArrowError> {
        if self.len >= batch_size {
            self.finish().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The remaining rows as a batch, if any.
    pub fn take_rest(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.is_empty() {
            Ok(None)
        } else {
            self.finish().map(Some)
        }
    }

    /// Emits the rows as a batch and starts empty (keeping the columns).
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let schema = text_schema(&self.names);
        let mut arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.push(Arc::new(self.files.finish()));
        arrays.push(Arc::new(self.sheets.finish()));
        arrays.push(Arc::new(self.lines.finish()));
        arrays.push(Arc::new(self.errors.finish()));
        arrays.push(Arc::new(self.raws.finish()));
        self.len = 0;
        RecordBatch::try_new(schema, arrays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn columns_added_late_are_null_for_earlier_rows() {
        let mut b = TextBatchBuilder::new(Arc::from("f.jsonl"), &["a".into()], 4);
        b.cell(0, Some("1"));
        b.end_row(
            RowOrigin {
                sheet: None,
                line: 1,
            },
            None,
            None,
        );
        let c = b.column("b", 4);
        b.cell(c, Some("x"));
        b.end_row(
            RowOrigin {
                sheet: None,
                line: 2,
            },
            None,
            None,
        );
        let batch = b.finish().expect("valid");
        assert_eq!(batch.num_rows(), 2);
        let a = batch.column(0).as_string::<i32>();
        let bcol = batch.column(1).as_string::<i32>();
        assert!(a.is_null(1) && bcol.is_null(0));
        assert_eq!(bcol.value(1), "x");
    }

    #[test]
    fn header_names_are_normalised_and_unique() {
        assert_eq!(
            unique_names(["身份证号", " 姓名 ", "", "姓名"]),
            vec!["身份证号", "姓名", "column_3", "姓名__2"]
        );
    }
}
