//! Parallel CSV reading with exact line numbers.
//!
//! A sequential pass cuts the file into chunks at record boundaries (a small state machine that
//! knows quoted fields may hold delimiters and newlines) and counts lines; chunks are then
//! decoded and parsed in parallel and emitted in order.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::batch::{RowOrigin, TextBatchBuilder, unique_names};
use crate::encoding::{Bom, TextEncoding, decode, decode_utf16, sniff_bom};
use crate::{FileSummary, Format, IngestError, ReadOptions, reason};

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

/// Reads a CSV file and calls `emit` with batches in file order: the header's columns (all
/// `Utf8`) followed by the provenance columns of [`crate::batch::text_schema`].
pub fn read_csv<F>(
    path: &Path,
    options: &ReadOptions,
    mut emit: F,
) -> Result<FileSummary, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut hasher = Sha256::new();
    let Opened {
        mut input,
        bytes_total,
        reported,
        encoding,
        detected,
        mut pending,
        bom_len,
    } = open_text(path, options, &mut hasher)?;
    let mut scanner = Scanner {
        delimiter: options.delimiter,
        state: ScanState::FieldStart,
    };
    let mut next_line = 1u64;
    let mut offset = bom_len as u64;
    let mut header: Option<Vec<String>> = None;
    let file_name = options.file_label(path);
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
            if reported == encoding && options.sha256.is_none() {
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
            header = Some(h);
            chunks[0] = rest;
        }
        let Some(h) = &header else {
            break;
        };
        let parsed: Vec<Result<ParsedChunk, IngestError>> = chunks
            .par_iter()
            .map(|c| parse_chunk(path, c, encoding, options, h, &file_name))
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
    Ok(FileSummary {
        encoding: Some(reported),
        detected,
        header,
        rows: summary_rows,
        ingest_errors: ragged,
        ..FileSummary::new(
            path,
            Format::Csv,
            bytes_total,
            options
                .sha256
                .clone()
                .unwrap_or_else(|| format!("{:x}", hasher.finalize())),
        )
    })
}

/// A text file opened for chunking: its bytes after the BOM (UTF-16 transcoded to UTF-8), the
/// encoding it is reported as and decoded with, and the bytes already read.
struct Opened {
    input: Box<dyn Read>,
    bytes_total: u64,
    /// The file's own encoding (UTF-16 files are reported as such).
    reported: TextEncoding,
    /// The encoding of `input`.
    encoding: TextEncoding,
    detected: bool,
    pending: Vec<u8>,
    bom_len: usize,
}

/// Opens `path`, sniffs its BOM and encoding, and feeds what it reads to `hasher`.
fn open_text(
    path: &Path,
    options: &ReadOptions,
    hasher: &mut Sha256,
) -> Result<Opened, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let bytes_total = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 4];
    let n = read_full(&mut file, &mut head).map_err(io)?;
    hasher.update(&head[..n]);
    // `input` yields the bytes after the BOM; UTF-16 files (small "Unicode text" exports) are
    // transcoded to UTF-8 up front so the chunker only ever sees ASCII-compatible bytes.
    let (input, reported, encoding, detected, pending): (Box<dyn Read>, _, _, _, Vec<u8>) =
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
    Ok(Opened {
        input,
        bytes_total,
        reported,
        encoding,
        detected,
        pending,
        bom_len,
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
    let rest = Chunk {
        bytes: chunk.bytes[raw_end..].to_vec(),
        first_line: chunk.first_line + header_lines,
        byte_offset: chunk.byte_offset + raw_end as u64,
    };
    // Excel's `sep=;` hint line: skipped when it names the source's delimiter, refused when
    // it names another (the file would be split at the wrong character).
    if let Some(found) = separator_line(&text).filter(|_| chunk.first_line == 1) {
        if found != char::from(delimiter) {
            return Err(IngestError::SeparatorLine {
                path: path.to_path_buf(),
                found,
                configured: char::from(delimiter),
            });
        }
        return split_header(path, &rest, encoding, delimiter);
    }
    let mut rdr = reader(&text, delimiter);
    let mut record = ::csv::StringRecord::new();
    let has = rdr.read_record(&mut record).unwrap_or(false);
    if !has {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((unique_names(record.iter()), rest))
}

/// The delimiter an Excel `sep=X` line names.
fn separator_line(line: &str) -> Option<char> {
    let mut chars = line
        .trim_end_matches(['\r', '\n'])
        .strip_prefix("sep=")?
        .chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

struct ParsedChunk {
    batches: Vec<RecordBatch>,
    rows: u64,
    ragged: u64,
}

fn parse_chunk(
    path: &Path,
    chunk: &Chunk,
    encoding: TextEncoding,
    options: &ReadOptions,
    header: &[String],
    file_name: &Arc<str>,
) -> Result<ParsedChunk, IngestError> {
    let ncols = header.len();
    let text = decode_chunk(path, chunk, encoding)?;
    let mut rdr = reader(&text, options.delimiter);
    let mut record = ::csv::StringRecord::new();
    let batch_size = options.batch_size.max(1);
    let mut builder = TextBatchBuilder::new(file_name.clone(), header, batch_size.min(1 << 16));
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
        let origin = RowOrigin { sheet: None, line };
        if record.len() == ncols {
            for (i, v) in record.iter().enumerate() {
                builder.cell(i, Some(v));
            }
            builder.end_row(origin, None, None);
        } else {
            let delimiter = char::from(options.delimiter).to_string();
            let raw = record.iter().collect::<Vec<_>>().join(&delimiter);
            builder.end_row(origin, Some(reason::RAGGED_ROW), Some(&raw));
            out.ragged += 1;
        }
        out.rows += 1;
        out.batches
            .extend(builder.take_full(batch_size).map_err(internal)?);
    }
    out.batches.extend(builder.take_rest().map_err(internal)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LINE_COLUMN, RAW_COLUMN};
    use arrow::array::{Array, AsArray, Int64Array};
    use std::io::Write;
    use std::path::PathBuf;

    fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("shuzhi-ingest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(bytes))
            .expect("write");
        p
    }

    fn read_all(path: &Path, options: &ReadOptions) -> (FileSummary, Vec<RecordBatch>) {
        let mut batches = Vec::new();
        let s = read_csv(path, options, |b| {
            batches.push(b);
            Ok(())
        })
        .expect("readable");
        (s, batches)
    }

    fn lines(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column_by_name(LINE_COLUMN)
                    .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
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
            let opts = ReadOptions {
                chunk_bytes,
                batch_size: 2,
                ..ReadOptions::default()
            };
            let (s, batches) = read_all(&p, &opts);
            assert_eq!(s.header, vec!["id", "name"]);
            assert_eq!(
                s.rows,
                4,
                "chunk_bytes {chunk_bytes}: {:?}",
                lines(&batches)
            );
            assert_eq!(s.ingest_errors, 1);
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
    fn excels_separator_line_is_skipped_or_refused() {
        let p = write_temp("sep.csv", b"sep=;\nid;name\n1;a\n");
        let semicolon = ReadOptions {
            delimiter: b';',
            ..ReadOptions::default()
        };
        let (s, batches) = read_all(&p, &semicolon);
        assert_eq!(s.header, vec!["id", "name"]);
        assert_eq!(
            lines(&batches),
            vec![3],
            "lines keep counting from the file's first"
        );
        let refused = read_csv(&p, &ReadOptions::default(), |_| Ok(())).expect_err("refused");
        assert!(
            refused
                .to_string()
                .contains("set `delimiter = \";\"` on the source"),
            "{refused}"
        );
        let only = write_temp("sep-only.csv", b"sep=,\n");
        let empty = read_csv(&only, &ReadOptions::default(), |_| Ok(())).expect_err("empty");
        assert!(matches!(empty, IngestError::Empty { .. }), "{empty}");
    }

    #[test]
    fn gb18030_declared_or_detected() {
        let (enc, _, _) = encoding_rs::GB18030.encode("身份证号,姓名\n110,张三\n");
        let p = write_temp("gbk.csv", &enc);
        let (s, batches) = read_all(&p, &ReadOptions::default());
        assert!(s.detected);
        assert_eq!(s.encoding, Some(TextEncoding::Gb18030));
        assert_eq!(s.header, vec!["身份证号", "姓名"]);
        assert_eq!(batches[0].column(1).as_string::<i32>().value(0), "张三");
    }

    #[test]
    fn gbk_declared_utf8_is_a_clear_error() {
        let (enc, _, _) = encoding_rs::GB18030.encode("id,name\n1,a\n2,张三\n");
        let p = write_temp("mis.csv", &enc);
        let opts = ReadOptions {
            encoding: Some(TextEncoding::Utf8),
            ..ReadOptions::default()
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
            let opts = ReadOptions {
                delimiter: b'\t',
                ..ReadOptions::default()
            };
            let (s, batches) = read_all(&p, &opts);
            assert_eq!(
                s.encoding.map(TextEncoding::name),
                Some(if little { "utf-16le" } else { "utf-16be" })
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
        let err =
            read_csv(&p, &ReadOptions::default(), |_| Ok(())).expect_err("unpaired surrogate");
        assert!(err.to_string().contains("not valid utf-16le"), "{err}");
        let p = write_temp("empty.csv", b"");
        assert!(matches!(
            read_csv(&p, &ReadOptions::default(), |_| Ok(())),
            Err(IngestError::Empty { .. })
        ));
    }
}
