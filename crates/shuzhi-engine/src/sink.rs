//! The split sink: each batch of a library plan is routed, column-wise, to the library table,
//! the quarantine (all reasons + provenance) and the verdicts (one row per failed check).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, StringArray, new_null_array};
use arrow::compute::kernels::cmp::eq;
use arrow::compute::{filter, filter_record_batch, not, or};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use shuzhi_functions::mask::{MaskKind, mask_array};
use shuzhi_ingest::reason;
use shuzhi_library::{PartitionedWriter, WriteOptions, Writer, WrittenFile};
use shuzhi_report::RunCounts;
use shuzhi_rules::{FieldType, Severity};

use crate::EngineError;
use crate::arrays::null_as_false;
use crate::dedup::{DuplicateMarker, Survivors, replace_where};
use crate::dirs::OutputDirs;
use crate::plan::golden::{GoldenTable, STATED_PREFIX, stated_column};
use crate::plan::scope::out_of_scope_rule;
use crate::plan::{PlannedCheck, PlannedLibrary, dedup_rule, deleted_rule, superseded_rule};
use crate::provenance::{
    BATCH_COLUMN, DELETED_COLUMN, DEPARTMENT_COLUMN, FILE_COLUMN, FLAGS_COLUMN,
    INGEST_ERROR_COLUMN, LINE_COLUMN, OUT_OF_SCOPE_COLUMN, RAW_COLUMN, REASONS_COLUMN,
    REJECTED_COLUMN, RUN_ID_COLUMN, SHEET_COLUMN, SOURCE_COLUMN, department_field, stored_fields,
};

/// Verdict column: the row's library key (its entity), masked like the key field.
pub const ENTITY_COLUMN: &str = "entity";
/// Verdict column: for a dedup verdict, the row it lost to and why.
pub const AGAINST_COLUMN: &str = "against";

/// One kind of verdict for the rows that failed it.
struct Verdict<'a> {
    rule: &'a str,
    severity: Severity,
    field: Option<&'a str>,
    /// Original, cleaned and fixed values.
    values: [ArrayRef; 3],
    /// What the row lost to (dedup), per row of the batch.
    against: Option<&'a ArrayRef>,
}

/// Schemas of the three outputs of a library.
#[derive(Debug, Clone)]
pub struct OutputSchemas {
    /// Library table (the source layer of a golden library, without its partition column).
    pub library: SchemaRef,
    /// Quarantine table, without the partition column.
    pub quarantine: SchemaRef,
    /// Verdict table, without the partition column.
    pub verdicts: SchemaRef,
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// Adds the partition column back, for the table's logical schema.
pub fn with_partition(schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(department_field());
    Arc::new(Schema::new(fields))
}

impl OutputSchemas {
    /// Schemas for a planned library.
    pub fn of(planned: &PlannedLibrary) -> Self {
        let typed = planned.rules.fields.iter().map(|f| match f.ty {
            FieldType::String => text(&f.name),
            FieldType::Date => Field::new(&f.name, DataType::Date32, true),
        });
        let mut library: Vec<Field> = typed.collect();
        if planned.rules.golden {
            library.extend(planned.stated_fields().map(|f| text(&stated_column(f))));
        }
        library.push(text(FLAGS_COLUMN));
        // A golden library's source layer is partitioned by department.
        if !planned.rules.golden {
            library.push(department_field());
        }
        library.extend(stored_fields());
        let mut quarantine: Vec<Field> =
            planned.rules.fields.iter().map(|f| text(&f.name)).collect();
        quarantine.push(Field::new(REASONS_COLUMN, DataType::Utf8, false));
        quarantine.push(text(RAW_COLUMN));
        quarantine.extend(stored_fields());
        let mut verdicts = vec![
            Field::new("library", DataType::Utf8, false),
            Field::new("rule", DataType::Utf8, false),
            Field::new("severity", DataType::Utf8, false),
            text("field"),
            text(ENTITY_COLUMN),
            text("original"),
            text("cleaned"),
            text("fixed"),
            text(AGAINST_COLUMN),
        ];
        verdicts.extend(stored_fields());
        Self {
            library: Arc::new(Schema::new(library)),
            quarantine: Arc::new(Schema::new(quarantine)),
            verdicts: Arc::new(Schema::new(verdicts)),
        }
    }
}

/// Files written by one sink.
#[derive(Debug, Default)]
pub struct SinkFiles {
    /// Library table files.
    pub library: Vec<WrittenFile>,
    /// Quarantine files.
    pub quarantine: Vec<WrittenFile>,
    /// Verdict files.
    pub verdicts: Vec<WrittenFile>,
    /// The departments and keys whose survivor came from the newest delivery governed, when
    /// asked for (see [`SplitSink::new`]): an incremental run supersedes the published rows of
    /// these keys (of the same department, in a golden library's source layer).
    pub winning_keys: Vec<(ArrayRef, ArrayRef)>,
}

/// Routes one output partition's batches.
pub struct SplitSink {
    planned: Arc<PlannedLibrary>,
    schemas: OutputSchemas,
    run_id: String,
    library: PartitionedWriter,
    quarantine: PartitionedWriter,
    verdicts: PartitionedWriter,
    duplicates: Option<(DuplicateMarker, Survivors)>,
    winning_keys: Option<Vec<(ArrayRef, ArrayRef)>>,
    counts: RunCounts,
}

/// The column `name` of `batch`; its absence is an engine bug.
pub fn column(batch: &RecordBatch, name: &str) -> Result<ArrayRef, EngineError> {
    batch
        .column_by_name(name)
        .cloned()
        .ok_or_else(|| EngineError::Internal(format!("plan output lacks column {name}")))
}

fn mask(batch: &RecordBatch, name: &str) -> Result<BooleanArray, EngineError> {
    let a = column(batch, name)?;
    let b = a
        .as_boolean_opt()
        .ok_or_else(|| EngineError::Internal(format!("{name} is not boolean")))?;
    Ok(null_as_false(b))
}

/// The distinct values of a low-cardinality text column (sources, departments), each with the
/// mask of its rows.
fn distinct_masks(values: &ArrayRef) -> Result<Vec<(String, BooleanArray)>, EngineError> {
    let strings = values
        .as_string_opt::<i32>()
        .ok_or_else(|| EngineError::Internal("provenance column is not Utf8".into()))?;
    let mut distinct: Vec<&str> = Vec::new();
    for v in strings.iter().flatten() {
        if distinct.last() != Some(&v) && !distinct.contains(&v) {
            distinct.push(v);
        }
    }
    distinct
        .into_iter()
        .map(|v| {
            let m = eq(
                values,
                &arrow::array::Scalar::new(StringArray::from(vec![v])),
            )?;
            Ok((v.to_owned(), m))
        })
        .collect()
}

/// The value a check saw, as text: its own column when a fix may have changed the field since.
fn checked_value(batch: &RecordBatch, check: &PlannedCheck) -> Result<ArrayRef, EngineError> {
    match &check.seen {
        Some(seen) => column(batch, seen),
        None => Ok(arrow::compute::cast(
            &column(batch, &check.field)?,
            &DataType::Utf8,
        )?),
    }
}

/// Writes `rows` (restricted to `selected`, when given) to `writer`, one file per department.
pub fn write_by_department(
    writer: &mut PartitionedWriter,
    rows: &RecordBatch,
    departments: &ArrayRef,
    selected: Option<&BooleanArray>,
) -> Result<(), EngineError> {
    for (department, in_department) in distinct_masks(departments)? {
        let m = match selected {
            Some(selected) => arrow::compute::and(&in_department, selected)?,
            None => in_department,
        };
        if m.true_count() > 0 {
            writer.write(&filter_record_batch(rows, &m)?, Some(&department))?;
        }
    }
    Ok(())
}

/// A text column repeating `value`.
pub fn constant(value: &str, len: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
        value, len,
    )))
}

impl SplitSink {
    /// A sink for output partition `stream`; `collect_keys` keeps the winning keys.
    pub fn new(
        planned: Arc<PlannedLibrary>,
        dirs: &OutputDirs,
        stream: usize,
        options: &WriteOptions,
        collect_keys: bool,
    ) -> Self {
        let schemas = OutputSchemas::of(&planned);
        let lib = &planned.rules.name;
        let (library_dir, library_partition) = match planned.rules.golden {
            true => (
                dirs.golden(lib, GoldenTable::Source),
                GoldenTable::Source.partition(),
            ),
            false => (dirs.library(lib), None),
        };
        Self {
            library: PartitionedWriter::new(
                &library_dir,
                schemas.library.clone(),
                library_partition,
                Writer::Stream(stream),
                options.clone(),
            ),
            quarantine: PartitionedWriter::new(
                &dirs.quarantine(lib),
                schemas.quarantine.clone(),
                Some(DEPARTMENT_COLUMN),
                Writer::Stream(stream),
                options.clone(),
            ),
            verdicts: PartitionedWriter::new(
                &dirs.verdicts(),
                schemas.verdicts.clone(),
                Some(DEPARTMENT_COLUMN),
                // Libraries share the verdict table: keep their file names apart.
                Writer::LibraryStream {
                    library: dirs.library_index(lib),
                    stream,
                },
                options.clone(),
            ),
            run_id: options.run_id.clone(),
            duplicates: planned.dedup.as_ref().map(|d| {
                let marker = DuplicateMarker::new(&planned.rules.key, planned.rules.golden);
                (marker, Survivors::new(d))
            }),
            winning_keys: collect_keys.then(Vec::new),
            planned,
            schemas,
            counts: RunCounts::default(),
        }
    }

    /// Routes one batch.
    pub fn consume(&mut self, batch: &RecordBatch) -> Result<(), EngineError> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        let rejected = mask(batch, REJECTED_COLUMN)?;
        // Rows out of their source's scope compete for no key and go to quarantine.
        let out_of_scope = mask(batch, OUT_OF_SCOPE_COLUMN)?;
        let excluded = or(&rejected, &out_of_scope)?;
        let (marks, survivors) = match &mut self.duplicates {
            Some((marker, survivors)) => {
                let marks = marker.mark(batch, &excluded)?;
                let described = survivors.describe(batch, &marks)?;
                (Some(marks), Some(described))
            }
            None => (None, None),
        };
        let duplicate = marks.as_ref().map(|m| m.duplicate.clone());
        let dropped = match &duplicate {
            Some(dup) => or(&excluded, dup)?,
            None => excluded,
        };
        // A cdc delete that won its key in its delivery removes it: the row goes to quarantine
        // as the record of the deletion. Any other winner of an older delivery is superseded by
        // the newer one; its record keeps the key and the provenance.
        let delete_flag = mask(batch, DELETED_COLUMN)?;
        let first_of_delivery = not(&dropped)?;
        let deleted = arrow::compute::and(&first_of_delivery, &delete_flag)?;
        let (superseded, winners) = match &marks {
            Some(m) => (
                arrow::compute::and(&m.older, &not(&delete_flag)?)?,
                arrow::compute::and(&first_of_delivery, &not(&m.older)?)?,
            ),
            None => (BooleanArray::from(vec![false; n]), first_of_delivery),
        };
        let quarantined = or(&or(&dropped, &deleted)?, &superseded)?;
        let kept = not(&quarantined)?;
        let departments = column(batch, DEPARTMENT_COLUMN)?;
        if let Some(keys) = &mut self.winning_keys {
            let key = column(batch, &self.planned.rules.key)?;
            keys.push((
                filter(&departments, &winners)?,
                arrow::compute::cast(&filter(&key, &winners)?, &DataType::Utf8)?,
            ));
        }
        let run_id = constant(&self.run_id, n);
        self.count_sources(batch, &kept, &rejected, &out_of_scope)?;
        self.count_changes(batch)?;

        // Library rows.
        let mut cols: Vec<ArrayRef> = Vec::new();
        for f in self.schemas.library.fields() {
            let stated = f
                .name()
                .strip_prefix(STATED_PREFIX)
                .and_then(|field| self.planned.stated(field));
            cols.push(match stated {
                _ if f.name() == RUN_ID_COLUMN => run_id.clone(),
                Some(stated) => column(batch, stated)?,
                None => column(batch, f.name())?,
            });
        }
        let rows = RecordBatch::try_new(self.schemas.library.clone(), cols)?;
        match self.planned.rules.golden {
            true => write_by_department(&mut self.library, &rows, &departments, Some(&kept))?,
            false => self
                .library
                .write(&filter_record_batch(&rows, &kept)?, None)?,
        }

        // Quarantine rows: delivered values, reasons, provenance; a superseded row's record
        // holds its key as governed (its values are in the archived delivery it came from).
        let lib = &self.planned.rules.name;
        let any_superseded = superseded.true_count() > 0;
        let mut cols: Vec<ArrayRef> = Vec::new();
        for f in self.planned.rules.fields.iter() {
            let delivered = column(batch, self.planned.original(&f.name)?)?;
            cols.push(match any_superseded {
                false => delivered,
                true if f.name == self.planned.rules.key => {
                    let governed = arrow::compute::cast(&column(batch, &f.name)?, &DataType::Utf8)?;
                    arrow::compute::kernels::zip::zip(&superseded, &governed, &delivered)?
                }
                true => arrow::compute::nullif(&delivered, &superseded)?,
            });
        }
        let mut reasons = column(batch, REASONS_COLUMN)?;
        if let Some(dup) = &duplicate {
            reasons = replace_where(dup, &dedup_rule(lib), &reasons)?;
        }
        if out_of_scope.true_count() > 0 {
            reasons = replace_where(&out_of_scope, &out_of_scope_rule(lib), &reasons)?;
        }
        for (rows, rule) in [
            (&deleted, deleted_rule(lib)),
            (&superseded, superseded_rule(lib)),
        ] {
            let count = rows.true_count() as u64;
            if count > 0 {
                *self.counts.rule_failures.entry(rule.clone()).or_default() += count;
                reasons = replace_where(rows, &rule, &reasons)?;
            }
        }
        cols.push(reasons);
        let raw = column(batch, RAW_COLUMN)?;
        cols.push(match any_superseded {
            true => arrow::compute::nullif(&raw, &superseded)?,
            false => raw,
        });
        cols.push(column(batch, SOURCE_COLUMN)?);
        cols.push(column(batch, BATCH_COLUMN)?);
        cols.push(column(batch, FILE_COLUMN)?);
        cols.push(column(batch, SHEET_COLUMN)?);
        cols.push(column(batch, LINE_COLUMN)?);
        cols.push(run_id);
        let rows = RecordBatch::try_new(self.schemas.quarantine.clone(), cols)?;
        write_by_department(
            &mut self.quarantine,
            &rows,
            &departments,
            Some(&quarantined),
        )?;

        let lost = duplicate.as_ref().zip(survivors.as_ref());
        self.write_verdicts(batch, &departments, lost)
    }

    fn count_sources(
        &mut self,
        batch: &RecordBatch,
        kept: &BooleanArray,
        rejected: &BooleanArray,
        out_of_scope: &BooleanArray,
    ) -> Result<(), EngineError> {
        let sources = column(batch, SOURCE_COLUMN)?;
        for (source, in_source) in distinct_masks(&sources)? {
            let kept_here = arrow::compute::and(&in_source, kept)?.true_count() as u64;
            let rejected_here = arrow::compute::and(&in_source, rejected)?.true_count() as u64;
            let out_here = arrow::compute::and(&in_source, out_of_scope)?.true_count() as u64;
            let rows = in_source.true_count() as u64;
            let e = self.counts.sources.entry(source).or_default();
            e.read += rows;
            e.kept += kept_here;
            e.quarantined += rows - kept_here;
            e.rejected += rejected_here;
            e.out_of_scope += out_here;
        }
        Ok(())
    }

    fn count_changes(&mut self, batch: &RecordBatch) -> Result<(), EngineError> {
        let lib = &self.planned.rules.name;
        for step in &self.planned.steps {
            let word = column(batch, &step.changes)?;
            let word = word
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
                .ok_or_else(|| EngineError::Internal("change bits are not Int64".into()))?;
            let bit = 1i64 << step.bit;
            let changed = word.values().iter().filter(|v| *v & bit != 0).count() as u64;
            *self
                .counts
                .step_changes
                .entry(format!("{lib}.{}.{}", step.field, step.name))
                .or_default() += changed;
        }
        Ok(())
    }

    /// Verdict rows for the `selected` rows: only the varying columns are filtered, the
    /// constant ones are made at the filtered length.
    fn verdict_rows(
        &self,
        batch: &RecordBatch,
        selected: &BooleanArray,
        verdict: Verdict,
    ) -> Result<RecordBatch, EngineError> {
        let n = selected.true_count();
        let picked = |a: &ArrayRef| filter(a.as_ref(), selected);
        let field = verdict.field;
        let field_col = match field {
            Some(f) => constant(f, n),
            None => new_null_array(&DataType::Utf8, n),
        };
        // Sensitive values are shown masked; a raw line (no field) is masked when the library
        // has any sensitive field, since it holds them all.
        let rules = &self.planned.rules;
        let mask_of = |f: &str| {
            rules
                .fields
                .iter()
                .find(|x| x.name == f)
                .and_then(|x| x.display_mask())
        };
        let display = match field {
            Some(f) => mask_of(f),
            None => rules
                .fields
                .iter()
                .any(|x| x.display_mask().is_some())
                .then_some(MaskKind::Partial),
        };
        let shown = |a: &ArrayRef, display: Option<MaskKind>| -> Result<ArrayRef, EngineError> {
            let a = picked(a)?;
            Ok(match display {
                Some(kind) => mask_array(kind, arrow::compute::cast(&a, &DataType::Utf8)?.as_ref())
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
                None => arrow::compute::cast(&a, &DataType::Utf8)?,
            })
        };
        let [original, cleaned, fixed] = verdict.values;
        let entity = column(batch, &rules.key)?;
        let against = match verdict.against {
            Some(a) => picked(a)?,
            None => new_null_array(&DataType::Utf8, n),
        };
        let cols: Vec<ArrayRef> = vec![
            constant(&self.planned.rules.name, n),
            constant(verdict.rule, n),
            constant(verdict.severity.as_str(), n),
            field_col,
            shown(&entity, mask_of(&rules.key))?,
            shown(&original, display)?,
            shown(&cleaned, display)?,
            shown(&fixed, display)?,
            against,
            picked(&column(batch, SOURCE_COLUMN)?)?,
            picked(&column(batch, BATCH_COLUMN)?)?,
            picked(&column(batch, FILE_COLUMN)?)?,
            picked(&column(batch, SHEET_COLUMN)?)?,
            picked(&column(batch, LINE_COLUMN)?)?,
            constant(&self.run_id, n),
        ];
        Ok(RecordBatch::try_new(self.schemas.verdicts.clone(), cols)?)
    }

    fn write_verdicts(
        &mut self,
        batch: &RecordBatch,
        departments: &ArrayRef,
        lost: Option<(&BooleanArray, &ArrayRef)>,
    ) -> Result<(), EngineError> {
        let n = batch.num_rows();
        let null_text = new_null_array(&DataType::Utf8, n);
        let mut emitted: Vec<(RecordBatch, BooleanArray)> = Vec::new();
        let ingest_failed = arrow::compute::is_not_null(&column(batch, INGEST_ERROR_COLUMN)?)?;
        for check in &self.planned.checks {
            let (id, severity, field) = (&check.id, &check.severity, &check.field);
            let failed = mask(batch, &check.failed)?;
            let count = failed.true_count() as u64;
            *self.counts.rule_failures.entry(id.clone()).or_default() += count;
            if count == 0 {
                continue;
            }
            // Column-wise: only the failing rows' departments are read.
            let failing = filter(departments.as_ref(), &failed)?;
            let failing = arrow::compute::cast(&failing, &DataType::Utf8)?;
            for department in failing.as_string::<i32>().iter().flatten() {
                *self
                    .counts
                    .rule_failures_by_department
                    .entry((id.clone(), department.to_owned()))
                    .or_default() += 1;
            }
            let fixed = match &check.fix {
                Some(fix) => column(batch, fix)?,
                None => null_text.clone(),
            };
            let values = [
                column(batch, self.planned.original(field)?)?,
                checked_value(batch, check)?,
                fixed,
            ];
            emitted.push((
                self.verdict_rows(
                    batch,
                    &failed,
                    Verdict {
                        rule: id,
                        severity: *severity,
                        field: Some(field),
                        values,
                        against: None,
                    },
                )?,
                failed,
            ));
        }
        if ingest_failed.true_count() > 0 {
            let errors = column(batch, INGEST_ERROR_COLUMN)?;
            for code in reason::ALL {
                let failed = null_as_false(&eq(&errors, &StringArray::new_scalar(code))?);
                let count = failed.true_count() as u64;
                if count == 0 {
                    continue;
                }
                *self.counts.rule_failures.entry(code.into()).or_default() += count;
                let values = [
                    column(batch, RAW_COLUMN)?,
                    null_text.clone(),
                    null_text.clone(),
                ];
                emitted.push((
                    self.verdict_rows(
                        batch,
                        &failed,
                        Verdict {
                            rule: code,
                            severity: Severity::Reject,
                            field: None,
                            values,
                            against: None,
                        },
                    )?,
                    failed,
                ));
            }
        }
        if let Some((dup, survivors)) = lost {
            let dup = dup.clone();
            let rule = dedup_rule(&self.planned.rules.name);
            *self.counts.rule_failures.entry(rule.clone()).or_default() += dup.true_count() as u64;
            if dup.true_count() > 0 {
                let key = &self.planned.rules.key;
                let values = [
                    column(batch, self.planned.original(key)?)?,
                    column(batch, key)?,
                    null_text,
                ];
                emitted.push((
                    self.verdict_rows(
                        batch,
                        &dup,
                        Verdict {
                            rule: &rule,
                            severity: Severity::Reject,
                            field: Some(key),
                            values,
                            against: Some(survivors),
                        },
                    )?,
                    dup,
                ));
            }
        }
        for (rows, selected) in emitted {
            let departments = filter(departments, &selected)?;
            write_by_department(&mut self.verdicts, &rows, &departments, None)?;
        }
        Ok(())
    }

    /// Closes the files and returns them with the counts.
    pub fn finish(self) -> Result<(SinkFiles, RunCounts), EngineError> {
        Ok((
            SinkFiles {
                library: self.library.finish()?,
                quarantine: self.quarantine.finish()?,
                verdicts: self.verdicts.finish()?,
                winning_keys: self.winning_keys.unwrap_or_default(),
            },
            self.counts,
        ))
    }
}
