//! OpenLineage run events as a file, `out/_runs/<id>/openlineage.jsonl`, so an offline DataHub
//! or OpenMetadata can ingest a run's lineage: START when the run begins (its input files),
//! COMPLETE after publishing (inputs with row counts, outputs with schema, column lineage and
//! row counts, failed checks in a `shuzhi_quality` run facet), FAIL with the error message.
//! Events follow the OpenLineage 2-0-2 spec (validated in `tests/it/lineage.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shuzhi_library::Manifest;
use shuzhi_rules::Pipeline;

/// File name inside `_runs/<id>/`.
pub const LINEAGE_FILE: &str = "openlineage.jsonl";
const PRODUCER: &str = concat!("https://example.invalid/shuzhi/", env!("CARGO_PKG_VERSION"));
const EVENT_SCHEMA: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const FACETS: &str = "https://openlineage.io/spec/facets";

/// The event writer of one run.
pub struct Lineage {
    path: PathBuf,
    run_uuid: String,
    job: Value,
}

/// A stable UUID (name-based, SHA-256) for a run id: the same run always has the same runId.
pub fn run_uuid(run_id: &str) -> String {
    let h = Sha256::digest(run_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8: custom, name-based (RFC 9562)
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn facet(schema: &str) -> Value {
    json!({ "_producer": PRODUCER, "_schemaURL": schema })
}

fn merged(mut base: Value, fields: Value) -> Value {
    if let (Some(b), Value::Object(f)) = (base.as_object_mut(), fields) {
        b.extend(f);
    }
    base
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn file_dataset(path: &str) -> Value {
    json!({ "namespace": "file", "name": path })
}

impl Lineage {
    /// The events of run `run_id` of `pipeline`, written under `root`.
    pub fn of(root: &Path, run_id: &str, pipeline: &Pipeline) -> Lineage {
        Lineage {
            path: root.join("_runs").join(run_id).join(LINEAGE_FILE),
            run_uuid: run_uuid(run_id),
            job: json!({ "namespace": "shuzhi", "name": pipeline.name }),
        }
    }

    /// Writes the START event of `run_id` with the pipeline's input files.
    pub fn start(root: &Path, run_id: &str, pipeline: &Pipeline) -> std::io::Result<Lineage> {
        let lineage = Lineage::of(root, run_id, pipeline);
        let inputs: Vec<Value> = pipeline
            .sources
            .iter()
            .flat_map(|s| s.files.iter())
            .map(|f| file_dataset(&f.display().to_string()))
            .collect();
        lineage.emit("START", json!({}), inputs, Vec::new())?;
        Ok(lineage)
    }

    /// Writes the COMPLETE event of a published run.
    pub fn complete(
        &self,
        root: &Path,
        pipeline: &Pipeline,
        manifest: &Manifest,
        tables: &BTreeMap<String, (String, SchemaRef)>,
    ) -> std::io::Result<()> {
        let inputs: Vec<Value> = manifest
            .inputs
            .iter()
            .map(|i| {
                let metrics = merged(
                    facet(&format!("{FACETS}/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet")),
                    json!({ "rowCount": i.rows, "bytes": i.bytes, "fileCount": 1, "columnMetrics": {} }),
                );
                merged(
                    file_dataset(&i.path),
                    json!({ "inputFacets": { "dataQualityMetrics": metrics } }),
                )
            })
            .collect();
        let namespace = format!(
            "file://{}",
            std::fs::canonicalize(root)
                .unwrap_or_else(|_| root.to_path_buf())
                .display()
        );
        let verdict_rows: u64 = manifest.rule_failures.values().sum();
        let outputs: Vec<Value> = tables
            .iter()
            .map(|(name, (path, schema))| {
                let fields: Vec<Value> = schema
                    .fields()
                    .iter()
                    .map(|f| json!({ "name": f.name(), "type": f.data_type().to_string() }))
                    .collect();
                let mut facets = json!({
                    "schema": merged(
                        facet(&format!("{FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet")),
                        json!({ "fields": fields }),
                    ),
                });
                let lineage = column_lineage(pipeline, manifest, name);
                if !lineage.is_empty() {
                    facets["columnLineage"] = merged(
                        facet(&format!("{FACETS}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet")),
                        json!({ "fields": lineage }),
                    );
                }
                let rows = output_rows(pipeline, manifest, name, verdict_rows);
                json!({
                    "namespace": namespace,
                    "name": path,
                    "facets": facets,
                    "outputFacets": {
                        "outputStatistics": merged(
                            facet(&format!("{FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet")),
                            json!({ "rowCount": rows }),
                        ),
                    },
                })
            })
            .collect();
        let quality = merged(
            facet("https://example.invalid/shuzhi/docs/lineage.md#shuzhi_quality"),
            json!({
                "rule_failures": manifest.rule_failures,
                "sources": manifest.sources,
                "breaches": manifest.breaches,
                "rule_fingerprint": manifest.rule_fingerprint,
            }),
        );
        self.emit(
            "COMPLETE",
            json!({ "shuzhi_quality": quality }),
            inputs,
            outputs,
        )
    }

    /// Writes the FAIL event with the error message.
    pub fn fail(&self, message: &str) -> std::io::Result<()> {
        self.end("FAIL", message)
    }

    /// Writes the ABORT event of a run that was killed before it could end itself (found by
    /// the recovery of a later run), unless the run has ended already (COMPLETE, FAIL, ABORT).
    pub fn abort_if_open(&self, message: &str) -> std::io::Result<()> {
        let events = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let ended = events.lines().any(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|event| {
                matches!(
                    event["eventType"].as_str(),
                    Some("COMPLETE" | "FAIL" | "ABORT")
                )
            })
        });
        match ended {
            true => Ok(()),
            false => self.end("ABORT", message),
        }
    }

    fn end(&self, event_type: &str, message: &str) -> std::io::Result<()> {
        let error = merged(
            facet(&format!(
                "{FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
            )),
            json!({ "message": message, "programmingLanguage": "Rust" }),
        );
        self.emit(
            event_type,
            json!({ "errorMessage": error }),
            Vec::new(),
            Vec::new(),
        )
    }

    fn emit(
        &self,
        event_type: &str,
        run_facets: Value,
        inputs: Vec<Value>,
        outputs: Vec<Value>,
    ) -> std::io::Result<()> {
        let event = json!({
            "eventType": event_type,
            "eventTime": now(),
            "producer": PRODUCER,
            "schemaURL": EVENT_SCHEMA,
            "run": { "runId": self.run_uuid, "facets": run_facets },
            "job": self.job,
            "inputs": inputs,
            "outputs": outputs,
        });
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        writeln!(f, "{event}")?;
        f.sync_all()
    }
}

/// Library field ← the delivered columns it was read from, for a library table.
fn column_lineage(
    pipeline: &Pipeline,
    manifest: &Manifest,
    table: &str,
) -> BTreeMap<String, Value> {
    let mut fields: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for input in &manifest.inputs {
        let feeds_table = pipeline
            .sources
            .iter()
            .any(|s| s.id == input.source && s.library == table);
        if !feeds_table {
            continue;
        }
        for (field, column) in &input.columns {
            fields.entry(field.clone()).or_default().push(json!({
                "namespace": "file",
                "name": input.path,
                "field": column,
            }));
        }
    }
    fields
        .into_iter()
        .map(|(f, inputs)| (f, json!({ "inputFields": inputs })))
        .collect()
}

/// Rows written to an output table, from the run's counts.
fn output_rows(pipeline: &Pipeline, manifest: &Manifest, table: &str, verdict_rows: u64) -> u64 {
    if table == "verdicts" {
        return verdict_rows;
    }
    let (library, quarantine) = match table.strip_prefix("quarantine_") {
        Some(l) => (l, true),
        None => (table, false),
    };
    pipeline
        .sources_of(library)
        .filter_map(|s| manifest.sources.get(&s.id))
        .map(|c| if quarantine { c.quarantined } else { c.kept })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::run_uuid;

    #[test]
    fn run_uuids_are_stable_and_well_formed() {
        let a = run_uuid("20261202T040150Z-1f8061b3");
        assert_eq!(a, run_uuid("20261202T040150Z-1f8061b3"));
        assert_ne!(a, run_uuid("other"));
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert_eq!(&a[14..15], "8");
    }
}
