//! JSON Lines: one object per line, read in parallel chunks cut at line ends.
//!
//! Keys become columns in order of first appearance (a key missing from an object is null);
//! strings are taken as they are, numbers as their JSON text exactly as written (no trip
//! through a float: 30 digits stay 30 digits), nested arrays and objects as JSON text. A line
//! that is not a JSON object is kept, marked `ingest.bad_json` with its raw text; an object
//! with a key twice is kept, marked `ingest.duplicate_key` (which value is meant cannot be
//! told). Blank lines are skipped; line numbers stay exact.

use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use serde_json::value::RawValue;

use crate::batch::{RowOrigin, TextBatchBuilder};
use crate::encoding::{TextEncoding, decode};
use crate::{FileSummary, Format, IngestError, ReadOptions, reason, sha256_hex};

struct LineChunk {
    bytes: Vec<u8>,
    first_line: u64,
    byte_offset: u64,
}

struct ParsedChunk {
    batches: Vec<RecordBatch>,
    keys: Vec<String>,
    rows: u64,
    bad: u64,
}

/// Reads a JSON Lines file (UTF-8 unless another encoding is declared).
pub fn read_jsonl<F>(
    path: &Path,
    options: &ReadOptions,
    mut emit: F,
) -> Result<FileSummary, IngestError>
where
    F: FnMut(RecordBatch) -> Result<(), String>,
{
    let bytes = std::fs::read(path).map_err(IngestError::io(path))?;
    let sha256 = options.sha256.clone().unwrap_or_else(|| sha256_hex(&bytes));
    let encoding = options.encoding.unwrap_or(TextEncoding::Utf8);
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let chunks = cut_lines(&bytes[bom..], bom as u64, options.chunk_bytes.max(1));
    let file = options.file_label(path);
    let mut summary = FileSummary {
        encoding: Some(encoding),
        detected: options.encoding.is_none(),
        ..FileSummary::new(path, Format::Jsonl, bytes.len() as u64, sha256)
    };
    let group = rayon::current_num_threads().max(1) * 2;
    for group in chunks.chunks(group) {
        let parsed: Vec<Result<ParsedChunk, IngestError>> = group
            .par_iter()
            .map(|c| parse_chunk(path, c, encoding, options.batch_size.max(1), &file))
            .collect();
        for p in parsed {
            let p = p?;
            for key in p.keys {
                if !summary.header.contains(&key) {
                    summary.header.push(key);
                }
            }
            summary.rows += p.rows;
            summary.ingest_errors += p.bad;
            for batch in p.batches {
                emit(batch).map_err(IngestError::Consumer)?;
            }
        }
    }
    if summary.rows == 0 {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(summary)
}

/// Splits at line ends into chunks of about `target` bytes.
fn cut_lines(bytes: &[u8], base_offset: u64, target: usize) -> Vec<LineChunk> {
    let mut chunks = Vec::new();
    let mut at = 0;
    let mut line = 1u64;
    while at < bytes.len() {
        let soft_end = (at + target).min(bytes.len());
        let end = if soft_end == bytes.len() {
            soft_end
        } else {
            memchr::memchr(b'\n', &bytes[soft_end..]).map_or(bytes.len(), |i| soft_end + i + 1)
        };
        let piece = &bytes[at..end];
        chunks.push(LineChunk {
            bytes: piece.to_vec(),
            first_line: line,
            byte_offset: base_offset + at as u64,
        });
        line += memchr::memchr_iter(b'\n', piece).count() as u64;
        at = end;
    }
    chunks
}

/// A JSON object's members in order, each value as written.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Members<'a>, M::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// Whether a key appears twice: a scan for the usual small objects, a set for wide ones.
fn has_duplicate(members: &[(String, &RawValue)]) -> bool {
    if members.len() <= 16 {
        return members
            .iter()
            .enumerate()
            .any(|(i, (k, _))| members[..i].iter().any(|(other, _)| other == k));
    }
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    !members.iter().all(|(k, _)| seen.insert(k.as_str()))
}

/// A member's cell: strings unescaped, `null` as null, numbers, booleans and nested values as
/// their JSON text, exactly as written (a 30-digit number keeps every digit).
fn cell_text(value: &RawValue) -> Option<std::borrow::Cow<'_, str>> {
    let text = value.get().trim();
    match text.as_bytes().first() {
        Some(b'n') => None,
        Some(b'"') => serde_json::from_str::<String>(text)
            .ok()
            .map(std::borrow::Cow::Owned),
        _ => Some(std::borrow::Cow::Borrowed(text)),
    }
}

fn parse_chunk(
    path: &Path,
    chunk: &LineChunk,
    encoding: TextEncoding,
    batch_size: usize,
    file: &Arc<str>,
) -> Result<ParsedChunk, IngestError> {
    let text = decode(&chunk.bytes, encoding).map_err(|at| IngestError::Decode {
        path: path.to_path_buf(),
        encoding: encoding.name(),
        offset: chunk.byte_offset + at as u64,
        line: chunk.first_line + memchr::memchr_iter(b'\n', &chunk.bytes[..at]).count() as u64,
    })?;
    let internal = |e: arrow::error::ArrowError| IngestError::Consumer(e.to_string());
    let capacity = batch_size.min(1 << 16);
    let mut builder = TextBatchBuilder::new(file.clone(), &[], capacity);
    let mut out = ParsedChunk {
        batches: Vec::new(),
        keys: Vec::new(),
        rows: 0,
        bad: 0,
    };
    for (i, line) in text.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let origin = RowOrigin {
            sheet: None,
            line: chunk.first_line + i as u64,
        };
        match serde_json::from_str::<Members>(line) {
            Ok(Members(members)) if has_duplicate(&members) => {
                builder.end_row(origin, Some(reason::DUPLICATE_KEY), Some(line));
                out.bad += 1;
            }
            Ok(Members(members)) => {
                for (key, value) in members {
                    let c = builder.column(&key, capacity);
                    builder.cell(c, cell_text(value).as_deref());
                }
                builder.end_row(origin, None, None);
            }
            Err(_) => {
                builder.end_row(origin, Some(reason::BAD_JSON), Some(line));
                out.bad += 1;
            }
        }
        out.rows += 1;
        out.batches
            .extend(builder.take_full(batch_size).map_err(internal)?);
    }
    out.batches.extend(builder.take_rest().map_err(internal)?);
    out.keys = builder.names().to_vec();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{INGEST_ERROR_COLUMN, LINE_COLUMN, RAW_COLUMN};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;

    #[test]
    fn numbers_keep_their_exact_text_and_a_key_twice_is_refused() {
        let dir = std::env::temp_dir().join(format!("shuzhi-jsonl-exact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("exact.jsonl");
        let text = "{\"big\":123456789012345678901234567890,\"tiny\":1e-400,\"f\":0.10,\"s\":\"a\\\"b\",\"ok\":true}\n\
                    {\"big\":1,\"big\":2}\n";
        std::fs::write(&p, text).expect("write");
        let mut batches = Vec::new();
        let s = read_jsonl(&p, &ReadOptions::default(), |b| {
            batches.push(b);
            Ok(())
        })
        .expect("readable");
        assert_eq!(s.rows, 2);
        assert_eq!(s.ingest_errors, 1);
        let all =
            arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("one schema");
        let text_of = |name: &str| {
            all.column_by_name(name)
                .expect(name)
                .as_string::<i32>()
                .value(0)
                .to_owned()
        };
        assert_eq!(text_of("big"), "123456789012345678901234567890");
        assert_eq!(text_of("tiny"), "1e-400");
        assert_eq!(text_of("f"), "0.10");
        assert_eq!(text_of("s"), "a\"b");
        assert_eq!(text_of("ok"), "true");
        let errors = all
            .column_by_name(INGEST_ERROR_COLUMN)
            .expect("errors")
            .as_string::<i32>();
        assert_eq!(errors.value(1), reason::DUPLICATE_KEY);
    }

    #[test]
    fn duplicate_keys_are_found_in_small_and_wide_objects() {
        let raw = serde_json::value::to_raw_value(&1).expect("raw");
        for width in [2, 16, 17, 200] {
            let mut members: Vec<(String, &RawValue)> = (0..width)
                .map(|i| (format!("k{i}"), raw.as_ref()))
                .collect();
            assert!(!has_duplicate(&members), "{width}");
            members.push(("k1".into(), raw.as_ref()));
            assert!(has_duplicate(&members), "{width}");
        }
    }

    #[test]
    fn objects_numbers_drift_and_bad_lines() {
        let dir = std::env::temp_dir().join(format!("shuzhi-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("a.jsonl");
        let text = "{\"id\":110105194912310021,\"name\":\"张三\"}\r\n\n\
                    {\"name\":\"李四\",\"tags\":[1,2],\"extra\":null}\n\
                    not json\n\
                    [1]\n";
        std::fs::write(&p, text).expect("write");
        for chunk_bytes in [4096, 1] {
            let options = ReadOptions {
                chunk_bytes,
                ..ReadOptions::default()
            };
            let mut batches = Vec::new();
            let s = read_jsonl(&p, &options, |b| {
                batches.push(b);
                Ok(())
            })
            .expect("readable");
            assert_eq!(s.rows, 4);
            assert_eq!(s.ingest_errors, 2);
            assert_eq!(
                s.header,
                vec!["id", "name", "tags", "extra"],
                "in order of appearance"
            );
            let mut lines = Vec::new();
            let mut ids = Vec::new();
            let mut raws = Vec::new();
            for b in &batches {
                lines.extend(
                    b.column_by_name(LINE_COLUMN)
                        .expect("line")
                        .as_primitive::<Int64Type>()
                        .values()
                        .iter()
                        .copied(),
                );
                if let Some(id) = b.column_by_name("id") {
                    let id = id.as_string::<i32>();
                    ids.extend(
                        (0..id.len())
                            .filter(|i| id.is_valid(*i))
                            .map(|i| id.value(i).to_owned()),
                    );
                }
                let errors = b
                    .column_by_name(INGEST_ERROR_COLUMN)
                    .expect("err")
                    .as_string::<i32>();
                let raw = b
                    .column_by_name(RAW_COLUMN)
                    .expect("raw")
                    .as_string::<i32>();
                raws.extend(
                    (0..raw.len())
                        .filter(|i| errors.is_valid(*i))
                        .map(|i| raw.value(i).to_owned()),
                );
            }
            assert_eq!(lines, vec![1, 3, 4, 5], "chunk_bytes {chunk_bytes}");
            assert_eq!(ids, vec!["110105194912310021"]);
            assert_eq!(raws, vec!["not json", "[1]"]);
        }
    }
}
