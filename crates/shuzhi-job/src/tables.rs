//! The tables a pipeline writes and the named failpoints a run passes.

use shuzhi_engine::plan::golden::GoldenTable;
use shuzhi_rules::{LibraryRules, Pipeline};

/// Every table a pipeline writes: query name and directory relative to the output root, in the
/// order a run commits them (the governed tables, those built from golden sources, topics).
pub fn output_tables(pipeline: &Pipeline) -> Vec<(String, String)> {
    let mut tables = governed_tables(pipeline);
    tables.extend(golden_tables(pipeline));
    tables.extend(topic_tables(pipeline));
    tables
}

/// The topic tables, in the order the topic stage builds them: query name and directory.
fn topic_tables(pipeline: &Pipeline) -> Vec<(String, String)> {
    pipeline
        .topics
        .iter()
        .map(|t| (t.name.clone(), topic_dir(&t.name)))
        .collect()
}

/// The directory of topic `name`'s table under the output root.
pub(crate) fn topic_dir(name: &str) -> String {
    format!("_topics/{name}")
}

/// The libraries that have sources.
fn fed_libraries(pipeline: &Pipeline) -> impl Iterator<Item = &LibraryRules> {
    pipeline
        .libraries
        .iter()
        .filter(|l| pipeline.sources_of(&l.name).next().is_some())
}

/// The tables the govern stage writes: each library (a golden library's source layer), its
/// quarantine, the verdicts.
pub fn governed_tables(pipeline: &Pipeline) -> Vec<(String, String)> {
    let mut tables = Vec::new();
    for l in fed_libraries(pipeline) {
        tables.push(match l.golden {
            true => (
                GoldenTable::Source.query_name(&l.name),
                GoldenTable::Source.dir(&l.name),
            ),
            false => (l.name.clone(), l.name.clone()),
        });
        tables.push((
            format!("quarantine_{}", l.name),
            format!("_quarantine/{}", l.name),
        ));
    }
    tables.push(("verdicts".into(), "_verdicts".into()));
    tables
}

/// The tables the golden stage builds from the committed source layers: each golden library's
/// golden records, links, attribute sources and conflicts.
pub fn golden_tables(pipeline: &Pipeline) -> Vec<(String, String)> {
    let mut tables = Vec::new();
    for l in fed_libraries(pipeline).filter(|l| l.golden) {
        tables.push((l.name.clone(), l.name.clone()));
        for t in GoldenTable::ALL
            .into_iter()
            .filter(|t| *t != GoldenTable::Source)
        {
            tables.push((t.query_name(&l.name), t.dir(&l.name)));
        }
    }
    tables
}

/// The named failpoints of a run of `pipeline`, in the order a run passes them (see
/// `shuzhi_library::failpoint`): after the outputs are written, after each table's commit,
/// after the manifest, after the pointer is published (before the ledger entry).
pub fn failpoints(pipeline: &Pipeline) -> Vec<String> {
    let mut points = vec!["after_govern".to_owned()];
    points.extend(
        output_tables(pipeline)
            .into_iter()
            .map(|(name, _)| format!("after_commit:{name}")),
    );
    points.push("after_manifest".into());
    points.push("after_publish".into());
    points
}
