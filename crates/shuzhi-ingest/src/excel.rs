//! Workbooks (xlsx, xlsm, xlsb, xls, ods) through calamine.
//!
//! Sheets are picked by name or position; hidden and empty sheets are passed over unless asked
//! for. The header row is found below merged title rows (the first row holding most of the
//! expected column names, else the first row as wide as the table). Cells become text the way
//! Excel displays them: dates as ISO dates (1900 and 1904 systems; serial 60 is Excel's
//! fictitious 1900-02-29 and is passed on as such for the date rules to reject), whole numbers
//! without a decimal point. Numbers that Excel already rounded — more than 15 significant
//! digits, e.g. an 18-digit ID typed as a number, or text like `1.10105E+17` — mark the row
//! `ingest.excel_precision_loss`; they are never "repaired". Provenance is file, sheet and the
//! row number Excel shows.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use calamine::{Data, Range, Reader, SheetVisible, Sheets};

use crate::batch::{RowOrigin, TextBatchBuilder, unique_names};
use crate::{
    FileSummary, Format, IngestError, ReadOptions, SheetReport, SheetSelection, reason, sha256_hex,
};

/// How many rows from the top are searched for the header.
const HEADER_SEARCH_ROWS: usize = 30;
/// Excel keeps 15 significant digits; a whole number at or above this was rounded.
const EXCEL_EXACT_LIMIT: f64 = 1e15;

/// Reads the selected worksheets of a workbook. A malformed file that makes the spreadsheet
/// reader panic (seen with damaged xls containers) is reported as corrupt, never propagated.
pub fn read_workbook<F>(
    path: &Path,
    options: &ReadOptions,
    emit: F,
) -> Result<FileSummary, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_workbook_unguarded(path, options, emit)
    }));
    guarded.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "malformed content".into());
        Err(IngestError::corrupt(
            path,
            "spreadsheet",
            format!("the spreadsheet reader failed on malformed content ({message})"),
        ))
    })
}

fn read_workbook_unguarded<F>(
    path: &Path,
    options: &ReadOptions,
    mut emit: F,
) -> Result<FileSummary, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let bytes = std::fs::read(path).map_err(IngestError::io(path))?;
    let sha256 = options.sha256.clone().unwrap_or_else(|| sha256_hex(&bytes));
    let total = bytes.len() as u64;
    let mut workbook = open(path, bytes)?;
    let corrupt = |e: calamine::Error| IngestError::corrupt(path, "spreadsheet", e);
    let sheets = workbook.sheets_metadata().to_vec();
    let available = || {
        sheets
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{} \"{}\"", i + 1, s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let no_such = |wanted: String| IngestError::NoSuchSheet {
        path: path.to_path_buf(),
        wanted,
        available: available(),
    };
    let selected: Vec<(String, bool)> = match &options.sheet {
        SheetSelection::All => sheets
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.visible == SheetVisible::Visible || options.hidden_sheets,
                )
            })
            .collect(),
        SheetSelection::Name(name) => {
            let sheet = sheets
                .iter()
                .find(|s| &s.name == name)
                .ok_or_else(|| no_such(format!("\"{name}\"")))?;
            vec![(sheet.name.clone(), true)]
        }
        SheetSelection::Index(i) => {
            let sheet = i
                .checked_sub(1)
                .and_then(|i| sheets.get(i))
                .ok_or_else(|| no_such(format!("number {i}")))?;
            vec![(sheet.name.clone(), true)]
        }
    };

    let file = options.file_label(path);
    let mut summary = FileSummary::new(path, Format::Excel, total, sha256);
    for (name, wanted) in selected {
        if !wanted {
            summary.sheets.push(skipped(name, "hidden"));
            continue;
        }
        let range = workbook.worksheet_range(&name).map_err(corrupt)?;
        let Some(start) = range.start() else {
            summary.sheets.push(skipped(name, "empty"));
            continue;
        };
        let header_at = match options.header_row {
            Some(row) => (row as usize).saturating_sub(1 + start.0 as usize),
            None => find_header(&range, &options.expected_columns),
        };
        let report = read_sheet(
            &range,
            start,
            header_at,
            &name,
            &file,
            options,
            &mut summary,
            &mut emit,
        )?;
        summary.sheets.push(report);
    }
    if summary.sheets.iter().all(|s| s.skipped.is_some()) && summary.rows == 0 {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(summary)
}

fn skipped(name: String, why: &'static str) -> SheetReport {
    SheetReport {
        name,
        header_row: None,
        rows: 0,
        skipped: Some(why),
    }
}

/// Opens the workbook by its container type, keeping the reader's own error message.
fn open(path: &Path, bytes: Vec<u8>) -> Result<Sheets<Cursor<Vec<u8>>>, IngestError> {
    let corrupt = |message: String| IngestError::corrupt(path, "spreadsheet", message);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    let cursor = Cursor::new(bytes);
    let opened = if ole {
        calamine::open_workbook_from_rs(cursor)
            .map(Sheets::Xls)
            .map_err(|e| e.to_string())
    } else if ext == "ods" {
        calamine::open_workbook_from_rs(cursor)
            .map(Sheets::Ods)
            .map_err(|e| e.to_string())
    } else if ext == "xlsb" {
        calamine::open_workbook_from_rs(cursor)
            .map(Sheets::Xlsb)
            .map_err(|e| e.to_string())
    } else {
        calamine::open_workbook_from_rs(cursor)
            .map(Sheets::Xlsx)
            .map_err(|e| e.to_string())
    };
    opened.map_err(corrupt)
}

/// Relative index of the header row: the first row holding the most expected names; without
/// a match, the first row as wide (in non-empty cells) as the widest of the top rows, which
/// skips one-cell merged titles.
fn find_header(range: &Range<Data>, expected: &[String]) -> usize {
    let top: Vec<Vec<String>> = range
        .rows()
        .take(HEADER_SEARCH_ROWS)
        .map(|row| {
            row.iter()
                .map(|c| shuzhi_functions::text::normalize_text(&cell_text(c).text).into_owned())
                .collect()
        })
        .collect();
    let hits = |row: &Vec<String>| row.iter().filter(|c| expected.contains(c)).count();
    if let Some((at, best)) = top
        .iter()
        .enumerate()
        .map(|(i, r)| (i, hits(r)))
        .max_by_key(|(i, h)| (*h, std::cmp::Reverse(*i)))
        && best > 0
    {
        return at;
    }
    let filled = |row: &Vec<String>| row.iter().filter(|c| !c.is_empty()).count();
    let widest = top.iter().map(filled).max().unwrap_or(0);
    top.iter().position(|r| filled(r) == widest).unwrap_or(0)
}

/// A cell as text, and whether Excel lost digits of it.
struct CellText {
    text: String,
    precision_lost: bool,
}

fn cell_text(cell: &Data) -> CellText {
    let exact = |text: String| CellText {
        text,
        precision_lost: false,
    };
    match cell {
        Data::Empty => exact(String::new()),
        Data::String(s) => CellText {
            precision_lost: looks_like_rounded_number(s),
            text: s.clone(),
        },
        Data::Int(i) => exact(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < EXCEL_EXACT_LIMIT => {
            exact(format!("{}", *f as i64))
        }
        Data::Float(f) if f.fract() == 0.0 => CellText {
            text: format!("{f:.0}"),
            precision_lost: true,
        },
        Data::Float(f) => exact(f.to_string()),
        Data::Bool(b) => exact(if *b { "TRUE" } else { "FALSE" }.into()),
        // Serial 0 (Excel shows 1900-01-00) and negative serials (Excel shows ####) are not
        // dates: they stay the number they are, which no date step reads as a date.
        Data::DateTime(dt)
            if dt.is_datetime() && (dt.as_f64() < 0.0 || dt.to_ymd_hms_milli().0 < 1900) =>
        {
            exact(dt.as_f64().to_string())
        }
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, hh, mm, ss, _) = dt.to_ymd_hms_milli();
            exact(if (hh, mm, ss) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
            })
        }
        Data::DateTime(dt) => exact(dt.as_f64().to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => exact(s.clone()),
        Data::Error(e) => exact(e.to_string()),
    }
}

/// Text such as `1.10105E+17`: what Excel writes for a long number it displayed in scientific
/// notation; the digits beyond the mantissa are gone.
fn looks_like_rounded_number(s: &str) -> bool {
    let s = s.trim();
    let Some((mantissa, exponent)) = s.split_once(['E', 'e']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let digits = mantissa.replace('.', "");
    !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !digits.is_empty()
        && exponent.parse::<u32>().is_ok_and(|e| e >= 11)
}

#[allow(clippy::too_many_arguments)]
fn read_sheet<F>(
    range: &Range<Data>,
    start: (u32, u32),
    header_at: usize,
    sheet: &str,
    file: &Arc<str>,
    options: &ReadOptions,
    summary: &mut FileSummary,
    emit: &mut F,
) -> Result<SheetReport, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let internal = |e: arrow::error::ArrowError| IngestError::Consumer(e.to_string());
    let header_cells: Vec<String> = range
        .rows()
        .nth(header_at)
        .map(|row| row.iter().map(|c| cell_text(c).text).collect())
        .unwrap_or_default();
    let header = unique_names(header_cells.iter().map(String::as_str));
    for name in &header {
        if !summary.header.contains(name) {
            summary.header.push(name.clone());
        }
    }
    let batch_size = options.batch_size.max(1);
    let mut builder = TextBatchBuilder::new(file.clone(), &header, batch_size.min(1 << 16));
    let mut rows = 0u64;
    for (i, row) in range.rows().enumerate().skip(header_at + 1) {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let cells: Vec<CellText> = row.iter().map(cell_text).collect();
        let lost = cells.iter().any(|c| c.precision_lost);
        for (c, cell) in cells.iter().enumerate() {
            builder.cell(c, (!cell.text.is_empty()).then_some(cell.text.as_str()));
        }
        let raw = lost.then(|| {
            header
                .iter()
                .zip(&cells)
                .filter(|(_, c)| !c.text.is_empty())
                .map(|(h, c)| format!("{h}={}", c.text))
                .collect::<Vec<_>>()
                .join("\t")
        });
        let line = u64::from(start.0) + i as u64 + 1;
        builder.end_row(
            RowOrigin {
                sheet: Some(sheet),
                line,
            },
            lost.then_some(reason::EXCEL_PRECISION_LOSS),
            raw.as_deref(),
        );
        summary.ingest_errors += u64::from(lost);
        rows += 1;
        if let Some(b) = builder.take_full(batch_size).map_err(internal)? {
            emit(b).map_err(IngestError::Consumer)?;
        }
    }
    if let Some(b) = builder.take_rest().map_err(internal)? {
        emit(b).map_err(IngestError::Consumer)?;
    }
    summary.rows += rows;
    Ok(SheetReport {
        name: sheet.to_owned(),
        header_row: Some(start.0 + header_at as u32 + 1),
        rows,
        skipped: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn cells_read_as_excel_shows_them() {
        let date = |v: f64, is_1904| {
            cell_text(&Data::DateTime(ExcelDateTime::new(
                v,
                ExcelDateTimeType::DateTime,
                is_1904,
            )))
            .text
        };
        assert_eq!(date(43831.0, false), "2020-01-01");
        assert_eq!(date(42369.0, true), "2020-01-01");
        assert_eq!(date(60.0, false), "1900-02-29");
        assert_eq!(date(61.0, false), "1900-03-01");
        assert_eq!(date(43831.5, false), "2020-01-01 12:00:00");
        assert_eq!(date(1.0, false), "1900-01-01");
        assert_eq!(date(0.0, false), "0", "Excel's 1900-01-00 is no date");
        assert_eq!(date(-1.0, false), "-1", "Excel shows ####");
        assert_eq!(date(0.0, true), "1904-01-01");
        assert_eq!(
            cell_text(&Data::Float(110105491231002.0)).text,
            "110105491231002"
        );
        assert_eq!(cell_text(&Data::Float(0.25)).text, "0.25");
        assert!(!cell_text(&Data::Float(110105491231002.0)).precision_lost);
        let rounded = cell_text(&Data::Float(110105194912310000.0));
        assert!(rounded.precision_lost);
        assert_eq!(rounded.text, "110105194912310000");
    }

    #[test]
    fn scientific_text_of_long_numbers_is_precision_loss() {
        assert!(looks_like_rounded_number("1.10105E+17"));
        assert!(looks_like_rounded_number("1.10105e17"));
        assert!(!looks_like_rounded_number("1.5E+3"));
        assert!(!looks_like_rounded_number("E+17"));
        assert!(!looks_like_rounded_number("110105194912310001"));
        assert!(!looks_like_rounded_number("张三"));
    }
}
