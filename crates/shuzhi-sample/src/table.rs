//! A department table as generated: cells, the file it becomes, and the truth of every row.

use chrono::NaiveDate;

/// One cell before it is written in the table's format.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// Text exactly as the department wrote it.
    Text(String),
    /// A whole number (an ID typed as a number, an amount).
    Int(i64),
    /// A number Excel stored as a double (e.g. an 18-digit ID after Excel rounded it).
    Float(f64),
    /// A typed date (spreadsheet date cell, Parquet `date32`); text formats write ISO.
    Date(NaiveDate),
}

impl Cell {
    /// Text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as text formats write it (`None` for null).
    pub fn render(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Text(s) => Some(s.clone()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(format!("{f:E}")),
            Cell::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
        }
    }
}

/// File formats departments deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// UTF-8 CSV with a BOM (Excel "CSV UTF-8").
    CsvUtf8Bom,
    /// GB18030 CSV (old systems, "GBK").
    CsvGb18030,
    /// UTF-16LE tab-separated with BOM (Excel "Unicode text").
    Utf16Tab,
    /// xlsx with a merged title row above the header.
    Xlsx,
    /// JSON Lines.
    Jsonl,
    /// Parquet (snappy).
    Parquet,
}

impl FileFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::CsvUtf8Bom | FileFormat::CsvGb18030 => "csv",
            FileFormat::Utf16Tab => "txt",
            FileFormat::Xlsx => "xlsx",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Parquet => "parquet",
        }
    }
}

/// What must become of a row, independent of any engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Valid after cleaning (it may still lose a dedup against another copy of its entity).
    Valid,
    /// Must be rejected for this reason.
    Reject(&'static str),
    /// An exact re-delivery of an earlier row of the same table.
    Duplicate,
}

impl Expected {
    /// As written in `truth/rows.csv`.
    pub fn label(self) -> String {
        match self {
            Expected::Valid => "valid".into(),
            Expected::Reject(why) => format!("reject:{why}"),
            Expected::Duplicate => "duplicate".into(),
        }
    }
}

/// The truth of one generated row.
#[derive(Debug, Clone)]
pub struct RowTruth {
    /// Entity the row describes (person `P…`, enterprise `E…`, property unit).
    pub entity: String,
    /// Dirt planted in the row, e.g. `id15`, `fullwidth`, `gender_disagrees`.
    pub dirt: Vec<&'static str>,
    /// The expected outcome.
    pub expected: Expected,
}

/// A generated department table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Delivering department.
    pub department: &'static str,
    /// File stem, e.g. `population_register`.
    pub name: &'static str,
    /// Format written.
    pub format: FileFormat,
    /// Title row above the header (xlsx).
    pub title: Option<String>,
    /// Sheet name (xlsx).
    pub sheet: &'static str,
    /// Column names.
    pub header: Vec<&'static str>,
    /// Rows of cells, one per header column.
    pub rows: Vec<Vec<Cell>>,
    /// Truth, parallel to `rows`.
    pub truth: Vec<RowTruth>,
}

impl Table {
    /// An empty table.
    pub fn new(
        department: &'static str,
        name: &'static str,
        format: FileFormat,
        header: Vec<&'static str>,
    ) -> Table {
        Table {
            department,
            name,
            format,
            title: None,
            sheet: "Sheet1",
            header,
            rows: Vec::new(),
            truth: Vec::new(),
        }
    }

    /// Adds a row with its truth.
    pub fn push(&mut self, row: Vec<Cell>, truth: RowTruth) {
        self.rows.push(row);
        self.truth.push(truth);
    }

    /// Path relative to the output folder.
    pub fn relative_path(&self) -> String {
        format!(
            "{}/{}.{}",
            self.department,
            self.name,
            self.format.extension()
        )
    }
}
