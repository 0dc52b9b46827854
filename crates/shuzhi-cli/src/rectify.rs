//! `shuzhi rectify`: one department's rectification list (整改清单) — every copy it delivered
//! that is not the same as the golden record, across the golden libraries, with the value it
//! must correct, the golden value, where that came from and why, and the record to find it by
//! (source, file, line). Values are masked as the published conflicts tables hold them; every
//! cell is formula-safe (CSV: a leading `'`; xlsx: text cells, never formulas).

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use clap::ValueEnum;
use shuzhi_engine::EngineConfig;
use shuzhi_engine::plan::golden::GoldenTable;

use crate::{Failure, engine_failure, exit, published_or_fail};

/// The list's file format.
#[derive(Clone, Copy, ValueEnum)]
pub enum ListFormat {
    /// Comma-separated, UTF-8 with a BOM (Excel and WPS open it as UTF-8).
    Csv,
    /// An Excel workbook with one sheet.
    Xlsx,
}

/// The columns of the list, in order (library and conflict columns).
const COLUMNS: &str = "library, entity_id, entity, field, value, golden_value, golden_department, \
                       reason, _source, _file, _line";

fn sql_failure(e: datafusion::error::DataFusionError) -> Failure {
    Failure::new(exit::INTERNAL, format!("error: {e}"))
}

/// The departments with a copy in any golden library's source layer.
async fn departments(
    ctx: &datafusion::prelude::SessionContext,
    sources: &[String],
) -> Result<Vec<String>, Failure> {
    let union = sources
        .iter()
        .map(|t| format!("SELECT DISTINCT CAST(_department AS VARCHAR) AS d FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ");
    let batches = ctx
        .sql(&format!("SELECT d FROM ({union}) ORDER BY d"))
        .await
        .map_err(sql_failure)?
        .collect()
        .await
        .map_err(sql_failure)?;
    let mut out = Vec::new();
    for b in &batches {
        let column = arrow::compute::cast(b.column(0), &DataType::Utf8)
            .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))?;
        out.extend(
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    Ok(out)
}

/// Writes `department`'s list from the lakehouse at `root` to `file` (stdout for CSV without
/// a file).
pub async fn rectify(
    root: &Path,
    department: &str,
    format: ListFormat,
    file: Option<PathBuf>,
) -> Result<(), Failure> {
    let published = published_or_fail(root)?;
    let ctx = shuzhi_engine::session(&EngineConfig::default()).map_err(engine_failure)?;
    shuzhi_library::register_published(&ctx, root, &published)
        .await
        .map_err(|e| Failure::new(exit::INPUT, format!("error: {e}")))?;
    let libraries: Vec<String> = published
        .tables
        .keys()
        .filter_map(|t| t.strip_suffix("_conflicts"))
        .filter(|l| {
            published
                .tables
                .contains_key(&GoldenTable::Source.query_name(l))
        })
        .map(str::to_owned)
        .collect();
    if libraries.is_empty() {
        return Err(Failure::new(
            exit::CONFIG,
            format!(
                "error: {} publishes no golden library, so there are no conflicts to rectify\n  = help: add `golden = true` to a rule file's [library] and run again",
                root.display()
            ),
        ));
    }
    let sources: Vec<String> = libraries
        .iter()
        .map(|l| GoldenTable::Source.query_name(l))
        .collect();
    let known = departments(&ctx, &sources).await?;
    if !known.iter().any(|d| d == department) {
        return Err(Failure::new(
            exit::CONFIG,
            format!(
                "error: department `{department}` delivered nothing to the golden libraries ({})\n  = help: departments: {}",
                libraries.join(", "),
                known.join(", ")
            ),
        ));
    }
    let quoted = department.replace('\'', "''");
    let union = libraries
        .iter()
        .map(|l| {
            format!(
                "SELECT '{l}' AS library, * FROM {} WHERE _department = '{quoted}'",
                GoldenTable::Conflicts.query_name(l)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let batches = ctx
        .sql(&format!(
            "SELECT {COLUMNS} FROM ({union}) ORDER BY library, field, _file, _line"
        ))
        .await
        .map_err(sql_failure)?
        .collect()
        .await
        .map_err(sql_failure)?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let written = match (format, &file) {
        (ListFormat::Csv, None) => {
            crate::report::write_csv(&batches, std::io::stdout().lock())
                .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))?;
            None
        }
        (ListFormat::Csv, Some(path)) => {
            let mut f = std::fs::File::create(path).map_err(|e| cannot_write(path, &e))?;
            std::io::Write::write_all(&mut f, "\u{feff}".as_bytes())
                .map_err(|e| cannot_write(path, &e))?;
            crate::report::write_csv(&batches, f)
                .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))?;
            Some(path.clone())
        }
        (ListFormat::Xlsx, path) => {
            let path = path
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("rectify-{department}.xlsx")));
            write_xlsx(&batches, department, &path)?;
            Some(path)
        }
    };
    let target = written.map_or("stdout".to_owned(), |p| p.display().to_string());
    eprintln!("{rows} conflict(s) for {department} → {target}");
    Ok(())
}

fn cannot_write(path: &Path, e: &dyn std::fmt::Display) -> Failure {
    Failure::new(
        exit::INPUT,
        format!("error: cannot write {}: {e}", path.display()),
    )
}

/// One sheet: a header row, then every cell as text (a value starting with `=` stays text).
fn write_xlsx(batches: &[RecordBatch], department: &str, path: &Path) -> Result<(), Failure> {
    let xlsx = |e: rust_xlsxwriter::XlsxError| cannot_write(path, &e);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let name: String = format!("整改清单 {department}").chars().take(31).collect();
    sheet
        .set_name(name.replace(['[', ']', ':', '*', '?', '/', '\\'], "_"))
        .map_err(xlsx)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, name) in COLUMNS.split(", ").enumerate() {
        sheet
            .write_string_with_format(0, c as u16, name, &bold)
            .map_err(xlsx)?;
    }
    let mut row = 1u32;
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::new(exit::INTERNAL, format!("error: {e}")))?;
        for i in 0..batch.num_rows() {
            for (c, column) in columns.iter().enumerate() {
                let text = column.as_string::<i32>();
                if text.is_valid(i) {
                    sheet
                        .write_string(row, c as u16, text.value(i))
                        .map_err(xlsx)?;
                }
            }
            row += 1;
        }
    }
    sheet.autofit();
    book.save(path).map_err(xlsx)
}
