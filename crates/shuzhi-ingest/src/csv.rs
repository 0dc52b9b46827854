//! Parallel CSV reading with exact line numbers.
//!
//! A sequential pass cuts the file into chunks at record boundaries (a small state machine that
//! knows quoted fields may hold delimiters and newlines) and counts lines; chunks are then
//! decoded and parsed in parallel and emitted in order.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::encoding::{Bom, TextEncoding, decode, decode_utf16, sniff_bom};
use crate::{FILE_COLUMN, INGEST_ERROR_COLUMN, IngestError, LINE_COLUMN, RAW_COLUMN};

/// How to read one CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Declared encoding; `None` detects (strict UTF-8 over the whole file, else GB18030).
    pub encoding: Option<TextEncoding>,
    /// Field delimiter.
    pub delimiter: u8,
    /// Rows per emitted batch.
    pub batch_size: usize,
    /// Target bytes per parallel chunk.
    pub chunk_bytes: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            encoding: None,
            delimiter: b',',
            batch_size: 8192,
            chunk_bytes: 4 << 20,
        }
    }
}

/// What reading a file found, for the run manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSummary {
    /// The file.
    pub path: PathBuf,
    /// Encoding used.
    pub encoding: TextEncoding,
    /// Whether the encoding was detected rather than declared.
    pub detected: bool,
    /// Header names after normalisation.
    pub header: Vec<String>,
    /// Data records emitted (including ragged ones).
    pub rows: u64,
    /// Records whose field count differs from the header's.
    pub ragged_rows: u64,
    /// File size.
    pub bytes: u64,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
}

/// Quote-aware record-boundary scanner state.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScanState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

struct Scanner {
    delimiter: u8,
    state: ScanState,
}

impl Scanner {
    /// Offset just after the first record end (`\n` outside quotes).
    fn first_record_end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut at = 0;
        while at < bytes.len() {
            let step = (at + 4096).min(bytes.len());
            // Scan a small window at a time so a long first record costs nothing extra.
            if let Some(end) = self.scan_until_first(&bytes[at..step]) {
                return Some(at + end);
            }
            at = step;
        }
        None
    }

    fn scan_until_first(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            self.step(b);
            if b == b'\n' && self.state == ScanState::FieldStart {
                return Some(i + 1);
            }
        }
        None
    }

    fn step(&mut self, b: u8) {
        self.state = match (self.state, b) {
            (ScanState::FieldStart, b'"') => ScanState::Quoted,
            (ScanState::Quoted, b'"') => ScanState::QuoteInQuoted,
            (ScanState::Quoted, _) => ScanState::Quoted,
            (ScanState::QuoteInQuoted, b'"') => ScanState::Quoted,
            (_, b'\n') => ScanState::FieldStart,
            (_, d) if d == self.delimiter => ScanState::FieldStart,
            _ => ScanState::Unquoted,
        };
    }

    /// Feeds bytes; returns the offset just after the last record end (`\n` outside quotes).
    fn last_record_end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut last = None;
        // Fast path: no quote in the block and not inside a quoted field.
        if self.state != ScanState::Quoted && memchr::memchr(b'"', bytes).is_none() {
            if let Some(i) = memchr::memrchr(b'\n', bytes) {
                self.state = match bytes.get(i + 1..) {
                    Some(rest) if !rest.is_empty() => {
                        if rest.last() == Some(&self.delimiter) {
                            ScanState::FieldStart
                        } else {
                            ScanState::Unquoted
                        }
                    }
                    _ => ScanState::FieldStart,
                };
                return Some(i + 1);
            }
            if !bytes.is_empty() {
                self.state = ScanState::Unquoted;
            }
            return None;
        }
        for (i, &b) in bytes.iter().enumerate() {
            self.step(b);
            if b == b'\n' && self.state == ScanState::FieldStart {
                last = Some(i + 1);
            }
        }
        last
    }
}

/// A run of whole records with the line number of its first byte.
struct Chunk {
    bytes: Vec<u8>,
    first_line: u64,
    byte_offset: u64,
}

/// Reads a CSV file and calls `emit` with batches in file order. The batch schema is the
/// header's columns (all `Utf8`) followed by `_file`, `_line`, `_ingest_error` and `_raw`.
pub fn read_csv<F>(
    path: &Path,
    options: &CsvOptions,
    mut emit: F,
) -> Result<CsvSummary, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let bytes_total = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 4];
    let n = read_full(&mut file, &mut head).map_err(io)?;
    let mut hasher = Sha256::new();
    hasher.update(&head[..n]);
    // `input` yields the bytes after the BOM; UTF-16 files (small "Unicode text" exports) are
    // transcoded to UTF-8 up front so the chunker only ever sees ASCII-compatible bytes.
    let (mut input, reported, encoding, detected, mut pending): (Box<dyn Read>, _, _, _, Vec<u8>) =
        match sniff_bom(&head[..n]) {
            Bom::Utf16(utf16) => {
                let mut bytes = head[..n].to_vec();
                file.read_to_end(&mut bytes).map_err(io)?;
                hasher.update(&bytes[n..]);
                let text = decode_utf16(&bytes[2..], utf16).map_err(|at| IngestError::Decode {
                    path: path.to_path_buf(),
                    encoding: utf16.name(),
                    offset: 2 + at as u64,
                    line: 1 + bytes[2..2 + at]
                        .chunks(2)
                        .filter(|c| c.contains(&b'\n'))
                        .count() as u64,
                })?;
                let utf8 = std::io::Cursor::new(text.into_bytes());
                (Box::new(utf8), utf16, TextEncoding::Utf8, false, Vec::new())
            }
            Bom::Utf8 => (
                Box::new(file),
                TextEncoding::Utf8,
                TextEncoding::Utf8,
                false,
                head[3.min(n)..n].to_vec(),
            ),
            Bom::None => {
                let (e, detected) = match options.encoding {
                    Some(e) => (e, false),
                    None => (detect(path)?, true),
                };
                (Box::new(file), e, e, detected, head[..n].to_vec())
            }
        };
    let bom_len = n - pending.len();
    let mut scanner = Scanner {
        delimiter: options.delimiter,
        state: ScanState::FieldStart,
    };
    let mut next_line = 1u64;
    let mut offset = bom_len as u64;
    let mut header: Option<Vec<String>> = None;
    let mut schema: Option<SchemaRef> = None;
    let file_name: Arc<str> = Arc::from(path.display().to_string());
    let mut summary_rows = 0u64;
    let mut ragged = 0u64;
    let group = rayon::current_num_threads().max(1) * 2;
    let mut eof = false;
    let mut block = vec![0u8; options.chunk_bytes.max(4096)];

    while !eof {
        // Cut up to `group` chunks sequentially.
        let mut chunks = Vec::with_capacity(group);
        while chunks.len() < group && !eof {
            let got = read_full(&mut input, &mut block).map_err(io)?;
            if reported == encoding {
                hasher.update(&block[..got]);
            }
            eof = got < block.len();
            let start = pending.len();
            pending.extend_from_slice(&block[..got]);
            let cut = if eof {
                Some(pending.len())
            } else {
                scanner
                    .last_record_end(&pending[start..])
                    .map(|i| start + i)
            };
            let Some(cut) = cut.filter(|c| *c > 0) else {
                continue;
            };
            let rest = pending.split_off(cut);
            let bytes = std::mem::replace(&mut pending, rest);
            let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
            let chunk = Chunk {
                byte_offset: offset,
                first_line: next_line,
                bytes,
            };
            offset += chunk.bytes.len() as u64;
            next_line += lines;
            chunks.push(chunk);
        }
        if chunks.is_empty() {
            break;
        }
        if header.is_none() {
            let (h, rest) = split_header(path, &chunks[0], encoding, options.delimiter)?;
            let fields: Vec<Field> = h
                .iter()
                .map(|name| Field::new(name, DataType::Utf8, true))
                .chain([
                    Field::new(FILE_COLUMN, DataType::Utf8, false),
                    Field::new(LINE_COLUMN, DataType::UInt64, false),
                    Field::new(INGEST_ERROR_COLUMN, DataType::Utf8, true),
                    Field::new(RAW_COLUMN, DataType::Utf8, true),
                ])
                .collect();
            schema = Some(Arc::new(Schema::new(fields)));
            header = Some(h);
            chunks[0] = rest;
        }
        let (Some(schema), Some(h)) = (&schema, &header) else {
            break;
        };
        let parsed: Vec<Result<ParsedChunk, IngestError>> = chunks
            .par_iter()
            .map(|c| parse_chunk(path, c, encoding, options, h.len(), schema, &file_name))
            .collect();
        for p in parsed {
            let p = p?;
            summary_rows += p.rows;
            ragged += p.ragged;
            for batch in p.batches {
                emit(batch).map_err(IngestError::Consumer)?;
            }
        }
    }
    let Some(header) = header else {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    };
    Ok(CsvSummary {
        path: path.to_path_buf(),
        encoding: reported,
        detected,
        header,
        rows: summary_rows,
        ragged_rows: ragged,
        bytes: bytes_total,
        sha256: format!("{:x}", hasher.finalize()),
    })
}

fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Strict UTF-8 over the whole file (a split sequence at a block edge carried over), else GB18030.
fn detect(path: &Path) -> Result<TextEncoding, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = Vec::new();
    loop {
        let got = read_full(&mut file, &mut buf).map_err(io)?;
        carry.extend_from_slice(&buf[..got]);
        match std::str::from_utf8(&carry) {
            Ok(_) => carry.clear(),
            Err(e) if e.error_len().is_none() && got == buf.len() => {
                carry = carry.split_off(e.valid_up_to());
            }
            Err(_) => return Ok(TextEncoding::Gb18030),
        }
        if got < buf.len() {
            return Ok(TextEncoding::Utf8);
        }
    }
}

fn decode_chunk<'a>(
    path: &Path,
    chunk: &'a Chunk,
    encoding: TextEncoding,
) -> Result<std::borrow::Cow<'a, str>, IngestError> {
    decode(&chunk.bytes, encoding).map_err(|at| IngestError::Decode {
        path: path.to_path_buf(),
        encoding: encoding.name(),
        offset: chunk.byte_offset + at as u64,
        line: chunk.first_line + memchr::memchr_iter(b'\n', &chunk.bytes[..at]).count() as u64,
    })
}

fn reader(text: &str, delimiter: u8) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

/// Takes the header record off the first chunk; returns the names and the rest of the chunk.
fn split_header(
    path: &Path,
    chunk: &Chunk,
    encoding: TextEncoding,
    delimiter: u8,
) -> Result<(Vec<String>, Chunk), IngestError> {
    let mut scanner = Scanner {
        delimiter,
        state: ScanState::FieldStart,
    };
    let raw_end = scanner
        .first_record_end(&chunk.bytes)
        .unwrap_or(chunk.bytes.len());
    let header_lines = memchr::memchr_iter(b'\n', &chunk.bytes[..raw_end]).count() as u64;
    let text = decode(&chunk.bytes[..raw_end], encoding).map_err(|at| IngestError::Decode {
        path: path.to_path_buf(),
        encoding: encoding.name(),
        offset: chunk.byte_offset + at as u64,
        line: chunk.first_line,
    })?;
    let mut rdr = reader(&text, delimiter);
    let mut record = ::csv::StringRecord::new();
    let has = rdr.read_record(&mut record).unwrap_or(false);
    if !has {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    for raw in record.iter() {
        let base = shuzhi_functions::text::normalize_text(raw).into_owned();
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}__{n}");
            n += 1;
        }
        names.push(name);
    }
    Ok((
        names,
        Chunk {
            bytes: chunk.bytes[raw_end..].to_vec(),
            first_line: chunk.first_line + header_lines,
            byte_offset: chunk.byte_offset + raw_end as u64,
        },
    ))
}

struct ParsedChunk {
    batches: Vec<RecordBatch>,
    rows: u64,
    ragged: u64,
}

struct BatchBuilder {
    columns: Vec<StringBuilder>,
    files: StringBuilder,
    lines: UInt64Builder,
    errors: StringBuilder,
    raws: StringBuilder,
    len: usize,
}

impl BatchBuilder {
    fn new(ncols: usize, capacity: usize) -> Self {
        Self {
            columns: (0..ncols)
                .map(|_| StringBuilder::with_capacity(capacity, capacity * 12))
                .collect(),
            files: StringBuilder::with_capacity(capacity, 0),
            lines: UInt64Builder::with_capacity(capacity),
            errors: StringBuilder::new(),
            raws: StringBuilder::new(),
            len: 0,
        }
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, arrow::error::ArrowError> {
        let mut arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.push(Arc::new(self.files.finish()));
        arrays.push(Arc::new(self.lines.finish()));
        arrays.push(Arc::new(self.errors.finish()));
        arrays.push(Arc::new(self.raws.finish()));
        self.len = 0;
        RecordBatch::try_new(schema.clone(), arrays)
    }
}

fn parse_chunk(
    path: &Path,
    chunk: &Chunk,
    encoding: TextEncoding,
    options: &CsvOptions,
    ncols: usize,
    schema: &SchemaRef,
    file_name: &str,
) -> Result<ParsedChunk, IngestError> {
    let text = decode_chunk(path, chunk, encoding)?;
    let mut rdr = reader(&text, options.delimiter);
    let mut record = ::csv::StringRecord::new();
    let batch_size = options.batch_size.max(1);
    let mut builder = BatchBuilder::new(ncols, batch_size.min(1 << 16));
    let mut out = ParsedChunk {
        batches: Vec::new(),
        rows: 0,
        ragged: 0,
    };
    let bytes = text.as_bytes();
    let mut line = chunk.first_line;
    let mut counted_to = 0usize;
    let internal = |e: arrow::error::ArrowError| IngestError::Consumer(e.to_string());
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // The csv crate only fails on I/O or UTF-8, which decoding already ruled out.
                return Err(IngestError::Consumer(e.to_string()));
            }
        }
        // Line of the record's first byte: skip blank lines the reader passed over.
        // The reader may report a start just before the previous terminator's `\n` (CRLF) or
        // before skipped blank lines: move past them so they are counted.
        let mut record_start = record
            .position()
            .map_or(counted_to, |p| p.byte() as usize)
            .clamp(counted_to, bytes.len());
        while matches!(bytes.get(record_start), Some(b'\n' | b'\r')) {
            record_start += 1;
        }
        line += memchr::memchr_iter(b'\n', &bytes[counted_to..record_start]).count() as u64;
        counted_to = record_start;
        if record.len() == ncols {
            for (b, v) in builder.columns.iter_mut().zip(record.iter()) {
                b.append_value(v);
            }
            builder.errors.append_null();
            builder.raws.append_null();
        } else {
            for b in &mut builder.columns {
                b.append_null();
            }
            builder.errors.append_value(format!(
                "ragged row: expected {ncols} fields, found {}",
                record.len()
            ));
            let delimiter = char::from(options.delimiter).to_string();
            builder
                .raws
                .append_value(record.iter().collect::<Vec<_>>().join(&delimiter));
            out.ragged += 1;
        }
        builder.files.append_value(file_name);
        builder.lines.append_value(line);
        builder.len += 1;
        out.rows += 1;
        if builder.len == batch_size {
            out.batches.push(builder.finish(schema).map_err(internal)?);
        }
    }
    if builder.len > 0 {
        out.batches.push(builder.finish(schema).map_err(internal)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, UInt64Array};
    use std::io::Write;

    fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("shuzhi-ingest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(bytes))
            .expect("write");
        p
    }

    fn read_all(path: &Path, options: &CsvOptions) -> (CsvSummary, Vec<RecordBatch>) {
        let mut batches = Vec::new();
        let s = read_csv(path, options, |b| {
            batches.push(b);
            Ok(())
        })
        .expect("readable");
        (s, batches)
    }

    fn lines(batches: &[RecordBatch]) -> Vec<u64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column_by_name(LINE_COLUMN)
                    .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
                    .map(|a| a.values().to_vec())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn exact_lines_with_quoted_newlines_blank_lines_and_ragged_rows() {
        let text = "\u{FEFF}id,name\r\n1,a\r\n2,\"multi\nline\"\n\n3,c,extra\n4,\"x,y\"\n";
        let p = write_temp("lines.csv", text.as_bytes());
        for chunk_bytes in [4096, 5] {
            let opts = CsvOptions {
                chunk_bytes,
                batch_size: 2,
                ..CsvOptions::default()
            };
            let (s, batches) = read_all(&p, &opts);
            assert_eq!(s.header, vec!["id", "name"]);
            assert_eq!(
                s.rows,
                4,
                "chunk_bytes {chunk_bytes}: {:?}",
                lines(&batches)
            );
            assert_eq!(s.ragged_rows, 1);
            assert_eq!(
                lines(&batches),
                vec![2, 3, 6, 7],
                "chunk_bytes {chunk_bytes}"
            );
            let all = arrow::compute::concat_batches(&batches[0].schema(), &batches)
                .expect("same schema");
            let names = all.column(1).as_string::<i32>();
            assert_eq!(names.value(1), "multi\nline");
            assert_eq!(names.value(3), "x,y");
            assert!(names.is_null(2));
            let raw = all
                .column_by_name(RAW_COLUMN)
                .expect("raw")
                .as_string::<i32>();
            assert_eq!(raw.value(2), "3,c,extra");
        }
    }

    #[test]
    fn gb18030_declared_or_detected() {
        let (enc, _, _) = encoding_rs::GB18030.encode("身份证号,姓名\n110,张三\n");
        let p = write_temp("gbk.csv", &enc);
        let (s, batches) = read_all(&p, &CsvOptions::default());
        assert!(s.detected);
        assert_eq!(s.encoding, TextEncoding::Gb18030);
        assert_eq!(s.header, vec!["身份证号", "姓名"]);
        assert_eq!(batches[0].column(1).as_string::<i32>().value(0), "张三");
    }

    #[test]
    fn gbk_declared_utf8_is_a_clear_error() {
        let (enc, _, _) = encoding_rs::GB18030.encode("id,name\n1,a\n2,张三\n");
        let p = write_temp("mis.csv", &enc);
        let opts = CsvOptions {
            encoding: Some(TextEncoding::Utf8),
            ..CsvOptions::default()
        };
        let err = read_csv(&p, &opts, |_| Ok(())).expect_err("not utf-8");
        let msg = err.to_string();
        assert!(msg.contains("not valid utf-8 at byte 14 (line 3)"), "{msg}");
    }

    #[test]
    fn utf16_exports_are_read_with_lines() {
        for (name, bom, little) in [
            ("le.csv", [0xFF, 0xFE], true),
            ("be.csv", [0xFE, 0xFF], false),
        ] {
            let mut bytes = bom.to_vec();
            for unit in "身份证号\t姓名\r\n110\t张三\r\n120\t\"李\n四\"\r\n".encode_utf16()
            {
                bytes.extend(if little {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                });
            }
            let p = write_temp(name, &bytes);
            let opts = CsvOptions {
                delimiter: b'\t',
                ..CsvOptions::default()
            };
            let (s, batches) = read_all(&p, &opts);
            assert_eq!(
                s.encoding.name(),
                if little { "utf-16le" } else { "utf-16be" }
            );
            assert_eq!(s.header, vec!["身份证号", "姓名"]);
            assert_eq!(lines(&batches), vec![2, 3]);
            assert_eq!(batches[0].column(1).as_string::<i32>().value(1), "李\n四");
            assert_eq!(s.bytes, bytes.len() as u64);
        }
    }

    #[test]
    fn broken_utf16_and_empty_files_are_errors() {
        // An unpaired high surrogate (D800) followed by "a".
        let p = write_temp("bad16.csv", b"\xFF\xFEi\x00\n\x00\x00\xD8a\x00");
        let err = read_csv(&p, &CsvOptions::default(), |_| Ok(())).expect_err("unpaired surrogate");
        assert!(err.to_string().contains("not valid utf-16le"), "{err}");
        let p = write_temp("empty.csv", b"");
        assert!(matches!(
            read_csv(&p, &CsvOptions::default(), |_| Ok(())),
            Err(IngestError::Empty { .. })
        ));
    }
}
