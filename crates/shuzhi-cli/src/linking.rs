//! `shuzhi evaluate-match`: link records with a `[match]` spec and score the clusters against
//! the truth — generated departments by default, or any CSV with a truth column (Febrl4).

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use shuzhi_match::{
    Evaluation, Explanation, Linked, Linker, MatchError, MatchSpec, Model, evaluate,
};

use crate::{Failure, exit};

/// `evaluate-match`'s arguments.
#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// Rule file holding the `[match]` section.
    #[arg(long, default_value = "rules/match/person.toml")]
    spec: PathBuf,
    /// Persons in the generated city; each is delivered by up to four departments, with
    /// missing and mistyped IDs, homophone names, twins and shared households.
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    /// Seed of the generated city.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Link this CSV file (UTF-8, header row, every column read as text) instead of
    /// generated records.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Column holding each record's true entity.
    #[arg(long, default_value = "entity")]
    truth: String,
    /// Explain the score of a pair of records, given as two 0-based row numbers `I,J`.
    /// Repeat for several pairs.
    #[arg(long, value_name = "I,J")]
    explain: Vec<String>,
    /// Print the whole result (model, scores, timings) as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the linked records (with their truth) to this CSV file, e.g. to link the
    /// same records with another tool.
    #[arg(long, value_name = "FILE")]
    save_input: Option<PathBuf>,
    /// Write the pairs at or above the review probability to this CSV file, strongest first:
    /// `left`, `right` (row numbers), `decision` (`match`, or `review` for the grey zone
    /// between the two thresholds), `weight`, `probability`, and each compared field's level.
    #[arg(long, value_name = "FILE")]
    save_pairs: Option<PathBuf>,
    /// Write the records with the cluster each was linked to (`cluster`: the row number of
    /// the cluster's first record) to this CSV file.
    #[arg(long, value_name = "FILE")]
    save_clusters: Option<PathBuf>,
}

#[derive(Deserialize)]
struct RuleFile {
    #[serde(rename = "match")]
    spec: MatchSpec,
}

/// What an evaluation prints with `--json`.
#[derive(Serialize)]
struct Report<'a> {
    records: usize,
    entities: usize,
    model: &'a Model,
    evaluation: Evaluation,
    /// Share of true pairs that some blocking rule compares: the recall ceiling.
    blocking_recall: f64,
    matches: usize,
    review: usize,
    vetoed: u64,
    refused: &'a shuzhi_match::Refusals,
    skipped_blocks: &'a [shuzhi_match::SkippedBlock],
    seconds: Timings,
    explanations: Vec<(usize, usize, Explanation)>,
}

#[derive(Serialize)]
struct Timings {
    input: f64,
    prepare: f64,
    train: f64,
    link: f64,
}

/// Runs `shuzhi evaluate-match`.
pub fn evaluate_match(args: &EvaluateArgs) -> Result<(), Failure> {
    let spec = read_spec(&args.spec)?;
    let started = Instant::now();
    let batch = match &args.input {
        Some(path) => read_csv(path)?,
        None => shuzhi_sample::matching::MatchSet::generate(args.persons, args.seed).to_batch(),
    };
    let truth_column = batch.column_by_name(&args.truth).ok_or_else(|| {
        Failure::new(
            exit::INPUT,
            format!(
                "error: the input has no truth column `{}` (choose one with --truth)",
                args.truth
            ),
        )
    })?;
    let truth_column = truth_column.clone();
    let truth_text = arrow::compute::cast(&truth_column, &DataType::Utf8)
        .map_err(|e| Failure::new(exit::INPUT, format!("error: --truth: {e}")))?;
    let truth_text = truth_text.as_string::<i32>();
    // A record without a truth is its own entity.
    let truth: Vec<(&str, usize)> = (0..truth_text.len())
        .map(|i| {
            if truth_text.is_null(i) {
                ("", i)
            } else {
                (truth_text.value(i), usize::MAX)
            }
        })
        .collect();
    let input = started.elapsed().as_secs_f64();
    if let Some(path) = &args.save_input {
        write_csv(path, &batch)?;
    }
    let pairs = args
        .explain
        .iter()
        .map(|p| parse_pair(p))
        .collect::<Result<Vec<_>, _>>()?;

    let t = Instant::now();
    let linker = Linker::new(&spec, &batch).map_err(|e| match e {
        // The rows lack what the spec compares: name the input, not the spec.
        MatchError::Input(_) => Failure::new(
            exit::INPUT,
            format!(
                "error: {}: {e} (the spec {} compares it)",
                args.input
                    .as_deref()
                    .map_or("generated records".into(), |p| p.display().to_string()),
                args.spec.display()
            ),
        ),
        MatchError::Spec(_) => {
            Failure::new(exit::CONFIG, format!("error: {}: {e}", args.spec.display()))
        }
    })?;
    let prepare = t.elapsed().as_secs_f64();
    let records = batch.num_rows();
    // The linker holds what it compares; the rows themselves are only kept to be written.
    let batch = args.save_clusters.is_some().then_some(batch);
    let t = Instant::now();
    let model = linker.train();
    let train = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let linked = linker.link(&model);
    let link = t.elapsed().as_secs_f64();

    let evaluation = evaluate(&truth, &linked.clusters);
    if let Some(path) = &args.save_pairs {
        write_pairs(path, &spec, &linker, &linked)?;
    }
    if let (Some(path), Some(batch)) = (&args.save_clusters, &batch) {
        let clusters: arrow::array::ArrayRef =
            Arc::new(arrow::array::UInt32Array::from(linked.clusters.clone()));
        let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new("cluster", DataType::UInt32, false)));
        let mut columns = batch.columns().to_vec();
        columns.push(clusters);
        let with_clusters = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))?;
        write_csv(path, &with_clusters)?;
    }
    let explanations = pairs
        .into_iter()
        .map(|(i, j)| {
            linker
                .explain(&model, i, j)
                .map(|e| (i, j, e))
                .map_err(|e| Failure::new(exit::INPUT, format!("error: --explain: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let report = Report {
        records,
        entities: truth.iter().collect::<std::collections::HashSet<_>>().len(),
        model: &model,
        evaluation,
        blocking_recall: blocking_recall(&linker, &truth),
        matches: linked.matches.len(),
        review: linked.review.len(),
        vetoed: linked.vetoed,
        refused: &linked.refused,
        skipped_blocks: &linked.skipped_blocks,
        seconds: Timings {
            input,
            prepare,
            train,
            link,
        },
        explanations,
    };
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", summary(&report, &linked));
    }
    Ok(())
}

fn read_spec(path: &Path) -> Result<MatchSpec, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            exit::CONFIG,
            format!("error: cannot read {}: {e}", path.display()),
        )
    })?;
    let file: RuleFile = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        Failure::new(
            exit::CONFIG,
            format!("error: {}{at}: {}", path.display(), e.message()),
        )
    })?;
    file.spec
        .validate()
        .map_err(|e| Failure::new(exit::CONFIG, format!("error: {}: {e}", path.display())))?;
    Ok(file.spec)
}

/// A CSV file with every column as text.
fn read_csv(path: &Path) -> Result<RecordBatch, Failure> {
    let fail = |why: String| Failure::new(exit::INPUT, format!("error: {}: {why}", path.display()));
    // The header as the CSV reader parses it (quoting included); every column as text.
    let header_file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let (inferred, _) = arrow::csv::reader::Format::default()
        .with_header(true)
        .infer_schema(header_file, Some(0))
        .map_err(|e| fail(e.to_string()))?;
    if inferred.fields().is_empty() {
        return Err(fail("no header row".into()));
    }
    let schema = Arc::new(Schema::new(
        inferred
            .fields()
            .iter()
            .map(|f| {
                Field::new(
                    f.name().trim().trim_start_matches('\u{feff}'),
                    DataType::Utf8,
                    true,
                )
            })
            .collect::<Vec<_>>(),
    ));
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .with_batch_size(1 << 16)
        .build(file)
        .map_err(|e| fail(e.to_string()))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    arrow::compute::concat_batches(&schema, &batches).map_err(|e| fail(e.to_string()))
}

fn write_csv(path: &Path, batch: &RecordBatch) -> Result<(), Failure> {
    let fail = |why: String| Failure::new(exit::INPUT, format!("error: {}: {why}", path.display()));
    let file = File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut writer = arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(file);
    writer.write(batch).map_err(|e| fail(e.to_string()))
}

/// The matches and the review queue, one row per pair, with the level of every field.
fn write_pairs(
    path: &Path,
    spec: &MatchSpec,
    linker: &Linker,
    linked: &Linked,
) -> Result<(), Failure> {
    use arrow::array::{Float64Array, StringArray, UInt32Array};
    let pairs: Vec<(&shuzhi_match::ScoredPair, &str)> = linked
        .matches
        .iter()
        .map(|p| (p, "match"))
        .chain(linked.review.iter().map(|p| (p, "review")))
        .collect();
    let mut levels: Vec<Vec<&str>> = vec![Vec::with_capacity(pairs.len()); spec.compare.len()];
    for (p, _) in &pairs {
        let names = linker.level_names(p.left as usize, p.right as usize);
        for (column, level) in levels.iter_mut().zip(names) {
            column.push(level);
        }
    }
    let mut fields = vec![
        Field::new("left", DataType::UInt32, false),
        Field::new("right", DataType::UInt32, false),
        Field::new("decision", DataType::Utf8, false),
        Field::new("weight", DataType::Float64, false),
        Field::new("probability", DataType::Float64, false),
    ];
    let mut columns: Vec<arrow::array::ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(
            pairs.iter().map(|p| p.0.left),
        )),
        Arc::new(UInt32Array::from_iter_values(
            pairs.iter().map(|p| p.0.right),
        )),
        Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.1))),
        Arc::new(Float64Array::from_iter_values(
            pairs.iter().map(|p| p.0.weight),
        )),
        Arc::new(Float64Array::from_iter_values(
            pairs.iter().map(|p| p.0.probability),
        )),
    ];
    for (c, column) in spec.compare.iter().zip(levels) {
        fields.push(Field::new(c.column.as_str(), DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(column)));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))?;
    write_csv(path, &batch)
}

fn parse_pair(text: &str) -> Result<(usize, usize), Failure> {
    let bad = || {
        Failure::new(
            exit::CONFIG,
            format!("error: --explain `{text}`: give two row numbers, e.g. --explain 12,3456"),
        )
    };
    let (a, b) = text.split_once(',').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

/// Share of true pairs that some blocking rule puts together.
fn blocking_recall(linker: &Linker, truth: &[(&str, usize)]) -> f64 {
    let mut by_entity: std::collections::HashMap<&(&str, usize), Vec<usize>> = Default::default();
    for (i, t) in truth.iter().enumerate() {
        by_entity.entry(t).or_default().push(i);
    }
    let (mut blocked, mut total) = (0u64, 0u64);
    for rows in by_entity.values() {
        for (k, &i) in rows.iter().enumerate() {
            for &j in &rows[k + 1..] {
                total += 1;
                blocked += u64::from(linker.blocking_rule(i, j).is_some());
            }
        }
    }
    if total == 0 {
        1.0
    } else {
        blocked as f64 / total as f64
    }
}

fn summary(r: &Report<'_>, linked: &Linked) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "records {}, true entities {}, clusters {}",
        r.records,
        r.entities,
        linked
            .clusters
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
    let _ = writeln!(s, "\nblocking (candidate pairs per rule)");
    for (name, count) in r.model.rule_names.iter().zip(&r.model.candidates_per_rule) {
        let _ = writeln!(s, "  {count:>12}  {name}");
    }
    if let Some(largest) = r.skipped_blocks.first() {
        let _ = writeln!(
            s,
            "  warning: {} block(s) over max_block skipped, the largest {} records ({})",
            r.skipped_blocks.len(),
            largest.size,
            largest.rule
        );
    }
    let _ = writeln!(
        s,
        "  true pairs any rule compares: {:.4}",
        r.blocking_recall
    );
    let _ = writeln!(
        s,
        "\nmodel (prior {:.3e}; weights log2 m/u per level)",
        r.model.lambda
    );
    for f in &r.model.fields {
        let levels: Vec<String> = f
            .levels
            .iter()
            .zip(f.m.iter().zip(&f.u))
            .map(|(l, (m, u))| format!("{l} {:+.1}", (m / u).log2()))
            .collect();
        let _ = writeln!(s, "  {:<14} {}", f.column, levels.join(", "));
    }
    let e = &r.evaluation;
    let _ = writeln!(s, "\n              precision   recall       F1");
    for (name, x) in [("pairwise", &e.pairwise), ("clusters", &e.clusters)] {
        let _ = writeln!(
            s,
            "  {name:<10} {:>10.4} {:>8.4} {:>8.4}",
            x.precision, x.recall, x.f1
        );
    }
    let _ = writeln!(
        s,
        "\nmatches {}, review queue {}, vetoed {}, merges refused: {} different IDs, {} same source, {} too large",
        r.matches,
        r.review,
        r.vetoed,
        r.refused.different_ids,
        r.refused.same_source,
        r.refused.too_large
    );
    let _ = writeln!(
        s,
        "seconds: input {:.2}, prepare {:.2}, train {:.2}, link {:.2}",
        r.seconds.input, r.seconds.prepare, r.seconds.train, r.seconds.link
    );
    for (i, j, x) in &r.explanations {
        let _ = writeln!(
            s,
            "\nrows {i} and {j}: weight {:+.2}, probability {:.6}{}, blocked by {}",
            x.weight,
            x.probability,
            if x.vetoed {
                " (vetoed: two valid IDs)"
            } else {
                ""
            },
            x.blocked_by.as_deref().unwrap_or("no rule")
        );
        let _ = writeln!(s, "  {:<14} {:<14} {:+.2}", "prior", "", x.prior);
        for (column, level, weight) in &x.fields {
            let _ = writeln!(s, "  {column:<14} {level:<14} {weight:+.2}");
        }
    }
    s
}
