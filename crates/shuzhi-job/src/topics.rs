//! The topic stage: after the golden stage, each topic's SQL runs over the versions of the
//! tables this run is about to publish, in the order the pipeline lists them (a topic may read
//! an earlier one). Its rows carry the topic and its file's fingerprint; its key must be
//! unique (else the run fails before publishing). A topic whose file and inputs did not change
//! since the published run keeps its published table.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use shuzhi_engine::topic::{KeyGuard, plan_topic, topic_session, with_topic_columns};
use shuzhi_library::layout::run_dir;
use shuzhi_library::{Change, Manifest, Published, PublishedTable, WriteOptions};
use shuzhi_report::TopicCounts;
use shuzhi_rules::{Pipeline, Topic};

use crate::JobError;
use crate::stages::Committed;
use crate::table_writer::TableWriter;
use crate::tables::topic_dir;

/// A key for messages: each part keeps its first and last two characters.
fn masked_key(key: &str) -> String {
    key.split('|')
        .map(|part| {
            let chars: Vec<char> = part.chars().collect();
            match chars.len() {
                0..=4 => "*".repeat(chars.len()),
                n => format!(
                    "{}{}{}",
                    chars[..2].iter().collect::<String>(),
                    "*".repeat(n - 4),
                    chars[n - 2..].iter().collect::<String>()
                ),
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Adds each row's decision to `decisions`.
fn count_decisions(
    column: &arrow::array::ArrayRef,
    decisions: &mut BTreeMap<String, u64>,
) -> Result<(), JobError> {
    let text =
        arrow::compute::cast(column, &DataType::Utf8).map_err(|e| JobError::Engine(e.into()))?;
    for value in text.as_string::<i32>().iter() {
        *decisions
            .entry(value.unwrap_or("(null)").to_owned())
            .or_default() += 1;
    }
    Ok(())
}

/// Runs one topic over `inputs` (committed) and commits its table.
async fn compute(
    ctx: &SessionContext,
    root: &Path,
    topic: &Topic,
    write: &WriteOptions,
    committed: &mut Committed,
) -> Result<TopicCounts, JobError> {
    let session = topic_session(ctx);
    let mut inputs = BTreeMap::new();
    for (name, _) in &topic.reads {
        let table = committed.tables.get(name).ok_or_else(|| {
            JobError::Internal(format!(
                "topic `{}` reads `{name}`, which this run does not publish",
                topic.name
            ))
        })?;
        inputs.insert(name.clone(), table.version);
        let provider = shuzhi_library::table_at(&session, root, name, table).await?;
        session.register_table(name.as_str(), provider)?;
    }
    let frame = with_topic_columns(plan_topic(&session, topic).await?, topic)?;
    let plan = frame.create_physical_plan().await?;
    let schema = plan.schema();
    let mut writer = TableWriter::new(
        (topic.name.clone(), topic_dir(&topic.name), None),
        &schema,
        root,
        0,
        write,
    );
    let mut guard = KeyGuard::new(topic, &schema)?;
    let decision = schema
        .index_of(&topic.decision)
        .map_err(|e| JobError::Engine(e.into()))?;
    let mut decisions = BTreeMap::new();
    let mut stream = datafusion::physical_plan::execute_stream(plan.clone(), session.task_ctx())?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if let Some(key) = guard.add(&batch)? {
            return Err(JobError::TopicKey {
                topic: topic.name.clone(),
                key: masked_key(&key),
            });
        }
        count_decisions(batch.column(decision), &mut decisions)?;
        writer.write(&batch)?;
    }
    let written = writer.finish()?;
    let rows = written.rows;
    written.commit(root, Change::Replace, committed).await?;
    Ok(TopicCounts {
        rows,
        decisions,
        fingerprint: topic.fingerprint.clone(),
        inputs,
        computed: true,
        spilled_bytes: shuzhi_engine::execute::spilled_bytes(plan.as_ref()),
    })
}

/// The published table and counts of `topic` when neither its file nor any table it reads
/// changed since `previous` was published.
fn unchanged(
    topic: &Topic,
    committed: &Committed,
    previous: Option<(&Published, &Manifest)>,
) -> Option<(PublishedTable, TopicCounts)> {
    let (published, manifest) = previous?;
    let table = published.tables.get(&topic.name)?;
    let counts = manifest.topics.get(&topic.name)?;
    let same_inputs = topic.reads.len() == counts.inputs.len()
        && topic.reads.iter().all(|(name, _)| {
            committed.tables.get(name).map(|t| t.version) == counts.inputs.get(name).copied()
        });
    (counts.fingerprint == topic.fingerprint && same_inputs).then(|| {
        let kept = TopicCounts {
            computed: false,
            spilled_bytes: 0,
            ..counts.clone()
        };
        (table.clone(), kept)
    })
}

/// Builds (or keeps) every topic of `pipeline`, in order, committing each table.
pub(crate) async fn build(
    ctx: &SessionContext,
    root: &Path,
    pipeline: &Pipeline,
    write: &WriteOptions,
    previous: Option<&Published>,
    committed: &mut Committed,
) -> Result<BTreeMap<String, TopicCounts>, JobError> {
    let manifest = previous.and_then(|p| Manifest::read(&run_dir(root, &p.run_id)).ok());
    let before = previous.zip(manifest.as_ref());
    let mut out = BTreeMap::new();
    for topic in &pipeline.topics {
        let counts = match unchanged(topic, committed, before) {
            Some((table, counts)) => {
                committed.tables.insert(topic.name.clone(), table);
                counts
            }
            None => compute(ctx, root, topic, write, committed).await?,
        };
        tracing::info!(
            topic = %topic.name,
            rows = counts.rows,
            computed = counts.computed,
            "topic built"
        );
        out.insert(topic.name.clone(), counts);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_messages_are_masked() {
        assert_eq!(
            masked_key("11010519491231002X|pension"),
            "11**************2X|pe***on"
        );
        assert_eq!(masked_key("abc"), "***");
    }
}
