//! Delivery guards: a delivery that looks like a mistake holds the run back (exit 1, nothing
//! published) instead of publishing quietly. A source whose key column is in none of its
//! files' headers (a typo in the mapping) would publish every row as a reject; a mapped column
//! that a header has twice would be read from the first without a word; a full delivery
//! with no rows (a header-only export) or far fewer rows than the one it replaces would retire
//! most of the library. `--accept-delivery SOURCE` publishes such a delivery anyway.

use std::path::Path;

use shuzhi_library::{Manifest, Published, layout::run_dir};
use shuzhi_rules::{Delivery, Pipeline};

use crate::stages::{Governed, Scope};

/// The largest share of rows a full delivery may lose against the one it replaces.
pub const MAX_DROP: f64 = 0.2;

/// Rows of the full batch of `source` that the previous publish holds (the snapshot a new full
/// delivery replaces), from the manifest of the run that delivered it.
fn rows_before(root: &Path, previous: &Published, source: &str) -> Option<u64> {
    let batch = previous
        .batches
        .iter()
        .find(|b| b.source == source && b.delivery == "full")?;
    let manifest = Manifest::read(&run_dir(root, &batch.run_id)).ok()?;
    manifest
        .sources
        .get(source)
        .map(|c| c.read)
        .filter(|r| *r > 0)
}

/// The guards' findings for this run's deliveries, except the `accepted` sources'.
pub(crate) fn findings(
    pipeline: &Pipeline,
    root: &Path,
    run_id: &str,
    scope: &Scope,
    governed: &Governed,
    accepted: &[String],
) -> Vec<String> {
    let mut found = Vec::new();
    for source in pipeline
        .sources
        .iter()
        .filter(|s| !accepted.contains(&s.id))
    {
        let Some(library) = pipeline.libraries.iter().find(|l| l.name == source.library) else {
            continue;
        };
        let reports = governed.reports.iter().filter(|r| r.source == source.id);
        for r in reports.clone() {
            // Header names that collide after normalising (width, spaces) are renamed `__2`:
            // a mapped one is ambiguous, and which column was meant cannot be told.
            for (field, column) in &r.matched {
                if r.summary.header.contains(&format!("{column}__2")) {
                    found.push(format!(
                        "source `{}`: {} has the column `{column}` more than once (after normalising width and spaces), and `{field}` is read from it",
                        source.id,
                        r.summary.path.display(),
                    ));
                }
            }
            if r.missing_fields.contains(&library.key) {
                let names = source
                    .columns
                    .iter()
                    .find(|(field, _)| *field == library.key)
                    .map_or_else(|| "no column".to_owned(), |(_, names)| names.join(" / "));
                found.push(format!(
                    "source `{}`: {} has no column for the key `{}` (mapped to {names}); its header is: {}",
                    source.id,
                    r.summary.path.display(),
                    library.key,
                    r.summary.header.join(", ")
                ));
            }
        }
        let delivered_now = scope
            .deliveries
            .registry
            .iter()
            .any(|b| b.source == source.id && b.run_id == run_id);
        if !delivered_now || source.delivery != Delivery::Full {
            continue;
        }
        let rows: u64 = reports.map(|r| r.summary.rows).sum();
        if rows == 0 {
            found.push(format!(
                "source `{}`: the full delivery has no rows and would retire all of the source's rows",
                source.id
            ));
            continue;
        }
        let before = scope
            .previous
            .as_ref()
            .and_then(|p| rows_before(root, p, &source.id));
        if let Some(before) = before {
            let drop = 1.0 - rows as f64 / before as f64;
            if drop > MAX_DROP {
                found.push(format!(
                    "source `{}`: the full delivery has {rows} rows, {:.0} % fewer than the {before} it replaces (at most {:.0} %)",
                    source.id,
                    drop * 100.0,
                    MAX_DROP * 100.0
                ));
            }
        }
    }
    found
}
