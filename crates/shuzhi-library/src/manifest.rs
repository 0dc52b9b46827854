//! The run manifest, `out/_runs/<run_id>/manifest.json`: what went in, what rules applied,
//! what came out, and how long each stage took.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Result, io_err};

pub use crate::layout::MANIFEST_FILE;
pub use shuzhi_report::{
    Breach, ExpectedPopulation, FieldCatalogue, GoldenCounts, IndicatorScore, Orphans,
    SourceCounts, TopicCounts,
};

/// One input file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputFile {
    /// Source id.
    pub source: String,
    /// Path as read.
    pub path: String,
    /// sha256 hex.
    pub sha256: String,
    /// Bytes.
    pub bytes: u64,
    /// Format read (`csv`, `excel`, `jsonl`, `parquet`).
    pub format: String,
    /// Text encoding used (text formats).
    pub encoding: Option<String>,
    /// Whether the encoding was detected.
    pub encoding_detected: bool,
    /// Worksheets read or skipped (workbooks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sheets: Vec<SheetRead>,
    /// Data rows read.
    pub rows: u64,
    /// Rows ingest could not read as records (ragged, precision lost, bad JSON): quarantined.
    pub ingest_errors: u64,
    /// Field → the column (or alias) it was read from.
    pub columns: BTreeMap<String, String>,
    /// Columns of the file the source mapping did not use.
    pub unused_columns: Vec<String>,
    /// Mapped fields none of whose names the file has (read as null).
    pub missing_fields: Vec<String>,
}

/// A worksheet of a workbook input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SheetRead {
    /// Sheet name.
    pub name: String,
    /// 1-based header row, when read.
    pub header_row: Option<u32>,
    /// Data rows read.
    pub rows: u64,
    /// Why it was skipped (`hidden`, `empty`).
    pub skipped: Option<String>,
}

/// Everything a run did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Run id.
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Rule-set fingerprint.
    pub rule_fingerprint: String,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// Business date of the deliveries (`--as-of`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// What this run delivered, skipped, replaced or retired, one line per batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<String>,
    /// Quality thresholds breached (the run exits 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaches: Vec<Breach>,
    /// What start-up recovery repaired before this run (after an interrupted run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovered: Vec<String>,
    /// Input files.
    pub inputs: Vec<InputFile>,
    /// Row accounting per source.
    pub sources: BTreeMap<String, SourceCounts>,
    /// Failures per rule id.
    pub rule_failures: BTreeMap<String, u64>,
    /// GB/T 36344 indicator scores per library.
    #[serde(default)]
    pub quality: Vec<IndicatorScore>,
    /// Expected populations and what is missing of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_populations: Vec<ExpectedPopulation>,
    /// Fields with `references` and their values that are no key of the referenced library.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referential_integrity: Vec<Orphans>,
    /// Catalogue attributes per `library.field`.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldCatalogue>,
    /// Pseudonym keys used: key id → fingerprint (never the secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pseudonym_keys: BTreeMap<String, String>,
    /// Values changed per clean step, keyed `library.field.step`.
    pub step_changes: BTreeMap<String, u64>,
    /// Per golden library: entities, linked source rows and conflicts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub golden: BTreeMap<String, GoldenCounts>,
    /// Per topic: rows, decisions, the versions it read, whether this run computed it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, TopicCounts>,
    /// Bytes spilled to disk by sorts and windows (dedup) under the memory limit.
    pub spilled_bytes: u64,
    /// Wall seconds per stage.
    pub stage_seconds: BTreeMap<String, f64>,
    /// CPU seconds (user + system, all threads) per stage, where the platform tells.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_cpu_seconds: BTreeMap<String, f64>,
    /// Peak resident set of the process (MiB) at the end of each stage, where the platform tells.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_peak_rss_mb: BTreeMap<String, f64>,
    /// Committed Delta version per table path.
    pub table_versions: BTreeMap<String, u64>,
}

impl Manifest {
    /// Writes the manifest to `dir/manifest.json` (synced).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_vec_pretty(self).map_err(|e| crate::LibraryError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        crate::layout::write_synced(&path, &text)
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(io_err("reading", &path))?;
        serde_json::from_slice(&bytes).map_err(|e| crate::LibraryError::Corrupt {
            path,
            message: e.to_string(),
        })
    }
}
