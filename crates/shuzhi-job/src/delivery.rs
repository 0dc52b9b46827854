//! Deliveries: which batches of which sources the libraries are made of after this run.
//!
//! Every delivered file is archived under `out/_deliveries/<source>/<batch>/` and recorded in
//! the publish pointer. A run governs all live batches together, so the tables are a function
//! of the live set: a full delivery retires the source's other batches, an increment or cdc
//! batch adds to them (replacing a batch with the same id), and a batch already published with
//! the same checksums is skipped. Later batches win over earlier ones for the same key; a cdc
//! delete that wins removes the key.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use shuzhi_library::{BatchFile, BatchRecord};
use shuzhi_rules::{Delivery, Pipeline};

use shuzhi_engine::source::LiveBatch;

use crate::JobError;

/// The outcome of matching this run's deliveries against the published ones.
#[derive(Debug, Clone, Default)]
pub struct DeliveryPlan {
    /// Batches to govern, in delivery order.
    pub live: Vec<LiveBatch>,
    /// The registry to publish.
    pub registry: Vec<BatchRecord>,
    /// What happened, one line per batch: delivered, skipped, replaced, retired.
    pub log: Vec<String>,
}

fn mode_name(d: Delivery) -> &'static str {
    match d {
        Delivery::Full => "full",
        Delivery::Increment => "increment",
        Delivery::Cdc => "cdc",
    }
}

fn mode_of(name: &str) -> Delivery {
    match name {
        "increment" => Delivery::Increment,
        "cdc" => Delivery::Cdc,
        _ => Delivery::Full,
    }
}

fn sha256_file(path: &Path) -> Result<String, JobError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| JobError::Internal(format!("cannot read {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .map_err(|e| JobError::Internal(format!("cannot read {}: {e}", path.display())))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Matches the pipeline's deliveries against the published registry, archives new batches and
/// returns the live set.
pub fn plan_deliveries(
    pipeline: &Pipeline,
    root: &Path,
    previous: &[BatchRecord],
    run_id: &str,
) -> Result<DeliveryPlan, JobError> {
    let seq = previous.iter().map(|b| b.seq).max().unwrap_or(0) + 1;
    let mut registry: Vec<BatchRecord> = Vec::new();
    let mut log = Vec::new();
    for b in previous {
        if pipeline.sources.iter().all(|s| s.id != b.source) {
            log.push(format!(
                "retired {}/{}: the source left the pipeline",
                b.source, b.batch
            ));
        } else {
            registry.push(b.clone());
        }
    }
    for source in &pipeline.sources {
        let mut files = Vec::new();
        for path in &source.files {
            files.push((path.clone(), sha256_file(path)?));
        }
        let batch = source
            .batch
            .clone()
            .unwrap_or_else(|| derived_batch_id(&files));
        let same = |r: &BatchRecord| {
            r.source == source.id
                && r.batch == batch
                && r.files
                    .iter()
                    .map(|f| &f.sha256)
                    .eq(files.iter().map(|(_, s)| s))
        };
        if registry.iter().any(same) {
            log.push(format!(
                "skipped {}/{batch}: already published with the same checksums",
                source.id
            ));
            continue;
        }
        // A full delivery retires every earlier batch of its source; others replace their id.
        let full = source.delivery == Delivery::Full;
        let before = registry.len();
        registry.retain(|r| r.source != source.id || (!full && r.batch != batch));
        if registry.len() < before {
            log.push(if full {
                format!("retired the earlier batches of {}", source.id)
            } else {
                format!("replaced batch {}/{batch}", source.id)
            });
        }
        let archived = archive(root, &source.id, &batch, &files)?;
        log.push(format!(
            "delivered {}/{batch} ({}, {} file(s))",
            source.id,
            mode_name(source.delivery),
            archived.len()
        ));
        registry.push(BatchRecord {
            source: source.id.clone(),
            batch,
            seq,
            delivery: mode_name(source.delivery).into(),
            run_id: run_id.to_owned(),
            files: archived,
        });
    }
    registry.sort_by(|a, b| (a.seq, &a.source, &a.batch).cmp(&(b.seq, &b.source, &b.batch)));
    let live = live_batches(pipeline, root, &registry);
    Ok(DeliveryPlan {
        live,
        registry,
        log,
    })
}

/// A batch id from the delivered files' names and checksums (order does not matter).
fn derived_batch_id(files: &[(PathBuf, String)]) -> String {
    let mut h = Sha256::new();
    let mut named: Vec<(String, &String)> = files
        .iter()
        .map(|(p, sha)| {
            (
                p.file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                sha,
            )
        })
        .collect();
    named.sort();
    for (name, sha) in named {
        h.update(format!("{name}\0{sha}\n").as_bytes());
    }
    format!("b{}", &format!("{:x}", h.finalize())[..15])
}

/// Archives a batch's files under `_deliveries/<source>/<batch>/` as copies: a hard link would
/// change with the delivered file when a department rewrites it in place, and a rebuild would
/// then read another batch's rows under this batch's id.
fn archive(
    root: &Path,
    source: &str,
    batch: &str,
    files: &[(PathBuf, String)],
) -> Result<Vec<BatchFile>, JobError> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        JobError::Internal(format!("cannot {what} {}: {e}", p.display()))
    };
    let dir = root.join("_deliveries").join(source).join(batch);
    std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    let mut archived = Vec::new();
    for (i, (path, sha)) in files.iter().enumerate() {
        let name = path
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        let target = dir.join(format!("{i:03}-{name}"));
        let _ = std::fs::remove_file(&target);
        std::fs::copy(path, &target).map_err(|e| io("archive", path, e))?;
        // The copy is what every later run reads: it must be the bytes that were hashed (a
        // department may be rewriting the file while it is archived).
        verify(&target, &path.display().to_string(), sha)?;
        archived.push(BatchFile {
            path: path.display().to_string(),
            archived: target
                .strip_prefix(root)
                .unwrap_or(&target)
                .display()
                .to_string(),
            sha256: sha.clone(),
        });
    }
    Ok(archived)
}

/// Fails unless the file at `path` (delivered as `label`) has the sha256 `recorded`.
fn verify(path: &Path, label: &str, recorded: &str) -> Result<(), JobError> {
    let found = sha256_file(path)?;
    match found == recorded {
        true => Ok(()),
        false => Err(JobError::ChangedDelivery {
            path: path.to_path_buf(),
            label: label.to_owned(),
            recorded: recorded.to_owned(),
            found,
        }),
    }
}

/// Checks, before they are read again, that the archived files of the batches earlier runs
/// delivered still hold the bytes recorded for them (archives are copies, but anything may
/// write to the output directory).
pub fn verify_archives(
    batches: &[LiveBatch],
    run_id: &str,
    registry: &[BatchRecord],
) -> Result<(), JobError> {
    let earlier = |b: &LiveBatch| {
        registry
            .iter()
            .any(|r| r.source == b.source.id && r.batch == b.batch && r.run_id != run_id)
    };
    for b in batches.iter().filter(|b| earlier(b)) {
        for ((path, label), sha) in b.source.files.iter().zip(&b.labels).zip(&b.sha256) {
            verify(path, label, sha)?;
        }
    }
    Ok(())
}

/// The registry's batches with their sources' current settings and archived files.
fn live_batches(pipeline: &Pipeline, root: &Path, registry: &[BatchRecord]) -> Vec<LiveBatch> {
    registry
        .iter()
        .filter_map(|r| {
            let config = pipeline.sources.iter().find(|s| s.id == r.source)?;
            let mut source = config.clone();
            source.files = r
                .files
                .iter()
                .map(|f| root.join(&f.archived))
                .collect::<Vec<PathBuf>>();
            Some(LiveBatch {
                labels: r.files.iter().map(|f| f.path.clone()).collect(),
                sha256: r.files.iter().map(|f| f.sha256.clone()).collect(),
                source,
                batch: r.batch.clone(),
                seq: r.seq,
                delivery: mode_of(&r.delivery),
            })
        })
        .collect()
}
