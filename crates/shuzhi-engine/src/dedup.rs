//! Exact dedup without a window: rows are hash-partitioned by key and sorted within each
//! partition by (key, rejected, delivery newest first, keep column, source, file, line), so every
//! key's survivor is the first of its run of passing rows. The sort spills under the memory
//! limit; marking is then one comparison of each key (and delivery) with the previous row's,
//! column-wise: the first row of an older delivery is superseded, the others are duplicates.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use arrow::compute::kernels::cmp::{eq, not_distinct};
use arrow::compute::{SortOptions, and, cast, concat, not};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use datafusion::physical_expr::expressions::col;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use shuzhi_rules::{Dedup, Keep};

use crate::EngineError;
use crate::arrays::null_as_false;
use crate::provenance::{
    DEPARTMENT_COLUMN, FILE_COLUMN, LINE_COLUMN, REJECTED_COLUMN, SEQ_COLUMN, SHEET_COLUMN,
    SOURCE_COLUMN,
};

/// Puts each key's rows in one partition, in survivor-first order (per department when
/// `per_department`: each department's rows of a key are a run of their own).
pub fn sort_for_dedup(
    plan: Arc<dyn ExecutionPlan>,
    key: &str,
    per_department: bool,
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
    let mut ordering = Vec::new();
    if per_department {
        ordering.push(by(DEPARTMENT_COLUMN, false)?);
    }
    ordering.extend([
        by(REJECTED_COLUMN, false)?,
        // Later deliveries win over earlier ones for the same key.
        by(SEQ_COLUMN, true)?,
        by(&dedup.order_by, dedup.keep == Keep::Latest)?,
        by(SOURCE_COLUMN, false)?,
        by(FILE_COLUMN, false)?,
        by(SHEET_COLUMN, false)?,
        by(LINE_COLUMN, false)?,
    ]);
    key_partitioned_sort(plan, key, ordering, partitions)
}

/// Hash-partitions `plan` by `key` into `partitions` and sorts each partition by `key`, then
/// by `then`: every key's rows are one run in one partition. The sort spills.
pub fn key_partitioned_sort(
    plan: Arc<dyn ExecutionPlan>,
    key: &str,
    then: Vec<PhysicalSortExpr>,
    partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>, EngineError> {
    let schema = plan.schema();
    let key = col(key, &schema)?;
    let mut ordering = vec![PhysicalSortExpr::new(
        key.clone(),
        SortOptions {
            descending: false,
            nulls_first: false,
        },
    )];
    ordering.extend(then);
    let ordering = LexOrdering::new(ordering)
        .ok_or_else(|| EngineError::Internal("empty sort ordering".into()))?;
    let hashed = RepartitionExec::try_new(plan, Partitioning::Hash(vec![key], partitions.max(1)))?;
    Ok(Arc::new(
        SortExec::new(ordering, Arc::new(hashed)).with_preserve_partitioning(true),
    ))
}

/// What the marker found in one batch.
#[derive(Debug)]
pub struct Marks {
    /// Passing rows that are not the first of their key in their delivery: dedup losers.
    pub duplicate: BooleanArray,
    /// Passing rows that won their key in an older delivery (lower `_seq`) than the key's
    /// winner: a newer delivery supersedes them.
    pub older: BooleanArray,
    /// Rows that begin a run of one key and one delivery: each duplicate lost to the last such
    /// row before it (possibly in an earlier batch).
    pub starts: BooleanArray,
}

/// Marks duplicates in one sorted partition, batch after batch.
#[derive(Debug)]
pub struct DuplicateMarker {
    key: String,
    per_department: bool,
    /// The last row's department (when per department), key and delivery.
    last: Option<(Option<String>, String, i64)>,
}

/// `column[i] == column[i - 1]` for every row, the first row compared with `first`.
fn equals_previous(column: &ArrayRef, first: bool) -> Result<BooleanArray, EngineError> {
    let n = column.len();
    if n <= 1 {
        return Ok(BooleanArray::from(vec![first; n]));
    }
    let tail = eq(&column.slice(1, n - 1), &column.slice(0, n - 1))?;
    let head = BooleanArray::from(vec![first]);
    let joined = concat(&[&head as &dyn Array, &tail])?;
    Ok(null_as_false(joined.as_boolean()))
}

impl DuplicateMarker {
    /// A marker for the key column `key`; `per_department`: rows of one key from different
    /// departments are not duplicates (a golden library's source layer).
    pub fn new(key: &str, per_department: bool) -> Self {
        Self {
            key: key.to_owned(),
            per_department,
            last: None,
        }
    }

    /// Marks the passing rows that are not their key's survivor (the first of the key).
    /// Rejected rows sort after the passing rows of their key and are never marked.
    pub fn mark(
        &mut self,
        batch: &RecordBatch,
        rejected: &BooleanArray,
    ) -> Result<Marks, EngineError> {
        let n = batch.num_rows();
        let key = batch
            .column_by_name(&self.key)
            .ok_or_else(|| EngineError::Internal(format!("plan output lacks key {}", self.key)))?;
        let key: ArrayRef = if key.data_type() == &DataType::Utf8 {
            key.clone()
        } else {
            cast(key, &DataType::Utf8)?
        };
        let seq = batch
            .column_by_name(SEQ_COLUMN)
            .ok_or_else(|| EngineError::Internal("plan output lacks _seq".into()))?;
        let seqs = seq
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| EngineError::Internal("_seq is not Int64".into()))?;
        if n == 0 {
            let none = BooleanArray::from(Vec::<bool>::new());
            return Ok(Marks {
                duplicate: none.clone(),
                older: none.clone(),
                starts: none,
            });
        }
        let keys = key.as_string::<i32>();
        let last = self.last.as_ref();
        let mut same_key = equals_previous(
            &key,
            keys.is_valid(0) && last.map(|(_, k, _)| k.as_str()) == Some(keys.value(0)),
        )?;
        // Per department, a run is one key of one department.
        let department = match self.per_department {
            true => Some(text_column(batch, DEPARTMENT_COLUMN)?),
            false => None,
        };
        if let Some(d) = department {
            let same = equals_previous(
                &(Arc::new(d.clone()) as ArrayRef),
                last.and_then(|(d, _, _)| d.as_deref()) == Some(d.value(0)),
            )?;
            same_key = and(&same_key, &same)?;
        }
        let same_seq = equals_previous(seq, last.map(|(_, _, s)| *s) == Some(seqs.value(0)))?;
        self.last = keys.is_valid(n - 1).then(|| {
            (
                department.map(|d| d.value(n - 1).to_owned()),
                keys.value(n - 1).to_owned(),
                seqs.value(n - 1),
            )
        });
        let passing = not(rejected)?;
        // Within a key, passing rows come newest delivery first.
        let in_group = and(&same_key, &same_seq)?;
        Ok(Marks {
            duplicate: and(&passing, &in_group)?,
            older: and(&and(&passing, &same_key)?, &not(&same_seq)?)?,
            starts: not(&in_group)?,
        })
    }
}

/// Where the row a duplicate lost to came from.
#[derive(Debug, Clone)]
struct Survivor {
    source: String,
    file: String,
    line: i64,
}

/// The end of the previous batch, for a run that goes on in the next one.
#[derive(Debug)]
struct RunTail {
    /// The run's survivor.
    survivor: Survivor,
    /// The last row's `order_by` value (one row).
    order: ArrayRef,
    /// Whether that value equals the survivor's.
    tie: bool,
}

/// Names, for each duplicate, the row it lost to and why (`kept ps_register a.csv:12 (later
/// registered_on)`), batch after batch of one sorted partition. Within a run of one key and one
/// delivery rows are sorted by `order_by`, so a row ties with its survivor exactly when it
/// equals every row before it: the comparison is one kernel over the column, and text is made
/// only for duplicates.
#[derive(Debug)]
pub struct Survivors {
    order_by: String,
    keep: Keep,
    tail: Option<RunTail>,
}

/// A text column of `batch`.
fn text_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray, EngineError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| EngineError::Internal(format!("plan output lacks text column {name}")))
}

/// `column[i]` not distinct from `column[i - 1]` (nulls equal) for every row; the first row is
/// compared with `before`, or with null without it (the first row of a partition starts a run,
/// so what it is compared with does not matter).
fn same_as_previous(
    column: &ArrayRef,
    before: Option<&ArrayRef>,
) -> Result<BooleanArray, EngineError> {
    let none = arrow::array::new_null_array(column.data_type(), 1);
    let first = before
        .filter(|b| b.data_type() == column.data_type())
        .unwrap_or(&none);
    let previous = concat(&[first.as_ref(), column.as_ref()])?;
    Ok(not_distinct(column, &previous.slice(0, column.len()))?)
}

impl Survivors {
    /// For a library deduplicated by `dedup`.
    pub fn new(dedup: &Dedup) -> Self {
        Self {
            order_by: dedup.order_by.clone(),
            keep: dedup.keep,
            tail: None,
        }
    }

    /// Why a survivor beat a row (`tie`: their `order_by` values are equal).
    fn reason(&self, winner: &Survivor, tie: bool) -> String {
        let order = &self.order_by;
        let why = match (tie, self.keep) {
            (true, _) => format!("same {order}, first in delivery order"),
            (false, Keep::Latest) => format!("later {order}"),
            (false, Keep::Earliest) => format!("earlier {order}"),
        };
        format!(
            "kept {} {}:{} ({why})",
            winner.source, winner.file, winner.line
        )
    }

    /// Text per row: the survivor and reason for duplicates, null for every other row.
    pub fn describe(
        &mut self,
        batch: &RecordBatch,
        marks: &Marks,
    ) -> Result<ArrayRef, EngineError> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(arrow::array::new_null_array(&DataType::Utf8, 0));
        }
        let orders = batch
            .column_by_name(&self.order_by)
            .ok_or_else(|| EngineError::Internal(format!("plan output lacks {}", self.order_by)))?;
        let tail = self.tail.take();
        let same = same_as_previous(orders, tail.as_ref().map(|t| &t.order))?;
        let (sources, files) = (
            text_column(batch, SOURCE_COLUMN)?,
            text_column(batch, FILE_COLUMN)?,
        );
        let lines = batch
            .column_by_name(LINE_COLUMN)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| EngineError::Internal("_line is not Int64".into()))?;
        let survivor = |row: usize| Survivor {
            source: sources.value(row).to_owned(),
            file: files.value(row).to_owned(),
            line: lines.value(row),
        };
        let mut out = arrow::array::StringBuilder::new();
        // The run's survivor: carried from the previous batch, or a row of this one, made into
        // text only when a duplicate names it or the run may go on in the next batch.
        let (mut winner, mut tie) = match tail {
            Some(t) => (Some(t.survivor), t.tie),
            None => (None, false),
        };
        let mut start = None;
        for row in 0..n {
            if marks.starts.value(row) {
                (start, winner, tie) = (Some(row), None, true);
            } else {
                tie &= same.value(row);
            }
            if !marks.duplicate.value(row) {
                out.append_null();
                continue;
            }
            if winner.is_none() {
                winner = start.map(survivor);
            }
            match &winner {
                Some(w) => out.append_value(self.reason(w, tie)),
                None => out.append_null(),
            }
        }
        self.tail = winner
            .or_else(|| start.map(survivor))
            .map(|survivor| RunTail {
                survivor,
                order: orders.slice(n - 1, 1),
                tie,
            });
        Ok(Arc::new(out.finish()))
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

    fn batch(rows: Vec<(Option<&str>, i64)>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new(SEQ_COLUMN, DataType::Int64, false),
        ]));
        let (keys, seqs): (Vec<Option<&str>>, Vec<i64>) = rows.into_iter().unzip();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(keys)),
                Arc::new(arrow::array::Int64Array::from(seqs)),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn marks_runs_across_batches_and_skips_rejected_and_null_keys() {
        let mut m = DuplicateMarker::new("k", false);
        // Sorted as the executor sorts: key, then passing rows before rejected ones, newest
        // delivery first, nulls last.
        let b1 = batch(vec![
            (Some("a"), 2),
            (Some("a"), 2),
            (Some("b"), 2),
            (Some("c"), 2),
        ]);
        let r1 = BooleanArray::from(vec![false, false, true, false]);
        let d1 = m.mark(&b1, &r1).expect("marks");
        assert_eq!(
            d1.duplicate,
            BooleanArray::from(vec![false, true, false, false])
        );
        // The run of `c` continues across the batch boundary.
        let b2 = batch(vec![
            (Some("c"), 2),
            (Some("c"), 2),
            (Some("d"), 2),
            (None, 2),
        ]);
        let r2 = BooleanArray::from(vec![false, true, false, true]);
        let d2 = m.mark(&b2, &r2).expect("marks");
        assert_eq!(
            d2.duplicate,
            BooleanArray::from(vec![true, false, false, false])
        );
        let b3 = batch(vec![(None, 2)]);
        let d3 = m.mark(&b3, &BooleanArray::from(vec![true])).expect("marks");
        assert_eq!(d3.duplicate, BooleanArray::from(vec![false]));
        assert_eq!(d3.older, BooleanArray::from(vec![false]));
    }

    #[test]
    fn per_department_each_department_keeps_its_copy_of_a_key() {
        let rows = [("a", "hrss"), ("a", "ps"), ("a", "ps"), ("b", "ps")];
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new(DEPARTMENT_COLUMN, DataType::Utf8, false),
            Field::new(SEQ_COLUMN, DataType::Int64, false),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(arrow::array::Int64Array::from(vec![1; 4])),
            ],
        )
        .expect("batch");
        let passing = BooleanArray::from(vec![false; 4]);
        let across = DuplicateMarker::new("k", false)
            .mark(&b, &passing)
            .expect("marks");
        assert_eq!(
            across.duplicate,
            BooleanArray::from(vec![false, true, true, false])
        );
        let within = DuplicateMarker::new("k", true)
            .mark(&b, &passing)
            .expect("marks");
        assert_eq!(
            within.duplicate,
            BooleanArray::from(vec![false, false, true, false])
        );
    }

    #[test]
    fn the_winner_of_an_older_delivery_is_superseded_its_duplicates_stay_duplicates() {
        let mut m = DuplicateMarker::new("k", false);
        let b = batch(vec![
            (Some("a"), 3),
            (Some("a"), 2),
            (Some("a"), 2),
            (Some("a"), 1),
        ]);
        let marks = m
            .mark(&b, &BooleanArray::from(vec![false; 4]))
            .expect("marks");
        assert_eq!(
            marks.duplicate,
            BooleanArray::from(vec![false, false, true, false])
        );
        assert_eq!(
            marks.older,
            BooleanArray::from(vec![false, true, false, true])
        );
        // Across the boundary: the next batch starts with another row of delivery 1.
        let b = batch(vec![(Some("a"), 1), (Some("b"), 1)]);
        let marks = m
            .mark(&b, &BooleanArray::from(vec![false; 2]))
            .expect("marks");
        assert_eq!(marks.duplicate, BooleanArray::from(vec![true, false]));
        assert_eq!(marks.older, BooleanArray::from(vec![false, false]));
    }

    /// Rows of (key, seq, line, order) from source `s`, file `f.csv`.
    fn provenanced(rows: Vec<(&str, i64, i64, &str)>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new(SEQ_COLUMN, DataType::Int64, false),
            Field::new(SOURCE_COLUMN, DataType::Utf8, false),
            Field::new(FILE_COLUMN, DataType::Utf8, false),
            Field::new(LINE_COLUMN, DataType::Int64, false),
            Field::new("on", DataType::Utf8, true),
        ]));
        let n = rows.len();
        let keys = StringArray::from_iter_values(rows.iter().map(|r| r.0));
        let orders = StringArray::from_iter_values(rows.iter().map(|r| r.3));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(keys),
                Arc::new(arrow::array::Int64Array::from_iter_values(
                    rows.iter().map(|r| r.1),
                )),
                Arc::new(StringArray::from_iter_values(std::iter::repeat_n("s", n))),
                Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                    "f.csv", n,
                ))),
                Arc::new(arrow::array::Int64Array::from_iter_values(
                    rows.iter().map(|r| r.2),
                )),
                Arc::new(orders),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn each_duplicate_names_its_survivor_across_batches() {
        let dedup = Dedup {
            order_by: "on".into(),
            keep: Keep::Latest,
        };
        let (mut marker, mut survivors) =
            (DuplicateMarker::new("k", false), Survivors::new(&dedup));
        let mut describe = |b: &RecordBatch| {
            let marks = marker
                .mark(b, &BooleanArray::from(vec![false; b.num_rows()]))
                .expect("marks");
            let text = survivors.describe(b, &marks).expect("describes");
            let text = text.as_string::<i32>();
            (0..text.len())
                .map(|i| text.is_valid(i).then(|| text.value(i).to_owned()))
                .collect::<Vec<_>>()
        };
        let first = describe(&provenanced(vec![
            ("a", 1, 7, "2024"),
            ("a", 1, 2, "2020"),
            ("b", 1, 9, "2021"),
        ]));
        assert_eq!(
            first,
            vec![None, Some("kept s f.csv:7 (later on)".to_owned()), None]
        );
        // No duplicate in this batch; its last run (c) goes on in the next one.
        assert_eq!(
            describe(&provenanced(vec![("c", 1, 3, "2022")])),
            vec![None]
        );
        assert_eq!(
            describe(&provenanced(vec![("c", 1, 4, "2022"), ("c", 1, 5, "2019")])),
            vec![
                Some("kept s f.csv:3 (same on, first in delivery order)".to_owned()),
                Some("kept s f.csv:3 (later on)".to_owned()),
            ]
        );
    }
}
