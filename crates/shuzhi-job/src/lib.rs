//! A run of a pipeline as named stages — deliveries → govern → audit → commit → assess →
//! publish → record — around the engine, which plans and executes. Incremental runs, the
//! delivery archive, OpenLineage events and record completeness live here too.

pub mod completeness;
pub mod delivery;
mod golden;
mod guards;
pub mod incremental;
pub mod lineage;
mod options;
mod run;
mod stages;
mod table_writer;
pub mod tables;
mod topics;

pub use options::{RunOptions, RunReport};
pub use run::run_pipeline;
pub use tables::{failpoints, output_tables};

use shuzhi_engine::EngineError;
use shuzhi_library::LibraryError;

/// Why a run failed; nothing was published.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Planning or executing failed (bad SQL in a rule file, unreadable delivery, ...).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Reading, writing or committing the lakehouse failed.
    #[error(transparent)]
    Library(Box<LibraryError>),
    /// A topic gave two rows with the same key; nothing was published.
    #[error(
        "topic `{topic}` gives more than one row for key {key}; nothing was published (make the topic's `key` unique: group by it, or add the column that tells the rows apart)"
    )]
    TopicKey {
        /// The topic.
        topic: String,
        /// The duplicated key, masked.
        key: String,
    },
    /// Rows were lost between ingest and the sink: a bug; nothing is published.
    #[error(
        "row accounting failed for source `{source_id}`: read {read}, but kept + quarantined = {accounted}; nothing was published"
    )]
    Accounting {
        /// Source id.
        source_id: String,
        /// Rows ingest produced.
        read: u64,
        /// Rows the sink routed.
        accounted: u64,
    },
    /// Libraries breached their reject thresholds and the pipeline holds such runs back.
    #[error(
        "quality gate: {}; nothing was published (set publish_on_breach = true in [pipeline] to publish anyway)",
        breaches.iter().map(|b| b.describe()).collect::<Vec<_>>().join("; ")
    )]
    QualityGate {
        /// The breaches.
        breaches: Vec<shuzhi_report::Breach>,
    },
    /// Source-layer rows that link to no entity (their key is null): the library needs a
    /// `required` check on its key.
    #[error(
        "{rows} row(s) of the source layer of `{library}` have no key and link to no entity; nothing was published (add {{ rule = \"required\", severity = \"reject\" }} to the key field)"
    )]
    Unlinked {
        /// The library.
        library: String,
        /// Rows without an entity.
        rows: u64,
    },
    /// A delivered file's bytes are not the ones its batch recorded: an archive changed since
    /// it was delivered, or a file changed while it was being archived.
    #[error(
        "{path} does not hold the bytes delivered as {label} (sha256 recorded {recorded}, now {found}); nothing was published: restore the archived file, or deliver the source again in full to retire the batch"
    )]
    ChangedDelivery {
        /// The archived copy.
        path: std::path::PathBuf,
        /// The file as delivered.
        label: String,
        /// Its recorded sha256.
        recorded: String,
        /// The sha256 of its bytes now.
        found: String,
    },
    /// Deliveries that look like mistakes (see `guards`).
    #[error(
        "delivery guard: {}; nothing was published (fix the delivery or the mapping, or publish anyway with --accept-delivery SOURCE)",
        findings.join("; ")
    )]
    DeliveryGuard {
        /// What each guard found.
        findings: Vec<String>,
    },
    /// The run was asked to stop (a signal).
    #[error(
        "stopped by {signal}: nothing was published; the next run cleans up what this one wrote"
    )]
    Interrupted {
        /// The signal's name.
        signal: &'static str,
    },
    /// A broken invariant of the run.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<LibraryError> for JobError {
    fn from(e: LibraryError) -> Self {
        JobError::Library(Box::new(e))
    }
}

impl From<datafusion::error::DataFusionError> for JobError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        JobError::Engine(EngineError::DataFusion(e))
    }
}

impl From<arrow::error::ArrowError> for JobError {
    fn from(e: arrow::error::ArrowError) -> Self {
        JobError::Engine(EngineError::Arrow(e))
    }
}
