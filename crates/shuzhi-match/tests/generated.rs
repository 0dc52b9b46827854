//! Linking the generated departments' person records, scored against the generator's truth.

use arrow::array::AsArray;
use serde::Deserialize;
use shuzhi_match::{Linker, MatchSpec, evaluate};
use shuzhi_sample::matching::MatchSet;

#[derive(Deserialize)]
struct RuleFile {
    #[serde(rename = "match")]
    spec: MatchSpec,
}

fn person_spec() -> MatchSpec {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/match/person.toml");
    let text = std::fs::read_to_string(path).expect("rules/match/person.toml");
    toml::from_str::<RuleFile>(&text)
        .expect("person spec parses")
        .spec
}

#[test]
fn generated_departments_link_to_their_true_persons() {
    let set = MatchSet::generate(20_000, 42);
    let batch = set.to_batch();
    let linker = Linker::new(&person_spec(), &batch).expect("linker");
    let model = linker.train();
    let linked = linker.link(&model);
    let truth: Vec<&str> = batch
        .column_by_name("entity")
        .expect("entity")
        .as_string::<i32>()
        .iter()
        .map(|e| e.unwrap_or_default())
        .collect();
    let e = evaluate(&truth, &linked.clusters);
    eprintln!(
        "{e:#?}\nrefused {:?}, vetoed {}, review {}",
        linked.refused,
        linked.vetoed,
        linked.review.len()
    );
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&model).unwrap_or_default()
    );
    assert!(e.pairwise.f1 >= 0.99, "pairwise {:?}", e.pairwise);
    assert!(e.clusters.f1 >= 0.98, "clusters {:?}", e.clusters);
}
