//! The engine: one DataFusion session factory, rules compiled to one plan per library, the
//! split sink that writes library, quarantine and verdicts from a single scan, and execution.
//! It plans and executes; the run around it (deliveries, audit, commit, publish) is
//! `shuzhi-job`'s.

mod arrays;
pub mod calendar;
pub mod dedup;
pub mod dirs;
pub mod evaluate;
pub mod execute;
pub mod linking;
pub mod plan;
pub mod provenance;
pub mod session;
pub mod sink;
pub mod source;
pub mod survivorship;
pub mod topic;
pub mod udf;

pub use dirs::OutputDirs;
pub use execute::execute;
pub use plan::{check_pipeline, plan_libraries};
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
    /// A topic's SQL does not plan.
    #[error("{}: topic SQL does not plan: {message}", origin.location())]
    TopicSql {
        /// The offending token (or the whole query when DataFusion does not say).
        origin: shuzhi_rules::Origin,
        /// DataFusion's message.
        message: String,
    },
    /// A topic's query does not return the columns its `[topic]` declares.
    #[error("{}: {message}", origin.location())]
    TopicOutput {
        /// The declaration.
        origin: shuzhi_rules::Origin,
        /// What is missing.
        message: String,
    },
    /// A library has rules but no source.
    #[error("library `{0}` has no source")]
    NoSources(String),
    /// Query engine error (includes ingest errors raised while the plan ran).
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow compute error.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing or committing outputs failed.
    #[error(transparent)]
    Library(Box<shuzhi_library::LibraryError>),
    /// A `[match]` section or the rows it links do not fit.
    #[error(transparent)]
    Match(#[from] shuzhi_match::MatchError),
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
