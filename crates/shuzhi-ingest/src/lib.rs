//! Department deliveries → Arrow record batches with provenance.
//!
//! Files are split at record boundaries by a quote-aware scanner, decoded (UTF-8 or GB18030)
//! and parsed chunk by chunk in parallel on rayon, and emitted in file order. Every record keeps
//! its exact 1-based line number; identifiers stay text; rows with the wrong number of fields are
//! emitted too, marked, never dropped.

pub mod csv;
pub mod encoding;

pub use crate::csv::{CsvOptions, CsvSummary, read_csv};
pub use crate::encoding::TextEncoding;

/// Provenance column: 1-based line of the record's first line in its file.
pub const LINE_COLUMN: &str = "_line";
/// Provenance column: the file the record came from.
pub const FILE_COLUMN: &str = "_file";
/// Set when the record could not be split into the header's fields; says why.
pub const INGEST_ERROR_COLUMN: &str = "_ingest_error";
/// The raw record text, kept only when `_ingest_error` is set.
pub const RAW_COLUMN: &str = "_raw";

/// Why a delivery could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Opening or reading failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
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
        path: std::path::PathBuf,
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
        path: std::path::PathBuf,
    },
    /// The sink that receives batches gave up (e.g. the query was cancelled).
    #[error("batch consumer stopped: {0}")]
    Consumer(String),
}
