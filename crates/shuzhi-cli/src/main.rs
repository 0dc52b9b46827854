//! `shuzhi`: govern department deliveries into trusted libraries.

mod linking;
mod rectify;
mod report;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use clap::{Parser, Subcommand, ValueEnum};
use shuzhi_engine::{EngineConfig, EngineError};
use shuzhi_job::{JobError, RunOptions};
use shuzhi_rules::{Diagnostic, RulesError};

/// Exit codes (a contract for schedulers): see README "Exit codes".
mod exit {
    pub const QUALITY: u8 = 1;
    pub const CONFIG: u8 = 2;
    pub const INPUT: u8 = 3;
    pub const INTERNAL: u8 = 70;
    /// Stopped by SIGINT (128 + 2, as shells report it).
    pub const SIGINT: u8 = 130;
    /// Stopped by SIGTERM (128 + 15).
    pub const SIGTERM: u8 = 143;
}

#[derive(Parser)]
#[command(
    name = "shuzhi",
    version,
    about = "数治 shuzhi — govern department data into trusted base libraries",
    long_about = "shuzhi reads department deliveries (CSV in UTF-8, GB18030/GBK or UTF-16, Excel \
workbooks, JSON Lines, Parquet), cleans and checks them with the rules in TOML files, and writes Delta/Parquet libraries, a quarantine with every \
rejected row and its reasons, and one verdict per failed check.\n\n\
Typical session:\n  shuzhi check                 # validate pipeline.toml and its rules, no data read\n  \
shuzhi run                   # govern, then publish out/_published.json\n  \
shuzhi query \"SELECT gender, count(*) FROM population GROUP BY 1\"\n  \
shuzhi sample --persons 100000 --out /tmp/city   # synthetic deliveries with known truth"
)]
struct Cli {
    /// More log output on stderr: -v stages, -vv plans, -vvv everything (or set SHUZHI_LOG).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Govern every source of a pipeline and publish the libraries.
    Run(RunArgs),
    /// Write the published libraries as plain Hive-partitioned Parquet (for Hive, StarRocks,
    /// 达梦 loaders): DIR/<table>/_department=<department>/*.parquet and DIR/_snapshot.json.
    Export {
        /// Folder of the snapshot (written beside it, then renamed into place).
        #[arg(long)]
        snapshot: PathBuf,
        /// Output root holding `_published.json`.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Replace an existing snapshot folder.
        #[arg(long)]
        replace: bool,
    },
    /// Run the `[[test]]` blocks of rule files: each delivered row in, the expected cleaned row
    /// and verdicts out; differences are shown field by field. Given a pipeline file, its topic
    /// files' tests run too (input rows per table, the rows the topic must give). Exit 1 if any
    /// test fails.
    Test {
        /// A rule file, a folder of rule files (with its `codes/`), or a pipeline file.
        #[arg(default_value = "rules")]
        path: PathBuf,
    },
    /// Show what each clean step and check of a field does to one value.
    Explain {
        /// The field, e.g. id_number.
        #[arg(long)]
        field: String,
        /// The delivered value, e.g. "１１０１０５１９４９１２３１００２ｘ".
        value: String,
        /// The library (default: the first that declares the field).
        #[arg(long)]
        library: Option<String>,
        /// A rule file, a folder of rule files, or a pipeline file.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// List the published runs of an output root, oldest first, from its ledger.
    History {
        /// Output root.
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// The hash-chained ledger of published runs.
    Ledger {
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Check a pipeline, its rule files and topics without reading any data: every SQL
    /// expression and every topic's query is planned; problems are shown at file:line:column.
    Check {
        /// Pipeline file.
        #[arg(default_value = "pipeline.toml")]
        pipeline: PathBuf,
    },
    /// Print the JSON Schema of rule files or pipeline files (generated from the parser's
    /// types; committed as schemas/*.schema.json). Point your editor's TOML extension at it,
    /// e.g. a `#:schema ../schemas/rules.schema.json` first line (Taplo / Even Better TOML).
    Schema {
        /// Which format.
        #[arg(value_enum, default_value_t = SchemaOf::Rules)]
        of: SchemaOf,
    },
    /// Run SQL over the published libraries (tables: each library, quarantine_<library>, verdicts,
    /// golden tables, topics).
    Query {
        /// The SQL query.
        sql: String,
        /// Output root holding `_published.json`.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One department's rectification list (整改清单): every copy it delivered to a golden
    /// library that is not the same as the golden record — the value to correct, the golden
    /// value, the department it came from and why (authority, recency, completeness, fixed),
    /// and the record's source, file and line. Sensitive values are masked; cells are
    /// formula-safe. Example: shuzhi rectify --department hrss --format xlsx --out hrss.xlsx
    Rectify {
        /// The department, as `department` in pipeline.toml (e.g. hrss).
        #[arg(long)]
        department: String,
        /// File format.
        #[arg(long, value_enum, default_value_t = rectify::ListFormat::Csv)]
        format: rectify::ListFormat,
        /// File to write (default: stdout for CSV, rectify-<department>.xlsx for xlsx).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output root of the run, holding `_published.json`.
        #[arg(long, default_value = "out")]
        from: PathBuf,
    },
    /// Link records across departments with a `[match]` spec and score the clusters against
    /// the truth: pairwise and cluster precision, recall and F1 (recall over all true pairs),
    /// blocking recall, the trained weights, and the time each phase took. By default it
    /// links a generated city's four departments (missing and mistyped IDs, homophone and
    /// traditional names, twins, shared households); --input links a CSV with a truth column.
    /// Example: shuzhi evaluate-match --persons 100000 --explain 0,1
    EvaluateMatch(linking::EvaluateArgs),
    /// Generate synthetic department deliveries (every format, documented dirt) and their
    /// truth: clean entities, each row's expected outcome, planted findings and decoys.
    Sample {
        /// Persons in the synthetic city (about ten delivered rows per person).
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
        /// Seed: the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output folder (one folder per department, plus truth/).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `shuzhi run`'s arguments.
#[derive(clap::Args)]
struct RunArgs {
    /// Pipeline file.
    #[arg(default_value = "pipeline.toml")]
    pipeline: PathBuf,
    /// Output root (default: the pipeline's `output`, relative to the pipeline file).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run id (default: UTC time + fingerprint prefix).
    #[arg(long)]
    run_id: Option<String>,
    /// Rows per batch (larger batches make the dedup sort's merge cheaper).
    #[arg(long, default_value_t = 65_536)]
    batch_size: usize,
    /// Parallel streams (default: number of cores).
    #[arg(long)]
    target_partitions: Option<usize>,
    /// Memory for dedup sorts before they spill to disk, in MiB (default: 60 % of RAM).
    #[arg(long)]
    memory_limit_mb: Option<usize>,
    /// Maximum rows per Parquet row group.
    #[arg(long, default_value_t = 1 << 20)]
    row_group_rows: usize,
    /// Print the manifest and the published pointer as JSON on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// Business date of the deliveries (YYYY-MM-DD), recorded in the manifest.
    #[arg(long, value_parser = parse_as_of)]
    as_of: Option<String>,
    /// Plan every rule and list the files each source would read; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Seconds to wait for another run's lock on the output before failing.
    #[arg(long, default_value_t = 0)]
    wait_lock: u64,
    /// Govern every live batch again instead of only the new ones. By default a run that
    /// only adds increment, cdc or first deliveries, with unchanged rules, source settings
    /// and shuzhi version, governs the new batches and supersedes the published rows of
    /// their keys in place (Delta deletion vectors); anything else rebuilds every table.
    #[arg(long)]
    full_rebuild: bool,
    /// Publish this source's delivery even when a delivery guard holds it back (its key
    /// column in no file's header; a full delivery with no rows, or with over 20 % fewer rows
    /// than the one it replaces). Repeat for several sources.
    #[arg(long, value_name = "SOURCE")]
    accept_delivery: Vec<String>,
}

#[derive(Subcommand)]
enum LedgerAction {
    /// Check that no published run's manifest or pointer changed and no entry was removed.
    Verify {
        /// Output root.
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
}

fn parse_as_of(text: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| format!("`{text}` is not a date like 2026-11-30"))
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaOf {
    /// Rule files (`rules/*.toml`).
    Rules,
    /// Pipeline files (`pipeline.toml`).
    Pipeline,
    /// Topic files (`rules/topics/*.toml`).
    Topic,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

/// A failure with its exit code and the text for the user.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

fn rules_failure(e: RulesError) -> Failure {
    match e {
        RulesError::Invalid(diags) => {
            let mut text: String = diags.iter().map(|d| format!("{d}\n")).collect();
            text.push_str(&format!(
                "error: {} problem(s) found; codes are explained in docs/errors.md",
                diags.len()
            ));
            Failure::new(exit::CONFIG, text)
        }
        RulesError::Read { .. } => Failure::new(exit::INPUT, format!("error: {e}")),
    }
}

fn engine_failure(e: EngineError) -> Failure {
    if let Some(ingest) = e.ingest_error() {
        return Failure::new(exit::INPUT, format!("error: {ingest}"));
    }
    match e {
        EngineError::Expr { origin, message } => {
            let d = Diagnostic::at("E0201", &origin, "SQL expression does not plan")
                .with_help(message.lines().next().unwrap_or("").to_owned());
            Failure::new(exit::CONFIG, format!("{d}"))
        }
        EngineError::TopicSql { origin, message } => {
            let d = Diagnostic::at("E0202", &origin, "topic SQL does not plan")
                .with_help(message.lines().next().unwrap_or("").to_owned());
            Failure::new(exit::CONFIG, format!("{d}"))
        }
        EngineError::TopicOutput { origin, message } => {
            let d = Diagnostic::at("E0203", &origin, message);
            Failure::new(exit::CONFIG, format!("{d}"))
        }
        EngineError::Library(l) => Failure::new(exit::INPUT, format!("error: {l}")),
        other => Failure::new(exit::INTERNAL, format!("error: {other}")),
    }
}

fn job_failure(e: JobError) -> Failure {
    match e {
        JobError::Engine(e) => engine_failure(e),
        JobError::Library(l) => Failure::new(exit::INPUT, format!("error: {l}")),
        changed @ JobError::ChangedDelivery { .. } => {
            Failure::new(exit::INPUT, format!("error: {changed}"))
        }
        stopped @ JobError::Interrupted { signal } => Failure::new(
            match signal {
                "SIGTERM" => exit::SIGTERM,
                _ => exit::SIGINT,
            },
            format!("error: {stopped}"),
        ),
        guard @ JobError::DeliveryGuard { .. } => {
            Failure::new(exit::QUALITY, format!("error: {guard}"))
        }
        topic @ JobError::TopicKey { .. } => Failure::new(exit::QUALITY, format!("error: {topic}")),
        gate @ JobError::QualityGate { .. } => {
            Failure::new(exit::QUALITY, format!("error: {gate}"))
        }
        other => Failure::new(exit::INTERNAL, format!("error: {other}")),
    }
}

/// A stop request that SIGINT (Ctrl-C) or SIGTERM (schedulers, `kill`) sets to its name, so
/// that the run ends cleanly: nothing published, its FAIL event written, the lock released.
fn stop_on_signals() -> tokio::sync::watch::Receiver<Option<&'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for SIGTERM / SIGINT: a signal will kill the run");
            return;
        };
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        let _ = tx.send(Some(name));
    });
    rx
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "warn,shuzhi_engine=info,shuzhi_job=info,shuzhi_library=info",
        2 => "info,shuzhi_engine=debug,shuzhi_job=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHUZHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// A reader that stops early (`shuzhi test | head`) closes the pipe; printing then fails, and
/// std's print macros panic on that. The reader had what it wanted: exit 0 without a word, as
/// `shuzhi query` does. Every other panic is reported as before.
fn end_quietly_when_the_reader_goes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}

fn main() -> ExitCode {
    end_quietly_when_the_reader_goes();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Schema { of } => {
            print!(
                "{}",
                match of {
                    SchemaOf::Rules => shuzhi_rules::raw::rules_schema(),
                    SchemaOf::Pipeline => shuzhi_rules::raw::pipeline_schema(),
                    SchemaOf::Topic => shuzhi_rules::raw::topic_schema(),
                }
            );
            Ok(())
        }
        Command::Check { pipeline } => check(&pipeline).await,
        Command::Run(args) => run(args).await,
        Command::Query { sql, out, format } => query(&sql, &out, format).await,
        Command::Rectify {
            department,
            format,
            out,
            from,
        } => rectify::rectify(&from, &department, format, out).await,
        Command::Export {
            snapshot,
            out,
            replace,
        } => {
            let published = published_or_fail(&out)?;
            let ctx = shuzhi_engine::session(&EngineConfig::default()).map_err(engine_failure)?;
            let tables =
                shuzhi_library::export::export_snapshot(&ctx, &out, &published, &snapshot, replace)
                    .await
                    .map_err(|e| Failure::new(exit::INPUT, format!("error: {e}")))?;
            println!(
                "exported run {} to {}",
                published.run_id,
                snapshot.display()
            );
            for t in tables {
                println!("  {:<28} {:>10} rows", t.name, t.rows);
            }
            Ok(())
        }
        Command::Test { path } => test(&path).await,
        Command::Explain {
            field,
            value,
            library,
            rules,
        } => explain(&field, &value, library.as_deref(), &rules).await,
        Command::History { out } => {
            let entries = shuzhi_library::ledger::read(&out)
                .map_err(|e| Failure::new(exit::INPUT, format!("error: {e}")))?;
            print!("{}", report::history(&out, &entries));
            Ok(())
        }
        Command::Ledger {
            action: LedgerAction::Verify { out },
        } => {
            let entries = shuzhi_library::ledger::verify(&out)
                .map_err(|e| Failure::new(exit::INPUT, format!("error: ledger broken: {e}")))?;
            println!(
                "ok: {} published run(s), chain intact{}",
                entries.len(),
                entries
                    .last()
                    .map(|e| format!("; last {} at {}", e.run_id, e.published_at))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Command::EvaluateMatch(args) => linking::evaluate_match(&args),
        Command::Sample { persons, seed, out } => {
            let started = std::time::Instant::now();
            let summary = shuzhi_sample::generate(&shuzhi_sample::Config {
                persons,
                seed,
                out: out.clone(),
            })
            .map_err(|e| Failure::new(exit::INPUT, format!("error: {e}")))?;
            print!(
                "{}",
                report::sample_summary(&summary, &out, started.elapsed())
            );
            Ok(())
        }
    }
}

/// Rules from a pipeline file (a `.toml` with a `[pipeline]` table), a rule file or a folder.
fn load_rules_or_pipeline(path: &Path) -> Result<shuzhi_rules::Pipeline, Failure> {
    let is_pipeline = path.is_file()
        && std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l.trim() == "[pipeline]"));
    if is_pipeline {
        shuzhi_rules::load_pipeline(path).map_err(rules_failure)
    } else {
        shuzhi_rules::load_rules(path).map_err(rules_failure)
    }
}

/// The publish pointer of `root`, or the error telling the user to run first.
fn published_or_fail(root: &Path) -> Result<shuzhi_library::Published, Failure> {
    shuzhi_library::read_published(root)
        .map_err(|e| Failure::new(exit::INPUT, format!("error: {e}")))?
        .ok_or_else(|| {
            Failure::new(
                exit::INPUT,
                format!(
                    "error: nothing is published in {} yet\n  = help: run `shuzhi run` first, or pass --out",
                    root.display()
                ),
            )
        })
}

async fn query(sql: &str, root: &Path, format: Format) -> Result<(), Failure> {
    let published = published_or_fail(root)?;
    let ctx = shuzhi_engine::session(&EngineConfig::default()).map_err(engine_failure)?;
    shuzhi_library::register_published(&ctx, root, &published)
        .await
        .map_err(|e| Failure::new(exit::INPUT, format!("error: {e}")))?;
    let sql_failure = |e: datafusion::error::DataFusionError| {
        Failure::new(
            exit::CONFIG,
            format!(
                "error: {e}\n  = help: tables are {}",
                published
                    .tables
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    };
    let batches = ctx
        .sql(sql)
        .await
        .map_err(sql_failure)?
        .collect()
        .await
        .map_err(sql_failure)?;
    report::print_batches(&batches, format)
        .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))
}

/// `shuzhi check`: load, plan every rule without data, report.
async fn check(pipeline: &Path) -> Result<(), Failure> {
    let p = shuzhi_rules::load_pipeline(pipeline).map_err(rules_failure)?;
    for w in &p.warnings {
        eprintln!("{w}");
    }
    shuzhi_engine::check_pipeline(&p, &EngineConfig::default())
        .await
        .map_err(engine_failure)?;
    println!(
        "ok: {} — {} source(s), {} library rule file(s), {} topic(s), {} code table(s); fingerprint {}",
        pipeline.display(),
        p.sources.len(),
        p.libraries.len(),
        p.topics.len(),
        p.code_tables.len(),
        &p.fingerprint[..12]
    );
    Ok(())
}

/// `shuzhi run`: govern and publish, then summarise (or print the manifest as JSON).
async fn run(args: RunArgs) -> Result<(), Failure> {
    let RunArgs {
        pipeline,
        out,
        run_id,
        batch_size,
        target_partitions,
        memory_limit_mb,
        row_group_rows,
        json,
        as_of,
        dry_run,
        wait_lock,
        full_rebuild,
        accept_delivery,
    } = args;
    let p = shuzhi_rules::load_pipeline(&pipeline).map_err(rules_failure)?;
    if dry_run {
        shuzhi_engine::check_pipeline(&p, &EngineConfig::default())
            .await
            .map_err(engine_failure)?;
        print!("{}", report::dry_run(&p));
        return Ok(());
    }
    let root = out.unwrap_or_else(|| p.output.clone());
    let run_id = run_id.unwrap_or_else(|| {
        format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
            &p.fingerprint[..8]
        )
    });
    let mut engine = EngineConfig {
        batch_size,
        memory_limit: memory_limit_mb
            .map_or_else(shuzhi_engine::session::default_memory_limit, |mb| mb << 20),
        spill_dir: None,
        ..EngineConfig::default()
    };
    if let Some(n) = target_partitions {
        engine.target_partitions = n;
    }
    let progress = Arc::new(AtomicU64::new(0));
    let options = RunOptions {
        engine,
        run_id,
        row_group_rows,
        chunk_bytes: 4 << 20,
        progress: progress.clone(),
        lock_wait: std::time::Duration::from_secs(wait_lock),
        as_of,
        full_rebuild,
        accept_deliveries: accept_delivery,
        stop: Some(stop_on_signals()),
    };
    let bar = report::progress_bar(std::io::stderr().is_terminal(), progress);
    let result = shuzhi_job::run_pipeline(&p, &root, &options).await;
    bar.finish();
    let run = result.map_err(job_failure)?;
    if json {
        let doc = serde_json::json!({ "manifest": run.manifest, "published": run.published });
        println!("{doc:#}");
    } else {
        print!("{}", report::summary(&run, &root));
    }
    let breaches = &run.manifest.breaches;
    if breaches.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = breaches
        .iter()
        .map(|b| {
            format!(
                "error: quality threshold breached: {}; published anyway (publish_on_breach = true)",
                b.describe()
            )
        })
        .collect();
    Err(Failure::new(exit::QUALITY, lines.join("\n")))
}

/// `shuzhi test`: run the rule files' `[[test]]` blocks.
async fn test(path: &Path) -> Result<(), Failure> {
    let p = load_rules_or_pipeline(path)?;
    let mut failed = 0;
    let mut passed = 0;
    for library in &p.libraries {
        let outcomes = shuzhi_engine::evaluate::run_rule_tests(&p, library)
            .await
            .map_err(engine_failure)?;
        print!("{}", report::rule_tests(library, &outcomes));
        failed += outcomes
            .iter()
            .filter(|o| !o.differences.is_empty())
            .count();
        passed += outcomes.iter().filter(|o| o.differences.is_empty()).count();
    }
    if !p.topics.is_empty() {
        let config = EngineConfig::default();
        let schemas = shuzhi_engine::check_pipeline(&p, &config)
            .await
            .map_err(engine_failure)?;
        let ctx = shuzhi_engine::session(&config).map_err(engine_failure)?;
        for topic in &p.topics {
            let outcomes = shuzhi_engine::topic::run_topic_tests(&ctx, topic, &schemas)
                .await
                .map_err(engine_failure)?;
            print!("{}", report::topic_tests(topic, &outcomes));
            failed += outcomes.iter().filter(|(_, o)| o.is_err()).count();
            passed += outcomes.iter().filter(|(_, o)| o.is_ok()).count();
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        return Err(Failure::new(
            exit::QUALITY,
            format!("error: {failed} rule test(s) failed"),
        ));
    }
    Ok(())
}

/// `shuzhi explain`: what each step and check makes of one value.
async fn explain(
    field: &str,
    value: &str,
    library: Option<&str>,
    rules: &Path,
) -> Result<(), Failure> {
    let p = load_rules_or_pipeline(rules)?;
    let lib = p
        .libraries
        .iter()
        .find(|l| library.is_none_or(|n| l.name == n) && l.field(field).is_some())
        .ok_or_else(|| {
            Failure::new(
                exit::CONFIG,
                format!(
                    "error: no library in {} declares the field `{field}`",
                    rules.display()
                ),
            )
        })?;
    let text = report::explain(&p, lib, field, value)
        .await
        .map_err(engine_failure)?;
    print!("{text}");
    Ok(())
}
