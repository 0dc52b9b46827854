//! Clean: the delivered values are kept; each field's text steps run fused in one UDF call (one
//! pass, one output array, a change bit per step); then `default` and `derive` steps fill or
//! compute values from SQL over the cleaned fields.

use arrow::datatypes::DataType;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::logical_expr::{Operator, ScalarUDF, binary_expr, cast, when};
use datafusion::prelude::{DataFrame, Expr, ident, lit};
use shuzhi_rules::{CleanStep, FieldType, LibraryRules};

use super::{PlannedField, PlannedStep, parse, project};
use crate::EngineError;
use crate::udf::{ChainPart, ChainUdf};

/// The delivered value of a field.
fn original_column(field: &str) -> String {
    format!("{field}__orig")
}

/// The change bits of a field: bit `j` is set when its `j`-th counted step changed the value.
fn change_bits_column(field: &str) -> String {
    format!("_changes__{field}")
}

/// The struct a field's fused chain returns (value and change bits), unpacked right after.
fn chain_column(field: &str) -> String {
    format!("_clean__{field}")
}

/// Keeps every field's delivered value beside it.
pub(super) fn keep_originals(
    library: &LibraryRules,
    df: DataFrame,
) -> Result<(DataFrame, Vec<PlannedField>), EngineError> {
    let fields: Vec<PlannedField> = library
        .fields
        .iter()
        .map(|f| PlannedField {
            name: f.name.clone(),
            original: original_column(&f.name),
        })
        .collect();
    let originals = fields
        .iter()
        .map(|f| (f.original.clone(), ident(&f.name)))
        .collect();
    Ok((project(df, originals)?, fields))
}

/// Runs every field's clean steps: the fused chains, then the SQL steps.
pub(super) fn clean(
    library: &LibraryRules,
    df: DataFrame,
) -> Result<(DataFrame, Vec<PlannedStep>), EngineError> {
    let mut steps = Vec::new();
    let mut chained = Vec::new();
    for field in &library.fields {
        let chain = field.chain();
        if chain.steps.is_empty() && !chain.parse_date {
            continue;
        }
        let text_steps = field.clean.iter().filter(|s| !s.is_sql());
        steps.extend(text_steps.enumerate().map(|(bit, step)| PlannedStep {
            field: field.name.clone(),
            name: step.name(),
            changes: change_bits_column(&field.name),
            bit,
        }));
        let call =
            ScalarUDF::from(ChainUdf::new(&field.name, chain)).call(vec![ident(&field.name)]);
        chained.push((field.name.clone(), call));
    }
    let df = run_chains(library, df, &chained)?;
    let chained: Vec<String> = chained.into_iter().map(|(f, _)| f).collect();
    let df = sql_steps(library, df, &chained, &mut steps)?;
    Ok((df, steps))
}

/// Projects each chain's struct, unpacks value and change bits, drops the structs.
fn run_chains(
    library: &LibraryRules,
    df: DataFrame,
    chains: &[(String, Expr)],
) -> Result<DataFrame, EngineError> {
    let structs = chains
        .iter()
        .map(|(f, call)| (chain_column(f), call.clone()))
        .collect();
    let df = project(df, structs)?;
    let mut unpacked = Vec::new();
    for (f, _) in chains {
        let date = library.field(f).is_some_and(|x| x.ty == FieldType::Date);
        let value = ScalarUDF::from(ChainPart::value(date)).call(vec![ident(chain_column(f))]);
        let changes = ScalarUDF::from(ChainPart::changes()).call(vec![ident(chain_column(f))]);
        unpacked.push((f.clone(), value));
        unpacked.push((change_bits_column(f), changes));
    }
    let df = project(df, unpacked)?;
    let struct_names: Vec<String> = chains.iter().map(|(f, _)| chain_column(f)).collect();
    Ok(df.drop_columns(&struct_names.iter().map(String::as_str).collect::<Vec<_>>())?)
}

/// `default` and `derive` steps, in rule-file order per field, each with the next change bit.
fn sql_steps(
    library: &LibraryRules,
    df: DataFrame,
    chained: &[String],
    steps: &mut Vec<PlannedStep>,
) -> Result<DataFrame, EngineError> {
    let mut replace = Vec::new();
    for field in &library.fields {
        let bits_column = change_bits_column(&field.name);
        let mut value = ident(&field.name);
        let mut bits = match chained.contains(&field.name) {
            true => ident(&bits_column),
            false => lit(0i64),
        };
        let mut bit = steps.iter().filter(|s| s.field == field.name).count();
        let mut any = false;
        for step in &field.clean {
            let (next, changed) = match step {
                CleanStep::Default { expr } => {
                    let fill = parse(&df, expr)?;
                    let filled = value.clone().is_null().and(fill.clone().is_not_null());
                    (coalesce(vec![value.clone(), fill]), filled)
                }
                CleanStep::Derive { expr } => {
                    let derived = match field.ty {
                        FieldType::String => cast(parse(&df, expr)?, DataType::Utf8),
                        FieldType::Date => cast(parse(&df, expr)?, DataType::Date32),
                    };
                    let changed =
                        binary_expr(value.clone(), Operator::IsDistinctFrom, derived.clone());
                    (derived, changed)
                }
                _ => continue,
            };
            bits = bits + when(changed, lit(1i64 << bit)).otherwise(lit(0i64))?;
            value = next;
            steps.push(PlannedStep {
                field: field.name.clone(),
                name: step.name(),
                changes: bits_column.clone(),
                bit,
            });
            bit += 1;
            any = true;
        }
        if any {
            replace.push((field.name.clone(), value));
            replace.push((bits_column, bits));
        }
    }
    project(df, replace)
}
