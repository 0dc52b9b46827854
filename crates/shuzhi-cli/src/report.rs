//! What the CLI prints: progress, the run summary, query results.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use indicatif::{ProgressBar, ProgressStyle};
use shuzhi_job::RunReport;

use crate::Format;

/// A spinner counting governed rows, only on a terminal.
pub fn progress_bar(tty: bool, rows: Arc<AtomicU64>) -> Progress {
    if !tty {
        return Progress {
            bar: None,
            ticker: None,
        };
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} governing: {msg} rows, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let b = bar.clone();
    let ticker = tokio::spawn(async move {
        loop {
            b.set_message(rows.load(Ordering::Relaxed).to_string());
            b.tick();
            tokio::time::sleep(Duration::from_millis(120)).await;
        }
    });
    Progress {
        bar: Some(bar),
        ticker: Some(ticker),
    }
}

/// Handle of the progress display.
pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Removes the spinner.
    pub fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// A table of named rows with three counts each, under `header`.
fn counts_table<'a>(
    s: &mut String,
    header: [&str; 4],
    rows: impl Iterator<Item = (&'a String, [u64; 3])>,
) {
    let [name, a, b, c] = header;
    let _ = writeln!(s, "{name:<28} {a:>10} {b:>12} {c:>12}");
    for (name, [a, b, c]) in rows {
        let _ = writeln!(s, "{name:<28} {a:>10} {b:>12} {c:>12}");
    }
}

/// The human summary of a run.
pub fn summary(run: &RunReport, root: &Path) -> String {
    let m = &run.manifest;
    let mut s = String::new();
    for line in &m.recovered {
        let _ = writeln!(s, "recovered: {line}");
    }
    let _ = writeln!(
        s,
        "run {} published ({} s)",
        m.run_id,
        m.stage_seconds.values().sum::<f64>().round()
    );
    s.push('\n');
    counts_table(
        &mut s,
        ["source", "read", "kept", "quarantined"],
        m.sources
            .iter()
            .map(|(source, c)| (source, [c.read, c.kept, c.quarantined])),
    );
    for (source, c) in m.sources.iter().filter(|(_, c)| c.out_of_scope > 0) {
        let _ = writeln!(
            s,
            "  {source}: {} of the quarantined rows are out of its scope (no check ran on them)",
            c.out_of_scope
        );
    }
    if !m.deliveries.is_empty() {
        let _ = writeln!(s, "\ndeliveries");
        for line in &m.deliveries {
            let _ = writeln!(s, "  {line}");
        }
    }
    let changes = column_changes(&m.inputs);
    if !changes.is_empty() {
        let _ = writeln!(
            s,
            "\ncolumns that changed between deliveries or are missing"
        );
        for line in changes {
            let _ = writeln!(s, "  {line}");
        }
    }
    let mut failing: Vec<(&String, &u64)> =
        m.rule_failures.iter().filter(|(_, n)| **n > 0).collect();
    failing.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if !failing.is_empty() {
        let _ = writeln!(s, "\ntop failing rules");
        for (rule, n) in failing.iter().take(8) {
            let _ = writeln!(s, "  {n:>8}  {rule}");
        }
    }
    if !m.golden.is_empty() {
        let _ = writeln!(
            s,
            "\ngolden records (one per entity; every department's copy in <library>_source)"
        );
        counts_table(
            &mut s,
            ["library", "entities", "source rows", "conflicts"],
            m.golden
                .iter()
                .map(|(library, g)| (library, [g.entities, g.links, g.conflicts])),
        );
    }
    if !m.topics.is_empty() {
        let _ = writeln!(
            s,
            "\ntopics (SQL over this run's libraries; rows per decision)"
        );
        for (topic, t) in &m.topics {
            let decisions: Vec<String> = t
                .decisions
                .iter()
                .map(|(d, n)| format!("{d} {n}"))
                .collect();
            let kept = if t.computed {
                ""
            } else {
                "  (unchanged, kept)"
            };
            let _ = writeln!(
                s,
                "{topic:<28} {:>10}  {}{kept}",
                t.rows,
                decisions.join(", ")
            );
        }
    }
    // GB/T 36344: each library's weakest assessed indicator, and expected populations.
    let mut weakest: std::collections::BTreeMap<String, (&str, f64)> = Default::default();
    for q in &m.quality {
        if let Some(score) = q.score {
            let scope = match &q.department {
                None => q.library.clone(),
                Some(d) => format!("{} ← {d}", q.library),
            };
            let entry = weakest.entry(scope).or_insert((&q.indicator, score));
            if score < entry.1 {
                *entry = (&q.indicator, score);
            }
        }
    }
    if !weakest.is_empty() {
        let _ = writeln!(
            s,
            "\nquality (GB/T 36344; weakest indicator, manifest `quality` has all)"
        );
        for (library, (indicator, score)) in &weakest {
            let _ = writeln!(s, "  {library:<34} {:>7.2} %  {indicator}", score * 100.0);
        }
    }
    for e in &m.expected_populations {
        let _ = writeln!(
            s,
            "  {:<34} {} of {} expected ({}) missing in {}",
            e.library, e.missing, e.expected, e.reference, e.field
        );
    }
    let _ = writeln!(s, "\noutputs in {}", root.display());
    for (name, t) in &run.published.tables {
        let _ = writeln!(s, "  {name:<24} {}/ (Delta version {})", t.path, t.version);
    }
    let _ = writeln!(
        s,
        "  manifest                 _runs/{}/manifest.json",
        m.run_id
    );
    let _ = writeln!(
        s,
        "\nnext: shuzhi query \"SELECT * FROM quarantine_population LIMIT 5\" --out {}",
        root.display()
    );
    s
}

/// Fields that a source's files delivered under different column names, and mapped fields a
/// file lacks (read as null), one line each.
fn column_changes(inputs: &[shuzhi_library::manifest::InputFile]) -> Vec<String> {
    use std::collections::BTreeMap;
    let file_name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
    let mut out = Vec::new();
    let mut by_source: BTreeMap<&str, Vec<&shuzhi_library::manifest::InputFile>> = BTreeMap::new();
    for i in inputs {
        by_source.entry(i.source.as_str()).or_default().push(i);
    }
    for (source, files) in by_source {
        let mut names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for f in &files {
            for (field, column) in &f.columns {
                names
                    .entry(field.as_str())
                    .or_default()
                    .push(format!("{column} in {}", file_name(&f.path)));
            }
            if !f.missing_fields.is_empty() {
                out.push(format!(
                    "{source}: {} lacks {} (read as null)",
                    file_name(&f.path),
                    f.missing_fields.join(", ")
                ));
            }
        }
        for (field, used) in names {
            let distinct: std::collections::BTreeSet<&str> =
                used.iter().filter_map(|u| u.split(" in ").next()).collect();
            if distinct.len() > 1 {
                out.push(format!("{source}: {field} renamed: {}", used.join(", ")));
            }
        }
    }
    out
}

/// The outcome of one library's `[[test]]` blocks.
pub fn rule_tests(
    library: &shuzhi_rules::LibraryRules,
    outcomes: &[shuzhi_engine::evaluate::TestOutcome],
) -> String {
    let mut s = format!("{}: {} test(s)\n", library.file.display(), outcomes.len());
    for o in outcomes {
        if o.differences.is_empty() {
            let _ = writeln!(s, "  ok    {}", o.test.name);
        } else {
            let _ = writeln!(s, "  FAIL  {} ({})", o.test.name, o.test.origin.location());
            for d in &o.differences {
                let _ = writeln!(s, "          {d}");
            }
        }
    }
    s
}

/// A topic's test outcomes, like [`rule_tests`].
pub fn topic_tests(
    topic: &shuzhi_rules::Topic,
    outcomes: &[(String, shuzhi_engine::topic::TopicTestOutcome)],
) -> String {
    let mut s = format!("{}: {} test(s)\n", topic.file.display(), outcomes.len());
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) => {
                let _ = writeln!(s, "  ok    {name}");
            }
            Err(problems) => {
                let _ = writeln!(s, "  FAIL  {name}");
                for p in problems {
                    let _ = writeln!(s, "          {p}");
                }
            }
        }
    }
    s
}

/// Each clean step's effect on one value, then what the checks make of the field.
pub async fn explain(
    pipeline: &shuzhi_rules::Pipeline,
    library: &shuzhi_rules::LibraryRules,
    field: &str,
    value: &str,
) -> Result<String, shuzhi_engine::EngineError> {
    use shuzhi_rules::CleanStep;
    let mut s = format!("{}.{field} ← {value:?}\n", library.name);
    let Some(f) = library.field(field) else {
        return Ok(s);
    };
    // The chain's steps run exactly as in a run; SQL steps are shown, not run, here.
    let mut traced = f.chain().trace(value).into_iter();
    let mut current = Some(value.to_owned());
    for step in &f.clean {
        let before = current.clone();
        let note = match step {
            CleanStep::Default { expr } => format!("   (fills a null from `{}`)", expr.sql),
            CleanStep::Derive { .. } => String::new(),
            CleanStep::Text(_) | CleanStep::ParseDate => {
                current = traced.next().flatten();
                String::new()
            }
        };
        let shown = current
            .as_deref()
            .map_or("null".to_owned(), |v| format!("{v:?}"));
        let mark = if before != current { "  changed" } else { "" };
        let _ = writeln!(s, "  {:<16} → {shown}{mark}{note}", step.name());
    }
    let row = std::collections::BTreeMap::from([(field.to_owned(), value.to_owned())]);
    let evaluated = shuzhi_engine::evaluate::evaluate(pipeline, library, &[row]).await?;
    if let Some(e) = evaluated.first() {
        let final_value = e.values.get(field).cloned().flatten();
        let _ = writeln!(
            s,
            "  result           → {}",
            final_value.map_or("null".to_owned(), |v| format!("{v:?}"))
        );
        let failed: Vec<String> = e
            .failed
            .iter()
            .filter(|(_, _, f)| f == field)
            .map(|(id, severity, _)| format!("{id} ({})", severity.as_str()))
            .collect();
        let checks: Vec<&str> = f.checks.iter().map(|c| c.id.as_str()).collect();
        let _ = writeln!(
            s,
            "  checks           {}",
            if checks.is_empty() {
                "none".to_owned()
            } else if failed.is_empty() {
                format!("all pass: {}", checks.join(", "))
            } else {
                format!("failed: {}", failed.join(", "))
            }
        );
    }
    Ok(s)
}

/// What `shuzhi run --dry-run` found: the files each source would read; nothing is written.
pub fn dry_run(p: &shuzhi_rules::Pipeline) -> String {
    let mut s = format!("dry run: {} plans; nothing was read or written\n", p.name);
    for source in &p.sources {
        let _ = writeln!(
            s,
            "  {} ({}) → {}: {} file(s)",
            source.id,
            source.department,
            source.library,
            source.files.len()
        );
        for f in &source.files {
            let _ = writeln!(s, "      {}", f.display());
        }
    }
    s
}

/// The published runs of a ledger, with their row counts from each manifest.
pub fn history(root: &Path, entries: &[shuzhi_library::ledger::LedgerEntry]) -> String {
    if entries.is_empty() {
        return format!("no published runs in {}\n", root.display());
    }
    let mut s = format!(
        "{:>4}  {:<34} {:<22} {:>10} {:>12}\n",
        "seq", "run", "published", "kept", "quarantined"
    );
    for e in entries {
        let counts = shuzhi_library::Manifest::read(&root.join("_runs").join(&e.run_id))
            .map(|m| {
                (
                    m.sources.values().map(|c| c.kept).sum::<u64>(),
                    m.sources.values().map(|c| c.quarantined).sum::<u64>(),
                )
            })
            .map_or(("?".to_owned(), "?".to_owned()), |(k, q)| {
                (k.to_string(), q.to_string())
            });
        let _ = writeln!(
            s,
            "{:>4}  {:<34} {:<22} {:>10} {:>12}",
            e.seq, e.run_id, e.published_at, counts.0, counts.1
        );
    }
    s
}

/// What `shuzhi sample` wrote.
pub fn sample_summary(summary: &shuzhi_sample::Summary, out: &Path, took: Duration) -> String {
    let mut s = String::new();
    let rows: usize = summary.tables.iter().map(|t| t.rows).sum();
    let bytes: u64 = summary.tables.iter().map(|t| t.bytes).sum();
    let _ = writeln!(
        s,
        "wrote {} tables, {rows} rows, {:.1} MB to {} in {:.1} s",
        summary.tables.len(),
        bytes as f64 / 1e6,
        out.display(),
        took.as_secs_f64()
    );
    for t in &summary.tables {
        let _ = writeln!(s, "  {:<52} {:>10} rows", t.path, t.rows);
    }
    let _ = writeln!(
        s,
        "truth: {}/truth/ ({} planted findings incl. decoys, {} disagreements; see README.md there)",
        out.display(),
        summary.findings,
        summary.disagreements
    );
    s
}

/// Prints query results.
pub fn print_batches(
    batches: &[RecordBatch],
    format: Format,
) -> Result<(), arrow::error::ArrowError> {
    let mut out = PipeWatch::new(std::io::stdout().lock());
    let written = write_batches(batches, format, &mut out);
    match written {
        // A reader that stopped early (`shuzhi query ... | head`) ends the output quietly.
        Err(_) if out.broken => Ok(()),
        other => other,
    }
}

fn write_batches(
    batches: &[RecordBatch],
    format: Format,
    mut out: impl std::io::Write,
) -> Result<(), arrow::error::ArrowError> {
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{table}")?;
        }
        Format::Csv => write_csv(batches, out)?,
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(out);
            w.write_batches(&batches.iter().collect::<Vec<_>>())?;
            w.finish()?;
        }
    }
    Ok(())
}

/// A writer that remembers whether its reader went away (a broken pipe): writers above it
/// may wrap the error so that its kind is lost.
struct PipeWatch<W> {
    inner: W,
    broken: bool,
}

impl<W> PipeWatch<W> {
    fn new(inner: W) -> Self {
        PipeWatch {
            inner,
            broken: false,
        }
    }

    fn watch<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.broken |= e.kind() == std::io::ErrorKind::BrokenPipe;
        }
        result
    }
}

impl<W: std::io::Write> std::io::Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.watch(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.watch(result)
    }
}

/// Writes `batches` as CSV with a header, formula-like cells defused.
pub fn write_csv(
    batches: &[RecordBatch],
    to: impl std::io::Write,
) -> Result<(), arrow::error::ArrowError> {
    let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(to);
    for b in batches {
        w.write(&defuse_formulas(b)?)?;
    }
    Ok(())
}

/// Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first and
/// not a plain number) get a leading `'` in CSV output, so a file opened in Excel or WPS shows
/// them instead of executing them (OWASP "CSV injection"). Parquet and JSON keep them verbatim.
fn defuse_formulas(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    use arrow::array::{Array, ArrayRef, AsArray, StringArray};
    use arrow::datatypes::DataType;
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| {
            if !matches!(
                c.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) {
                return Ok(c.clone());
            }
            let c = arrow::compute::cast(c, &DataType::Utf8)?;
            let text = c.as_string::<i32>();
            if !text.iter().flatten().any(is_formula_like) {
                return Ok(c.clone());
            }
            let defused: StringArray = text
                .iter()
                .map(|v| {
                    v.map(|v| {
                        if is_formula_like(v) {
                            format!("'{v}")
                        } else {
                            v.to_owned()
                        }
                    })
                })
                .collect();
            Ok(std::sync::Arc::new(defused) as ArrayRef)
        })
        .collect::<Result<_, arrow::error::ArrowError>>()?;
    RecordBatch::try_from_iter(
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .zip(columns),
    )
}

fn is_formula_like(v: &str) -> bool {
    v.starts_with(['=', '+', '-', '@', '\t', '\r']) && v.trim().parse::<f64>().is_err()
}

#[cfg(test)]
mod tests {
    use super::{column_changes, is_formula_like};
    use shuzhi_library::manifest::InputFile;

    fn input(path: &str, id_column: &str, missing: &[&str]) -> InputFile {
        InputFile {
            source: "ps".into(),
            path: path.into(),
            sha256: String::new(),
            bytes: 0,
            format: "csv".into(),
            encoding: None,
            encoding_detected: false,
            sheets: Vec::new(),
            rows: 1,
            ingest_errors: 0,
            columns: [("id_number".to_owned(), id_column.to_owned())].into(),
            unused_columns: Vec::new(),
            missing_fields: missing.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn renamed_and_missing_columns_between_deliveries() {
        let same = [
            input("d/a.csv", "身份证号", &[]),
            input("d/b.csv", "身份证号", &[]),
        ];
        assert!(column_changes(&same).is_empty());
        let changed = [
            input("d/a.csv", "身份证号", &[]),
            input("d/b.csv", "公民身份号码", &["phone"]),
        ];
        assert_eq!(
            column_changes(&changed),
            vec![
                "ps: b.csv lacks phone (read as null)",
                "ps: id_number renamed: 身份证号 in a.csv, 公民身份号码 in b.csv",
            ]
        );
    }

    #[test]
    fn formula_triggers_but_not_numbers() {
        for v in ["=cmd|' /C calc'!A0", "+SUM(1)", "@x", "-2+3", "\t=1"] {
            assert!(is_formula_like(v), "{v}");
        }
        for v in ["-5", "+86", "张三", "a=b", ""] {
            assert!(!is_formula_like(v), "{v}");
        }
    }
}
