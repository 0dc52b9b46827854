//! Incremental runs: when a run only adds batches to what was published, with the same rules,
//! sources and shuzhi version, it governs the new batches alone and supersedes the published
//! rows of the keys they bring with Delta deletion vectors. The tables are the ones a full
//! rebuild of every live batch gives (`tests/it/deliveries.rs` compares them): a newer delivery
//! always wins its key (`dedup.rs`), so the published winner of a key the new batches bring is
//! superseded and nothing else changes.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, new_null_array};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use sha2::{Digest, Sha256};
use shuzhi_engine::plan::golden::GoldenTable;
use shuzhi_ingest::{FILE_COLUMN, LINE_COLUMN, RAW_COLUMN, SHEET_COLUMN};
use shuzhi_library::supersede::KeysByPartition;
use shuzhi_library::{PartitionedWriter, Published, WriteOptions, Writer, WrittenFile};
use shuzhi_rules::Pipeline;

use crate::JobError;
use crate::delivery::DeliveryPlan;
use shuzhi_engine::plan::{PlannedLibrary, superseded_rule};
use shuzhi_engine::provenance::{
    BATCH_COLUMN, DEPARTMENT_COLUMN, REASONS_COLUMN, RUN_ID_COLUMN, SOURCE_COLUMN,
};
use shuzhi_engine::sink::{OutputSchemas, column, constant, write_by_department};
use shuzhi_engine::source::LiveBatch;

/// Version of the output tables' shape (2: verdicts name their `entity` and what a duplicate
/// lost `against`): a lakehouse written with another one is rebuilt, never appended to.
const TABLE_LAYOUT: u32 = 2;

/// What a run's tables are made from: a fingerprint of everything that decides how a
/// delivered row is governed — the rule set (with code tables), every source's reading and
/// mapping settings (not its paths, delivery mode or batch id: those belong to one delivery,
/// recorded per batch), the shuzhi version and the layout of its tables. A published run with
/// another one is rebuilt.
pub fn plan_fingerprint(pipeline: &Pipeline) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(format!("\0{TABLE_LAYOUT}\0").as_bytes());
    h.update(pipeline.fingerprint.as_bytes());
    for s in &pipeline.sources {
        let settings = format!(
            "\0{}|{}|{}|{:?}|{:?}|{}|{:?}|{}|{:?}|{:?}|{:?}",
            s.id,
            s.department,
            s.library,
            s.format,
            s.encoding,
            s.delimiter,
            s.sheet,
            s.hidden_sheets,
            s.header_row,
            s.operation,
            s.columns
        );
        h.update(settings.as_bytes());
    }
    // A rotated pseudonym key changes every pseudonym: the library must be rebuilt with it.
    for (id, key_fingerprint) in &pipeline.keys {
        h.update(format!("\0key {id}={key_fingerprint}").as_bytes());
    }
    format!("{:x}", h.finalize())
}

/// The batches an incremental run governs, or why the run must rebuild every table.
pub fn new_batches(
    pipeline: &Pipeline,
    previous: Option<&Published>,
    deliveries: &DeliveryPlan,
    fingerprint: &str,
    full_rebuild: bool,
) -> Result<Vec<LiveBatch>, &'static str> {
    if full_rebuild {
        return Err("a full rebuild was asked for (--full-rebuild)");
    }
    let Some(previous) = previous else {
        return Err("nothing was published yet");
    };
    if previous.plan_fingerprint != fingerprint {
        return Err("the rules, code tables, source settings or shuzhi version changed");
    }
    let tables = crate::tables::output_tables(pipeline);
    if tables
        .iter()
        .any(|(name, _)| !previous.tables.contains_key(name))
    {
        return Err("a table of the pipeline was not published yet");
    }
    if previous
        .batches
        .iter()
        .any(|b| !deliveries.registry.contains(b))
    {
        return Err("published batches were retired or replaced");
    }
    let last = previous.batches.iter().map(|b| b.seq).max().unwrap_or(0);
    Ok(deliveries
        .live
        .iter()
        .filter(|b| b.seq > last)
        .cloned()
        .collect())
}

/// Supersedes the published rows of `planned`'s library whose keys are in `winning_keys`:
/// returns the log actions that attach the deletion vectors, the quarantine files holding the
/// superseded rows' records (key, reason, provenance) and how many rows were superseded.
pub async fn supersede(
    root: &Path,
    previous: &Published,
    planned: &PlannedLibrary,
    winning_keys: &[(ArrayRef, ArrayRef)],
    write: &WriteOptions,
    quarantine_dir: &Path,
) -> Result<(Vec<shuzhi_library::Action>, Vec<WrittenFile>, u64), JobError> {
    let name = match planned.rules.golden {
        true => GoldenTable::Source.query_name(&planned.rules.name),
        false => planned.rules.name.clone(),
    };
    let key = &planned.rules.key;
    let Some(published) = previous.tables.get(&name) else {
        return Ok((Vec::new(), Vec::new(), 0));
    };
    // A golden library's source layer keeps each department's copy: a key supersedes only its
    // own department's published rows.
    let mut keys = KeysByPartition::new();
    for (departments, array) in winning_keys {
        let departments = departments.as_string::<i32>();
        for (department, key) in departments.iter().zip(array.as_string::<i32>().iter()) {
            let (Some(department), Some(key)) = (department, key) else {
                continue;
            };
            let partition = match planned.rules.golden {
                true => format!(
                    "{DEPARTMENT_COLUMN}={}/",
                    shuzhi_library::files::escape_partition_value(department)
                ),
                false => String::new(),
            };
            keys.entry(partition).or_default().insert(key.to_owned());
        }
    }
    if keys.is_empty() {
        return Ok((Vec::new(), Vec::new(), 0));
    }
    let carried: Vec<String> = [
        key.as_str(),
        SOURCE_COLUMN,
        BATCH_COLUMN,
        FILE_COLUMN,
        SHEET_COLUMN,
        LINE_COLUMN,
        DEPARTMENT_COLUMN,
    ]
    .map(String::from)
    .to_vec();
    let found = shuzhi_library::supersede::supersede(
        &root.join(&published.path),
        published.version,
        &name,
        &write.run_id,
        key,
        Arc::new(keys),
        &carried,
    )
    .await?;
    let schemas = OutputSchemas::of(planned);
    let mut writer = PartitionedWriter::new(
        quarantine_dir,
        schemas.quarantine.clone(),
        Some(DEPARTMENT_COLUMN),
        Writer::Named("superseded"),
        write.clone(),
    );
    for rows in &found.rows {
        let records = superseded_records(planned, &schemas, rows, &write.run_id)?;
        let departments = column(rows, DEPARTMENT_COLUMN)?;
        write_by_department(&mut writer, &records, &departments, None)?;
    }
    Ok((found.actions, writer.finish()?, found.count))
}

/// Quarantine records of superseded library rows: the key as governed, the reason and the
/// provenance, as the sink writes them for a full rebuild.
fn superseded_records(
    planned: &PlannedLibrary,
    schemas: &OutputSchemas,
    rows: &RecordBatch,
    run_id: &str,
) -> Result<RecordBatch, JobError> {
    let n = rows.num_rows();
    let text = |a: ArrayRef| arrow::compute::cast(&a, &DataType::Utf8);
    let mut cols: Vec<ArrayRef> = Vec::new();
    for f in schemas.quarantine.fields() {
        let name = f.name().as_str();
        cols.push(match name {
            _ if name == planned.rules.key => text(column(rows, name)?)?,
            REASONS_COLUMN => constant(&superseded_rule(&planned.rules.name), n),
            RAW_COLUMN => new_null_array(&DataType::Utf8, n),
            RUN_ID_COLUMN => constant(run_id, n),
            SOURCE_COLUMN | BATCH_COLUMN | FILE_COLUMN | SHEET_COLUMN | LINE_COLUMN => {
                column(rows, name)?
            }
            _ => new_null_array(f.data_type(), n),
        });
    }
    Ok(RecordBatch::try_new(schemas.quarantine.clone(), cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_pseudonym_key_changes_the_plan_fingerprint() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipeline.toml");
        let pipeline = shuzhi_rules::load_pipeline(&path).expect("the sample pipeline loads");
        let mut with_key = pipeline.clone();
        with_key
            .keys
            .insert("person".into(), "0123456789abcdef".into());
        let mut rotated = pipeline.clone();
        rotated
            .keys
            .insert("person".into(), "fedcba9876543210".into());
        let fingerprints = [&pipeline, &with_key, &rotated].map(plan_fingerprint);
        assert_ne!(fingerprints[0], fingerprints[1]);
        assert_ne!(fingerprints[1], fingerprints[2]);
        assert_eq!(plan_fingerprint(&pipeline), fingerprints[0]);
    }
}
