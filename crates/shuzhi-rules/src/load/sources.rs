//! `[[source]]` entries → [`Source`]: formats, encodings, delivery modes, column mappings
//! and the files a path, glob or folder names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::diagnostic::{Origin, did_you_mean};
use crate::model::*;
use crate::raw::*;

use super::context::FileCx;
pub(super) fn compile_sources(
    cx: &mut FileCx,
    raw: &[Spanned<RawSource>],
    base: &Path,
    libraries: &[LibraryRules],
) -> Vec<Source> {
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for s in raw {
        let origin = cx.origin(s);
        let s = s.get_ref();
        if !ids.insert(s.id.get_ref().clone()) {
            cx.error(
                "E0114",
                cx.origin(&s.id),
                format!("source id `{}` is used twice", s.id.get_ref()),
                Some("give every source its own id".into()),
            );
        }
        out.extend(compile_source(cx, s, origin, base, libraries));
    }
    out
}

/// How a source's files are read: format, sheet, header row, encoding.
struct Reading {
    format: Option<FileFormat>,
    sheet: Option<SheetChoice>,
    header_row: Option<Option<u32>>,
    encoding: Option<Encoding>,
}

fn reading(cx: &mut FileCx, s: &RawSource) -> Reading {
    let format = s.format.as_ref().map_or(Some(FileFormat::Auto), |f| {
        cx.keyword(
            "format",
            f,
            &[
                ("auto", FileFormat::Auto),
                ("csv", FileFormat::Csv),
                ("excel", FileFormat::Excel),
                ("xlsx", FileFormat::Excel),
                ("xls", FileFormat::Excel),
                ("jsonl", FileFormat::Jsonl),
                ("parquet", FileFormat::Parquet),
            ],
        )
    });
    let sheet = match s.sheet.as_ref() {
        None => Some(SheetChoice::All),
        Some(v) => match v.get_ref() {
            toml::Value::String(name) => Some(SheetChoice::Name(name.clone())),
            toml::Value::Integer(i) if *i >= 1 => Some(SheetChoice::Index(*i as usize)),
            _ => {
                cx.error(
                    "E0115",
                    cx.origin(v),
                    "`sheet` is neither a sheet name nor a position".into(),
                    Some(
                        "write a name (sheet = \"人口\") or a 1-based position (sheet = 2)".into(),
                    ),
                );
                None
            }
        },
    };
    let header_row = match s.header_row.as_ref() {
        None => Some(None),
        Some(r) if (1..=1_048_576).contains(r.get_ref()) => Some(Some(*r.get_ref() as u32)),
        Some(r) => {
            cx.error(
                "E0115",
                cx.origin(r),
                format!("`header_row = {}` is not a spreadsheet row", r.get_ref()),
                Some("rows count from 1, as Excel numbers them".into()),
            );
            None
        }
    };
    let encoding = s.encoding.as_ref().map_or(Some(Encoding::Auto), |e| {
        cx.keyword(
            "encoding",
            e,
            &[
                ("auto", Encoding::Auto),
                ("utf-8", Encoding::Utf8),
                ("gb18030", Encoding::Gb18030),
                ("gbk", Encoding::Gb18030),
                ("gb2312", Encoding::Gb18030),
            ],
        )
    });
    Reading {
        format,
        sheet,
        header_row,
        encoding,
    }
}

/// The field delimiter of text files: one ASCII character, or `\t`.
fn delimiter(cx: &mut FileCx, s: &RawSource) -> Option<u8> {
    match &s.delimiter {
        None => Some(b','),
        Some(d) if d.get_ref().len() == 1 => Some(d.get_ref().as_bytes()[0]),
        Some(d) if d.get_ref() == "\\t" => Some(b'\t'),
        Some(d) => {
            cx.error(
                "E0108",
                cx.origin(d),
                format!("delimiter `{}` is not one ASCII character", d.get_ref()),
                Some("use e.g. \",\", \";\", \"|\" or \"\\t\"".into()),
            );
            None
        }
    }
}

/// The delivery mode, and the operation column a cdc delivery needs (and only it).
fn delivery_mode(cx: &mut FileCx, s: &RawSource, origin: &Origin) -> Option<Delivery> {
    let delivery = s.delivery.as_ref().map_or(Some(Delivery::Full), |d| {
        cx.keyword(
            "delivery mode",
            d,
            &[
                ("full", Delivery::Full),
                ("increment", Delivery::Increment),
                ("cdc", Delivery::Cdc),
            ],
        )
    });
    match (delivery, &s.operation) {
        (Some(Delivery::Cdc), None) => cx.error(
            "E0119",
            origin.clone(),
            format!(
                "source `{}` delivers cdc but names no operation column",
                s.id.get_ref()
            ),
            Some("add operation = { column = \"操作类型\", delete = [\"D\"] }".into()),
        ),
        (Some(Delivery::Full | Delivery::Increment), Some(o)) => cx.error(
            "E0119",
            cx.origin(o),
            "an operation column is only read from cdc deliveries".into(),
            Some("declare delivery = \"cdc\", or remove `operation`".into()),
        ),
        _ => {}
    }
    delivery
}

/// The library a source feeds, or E0106.
fn target_library<'l>(
    cx: &mut FileCx,
    s: &RawSource,
    libraries: &'l [LibraryRules],
) -> Option<&'l LibraryRules> {
    let library = libraries.iter().find(|l| l.name == *s.library.get_ref());
    if library.is_none() {
        let names: Vec<&str> = libraries.iter().map(|l| l.name.as_str()).collect();
        let help = did_you_mean(s.library.get_ref(), names.iter().copied())
            .map(|n| format!("did you mean `{n}`?"))
            .unwrap_or_else(|| format!("libraries with rule files: {}", names.join(", ")));
        cx.error(
            "E0106",
            cx.origin(&s.library),
            format!("no rule file defines library `{}`", s.library.get_ref()),
            Some(help),
        );
    }
    library
}

/// `[source.columns]`: field → the column names it is read from.
fn column_mappings(
    cx: &mut FileCx,
    s: &RawSource,
    library: Option<&LibraryRules>,
) -> Vec<(String, Vec<String>)> {
    let mut columns = Vec::new();
    for (field, column) in &s.columns {
        let names: Option<Vec<String>> = match column.get_ref() {
            toml::Value::String(name) => Some(vec![name.clone()]),
            toml::Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => None,
        };
        let Some(names) = names else {
            cx.error(
                "E0115",
                cx.origin(column),
                format!("the column of `{field}` is neither a name nor a list of names"),
                Some(format!(
                    "write {field} = \"身份证号\" or, with aliases, {field} = [\"公民身份号码\", \"身份证号\"]"
                )),
            );
            continue;
        };
        if let Some(lib) = library
            && lib.field(field).is_none()
        {
            let names = lib.fields.iter().map(|f| f.name.as_str());
            let help = did_you_mean(field, names)
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "fields of `{}` are declared in {}",
                        lib.name,
                        lib.file.display()
                    )
                });
            cx.error(
                "E0101",
                cx.origin(column),
                format!("`{field}` is not a field of library `{}`", lib.name),
                Some(help),
            );
        }
        columns.push((field.clone(), names));
    }
    columns
}

/// The files the source's path names, or the problems met.
fn source_files(cx: &mut FileCx, s: &RawSource, base: &Path) -> Vec<PathBuf> {
    let (files, unreadable) = resolve_files(base, s.path.get_ref());
    for problem in unreadable {
        cx.error(
            "E0116",
            cx.origin(&s.path),
            problem,
            Some("fix the file's permissions or the link, or narrow the path or glob".into()),
        );
    }
    if files.is_empty() {
        cx.error(
            "E0111",
            cx.origin(&s.path),
            format!(
                "no file matches `{}`",
                base.join(s.path.get_ref()).display()
            ),
            Some("paths are relative to the pipeline file's folder; check the name".into()),
        );
    }
    files
}

/// One `[[source]]`; `None` when it has problems (reported to `cx`).
fn compile_source(
    cx: &mut FileCx,
    s: &RawSource,
    origin: Origin,
    base: &Path,
    libraries: &[LibraryRules],
) -> Option<Source> {
    let Reading {
        format,
        sheet,
        header_row,
        encoding,
    } = reading(cx, s);
    let delivery = delivery_mode(cx, s, &origin);
    let delimiter = delimiter(cx, s);
    let operation = s.operation.as_ref().map(|o| Operation {
        column: o.get_ref().column.clone(),
        delete: o.get_ref().delete.clone(),
    });
    let library = target_library(cx, s, libraries);
    let columns = column_mappings(cx, s, library);
    let files = source_files(cx, s, base);
    library?;
    Some(Source {
        id: s.id.get_ref().clone(),
        department: s.department.clone(),
        files,
        format: format?,
        encoding: encoding?,
        delimiter: delimiter?,
        sheet: sheet?,
        hidden_sheets: s.hidden_sheets,
        header_row: header_row?,
        library: s.library.get_ref().clone(),
        delivery: delivery?,
        batch: s.batch.clone(),
        operation,
        scope: s.scope.as_ref().map(|scope| SqlExpr {
            sql: scope.get_ref().clone(),
            origin: cx.origin(scope),
        }),
        columns,
        origin,
    })
}

/// Extensions of delivery files picked up when a source's path is a folder.
const DELIVERY_EXTENSIONS: [&str; 13] = [
    "csv", "tsv", "txt", "xlsx", "xlsm", "xlsb", "xls", "et", "ods", "jsonl", "ndjson", "json",
    "parquet",
];

/// The files a source's path, glob or folder names (sorted), and the problems met: entries that
/// cannot be read, symlink loops. Folders are walked recursively for delivery files, skipping
/// hidden files and Excel's `~$` lock files.
fn resolve_files(base: &Path, pattern: &str) -> (Vec<PathBuf>, Vec<String>) {
    let full = base.join(pattern);
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let Some(text) = full.to_str() else {
        problems.push(format!("`{}` is not valid UTF-8", full.display()));
        return (files, problems);
    };
    let matches = match glob::glob(text) {
        Ok(paths) => paths,
        Err(e) => {
            problems.push(format!("`{pattern}` is not a valid glob: {e}"));
            return (files, problems);
        }
    };
    let mut visited = BTreeSet::new();
    for entry in matches {
        match entry {
            Ok(path) => collect(&path, &mut files, &mut problems, &mut visited),
            Err(e) => problems.push(format!("cannot read {}: {}", e.path().display(), e.error())),
        }
    }
    files.sort();
    files.dedup();
    (files, problems)
}

fn collect(
    path: &Path,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<String>,
    visited: &mut BTreeSet<PathBuf>,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!("cannot read {}: {e}", path.display()));
            return;
        }
    };
    if meta.is_file() {
        if let Err(e) = std::fs::File::open(path) {
            problems.push(format!("cannot read {}: {e}", path.display()));
        } else {
            files.push(path.to_path_buf());
        }
        return;
    }
    if !meta.is_dir() {
        return;
    }
    // A folder reached twice through links is a loop: stop and say where.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !visited.insert(real.clone()) {
        problems.push(format!(
            "symlink loop: {} leads back to {}",
            path.display(),
            real.display()
        ));
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(format!("cannot read folder {}: {e}", path.display()));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name.starts_with("~$") {
            continue;
        }
        let wanted = child
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| DELIVERY_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if child.is_dir() || wanted || std::fs::metadata(&child).is_err() {
            collect(&child, files, problems, visited);
        }
    }
}
