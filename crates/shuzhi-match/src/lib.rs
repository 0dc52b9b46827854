//! Entity resolution for department data: which records, across departments and deliveries,
//! describe the same person or enterprise when keys are missing or wrong.
//!
//! A [`MatchSpec`] (the `[match]` section of a rule file) names the compared columns and their
//! comparators, the blocking rules and the thresholds. [`Linker::new`] prepares the columns
//! once, column-wise; [`Linker::train`] estimates the Fellegi-Sunter model without labels;
//! [`Linker::link`] scores the candidate pairs block by block and clusters the matches under
//! constraints; [`Linker::explain`] shows the levels and weights behind any pair; [`evaluate`]
//! measures the result against a truth.

mod blocking;
mod cluster;
mod compare;
mod evaluate;
mod link;
mod model;
mod spec;

pub use blocking::SkippedBlock;
pub use cluster::Refusals;
pub use compare::{IdValue, ids_veto};
pub use evaluate::{Evaluation, Scores, evaluate};
pub use link::{Explanation, Linked, Linker, ScoredPair};
pub use model::{CorrelatedGroup, FieldModel, Model};
pub use spec::{BlockKey, CompareKind, CompareSpec, MatchSpec};

/// What can go wrong when linking.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// The `[match]` section is inconsistent.
    #[error("[match]: {0}")]
    Spec(String),
    /// The input lacks a column or holds one that cannot be read.
    #[error("match input: {0}")]
    Input(String),
}
