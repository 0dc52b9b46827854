//! Quality from counts: GB/T 36344 indicator scores per library and per delivering department,
//! the quality gate (`max_reject_ratio`, `max_fail_ratio`), record completeness and referential
//! integrity scores, and the field catalogue. No DataFusion: the engine counts, this crate
//! judges, so scoring is tested in milliseconds and reports are rendered without a query engine.

mod catalogue;
mod counts;
mod gate;
mod quality;

pub use catalogue::{FieldCatalogue, field_catalogue};
pub use counts::{GoldenCounts, RunCounts, SourceCounts, TopicCounts};
pub use gate::{Breach, breaches};
pub use quality::{
    ExpectedPopulation, IndicatorScore, Orphans, expected_population_score, library_rows,
    orphans_score, quality,
};
