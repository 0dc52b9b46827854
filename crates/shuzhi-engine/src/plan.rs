//! Rules → one DataFusion plan per library: union of sources, clean steps as projections of our
//! UDFs (with per-step change flags), checks as flag columns, fixes, reasons, and exact dedup as
//! a key-partitioned sort (see [`crate::dedup`]). The split sink then routes each row.

use std::sync::Arc;

use crate::EngineConfig;
use arrow::datatypes::DataType;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::functions::regex::expr_fn::regexp_like;
use datafusion::functions::string::expr_fn::concat_ws;
use datafusion::functions_aggregate::count::count_all_window;
use datafusion::logical_expr::ExprFunctionExt;
use datafusion::logical_expr::ScalarUDF;
use datafusion::logical_expr::{cast, when};
use datafusion::prelude::{DataFrame, Expr, SessionContext, ident, lit};
use shuzhi_ingest::{INGEST_ERROR_COLUMN, ReadOptions};
use shuzhi_rules::{
    CheckKind, CleanStep, FieldType, LibraryRules, Pipeline, Severity, SqlExpr, ValueType,
};

use crate::EngineError;
use crate::source::{FileReports, LiveBatch, SourceStream};
use crate::udf::{ChainPart, ChainUdf, Kernel, udf};

/// Provenance: source id.
pub const SOURCE_COLUMN: &str = "_source";
/// Provenance column: the delivery batch.
pub const BATCH_COLUMN: &str = "_batch";
/// Delivery order of the row's batch (later wins); not stored.
pub const SEQ_COLUMN: &str = "_seq";
/// Whether a cdc row deletes its key; not stored.
pub const DELETED_COLUMN: &str = "_deleted";
/// Provenance: department.
pub const DEPARTMENT_COLUMN: &str = "_department";
/// True when a reject check (or ingest) failed.
pub const REJECTED_COLUMN: &str = "_rejected";
/// Reject reasons, `; `-separated rule ids.
pub const REASONS_COLUMN: &str = "_reasons";
/// Warn and fix rule ids that fired on a kept row.
pub const FLAGS_COLUMN: &str = "_flags";

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

/// Name of the original-value column of a field.
pub fn original_column(field: &str) -> String {
    format!("{field}__orig")
}
/// Name of the change bits of a field: bit `j` is set when the field's `j`-th step (in
/// [`PlannedLibrary::steps`] order) changed the row's value.
pub fn change_bits_column(field: &str) -> String {
    format!("_changes__{field}")
}

/// Name of the struct column a field's fused clean steps produce.
fn chain_column(field: &str) -> String {
    format!("_clean__{field}")
}

/// Name of the failure flag of check `i`.
pub fn fail_column(i: usize) -> String {
    format!("_fail__{i}")
}
/// Name of the value seen by check `i`, as text (only for fields that a fix may change).
pub fn value_column(i: usize) -> String {
    format!("_val__{i}")
}
/// Name of the replacement value of fix check `i`, as text.
pub fn fix_column(i: usize) -> String {
    format!("_fix__{i}")
}

/// What the sink needs to know about a planned library.
#[derive(Debug, Clone)]
pub struct PlannedLibrary {
    /// Library rules.
    pub rules: LibraryRules,
    /// `(field, bit, step name)`: bit `bit` of the field's change bits counts that step's changes.
    pub steps: Vec<(String, usize, String)>,
    /// `(rule id, severity, field)` per check index.
    pub checks: Vec<(String, Severity, String)>,
    /// Exact dedup: the executor hash-partitions and sorts by key, the sink marks duplicates.
    pub dedup: Option<shuzhi_rules::Dedup>,
    /// The plan.
    pub frame: DataFrame,
}

fn sql_error(expr: &SqlExpr, e: datafusion::error::DataFusionError) -> EngineError {
    EngineError::Expr {
        origin: expr.origin.clone(),
        message: e.message().to_string(),
    }
}

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

/// Name of the column holding the authoritative department's value of a field.
fn authority_column(field: &str) -> String {
    format!("_authority__{field}")
}

/// The value `department` delivered for the row's key: the largest, when it delivered several
/// (a window over the key).
fn authority_value(key: &str, field: &str, department: &str) -> Result<Expr, EngineError> {
    let theirs = when(ident(DEPARTMENT_COLUMN).eq(lit(department)), ident(field)).end()?;
    Ok(
        Expr::from(datafusion::logical_expr::expr::WindowFunction::new(
            datafusion::logical_expr::WindowFunctionDefinition::AggregateUDF(
                datafusion::functions_aggregate::min_max::max_udaf(),
            ),
            vec![theirs],
        ))
        .partition_by(vec![ident(key)])
        .build()?,
    )
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
        // `_op` only decides `_deleted`: it does not travel through the plan.
        let mut cols: Vec<Expr> = all_columns(&df)
            .into_iter()
            .filter(|e| *e != ident(crate::source::OP_COLUMN))
            .collect();
        cols.push(lit(source.id.as_str()).alias(SOURCE_COLUMN));
        cols.push(lit(source.department.as_str()).alias(DEPARTMENT_COLUMN));
        cols.push(lit(live.batch.as_str()).alias(BATCH_COLUMN));
        cols.push(lit(live.seq as i64).alias(SEQ_COLUMN));
        let deleted = match (&source.operation, live.delivery) {
            (Some(op), shuzhi_rules::Delivery::Cdc) => ident(crate::source::OP_COLUMN)
                .in_list(op.delete.iter().map(|v| lit(v.as_str())).collect(), false)
                .is_true(),
            _ => lit(false),
        };
        cols.push(deleted.alias(DELETED_COLUMN));
        frames.push(df.select(cols)?);
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

/// Applies a library's rules to a frame of delivered rows (the source schema plus `_source`
/// and `_department`): originals kept, clean chains, defaults, checks, fixes, reasons, flags.
pub fn plan_rules(
    pipeline: &Pipeline,
    library: &LibraryRules,
    df: DataFrame,
) -> Result<PlannedLibrary, EngineError> {
    let mut df = df;

    // 2. Keep the delivered values.
    let originals = library
        .fields
        .iter()
        .map(|f| (original_column(&f.name), ident(&f.name)))
        .collect();
    df = project(df, originals)?;

    // 3. Clean: each field's text steps run fused in one UDF call (one pass, one output array,
    // a change bit per step); `default` steps then fill nulls from SQL over the cleaned fields.
    let mut steps = Vec::new();
    let mut chains = Vec::new();
    for field in &library.fields {
        let chain = field.chain();
        let text_steps = field.clean.iter().filter(|s| !s.is_sql());
        steps.extend(
            text_steps
                .enumerate()
                .map(|(bit, step)| (field.name.clone(), bit, step.name())),
        );
        if !chain.steps.is_empty() || chain.parse_date {
            let call =
                ScalarUDF::from(ChainUdf::new(&field.name, chain)).call(vec![ident(&field.name)]);
            chains.push((field.name.clone(), call));
        }
    }
    let structs: Vec<(String, Expr)> = chains
        .iter()
        .map(|(f, call)| (chain_column(f), call.clone()))
        .collect();
    df = project(df, structs)?;
    let mut unpacked = Vec::new();
    for (f, _) in &chains {
        let date = library.field(f).is_some_and(|x| x.ty == FieldType::Date);
        let value = ScalarUDF::from(ChainPart::value(date)).call(vec![ident(chain_column(f))]);
        let changes = ScalarUDF::from(ChainPart::changes()).call(vec![ident(chain_column(f))]);
        unpacked.push((f.clone(), value));
        unpacked.push((change_bits_column(f), changes));
    }
    df = project(df, unpacked)?;
    let struct_names: Vec<String> = chains.iter().map(|(f, _)| chain_column(f)).collect();
    df = df.drop_columns(&struct_names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut defaults = Vec::new();
    for field in &library.fields {
        let bits_column = change_bits_column(&field.name);
        let mut value = ident(&field.name);
        let mut bits = if chains.iter().any(|(f, _)| *f == field.name) {
            ident(&bits_column)
        } else {
            lit(0i64)
        };
        let mut bit = steps.iter().filter(|(f, _, _)| *f == field.name).count();
        let mut any = false;
        for step in &field.clean {
            let (next, changed) = match step {
                CleanStep::Default { expr } => {
                    let fill = parse(&df, expr)?;
                    let filled = value.clone().is_null().and(fill.clone().is_not_null());
                    (coalesce(vec![value.clone(), fill]), filled)
                }
                CleanStep::Derive { expr } => {
                    let derived = parse(&df, expr)?;
                    let derived = match field.ty {
                        FieldType::String => cast(derived, DataType::Utf8),
                        FieldType::Date => cast(derived, DataType::Date32),
                    };
                    (
                        derived.clone(),
                        datafusion::logical_expr::binary_expr(
                            value.clone(),
                            datafusion::logical_expr::Operator::IsDistinctFrom,
                            derived,
                        ),
                    )
                }
                _ => continue,
            };
            bits = bits + when(changed, lit(1i64 << bit)).otherwise(lit(0i64))?;
            value = next;
            steps.push((field.name.clone(), bit, step.name()));
            bit += 1;
            any = true;
        }
        if any {
            defaults.push((field.name.clone(), value));
            defaults.push((bits_column, bits));
        }
    }
    df = project(df, defaults)?;

    // 4. Checks: failure flags and the value each check saw. The authoritative departments'
    // values come first, one window each, so the check and its fix read the same column.
    let authorities = library
        .checks()
        .filter_map(|c| match &c.kind {
            CheckKind::Authority(department) => Some((
                authority_column(&c.field),
                authority_value(&library.key, &c.field, department),
            )),
            _ => None,
        })
        .map(|(name, value)| value.map(|v| (name, v)))
        .collect::<Result<Vec<_>, _>>()?;
    df = project(df, authorities)?;
    let fixed_fields: Vec<&str> = library
        .checks()
        .filter(|c| c.severity == Severity::Fix)
        .map(|c| c.field.as_str())
        .collect();
    let mut checks = Vec::new();
    let mut replace = Vec::new();
    for (i, check) in library.checks().enumerate() {
        let value = ident(&check.field);
        let field_type = library
            .field(&check.field)
            .map_or(FieldType::String, |f| f.ty);
        let failed = match &check.kind {
            CheckKind::Required => value.clone().is_null(),
            CheckKind::Gb11643 => value
                .clone()
                .is_not_null()
                .and(udf(Kernel::IsGb11643).call(vec![value.clone()]).is_false()),
            CheckKind::Phone => value
                .clone()
                .is_not_null()
                .and(udf(Kernel::IsPhone).call(vec![value.clone()]).is_false()),
            CheckKind::Uscc | CheckKind::OrgCode | CheckKind::ElicenceId => {
                let kernel = match &check.kind {
                    CheckKind::Uscc => Kernel::IsUscc,
                    CheckKind::OrgCode => Kernel::IsOrgCode,
                    _ => Kernel::IsElicenceId,
                };
                value
                    .clone()
                    .is_not_null()
                    .and(udf(kernel).call(vec![value.clone()]).is_false())
            }
            CheckKind::Regex(pattern) => value
                .clone()
                .is_not_null()
                .and(regexp_like(value.clone(), lit(pattern.as_str()), None).is_false()),
            CheckKind::OneOf(values) => value.clone().is_not_null().and(
                value
                    .clone()
                    .in_list(values.iter().map(|v| lit(v.as_str())).collect(), true),
            ),
            CheckKind::Range { min, max } => {
                let number = datafusion::prelude::try_cast(value.clone(), DataType::Float64);
                value
                    .clone()
                    .is_not_null()
                    .and(number.between(lit(min.0), lit(max.0)).is_not_true())
            }
            CheckKind::Length { min, max } => {
                let chars =
                    datafusion::functions::unicode::expr_fn::character_length(value.clone());
                value
                    .clone()
                    .is_not_null()
                    .and(chars.between(lit(*min), lit(*max)).is_false())
            }
            // Only IDs that pass GB 11643 are judged here (the gb11643 check reports the rest).
            CheckKind::IdRegion => {
                let t = pipeline
                    .code_tables
                    .get("gb2260")
                    .ok_or_else(|| EngineError::Internal("code table gb2260 vanished".into()))?;
                udf(Kernel::IsGb11643)
                    .call(vec![value.clone()])
                    .is_true()
                    .and(
                        udf(Kernel::IdRegionInUse(Arc::new(t.clone())))
                            .call(vec![value.clone()])
                            .is_false(),
                    )
            }
            CheckKind::CodeTable(name) => {
                let t = pipeline
                    .code_tables
                    .get(name)
                    .ok_or_else(|| EngineError::Internal(format!("code table {name} vanished")))?;
                value.clone().is_not_null().and(
                    udf(Kernel::InCodeTable(Arc::new(t.clone())))
                        .call(vec![value.clone()])
                        .is_false(),
                )
            }
            CheckKind::Expr(expr) => {
                let e = parse(&df, expr)?;
                match (&check.fix, check.severity) {
                    (Some(fix), Severity::Fix) => {
                        e.is_not_true().and(parse(&df, fix)?.is_not_null())
                    }
                    _ => e.is_false(),
                }
            }
            CheckKind::Type(ty) => {
                let text = match field_type {
                    FieldType::String => value.clone(),
                    FieldType::Date => cast(value.clone(), DataType::Utf8),
                };
                let fails = match ty {
                    ValueType::Integer => regexp_like(text, lit("^[+-]?[0-9]+$"), None).is_false(),
                    ValueType::Decimal => {
                        regexp_like(text, lit("^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$"), None)
                            .is_false()
                    }
                    ValueType::Date => udf(Kernel::ParseDate).call(vec![text]).is_null(),
                };
                value.clone().is_not_null().and(fails)
            }
            CheckKind::PersonId => value
                .clone()
                .is_not_null()
                .and(udf(Kernel::IdKind).call(vec![value.clone()]).is_null()),
            // Counted over every row this run governs, before dedup.
            CheckKind::Unique => {
                let rows = count_all_window()
                    .partition_by(vec![value.clone()])
                    .build()?;
                value.clone().is_not_null().and(rows.gt(lit(1i64)))
            }
            CheckKind::NotBefore(other) => value.clone().lt(ident(other)).is_true(),
            CheckKind::Authority(_) => {
                let theirs = ident(authority_column(&check.field));
                theirs
                    .clone()
                    .is_not_null()
                    .and(datafusion::logical_expr::binary_expr(
                        value.clone(),
                        datafusion::logical_expr::Operator::IsDistinctFrom,
                        theirs,
                    ))
            }
        };
        let failed = match &check.when {
            Some(condition) => parse(&df, condition)?.is_true().and(failed),
            None => failed,
        };
        // A ragged row has no field values: its only verdict is the ingest one.
        let failed = ident(INGEST_ERROR_COLUMN).is_null().and(failed);
        replace.push((fail_column(i), failed));
        // A fix may change the field after the checks: keep the value the check saw. Fields
        // without fixes keep it in the field itself (fewer columns through the dedup sort).
        if fixed_fields.contains(&check.field.as_str()) {
            let as_text = match field_type {
                FieldType::String => value.clone(),
                FieldType::Date => cast(value.clone(), DataType::Utf8),
            };
            replace.push((value_column(i), as_text));
        }
        let fix = match (&check.kind, &check.fix, check.severity) {
            (CheckKind::Authority(_), _, _) => Some(ident(authority_column(&check.field))),
            (_, Some(fix), Severity::Fix) => Some(parse(&df, fix)?),
            _ => None,
        };
        if let Some(fix) = fix {
            let fixed = cast(when(ident(fail_column(i)), fix).end()?, DataType::Utf8);
            replace.push((fix_column(i), fixed));
        }
        checks.push((check.id.clone(), check.severity, check.field.clone()));
    }
    // Fix values reference `_fail__i`, so flags are projected first.
    let (flags, fixes): (Vec<_>, Vec<_>) = replace
        .into_iter()
        .partition(|(name, _)| !name.starts_with("_fix__"));
    df = project(df, flags)?;
    df = project(df, fixes)?;

    // 5. Apply fixes (in check order), then reject flag, reasons and flags.
    let mut replace = Vec::new();
    for (i, (_, severity, field)) in checks.iter().enumerate() {
        if *severity == Severity::Fix {
            let ty = library.field(field).map_or(FieldType::String, |f| f.ty);
            let fixed_value = match ty {
                FieldType::String => ident(fix_column(i)),
                FieldType::Date => cast(ident(fix_column(i)), DataType::Date32),
            };
            let current = replace
                .iter()
                .rposition(|(n, _): &(String, Expr)| n == field)
                .map(|p| replace.remove(p).1)
                .unwrap_or_else(|| ident(field));
            replace.push((
                field.clone(),
                when(ident(fail_column(i)), fixed_value).otherwise(current)?,
            ));
        }
    }
    let reason_of = |i: usize, id: &str| when(ident(fail_column(i)), lit(id.to_owned())).end();
    let mut reject_flags = vec![ident(INGEST_ERROR_COLUMN).is_not_null()];
    // Rows ingest could not read carry their reason code (`ingest.ragged_row`, ...).
    let mut reasons = vec![ident(INGEST_ERROR_COLUMN)];
    let mut flags = Vec::new();
    for (i, (id, severity, _)) in checks.iter().enumerate() {
        match severity {
            Severity::Reject => {
                reject_flags.push(ident(fail_column(i)));
                reasons.push(reason_of(i, id)?);
            }
            Severity::Fix | Severity::Warn => flags.push(reason_of(i, id)?),
        }
    }
    let rejected = reject_flags
        .into_iter()
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false));
    replace.push((REJECTED_COLUMN.into(), rejected));
    replace.push((REASONS_COLUMN.into(), concat_ws(lit("; "), reasons)));
    let flags_expr = if flags.is_empty() {
        cast(
            lit(datafusion::common::ScalarValue::Utf8(None)),
            DataType::Utf8,
        )
    } else {
        let joined = concat_ws(lit("; "), flags);
        when(
            joined.clone().eq(lit("")),
            lit(datafusion::common::ScalarValue::Utf8(None)),
        )
        .otherwise(joined)?
    };
    replace.push((FLAGS_COLUMN.into(), flags_expr));
    df = project(df, replace)?;

    Ok(PlannedLibrary {
        rules: library.clone(),
        steps,
        checks,
        dedup: library.dedup.clone(),
        frame: df,
    })
}

/// Plans the libraries that have sources (only those `batches` feed, when `only_fed`).
pub fn plan_libraries(
    ctx: &datafusion::prelude::SessionContext,
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

/// Plans every library without reading data: SQL expressions, types and functions are checked.
pub async fn check_pipeline(pipeline: &Pipeline, config: &EngineConfig) -> Result<(), EngineError> {
    let ctx = crate::session(config)?;
    let reports = FileReports::default();
    let declared = LiveBatch::declared(pipeline);
    for planned in plan_libraries(
        &ctx,
        pipeline,
        &declared,
        &ReadOptions::default(),
        &reports,
        false,
    )? {
        planned.frame.into_optimized_plan()?;
    }
    Ok(())
}
