//! Running a pipeline: plan each library, execute its partitions through split sinks, check row
//! accounting, commit the tables, write the manifest, publish.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use futures::StreamExt;
use shuzhi_ingest::ReadOptions;
use shuzhi_library::manifest::{InputFile, SheetRead};
use shuzhi_library::{
    Change, Manifest, Published, PublishedTable, WriteOptions, WrittenFile, commit, publish,
};
use shuzhi_rules::Pipeline;

use crate::plan::{PlannedLibrary, plan_library};
use crate::sink::{
    OutputSchemas, PARTITION_COLUMN, SinkCounts, SinkFiles, SplitSink, with_partition,
};
use crate::source::FileReport;
use crate::{EngineConfig, EngineError, session};

/// Where a run's tables live under the output root.
#[derive(Debug, Clone)]
pub struct OutputDirs {
    root: PathBuf,
    libraries: Vec<String>,
}

impl OutputDirs {
    /// Layout for `root` and the pipeline's libraries.
    pub fn new(root: &Path, pipeline: &Pipeline) -> Self {
        Self {
            root: root.to_path_buf(),
            libraries: pipeline.libraries.iter().map(|l| l.name.clone()).collect(),
        }
    }
    /// `root/<library>`.
    pub fn library(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    /// `root/_quarantine/<library>`.
    pub fn quarantine(&self, name: &str) -> PathBuf {
        self.root.join("_quarantine").join(name)
    }
    /// `root/_verdicts`.
    pub fn verdicts(&self) -> PathBuf {
        self.root.join("_verdicts")
    }
    /// Position of a library in the pipeline (keeps verdict file names apart).
    pub fn library_index(&self, name: &str) -> usize {
        self.libraries.iter().position(|l| l == name).unwrap_or(0)
    }
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Engine settings.
    pub engine: EngineConfig,
    /// Run id (file names, metadata, manifest folder).
    pub run_id: String,
    /// Maximum rows per Parquet row group.
    pub row_group_rows: usize,
    /// Bytes per ingest chunk.
    pub chunk_bytes: usize,
    /// Incremented as rows pass the sink, for progress display.
    pub progress: Arc<AtomicU64>,
    /// How long to wait for another run's lakehouse lock before failing.
    pub lock_wait: std::time::Duration,
    /// Business date of the deliveries (`YYYY-MM-DD`), recorded in the manifest.
    pub as_of: Option<String>,
    /// Govern every live batch even when the run only adds batches (see `incremental`).
    pub full_rebuild: bool,
}

impl RunOptions {
    /// Defaults for a run id: engine defaults, 1 Mi-row row groups, 4 MiB chunks, no lock wait.
    pub fn new(run_id: impl Into<String>) -> Self {
        Self {
            engine: EngineConfig::default(),
            run_id: run_id.into(),
            row_group_rows: 1 << 20,
            chunk_bytes: 4 << 20,
            progress: Arc::new(AtomicU64::new(0)),
            lock_wait: std::time::Duration::ZERO,
            as_of: None,
            full_rebuild: false,
        }
    }
}

/// The lakehouse lock's lease; renewed every third of it while a run lives.
const LOCK_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// Every table a pipeline writes: query name and directory relative to the output root, in the
/// order a run commits them.
pub fn output_tables(pipeline: &Pipeline) -> Vec<(String, String)> {
    let mut tables = Vec::new();
    for l in &pipeline.libraries {
        if pipeline.sources_of(&l.name).next().is_some() {
            tables.push((l.name.clone(), l.name.clone()));
            tables.push((
                format!("quarantine_{}", l.name),
                format!("_quarantine/{}", l.name),
            ));
        }
    }
    tables.push(("verdicts".into(), "_verdicts".into()));
    tables
}

/// The named failpoints of a run of `pipeline`, in the order a run passes them (see
/// `shuzhi_library::failpoint`): after the outputs are written, after each table's commit,
/// after the manifest, after the pointer is published (before the ledger entry).
pub fn failpoints(pipeline: &Pipeline) -> Vec<String> {
    let mut points = vec!["after_govern".to_owned()];
    points.extend(
        output_tables(pipeline)
            .into_iter()
            .map(|(name, _)| format!("after_commit:{name}")),
    );
    points.push("after_manifest".into());
    points.push("after_publish".into());
    points
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The manifest written to `_runs/<id>/manifest.json`.
    pub manifest: Manifest,
    /// The pointer that was published.
    pub published: Published,
}

/// Plans the libraries that have sources (only those `batches` feed, when `only_fed`).
fn plan_all(
    ctx: &datafusion::prelude::SessionContext,
    pipeline: &Pipeline,
    batches: &[crate::delivery::LiveBatch],
    options: &ReadOptions,
    reports: &crate::source::FileReports,
    only_fed: bool,
) -> Result<Vec<PlannedLibrary>, EngineError> {
    pipeline
        .libraries
        .iter()
        .filter(|l| pipeline.sources_of(&l.name).next().is_some())
        .filter(|l| !only_fed || batches.iter().any(|b| b.source.library == l.name))
        .map(|l| plan_library(ctx, pipeline, l, batches, options, reports))
        .collect()
}

/// Plans every library without reading data: SQL expressions, types and functions are checked.
pub async fn check_pipeline(pipeline: &Pipeline, config: &EngineConfig) -> Result<(), EngineError> {
    let ctx = session(config)?;
    let reports = Arc::new(Mutex::new(Vec::new()));
    let declared = crate::delivery::as_declared(pipeline);
    for planned in plan_all(
        &ctx,
        pipeline,
        &declared,
        &ReadOptions::default(),
        &reports,
        false,
    )? {
        planned.frame.into_optimized_plan()?;
    }
    Ok(())
}

async fn execute(
    ctx: &datafusion::prelude::SessionContext,
    planned: Arc<PlannedLibrary>,
    dirs: &OutputDirs,
    write: &WriteOptions,
    progress: &Arc<AtomicU64>,
    collect_keys: bool,
) -> Result<(SinkFiles, SinkCounts), EngineError> {
    let mut physical = planned.frame.clone().create_physical_plan().await?;
    if let Some(dedup) = &planned.dedup {
        let partitions = ctx.state().config().target_partitions();
        physical = crate::dedup::sort_for_dedup(physical, &planned.rules.key, dedup, partitions)?;
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
    let mut counts = SinkCounts::default();
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
fn spilled_bytes(plan: &dyn datafusion::physical_plan::ExecutionPlan) -> u64 {
    let own = plan.metrics().and_then(|m| m.spilled_bytes()).unwrap_or(0) as u64;
    own + plan
        .children()
        .into_iter()
        .map(|c| spilled_bytes(c.as_ref()))
        .sum::<u64>()
}

/// Runs the pipeline end to end and publishes the result, holding the lakehouse lock and
/// recovering what a crashed run left first. On any error nothing is published and the
/// previously published state stays as it was.
pub async fn run_pipeline(
    pipeline: &Pipeline,
    root: &Path,
    options: &RunOptions,
) -> Result<RunReport, EngineError> {
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
        EngineError::Internal(format!("cannot write the OpenLineage START event: {e}"))
    })?;
    let report = govern_and_publish(pipeline, root, options, recovered).await;
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

/// Rows read and rejected (by checks or ingest) for a library over its sources, or over the
/// sources one department delivers.
fn library_rows(
    pipeline: &Pipeline,
    counts: &SinkCounts,
    library: &str,
    department: Option<&str>,
) -> (u64, u64) {
    let (mut read, mut rejected) = (0u64, 0u64);
    let sources = pipeline
        .sources_of(library)
        .filter(|s| department.is_none_or(|d| s.department == d));
    for source in sources {
        if let Some(c) = counts.sources.get(&source.id) {
            read += c.read;
            rejected += c.rejected;
        }
    }
    (read, rejected)
}

/// GB/T 36344 indicator scores: per library (and per delivering department of it), the checks
/// of each indicator and their failures.
fn quality(
    pipeline: &Pipeline,
    counts: &SinkCounts,
) -> Vec<shuzhi_library::manifest::IndicatorScore> {
    let mut out = Vec::new();
    for library in &pipeline.libraries {
        let mut by_indicator: std::collections::BTreeMap<shuzhi_rules::Indicator, Vec<&str>> =
            std::collections::BTreeMap::new();
        for check in library.checks() {
            by_indicator
                .entry(check.indicator)
                .or_default()
                .push(check.id.as_str());
        }
        let departments: std::collections::BTreeSet<&str> = pipeline
            .sources_of(&library.name)
            .map(|s| s.department.as_str())
            .collect();
        let scopes = std::iter::once(None).chain(departments.into_iter().map(Some));
        for department in scopes {
            let (read, _) = library_rows(pipeline, counts, &library.name, department);
            let failures = |id: &str| match department {
                None => counts.rule_failures.get(id).copied().unwrap_or(0),
                Some(d) => counts
                    .rule_failures_by_department
                    .get(&(id.to_owned(), d.to_owned()))
                    .copied()
                    .unwrap_or(0),
            };
            for (indicator, checks) in &by_indicator {
                let failed: u64 = checks.iter().map(|id| failures(id)).sum();
                let elements = read * checks.len() as u64;
                out.push(shuzhi_library::manifest::IndicatorScore {
                    library: library.name.clone(),
                    department: department.map(str::to_owned),
                    indicator: indicator.label(),
                    checks: checks.iter().map(|c| (*c).to_owned()).collect(),
                    evaluated: read,
                    failed,
                    score: (elements > 0).then(|| 1.0 - failed as f64 / elements as f64),
                });
            }
        }
    }
    out
}

/// Catalogue attributes of every field, keyed `library.field`.
fn field_catalogue(
    pipeline: &Pipeline,
) -> std::collections::BTreeMap<String, shuzhi_library::manifest::FieldCatalogue> {
    let mut out = std::collections::BTreeMap::new();
    for library in &pipeline.libraries {
        for f in &library.fields {
            let class = match f.class {
                shuzhi_rules::FieldClass::Public => "public",
                shuzhi_rules::FieldClass::Internal => "internal",
                shuzhi_rules::FieldClass::Sensitive => "sensitive",
            };
            out.insert(
                format!("{}.{}", library.name, f.name),
                shuzhi_library::manifest::FieldCatalogue {
                    class: class.into(),
                    share: f.share.chinese().into(),
                    authority: f.authority.clone(),
                },
            );
        }
    }
    out
}

/// Libraries whose rows rejected by checks or ingest exceed their `max_reject_ratio`.
fn breaches(pipeline: &Pipeline, counts: &SinkCounts) -> Vec<shuzhi_library::manifest::Breach> {
    let mut out = Vec::new();
    for library in &pipeline.libraries {
        let (read, rejected) = library_rows(pipeline, counts, &library.name, None);
        let over = |n: u64, max: f64| read > 0 && n as f64 / read as f64 > max;
        if let Some(max) = library.max_reject_ratio
            && over(rejected, max)
        {
            out.push(shuzhi_library::manifest::Breach {
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
                out.push(shuzhi_library::manifest::Breach {
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

fn recovery_lines(
    r: &shuzhi_library::recover::Recovery,
    dead: Option<&shuzhi_library::lock::LockInfo>,
) -> Vec<String> {
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

/// A table's files and how to commit them.
struct PendingCommit {
    schema: SchemaRef,
    partition: Option<&'static str>,
    files: Vec<WrittenFile>,
    change: Change,
}

impl PendingCommit {
    /// An append of nothing: the table keeps its version.
    fn is_empty(&self) -> bool {
        matches!(&self.change, Change::Append { actions } if actions.is_empty())
            && self.files.is_empty()
    }
}

async fn govern_and_publish(
    pipeline: &Pipeline,
    root: &Path,
    options: &RunOptions,
    recovered: Vec<String>,
) -> Result<(RunReport, BTreeMap<String, (String, SchemaRef)>), EngineError> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut stage_seconds = BTreeMap::new();
    let mut clock = Instant::now();
    let mut lap = |name: &str, stages: &mut BTreeMap<String, f64>| {
        stages.insert(name.to_owned(), clock.elapsed().as_secs_f64());
        clock = Instant::now();
    };

    let ctx = session(&options.engine)?;
    let reports = Arc::new(Mutex::new(Vec::<FileReport>::new()));
    let read = ReadOptions {
        batch_size: options.engine.batch_size,
        chunk_bytes: options.chunk_bytes,
        ..ReadOptions::default()
    };
    let previous = shuzhi_library::read_published(root)?;
    let registry = previous
        .as_ref()
        .map(|p| p.batches.clone())
        .unwrap_or_default();
    let mut deliveries =
        crate::delivery::plan_deliveries(pipeline, root, &registry, &options.run_id)?;
    let plan_fingerprint = crate::incremental::plan_fingerprint(pipeline);
    let incremental = match crate::incremental::new_batches(
        pipeline,
        previous.as_ref(),
        &deliveries,
        &plan_fingerprint,
        options.full_rebuild,
    ) {
        Ok(batches) => {
            deliveries.log.push(format!(
                "incremental run: governed the {} new batch(es) only",
                batches.len()
            ));
            previous.as_ref().map(|p| (p, batches))
        }
        Err(why) => {
            deliveries
                .log
                .push(format!("governed every live batch: {why}"));
            None
        }
    };
    let governed = match &incremental {
        Some((_, batches)) => batches.clone(),
        None => deliveries.live.clone(),
    };
    for line in &deliveries.log {
        tracing::info!("{line}");
    }
    let planned = plan_all(
        &ctx,
        pipeline,
        &governed,
        &read,
        &reports,
        incremental.is_some(),
    )?;
    lap("plan", &mut stage_seconds);
    tracing::info!(run_id = %options.run_id, libraries = planned.len(), "planned");

    let dirs = OutputDirs::new(root, pipeline);
    let write = WriteOptions {
        run_id: options.run_id.clone(),
        fingerprint: pipeline.fingerprint.clone(),
        row_group_rows: options.row_group_rows,
    };
    let mut outputs = Vec::new();
    let mut counts = SinkCounts::default();
    for p in planned {
        let planned = Arc::new(p);
        let name = planned.rules.name.clone();
        tracing::info!(library = %name, "governing");
        let (files, c) = execute(
            &ctx,
            planned.clone(),
            &dirs,
            &write,
            &options.progress,
            incremental.is_some(),
        )
        .await?;
        counts.merge(c);
        outputs.push((planned, files, Vec::new()));
    }
    // An incremental run supersedes the published rows of the keys its batches won.
    if let Some((previous, _)) = &incremental {
        for (planned, files, actions) in outputs.iter_mut().filter(|o| o.0.dedup.is_some()) {
            let name = &planned.rules.name;
            let (dv_actions, records, superseded) = crate::incremental::supersede(
                root,
                previous,
                planned,
                &files.winning_keys,
                &write,
                &dirs.quarantine(name),
            )
            .await?;
            *actions = dv_actions;
            files.quarantine.extend(records);
            if superseded > 0 {
                *counts
                    .rule_failures
                    .entry(crate::plan::superseded_rule(name))
                    .or_default() += superseded;
                deliveries.log.push(format!(
                    "superseded {superseded} published row(s) of {name}"
                ));
            }
        }
    }
    lap("govern", &mut stage_seconds);
    shuzhi_library::failpoint::hit("after_govern");

    // Audit: every row read is in the library or in quarantine.
    // Sources are read concurrently: order the reports so the manifest does not depend on timing.
    let mut reports = reports.lock().map(|r| r.clone()).unwrap_or_default();
    reports.sort_by(|a, b| (&a.source, &a.summary.path).cmp(&(&b.source, &b.summary.path)));
    for source in &pipeline.sources {
        let read: u64 = reports
            .iter()
            .filter(|r| r.source == source.id)
            .map(|r| r.summary.rows)
            .sum();
        let routed = counts.sources.get(&source.id).cloned().unwrap_or_default();
        if read != routed.kept + routed.quarantined {
            return Err(EngineError::Accounting {
                source_id: source.id.clone(),
                read,
                accounted: routed.kept + routed.quarantined,
            });
        }
        if read > 0 || incremental.is_none() {
            counts.sources.entry(source.id.clone()).or_default().read = read;
        }
    }
    let breaches = breaches(pipeline, &counts);
    if !breaches.is_empty() && !pipeline.publish_on_breach {
        return Err(EngineError::QualityGate { breaches });
    }
    lap("audit", &mut stage_seconds);
    tracing::info!("row accounting holds for every source; committing");

    // Commit every table (a full rebuild replaces the content, an incremental run adds to it),
    // then publish the versions. A table an incremental run does not change keeps its version.
    let mut pending: BTreeMap<String, PendingCommit> = BTreeMap::new();
    let change = |actions: Vec<shuzhi_library::Action>| match incremental {
        Some(_) => Change::Append { actions },
        None => Change::Replace,
    };
    let mut verdict_files = Vec::new();
    let mut verdict_schema = None;
    for (planned, files, actions) in outputs {
        let name = planned.rules.name.clone();
        let schemas = OutputSchemas::of(&planned);
        let library = PendingCommit {
            schema: schemas.library.clone(),
            partition: None,
            files: files.library,
            change: change(actions),
        };
        let quarantine = PendingCommit {
            schema: with_partition(&schemas.quarantine),
            partition: Some(PARTITION_COLUMN),
            files: files.quarantine,
            change: change(Vec::new()),
        };
        pending.insert(name.clone(), library);
        pending.insert(format!("quarantine_{name}"), quarantine);
        verdict_files.extend(files.verdicts);
        verdict_schema = Some(with_partition(&schemas.verdicts));
    }
    if let Some(schema) = verdict_schema {
        let verdicts = PendingCommit {
            schema,
            partition: Some(PARTITION_COLUMN),
            files: verdict_files,
            change: change(Vec::new()),
        };
        pending.insert("verdicts".into(), verdicts);
    }
    let mut tables = BTreeMap::new();
    let mut schemas = BTreeMap::new();
    for (name, path) in output_tables(pipeline) {
        let unchanged = previous.as_ref().and_then(|p| p.tables.get(&name));
        match pending.remove(&name) {
            Some(c) if c.is_empty() && unchanged.is_some() => {
                tables.extend(unchanged.map(|t| (name.clone(), t.clone())));
            }
            Some(c) => {
                let dir = root.join(&path);
                let version =
                    commit(&dir, &name, &c.schema, c.partition, &c.files, c.change).await?;
                schemas.insert(name.clone(), (path.clone(), c.schema));
                tables.insert(name.clone(), PublishedTable { path, version });
            }
            None => tables.extend(unchanged.map(|t| (name.clone(), t.clone()))),
        }
        shuzhi_library::failpoint::hit(&format!("after_commit:{name}"));
    }
    lap("commit", &mut stage_seconds);
    let expected_populations =
        crate::completeness::expected_populations(&ctx, root, pipeline, &tables).await?;
    let referential_integrity = crate::completeness::orphans(&ctx, root, pipeline, &tables).await?;
    let mut quality = quality(pipeline, &counts);
    for o in &referential_integrity {
        quality.push(shuzhi_library::manifest::IndicatorScore {
            library: o.library.clone(),
            department: None,
            indicator: shuzhi_rules::Indicator::RelatedDataConsistency.label(),
            checks: vec![format!("{}.{}.references", o.library, o.field)],
            evaluated: o.values,
            failed: o.orphans,
            score: (o.values > 0).then(|| 1.0 - o.orphans as f64 / o.values as f64),
        });
    }
    for e in &expected_populations {
        quality.push(shuzhi_library::manifest::IndicatorScore {
            library: e.library.clone(),
            department: None,
            indicator: shuzhi_rules::Indicator::RecordCompleteness.label(),
            checks: vec![format!("{}.expected", e.library)],
            evaluated: e.expected,
            failed: e.missing,
            score: (e.expected > 0).then(|| 1.0 - e.missing as f64 / e.expected as f64),
        });
    }

    let manifest = Manifest {
        run_id: options.run_id.clone(),
        pipeline: pipeline.name.clone(),
        rule_fingerprint: pipeline.fingerprint.clone(),
        started_at,
        as_of: options.as_of.clone(),
        deliveries: deliveries.log.clone(),
        breaches,
        recovered,
        inputs: reports
            .iter()
            .map(|r| InputFile {
                source: r.source.clone(),
                path: r.summary.path.display().to_string(),
                sha256: r.summary.sha256.clone(),
                bytes: r.summary.bytes,
                format: r.summary.format.name().into(),
                encoding: r.summary.encoding.map(|e| e.name().into()),
                encoding_detected: r.summary.detected,
                sheets: r
                    .summary
                    .sheets
                    .iter()
                    .map(|s| SheetRead {
                        name: s.name.clone(),
                        header_row: s.header_row,
                        rows: s.rows,
                        skipped: s.skipped.map(str::to_owned),
                    })
                    .collect(),
                rows: r.summary.rows,
                ingest_errors: r.summary.ingest_errors,
                columns: r.matched.iter().cloned().collect(),
                unused_columns: r.unused_columns.clone(),
                missing_fields: r.missing_fields.clone(),
            })
            .collect(),
        quality,
        expected_populations,
        referential_integrity,
        fields: field_catalogue(pipeline),
        pseudonym_keys: pipeline.keys.clone(),
        sources: counts.sources,
        rule_failures: counts.rule_failures,
        step_changes: counts.step_changes,
        spilled_bytes: counts.spilled_bytes,
        stage_seconds,
        table_versions: tables
            .values()
            .map(|t| (t.path.clone(), t.version))
            .collect(),
    };
    manifest.write(&root.join("_runs").join(&options.run_id))?;
    shuzhi_library::failpoint::hit("after_manifest");
    let published = Published {
        run_id: options.run_id.clone(),
        published_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rule_fingerprint: pipeline.fingerprint.clone(),
        plan_fingerprint,
        tables,
        batches: deliveries.registry,
    };
    publish(root, &published)?;
    shuzhi_library::failpoint::hit("after_publish");
    shuzhi_library::ledger::append(root, &published.run_id, &published.published_at)?;
    tracing::info!(run_id = %options.run_id, "published");
    Ok((
        RunReport {
            manifest,
            published,
        },
        schemas,
    ))
}
