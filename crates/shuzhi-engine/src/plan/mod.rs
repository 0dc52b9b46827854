//! Rules → one DataFusion plan per library: union of sources, clean steps as projections of our
//! UDFs (with per-step change flags), checks as flag columns, fixes, reasons, and exact dedup as
//! a key-partitioned sort (see [`crate::dedup`]). The split sink then routes each row, reading
//! the columns this plan names in [`PlannedLibrary`].

mod checks;
mod clean;
pub mod golden;
pub mod scope;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use datafusion::catalog::streaming::StreamingTable;
use datafusion::prelude::{DataFrame, Expr, SessionContext, ident, lit};
use shuzhi_ingest::ReadOptions;
use shuzhi_rules::{LibraryRules, Pipeline, Severity, SqlExpr};

use crate::provenance::{
    BATCH_COLUMN, DELETED_COLUMN, DEPARTMENT_COLUMN, SEQ_COLUMN, SOURCE_COLUMN,
};
use crate::sink::with_partition;
use crate::source::{FileReports, LiveBatch, SourceStream};
use crate::{EngineConfig, EngineError};

/// Rule id of the dedup of a library.
pub fn dedup_rule(library: &str) -> String {
    format!("{library}.dedup")
}

/// Reason of a cdc delete that removed its key.
pub fn deleted_rule(library: &str) -> String {
    format!("{library}.deleted")
}

/// Reason of a row a newer delivery of its key superseded.
pub fn superseded_rule(library: &str) -> String {
    format!("{library}.superseded")
}

/// A library field as planned: the column that keeps its delivered value.
#[derive(Debug, Clone)]
pub struct PlannedField {
    /// Field name (its cleaned, checked and fixed value).
    pub name: String,
    /// Column holding the value as delivered (text).
    pub original: String,
}

/// A clean step as planned: the change word and bit that count its changes.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// The field it cleans.
    pub field: String,
    /// Step name as in rule files (`map:gb2261_1`).
    pub name: String,
    /// `Int64` column of the field's change bits.
    pub changes: String,
    /// Bit of this step in that column.
    pub bit: usize,
}

/// A check as planned: its rule and the columns that carry its outcome to the sink.
#[derive(Debug, Clone)]
pub struct PlannedCheck {
    /// Rule id.
    pub id: String,
    /// What a failure does.
    pub severity: Severity,
    /// The field checked.
    pub field: String,
    /// Boolean column: the check failed on the row.
    pub failed: String,
    /// The value the check saw, as text, when a fix may change the field afterwards (the
    /// field itself holds it otherwise).
    pub seen: Option<String>,
    /// The replacement value of a fix, as text.
    pub fix: Option<String>,
}

/// A library's plan and what the sink needs to know to route its rows.
#[derive(Debug, Clone)]
pub struct PlannedLibrary {
    /// Library rules.
    pub rules: LibraryRules,
    /// Every field, in rule-file order.
    pub fields: Vec<PlannedField>,
    /// Every clean step that counts its changes.
    pub steps: Vec<PlannedStep>,
    /// Every check, in rule-file order.
    pub checks: Vec<PlannedCheck>,
    /// Exact dedup: the executor hash-partitions and sorts by key, the sink marks duplicates.
    pub dedup: Option<shuzhi_rules::Dedup>,
    /// The plan.
    pub frame: DataFrame,
}

impl PlannedLibrary {
    /// The column holding `field`'s delivered value.
    pub fn original(&self, field: &str) -> Result<&str, EngineError> {
        self.fields
            .iter()
            .find(|f| f.name == field)
            .map(|f| f.original.as_str())
            .ok_or_else(|| EngineError::Internal(format!("field {field} was not planned")))
    }

    /// The column holding `field`'s value before fixes (as text), for fields a fix may change:
    /// the value the department stated, which golden libraries compare across departments.
    pub fn stated(&self, field: &str) -> Option<&str> {
        self.checks
            .iter()
            .find(|c| c.field == field && c.seen.is_some())
            .and_then(|c| c.seen.as_deref())
    }

    /// The fields whose stated value may differ from the governed one (they have a fix).
    pub fn stated_fields(&self) -> impl Iterator<Item = &str> {
        self.rules
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|f| self.stated(f).is_some())
    }
}

fn sql_error(expr: &SqlExpr, e: datafusion::error::DataFusionError) -> EngineError {
    EngineError::Expr {
        origin: expr.origin.clone(),
        message: e.message().to_string(),
    }
}

/// An SQL expression of a rule file over the frame's columns.
fn parse(df: &DataFrame, expr: &SqlExpr) -> Result<Expr, EngineError> {
    df.parse_sql_expr(&expr.sql).map_err(|e| sql_error(expr, e))
}

/// Column list of a frame as expressions.
fn all_columns(df: &DataFrame) -> Vec<Expr> {
    df.schema()
        .fields()
        .iter()
        .map(|f| ident(f.name()))
        .collect()
}

/// Replaces or adds columns in one projection.
fn project(df: DataFrame, replace: Vec<(String, Expr)>) -> Result<DataFrame, EngineError> {
    let mut exprs: Vec<Expr> = Vec::new();
    for f in df.schema().fields() {
        match replace.iter().find(|(n, _)| n == f.name()) {
            Some((n, e)) => exprs.push(e.clone().alias(n)),
            None => exprs.push(ident(f.name())),
        }
    }
    for (n, e) in &replace {
        if df.schema().field_with_unqualified_name(n).is_err() {
            exprs.push(e.clone().alias(n));
        }
    }
    Ok(df.select(exprs)?)
}

/// Where a frame of delivered rows comes from: the columns every row carries into the plan
/// besides its fields and ingest's provenance.
pub(crate) struct Delivered<'a> {
    /// Source id.
    pub source: &'a str,
    /// Delivering department.
    pub department: &'a str,
    /// Delivery batch.
    pub batch: &'a str,
    /// Delivery order (later wins).
    pub seq: i64,
    /// Whether a row deletes its key (cdc).
    pub deleted: Expr,
}

impl Delivered<'_> {
    /// `df` with `_source`, `_department`, `_batch`, `_seq` and `_deleted`; the delivered
    /// operation (`_op`) only decides `_deleted` and does not travel further.
    pub(crate) fn frame(self, df: DataFrame) -> Result<DataFrame, EngineError> {
        let mut cols: Vec<Expr> = all_columns(&df)
            .into_iter()
            .filter(|e| *e != ident(crate::source::OP_COLUMN))
            .collect();
        cols.push(lit(self.source).alias(SOURCE_COLUMN));
        cols.push(lit(self.department).alias(DEPARTMENT_COLUMN));
        cols.push(lit(self.batch).alias(BATCH_COLUMN));
        cols.push(lit(self.seq).alias(SEQ_COLUMN));
        cols.push(self.deleted.alias(DELETED_COLUMN));
        Ok(df.select(cols)?)
    }
}

/// Builds the plan of one library. No data is read until the frame executes.
pub fn plan_library(
    ctx: &SessionContext,
    pipeline: &Pipeline,
    library: &LibraryRules,
    batches: &[LiveBatch],
    options: &ReadOptions,
    reports: &FileReports,
) -> Result<PlannedLibrary, EngineError> {
    // 1. Live batches, each a streaming input with provenance, unioned.
    let mut frames = Vec::new();
    for live in batches.iter().filter(|b| b.source.library == library.name) {
        let source = &live.source;
        let stream = SourceStream::new(
            source,
            live.labels.clone(),
            live.sha256.clone(),
            library,
            options.clone(),
            reports.clone(),
        );
        let table = StreamingTable::try_new(
            crate::source::source_schema(library),
            vec![Arc::new(stream)],
        )?;
        let df = ctx.read_table(Arc::new(table))?;
        let deleted = match (&source.operation, live.delivery) {
            (Some(op), shuzhi_rules::Delivery::Cdc) => ident(crate::source::OP_COLUMN)
                .in_list(op.delete.iter().map(|v| lit(v.as_str())).collect(), false)
                .is_true(),
            _ => lit(false),
        };
        let delivery = Delivered {
            source: &source.id,
            department: &source.department,
            batch: &live.batch,
            seq: live.seq as i64,
            deleted,
        };
        frames.push(delivery.frame(df)?);
    }
    let mut frames = frames.into_iter();
    let Some(mut df) = frames.next() else {
        return Err(EngineError::NoSources(library.name.clone()));
    };
    for other in frames {
        df = df.union(other)?;
    }
    plan_rules(pipeline, library, df)
}

/// Applies a library's rules to a frame of delivered rows (the source schema plus `_source`,
/// `_department`, `_batch`, `_seq`, `_deleted`): originals kept, clean chains, SQL steps,
/// the sources' scopes, checks, fixes, then the row's verdict (rejected, reasons, flags).
pub fn plan_rules(
    pipeline: &Pipeline,
    library: &LibraryRules,
    df: DataFrame,
) -> Result<PlannedLibrary, EngineError> {
    let (df, fields) = clean::keep_originals(library, df)?;
    let (df, steps) = clean::clean(library, df)?;
    let df = scope::mark(pipeline, library, df)?;
    let (df, checks) = checks::check(pipeline, library, df)?;
    let df = checks::apply_fixes(library, &checks, df)?;
    let df = checks::verdict(&checks, df)?;
    Ok(PlannedLibrary {
        rules: library.clone(),
        fields,
        steps,
        checks,
        dedup: library.dedup.clone(),
        frame: df,
    })
}

/// Plans the libraries that have sources (only those `batches` feed, when `only_fed`).
pub fn plan_libraries(
    ctx: &SessionContext,
    pipeline: &Pipeline,
    batches: &[LiveBatch],
    options: &ReadOptions,
    reports: &FileReports,
    only_fed: bool,
) -> Result<Vec<PlannedLibrary>, EngineError> {
    pipeline
        .libraries
        .iter()
        .filter(|l| pipeline.sources_of(&l.name).next().is_some())
        .filter(|l| !only_fed || batches.iter().any(|b| b.source.library == l.name))
        .map(|l| plan_library(ctx, pipeline, l, batches, options, reports))
        .collect()
}

/// Plans every library without reading data: SQL expressions, types and functions are checked;
/// then every topic's SQL over empty tables of the columns the run would write. Returns the
/// columns of every table, topics included, by query name.
pub async fn check_pipeline(
    pipeline: &Pipeline,
    config: &EngineConfig,
) -> Result<BTreeMap<String, SchemaRef>, EngineError> {
    let ctx = crate::session(config)?;
    let mut schemas = table_schemas(&ctx, pipeline).await?;
    for topic in &pipeline.topics {
        let session = crate::topic::topic_session(&ctx);
        for (name, _) in &topic.reads {
            let schema = schemas.get(name).cloned().ok_or_else(|| {
                EngineError::Internal(format!("topic {} reads unknown table {name}", topic.name))
            })?;
            let table = datafusion::datasource::MemTable::try_new(schema, vec![vec![]])?;
            session.register_table(name.as_str(), Arc::new(table))?;
        }
        let frame = crate::topic::plan_topic(&session, topic).await?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        frame.into_optimized_plan()?;
        schemas.insert(topic.name.clone(), schema);
    }
    Ok(schemas)
}

/// The columns of every table a run of `pipeline` writes, by query name, planned without
/// reading data (what topics read: libraries, quarantines, verdicts, golden tables).
pub async fn table_schemas(
    ctx: &SessionContext,
    pipeline: &Pipeline,
) -> Result<BTreeMap<String, SchemaRef>, EngineError> {
    let reports = FileReports::default();
    let declared = LiveBatch::declared(pipeline);
    let planned = plan_libraries(
        ctx,
        pipeline,
        &declared,
        &ReadOptions::default(),
        &reports,
        false,
    )?;
    let mut schemas = BTreeMap::new();
    for planned in planned {
        let outputs = crate::sink::OutputSchemas::of(&planned);
        let rules = planned.rules.clone();
        planned.frame.into_optimized_plan()?;
        let name = &rules.name;
        schemas.insert(
            format!("quarantine_{name}"),
            with_partition(&outputs.quarantine),
        );
        schemas.insert("verdicts".to_owned(), with_partition(&outputs.verdicts));
        if !rules.golden {
            schemas.insert(name.clone(), outputs.library);
            continue;
        }
        let source = with_partition(&outputs.library);
        let golden = golden::golden_schemas(ctx, &rules, &source).await?;
        schemas.insert(golden::GoldenTable::Source.query_name(name), source);
        schemas.insert(name.clone(), golden.golden);
        schemas.insert(
            golden::GoldenTable::Attributes.query_name(name),
            golden.attributes,
        );
        schemas.insert(
            golden::GoldenTable::Conflicts.query_name(name),
            golden.conflicts,
        );
        schemas.insert(golden::GoldenTable::Link.query_name(name), golden.link);
    }
    Ok(schemas)
}
