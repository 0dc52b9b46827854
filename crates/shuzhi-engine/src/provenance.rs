//! The columns a row carries beside its fields, defined once: where it came from (ingest adds
//! file, sheet and line: `shuzhi_ingest::batch::provenance_fields`; the plan adds source,
//! department and batch; the sink the run id) and the plan's verdict on it, which the sink
//! routes by.

use arrow::datatypes::{DataType, Field};
pub use shuzhi_ingest::{FILE_COLUMN, INGEST_ERROR_COLUMN, LINE_COLUMN, RAW_COLUMN, SHEET_COLUMN};

/// Provenance: source id.
pub const SOURCE_COLUMN: &str = "_source";
/// Provenance: the delivery batch.
pub const BATCH_COLUMN: &str = "_batch";
/// Provenance: the delivering department; quarantine and verdicts are partitioned by it.
pub const DEPARTMENT_COLUMN: &str = "_department";
/// Provenance: the run that wrote the row.
pub const RUN_ID_COLUMN: &str = "_run_id";
/// Delivery order of the row's batch (later wins); not stored.
pub const SEQ_COLUMN: &str = "_seq";
/// Whether a cdc row deletes its key; not stored.
pub const DELETED_COLUMN: &str = "_deleted";
/// True when the row's source `scope` is false for it: kept out of the library and its checks.
pub const OUT_OF_SCOPE_COLUMN: &str = "_out_of_scope";
/// True when a reject check (or ingest) failed.
pub const REJECTED_COLUMN: &str = "_rejected";
/// Reject reasons, `; `-separated rule ids.
pub const REASONS_COLUMN: &str = "_reasons";
/// Warn and fix rule ids that fired on a kept row.
pub const FLAGS_COLUMN: &str = "_flags";

/// The provenance stored with every library, quarantine and verdict row, in order:
/// `_source`, `_batch`, `_file`, `_sheet`, `_line`, `_run_id`.
pub fn stored_fields() -> [Field; 6] {
    let [file, sheet, line, _, _] = shuzhi_ingest::batch::provenance_fields();
    [
        Field::new(SOURCE_COLUMN, DataType::Utf8, false),
        Field::new(BATCH_COLUMN, DataType::Utf8, false),
        file,
        sheet,
        line,
        Field::new(RUN_ID_COLUMN, DataType::Utf8, false),
    ]
}

/// The department column of a table partitioned by department.
pub fn department_field() -> Field {
    Field::new(DEPARTMENT_COLUMN, DataType::Utf8, false)
}
