//! The stages of a run, each a short function with what it needs in and what it made out:
//! deliveries → govern → audit → commit → assess → manifest → publish → record.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use shuzhi_engine::plan::golden::GoldenTable;
use shuzhi_engine::plan::{PlannedLibrary, superseded_rule};
use shuzhi_engine::provenance::DEPARTMENT_COLUMN;
use shuzhi_engine::sink::{OutputSchemas, SinkFiles, with_partition};
use shuzhi_engine::source::{FileReport, FileReports, LiveBatch};
use shuzhi_engine::{OutputDirs, execute, plan_libraries};
use shuzhi_ingest::ReadOptions;
use shuzhi_library::manifest::{InputFile, SheetRead};
use shuzhi_library::{
    Action, Change, Manifest, Published, PublishedTable, WriteOptions, WrittenFile, commit,
};
use shuzhi_report::{Breach, ExpectedPopulation, IndicatorScore, Orphans, RunCounts};
use shuzhi_rules::Pipeline;

use crate::delivery::DeliveryPlan;
use crate::options::RunOptions;
use crate::tables::governed_tables;
use crate::{JobError, incremental};

/// What this run governs: the deliveries matched against the published batches, and whether
/// the run is incremental (only the new batches) or a rebuild of every live batch.
pub(crate) struct Scope {
    /// The delivery plan: live batches, the registry to publish, one line per batch.
    pub deliveries: DeliveryPlan,
    /// The batches governed now.
    pub governed: Vec<LiveBatch>,
    /// The published state this run starts from.
    pub previous: Option<Published>,
    /// Whether the run governs only the new batches and adds to `previous`.
    pub incremental: bool,
    /// Fingerprint of everything that decides how a row is governed.
    pub plan_fingerprint: String,
}

/// Stage 1 — deliveries: archive what arrived, match it with the published batches and decide
/// what this run governs.
pub(crate) fn deliveries(
    pipeline: &Pipeline,
    root: &Path,
    options: &RunOptions,
    previous: Option<&Published>,
) -> Result<Scope, JobError> {
    let registry = previous.map(|p| p.batches.clone()).unwrap_or_default();
    let mut deliveries =
        crate::delivery::plan_deliveries(pipeline, root, &registry, &options.run_id)?;
    let plan_fingerprint = incremental::plan_fingerprint(pipeline);
    let new = incremental::new_batches(
        pipeline,
        previous,
        &deliveries,
        &plan_fingerprint,
        options.full_rebuild,
    );
    let (governed, incremental) = match new {
        Ok(batches) => {
            deliveries.log.push(format!(
                "incremental run: governed the {} new batch(es) only",
                batches.len()
            ));
            (batches, previous.is_some())
        }
        Err(why) => {
            deliveries
                .log
                .push(format!("governed every live batch: {why}"));
            (deliveries.live.clone(), false)
        }
    };
    for line in &deliveries.log {
        tracing::info!("{line}");
    }
    crate::delivery::verify_archives(&governed, &options.run_id, &deliveries.registry)?;
    Ok(Scope {
        deliveries,
        governed,
        previous: previous.cloned(),
        incremental,
        plan_fingerprint,
    })
}

/// One library's governed output, before commit.
pub(crate) struct LibraryOutput {
    /// Its plan.
    pub planned: Arc<PlannedLibrary>,
    /// Files its sinks wrote.
    pub files: SinkFiles,
    /// Deletion vectors an incremental run attaches to its published files.
    pub actions: Vec<Action>,
}

/// What the govern stage made.
pub(crate) struct Governed {
    /// Per library.
    pub outputs: Vec<LibraryOutput>,
    /// Rows routed and rules failed.
    pub counts: RunCounts,
    /// What ingest found in each file, by source and path.
    pub reports: Vec<FileReport>,
}

/// Stage 2 — govern: plan the libraries the governed batches feed and execute each through
/// split sinks; an incremental run then supersedes the published rows of the keys it won.
pub(crate) async fn govern(
    ctx: &SessionContext,
    pipeline: &Pipeline,
    root: &Path,
    options: &RunOptions,
    scope: &mut Scope,
) -> Result<Governed, JobError> {
    let read = ReadOptions {
        batch_size: options.engine.batch_rows(),
        chunk_bytes: options.chunk_bytes,
        ..ReadOptions::default()
    };
    let reports = FileReports::default();
    let incremental = scope.incremental;
    let planned = plan_libraries(ctx, pipeline, &scope.governed, &read, &reports, incremental)?;
    tracing::info!(run_id = %options.run_id, libraries = planned.len(), "planned");
    let dirs = OutputDirs::new(root, pipeline);
    let write = write_options(pipeline, options);
    let mut outputs = Vec::new();
    let mut counts = RunCounts::default();
    for planned in planned {
        let planned = Arc::new(planned);
        tracing::info!(library = %planned.rules.name, "governing");
        let (files, c) = execute(
            ctx,
            planned.clone(),
            &dirs,
            &write,
            &options.progress,
            incremental,
        )
        .await?;
        counts.merge(c);
        outputs.push(LibraryOutput {
            planned,
            files,
            actions: Vec::new(),
        });
    }
    if incremental {
        for output in outputs.iter_mut().filter(|o| o.planned.dedup.is_some()) {
            supersede(root, output, &write, &dirs, &mut counts, scope).await?;
        }
    }
    Ok(Governed {
        outputs,
        counts,
        reports: reports.sorted(),
    })
}

pub(crate) fn write_options(pipeline: &Pipeline, options: &RunOptions) -> WriteOptions {
    WriteOptions {
        run_id: options.run_id.clone(),
        fingerprint: pipeline.fingerprint.clone(),
        row_group_rows: options.row_group_rows,
    }
}

/// Supersedes the published rows of the keys one library's new batches won.
async fn supersede(
    root: &Path,
    output: &mut LibraryOutput,
    write: &WriteOptions,
    dirs: &OutputDirs,
    counts: &mut RunCounts,
    scope: &mut Scope,
) -> Result<(), JobError> {
    let name = output.planned.rules.name.clone();
    let Some(previous) = &scope.previous else {
        return Ok(());
    };
    let (actions, records, superseded) = incremental::supersede(
        root,
        previous,
        &output.planned,
        &output.files.winning_keys,
        write,
        &dirs.quarantine(&name),
    )
    .await?;
    output.actions = actions;
    output.files.quarantine.extend(records);
    if superseded > 0 {
        *counts
            .rule_failures
            .entry(superseded_rule(&name))
            .or_default() += superseded;
        scope.deliveries.log.push(format!(
            "superseded {superseded} published row(s) of {name}"
        ));
    }
    Ok(())
}

/// Stage 3 — audit: every row read is in the library or in quarantine (per source; the run
/// fails before publishing otherwise), then the quality gate.
pub(crate) fn audit(
    pipeline: &Pipeline,
    scope: &Scope,
    governed: &mut Governed,
) -> Result<Vec<Breach>, JobError> {
    for source in &pipeline.sources {
        let read: u64 = governed
            .reports
            .iter()
            .filter(|r| r.source == source.id)
            .map(|r| r.summary.rows)
            .sum();
        let routed = governed
            .counts
            .sources
            .get(&source.id)
            .cloned()
            .unwrap_or_default();
        if read != routed.kept + routed.quarantined {
            return Err(JobError::Accounting {
                source_id: source.id.clone(),
                read,
                accounted: routed.kept + routed.quarantined,
            });
        }
        if read > 0 || !scope.incremental {
            governed
                .counts
                .sources
                .entry(source.id.clone())
                .or_default()
                .read = read;
        }
    }
    let breaches = shuzhi_report::breaches(pipeline, &governed.counts);
    if !breaches.is_empty() && !pipeline.publish_on_breach {
        return Err(JobError::QualityGate { breaches });
    }
    Ok(breaches)
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

/// The committed tables.
pub(crate) struct Committed {
    /// Every table of the pipeline at the version to publish.
    pub tables: BTreeMap<String, PublishedTable>,
    /// The tables this run wrote: path and schema (for lineage).
    pub schemas: BTreeMap<String, (String, SchemaRef)>,
}

/// The pending commit of each table: a full rebuild replaces the content, an incremental run
/// adds to it.
fn pending_commits(
    outputs: Vec<LibraryOutput>,
    incremental: bool,
) -> BTreeMap<String, PendingCommit> {
    let change = |actions: Vec<Action>| match incremental {
        true => Change::Append { actions },
        false => Change::Replace,
    };
    let mut pending = BTreeMap::new();
    let mut verdict_files = Vec::new();
    let mut verdict_schema = None;
    for output in outputs {
        let name = output.planned.rules.name.clone();
        let schemas = OutputSchemas::of(&output.planned);
        // A golden library's governed rows are its source layer, partitioned by department.
        let (name_of_rows, schema, partition) = match output.planned.rules.golden {
            true => (
                GoldenTable::Source.query_name(&name),
                with_partition(&schemas.library),
                GoldenTable::Source.partition(),
            ),
            false => (name.clone(), schemas.library.clone(), None),
        };
        let library = PendingCommit {
            schema,
            partition,
            files: output.files.library,
            change: change(output.actions),
        };
        let quarantine = PendingCommit {
            schema: with_partition(&schemas.quarantine),
            partition: Some(DEPARTMENT_COLUMN),
            files: output.files.quarantine,
            change: change(Vec::new()),
        };
        pending.insert(name_of_rows, library);
        pending.insert(format!("quarantine_{name}"), quarantine);
        verdict_files.extend(output.files.verdicts);
        verdict_schema = Some(with_partition(&schemas.verdicts));
    }
    if let Some(schema) = verdict_schema {
        let verdicts = PendingCommit {
            schema,
            partition: Some(DEPARTMENT_COLUMN),
            files: verdict_files,
            change: change(Vec::new()),
        };
        pending.insert("verdicts".into(), verdicts);
    }
    pending
}

/// Stage 4 — commit every table in order; a table the run does not change keeps its
/// published version.
pub(crate) async fn commit_tables(
    pipeline: &Pipeline,
    root: &Path,
    scope: &Scope,
    outputs: Vec<LibraryOutput>,
) -> Result<Committed, JobError> {
    let mut pending = pending_commits(outputs, scope.incremental);
    let published = scope.previous.as_ref();
    let mut committed = Committed {
        tables: BTreeMap::new(),
        schemas: BTreeMap::new(),
    };
    for (name, path) in governed_tables(pipeline) {
        let unchanged = published.and_then(|p| p.tables.get(&name));
        match pending.remove(&name) {
            Some(c) if c.is_empty() && unchanged.is_some() => {
                committed
                    .tables
                    .extend(unchanged.map(|t| (name.clone(), t.clone())));
            }
            Some(c) => {
                let dir = root.join(&path);
                let version =
                    commit(&dir, &name, &c.schema, c.partition, &c.files, c.change).await?;
                committed
                    .schemas
                    .insert(name.clone(), (path.clone(), c.schema));
                committed
                    .tables
                    .insert(name.clone(), PublishedTable { path, version });
            }
            None => committed
                .tables
                .extend(unchanged.map(|t| (name.clone(), t.clone()))),
        }
        shuzhi_library::failpoint::hit(&format!("after_commit:{name}"));
    }
    Ok(committed)
}

/// What the assess stage found over the committed tables.
pub(crate) struct Assessment {
    /// GB/T 36344 indicator scores.
    pub quality: Vec<IndicatorScore>,
    /// Record completeness against expected populations.
    pub expected_populations: Vec<ExpectedPopulation>,
    /// Referential integrity of fields with `references`.
    pub referential_integrity: Vec<Orphans>,
}

/// Stage 5 — assess: expected populations and references over the committed tables, then the
/// GB/T 36344 scores from the run's counts.
pub(crate) async fn assess(
    ctx: &SessionContext,
    root: &Path,
    pipeline: &Pipeline,
    counts: &RunCounts,
    committed: &Committed,
) -> Result<Assessment, JobError> {
    let tables = &committed.tables;
    let expected_populations =
        crate::completeness::expected_populations(ctx, root, pipeline, tables).await?;
    let referential_integrity = crate::completeness::orphans(ctx, root, pipeline, tables).await?;
    let mut quality = shuzhi_report::quality(pipeline, counts);
    quality.extend(
        referential_integrity
            .iter()
            .map(shuzhi_report::orphans_score),
    );
    quality.extend(
        expected_populations
            .iter()
            .map(shuzhi_report::expected_population_score),
    );
    Ok(Assessment {
        quality,
        expected_populations,
        referential_integrity,
    })
}

/// What the earlier stages recorded, for the manifest.
pub(crate) struct RunFacts {
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// What start-up recovery repaired.
    pub recovered: Vec<String>,
    /// Quality-gate breaches (published anyway with `publish_on_breach`).
    pub breaches: Vec<Breach>,
    /// One line per batch.
    pub deliveries: Vec<String>,
    /// What ingest found in each file.
    pub reports: Vec<FileReport>,
    /// Rows and failures.
    pub counts: RunCounts,
    /// Seconds per stage.
    pub stage_seconds: BTreeMap<String, f64>,
    /// CPU seconds per stage.
    pub stage_cpu_seconds: BTreeMap<String, f64>,
    /// Peak resident set (MiB) of the process after each stage.
    pub stage_peak_rss_mb: BTreeMap<String, f64>,
    /// What the golden stage built, per golden library.
    pub golden: BTreeMap<String, shuzhi_report::GoldenCounts>,
    /// What the topic stage built (or kept), per topic.
    pub topics: BTreeMap<String, shuzhi_report::TopicCounts>,
}

fn input_file(r: &FileReport) -> InputFile {
    InputFile {
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
    }
}

/// Stage 6a — the manifest: what went in, what rules applied, what came out.
pub(crate) fn manifest(
    pipeline: &Pipeline,
    options: &RunOptions,
    facts: RunFacts,
    assessment: Assessment,
    committed: &Committed,
) -> Manifest {
    Manifest {
        run_id: options.run_id.clone(),
        pipeline: pipeline.name.clone(),
        rule_fingerprint: pipeline.fingerprint.clone(),
        started_at: facts.started_at,
        as_of: options.as_of.clone(),
        deliveries: facts.deliveries,
        breaches: facts.breaches,
        recovered: facts.recovered,
        inputs: facts.reports.iter().map(input_file).collect(),
        quality: assessment.quality,
        expected_populations: assessment.expected_populations,
        referential_integrity: assessment.referential_integrity,
        fields: shuzhi_report::field_catalogue(pipeline),
        pseudonym_keys: pipeline.keys.clone(),
        sources: facts.counts.sources,
        rule_failures: facts.counts.rule_failures,
        step_changes: facts.counts.step_changes,
        spilled_bytes: facts.counts.spilled_bytes,
        golden: facts.golden,
        topics: facts.topics,
        stage_seconds: facts.stage_seconds,
        stage_cpu_seconds: facts.stage_cpu_seconds,
        stage_peak_rss_mb: facts.stage_peak_rss_mb,
        table_versions: committed
            .tables
            .values()
            .map(|t| (t.path.clone(), t.version))
            .collect(),
    }
}

/// Stage 6b — publish: replace the pointer atomically.
pub(crate) fn publish(
    root: &Path,
    pipeline: &Pipeline,
    options: &RunOptions,
    scope: Scope,
    committed: &Committed,
) -> Result<Published, JobError> {
    let published = Published {
        run_id: options.run_id.clone(),
        published_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rule_fingerprint: pipeline.fingerprint.clone(),
        plan_fingerprint: scope.plan_fingerprint,
        tables: committed.tables.clone(),
        batches: scope.deliveries.registry,
    };
    shuzhi_library::publish(root, &published)?;
    Ok(published)
}

/// Stage 7 — record: append the published run to the hash-chained ledger.
pub(crate) fn record(root: &Path, published: &Published) -> Result<(), JobError> {
    shuzhi_library::ledger::append(root, &published.run_id, &published.published_at)?;
    Ok(())
}
