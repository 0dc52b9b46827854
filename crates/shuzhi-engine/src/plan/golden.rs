//! The plan of a golden library's tables (一数一源, 多源校核): its source layer with, per
//! copy of each attribute, whether it takes part (a value no warn check flagged) and whether
//! its department is the authority registry's for the batch's delivery date; hash-partitioned
//! and sorted by key (the sort spills under the memory limit), for the survivorship operator
//! ([`crate::survivorship`]) that ranks the copies and gives the golden records, attribute
//! sources, conflicts and links in one pass.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use shuzhi_rules::{Field, LibraryRules, Severity};

use crate::EngineError;
use crate::dedup::key_partitioned_sort;
use crate::provenance::{
    BATCH_COLUMN, DEPARTMENT_COLUMN, FILE_COLUMN, LINE_COLUMN, SHEET_COLUMN, SOURCE_COLUMN,
};
use crate::survivorship::{Attribute, DELIVERED_ON_INPUT, SEQ_INPUT, SurvivorshipSpec};

/// The tables a golden library keeps besides the golden records themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoldenTable {
    /// Every department's governed rows (`<library>_source`, partitioned by department).
    Source,
    /// Every source row → its entity (`<library>_link`).
    Link,
    /// Where each attribute of each golden record came from (`<library>_attributes`).
    Attributes,
    /// Copies that are not the same as the golden value (`<library>_conflicts`, partitioned by
    /// the department that must correct them).
    Conflicts,
}

impl GoldenTable {
    /// Every table, in commit order: the source layer first, the tables built from it after.
    pub const ALL: [GoldenTable; 4] = [
        GoldenTable::Source,
        GoldenTable::Link,
        GoldenTable::Attributes,
        GoldenTable::Conflicts,
    ];

    fn word(self) -> &'static str {
        match self {
            GoldenTable::Source => "source",
            GoldenTable::Link => "link",
            GoldenTable::Attributes => "attributes",
            GoldenTable::Conflicts => "conflicts",
        }
    }

    /// The query name, e.g. `population_conflicts`.
    pub fn query_name(self, library: &str) -> String {
        format!("{library}_{}", self.word())
    }

    /// The directory under the output root, e.g. `_conflicts/population`.
    pub fn dir(self, library: &str) -> String {
        match self {
            GoldenTable::Source => format!("_sources/{library}"),
            GoldenTable::Link => format!("_links/{library}"),
            GoldenTable::Attributes => format!("_attributes/{library}"),
            GoldenTable::Conflicts => format!("_conflicts/{library}"),
        }
    }

    /// The partition column, for tables partitioned by department.
    pub fn partition(self) -> Option<&'static str> {
        match self {
            GoldenTable::Source | GoldenTable::Conflicts => Some(DEPARTMENT_COLUMN),
            GoldenTable::Link | GoldenTable::Attributes => None,
        }
    }
}

/// Source-layer column holding the value a department stated for `field` before fixes (only
/// for fields a fix may change; the field holds it otherwise).
pub fn stated_column(field: &str) -> String {
    format!("{STATED_PREFIX}{field}")
}

/// Prefix of the stated-value columns.
pub const STATED_PREFIX: &str = "_stated_";

/// Name under which the plan reads the library's source layer.
pub const SOURCE_INPUT: &str = "golden_source";
/// Name under which a merging plan reads the keys it recomputes (one text column, `key`).
pub const TOUCHED_INPUT: &str = "golden_touched";

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Whether the row's own field checks flagged its value (a warn check: the value takes no
/// part). The key always takes part: it is the entity.
fn flagged(library: &LibraryRules, field: &Field) -> String {
    let ids: Vec<String> = library
        .checks()
        .filter(|c| c.field == field.name && c.field != library.key)
        .filter(|c| c.severity == Severity::Warn)
        .map(|c| {
            format!(
                "strpos('; ' || COALESCE(s._flags, '') || '; ', {}) > 0",
                text(&format!("; {}; ", c.id))
            )
        })
        .collect();
    match ids.is_empty() {
        true => "false".into(),
        false => ids.join(" OR "),
    }
}

/// Whether the row's department is the field's authority for the batch's delivery date.
fn authority(field: &Field) -> String {
    let entries: Vec<String> = field
        .authority
        .iter()
        .map(|a| {
            let mut terms = vec![format!("s._department = {}", text(&a.department))];
            if let Some(from) = &a.from {
                terms.push(format!("s._delivered_on >= DATE {}", text(from)));
            }
            if let Some(until) = &a.until {
                terms.push(format!("s._delivered_on <= DATE {}", text(until)));
            }
            format!("({})", terms.join(" AND "))
        })
        .collect();
    match entries.is_empty() {
        true => "false".into(),
        false => format!("COALESCE({}, false)", entries.join(" OR ")),
    }
}

/// A live batch: its delivery order and date.
#[derive(Debug, Clone)]
pub struct BatchDelivery {
    /// Batch id (`_batch`).
    pub batch: String,
    /// Delivery order: a later batch is a more recent delivery.
    pub seq: i64,
    /// Delivery date (`YYYY-MM-DD`), when known.
    pub delivered_on: Option<String>,
}

/// `CASE s._batch WHEN ... END` giving each batch's `value` (live batches are few).
fn per_batch(
    batches: &[BatchDelivery],
    value: impl Fn(&BatchDelivery) -> Option<String>,
) -> String {
    let arms = batches
        .iter()
        .filter_map(|b| Some((b.batch.as_str(), value(b)?)));
    case_of("s._batch", arms, "NULL")
}

/// `CASE subject WHEN 'label' THEN expr ... ELSE otherwise END` over `arms` (just `otherwise`
/// when there are none).
fn case_of<'a>(
    subject: &str,
    arms: impl Iterator<Item = (&'a str, String)>,
    otherwise: &str,
) -> String {
    let arms: Vec<String> = arms
        .map(|(label, then)| format!("WHEN {} THEN {then}", text(label)))
        .collect();
    match arms.is_empty() {
        true => otherwise.to_owned(),
        false => format!("CASE {subject} {} ELSE {otherwise} END", arms.join(" ")),
    }
}

/// Column of the input telling whether copy `i` of an attribute takes part.
fn candidate_column(i: usize) -> String {
    format!("_candidate_{i}")
}

/// Column of the input telling whether copy `i`'s department is the attribute's authority.
fn authority_column(i: usize) -> String {
    format!("_authority_{i}")
}

/// The operator's input: the source layer's fields, stated values and provenance, each
/// batch's delivery order and date, and per attribute whether the copy takes part and whether
/// its department is the authority on its delivery date; with `touched_only`, of the keys in
/// [`TOUCHED_INPUT`] only.
fn survivorship_input(
    library: &LibraryRules,
    source: &Schema,
    batches: &[BatchDelivery],
    touched_only: bool,
) -> String {
    let key = quoted(&library.key);
    let seq = format!(
        "CAST({} AS BIGINT)",
        per_batch(batches, |b| Some(b.seq.to_string()))
    );
    let delivered_on = format!(
        "CAST({} AS DATE)",
        per_batch(batches, |b| b.delivered_on.as_deref().map(text))
    );
    let mut columns: Vec<String> = library
        .fields
        .iter()
        .map(|f| format!("s.{}", quoted(&f.name)))
        .collect();
    columns.extend(
        library
            .fields
            .iter()
            .map(|f| stated_column(&f.name))
            .filter(|stated| source.field_with_name(stated).is_ok())
            .map(|stated| format!("s.{}", quoted(&stated))),
    );
    columns.extend(
        [
            DEPARTMENT_COLUMN,
            SOURCE_COLUMN,
            BATCH_COLUMN,
            FILE_COLUMN,
            SHEET_COLUMN,
            LINE_COLUMN,
            SEQ_INPUT,
            DELIVERED_ON_INPUT,
        ]
        .map(|c| format!("s.{c}")),
    );
    for (i, f) in library.fields.iter().enumerate() {
        columns.push(format!(
            "(s.{key} IS NOT NULL AND s.{} IS NOT NULL AND NOT ({})) AS {}",
            quoted(&f.name),
            flagged(library, f),
            candidate_column(i)
        ));
        columns.push(format!("{} AS {}", authority(f), authority_column(i)));
    }
    let only = match touched_only {
        true => format!(" WHERE s.{key} IN (SELECT key FROM {TOUCHED_INPUT})"),
        false => String::new(),
    };
    format!(
        "WITH batched AS (SELECT s.*, {seq} AS {SEQ_INPUT}, {delivered_on} AS {DELIVERED_ON_INPUT} \
         FROM {SOURCE_INPUT} s{only}) SELECT {} FROM batched s",
        columns.join(", ")
    )
}

/// What the survivorship operator needs to know of `library`.
fn survivorship_spec(library: &LibraryRules, source: &Schema) -> SurvivorshipSpec {
    let attributes = library
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let stated = stated_column(&f.name);
            Attribute {
                name: f.name.clone(),
                stated: match source.field_with_name(&stated) {
                    Ok(_) => stated,
                    Err(_) => f.name.clone(),
                },
                candidate: candidate_column(i),
                authority: authority_column(i),
                compare: f.compare,
                mask: f.display_mask(),
            }
        })
        .collect();
    SurvivorshipSpec {
        library: library.name.clone(),
        key: library.key.clone(),
        key_mask: library.field(&library.key).and_then(Field::display_mask),
        attributes,
    }
}

/// Plans the input of the golden tables of `library`, whose source layer (with schema
/// `source`) is registered as [`SOURCE_INPUT`], from the live `batches`: hash-partitioned by
/// key and sorted by key within each partition (the sort spills), for a
/// [`crate::survivorship::Survivorship`] per output partition. With `touched_only`, only the
/// entities whose keys are in [`TOUCHED_INPUT`] (an incremental run's merge).
/// The columns of `library`'s golden tables, planned over an empty source layer of `source`'s
/// columns (no data is read).
pub async fn golden_schemas(
    ctx: &SessionContext,
    library: &LibraryRules,
    source: &SchemaRef,
) -> Result<crate::survivorship::GoldenSchemas, EngineError> {
    let session = SessionContext::new_with_state(ctx.state());
    let empty = datafusion::datasource::MemTable::try_new(source.clone(), vec![vec![]])?;
    session.deregister_table(SOURCE_INPUT)?;
    session.register_table(SOURCE_INPUT, Arc::new(empty))?;
    let (plan, spec) = plan_golden(&session, library, source, &[], false).await?;
    session.deregister_table(SOURCE_INPUT)?;
    let operator = crate::survivorship::Survivorship::new(spec, &plan.schema())?;
    Ok(operator.schemas().clone())
}

pub async fn plan_golden(
    ctx: &SessionContext,
    library: &LibraryRules,
    source: &Schema,
    batches: &[BatchDelivery],
    touched_only: bool,
) -> Result<(Arc<dyn ExecutionPlan>, SurvivorshipSpec), EngineError> {
    let input = ctx
        .sql(&survivorship_input(library, source, batches, touched_only))
        .await?
        .create_physical_plan()
        .await?;
    let partitions = ctx.state().config().target_partitions();
    let sorted = key_partitioned_sort(input, &library.key, Vec::new(), partitions)?;
    Ok((sorted, survivorship_spec(library, source)))
}
