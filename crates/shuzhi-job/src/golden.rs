//! The golden stage: for every golden library, the golden records, links, attribute sources
//! and conflicts, built from the committed source layer in one pass per output partition (the
//! plan is `shuzhi_engine::plan::golden`'s, the operator `shuzhi_engine::survivorship`'s). A
//! full run builds every table; an incremental run recomputes only the entities whose keys its
//! new rows won and replaces their rows (so its tables equal a full rebuild's). All files are
//! written and the link accounting is checked before the first commit.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use shuzhi_engine::EngineError;
use shuzhi_engine::execute::{GoldenSink, execute_golden};
use shuzhi_engine::plan::golden::{
    BatchDelivery, GoldenTable, SOURCE_INPUT, TOUCHED_INPUT, plan_golden,
};
use shuzhi_engine::survivorship::GoldenBatches;
use shuzhi_functions::entity::entity_id;
use shuzhi_library::layout::run_dir;
use shuzhi_library::supersede::{EVERY_PARTITION, KeysByPartition, supersede};
use shuzhi_library::{BatchRecord, Change, Manifest, Published, PublishedTable, WriteOptions};
use shuzhi_report::GoldenCounts;
use shuzhi_rules::{LibraryRules, Pipeline};

use crate::JobError;
use crate::stages::{Committed, LibraryOutput};
use crate::table_writer::{TableWriter, Written};

/// The name, directory and partition column of the golden tables of `library`, in the
/// order of [`GoldenBatches`]' fields: golden records, attributes, conflicts, link.
fn golden_tables(library: &str) -> [(String, String, Option<&'static str>); 4] {
    let table = |t: GoldenTable| (t.query_name(library), t.dir(library), t.partition());
    [
        (library.to_owned(), library.to_owned(), None),
        table(GoldenTable::Attributes),
        table(GoldenTable::Conflicts),
        table(GoldenTable::Link),
    ]
}

/// One output partition's writers of the four golden tables.
struct GoldenWriters([TableWriter; 4]);

impl GoldenSink for GoldenWriters {
    type Output = [Written; 4];

    fn write(&mut self, rows: GoldenBatches) -> Result<(), EngineError> {
        let batches = [rows.golden, rows.attributes, rows.conflicts, rows.link];
        for (w, b) in self.0.iter_mut().zip(&batches) {
            w.write(b)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<[Written; 4], EngineError> {
        let [a, b, c, d] = self.0;
        Ok([a.finish()?, b.finish()?, c.finish()?, d.finish()?])
    }
}

/// The day a batch was delivered: the date its run id starts with (`20261204T...`).
fn delivered_on(run_id: &str) -> Option<String> {
    let day = chrono::NaiveDate::parse_from_str(run_id.get(..8)?, "%Y%m%d").ok()?;
    Some(day.to_string())
}

/// The live batches' delivery order and dates.
fn deliveries(registry: &[BatchRecord]) -> Vec<BatchDelivery> {
    registry
        .iter()
        .map(|b| BatchDelivery {
            batch: b.batch.clone(),
            seq: b.seq as i64,
            delivered_on: delivered_on(&b.run_id),
        })
        .collect()
}

/// The column every golden table keys its rows by.
const ENTITY_ID: &str = "entity_id";

/// What every golden library of a run is built with.
struct GoldenRun<'a> {
    ctx: SessionContext,
    root: &'a Path,
    registry: &'a [BatchRecord],
    write: &'a WriteOptions,
}

/// What an incremental run merges into: the published golden tables (in [`golden_tables`]'
/// order), their counts, and the keys whose source rows the run changed.
struct MergeBase {
    tables: [PublishedTable; 4],
    counts: GoldenCounts,
    touched: Vec<String>,
}

/// Per golden library, the keys an incremental run's new rows won (new keys, or keys whose
/// department copy they replaced): the only entities whose golden tables can change.
pub(crate) fn touched_keys(outputs: &[LibraryOutput]) -> BTreeMap<String, BTreeSet<String>> {
    outputs
        .iter()
        .filter(|o| o.planned.rules.golden)
        .map(|o| {
            let keys = o
                .files
                .winning_keys
                .iter()
                .flat_map(|(_, keys)| keys.as_string::<i32>().iter().flatten().map(String::from))
                .collect();
            (o.planned.rules.name.clone(), keys)
        })
        .collect()
}

/// The base an incremental run merges `library`'s golden tables into, when the previous
/// publish has all of them and its manifest their counts (a full rebuild otherwise).
fn merge_base(
    root: &Path,
    previous: &Published,
    library: &str,
    touched: &BTreeSet<String>,
) -> Option<MergeBase> {
    let tables = golden_tables(library).map(|(name, _, _)| previous.tables.get(&name).cloned());
    let [Some(a), Some(b), Some(c), Some(d)] = tables else {
        return None;
    };
    let manifest = Manifest::read(&run_dir(root, &previous.run_id)).ok()?;
    Some(MergeBase {
        tables: [a, b, c, d],
        counts: manifest.golden.get(library)?.clone(),
        touched: touched.iter().cloned().collect(),
    })
}

/// A merge's commits: each table's published rows of the recomputed entities deleted (Delta
/// deletion vectors, in every partition), with how many rows that deletes.
async fn merge_changes(
    root: &Path,
    library: &str,
    write: &WriteOptions,
    written: &[Written],
    merge: &MergeBase,
) -> Result<Vec<(Change, u64)>, JobError> {
    let ids: HashSet<String> = merge
        .touched
        .iter()
        .map(|k| entity_id(library, k))
        .collect();
    let keys = Arc::new(KeysByPartition::from([(EVERY_PARTITION.to_owned(), ids)]));
    let mut changes = Vec::new();
    for (w, published) in written.iter().zip(&merge.tables) {
        let found = supersede(
            &root.join(&w.dir),
            published.version,
            &w.name,
            &write.run_id,
            ENTITY_ID,
            keys.clone(),
            &[ENTITY_ID.to_owned()],
        )
        .await?;
        changes.push((
            Change::Append {
                actions: found.actions,
            },
            found.count,
        ));
    }
    Ok(changes)
}

/// Builds, checks and commits the golden tables of `library` from its committed source layer:
/// in full, or, merging into `merge`, only the touched entities' rows (the published rows of
/// those entities are deleted in the same commits).
async fn build_library(
    run: &GoldenRun<'_>,
    library: &LibraryRules,
    source: &PublishedTable,
    merge: Option<MergeBase>,
    committed: &mut Committed,
) -> Result<GoldenCounts, JobError> {
    let (ctx, root, write) = (&run.ctx, run.root, run.write);
    let name = &library.name;
    let tables = golden_tables(name);
    if let Some(m) = merge.as_ref().filter(|m| m.touched.is_empty()) {
        for ((table, _, _), published) in tables.iter().zip(&m.tables) {
            committed.tables.insert(table.clone(), published.clone());
        }
        return Ok(GoldenCounts {
            spilled_bytes: 0,
            ..m.counts.clone()
        });
    }
    let provider =
        shuzhi_library::table_at(ctx, root, &GoldenTable::Source.query_name(name), source).await?;
    let source_schema = provider.schema();
    ctx.deregister_table(SOURCE_INPUT)?;
    ctx.register_table(SOURCE_INPUT, provider)?;
    if let Some(m) = &merge {
        let keys: ArrayRef = Arc::new(StringArray::from(m.touched.clone()));
        let touched = RecordBatch::try_from_iter([("key", keys)])?;
        let table = MemTable::try_new(touched.schema(), vec![vec![touched]])?;
        ctx.deregister_table(TOUCHED_INPUT)?;
        ctx.register_table(TOUCHED_INPUT, Arc::new(table))?;
    }
    let deliveries = deliveries(run.registry);
    let (plan, spec) =
        plan_golden(ctx, library, &source_schema, &deliveries, merge.is_some()).await?;
    let started = std::time::Instant::now();
    let parts = execute_golden(ctx, plan.clone(), &spec, |stream, schemas| {
        let schemas = [
            &schemas.golden,
            &schemas.attributes,
            &schemas.conflicts,
            &schemas.link,
        ];
        GoldenWriters(std::array::from_fn(|t| {
            TableWriter::new(tables[t].clone(), schemas[t], root, stream, write)
        }))
    })
    .await?;
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return Err(JobError::Internal("golden plan has no partition".into()));
    };
    let mut written = first;
    for part in parts {
        written.iter_mut().zip(part).for_each(|(w, p)| w.merge(p));
    }
    let spilled_bytes = shuzhi_engine::execute::spilled_bytes(plan.as_ref());
    tracing::debug!(
        library = %name,
        seconds = started.elapsed().as_secs_f64(),
        "executed golden plan:\n{}",
        datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan.as_ref())
            .indent(true)
    );
    // Every source row links to exactly one entity: one link row each, none without an id.
    let unlinked = written[3].null_ids;
    if unlinked > 0 {
        return Err(JobError::Unlinked {
            library: name.clone(),
            rows: unlinked,
        });
    }
    let changes = match &merge {
        Some(m) => merge_changes(root, name, write, &written, m).await?,
        None => written.iter().map(|_| (Change::Replace, 0)).collect(),
    };
    let total = |t: usize, before: u64| written[t].rows + before - changes[t].1;
    let before = merge.as_ref().map(|m| &m.counts);
    let counts = GoldenCounts {
        entities: total(0, before.map_or(0, |c| c.entities)),
        conflicts: total(2, before.map_or(0, |c| c.conflicts)),
        links: total(3, before.map_or(0, |c| c.links)),
        spilled_bytes,
    };
    for (w, (change, _)) in written.into_iter().zip(changes) {
        w.commit(root, change, committed).await?;
    }
    Ok(counts)
}

/// A session for the golden plan, sharing `ctx`'s runtime (memory pool, spill files) and
/// functions, where text is read as plain `Utf8`: a slice of a string view is charged to the
/// sort with the whole buffer it points into, and the outputs store plain text.
fn golden_session(ctx: &SessionContext) -> SessionContext {
    let mut state = ctx.state();
    let options = state.config_mut().options_mut();
    options.execution.parquet.schema_force_view_types = false;
    SessionContext::new_with_state(state)
}

/// Builds the golden tables of every golden library whose source layer is committed. An
/// incremental run (`touched`: the keys it changed per library, `previous`: the state it
/// started from) merges into the published tables instead of rebuilding them.
pub(crate) async fn build(
    ctx: &SessionContext,
    root: &Path,
    pipeline: &Pipeline,
    registry: &[BatchRecord],
    write: &WriteOptions,
    increment: Option<(&BTreeMap<String, BTreeSet<String>>, &Published)>,
    committed: &mut Committed,
) -> Result<BTreeMap<String, GoldenCounts>, JobError> {
    let run = GoldenRun {
        ctx: golden_session(ctx),
        root,
        registry,
        write,
    };
    let mut out = BTreeMap::new();
    for library in pipeline.libraries.iter().filter(|l| l.golden) {
        let Some(source) = committed
            .tables
            .get(&GoldenTable::Source.query_name(&library.name))
            .cloned()
        else {
            continue;
        };
        let no_keys = BTreeSet::new();
        let merge = increment.and_then(|(touched, previous)| {
            let keys = touched.get(&library.name).unwrap_or(&no_keys);
            merge_base(root, previous, &library.name, keys)
        });
        let merged = merge.as_ref().map(|m| m.touched.len());
        let counts = build_library(&run, library, &source, merge, committed).await?;
        tracing::info!(
            library = %library.name,
            entities = counts.entities,
            links = counts.links,
            conflicts = counts.conflicts,
            merged_entities = ?merged,
            "golden records built"
        );
        out.insert(library.name.clone(), counts);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_date_comes_from_its_run_id() {
        assert_eq!(
            delivered_on("19700102T000000Z-abc").as_deref(),
            Some("1970-01-02")
        );
        assert_eq!(delivered_on("r1"), None);
        assert_eq!(delivered_on("2026x204"), None);
    }
}
