//! The tables a pipeline writes and the named failpoints a run passes.

use shuzhi_rules::Pipeline;

/// Every table a pipeline writes: query name and directory relative to the output root, in the
/// order a run commits them.
pub fn output_tables(pipeline: &Pipeline) -> Vec<(String, String)> {
    let mut tables = Vec::new();
    for l in &pipeline.libraries {
        if pipeline.sources_of(&l.name).next().is_some() {
            tables.push((l.name.clone(), l.name.clone()));
            tables.push((
                format!("quarantine_{}", l.name),
                format!("_quarantine/{}", l.name),
            ));
        }
    }
    tables.push(("verdicts".into(), "_verdicts".into()));
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
