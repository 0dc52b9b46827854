//! Execution: a planned library's partitions stream through split sinks, and a golden
//! library's sorted source layer through survivorship operators, concurrently.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::physical_plan::ExecutionPlan;
use futures::StreamExt;
use shuzhi_library::WriteOptions;
use shuzhi_report::RunCounts;

use crate::EngineError;
use crate::dedup::sort_for_dedup;
use crate::dirs::OutputDirs;
use crate::plan::PlannedLibrary;
use crate::sink::{SinkFiles, SplitSink};
use crate::survivorship::{GoldenBatches, GoldenSchemas, Survivorship, SurvivorshipSpec};

/// Executes a planned library: one split sink per output partition (the dedup sort first,
/// when the library dedups); returns the files written and the counts gathered.
pub async fn execute(
    ctx: &datafusion::prelude::SessionContext,
    planned: Arc<PlannedLibrary>,
    dirs: &OutputDirs,
    write: &WriteOptions,
    progress: &Arc<AtomicU64>,
    collect_keys: bool,
) -> Result<(SinkFiles, RunCounts), EngineError> {
    let mut physical = planned.frame.clone().create_physical_plan().await?;
    if let Some(dedup) = &planned.dedup {
        let partitions = ctx.state().config().target_partitions();
        physical = sort_for_dedup(
            physical,
            &planned.rules.key,
            planned.rules.golden,
            dedup,
            partitions,
        )?;
    }
    tracing::debug!(
        library = %planned.rules.name,
        "physical plan:\n{}",
        datafusion::physical_plan::displayable(physical.as_ref()).indent(true)
    );
    let streams =
        datafusion::physical_plan::execute_stream_partitioned(physical.clone(), ctx.task_ctx())?;
    let mut tasks = Vec::new();
    for (i, mut stream) in streams.into_iter().enumerate() {
        let mut sink = SplitSink::new(planned.clone(), dirs, i, write, collect_keys);
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                sink.consume(&batch)?;
                progress.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            sink.finish()
        }));
    }
    let mut files = SinkFiles::default();
    let mut counts = RunCounts::default();
    for t in tasks {
        let (f, c) = t
            .await
            .map_err(|e| EngineError::Internal(format!("sink task failed: {e}")))??;
        files.library.extend(f.library);
        files.quarantine.extend(f.quarantine);
        files.verdicts.extend(f.verdicts);
        files.winning_keys.extend(f.winning_keys);
        counts.merge(c);
    }
    counts.spilled_bytes += spilled_bytes(physical.as_ref());
    Ok((files, counts))
}

/// Bytes spilled to disk by every operator of an executed plan.
pub fn spilled_bytes(plan: &dyn ExecutionPlan) -> u64 {
    let own = plan.metrics().and_then(|m| m.spilled_bytes()).unwrap_or(0) as u64;
    own + plan
        .children()
        .into_iter()
        .map(|c| spilled_bytes(c.as_ref()))
        .sum::<u64>()
}

/// Where the survivorship operator's rows of one output partition go.
pub trait GoldenSink: Send + 'static {
    /// What the sink gives back when the partition is done.
    type Output: Send + 'static;
    /// Takes the rows of a batch of complete entities.
    fn write(&mut self, rows: GoldenBatches) -> Result<(), EngineError>;
    /// The partition has ended.
    fn finish(self) -> Result<Self::Output, EngineError>;
}

/// Executes a golden plan ([`crate::plan::golden::plan_golden`]): one survivorship operator
/// per output partition, concurrently, each feeding the sink `sink(partition, schemas)` makes.
pub async fn execute_golden<S: GoldenSink>(
    ctx: &datafusion::prelude::SessionContext,
    plan: Arc<dyn ExecutionPlan>,
    spec: &SurvivorshipSpec,
    sink: impl Fn(usize, &GoldenSchemas) -> S,
) -> Result<Vec<S::Output>, EngineError> {
    let streams = datafusion::physical_plan::execute_stream_partitioned(plan, ctx.task_ctx())?;
    let mut tasks = Vec::new();
    for (i, mut stream) in streams.into_iter().enumerate() {
        let mut operator = Survivorship::new(spec.clone(), &stream.schema())?;
        let mut sink = sink(i, operator.schemas());
        tasks.push(tokio::spawn(async move {
            while let Some(batch) = stream.next().await {
                for rows in operator.push(batch?)? {
                    sink.write(rows)?;
                }
            }
            if let Some(rows) = operator.finish()? {
                sink.write(rows)?;
            }
            sink.finish()
        }));
    }
    let mut outputs = Vec::new();
    for t in tasks {
        outputs.push(
            t.await
                .map_err(|e| EngineError::Internal(format!("golden task failed: {e}")))??,
        );
    }
    Ok(outputs)
}
