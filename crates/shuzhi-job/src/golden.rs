//! The golden stage: for every golden library, the golden records, links, attribute sources
//! and conflicts, built from the committed source layer (the plans are in
//! `shuzhi_engine::plan::golden`). Every table is rebuilt in full from the source layer, so an
//! incremental run's golden tables equal a full rebuild's. All files are written and the link
//! accounting is checked before the first commit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::{DataFrame, SessionContext};
use futures::StreamExt;
use shuzhi_engine::plan::golden::{BatchDelivery, GoldenTable, SOURCE_INPUT, plan_golden};
use shuzhi_engine::sink::{column, with_partition, write_by_department};
use shuzhi_library::{
    BatchRecord, Change, PartitionedWriter, PublishedTable, WriteOptions, Writer, WrittenFile,
    commit,
};
use shuzhi_report::GoldenCounts;
use shuzhi_rules::{LibraryRules, Pipeline};

use crate::JobError;
use crate::stages::Committed;

/// A table's files, written but not committed.
struct Written {
    name: String,
    dir: String,
    schema: SchemaRef,
    partition: Option<&'static str>,
    files: Vec<WrittenFile>,
    rows: u64,
    /// Rows whose first column (the entity id) is null.
    null_ids: u64,
    /// Bytes its plan spilled to disk.
    spilled_bytes: u64,
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

/// `schema` with every text column as `Utf8` (scans give views and dictionaries), as the
/// tables the sinks write.
fn plain_text(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _) => {
                f.as_ref().clone().with_data_type(DataType::Utf8)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// `batch` cast to `schema`.
fn as_schema(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, JobError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Executes `df` into the files of table `name` (partitioned by `partition`, when given).
async fn write_frame(
    df: DataFrame,
    name: String,
    dir: String,
    root: &Path,
    partition: Option<&'static str>,
    write: &WriteOptions,
) -> Result<Written, JobError> {
    let task = df.task_ctx();
    let plan = df.create_physical_plan().await?;
    let mut stream = datafusion::physical_plan::execute_stream(plan.clone(), Arc::new(task))?;
    let schema = plain_text(&stream.schema());
    let file_schema = match partition {
        Some(p) => {
            let kept: Vec<Field> = schema
                .fields()
                .iter()
                .filter(|f| f.name() != p)
                .map(|f| f.as_ref().clone())
                .collect();
            Arc::new(Schema::new(kept))
        }
        None => schema.clone(),
    };
    let mut writer = PartitionedWriter::new(
        &root.join(&dir),
        file_schema.clone(),
        partition,
        Writer::Named("golden"),
        write.clone(),
    );
    let (mut rows, mut null_ids) = (0, 0);
    while let Some(batch) = stream.next().await {
        let batch = as_schema(&batch?, &schema)?;
        rows += batch.num_rows() as u64;
        null_ids += batch.column(0).null_count() as u64;
        match partition {
            Some(p) => {
                let departments = column(&batch, p)?;
                let cols = file_schema
                    .fields()
                    .iter()
                    .map(|f| column(&batch, f.name()))
                    .collect::<Result<Vec<_>, _>>()?;
                let rows = RecordBatch::try_new(file_schema.clone(), cols)?;
                write_by_department(&mut writer, &rows, &departments, None)?;
            }
            None => writer.write(&batch, None)?,
        }
    }
    let schema = match partition {
        Some(_) => with_partition(&file_schema),
        None => file_schema,
    };
    let spilled_bytes = shuzhi_engine::execute::spilled_bytes(plan.as_ref());
    tracing::debug!(
        table = %name,
        "executed plan:\n{}",
        datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan.as_ref())
            .indent(true)
    );
    Ok(Written {
        spilled_bytes,
        name,
        dir,
        schema,
        partition,
        files: writer.finish()?,
        rows,
        null_ids,
    })
}

/// Builds, checks and commits the golden tables of `library` from its committed source layer.
async fn build_library(
    ctx: &SessionContext,
    root: &Path,
    library: &LibraryRules,
    source: &PublishedTable,
    registry: &[BatchRecord],
    write: &WriteOptions,
    committed: &mut Committed,
) -> Result<GoldenCounts, JobError> {
    let name = &library.name;
    let provider =
        shuzhi_library::table_at(ctx, root, &GoldenTable::Source.query_name(name), source).await?;
    let source_schema = provider.schema();
    ctx.deregister_table(SOURCE_INPUT)?;
    ctx.register_table(SOURCE_INPUT, provider)?;
    let frames = plan_golden(ctx, library, &source_schema, &deliveries(registry)).await?;
    let tables = [
        (name.clone(), name.clone(), frames.golden, None),
        (
            GoldenTable::Link.query_name(name),
            GoldenTable::Link.dir(name),
            frames.link,
            GoldenTable::Link.partition(),
        ),
        (
            GoldenTable::Attributes.query_name(name),
            GoldenTable::Attributes.dir(name),
            frames.attributes,
            GoldenTable::Attributes.partition(),
        ),
        (
            GoldenTable::Conflicts.query_name(name),
            GoldenTable::Conflicts.dir(name),
            frames.conflicts,
            GoldenTable::Conflicts.partition(),
        ),
    ];
    let mut written = Vec::new();
    for (table, dir, df, partition) in tables {
        let started = std::time::Instant::now();
        let w = write_frame(df, table, dir, root, partition, write).await?;
        tracing::info!(table = %w.name, rows = w.rows, seconds = started.elapsed().as_secs_f64(), "golden table written");
        written.push(w);
    }
    let [golden, link, _, conflicts] = &written[..] else {
        return Err(JobError::Internal("golden tables missing".into()));
    };
    // Every source row links to exactly one entity: one link row each, none without an id.
    if link.null_ids > 0 {
        return Err(JobError::Unlinked {
            library: name.clone(),
            rows: link.null_ids,
        });
    }
    let counts = GoldenCounts {
        entities: golden.rows,
        links: link.rows,
        conflicts: conflicts.rows,
        spilled_bytes: written.iter().map(|w| w.spilled_bytes).sum(),
    };
    for w in written {
        let version = commit(
            &root.join(&w.dir),
            &w.name,
            &w.schema,
            w.partition,
            &w.files,
            Change::Replace,
        )
        .await?;
        committed
            .schemas
            .insert(w.name.clone(), (w.dir.clone(), w.schema));
        committed.tables.insert(
            w.name.clone(),
            PublishedTable {
                path: w.dir,
                version,
            },
        );
        shuzhi_library::failpoint::hit(&format!("after_commit:{}", w.name));
    }
    Ok(counts)
}

/// A session for the golden plans, sharing `ctx`'s runtime (memory pool, spill files) and
/// functions: one source-layer scan per attribute feeds the union, so without round-robin
/// repartitions after each scan the memory pool is shared by far fewer consumers (the hash
/// repartition before the ranking sort spreads the work anyway); text is read as plain `Utf8`,
/// because a slice of a string view is charged to a sort with the whole buffer it points into;
/// and joins are merge joins, which stream over inputs sorted by the join keys and spill,
/// rather than hash joins, which hold their build side in memory.
fn golden_session(ctx: &SessionContext) -> SessionContext {
    let mut state = ctx.state();
    let options = state.config_mut().options_mut();
    options.optimizer.enable_round_robin_repartition = false;
    options.optimizer.prefer_hash_join = false;
    options.execution.parquet.schema_force_view_types = false;
    SessionContext::new_with_state(state)
}

/// Builds the golden tables of every golden library whose source layer is committed.
pub(crate) async fn build(
    ctx: &SessionContext,
    root: &Path,
    pipeline: &Pipeline,
    registry: &[BatchRecord],
    write: &WriteOptions,
    committed: &mut Committed,
) -> Result<BTreeMap<String, GoldenCounts>, JobError> {
    let ctx = &golden_session(ctx);
    let mut out = BTreeMap::new();
    for library in pipeline.libraries.iter().filter(|l| l.golden) {
        let Some(source) = committed
            .tables
            .get(&GoldenTable::Source.query_name(&library.name))
            .cloned()
        else {
            continue;
        };
        let counts = build_library(ctx, root, library, &source, registry, write, committed).await?;
        tracing::info!(
            library = %library.name,
            entities = counts.entities,
            links = counts.links,
            conflicts = counts.conflicts,
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
