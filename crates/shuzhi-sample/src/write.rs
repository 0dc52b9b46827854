//! Writes a table in its department's format and says where each row landed (sheet, line) so
//! the truth can name it exactly as ingest's provenance will.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;

use crate::SampleError;
use crate::table::{Cell, FileFormat, Table};

/// Where a row landed: sheet (workbooks) and 1-based line / spreadsheet row / Parquet ordinal.
pub type Location = (Option<String>, u64);

/// Writes `table` under `root` and returns each row's location.
pub fn write_table(table: &Table, root: &Path) -> Result<Vec<Location>, SampleError> {
    let path = root.join(table.relative_path());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SampleError::io(dir, e))?;
    }
    match table.format {
        FileFormat::CsvUtf8Bom => write_text(table, &path, b',', Encoding::Utf8Bom),
        FileFormat::CsvGb18030 => write_text(table, &path, b',', Encoding::Gb18030),
        FileFormat::Utf16Tab => write_text(table, &path, b'\t', Encoding::Utf16Le),
        FileFormat::Xlsx => write_xlsx(table, &path),
        FileFormat::Jsonl => write_jsonl(table, &path),
        FileFormat::Parquet => write_parquet(table, &path),
    }
}

enum Encoding {
    Utf8Bom,
    Gb18030,
    Utf16Le,
}

fn quoted(value: &str, delimiter: u8) -> String {
    if value.contains([char::from(delimiter), '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn write_text(
    table: &Table,
    path: &Path,
    delimiter: u8,
    encoding: Encoding,
) -> Result<Vec<Location>, SampleError> {
    let sep = char::from(delimiter).to_string();
    let eol = if matches!(encoding, Encoding::Utf16Le) {
        "\r\n"
    } else {
        "\n"
    };
    let mut text = String::with_capacity(table.rows.len() * 96);
    text.push_str(&table.header.join(&sep));
    text.push_str(eol);
    let mut locations = Vec::with_capacity(table.rows.len());
    let mut line = 2u64;
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| quoted(&c.render().unwrap_or_default(), delimiter))
            .collect();
        let record = cells.join(&sep);
        locations.push((None, line));
        line += 1 + record.matches('\n').count() as u64;
        text.push_str(&record);
        text.push_str(eol);
    }
    let bytes: Vec<u8> = match encoding {
        Encoding::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        Encoding::Gb18030 => encoding_rs::GB18030.encode(&text).0.into_owned(),
        Encoding::Utf16Le => {
            let mut b = vec![0xFF, 0xFE];
            b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            b
        }
    };
    std::fs::write(path, bytes).map_err(|e| SampleError::io(path, e))?;
    Ok(locations)
}

/// Excel's 1900-system serial of a date (after 1900-03-01).
fn excel_serial(d: NaiveDate) -> f64 {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    (d - base).num_days() as f64
}

/// Data rows per sheet: Excel's 1,048,576 rows minus title and header.
const ROWS_PER_SHEET: usize = 1_048_574;

fn write_xlsx(table: &Table, path: &Path) -> Result<Vec<Location>, SampleError> {
    use rust_xlsxwriter::{Format, FormatAlign, Workbook};
    let xlsx =
        |e: rust_xlsxwriter::XlsxError| SampleError::Write(format!("{}: {e}", path.display()));
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let title_format = Format::new().set_bold().set_align(FormatAlign::Center);
    let mut locations = Vec::with_capacity(table.rows.len());
    let width = table.header.len().max(1) as u16;
    for (part, rows) in table.rows.chunks(ROWS_PER_SHEET.max(1)).enumerate() {
        let name = if part == 0 {
            table.sheet.to_owned()
        } else {
            format!("{} ({})", table.sheet, part + 1)
        };
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name).map_err(xlsx)?;
        let title = table.title.as_deref().unwrap_or(table.name);
        sheet
            .merge_range(0, 0, 0, width - 1, title, &title_format)
            .map_err(xlsx)?;
        for (c, h) in table.header.iter().enumerate() {
            sheet.write_string(1, c as u16, *h).map_err(xlsx)?;
        }
        for (i, row) in rows.iter().enumerate() {
            let r = i as u32 + 2;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Null => {}
                    Cell::Text(s) => {
                        sheet.write_string(r, c, s).map_err(xlsx)?;
                    }
                    Cell::Int(v) => {
                        sheet.write_number(r, c, *v as f64).map_err(xlsx)?;
                    }
                    Cell::Float(v) => {
                        sheet.write_number(r, c, *v).map_err(xlsx)?;
                    }
                    Cell::Date(d) => {
                        sheet
                            .write_number_with_format(r, c, excel_serial(*d), &date)
                            .map_err(xlsx)?;
                    }
                }
            }
            locations.push((Some(name.clone()), u64::from(r) + 1));
        }
    }
    // Departments keep filling instructions on a hidden sheet: ingest must pass over it.
    let notes = workbook.add_worksheet();
    notes.set_name("填报说明").map_err(xlsx)?;
    notes
        .write_string(0, 0, "本表由系统导出，请勿修改表头。")
        .map_err(xlsx)?;
    notes.set_hidden(true);
    workbook.save(path).map_err(xlsx)?;
    Ok(locations)
}

fn write_jsonl(table: &Table, path: &Path) -> Result<Vec<Location>, SampleError> {
    let file = File::create(path).map_err(|e| SampleError::io(path, e))?;
    let mut out = BufWriter::new(file);
    let mut locations = Vec::with_capacity(table.rows.len());
    for (i, row) in table.rows.iter().enumerate() {
        let mut object = serde_json::Map::new();
        for (h, cell) in table.header.iter().zip(row) {
            let value = match cell {
                // APIs leave absent values out (schema drift between objects).
                Cell::Null => continue,
                Cell::Int(v) => serde_json::Value::from(*v),
                other => serde_json::Value::from(other.render().unwrap_or_default()),
            };
            object.insert((*h).to_owned(), value);
        }
        serde_json::to_writer(&mut out, &object).map_err(|e| SampleError::Write(e.to_string()))?;
        out.write_all(b"\n").map_err(|e| SampleError::io(path, e))?;
        locations.push((None, i as u64 + 1));
    }
    out.flush().map_err(|e| SampleError::io(path, e))?;
    Ok(locations)
}

fn write_parquet(table: &Table, path: &Path) -> Result<Vec<Location>, SampleError> {
    let parquet =
        |e: parquet::errors::ParquetError| SampleError::Write(format!("{}: {e}", path.display()));
    let arrow =
        |e: arrow::error::ArrowError| SampleError::Write(format!("{}: {e}", path.display()));
    // A column's type: that of its first non-null cell (platform exports are typed).
    let types: Vec<DataType> = (0..table.header.len())
        .map(|c| {
            match table
                .rows
                .iter()
                .map(|r| &r[c])
                .find(|cell| **cell != Cell::Null)
            {
                Some(Cell::Date(_)) => DataType::Date32,
                Some(Cell::Int(_)) => DataType::Int64,
                _ => DataType::Utf8,
            }
        })
        .collect();
    let schema = Arc::new(Schema::new(
        table
            .header
            .iter()
            .zip(&types)
            .map(|(h, t)| Field::new(*h, t.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let file = File::create(path).map_err(|e| SampleError::io(path, e))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(parquet)?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    for rows in table.rows.chunks(65_536) {
        let columns: Vec<ArrayRef> = types
            .iter()
            .enumerate()
            .map(|(c, t)| -> ArrayRef {
                match t {
                    DataType::Date32 => {
                        let mut b = Date32Builder::with_capacity(rows.len());
                        for r in rows {
                            match &r[c] {
                                Cell::Date(d) => b.append_value((*d - epoch).num_days() as i32),
                                _ => b.append_null(),
                            }
                        }
                        Arc::new(b.finish())
                    }
                    DataType::Int64 => {
                        let mut b = Int64Builder::with_capacity(rows.len());
                        for r in rows {
                            match &r[c] {
                                Cell::Int(v) => b.append_value(*v),
                                _ => b.append_null(),
                            }
                        }
                        Arc::new(b.finish())
                    }
                    _ => {
                        let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
                        for r in rows {
                            b.append_option(r[c].render());
                        }
                        Arc::new(b.finish())
                    }
                }
            })
            .collect();
        writer
            .write(&RecordBatch::try_new(schema.clone(), columns).map_err(arrow)?)
            .map_err(parquet)?;
    }
    writer.close().map_err(parquet)?;
    Ok((1..=table.rows.len() as u64).map(|l| (None, l)).collect())
}
