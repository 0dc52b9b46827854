//! The ranking of an entity's copies of one attribute: the authority registry's department
//! first, then the most recent delivery, then the longest value, then department, source, file
//! and line so the order is total; why the winner won, and why a copy lost.

use std::cmp::Ordering;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DynComparator, Int64Array, RecordBatch, StringArray,
    make_comparator,
};
use arrow::compute::{SortOptions, cast};
use arrow::datatypes::DataType;
use shuzhi_functions::entity::comparison_form;
use shuzhi_rules::Compare;

use super::{Columns, text};
use crate::EngineError;

/// Whether a stated copy is the same as the golden value under the field's comparison.
pub(super) fn same(compare: &Compare, stated: &str, golden: &str) -> bool {
    if stated == golden {
        return true;
    }
    match compare {
        Compare::Exact | Compare::Date => false,
        Compare::Normalised => comparison_form(stated) == comparison_form(golden),
        Compare::Number(tolerance) => match (stated.parse::<f64>(), golden.parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() <= tolerance.0,
            _ => false,
        },
    }
}

/// One attribute's columns in a batch.
pub(super) struct AttributeColumns {
    /// The governed value as text.
    pub(super) value: StringArray,
    pub(super) stated: StringArray,
    candidate: BooleanArray,
    authority: BooleanArray,
    /// The authority column ranked true first.
    by_authority: DynComparator,
}

impl AttributeColumns {
    pub(super) fn new(batch: &RecordBatch, cols: &[usize; 4]) -> Result<Self, EngineError> {
        let [value, stated, candidate, authority] = cols.map(|i| batch.column(i).clone());
        let flag = |c: &ArrayRef| -> Result<BooleanArray, EngineError> {
            Ok(cast(c, &DataType::Boolean)?.as_boolean().clone())
        };
        let authority = flag(&authority)?;
        let descending = SortOptions {
            descending: true,
            nulls_first: false,
        };
        Ok(AttributeColumns {
            value: text(&value)?.as_string::<i32>().clone(),
            stated: text(&stated)?.as_string::<i32>().clone(),
            candidate: flag(&candidate)?,
            by_authority: make_comparator(&authority, &authority, descending)?,
            authority,
        })
    }

    pub(super) fn candidate(&self, row: usize) -> bool {
        self.candidate.is_valid(row) && self.candidate.value(row)
    }

    fn authority(&self, row: usize) -> bool {
        self.authority.is_valid(row) && self.authority.value(row)
    }

    /// Characters of the value (a missing value counts none).
    fn length(&self, row: usize) -> usize {
        match self.value.is_null(row) {
            true => 0,
            false => self.value.value(row).chars().count(),
        }
    }
}

/// The columns every attribute's ranking shares.
pub(super) struct Ranking {
    seq: Int64Array,
    /// Delivery order, most recent first, unknown last.
    by_seq: DynComparator,
    /// Department, source, file, line: the last word, so the order is total.
    tie_breaks: Vec<DynComparator>,
}

/// The ranking of one attribute of one entity.
pub(super) struct Ranked {
    pub(super) winner: Option<usize>,
    runner_up: Option<usize>,
    pub(super) copies: usize,
}

impl Ranked {
    /// Why `winner` (the winner) won.
    pub(super) fn reason(
        &self,
        winner: usize,
        ranking: &Ranking,
        cols: &AttributeColumns,
    ) -> &'static str {
        if cols.authority(winner) {
            return "authority";
        }
        let Some(runner) = self.runner_up else {
            return "only copy";
        };
        match ranking.more_recent(winner, runner) {
            true => "recency",
            false if cols.length(runner) < cols.length(winner) => "completeness",
            false => "tie",
        }
    }
}

impl Ranking {
    pub(super) fn new(batch: &RecordBatch, c: &Columns) -> Result<Self, EngineError> {
        let seq = cast(batch.column(c.seq), &DataType::Int64)?;
        let descending = SortOptions {
            descending: true,
            nulls_first: false,
        };
        let ascending = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let tie_breaks = [c.department, c.source, c.file, c.line]
            .into_iter()
            .map(|i| {
                let col = batch.column(i);
                make_comparator(col.as_ref(), col.as_ref(), ascending)
            })
            .collect::<Result<_, _>>()?;
        Ok(Ranking {
            by_seq: make_comparator(&seq, &seq, descending)?,
            seq: seq.as_primitive().clone(),
            tie_breaks,
        })
    }

    /// Whether row `a` comes from a later delivery than row `b` (both known).
    fn more_recent(&self, a: usize, b: usize) -> bool {
        self.seq.is_valid(a) && self.seq.is_valid(b) && self.seq.value(a) > self.seq.value(b)
    }

    /// Row `a` against row `b` for one attribute: `Less` when `a` ranks first.
    fn order(&self, cols: &AttributeColumns, a: usize, b: usize) -> Ordering {
        (cols.by_authority)(a, b)
            .then_with(|| (self.by_seq)(a, b))
            .then_with(|| cols.length(b).cmp(&cols.length(a)))
            .then_with(|| {
                self.tie_breaks
                    .iter()
                    .map(|by| by(a, b))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            })
    }

    /// The winner and runner-up among the candidates in `rows`.
    pub(super) fn rank(&self, cols: &AttributeColumns, rows: std::ops::Range<usize>) -> Ranked {
        let (mut winner, mut runner_up, mut copies) = (None::<usize>, None::<usize>, 0);
        for r in rows.filter(|&r| cols.candidate(r)) {
            copies += 1;
            match winner {
                None => winner = Some(r),
                Some(w) if self.order(cols, r, w).is_lt() => {
                    runner_up = winner;
                    winner = Some(r);
                }
                Some(_) => {
                    if runner_up.is_none_or(|s| self.order(cols, r, s).is_lt()) {
                        runner_up = Some(r);
                    }
                }
            }
        }
        Ranked {
            winner,
            runner_up,
            copies,
        }
    }

    /// Why the copy in `row` lost to `winner` (`fixed`: it is the winner, whose stated value
    /// a fix changed).
    pub(super) fn conflict_reason(
        &self,
        cols: &AttributeColumns,
        row: usize,
        winner: usize,
    ) -> &'static str {
        if row == winner {
            "fixed"
        } else if cols.authority(winner) {
            "authority"
        } else if self.more_recent(winner, row) {
            "recency"
        } else if cols.length(winner) > cols.stated.value(row).chars().count() {
            "completeness"
        } else {
            "tie"
        }
    }
}
