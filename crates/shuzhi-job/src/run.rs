//! Running a pipeline: under the lakehouse lock, after recovering what a crashed run left, the
//! stages of [`crate::stages`] run in order; OpenLineage START and COMPLETE / FAIL events frame
//! them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use shuzhi_library::lock::LockInfo;
use shuzhi_library::recover::Recovery;
use shuzhi_rules::Pipeline;

use crate::JobError;
use crate::options::{RunOptions, RunReport};
use crate::stages;
use crate::tables::output_tables;

/// The lakehouse lock's lease; renewed every third of it while a run lives.
const LOCK_LEASE: Duration = Duration::from_secs(60);

/// Runs the pipeline end to end and publishes the result, holding the lakehouse lock and
/// recovering what a crashed run left first. On any error nothing is published and the
/// previously published state stays as it was.
pub async fn run_pipeline(
    pipeline: &Pipeline,
    root: &Path,
    options: &RunOptions,
) -> Result<RunReport, JobError> {
    let (lock, dead) =
        shuzhi_library::lock::acquire(root, &options.run_id, LOCK_LEASE, options.lock_wait)?;
    let recovery = shuzhi_library::recover::recover(root, &output_tables(pipeline)).await?;
    if !recovery.is_empty() {
        tracing::warn!(?recovery, "recovered from an interrupted run");
    }
    let recovered = recovery_lines(&recovery, dead.as_ref());
    if let Some(d) = &dead {
        shuzhi_library::lock::forget_stale(root, d);
    }
    shuzhi_library::recover::mark_started(root, &options.run_id)?;
    let lineage = crate::lineage::Lineage::start(root, &options.run_id, pipeline).map_err(|e| {
        JobError::Internal(format!("cannot write the OpenLineage START event: {e}"))
    })?;
    for run in &recovery.interrupted_runs {
        let closed = crate::lineage::Lineage::of(root, run, pipeline).abort_if_open(&format!(
            "the run stopped before publishing; run {} recovered its output",
            options.run_id
        ));
        if let Err(e) = closed {
            tracing::warn!("cannot close the OpenLineage run of {run}: {e}");
        }
    }
    let stages = run_stages(pipeline, root, options, recovered);
    let report = match options.stop.clone() {
        Some(mut stop) => tokio::select! {
            biased;
            signal = stop.wait_for(Option::is_some) => Err(JobError::Interrupted {
                signal: signal.ok().and_then(|s| *s).unwrap_or("a stop request"),
            }),
            report = stages => report,
        },
        None => stages.await,
    };
    // The run's outcome stands even if its lineage event cannot be written: warn only.
    let written = match &report {
        Ok((run, tables)) => lineage.complete(root, pipeline, &run.manifest, tables),
        Err(e) => lineage.fail(&e.to_string()),
    };
    if let Err(e) = written {
        tracing::warn!("cannot write the OpenLineage event: {e}");
    }
    drop(lock);
    report.map(|(run, _)| run)
}

/// Wall and CPU seconds per stage and the peak RSS after it, for the manifest.
struct StageClock {
    seconds: BTreeMap<String, f64>,
    cpu: BTreeMap<String, f64>,
    peak_rss_mb: BTreeMap<String, f64>,
    lap: Instant,
    lap_cpu: Option<f64>,
}

/// This process's CPU seconds (user + system) so far, where `/proc` tells (Linux; clock ticks of
/// 1/100 s).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// This process's peak resident set so far in MiB (`VmHWM`, Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .ok()?;
    Some(kib / 1024.0)
}

impl StageClock {
    fn new() -> Self {
        Self {
            seconds: BTreeMap::new(),
            cpu: BTreeMap::new(),
            peak_rss_mb: BTreeMap::new(),
            lap: Instant::now(),
            lap_cpu: process_cpu_seconds(),
        }
    }

    fn lap(&mut self, stage: &str) {
        self.seconds
            .insert(stage.to_owned(), self.lap.elapsed().as_secs_f64());
        self.lap = Instant::now();
        let cpu = process_cpu_seconds();
        if let (Some(now), Some(before)) = (cpu, self.lap_cpu) {
            self.cpu.insert(stage.to_owned(), now - before);
        }
        self.lap_cpu = cpu;
        if let Some(peak) = peak_rss_mb() {
            self.peak_rss_mb.insert(stage.to_owned(), peak);
        }
    }
}

/// The stages, in order; returns the report and each written table's path and schema (for
/// the lineage event).
async fn run_stages(
    pipeline: &Pipeline,
    root: &Path,
    options: &RunOptions,
    recovered: Vec<String>,
) -> Result<(RunReport, BTreeMap<String, (String, SchemaRef)>), JobError> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut clock = StageClock::new();
    let ctx = shuzhi_engine::session(&options.engine)?;
    let previous = shuzhi_library::read_published(root)?;

    let mut scope = stages::deliveries(pipeline, root, options, previous.as_ref())?;
    clock.lap("deliveries");
    let mut governed = stages::govern(&ctx, pipeline, root, options, &mut scope).await?;
    clock.lap("govern");
    shuzhi_library::failpoint::hit("after_govern");

    let findings = crate::guards::findings(
        pipeline,
        root,
        &options.run_id,
        &scope,
        &governed,
        &options.accept_deliveries,
    );
    if !findings.is_empty() {
        return Err(JobError::DeliveryGuard { findings });
    }
    let breaches = stages::audit(pipeline, &scope, &mut governed)?;
    clock.lap("audit");
    tracing::info!("row accounting holds for every source; committing");

    let touched = crate::golden::touched_keys(&governed.outputs);
    let mut committed = stages::commit_tables(pipeline, root, &scope, governed.outputs).await?;
    clock.lap("commit");
    let increment = match scope.incremental {
        true => scope.previous.as_ref().map(|p| (&touched, p)),
        false => None,
    };
    let golden = crate::golden::build(
        &ctx,
        root,
        pipeline,
        &scope.deliveries.registry,
        &stages::write_options(pipeline, options),
        increment,
        &mut committed,
    )
    .await?;
    clock.lap("golden");
    let topics = crate::topics::build(
        &ctx,
        root,
        pipeline,
        &stages::write_options(pipeline, options),
        scope.previous.as_ref(),
        &mut committed,
    )
    .await?;
    clock.lap("topics");
    let assessment = stages::assess(&ctx, root, pipeline, &governed.counts, &committed).await?;
    clock.lap("assess");

    let manifest = stages::manifest(
        pipeline,
        options,
        stages::RunFacts {
            started_at,
            recovered,
            breaches,
            deliveries: scope.deliveries.log.clone(),
            reports: governed.reports,
            counts: governed.counts,
            stage_seconds: clock.seconds,
            stage_cpu_seconds: clock.cpu,
            stage_peak_rss_mb: clock.peak_rss_mb,
            golden,
            topics,
        },
        assessment,
        &committed,
    );
    manifest.write(&shuzhi_library::layout::run_dir(root, &options.run_id))?;
    shuzhi_library::failpoint::hit("after_manifest");
    let published = stages::publish(root, pipeline, options, scope, &committed)?;
    shuzhi_library::failpoint::hit("after_publish");
    stages::record(root, &published)?;
    tracing::info!(run_id = %options.run_id, "published");
    let report = RunReport {
        manifest,
        published,
    };
    Ok((report, committed.schemas))
}

/// What start-up recovery did, one line each, for the summary and the manifest.
fn recovery_lines(r: &Recovery, dead: Option<&LockInfo>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(d) = dead {
        lines.push(format!(
            "took over the lock of run {} (pid {} on {})",
            d.run_id, d.pid, d.host
        ));
    }
    for (table, found, published) in &r.restored {
        lines.push(format!(
            "restored {table} from version {found} to the published version {published}"
        ));
    }
    for table in &r.removed_tables {
        lines.push(format!("removed {table}, which no published run created"));
    }
    if !r.interrupted_runs.is_empty() {
        lines.push(format!(
            "deleted {} data files of interrupted run(s) {}",
            r.removed_files,
            r.interrupted_runs.join(", ")
        ));
    }
    if let Some(run) = &r.ledger_appended {
        lines.push(format!("appended published run {run} to the ledger"));
    }
    lines
}
