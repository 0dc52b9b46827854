//! The four golden tables' rows of one batch, gathered as entities are ranked: indices into
//! the batch for what is taken from it, builders for what is made (ids, reasons, masked values).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringBuilder, UInt32Array};
use arrow::compute::take;

use super::{Columns, GoldenBatches, GoldenSchemas, text_or_same};
use crate::EngineError;

/// One conflict row.
pub(super) struct Conflict<'a> {
    pub(super) id: &'a str,
    pub(super) entity: &'a str,
    pub(super) field: &'a str,
    pub(super) value: &'a str,
    pub(super) golden_value: &'a str,
    pub(super) reason: &'static str,
    pub(super) row: usize,
    pub(super) winner: usize,
}

/// The outputs of one batch, as they are gathered.
pub(super) struct Builders {
    golden_ids: StringBuilder,
    /// Per attribute, the winning row of each entity.
    golden_rows: Vec<Vec<Option<u32>>>,
    golden_copies: Vec<i64>,
    attribute_ids: StringBuilder,
    attribute_fields: StringBuilder,
    attribute_rows: Vec<u32>,
    attribute_copies: Vec<i64>,
    attribute_reasons: StringBuilder,
    conflict_ids: StringBuilder,
    conflict_entities: StringBuilder,
    conflict_fields: StringBuilder,
    conflict_values: StringBuilder,
    conflict_golden: StringBuilder,
    conflict_reasons: StringBuilder,
    conflict_rows: Vec<u32>,
    conflict_winners: Vec<u32>,
    link_ids: StringBuilder,
}

impl Builders {
    pub(super) fn new(attributes: usize) -> Self {
        Builders {
            golden_ids: StringBuilder::new(),
            golden_rows: vec![Vec::new(); attributes],
            golden_copies: Vec::new(),
            attribute_ids: StringBuilder::new(),
            attribute_fields: StringBuilder::new(),
            attribute_rows: Vec::new(),
            attribute_copies: Vec::new(),
            attribute_reasons: StringBuilder::new(),
            conflict_ids: StringBuilder::new(),
            conflict_entities: StringBuilder::new(),
            conflict_fields: StringBuilder::new(),
            conflict_values: StringBuilder::new(),
            conflict_golden: StringBuilder::new(),
            conflict_reasons: StringBuilder::new(),
            conflict_rows: Vec::new(),
            conflict_winners: Vec::new(),
            link_ids: StringBuilder::new(),
        }
    }

    /// `rows` source rows that link to no entity (their key is null).
    pub(super) fn unlinked(&mut self, rows: usize) {
        self.link_ids
            .extend(std::iter::repeat_n(None::<&str>, rows));
    }

    /// An entity with `rows` copies: its golden record, and a link for each of its rows.
    pub(super) fn entity(&mut self, id: &str, rows: usize) {
        self.golden_ids.append_value(id);
        self.golden_copies.push(rows as i64);
        self.link_ids.extend(std::iter::repeat_n(Some(id), rows));
    }

    /// The row whose value attribute `attribute` of the current entity takes (none: null).
    pub(super) fn winner(&mut self, attribute: usize, row: Option<usize>) {
        self.golden_rows[attribute].push(row.map(|r| r as u32));
    }

    /// Where attribute `field` of entity `id` came from.
    pub(super) fn attribute(
        &mut self,
        id: &str,
        field: &str,
        winner: usize,
        copies: usize,
        reason: &str,
    ) {
        self.attribute_ids.append_value(id);
        self.attribute_fields.append_value(field);
        self.attribute_rows.push(winner as u32);
        self.attribute_copies.push(copies as i64);
        self.attribute_reasons.append_value(reason);
    }

    /// A copy that is not the same as the golden value.
    pub(super) fn conflict(&mut self, c: Conflict) {
        self.conflict_ids.append_value(c.id);
        self.conflict_entities.append_value(c.entity);
        self.conflict_fields.append_value(c.field);
        self.conflict_values.append_value(c.value);
        self.conflict_golden.append_value(c.golden_value);
        self.conflict_reasons.append_value(c.reason);
        self.conflict_rows.push(c.row as u32);
        self.conflict_winners.push(c.winner as u32);
    }

    pub(super) fn finish(
        mut self,
        batch: &RecordBatch,
        c: &Columns,
        schemas: &GoldenSchemas,
    ) -> Result<GoldenBatches, EngineError> {
        let pick = |column: usize, rows: &[u32]| -> Result<ArrayRef, EngineError> {
            let rows = UInt32Array::from(rows.to_vec());
            let values = text_or_same(batch.column(column))?;
            Ok(take(values.as_ref(), &rows, None)?)
        };
        let mut golden: Vec<ArrayRef> = vec![Arc::new(self.golden_ids.finish())];
        for (rows, cols) in self.golden_rows.iter().zip(&c.attributes) {
            let rows = UInt32Array::from(rows.clone());
            let values = text_or_same(batch.column(cols[0]))?;
            golden.push(take(values.as_ref(), &rows, None)?);
        }
        golden.push(Arc::new(Int64Array::from(std::mem::take(
            &mut self.golden_copies,
        ))));
        let a = &self.attribute_rows;
        let attributes: Vec<ArrayRef> = vec![
            Arc::new(self.attribute_ids.finish()),
            Arc::new(self.attribute_fields.finish()),
            pick(c.department, a)?,
            pick(c.source, a)?,
            pick(c.batch, a)?,
            pick(c.delivered_on, a)?,
            Arc::new(Int64Array::from(self.attribute_copies.clone())),
            Arc::new(self.attribute_reasons.finish()),
        ];
        let (rows, winners) = (&self.conflict_rows, &self.conflict_winners);
        let conflicts: Vec<ArrayRef> = vec![
            Arc::new(self.conflict_ids.finish()),
            Arc::new(self.conflict_entities.finish()),
            Arc::new(self.conflict_fields.finish()),
            Arc::new(self.conflict_values.finish()),
            Arc::new(self.conflict_golden.finish()),
            pick(c.department, winners)?,
            Arc::new(self.conflict_reasons.finish()),
            pick(c.source, rows)?,
            pick(c.batch, rows)?,
            pick(c.file, rows)?,
            pick(c.line, rows)?,
            pick(c.department, rows)?,
        ];
        let mut link: Vec<ArrayRef> = vec![Arc::new(self.link_ids.finish())];
        for i in [c.department, c.source, c.batch, c.file, c.sheet, c.line] {
            link.push(text_or_same(batch.column(i))?);
        }
        Ok(GoldenBatches {
            golden: RecordBatch::try_new(schemas.golden.clone(), golden)?,
            attributes: RecordBatch::try_new(schemas.attributes.clone(), attributes)?,
            conflicts: RecordBatch::try_new(schemas.conflicts.clone(), conflicts)?,
            link: RecordBatch::try_new(schemas.link.clone(), link)?,
        })
    }
}
