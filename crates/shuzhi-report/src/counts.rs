//! Row accounting and failure counts, as the engine's sinks gather them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Row accounting for one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceCounts {
    /// Rows read.
    pub read: u64,
    /// Rows in the library.
    pub kept: u64,
    /// Rows in quarantine.
    pub quarantined: u64,
    /// Of those, rows rejected by checks or ingest (the others lost a dedup or were out of
    /// scope).
    #[serde(default)]
    pub rejected: u64,
    /// Of those, rows out of the source's `scope` (no check ran on them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub out_of_scope: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the golden stage built for one golden library.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GoldenCounts {
    /// Golden records (entities).
    pub entities: u64,
    /// Source-layer rows, each linked to one entity.
    pub links: u64,
    /// Department copies that are not the same as the golden value.
    pub conflicts: u64,
    /// Bytes the golden plans spilled to disk under the memory limit.
    #[serde(default)]
    pub spilled_bytes: u64,
}

/// What the topic stage built for one topic.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TopicCounts {
    /// Rows of the topic table.
    pub rows: u64,
    /// Rows per decision.
    pub decisions: std::collections::BTreeMap<String, u64>,
    /// Fingerprint of the topic file that built it.
    pub fingerprint: String,
    /// The version of each table it read.
    pub inputs: std::collections::BTreeMap<String, u64>,
    /// Whether this run computed it (else the published table was kept: nothing it reads
    /// changed).
    pub computed: bool,
    /// Bytes its plan spilled to disk under the memory limit.
    #[serde(default)]
    pub spilled_bytes: u64,
}

/// Counts a run gathers as rows pass its sinks: the input of every score.
#[derive(Debug, Clone, Default)]
pub struct RunCounts {
    /// Per source.
    pub sources: BTreeMap<String, SourceCounts>,
    /// Failures per rule id.
    pub rule_failures: BTreeMap<String, u64>,
    /// Failures per rule id and delivering department.
    pub rule_failures_by_department: BTreeMap<(String, String), u64>,
    /// Changed values per `library.field.step`.
    pub step_changes: BTreeMap<String, u64>,
    /// Bytes that sorts and windows spilled to disk.
    pub spilled_bytes: u64,
}

impl RunCounts {
    /// Adds another sink's counts.
    pub fn merge(&mut self, other: RunCounts) {
        for (k, v) in other.sources {
            let e = self.sources.entry(k).or_default();
            e.read += v.read;
            e.kept += v.kept;
            e.quarantined += v.quarantined;
            e.rejected += v.rejected;
            e.out_of_scope += v.out_of_scope;
        }
        for (k, v) in other.rule_failures {
            *self.rule_failures.entry(k).or_default() += v;
        }
        for (k, v) in other.rule_failures_by_department {
            *self.rule_failures_by_department.entry(k).or_default() += v;
        }
        for (k, v) in other.step_changes {
            *self.step_changes.entry(k).or_default() += v;
        }
        self.spilled_bytes += other.spilled_bytes;
    }
}
