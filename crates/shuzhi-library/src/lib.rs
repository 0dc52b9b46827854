//! The lakehouse: Delta tables written file by file and committed atomically, the run manifest,
//! and the publish pointer `_published.json` that shuzhi's own readers trust.

pub mod export;
pub mod failpoint;
pub mod files;
pub mod layout;
pub mod ledger;
pub mod lock;
pub mod manifest;
pub mod publish;
pub mod recover;
pub mod supersede;
pub mod table;

/// A Delta log action (deletion vectors attached by [`supersede`]).
pub use deltalake::kernel::Action;
pub use files::{PartitionedWriter, WriteOptions, Writer, WrittenFile};
pub use manifest::Manifest;
pub use publish::{
    BatchFile, BatchRecord, Published, PublishedTable, publish, read_published, register_published,
    table_at,
};
pub use table::{Change, commit, commit_replace};

/// Errors of the lakehouse.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// File system problem.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Parquet encoding failed.
    #[error("Parquet file {path}: {source}")]
    Parquet {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow compute failed (a cast or concatenation of read data).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A deletion vector could not be read or written.
    #[error("deletion vector of Delta table {table}: {message}")]
    DeletionVector {
        /// Table directory.
        table: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Delta log problem.
    #[error("Delta table {table}: {source}")]
    Delta {
        /// Table directory.
        table: std::path::PathBuf,
        /// The error.
        source: deltalake::DeltaTableError,
    },
    /// A column type with no Delta equivalent in this version.
    #[error("column `{column}` has type {data_type}, which shuzhi does not store yet")]
    UnsupportedType {
        /// Column.
        column: String,
        /// Arrow type.
        data_type: arrow::datatypes::DataType,
    },
    /// `_published.json` or a manifest is not what shuzhi wrote.
    #[error("{path} is not a valid shuzhi file: {message}")]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another live run holds the lakehouse lock.
    #[error(
        "{path}: the output is locked by run {run_id} (pid {pid} on {host}); wait for it to finish, \
         or pass --wait-lock SECONDS to wait (a lock whose process died or whose lease ran out is \
         taken over automatically)"
    )]
    Locked {
        /// The lock file.
        path: std::path::PathBuf,
        /// Holder's run id.
        run_id: String,
        /// Holder's process.
        pid: u32,
        /// Holder's host.
        host: String,
    },
    /// A run id that an earlier run of this output already used.
    #[error(
        "run id {run_id} was already used in this output ({path}); pass another --run-id or leave it out"
    )]
    RunIdUsed {
        /// The run id.
        run_id: String,
        /// Its run folder.
        path: std::path::PathBuf,
    },
    /// DataFusion registration failed.
    #[error("registering {table}: {source}")]
    Register {
        /// Table name.
        table: String,
        /// The error.
        source: datafusion::error::DataFusionError,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, LibraryError>;

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> LibraryError + 'a {
    move |source| LibraryError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
