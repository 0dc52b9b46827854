//! Exact dedup without a window: rows are hash-partitioned by key and sorted within each
//! partition by (key, rejected, keep column, source, file, line), so every key's survivor is the
//! first of its run of passing rows. The sort spills under the memory limit; marking duplicates
//! is then one comparison of each key with the previous one, column-wise.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use arrow::compute::kernels::cmp::eq;
use arrow::compute::{SortOptions, and, cast, concat, not};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::physical_expr::expressions::col;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use shuzhi_ingest::{FILE_COLUMN, LINE_COLUMN, SHEET_COLUMN};
use shuzhi_rules::{Dedup, Keep};

use crate::EngineError;
use crate::plan::{REJECTED_COLUMN, SEQ_COLUMN, SOURCE_COLUMN};
use crate::sink::null_as_false;

/// Puts each key's rows in one partition, in survivor-first order.
pub fn sort_for_dedup(
    plan: Arc<dyn ExecutionPlan>,
    key: &str,
    dedup: &Dedup,
    partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>, EngineError> {
    let schema = plan.schema();
    let by = |name: &str, descending: bool| -> Result<PhysicalSortExpr, EngineError> {
        Ok(PhysicalSortExpr::new(
            col(name, &schema)?,
            SortOptions {
                descending,
                nulls_first: false,
            },
        ))
    };
    let ordering = LexOrdering::new([
        by(key, false)?,
        by(REJECTED_COLUMN, false)?,
        // Later deliveries win over earlier ones for the same key.
        by(SEQ_COLUMN, true)?,
        by(&dedup.order_by, dedup.keep == Keep::Latest)?,
        by(SOURCE_COLUMN, false)?,
        by(FILE_COLUMN, false)?,
        by(SHEET_COLUMN, false)?,
        by(LINE_COLUMN, false)?,
    ])
    .ok_or_else(|| EngineError::Internal("empty dedup ordering".into()))?;
    let hashed = RepartitionExec::try_new(
        plan,
        Partitioning::Hash(vec![col(key, &schema)?], partitions.max(1)),
    )?;
    Ok(Arc::new(
        SortExec::new(ordering, Arc::new(hashed)).with_preserve_partitioning(true),
    ))
}

/// Marks duplicates in one sorted partition, batch after batch.
#[derive(Debug)]
pub struct DuplicateMarker {
    key: String,
    last_key: Option<String>,
}

impl DuplicateMarker {
    /// A marker for the key column `key`.
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            last_key: None,
        }
    }

    /// True for passing rows whose key equals the previous row's (the survivor is the first).
    /// Rejected rows sort after the passing rows of their key and are never duplicates.
    pub fn mark(
        &mut self,
        batch: &RecordBatch,
        rejected: &BooleanArray,
    ) -> Result<BooleanArray, EngineError> {
        let n = batch.num_rows();
        let key = batch
            .column_by_name(&self.key)
            .ok_or_else(|| EngineError::Internal(format!("plan output lacks key {}", self.key)))?;
        let key: ArrayRef = if key.data_type() == &DataType::Utf8 {
            key.clone()
        } else {
            cast(key, &DataType::Utf8)?
        };
        let keys = key.as_string::<i32>();
        if n == 0 {
            return Ok(BooleanArray::from(Vec::<bool>::new()));
        }
        let first = keys.is_valid(0) && self.last_key.as_deref() == Some(keys.value(0));
        let same = if n > 1 {
            let tail = eq(&key.slice(1, n - 1), &key.slice(0, n - 1))?;
            let head = BooleanArray::from(vec![first]);
            let joined = concat(&[&head as &dyn Array, &tail])?;
            null_as_false(joined.as_boolean())
        } else {
            BooleanArray::from(vec![first])
        };
        self.last_key = keys.is_valid(n - 1).then(|| keys.value(n - 1).to_owned());
        Ok(and(&not(rejected)?, &same)?)
    }
}

/// Text column of `value` where `mask` is set, `otherwise` elsewhere.
pub fn replace_where(
    mask: &BooleanArray,
    value: &str,
    otherwise: &ArrayRef,
) -> Result<ArrayRef, EngineError> {
    let scalar = arrow::array::Scalar::new(StringArray::from(vec![value]));
    Ok(arrow::compute::kernels::zip::zip(mask, &scalar, otherwise)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};

    fn batch(keys: Vec<Option<&str>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Utf8, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(keys))]).expect("batch")
    }

    #[test]
    fn marks_runs_across_batches_and_skips_rejected_and_null_keys() {
        let mut m = DuplicateMarker::new("k");
        // Sorted as the executor sorts: key, then passing rows before rejected ones, nulls last.
        let b1 = batch(vec![Some("a"), Some("a"), Some("b"), Some("c")]);
        let r1 = BooleanArray::from(vec![false, false, true, false]);
        let d1 = m.mark(&b1, &r1).expect("marks");
        assert_eq!(d1, BooleanArray::from(vec![false, true, false, false]));
        // The run of `c` continues across the batch boundary.
        let b2 = batch(vec![Some("c"), Some("c"), Some("d"), None]);
        let r2 = BooleanArray::from(vec![false, true, false, true]);
        let d2 = m.mark(&b2, &r2).expect("marks");
        assert_eq!(d2, BooleanArray::from(vec![true, false, false, false]));
        let b3 = batch(vec![None]);
        let d3 = m.mark(&b3, &BooleanArray::from(vec![true])).expect("marks");
        assert_eq!(d3, BooleanArray::from(vec![false]));
    }
}
