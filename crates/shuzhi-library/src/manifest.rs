//! The run manifest, `out/_runs/<run_id>/manifest.json`: what went in, what rules applied,
//! what came out, and how long each stage took.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Result, io_err};

/// Manifest file name inside `_runs/<run_id>/`.
pub const MANIFEST_FILE: &str = "manifest.json";

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

/// Row accounting for one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceCounts {
    /// Rows read.
    pub read: u64,
    /// Rows in the library.
    pub kept: u64,
    /// Rows in quarantine.
    pub quarantined: u64,
    /// Of those, rows rejected by checks or ingest (the others lost a dedup).
    #[serde(default)]
    pub rejected: u64,
}

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

/// The score of one GB/T 36344 indicator for one library: X = 1 − A / B, with B the rows
/// read times the checks that count against it and A their failures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndicatorScore {
    /// Library.
    pub library: String,
    /// The delivering department, for a department's share of the library; `None` for the
    /// whole library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `维度/指标`, e.g. `准确性/数据格式合规性`.
    pub indicator: String,
    /// The checks counted (rule ids).
    pub checks: Vec<String>,
    /// Rows evaluated (read) per check.
    pub evaluated: u64,
    /// Failures over all its checks.
    pub failed: u64,
    /// 1 − failed / (evaluated × checks); `None` (not assessable) when the run evaluated no
    /// rows of the library.
    pub score: Option<f64>,
}

/// Record completeness of a library against its expected population.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExpectedPopulation {
    /// Library.
    pub library: String,
    /// The field that must hold the expected values.
    pub field: String,
    /// `code_table:<name>` or `library:<name>`.
    pub reference: String,
    /// Distinct values expected.
    pub expected: u64,
    /// Of those, values the library does not hold.
    pub missing: u64,
    /// The first missing values in order (at most 20; masked when the field is sensitive).
    pub sample: Vec<String>,
}

/// Referential integrity of a field against the keys of another library.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Orphans {
    /// Library.
    pub library: String,
    /// The field with `references`.
    pub field: String,
    /// The referenced library (its key).
    pub references: String,
    /// Distinct values of the field.
    pub values: u64,
    /// Of those, values that are no key of the referenced library.
    pub orphans: u64,
    /// The first orphans in order (at most 20; masked when the field is sensitive).
    pub sample: Vec<String>,
}

/// Catalogue attributes of a field (政务数据资源目录).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldCatalogue {
    /// `public`, `internal` or `sensitive`.
    pub class: String,
    /// 无条件共享 / 有条件共享 / 不予共享.
    pub share: String,
    /// The authoritative department, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
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
    /// Bytes spilled to disk by sorts and windows (dedup) under the memory limit.
    pub spilled_bytes: u64,
    /// Wall seconds per stage.
    pub stage_seconds: BTreeMap<String, f64>,
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
        crate::publish::write_synced(&path, &text)
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
