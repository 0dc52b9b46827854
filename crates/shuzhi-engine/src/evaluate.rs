//! A library's rules applied to rows given in memory instead of delivery files — the same plan
//! as a run, minus ingest and dedup. `shuzhi test` compares the result with `[[test]]` blocks;
//! `shuzhi explain` shows it for one value.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::lit;
use shuzhi_ingest::{FILE_COLUMN, LINE_COLUMN};
use shuzhi_rules::{LibraryRules, Pipeline, RuleTest, Severity};

use crate::plan::{Delivered, plan_rules};
use crate::provenance::{FLAGS_COLUMN, REASONS_COLUMN, REJECTED_COLUMN};
use crate::source::source_schema;
use crate::{EngineConfig, EngineError, session};

/// What the rules made of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// Final value of every field, as text (dates `YYYY-MM-DD`), `None` for null.
    pub values: BTreeMap<String, Option<String>>,
    /// Whether the row goes to quarantine.
    pub rejected: bool,
    /// Reject reasons (rule ids).
    pub reasons: Vec<String>,
    /// Warn and fix rule ids.
    pub flags: Vec<String>,
    /// Every failed check: rule id, severity, field.
    pub failed: Vec<(String, Severity, String)>,
}

fn split(text: Option<&str>) -> Vec<String> {
    text.unwrap_or("")
        .split("; ")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A column as text, cast once per batch.
fn as_text(column: &ArrayRef) -> Result<StringArray, EngineError> {
    Ok(cast(column, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn text_at(text: &StringArray, row: usize) -> Option<String> {
    text.is_valid(row).then(|| text.value(row).to_owned())
}

/// Applies `library`'s rules to `rows` (field → delivered text; missing fields are null).
pub async fn evaluate(
    pipeline: &Pipeline,
    library: &LibraryRules,
    rows: &[BTreeMap<String, String>],
) -> Result<Vec<Evaluated>, EngineError> {
    let ctx = session(&EngineConfig {
        target_partitions: 1,
        ..EngineConfig::default()
    })?;
    let schema = source_schema(library);
    let n = rows.len();
    let mut columns: Vec<ArrayRef> = library
        .fields
        .iter()
        .map(|f| {
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.get(&f.name).map(String::as_str)),
            )) as ArrayRef
        })
        .collect();
    for field in &schema.fields()[library.fields.len()..] {
        columns.push(match field.name().as_str() {
            FILE_COLUMN => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                "test", n,
            ))),
            LINE_COLUMN => Arc::new(Int64Array::from_iter_values(1..=n as i64)),
            _ => new_null_array(field.data_type(), n),
        });
    }
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let table = MemTable::try_new(schema, vec![vec![batch]])?;
    let delivered = Delivered {
        source: "test",
        department: "test",
        batch: "test",
        seq: 1,
        deleted: lit(false),
    };
    let df = delivered.frame(ctx.read_table(Arc::new(table))?)?;
    let planned = plan_rules(pipeline, library, df)?;
    let batches = planned
        .frame
        .sort_by(vec![datafusion::prelude::ident(LINE_COLUMN)])?
        .collect()
        .await?;
    let mut out = Vec::with_capacity(n);
    for b in &batches {
        let column = |name: &str| {
            b.column_by_name(name)
                .cloned()
                .ok_or_else(|| EngineError::Internal(format!("evaluation lacks {name}")))
        };
        let fields: Vec<StringArray> = library
            .fields
            .iter()
            .map(|f| as_text(&column(&f.name)?))
            .collect::<Result<_, _>>()?;
        let reasons = as_text(&column(REASONS_COLUMN)?)?;
        let flags = as_text(&column(FLAGS_COLUMN)?)?;
        for row in 0..b.num_rows() {
            let mut values = BTreeMap::new();
            for (f, text) in library.fields.iter().zip(&fields) {
                values.insert(f.name.clone(), text_at(text, row));
            }
            let rejected = column(REJECTED_COLUMN)?
                .as_boolean_opt()
                .is_some_and(|r| r.is_valid(row) && r.value(row));
            let mut failed = Vec::new();
            for check in &planned.checks {
                let fail = column(&check.failed)?;
                if fail
                    .as_boolean_opt()
                    .is_some_and(|f| f.is_valid(row) && f.value(row))
                {
                    failed.push((check.id.clone(), check.severity, check.field.clone()));
                }
            }
            out.push(Evaluated {
                values,
                rejected,
                reasons: split(text_at(&reasons, row).as_deref()),
                flags: split(text_at(&flags, row).as_deref()),
                failed,
            });
        }
    }
    Ok(out)
}

/// One `[[test]]` block's outcome: the differences from what it expects (empty: passed).
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test.
    pub test: RuleTest,
    /// `what: expected …, got …` lines.
    pub differences: Vec<String>,
}

/// Runs every `[[test]]` block of `library`, each as a delivery of its own (checks across
/// rows, such as `unique`, see one test's row only).
pub async fn run_rule_tests(
    pipeline: &Pipeline,
    library: &LibraryRules,
) -> Result<Vec<TestOutcome>, EngineError> {
    let mut outcomes = Vec::with_capacity(library.tests.len());
    for test in &library.tests {
        let results = evaluate(pipeline, library, std::slice::from_ref(&test.input)).await?;
        let got = results
            .first()
            .ok_or_else(|| EngineError::Internal("a rule test row vanished".into()))?;
        outcomes.push(TestOutcome {
            differences: differences(test, got),
            test: test.clone(),
        });
    }
    Ok(outcomes)
}

fn differences(test: &RuleTest, got: &Evaluated) -> Vec<String> {
    let show = |v: Option<&String>| v.map_or("null".to_owned(), |v| format!("{v:?}"));
    let mut out = Vec::new();
    for (field, want) in &test.expect {
        let have = got.values.get(field).cloned().flatten();
        if have.as_ref() != Some(want) {
            out.push(format!(
                "{field}: expected {want:?}, got {}",
                show(have.as_ref())
            ));
        }
    }
    for field in &test.expect_null {
        if let Some(Some(have)) = got.values.get(field) {
            out.push(format!("{field}: expected null, got {have:?}"));
        }
    }
    if let Some(want) = &test.reasons
        && *want != got.reasons
    {
        out.push(format!("reasons: expected {want:?}, got {:?}", got.reasons));
    }
    if let Some(want) = &test.flags
        && *want != got.flags
    {
        out.push(format!("flags: expected {want:?}, got {:?}", got.flags));
    }
    out
}
