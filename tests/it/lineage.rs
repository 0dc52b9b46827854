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

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect()
}

/// A stop request (what SIGTERM / SIGINT send) ends the run as failed: nothing published, a
/// FAIL event, the lock released. A run killed before it could write its end (kill -9) is
/// closed with an ABORT event by the next run's recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_fails_cleanly_and_a_killed_one_is_aborted_by_recovery() {
    let out = temp_dir("lineage-stop");
    let pipeline = shuzhi_rules::load_pipeline(&repo().join("tests/handworked/pipeline.toml"))
        .expect("sample pipeline loads");
    let (_tx, stop) = tokio::sync::watch::channel(Some("SIGTERM"));
    let mut options = shuzhi_job::RunOptions::new("stopped");
    options.stop = Some(stop);
    let stopped = shuzhi_job::run_pipeline(&pipeline, &out, &options)
        .await
        .expect_err("stopped");
    assert!(
        matches!(
            stopped,
            shuzhi_job::JobError::Interrupted { signal: "SIGTERM" }
        ),
        "{stopped}"
    );
    assert!(!out.join("_published.json").exists());
    assert!(!out.join("_lock.json").exists(), "the lock is released");
    let ended = events(&out, "stopped");
    assert_eq!(kinds(&ended), vec!["START", "FAIL"]);

    // As if it had been killed before its FAIL event: the next run closes it with ABORT.
    let lineage = out.join("_runs/stopped/openlineage.jsonl");
    let start = serde_json::to_string(&ended[0]).expect("event");
    std::fs::write(&lineage, format!("{start}\n")).expect("truncated");
    shuzhi_job::run_pipeline(&pipeline, &out, &shuzhi_job::RunOptions::new("next"))
        .await
        .expect("next run");
    let closed = events(&out, "stopped");
    assert_eq!(kinds(&closed), vec!["START", "ABORT"]);
    check_event(&closed[1]);
    assert_eq!(kinds(&events(&out, "next")), vec!["START", "COMPLETE"]);
}

/// `kill -TERM` during `shuzhi run`: exit 143, a FAIL event naming the signal, no lock left,
/// nothing published.
#[test]
fn sigterm_stops_a_run_cleanly() {
    let dir = temp_dir("sigterm");
    let out = dir.join("out");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_shuzhi"))
        .args(["run", "pipeline.toml", "--run-id", "sig", "--out"])
        .arg(&out)
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    let started = out.join("_runs/sig/openlineage.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !started.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(started.exists(), "the run started");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let done = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert!(!out.join("_lock.json").exists(), "the lock is released");
    assert!(!out.join("_published.json").exists(), "nothing published");
    let ended = events(&out, "sig");
    assert_eq!(kinds(&ended), vec!["START", "FAIL"]);
}
