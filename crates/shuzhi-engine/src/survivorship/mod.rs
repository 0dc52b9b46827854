//! Survivorship (一数一源) and cross-checking (多源校核) in one pass over a library's source
//! layer sorted by key: every run of equal keys is one entity, and for each of its attributes
//! the candidates (copies with a value that no warn check flagged) are ranked — the authority
//! registry's department first, then the most recent delivery, then the longest value, then
//! department, source, file and line so the order is total. From the ranking come, batch by
//! batch, the four golden tables: the golden records, where each attribute came from, the
//! conflicts (copies that are not the same as the winner under the field's comparison) and the
//! link of every source row to its entity. The operator holds only the rows of the entity that
//! may continue into the next batch; the sort before it spills under the memory limit.

mod outputs;
mod ranking;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, make_comparator};
use arrow::compute::kernels::partition::partition;
use arrow::compute::{SortOptions, cast, concat_batches};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use shuzhi_functions::entity::entity_id;
use shuzhi_functions::mask::MaskKind;
use shuzhi_rules::Compare;

use outputs::{Builders, Conflict};
use ranking::{AttributeColumns, Ranking, same};

use crate::EngineError;
use crate::provenance::{
    BATCH_COLUMN, DEPARTMENT_COLUMN, FILE_COLUMN, LINE_COLUMN, SHEET_COLUMN, SOURCE_COLUMN,
};

/// Input column: the batch's delivery order (a later batch is a more recent delivery).
pub const SEQ_INPUT: &str = "_seq";
/// Input column: the batch's delivery date.
pub const DELIVERED_ON_INPUT: &str = "_delivered_on";

/// One attribute of a golden library, as the operator reads it.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Field name (the column of the governed value, and the name in the outputs).
    pub name: String,
    /// Column of the value the department stated before fixes (the field itself if none).
    pub stated: String,
    /// Boolean column: the copy takes part (key and value present, no warn check flagged it).
    pub candidate: String,
    /// Boolean column: the copy's department is the field's authority on its delivery date.
    pub authority: String,
    /// How copies are compared with the winner.
    pub compare: Compare,
    /// Mask of values shown in the conflicts (sensitive fields).
    pub mask: Option<MaskKind>,
}

/// What the operator needs to know of a library.
#[derive(Debug, Clone)]
pub struct SurvivorshipSpec {
    /// Library name (entity ids are per library).
    pub library: String,
    /// The key field (also one of `attributes`; never a conflict).
    pub key: String,
    /// Mask of the key shown in the conflicts.
    pub key_mask: Option<MaskKind>,
    /// Every field of the library, in its order.
    pub attributes: Vec<Attribute>,
}

/// The rows of the four golden tables that one batch of complete entities gives.
#[derive(Debug)]
pub struct GoldenBatches {
    /// One row per entity: `entity_id`, the fields, `_copies`.
    pub golden: RecordBatch,
    /// One row per entity × attribute with a value.
    pub attributes: RecordBatch,
    /// One row per copy that is not the same as the golden value.
    pub conflicts: RecordBatch,
    /// One row per source row.
    pub link: RecordBatch,
}

/// The output schemas.
#[derive(Debug, Clone)]
pub struct GoldenSchemas {
    /// Golden records.
    pub golden: SchemaRef,
    /// Attribute sources.
    pub attributes: SchemaRef,
    /// Conflicts (with the department column).
    pub conflicts: SchemaRef,
    /// Links.
    pub link: SchemaRef,
}

/// Input column positions.
#[derive(Debug)]
struct Columns {
    key: usize,
    department: usize,
    source: usize,
    batch: usize,
    file: usize,
    sheet: usize,
    line: usize,
    seq: usize,
    delivered_on: usize,
    /// Per attribute: value, stated, candidate, authority.
    attributes: Vec<[usize; 4]>,
}

/// The streaming operator over key-sorted source rows.
#[derive(Debug)]
pub struct Survivorship {
    spec: SurvivorshipSpec,
    columns: Columns,
    schemas: GoldenSchemas,
    /// Rows of the last entity seen, which the next batch may continue.
    pending: Option<RecordBatch>,
}

fn text_field(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn index_of(schema: &Schema, name: &str) -> Result<usize, EngineError> {
    schema
        .index_of(name)
        .map_err(|_| EngineError::Internal(format!("golden input lacks column {name}")))
}

impl Survivorship {
    /// An operator for `spec` over batches of `input` (sorted by the key).
    pub fn new(spec: SurvivorshipSpec, input: &Schema) -> Result<Self, EngineError> {
        let columns = Columns {
            key: index_of(input, &spec.key)?,
            department: index_of(input, DEPARTMENT_COLUMN)?,
            source: index_of(input, SOURCE_COLUMN)?,
            batch: index_of(input, BATCH_COLUMN)?,
            file: index_of(input, FILE_COLUMN)?,
            sheet: index_of(input, SHEET_COLUMN)?,
            line: index_of(input, LINE_COLUMN)?,
            seq: index_of(input, SEQ_INPUT)?,
            delivered_on: index_of(input, DELIVERED_ON_INPUT)?,
            attributes: spec
                .attributes
                .iter()
                .map(|a| {
                    Ok([
                        index_of(input, &a.name)?,
                        index_of(input, &a.stated)?,
                        index_of(input, &a.candidate)?,
                        index_of(input, &a.authority)?,
                    ])
                })
                .collect::<Result<_, EngineError>>()?,
        };
        let typed =
            |i: usize, name: &str| Field::new(name, plain(input.field(i).data_type()), true);
        let mut golden = vec![text_field("entity_id", false)];
        golden.extend(
            spec.attributes
                .iter()
                .zip(&columns.attributes)
                .map(|(a, c)| typed(c[0], &a.name)),
        );
        golden.push(Field::new("_copies", DataType::Int64, false));
        let attributes = vec![
            text_field("entity_id", false),
            text_field("field", false),
            typed(columns.department, "department"),
            typed(columns.source, "source"),
            typed(columns.batch, "batch"),
            typed(columns.delivered_on, "delivered_on"),
            Field::new("copies", DataType::Int64, false),
            text_field("reason", false),
        ];
        let conflicts = vec![
            text_field("entity_id", false),
            text_field("entity", false),
            text_field("field", false),
            text_field("value", true),
            text_field("golden_value", true),
            typed(columns.department, "golden_department"),
            text_field("reason", false),
            typed(columns.source, SOURCE_COLUMN),
            typed(columns.batch, BATCH_COLUMN),
            typed(columns.file, FILE_COLUMN),
            typed(columns.line, LINE_COLUMN),
            typed(columns.department, DEPARTMENT_COLUMN),
        ];
        let link = vec![
            text_field("entity_id", true),
            typed(columns.department, DEPARTMENT_COLUMN),
            typed(columns.source, SOURCE_COLUMN),
            typed(columns.batch, BATCH_COLUMN),
            typed(columns.file, FILE_COLUMN),
            typed(columns.sheet, SHEET_COLUMN),
            typed(columns.line, LINE_COLUMN),
        ];
        let schema = |fields: Vec<Field>| Arc::new(Schema::new(fields));
        Ok(Survivorship {
            schemas: GoldenSchemas {
                golden: schema(golden),
                attributes: schema(attributes),
                conflicts: schema(conflicts),
                link: schema(link),
            },
            spec,
            columns,
            pending: None,
        })
    }

    /// The schemas of the batches the operator gives.
    pub fn schemas(&self) -> &GoldenSchemas {
        &self.schemas
    }

    /// Takes the next batch; gives the tables' rows of the entities it completes (at most
    /// two parts: the entity carried over from the last batch, then the batch's own).
    pub fn push(&mut self, batch: RecordBatch) -> Result<Vec<GoldenBatches>, EngineError> {
        let mut out = Vec::new();
        let mut batch = batch;
        if let Some(pending) = self.pending.take() {
            let continuing = self.continuing(&pending, &batch)?;
            let joined = concat_batches(&batch.schema(), [&pending, &batch.slice(0, continuing)])?;
            if continuing == batch.num_rows() {
                self.pending = Some(joined);
                return Ok(out);
            }
            out.push(self.entities(&joined)?);
            batch = batch.slice(continuing, batch.num_rows() - continuing);
        }
        if batch.num_rows() == 0 {
            return Ok(out);
        }
        let key = batch.column(self.columns.key).clone();
        let last = partition(&[key])?.ranges().last().map_or(0, |r| r.start);
        if last > 0 {
            out.push(self.entities(&batch.slice(0, last))?);
        }
        self.pending = Some(batch.slice(last, batch.num_rows() - last));
        Ok(out)
    }

    /// The rows of the last entity, once the input has ended.
    pub fn finish(&mut self) -> Result<Option<GoldenBatches>, EngineError> {
        self.pending.take().map(|p| self.entities(&p)).transpose()
    }

    /// How many leading rows of `batch` have the key of `pending`'s rows.
    fn continuing(&self, pending: &RecordBatch, batch: &RecordBatch) -> Result<usize, EngineError> {
        let k = self.columns.key;
        let last = pending.column(k).slice(pending.num_rows() - 1, 1);
        let same = make_comparator(
            last.as_ref(),
            batch.column(k).as_ref(),
            SortOptions::default(),
        )?;
        Ok((0..batch.num_rows())
            .take_while(|&i| same(0, i) == Ordering::Equal)
            .count())
    }

    /// The tables' rows of `batch`, whose entities are complete.
    fn entities(&self, batch: &RecordBatch) -> Result<GoldenBatches, EngineError> {
        let c = &self.columns;
        let keys = text(batch.column(c.key))?;
        let ranking = Ranking::new(batch, c)?;
        let attributes: Vec<AttributeColumns> = c
            .attributes
            .iter()
            .map(|cols| AttributeColumns::new(batch, cols))
            .collect::<Result<_, _>>()?;
        let mut out = Builders::new(self.spec.attributes.len());
        for rows in partition(std::slice::from_ref(&keys))?.ranges() {
            let keys = keys.as_string::<i32>();
            if keys.is_null(rows.start) {
                // No entity: these rows link to none, which the run refuses before publishing.
                out.unlinked(rows.len());
                continue;
            }
            let key = keys.value(rows.start);
            let entity = Entity {
                id: entity_id(&self.spec.library, key),
                key,
                rows,
            };
            // Every row of the entity has the key: its copies are the entity's rows.
            out.entity(&entity.id, entity.rows.len());
            for (i, (spec, cols)) in self.spec.attributes.iter().zip(&attributes).enumerate() {
                let ranked = ranking.rank(cols, entity.rows.clone());
                out.winner(i, ranked.winner);
                let Some(winner) = ranked.winner else {
                    continue;
                };
                let reason = ranked.reason(winner, &ranking, cols);
                out.attribute(&entity.id, &spec.name, winner, ranked.copies, reason);
                if spec.name != self.spec.key {
                    self.conflicts(&mut out, &entity, spec, cols, &ranking, winner);
                }
            }
        }
        out.finish(batch, c, &self.schemas)
    }

    /// The copies of one attribute of `entity` that are not the same as its `winner`'s value.
    fn conflicts(
        &self,
        out: &mut Builders,
        entity: &Entity,
        spec: &Attribute,
        cols: &AttributeColumns,
        ranking: &Ranking,
        winner: usize,
    ) {
        let golden = cols.value.value(winner);
        let shown =
            |mask: Option<MaskKind>, v: &str| mask.map_or_else(|| v.to_owned(), |m| m.apply(v));
        for row in entity.rows.clone().filter(|&r| cols.candidate(r)) {
            if cols.stated.is_null(row) || same(&spec.compare, cols.stated.value(row), golden) {
                continue;
            }
            let stated = cols.stated.value(row);
            out.conflict(Conflict {
                id: &entity.id,
                entity: &shown(self.spec.key_mask, entity.key),
                field: &spec.name,
                value: &shown(spec.mask, stated),
                golden_value: &shown(spec.mask, golden),
                reason: ranking.conflict_reason(cols, row, winner),
                row,
                winner,
            });
        }
    }
}

/// One entity of a batch: its key, id and rows.
struct Entity<'a> {
    key: &'a str,
    id: String,
    rows: std::ops::Range<usize>,
}

/// `data_type` as the outputs store it: text as plain `Utf8`.
fn plain(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _) => DataType::Utf8,
        other => other.clone(),
    }
}

/// `column` as `Utf8` text.
fn text(column: &ArrayRef) -> Result<ArrayRef, EngineError> {
    Ok(match column.data_type() {
        DataType::Utf8 => column.clone(),
        _ => cast(column, &DataType::Utf8)?,
    })
}

/// `column` with text as plain `Utf8` (other types as they are).
fn text_or_same(column: &ArrayRef) -> Result<ArrayRef, EngineError> {
    let to = plain(column.data_type());
    Ok(match &to == column.data_type() {
        true => column.clone(),
        false => cast(column, &to)?,
    })
}
