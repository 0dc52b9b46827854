//! shuzhi's user language: pipeline files (which deliveries feed which library) and rule files
//! (fields, clean steps, checks, dedup), read from TOML with spans into a typed plan.
//!
//! Every problem carries a stable code, file:line:column and a hint; all problems of a file are
//! reported together.

pub mod codes;
pub mod diagnostic;
pub mod keys;
mod load;
pub mod model;
pub mod names;
pub mod raw;
pub mod vocabulary;

pub use diagnostic::{Diagnostic, Origin, SourceFile};
pub use load::{load_pipeline, load_rules};
pub use model::*;

/// Why a pipeline could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The files were read but have problems.
    #[error("{} problem(s) in rule or pipeline files", .0.len())]
    Invalid(Vec<Diagnostic>),
}
