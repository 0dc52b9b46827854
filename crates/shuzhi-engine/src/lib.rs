//! The engine: one DataFusion session factory, rules compiled to one plan per library, and the
//! split sink that writes library, quarantine and verdicts from a single scan.

pub mod completeness;
pub mod dedup;
pub mod delivery;
pub mod evaluate;
pub mod incremental;
pub mod lineage;
pub mod plan;
pub mod session;
pub mod sink;
pub mod source;
pub mod udf;

mod run;

pub use run::{
    OutputDirs, RunOptions, RunReport, check_pipeline, failpoints, output_tables, run_pipeline,
};
pub use session::{EngineConfig, session};

/// Errors of planning and running.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An SQL expression in a rule file does not plan.
    #[error("{}: SQL expression does not plan: {message}", origin.location())]
    Expr {
        /// Where the expression was written.
        origin: shuzhi_rules::Origin,
        /// DataFusion's message.
        message: String,
    },
    /// A library has rules but no source.
    #[error("library `{0}` has no source")]
    NoSources(String),
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
        breaches: Vec<shuzhi_library::manifest::Breach>,
    },
    /// Query engine error (includes ingest errors raised while the plan ran).
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow compute error.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing or committing outputs failed.
    #[error(transparent)]
    Library(Box<shuzhi_library::LibraryError>),
    /// A broken invariant inside the engine.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<shuzhi_library::LibraryError> for EngineError {
    fn from(e: shuzhi_library::LibraryError) -> Self {
        EngineError::Library(Box::new(e))
    }
}

impl EngineError {
    /// The ingest error behind this error, if a delivery could not be read.
    pub fn ingest_error(&self) -> Option<&shuzhi_ingest::IngestError> {
        let EngineError::DataFusion(e) = self else {
            return None;
        };
        match e.find_root() {
            datafusion::error::DataFusionError::External(inner) => inner.downcast_ref(),
            _ => None,
        }
    }
}
