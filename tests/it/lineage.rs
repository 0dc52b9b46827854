//! The OpenLineage events of a run validate against the OpenLineage 2-0-2 JSON schemas
//! (vendored in `tests/it/openlineage/`, no network), facet by facet.

use std::path::Path;

use serde_json::Value;

use crate::common::{repo, run_sample, temp_dir};

fn schema_dir() -> std::path::PathBuf {
    repo().join("tests/it/openlineage")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(schema_dir().join(name)).expect("vendored schema");
    serde_json::from_str(&text).expect("schema is JSON")
}

/// Resolves the spec's `https://openlineage.io/spec/...` references to the vendored files.
struct Vendored;

impl jsonschema::Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .path()
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        std::fs::read_to_string(schema_dir().join(&name))
            .map_err(|e| format!("{uri}: {e}").into())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string().into()))
    }
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_retriever(Vendored)
        .should_validate_formats(true)
        .build(schema)
        .expect("schema compiles")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Validates one event: the core RunEvent schema, then every standard facet against its own
/// schema (facet files validate `{ "<key>": facet }`).
fn check_event(event: &Value) {
    let core = validator(&load("OpenLineage.json"));
    assert_eq!(errors(&core, event), Vec::<String>::new(), "{event:#}");
    let facet_files = [
        ("schema", "SchemaDatasetFacet.json"),
        ("columnLineage", "ColumnLineageDatasetFacet.json"),
        (
            "dataQualityMetrics",
            "DataQualityMetricsInputDatasetFacet.json",
        ),
        (
            "outputStatistics",
            "OutputStatisticsOutputDatasetFacet.json",
        ),
        ("errorMessage", "ErrorMessageRunFacet.json"),
    ];
    let mut facets: Vec<(String, Value)> = Vec::new();
    let mut collect = |map: Option<&Value>| {
        for (k, v) in map.and_then(Value::as_object).into_iter().flatten() {
            facets.push((k.clone(), v.clone()));
        }
    };
    collect(event["run"].get("facets"));
    for d in event["inputs"].as_array().into_iter().flatten() {
        collect(d.get("facets"));
        collect(d.get("inputFacets"));
    }
    for d in event["outputs"].as_array().into_iter().flatten() {
        collect(d.get("facets"));
        collect(d.get("outputFacets"));
    }
    for (key, value) in facets {
        match facet_files.iter().find(|(k, _)| *k == key) {
            Some((_, file)) => {
                let v = validator(&load(file));
                let wrapped = serde_json::json!({ key.clone(): value });
                assert_eq!(
                    errors(&v, &wrapped),
                    Vec::<String>::new(),
                    "{key}: {value:#}"
                );
            }
            // Custom facets must still carry the base facet fields.
            None => {
                assert_eq!(key, "shuzhi_quality");
                assert!(value["_producer"].is_string() && value["_schemaURL"].is_string());
            }
        }
    }
}

fn events(out: &Path, run_id: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join("_runs").join(run_id).join("openlineage.jsonl"))
        .expect("lineage file");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_events_validate_against_the_openlineage_schema() {
    let out = temp_dir("lineage");
    run_sample(&out, 8192, 2).await;
    let events = events(&out, "test-run");
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect();
    assert_eq!(kinds, vec!["START", "COMPLETE"]);
    assert_eq!(events[0]["run"]["runId"], events[1]["run"]["runId"]);
    for e in &events {
        check_event(e);
    }
    let complete = &events[1];
    let library = complete["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .find(|o| o["name"] == "population")
        .expect("population output");
    assert_eq!(library["outputFacets"]["outputStatistics"]["rowCount"], 12);
    let id_inputs = library["facets"]["columnLineage"]["fields"]["id_number"]["inputFields"]
        .as_array()
        .expect("id_number lineage");
    let columns: Vec<&str> = id_inputs
        .iter()
        .filter_map(|i| i["field"].as_str())
        .collect();
    assert_eq!(columns, vec!["公民身份号码", "身份证号"]);
    assert_eq!(
        complete["run"]["facets"]["shuzhi_quality"]["rule_failures"]["population.dedup"],
        4
    );
    // The validator is not a rubber stamp: a broken event fails it.
    let mut broken = complete.clone();
    broken["run"]["runId"] = Value::from("not-a-uuid");
    let core = validator(&load("OpenLineage.json"));
    assert!(!errors(&core, &broken).is_empty());
}

#[test]
fn a_failed_run_ends_with_a_fail_event() {
    let dir = temp_dir("lineage-fail");
    crate::common::handworked_copy(&dir, "pipeline.toml", |t| {
        t.replace("encoding = \"gb18030\"", "encoding = \"utf-8\"")
    });
    let out = dir.join("out");
    let (code, _, _) = crate::common::shuzhi(
        &["run", "pipeline.toml", "--out", "out", "--run-id", "bad"],
        &dir,
    );
    assert_eq!(code, 3);
    let events = events(&out, "bad");
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect();
    assert_eq!(kinds, vec!["START", "FAIL"]);
    check_event(&events[1]);
    let message = events[1]["run"]["facets"]["errorMessage"]["message"]
        .as_str()
        .expect("message");
    assert!(message.contains("not valid utf-8"), "{message}");
}
