//! The quality gate: libraries and checks over their thresholds.

use serde::{Deserialize, Serialize};
use shuzhi_rules::Pipeline;

use crate::counts::RunCounts;
use crate::quality::library_rows;

/// A library whose reject ratio exceeded its `max_reject_ratio`, or a check whose failure ratio
/// exceeded its `max_fail_ratio`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Breach {
    /// Library.
    pub library: String,
    /// The check, for a `max_fail_ratio` breach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Rows rejected by checks or ingest (library), or failing the check (rule).
    pub rejected: u64,
    /// Rows read.
    pub read: u64,
    /// The threshold (`max_reject_ratio`, or the check's `max_fail_ratio`).
    pub max_reject_ratio: f64,
}

impl Breach {
    /// One line for messages, e.g. `population rejected 4 of 20 rows (max 10.0 %)`.
    pub fn describe(&self) -> String {
        let what = match &self.rule {
            Some(rule) => format!("{rule} failed on"),
            None => format!("{} rejected", self.library),
        };
        format!(
            "{what} {} of {} rows (max {:.1} %)",
            self.rejected,
            self.read,
            self.max_reject_ratio * 100.0
        )
    }
}

/// Libraries whose rows rejected by checks or ingest exceed their `max_reject_ratio`.
pub fn breaches(pipeline: &Pipeline, counts: &RunCounts) -> Vec<Breach> {
    let mut out = Vec::new();
    for library in &pipeline.libraries {
        let (read, rejected) = library_rows(pipeline, counts, &library.name, None);
        let over = |n: u64, max: f64| read > 0 && n as f64 / read as f64 > max;
        if let Some(max) = library.max_reject_ratio
            && over(rejected, max)
        {
            out.push(Breach {
                library: library.name.clone(),
                rule: None,
                rejected,
                read,
                max_reject_ratio: max,
            });
        }
        for check in library.checks() {
            let failed = counts.rule_failures.get(&check.id).copied().unwrap_or(0);
            if let Some(max) = check.max_fail_ratio
                && over(failed, max)
            {
                out.push(Breach {
                    library: library.name.clone(),
                    rule: Some(check.id.clone()),
                    rejected: failed,
                    read,
                    max_reject_ratio: max,
                });
            }
        }
    }
    out
}
