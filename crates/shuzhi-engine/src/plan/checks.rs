//! Checks, fixes and the row's verdict: each check becomes a failure flag (and, for fixes, the
//! value it saw and its replacement); fixes then apply in check order; the row is rejected when
//! a reject check or ingest failed, with every reason and flag listed.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::functions::regex::expr_fn::regexp_like;
use datafusion::functions::string::expr_fn::concat_ws;
use datafusion::functions::unicode::expr_fn::character_length;
use datafusion::functions_window::expr_fn::{lag, lead};
use datafusion::logical_expr::{ExprFunctionExt, cast, when};
use datafusion::prelude::{DataFrame, Expr, ident, lit, try_cast};
use shuzhi_rules::{Check, CheckKind, FieldType, LibraryRules, Pipeline, Severity, ValueType};

use super::{PlannedCheck, parse, project};
use crate::EngineError;
use crate::provenance::{
    FLAGS_COLUMN, INGEST_ERROR_COLUMN, OUT_OF_SCOPE_COLUMN, REASONS_COLUMN, REJECTED_COLUMN,
};
use crate::udf::{Kernel, udf};

/// The failure flag of check `i`.
fn fail_column(i: usize) -> String {
    format!("_fail__{i}")
}

/// The value check `i` saw, as text.
fn seen_column(i: usize) -> String {
    format!("_val__{i}")
}

/// The replacement value of fix check `i`, as text.
fn fix_column(i: usize) -> String {
    format!("_fix__{i}")
}

/// A field's type; text when the check names no declared field.
fn field_type(library: &LibraryRules, field: &str) -> FieldType {
    library.field(field).map_or(FieldType::String, |f| f.ty)
}

/// A value as text (dates as `YYYY-MM-DD`).
fn as_text(value: Expr, ty: FieldType) -> Expr {
    match ty {
        FieldType::String => value,
        FieldType::Date => cast(value, DataType::Utf8),
    }
}

/// A present value that `kernel` (a boolean UDF) rejects.
fn kernel_fails(kernel: Kernel, value: &Expr) -> Expr {
    value
        .clone()
        .is_not_null()
        .and(udf(kernel).call(vec![value.clone()]).is_false())
}

/// A code table the loader checked exists.
fn code_table(
    pipeline: &Pipeline,
    name: &str,
) -> Result<Arc<shuzhi_rules::CodeTable>, EngineError> {
    pipeline
        .code_tables
        .get(name)
        .map(|t| Arc::new(t.clone()))
        .ok_or_else(|| EngineError::Internal(format!("code table {name} vanished")))
}

/// When `check` fails on a row, before its `when` condition.
fn failure(
    pipeline: &Pipeline,
    library: &LibraryRules,
    df: &DataFrame,
    check: &Check,
) -> Result<Expr, EngineError> {
    let value = ident(&check.field);
    let present = value.clone().is_not_null();
    Ok(match &check.kind {
        CheckKind::Required => value.is_null(),
        CheckKind::Gb11643 => kernel_fails(Kernel::IsGb11643, &value),
        CheckKind::Phone => kernel_fails(Kernel::IsPhone, &value),
        CheckKind::Uscc => kernel_fails(Kernel::IsUscc, &value),
        CheckKind::OrgCode => kernel_fails(Kernel::IsOrgCode, &value),
        CheckKind::ElicenceId => kernel_fails(Kernel::IsElicenceId, &value),
        CheckKind::CodeTable(name) => {
            kernel_fails(Kernel::InCodeTable(code_table(pipeline, name)?), &value)
        }
        // Only IDs that pass GB 11643 are judged here (the gb11643 check reports the rest).
        CheckKind::IdRegion => udf(Kernel::IsGb11643)
            .call(vec![value.clone()])
            .is_true()
            .and(kernel_fails(
                Kernel::IdRegionInUse(code_table(pipeline, "gb2260")?),
                &value,
            )),
        CheckKind::Regex(pattern) => {
            present.and(regexp_like(value, lit(pattern.as_str()), None).is_false())
        }
        CheckKind::OneOf(values) => {
            present.and(value.in_list(values.iter().map(|v| lit(v.as_str())).collect(), true))
        }
        CheckKind::Range { min, max } => {
            let number = try_cast(value, DataType::Float64);
            present.and(number.between(lit(min.0), lit(max.0)).is_not_true())
        }
        CheckKind::Length { min, max } => {
            let chars = character_length(value);
            present.and(chars.between(lit(*min), lit(*max)).is_false())
        }
        CheckKind::Expr(expr) => {
            let holds = parse(df, expr)?;
            match (&check.fix, check.severity) {
                (Some(fix), Severity::Fix) => {
                    holds.is_not_true().and(parse(df, fix)?.is_not_null())
                }
                _ => holds.is_false(),
            }
        }
        CheckKind::Type(ty) => {
            let text = as_text(value, field_type(library, &check.field));
            let fails = match ty {
                ValueType::Integer => regexp_like(text, lit("^[+-]?[0-9]+$"), None).is_false(),
                ValueType::Decimal => {
                    let decimal = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$";
                    regexp_like(text, lit(decimal), None).is_false()
                }
                ValueType::Date => udf(Kernel::ParseDate).call(vec![text]).is_null(),
            };
            present.and(fails)
        }
        CheckKind::PersonId => present.and(udf(Kernel::IdKind).call(vec![value]).is_null()),
        // Over every row this run governs, before dedup: a value equal to its neighbour in
        // value order. Ordered within hash buckets of the value, not partitioned by the value
        // itself: DataFusion's cost per window partition made `count(*) OVER (PARTITION BY
        // value)` about 4x dearer on keys that are nearly all distinct.
        CheckKind::Unique => {
            let text = cast(value, DataType::Utf8);
            let bucket = crate::udf::key_bucket().call(vec![text.clone()]);
            let neighbour = |shifted: Expr| {
                shifted
                    .partition_by(vec![bucket.clone()])
                    .order_by(vec![text.clone().sort(true, true)])
                    .build()
            };
            let before = neighbour(lag(text.clone(), Some(1), None))?;
            let after = neighbour(lead(text.clone(), Some(1), None))?;
            present.and(
                text.clone()
                    .eq(before)
                    .is_true()
                    .or(text.eq(after).is_true()),
            )
        }
        CheckKind::NotBefore(other) => value.lt(ident(other)).is_true(),
    })
}

/// Every check's failure flag, the value each fixed field's check saw and each fix's value.
pub(super) fn check(
    pipeline: &Pipeline,
    library: &LibraryRules,
    df: DataFrame,
) -> Result<(DataFrame, Vec<PlannedCheck>), EngineError> {
    let fixed_fields: Vec<&str> = library
        .checks()
        .filter(|c| c.severity == Severity::Fix)
        .map(|c| c.field.as_str())
        .collect();
    let mut checks = Vec::new();
    let mut flags = Vec::new();
    let mut fixes = Vec::new();
    for (i, check) in library.checks().enumerate() {
        let failed = match &check.when {
            Some(condition) => parse(&df, condition)?
                .is_true()
                .and(failure(pipeline, library, &df, check)?),
            None => failure(pipeline, library, &df, check)?,
        };
        // A ragged row has no field values: its only verdict is the ingest one. A row out of
        // its source's scope meets no check.
        let failed = ident(INGEST_ERROR_COLUMN)
            .is_null()
            .and(ident(OUT_OF_SCOPE_COLUMN).is_not_true())
            .and(failed);
        let fix = match (&check.fix, check.severity) {
            (Some(fix), Severity::Fix) => Some(parse(&df, fix)?),
            _ => None,
        };
        let fix = match fix {
            Some(fix) => {
                let fixed = cast(when(ident(fail_column(i)), fix).end()?, DataType::Utf8);
                fixes.push((fix_column(i), fixed));
                Some(fix_column(i))
            }
            None => None,
        };
        let planned = PlannedCheck {
            id: check.id.clone(),
            severity: check.severity,
            field: check.field.clone(),
            failed: fail_column(i),
            // A fix may change the field after the checks: keep the value the check saw.
            // Fields without fixes keep it in the field itself (fewer columns through the
            // dedup sort).
            seen: fixed_fields
                .contains(&check.field.as_str())
                .then(|| seen_column(i)),
            fix,
        };
        flags.push((planned.failed.clone(), failed));
        if let Some(seen) = &planned.seen {
            let value = as_text(ident(&check.field), field_type(library, &check.field));
            flags.push((seen.clone(), value));
        }
        checks.push(planned);
    }
    // Fix values read the failure flags, so the flags are projected first.
    let df = project(df, flags)?;
    Ok((project(df, fixes)?, checks))
}

/// Applies the fixes in check order: a later fix of a field sees the earlier one's result.
pub(super) fn apply_fixes(
    library: &LibraryRules,
    checks: &[PlannedCheck],
    df: DataFrame,
) -> Result<DataFrame, EngineError> {
    let mut replace: Vec<(String, Expr)> = Vec::new();
    for check in checks.iter().filter(|c| c.severity == Severity::Fix) {
        let Some(fix) = &check.fix else { continue };
        let fixed_value = match field_type(library, &check.field) {
            FieldType::String => ident(fix),
            FieldType::Date => cast(ident(fix), DataType::Date32),
        };
        let current = replace
            .iter()
            .rposition(|(n, _)| *n == check.field)
            .map(|p| replace.remove(p).1)
            .unwrap_or_else(|| ident(&check.field));
        replace.push((
            check.field.clone(),
            when(ident(&check.failed), fixed_value).otherwise(current)?,
        ));
    }
    project(df, replace)
}

/// The row's verdict: rejected (a reject check or ingest failed), the reasons, and the warn
/// and fix rules that fired.
pub(super) fn verdict(checks: &[PlannedCheck], df: DataFrame) -> Result<DataFrame, EngineError> {
    let reason_of = |c: &PlannedCheck| when(ident(&c.failed), lit(c.id.clone())).end();
    let mut reject_flags = vec![ident(INGEST_ERROR_COLUMN).is_not_null()];
    // Rows ingest could not read carry their reason code (`ingest.ragged_row`, ...).
    let mut reasons = vec![ident(INGEST_ERROR_COLUMN)];
    let mut flags = Vec::new();
    for check in checks {
        match check.severity {
            Severity::Reject => {
                reject_flags.push(ident(&check.failed));
                reasons.push(reason_of(check)?);
            }
            Severity::Fix | Severity::Warn => flags.push(reason_of(check)?),
        }
    }
    let rejected = reject_flags
        .into_iter()
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false));
    let no_text = || lit(ScalarValue::Utf8(None));
    let flags_expr = if flags.is_empty() {
        cast(no_text(), DataType::Utf8)
    } else {
        let joined = concat_ws(lit("; "), flags);
        when(joined.clone().eq(lit("")), no_text()).otherwise(joined)?
    };
    let replace = vec![
        (REJECTED_COLUMN.to_owned(), rejected),
        (REASONS_COLUMN.to_owned(), concat_ws(lit("; "), reasons)),
        (FLAGS_COLUMN.to_owned(), flags_expr),
    ];
    project(df, replace)
}
