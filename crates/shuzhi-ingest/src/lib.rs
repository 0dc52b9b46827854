//! Department deliveries → Arrow record batches with provenance.
//!
//! Every reader emits the delivery's own columns as text (identifiers are never inferred as
//! numbers) followed by provenance: file, sheet, line or row, and — for rows that could not be
//! read as a record — an ingest reason and the raw text. No row is dropped.
//!
//! - CSV / TSV ([`csv`]): split at record boundaries by a quote-aware scanner, decoded (UTF-8,
//!   GB18030, UTF-16) and parsed chunk by chunk in parallel on rayon, emitted in file order.
//! - Spreadsheets ([`excel`]): xlsx, xlsm, xls, xlsb and ods through calamine.
//! - JSON Lines ([`jsonl`]) and Parquet ([`parquet`]).

pub mod batch;
pub mod csv;
pub mod encoding;
pub mod excel;
pub mod jsonl;
pub mod parquet;

use std::io::Read;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

pub use crate::encoding::TextEncoding;

/// Provenance column: 1-based line of the record's first line (text files), the spreadsheet row
/// as Excel numbers it, or the 1-based row ordinal in a Parquet file.
pub const LINE_COLUMN: &str = "_line";
/// Provenance column: the file the record came from.
pub const FILE_COLUMN: &str = "_file";
/// Provenance column: the worksheet, for spreadsheets (null otherwise).
pub const SHEET_COLUMN: &str = "_sheet";
/// Set when the record could not be read as a record; holds one of [`reason`]'s codes.
pub const INGEST_ERROR_COLUMN: &str = "_ingest_error";
/// The raw record text, kept only when `_ingest_error` is set.
pub const RAW_COLUMN: &str = "_raw";

/// Reason codes of rows that ingest marks (they go to quarantine with their raw text).
pub mod reason {
    /// A CSV record whose field count differs from the header's.
    pub const RAGGED_ROW: &str = "ingest.ragged_row";
    /// A spreadsheet number or scientific-notation text that Excel already rounded (more than
    /// 15 significant digits, e.g. an 18-digit ID typed as a number): never repaired.
    pub const EXCEL_PRECISION_LOSS: &str = "ingest.excel_precision_loss";
    /// A JSON Lines line that is not a JSON object.
    pub const BAD_JSON: &str = "ingest.bad_json";
    /// A JSON object with the same key twice: which value is meant cannot be told.
    pub const DUPLICATE_KEY: &str = "ingest.duplicate_key";
    /// Every code, for reports.
    pub const ALL: [&str; 4] = [RAGGED_ROW, EXCEL_PRECISION_LOSS, BAD_JSON, DUPLICATE_KEY];
}

/// File formats ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text.
    Csv,
    /// A workbook: xlsx, xlsm, xlsb, xls (also WPS `.et` saved as xls) or ods.
    Excel,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// Name as written in pipelines and manifests.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Excel => "excel",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    /// The format a file name suggests (CSV when nothing else fits).
    pub fn from_path(path: &Path) -> Format {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "xlsx" | "xlsm" | "xlsb" | "xls" | "et" | "ods" => Format::Excel,
            "jsonl" | "ndjson" | "json" => Format::Jsonl,
            "parquet" | "pq" => Format::Parquet,
            _ => Format::Csv,
        }
    }
}

/// Which worksheets of a workbook to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SheetSelection {
    /// Every visible sheet that holds data.
    #[default]
    All,
    /// One sheet by name.
    Name(String),
    /// One sheet by 1-based position, as the tabs appear in Excel.
    Index(usize),
}

/// How to read one file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Declared format; `None` goes by the file extension.
    pub format: Option<Format>,
    /// Declared text encoding; `None` detects (strict UTF-8 over the whole file, else GB18030).
    pub encoding: Option<TextEncoding>,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// Rows per emitted batch.
    pub batch_size: usize,
    /// Target bytes per parallel chunk (CSV, JSON Lines).
    pub chunk_bytes: usize,
    /// Worksheets to read.
    pub sheet: SheetSelection,
    /// Also read hidden worksheets when reading all sheets.
    pub hidden_sheets: bool,
    /// The 1-based spreadsheet row that holds the header; `None` detects it.
    pub header_row: Option<u32>,
    /// Column names the pipeline expects: the spreadsheet header row is the first row that
    /// holds most of them (title rows above it are skipped).
    pub expected_columns: Vec<String>,
    /// The file's sha256 when the caller has already computed it (it is not computed again).
    pub sha256: Option<String>,
    /// The name the file was delivered under, when it is read from a copy (an archived
    /// delivery): it is what `_file`, the summary and errors show.
    pub delivered_as: Option<PathBuf>,
}

impl ReadOptions {
    /// The `_file` provenance of `path`: its delivered name, or the path itself.
    pub(crate) fn file_label(&self, path: &Path) -> std::sync::Arc<str> {
        std::sync::Arc::from(
            self.delivered_as
                .as_deref()
                .unwrap_or(path)
                .display()
                .to_string(),
        )
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            encoding: None,
            delimiter: b',',
            batch_size: 8192,
            chunk_bytes: 4 << 20,
            sheet: SheetSelection::All,
            hidden_sheets: false,
            header_row: None,
            expected_columns: Vec::new(),
            sha256: None,
            delivered_as: None,
        }
    }
}

/// A worksheet that was read or passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetReport {
    /// Sheet name.
    pub name: String,
    /// 1-based row of the header, when read.
    pub header_row: Option<u32>,
    /// Data rows read.
    pub rows: u64,
    /// Why it was skipped (`hidden`, `empty`), when it was.
    pub skipped: Option<&'static str>,
}

/// What reading a file found, for the run manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// Format read.
    pub format: Format,
    /// Text encoding used (text formats only).
    pub encoding: Option<TextEncoding>,
    /// Whether the encoding was detected rather than declared.
    pub detected: bool,
    /// Worksheets read or skipped (spreadsheets only).
    pub sheets: Vec<SheetReport>,
    /// Column names, in order of first appearance (a union over sheets or JSON objects).
    pub header: Vec<String>,
    /// Data records emitted (including those marked with an ingest reason).
    pub rows: u64,
    /// Records marked with an ingest reason (they go to quarantine).
    pub ingest_errors: u64,
    /// File size.
    pub bytes: u64,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
}

impl FileSummary {
    /// An empty summary of a file, to fill while reading.
    pub(crate) fn new(path: &Path, format: Format, bytes: u64, sha256: String) -> Self {
        Self {
            path: path.to_path_buf(),
            format,
            encoding: None,
            detected: false,
            sheets: Vec::new(),
            header: Vec::new(),
            rows: 0,
            ingest_errors: 0,
            bytes,
            sha256,
        }
    }
}

/// Why a delivery could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Opening or reading failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Bytes that are not valid in the declared or detected encoding.
    #[error(
        "{path} is not valid {encoding} at byte {offset} (line {line}); \
         declare the file's real encoding (e.g. encoding = \"gb18030\" for GBK exports) or use \"auto\""
    )]
    Decode {
        /// The file.
        path: PathBuf,
        /// Encoding that was tried.
        encoding: &'static str,
        /// Byte offset of the first bad byte.
        offset: u64,
        /// 1-based line of that byte.
        line: u64,
    },
    /// No header line.
    #[error("{path} is empty: expected a header line")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file's bytes are not the format its name or declaration says.
    #[error("{path} is not {expected}: it looks like {found}; {help}")]
    WrongFormat {
        /// The file.
        path: PathBuf,
        /// Format expected.
        expected: &'static str,
        /// What the first bytes look like.
        found: &'static str,
        /// What to do.
        help: &'static str,
    },
    /// A workbook or Parquet file that its reader rejects (truncated, corrupt, encrypted).
    #[error(
        "{path}: cannot read the {format} file: {message}; re-export it from the source system"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Format.
        format: &'static str,
        /// The reader's message.
        message: String,
    },
    /// A declared worksheet that the workbook lacks.
    #[error("{path} has no worksheet {wanted}; its sheets are: {available}")]
    NoSuchSheet {
        /// The file.
        path: PathBuf,
        /// The requested sheet.
        wanted: String,
        /// Sheet names present.
        available: String,
    },
    /// A CSV file that starts with Excel's `sep=` line naming another delimiter than the
    /// source's.
    #[error(
        "{path}: line 1 is Excel's delimiter line `sep={found}`, but the source reads `{configured}`: \
         set `delimiter = \"{found}\"` on the source"
    )]
    SeparatorLine {
        /// The file.
        path: PathBuf,
        /// The delimiter the line names.
        found: char,
        /// The delimiter the source declares.
        configured: char,
    },
    /// The sink that receives batches gave up (e.g. the query was cancelled).
    #[error("batch consumer stopped: {0}")]
    Consumer(String),
}

impl IngestError {
    /// A file its reader rejects.
    pub(crate) fn corrupt(path: &Path, format: &'static str, message: impl ToString) -> Self {
        IngestError::Corrupt {
            path: path.to_path_buf(),
            format,
            message: message.to_string(),
        }
    }

    /// The same error naming `name` instead (the file as delivered rather than its copy).
    fn for_file(self, name: &Path) -> IngestError {
        let name = name.to_path_buf();
        match self {
            IngestError::Io { source, .. } => IngestError::Io { path: name, source },
            IngestError::Decode {
                encoding,
                offset,
                line,
                ..
            } => IngestError::Decode {
                path: name,
                encoding,
                offset,
                line,
            },
            IngestError::Empty { .. } => IngestError::Empty { path: name },
            IngestError::WrongFormat {
                expected,
                found,
                help,
                ..
            } => IngestError::WrongFormat {
                path: name,
                expected,
                found,
                help,
            },
            IngestError::Corrupt {
                format, message, ..
            } => IngestError::Corrupt {
                path: name,
                format,
                message,
            },
            IngestError::NoSuchSheet {
                wanted, available, ..
            } => IngestError::NoSuchSheet {
                path: name,
                wanted,
                available,
            },
            IngestError::SeparatorLine {
                found, configured, ..
            } => IngestError::SeparatorLine {
                path: name,
                found,
                configured,
            },
            other @ IngestError::Consumer(_) => other,
        }
    }

    pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
        move |source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads one delivery file in the declared (or extension's) format and calls `emit` with
/// batches in file order. See [`batch::text_schema`] for the batch shape; schemas may differ
/// between batches of one file (sheets, JSON keys).
pub fn read_file<F>(path: &Path, options: &ReadOptions, emit: F) -> Result<FileSummary, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let format = options.format.unwrap_or_else(|| Format::from_path(path));
    let read = check_magic(path, format).and_then(|()| match format {
        Format::Csv => csv::read_csv(path, options, emit),
        Format::Excel => excel::read_workbook(path, options, emit),
        Format::Jsonl => jsonl::read_jsonl(path, options, emit),
        Format::Parquet => parquet::read_parquet(path, options, emit),
    });
    match &options.delivered_as {
        None => read,
        Some(name) => read
            .map(|summary| FileSummary {
                path: name.clone(),
                ..summary
            })
            .map_err(|e| e.for_file(name)),
    }
}

/// What a file's first bytes look like.
fn sniff(head: &[u8]) -> &'static str {
    match head {
        [b'P', b'K', 3, 4, ..] => "a zip container (xlsx, xlsm, ods)",
        [0xD0, 0xCF, 0x11, 0xE0, ..] => "an OLE compound file (xls, et)",
        [b'P', b'A', b'R', b'1', ..] => "Parquet",
        [] => "an empty file",
        [b'{', ..] => "JSON text",
        _ if head.contains(&0) => "binary data",
        _ => "text (CSV?)",
    }
}

/// Fails early, with advice, when the bytes contradict the format (e.g. a CSV renamed .xlsx).
fn check_magic(path: &Path, format: Format) -> Result<(), IngestError> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(IngestError::io(path))?;
    let head = &head[..n];
    let found = sniff(head);
    let (ok, expected, help) = match format {
        Format::Csv | Format::Jsonl => (
            !matches!(
                head,
                [b'P', b'K', 3, 4, ..]
                    | [0xD0, 0xCF, 0x11, 0xE0, ..]
                    | [b'P', b'A', b'R', b'1', ..]
            ),
            if format == Format::Csv {
                "CSV text"
            } else {
                "JSON Lines text"
            },
            "declare the real format (format = \"excel\" or \"parquet\") or rename the file",
        ),
        Format::Excel => (
            matches!(head, [b'P', b'K', 3, 4, ..] | [0xD0, 0xCF, 0x11, 0xE0, ..])
                || head.starts_with(b"\x09\x08") // BIFF2-5 xls
                || head.len() < 4,
            "a spreadsheet",
            "if it is a CSV renamed to .xlsx, rename it to .csv or declare format = \"csv\"",
        ),
        Format::Parquet => (
            head.starts_with(b"PAR1") || head.is_empty(),
            "Parquet",
            "declare the real format or ask the department for the Parquet export",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(IngestError::WrongFormat {
            path: path.to_path_buf(),
            expected,
            found,
            help,
        })
    }
}

/// sha256 of a byte slice, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// sha256 (hex) and size of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<(String, u64), IngestError> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path).map_err(IngestError::io(path))?;
    let mut hasher = sha2::Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(IngestError::io(path))?;
    Ok((format!("{:x}", hasher.finalize()), bytes))
}
