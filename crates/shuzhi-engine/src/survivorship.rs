//! Survivorship (一数一源) and cross-checking (多源校核) in one pass over a library's source
//! layer sorted by key: every run of equal keys is one entity, and for each of its attributes
//! the candidates (copies with a value that no warn check flagged) are ranked — the authority
//! registry's department first, then the most recent delivery, then the longest value, then
//! department, source, file and line so the order is total. From the ranking come, batch by
//! batch, the four golden tables: the golden records, where each attribute came from, the
//! conflicts (copies that are not the same as the winner under the field's comparison) and the
//! link of every source row to its entity. The operator holds only the rows of the entity that
//! may continue into the next batch; the sort before it spills under the memory limit.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DynComparator, Int64Array, RecordBatch, StringArray,
    StringBuilder, UInt32Array, make_comparator,
};
use arrow::compute::kernels::partition::partition;
use arrow::compute::{SortOptions, cast, concat_batches, take};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use shuzhi_functions::entity::{comparison_form, entity_id};
use shuzhi_functions::mask::MaskKind;
use shuzhi_rules::Compare;

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
        let key = text(batch.column(c.key))?;
        let key = key.as_string::<i32>();
        let ranking = Ranking::new(batch, c)?;
        let attributes: Vec<AttributeColumns> = c
            .attributes
            .iter()
            .map(|cols| AttributeColumns::new(batch, cols))
            .collect::<Result<_, _>>()?;
        let mut out = Builders::new(self.spec.attributes.len());
        for range in partition(&[batch.column(c.key).clone()])?.ranges() {
            if key.is_null(range.start) {
                // No entity: these rows link to none, which the run refuses before publishing.
                out.link_ids.extend(range.map(|_| None::<&str>));
                continue;
            }
            let entity_key = key.value(range.start);
            let id = entity_id(&self.spec.library, entity_key);
            out.link_ids
                .extend(range.clone().map(|_| Some(id.as_str())));
            out.golden_ids.append_value(&id);
            let mut key_copies = 0;
            for (i, (spec, cols)) in self.spec.attributes.iter().zip(&attributes).enumerate() {
                let ranked = ranking.rank(cols, range.clone());
                let is_key = spec.name == self.spec.key;
                if is_key {
                    key_copies = ranked.copies;
                }
                out.golden_rows[i].push(ranked.winner.map(|w| w as u32));
                let Some(winner) = ranked.winner else {
                    continue;
                };
                let reason = ranked.reason(winner, &ranking, cols);
                out.attribute(&id, &spec.name, winner as u32, ranked.copies, reason);
                if is_key {
                    continue;
                }
                let golden = cols.value.value(winner);
                for row in range.clone().filter(|&r| cols.candidate(r)) {
                    if cols.stated.is_null(row) {
                        continue;
                    }
                    let stated = cols.stated.value(row);
                    if same(&spec.compare, stated, golden) {
                        continue;
                    }
                    let reason = ranking.conflict_reason(cols, row, winner);
                    let shown = |v: &str| spec.mask.map_or_else(|| v.to_owned(), |m| m.apply(v));
                    out.conflict(Conflict {
                        id: &id,
                        entity: &self
                            .spec
                            .key_mask
                            .map_or_else(|| entity_key.to_owned(), |m| m.apply(entity_key)),
                        field: &spec.name,
                        value: &shown(stated),
                        golden_value: &shown(golden),
                        reason,
                        row: row as u32,
                        winner: winner as u32,
                    });
                }
            }
            out.golden_copies.push(key_copies as i64);
        }
        out.finish(batch, c, &self.schemas)
    }
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

/// Whether a stated copy is the same as the golden value under the field's comparison.
fn same(compare: &Compare, stated: &str, golden: &str) -> bool {
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
struct AttributeColumns {
    /// The governed value as text.
    value: StringArray,
    stated: StringArray,
    candidate: BooleanArray,
    authority: BooleanArray,
    /// The authority column ranked true first.
    by_authority: DynComparator,
}

impl AttributeColumns {
    fn new(batch: &RecordBatch, cols: &[usize; 4]) -> Result<Self, EngineError> {
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

    fn candidate(&self, row: usize) -> bool {
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
struct Ranking {
    seq: Int64Array,
    /// Delivery order, most recent first, unknown last.
    by_seq: DynComparator,
    /// Department, source, file, line: the last word, so the order is total.
    tie_breaks: Vec<DynComparator>,
}

/// The ranking of one attribute of one entity.
struct Ranked {
    winner: Option<usize>,
    runner_up: Option<usize>,
    copies: usize,
}

impl Ranked {
    /// Why `winner` (the winner) won.
    fn reason(&self, winner: usize, ranking: &Ranking, cols: &AttributeColumns) -> &'static str {
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
    fn new(batch: &RecordBatch, c: &Columns) -> Result<Self, EngineError> {
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
    fn rank(&self, cols: &AttributeColumns, rows: std::ops::Range<usize>) -> Ranked {
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
    fn conflict_reason(&self, cols: &AttributeColumns, row: usize, winner: usize) -> &'static str {
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

/// One conflict row.
struct Conflict<'a> {
    id: &'a str,
    entity: &'a str,
    field: &'a str,
    value: &'a str,
    golden_value: &'a str,
    reason: &'static str,
    row: u32,
    winner: u32,
}

/// The outputs of one batch, as they are gathered.
struct Builders {
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
    fn new(attributes: usize) -> Self {
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

    fn attribute(&mut self, id: &str, field: &str, winner: u32, copies: usize, reason: &str) {
        self.attribute_ids.append_value(id);
        self.attribute_fields.append_value(field);
        self.attribute_rows.push(winner);
        self.attribute_copies.push(copies as i64);
        self.attribute_reasons.append_value(reason);
    }

    fn conflict(&mut self, c: Conflict) {
        self.conflict_ids.append_value(c.id);
        self.conflict_entities.append_value(c.entity);
        self.conflict_fields.append_value(c.field);
        self.conflict_values.append_value(c.value);
        self.conflict_golden.append_value(c.golden_value);
        self.conflict_reasons.append_value(c.reason);
        self.conflict_rows.push(c.row);
        self.conflict_winners.push(c.winner);
    }

    fn finish(
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

/// `column` with text as plain `Utf8` (other types as they are).
fn text_or_same(column: &ArrayRef) -> Result<ArrayRef, EngineError> {
    let to = plain(column.data_type());
    Ok(match &to == column.data_type() {
        true => column.clone(),
        false => cast(column, &to)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, Int64Array};

    /// A copy: key, name, stated name, department, seq, candidate, authority of the name.
    type Copy = (
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        &'static str,
        i64,
        bool,
        bool,
    );

    fn spec(compare: Compare) -> SurvivorshipSpec {
        let attribute = |name: &str, stated: &str, i: usize, compare: Compare| Attribute {
            name: name.into(),
            stated: stated.into(),
            candidate: format!("_candidate_{i}"),
            authority: format!("_authority_{i}"),
            compare,
            mask: None,
        };
        SurvivorshipSpec {
            library: "population".into(),
            key: "id".into(),
            key_mask: Some(MaskKind::Id),
            attributes: vec![
                attribute("id", "id", 0, Compare::Exact),
                attribute("name", "_stated_name", 1, compare),
            ],
        }
    }

    fn input(copies: &[Copy]) -> RecordBatch {
        let texts = |f: &dyn Fn(&Copy) -> Option<&'static str>| -> ArrayRef {
            Arc::new(StringArray::from(copies.iter().map(f).collect::<Vec<_>>()))
        };
        let flags = |f: &dyn Fn(&Copy) -> bool| -> ArrayRef {
            Arc::new(BooleanArray::from(copies.iter().map(f).collect::<Vec<_>>()))
        };
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", texts(&|c| c.0)),
            ("name", texts(&|c| c.1)),
            ("_stated_name", texts(&|c| Some(c.2))),
            ("_department", texts(&|c| Some(c.3))),
            ("_source", texts(&|c| Some(c.3))),
            ("_batch", texts(&|_| Some("b"))),
            ("_file", texts(&|_| Some("f.csv"))),
            ("_sheet", texts(&|_| None)),
            (
                "_line",
                Arc::new(Int64Array::from_iter_values(0..copies.len() as i64)),
            ),
            (
                "_seq",
                Arc::new(Int64Array::from_iter_values(copies.iter().map(|c| c.4))),
            ),
            (
                "_delivered_on",
                Arc::new(Date32Array::from(vec![20_000; copies.len()])),
            ),
            ("_candidate_0", flags(&|c| c.0.is_some())),
            ("_authority_0", flags(&|_| false)),
            (
                "_candidate_1",
                flags(&|c| c.0.is_some() && c.1.is_some() && c.5),
            ),
            ("_authority_1", flags(&|c| c.6)),
        ];
        RecordBatch::try_from_iter(columns).expect("batch")
    }

    /// Every table's rows as text lines, sorted.
    fn lines(outs: &[GoldenBatches]) -> [Vec<String>; 4] {
        let show = |b: &RecordBatch| -> Vec<String> {
            (0..b.num_rows())
                .map(|r| {
                    b.columns()
                        .iter()
                        .map(|c| arrow::util::display::array_value_to_string(c, r).expect("shown"))
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        };
        let mut tables = [vec![], vec![], vec![], vec![]];
        for o in outs {
            for (t, b) in tables
                .iter_mut()
                .zip([&o.golden, &o.attributes, &o.conflicts, &o.link])
            {
                t.extend(show(b));
            }
        }
        tables.iter_mut().for_each(|t| t.sort());
        tables
    }

    /// The tables of `copies` fed in batches of `size` rows.
    fn run(compare: Compare, copies: &[Copy], size: usize) -> [Vec<String>; 4] {
        let batch = input(copies);
        let mut op = Survivorship::new(spec(compare), &batch.schema()).expect("operator");
        let mut outs = Vec::new();
        let mut start = 0;
        while start < batch.num_rows() {
            let n = size.min(batch.num_rows() - start);
            outs.extend(op.push(batch.slice(start, n)).expect("pushed"));
            start += n;
        }
        outs.extend(op.finish().expect("finished"));
        lines(&outs)
    }

    const A: &str = "110105194912310021";
    const B: &str = "110105195001010013";

    fn id(key: &str) -> String {
        entity_id("population", key)
    }

    #[test]
    fn authority_beats_recency_and_recency_beats_length() {
        let copies: [Copy; 5] = [
            (
                Some(A),
                Some("张三"),
                "张三",
                "public_security",
                1,
                true,
                true,
            ),
            (Some(A), Some("张三丰"), "张三丰", "hrss", 2, true, false),
            (
                Some(B),
                Some("李四"),
                "李四",
                "public_security",
                1,
                true,
                false,
            ),
            (Some(B), Some("李四光"), "李四光", "hrss", 1, true, false),
            (Some(B), Some("李"), "李", "civil_affairs", 2, true, false),
        ];
        let [golden, attributes, conflicts, link] = run(Compare::Exact, &copies, 100);
        let (a, b) = (id(A), id(B));
        assert_eq!(golden, {
            let mut g = vec![format!("{a}|{A}|张三|2"), format!("{b}|{B}|李|3")];
            g.sort();
            g
        });
        assert!(attributes.contains(&format!(
            "{a}|name|public_security|public_security|b|2024-10-04|2|authority"
        )));
        assert!(attributes.contains(&format!(
            "{b}|name|civil_affairs|civil_affairs|b|2024-10-04|3|recency"
        )));
        assert!(attributes.contains(&format!("{a}|id|hrss|hrss|b|2024-10-04|2|recency")));
        // Each losing copy is a conflict, with who wins and why.
        assert_eq!(conflicts.len(), 3);
        assert!(conflicts.contains(&format!(
            "{a}|110105********0021|name|张三丰|张三|public_security|authority|hrss|b|f.csv|1|hrss"
        )));
        assert!(conflicts.contains(&format!(
            "{b}|110105********0013|name|李四光|李|civil_affairs|recency|hrss|b|f.csv|3|hrss"
        )));
        assert_eq!(link.len(), 5);
    }

    #[test]
    fn the_longest_value_wins_a_tie_of_delivery_and_department_order_breaks_the_rest() {
        let copies: [Copy; 3] = [
            (Some(A), Some("张三"), "张三", "b_dept", 1, true, false),
            (Some(A), Some("张三丰"), "张三丰", "c_dept", 1, true, false),
            (Some(B), Some("李四"), "李四", "b_dept", 1, true, false),
        ];
        let more = [
            copies[0],
            copies[1],
            copies[2],
            (Some(B), Some("李五"), "李五", "a_dept", 1, true, false),
        ];
        let [_, attributes, conflicts, _] = run(Compare::Exact, &more, 100);
        assert!(attributes.contains(&format!(
            "{}|name|c_dept|c_dept|b|2024-10-04|2|completeness",
            id(A)
        )));
        assert!(attributes.contains(&format!("{}|name|a_dept|a_dept|b|2024-10-04|2|tie", id(B))));
        assert!(
            conflicts
                .iter()
                .any(|c| c.contains("|name|张三|张三丰|c_dept|completeness|"))
        );
    }

    #[test]
    fn flagged_and_missing_copies_take_no_part_and_normalised_text_is_the_same() {
        let copies: [Copy; 4] = [
            (Some(A), Some("張 三"), "張 三", "hrss", 2, true, false),
            (
                Some(A),
                Some("张三"),
                "张三",
                "public_security",
                1,
                true,
                true,
            ),
            (
                Some(A),
                Some("王五"),
                "王五",
                "civil_affairs",
                3,
                false,
                false,
            ),
            (Some(A), None, "", "health", 4, true, false),
        ];
        let [golden, attributes, conflicts, _] = run(Compare::Normalised, &copies, 100);
        assert_eq!(golden, vec![format!("{}|{A}|张三|4", id(A))]);
        assert!(attributes.contains(&format!(
            "{}|name|public_security|public_security|b|2024-10-04|2|authority",
            id(A)
        )));
        assert_eq!(conflicts, Vec::<String>::new());
        let [_, _, exact, _] = run(Compare::Exact, &copies, 100);
        assert_eq!(exact.len(), 1, "{exact:?}");
    }

    #[test]
    fn a_fixed_winner_is_a_conflict_with_itself() {
        let copies: [Copy; 1] = [(
            Some(A),
            Some("张三"),
            "张 三",
            "public_security",
            1,
            true,
            true,
        )];
        let [_, _, conflicts, _] = run(Compare::Exact, &copies, 100);
        assert_eq!(conflicts.len(), 1);
        assert!(conflicts[0].contains("|name|张 三|张三|public_security|fixed|"));
    }

    #[test]
    fn rows_without_a_key_link_to_no_entity() {
        let copies: [Copy; 2] = [
            (None, Some("张三"), "张三", "hrss", 1, true, false),
            (Some(A), Some("张三"), "张三", "hrss", 1, true, false),
        ];
        let [golden, _, _, link] = run(Compare::Exact, &copies, 100);
        assert_eq!(golden.len(), 1);
        assert_eq!(link.len(), 2);
        assert!(link.iter().any(|l| l.starts_with("|hrss")), "{link:?}");
    }

    #[test]
    fn entities_split_across_batches_give_the_same_tables() {
        let copies: Vec<Copy> = [A, B]
            .into_iter()
            .flat_map(|key| {
                [
                    (
                        Some(key),
                        Some("张三"),
                        "张三",
                        "public_security",
                        1,
                        true,
                        true,
                    ),
                    (Some(key), Some("张三丰"), "张三丰", "hrss", 2, true, false),
                    (
                        Some(key),
                        Some("张山"),
                        "张山",
                        "civil_affairs",
                        3,
                        true,
                        false,
                    ),
                ]
            })
            .collect();
        let whole = run(Compare::Exact, &copies, copies.len());
        for size in 1..copies.len() {
            assert_eq!(
                run(Compare::Exact, &copies, size),
                whole,
                "batches of {size}"
            );
        }
    }

    #[test]
    fn numbers_within_the_tolerance_are_the_same() {
        assert!(same(
            &Compare::Number(shuzhi_rules::Number(0.5)),
            "10.2",
            "10"
        ));
        assert!(!same(
            &Compare::Number(shuzhi_rules::Number(0.1)),
            "10.2",
            "10"
        ));
        assert!(!same(
            &Compare::Number(shuzhi_rules::Number(1.0)),
            "ten",
            "10"
        ));
        assert!(same(&Compare::Date, "2020-01-02", "2020-01-02"));
    }
}
