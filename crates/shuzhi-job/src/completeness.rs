//! Set coverage between libraries, computed after the tables are committed as anti-joins over
//! the committed versions (deletion vectors applied), so full and incremental runs agree:
//! - record completeness (GB/T 36344 数据记录完整性): a library's expected population — the
//!   codes of a code table, or the keys of another library — must all appear in one of its
//!   fields;
//! - referential integrity (关联数据一致性): the values of a field with `references` must be
//!   keys of the referenced library.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::JoinType;
use datafusion::prelude::{DataFrame, SessionContext, cast, col, ident};
use shuzhi_library::PublishedTable;
use shuzhi_library::manifest::{ExpectedPopulation, Orphans};
use shuzhi_rules::MaskKind;
use shuzhi_rules::{Pipeline, Reference};

use crate::JobError;

/// Missing values shown per library.
const SAMPLE: usize = 20;
/// Column name of the expected values.
const VALUE: &str = "_expected";

async fn column_of(
    ctx: &SessionContext,
    root: &Path,
    tables: &BTreeMap<String, PublishedTable>,
    library: &str,
    field: &str,
) -> Result<Option<DataFrame>, JobError> {
    let Some(t) = tables.get(library) else {
        return Ok(None);
    };
    let provider = shuzhi_library::table_at(ctx, root, library, t)
        .await
        .map_err(|e| JobError::Library(Box::new(e)))?;
    let df = ctx.read_table(provider)?;
    Ok(Some(df.select(vec![
        cast(ident(field), DataType::Utf8).alias(VALUE),
    ])?))
}

/// The expected population of every library that declares one; a library (or a referenced
/// library) without a table is skipped: there is nothing to measure yet.
pub async fn expected_populations(
    ctx: &SessionContext,
    root: &Path,
    pipeline: &Pipeline,
    tables: &BTreeMap<String, PublishedTable>,
) -> Result<Vec<ExpectedPopulation>, JobError> {
    let mut out = Vec::new();
    for library in &pipeline.libraries {
        let Some(expected) = &library.expected else {
            continue;
        };
        let Some(held) = column_of(ctx, root, tables, &library.name, &expected.field).await? else {
            continue;
        };
        let (reference, wanted) = match &expected.reference {
            Reference::CodeTable(name) => {
                let Some(table) = pipeline.code_tables.get(name) else {
                    continue;
                };
                let codes: StringArray = table.current().map(|(code, _)| Some(code)).collect();
                let schema = Arc::new(Schema::new(vec![Field::new(VALUE, DataType::Utf8, true)]));
                let batch = RecordBatch::try_new(schema, vec![Arc::new(codes)])?;
                (format!("code_table:{name}"), ctx.read_batch(batch)?)
            }
            Reference::Library(other) => {
                let key = pipeline
                    .library(other)
                    .map(|l| l.key.clone())
                    .ok_or_else(|| JobError::Internal(format!("library {other} vanished")))?;
                let Some(keys) = column_of(ctx, root, tables, other, &key).await? else {
                    continue;
                };
                (format!("library:{other}"), keys)
            }
        };
        let mask = library
            .field(&expected.field)
            .and_then(|f| f.display_mask());
        let (expected_count, missing_count, sample) = not_held(wanted, held, mask).await?;
        out.push(ExpectedPopulation {
            library: library.name.clone(),
            field: expected.field.clone(),
            reference,
            expected: expected_count,
            missing: missing_count,
            sample,
        });
    }
    Ok(out)
}

/// Distinct non-null values of `wanted` and how many (and which, first in order, masked) are
/// not in `held`.
async fn not_held(
    wanted: DataFrame,
    held: DataFrame,
    mask: Option<MaskKind>,
) -> Result<(u64, u64, Vec<String>), JobError> {
    let wanted = wanted.filter(col(VALUE).is_not_null())?.distinct()?;
    let total = wanted.clone().count().await? as u64;
    let held = held.with_column_renamed(VALUE, "_held")?;
    let missing = wanted
        .join(held, JoinType::LeftAnti, &[VALUE], &["_held"], None)?
        .sort(vec![col(VALUE).sort(true, false)])?;
    let missing_count = missing.clone().count().await? as u64;
    let mut sample = Vec::new();
    for batch in missing.limit(0, Some(SAMPLE))?.collect().await? {
        let values = batch.column(0).as_string::<i32>();
        for i in 0..values.len() {
            if values.is_valid(i) {
                let v = values.value(i);
                sample.push(mask.map_or_else(|| v.to_owned(), |m| m.apply(v)));
            }
        }
    }
    Ok((total, missing_count, sample))
}

/// Values of every field with `references = "<library>"` that are not keys of that library.
pub async fn orphans(
    ctx: &SessionContext,
    root: &Path,
    pipeline: &Pipeline,
    tables: &BTreeMap<String, PublishedTable>,
) -> Result<Vec<Orphans>, JobError> {
    let mut out = Vec::new();
    for library in &pipeline.libraries {
        for field in library.fields.iter().filter(|f| f.references.is_some()) {
            let Some(other) = field.references.as_ref().map(|r| r.library.as_str()) else {
                continue;
            };
            let Some(key) = pipeline.library(other).map(|l| l.key.clone()) else {
                continue;
            };
            let (Some(values), Some(keys)) = (
                column_of(ctx, root, tables, &library.name, &field.name).await?,
                column_of(ctx, root, tables, other, &key).await?,
            ) else {
                continue;
            };
            let (total, orphans, sample) = not_held(values, keys, field.display_mask()).await?;
            out.push(Orphans {
                library: library.name.clone(),
                field: field.name.clone(),
                references: other.to_owned(),
                values: total,
                orphans,
                sample,
            });
        }
    }
    Ok(out)
}
