//! Golden records of a library over its source layer (一数一源, 多源校核), as DataFusion SQL:
//! every department's copy of every attribute is a candidate (long form); one window per
//! entity × attribute ranks them — the authority registry's department first, then the most
//! recent delivery, then the most complete (longest) value — and the ranking gives the golden
//! record (the winners, pivoted back to one row per entity), where each attribute came from,
//! and the conflicts: copies that are not the same as the winner under the field's
//! comparison, each with the department that must correct it. Windows and aggregates spill
//! under the session's memory limit.

use datafusion::arrow::datatypes::Schema;
use datafusion::prelude::{DataFrame, SessionContext};
use shuzhi_rules::{Compare, Field, FieldType, LibraryRules, Severity};

use crate::EngineError;
use crate::provenance::DEPARTMENT_COLUMN;
use crate::udf::{Kernel, udf};

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
/// The ranked candidates, registered as a view for the plans that read them.
const RANKED: &str = "golden_ranked";
/// One row per entity × attribute with its winner, registered as a view.
const WINNERS: &str = "golden_winners";

/// The plans of a golden library's tables, over [`SOURCE_INPUT`] and [`BATCHES_INPUT`].
pub struct GoldenFrames {
    /// One row per entity: `entity_id`, the fields, `_copies`.
    pub golden: DataFrame,
    /// One row per entity × attribute with a value.
    pub attributes: DataFrame,
    /// One row per source row.
    pub link: DataFrame,
    /// One row per copy that is not the same as the golden value.
    pub conflicts: DataFrame,
}

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

/// Every department's copy of every attribute, one row each (long form).
fn candidates(library: &LibraryRules, source: &Schema, batches: &[BatchDelivery]) -> String {
    let key = quoted(&library.key);
    let seq = format!(
        "CAST({} AS BIGINT)",
        per_batch(batches, |b| Some(b.seq.to_string()))
    );
    let delivered_on = format!(
        "CAST({} AS DATE)",
        per_batch(batches, |b| b.delivered_on.as_deref().map(text))
    );
    let parts: Vec<String> = library
        .fields
        .iter()
        .map(|f| {
            let column = quoted(&f.name);
            let value = format!("CAST(s.{column} AS VARCHAR)");
            let stated_name = stated_column(&f.name);
            let stated = match source.field_with_name(&stated_name) {
                Ok(_) => format!("s.{}", quoted(&stated_name)),
                Err(_) => value.clone(),
            };
            format!(
                "SELECT CAST(s.{key} AS VARCHAR) AS entity_key, {name} AS field, {value} AS value, \
                 {stated} AS stated, s._department AS department, s._source AS source, \
                 s._batch AS batch, s._file AS file, s._line AS line, \
                 s._delivered_on AS delivered_on, s._seq AS seq, {authority} AS authority \
                 FROM batched s \
                 WHERE s.{key} IS NOT NULL AND s.{column} IS NOT NULL AND NOT ({flagged})",
                name = text(&f.name),
                authority = authority(f),
                flagged = flagged(library, f),
            )
        })
        .collect();
    format!(
        "WITH batched AS (SELECT s.*, {seq} AS _seq, {delivered_on} AS _delivered_on \
         FROM {SOURCE_INPUT} s) {}",
        parts.join("\nUNION ALL\n")
    )
}

/// The candidates with their rank within their entity × attribute: the authority registry's
/// department first, then the most recent delivery, then the longest value (then department,
/// source, file and line, so the order is total). Only the rank is a window (a frame ending at
/// the current row streams over the sorted input); the winner's values come from [`winners`].
fn ranked(library: &LibraryRules, source: &Schema, batches: &[BatchDelivery]) -> String {
    format!(
        "SELECT c.*, row_number() OVER (PARTITION BY entity_key, field ORDER BY authority DESC, \
         seq DESC NULLS LAST, character_length(value) DESC, department, source, file, line \
         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS rank FROM ({}) c",
        candidates(library, source, batches)
    )
}

/// One row per entity × attribute: the winner (rank 1), the runner-up's delivery and length
/// (rank 2) and the number of copies, as an aggregate over the ranked rows.
fn winners() -> String {
    let first = |column: &str| format!("max(CASE WHEN rank = 1 THEN {column} END) AS {column}");
    let columns = [
        "value",
        "department",
        "source",
        "batch",
        "delivered_on",
        "seq",
    ]
    .map(first)
    .join(", ");
    format!(
        "SELECT entity_key, field, {columns}, bool_or(rank = 1 AND authority) AS authority, \
         max(CASE WHEN rank = 2 THEN seq END) AS runner_seq, \
         max(CASE WHEN rank = 2 THEN character_length(value) END) AS runner_length, \
         count(*) AS copies FROM {RANKED} GROUP BY entity_key, field"
    )
}

/// `CASE field WHEN ... END` over the fields, `otherwise` for the rest.
fn per_field(
    fields: &[&Field],
    each: impl Fn(&Field) -> Option<String>,
    otherwise: &str,
) -> String {
    let arms = fields
        .iter()
        .filter_map(|f| Some((f.name.as_str(), each(f)?)));
    case_of("field", arms, otherwise)
}

/// The masked form of a value of the row's field (sensitive fields only).
fn masked(fields: &[&Field], value: &str) -> String {
    per_field(
        fields,
        |f| {
            f.display_mask()
                .map(|m| format!("{}({value})", Kernel::Mask(m).name()))
        },
        value,
    )
}

/// Whether the row's stated value is the same as the golden one under its field's comparison.
fn same(fields: &[&Field]) -> String {
    per_field(
        fields,
        |f| match f.compare {
            Compare::Exact | Compare::Date => None,
            Compare::Normalised => {
                Some("comparison_form(stated) = comparison_form(golden_value)".into())
            }
            Compare::Number(t) => Some(format!(
                "COALESCE(abs(TRY_CAST(stated AS DOUBLE) - TRY_CAST(golden_value AS DOUBLE)) <= {}, \
                 stated = golden_value)",
                t.0
            )),
        },
        "stated = golden_value",
    )
}

/// The golden record: the winners pivoted back to one row per entity, typed as the library.
fn golden(library: &LibraryRules, entity_id: &str) -> String {
    let mut columns = vec![format!("{entity_id}(entity_key) AS entity_id")];
    for f in &library.fields {
        let winner = format!("max(CASE WHEN field = {} THEN value END)", text(&f.name));
        columns.push(match f.ty {
            FieldType::String => format!("{winner} AS {}", quoted(&f.name)),
            FieldType::Date => format!("CAST({winner} AS DATE) AS {}", quoted(&f.name)),
        });
    }
    columns.push(format!(
        "max(CASE WHEN field = {} THEN copies END) AS _copies",
        text(&library.key)
    ));
    format!(
        "SELECT {} FROM {WINNERS} GROUP BY entity_key",
        columns.join(", ")
    )
}

/// The functions the plans call, registered on `ctx`.
fn register_functions(ctx: &SessionContext, library: &LibraryRules) {
    let mut kernels = vec![
        Kernel::ComparisonForm,
        Kernel::EntityId(library.name.clone()),
    ];
    kernels.extend(
        library
            .fields
            .iter()
            .filter_map(|f| f.display_mask().map(Kernel::Mask)),
    );
    for k in kernels {
        ctx.register_udf(udf(k).as_ref().clone());
    }
}

/// Plans the golden record, attribute sources, links and conflicts of `library`, whose source
/// layer (with schema `source`) is registered as [`SOURCE_INPUT`], from the live `batches`. The
/// conflicts join each copy with its winner by (entity, attribute); both sides come sorted by
/// them, so with hash joins disfavoured the join is a streaming merge join that spills.
pub async fn plan_golden(
    ctx: &SessionContext,
    library: &LibraryRules,
    source: &Schema,
    batches: &[BatchDelivery],
) -> Result<GoldenFrames, EngineError> {
    register_functions(ctx, library);
    let entity_id = Kernel::EntityId(library.name.clone()).name();
    for (name, sql) in [
        (RANKED, ranked(library, source, batches)),
        (WINNERS, winners()),
    ] {
        let view = ctx.sql(&sql).await?.into_view();
        ctx.deregister_table(name)?;
        ctx.register_table(name, view)?;
    }
    let compared: Vec<&Field> = library
        .fields
        .iter()
        .filter(|f| f.name != library.key)
        .collect();
    let attributes = format!(
        "SELECT {entity_id}(entity_key) AS entity_id, field, department, source, batch, \
         delivered_on, copies, CASE WHEN authority THEN 'authority' \
         WHEN copies = 1 THEN 'only copy' WHEN runner_seq < seq THEN 'recency' \
         WHEN runner_length < character_length(value) THEN 'completeness' \
         ELSE 'tie' END AS reason FROM {WINNERS}"
    );
    let key_mask = library
        .field(&library.key)
        .and_then(Field::display_mask)
        .map_or("entity_key".to_owned(), |m| {
            format!("{}(entity_key)", Kernel::Mask(m).name())
        });
    let conflicts = format!(
        "SELECT {entity_id}(entity_key) AS entity_id, {key_mask} AS entity, field, \
         {value} AS value, {golden_value} AS golden_value, golden_department, \
         CASE WHEN rank = 1 THEN 'fixed' WHEN golden_authority THEN 'authority' \
         WHEN golden_seq > seq THEN 'recency' \
         WHEN golden_length > character_length(stated) THEN 'completeness' \
         ELSE 'tie' END AS reason, \
         source AS _source, batch AS _batch, file AS _file, line AS _line, \
         department AS {DEPARTMENT_COLUMN} \
         FROM (SELECT r.*, w.value AS golden_value, w.department AS golden_department, \
         w.authority AS golden_authority, w.seq AS golden_seq, \
         character_length(w.value) AS golden_length \
         FROM {RANKED} r JOIN {WINNERS} w ON r.entity_key = w.entity_key AND r.field = w.field) \
         WHERE field <> {key} AND stated IS NOT NULL AND NOT ({same})",
        value = masked(&compared, "stated"),
        golden_value = masked(&compared, "golden_value"),
        key = text(&library.key),
        same = same(&compared),
    );
    let link = format!(
        "SELECT {entity_id}(CAST({key} AS VARCHAR)) AS entity_id, _department, _source, _batch, \
         _file, _sheet, _line FROM {SOURCE_INPUT}",
        key = quoted(&library.key)
    );
    Ok(GoldenFrames {
        golden: ctx.sql(&golden(library, &entity_id)).await?,
        attributes: ctx.sql(&attributes).await?,
        link: ctx.sql(&link).await?,
        conflicts: ctx.sql(&conflicts).await?,
    })
}
