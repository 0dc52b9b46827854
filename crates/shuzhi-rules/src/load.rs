//! Reading pipeline and rule files: TOML with spans → the typed [`Pipeline`], with every
//! problem of a file reported in one pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::RulesError;
use crate::codes::parse_code_table;
use crate::diagnostic::{Diagnostic, Origin, SourceFile, did_you_mean};
use crate::keys::{KeyPolicy, KeyRing};
use crate::model::*;
use crate::raw::*;

/// Mainland postal codes: six digits.
const POSTAL_CODE: &str = "^[0-9]{6}$";
/// A deliberately plain e-mail shape: local part, one `@`, a dotted domain.
const EMAIL: &str = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$";

/// Names of the clean steps written as plain strings.
pub const CLEAN_STEPS: &[&str] = &[
    "normalize_text",
    "null_tokens",
    "upper",
    "id_number",
    "phone",
    "parse_date",
    "trim",
    "lower",
    "simplified",
    "company_name",
    "company_key",
];
/// Keys of the clean steps written as tables.
pub const CLEAN_STEP_TABLES: &[&str] = &[
    "map",
    "default",
    "derive",
    "mask",
    "pad",
    "replace",
    "amount",
    "address",
    "coords",
    "pseudonym",
];
/// Built-in check rules.
pub const CHECK_RULES: &[&str] = &[
    "required",
    "gb11643",
    "gb11643_region",
    "phone",
    "uscc",
    "org_code",
    "elicence_id",
    "postal_code",
    "email",
    "person_id",
    "unique",
];

/// Collects diagnostics for one file.
struct FileCx<'k> {
    file: Arc<SourceFile>,
    problems: Vec<Diagnostic>,
    keys: &'k mut KeyRing,
}

impl FileCx<'_> {
    fn origin<T>(&self, s: &Spanned<T>) -> Origin {
        Origin {
            file: self.file.clone(),
            span: s.span(),
        }
    }

    fn error(&mut self, code: &'static str, at: Origin, msg: String, help: Option<String>) {
        let mut d = Diagnostic::at(code, &at, msg);
        d.help = help;
        self.problems.push(d);
    }

    /// Parses a keyword given as a plain string at `at`, or reports it with the choices.
    fn keyword_at<T: Copy>(
        &mut self,
        what: &str,
        value: &str,
        at: Origin,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let found = choices.iter().find(|(k, _)| *k == value);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
            let help = did_you_mean(value, names.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| format!("expected one of: {}", names.join(", ")));
            self.error("E0108", at, format!("unknown {what} `{value}`"), Some(help));
        }
        found.map(|(_, v)| *v)
    }

    /// Parses a keyword value, or reports it with the valid choices.
    fn keyword<T: Copy>(
        &mut self,
        what: &str,
        value: &Spanned<String>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let found = choices.iter().find(|(k, _)| *k == value.get_ref().as_str());
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
            self.error(
                "E0108",
                self.origin(value),
                format!("unknown {what} `{}`", value.get_ref()),
                Some(format!("expected one of: {}", names.join(", "))),
            );
        }
        found.map(|(_, v)| *v)
    }
}

fn read_file(path: &Path) -> Result<Arc<SourceFile>, RulesError> {
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Arc::new(SourceFile {
        path: path.to_path_buf(),
        text,
    }))
}

fn parse_toml<T: serde::de::DeserializeOwned>(file: &Arc<SourceFile>) -> Result<T, Diagnostic> {
    toml::from_str(&file.text).map_err(|e| {
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_owned();
        match e.span() {
            Some(span) => Diagnostic::at(
                "E0001",
                &Origin {
                    file: file.clone(),
                    span,
                },
                message,
            ),
            None => Diagnostic::in_file("E0001", &file.path, message),
        }
    })
}

/// A TOML document in a canonical form for the rule-set fingerprint: comments, whitespace,
/// key order and quoting do not change it; values and array order do.
fn canonical_toml(text: &str) -> String {
    canonical_toml_without(text, |_| {})
}

/// The pipeline file in canonical form without its locations (output folder, rule and code
/// table paths, source paths) and without what belongs to one delivery (its mode and batch id):
/// neither changes how rows are governed (rule files and code tables are hashed by content).
fn canonical_pipeline_toml(text: &str) -> String {
    canonical_toml_without(text, |doc| {
        if let Some(toml::Value::Table(p)) = doc.get_mut("pipeline") {
            for key in ["output", "rules", "codes"] {
                p.remove(key);
            }
        }
        if let Some(toml::Value::Array(sources)) = doc.get_mut("source") {
            for s in sources {
                if let toml::Value::Table(s) = s {
                    for key in ["path", "delivery", "batch"] {
                        s.remove(key);
                    }
                }
            }
        }
    })
}

fn canonical_toml_without(text: &str, strip: impl Fn(&mut toml::Table)) -> String {
    fn write(v: &toml::Value, out: &mut String) {
        match v {
            toml::Value::Table(t) => {
                let mut keys: Vec<&String> = t.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&format!("{k:?}="));
                    write(&t[k.as_str()], out);
                    out.push(',');
                }
                out.push('}');
            }
            toml::Value::Array(items) => {
                out.push('[');
                for item in items {
                    write(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            toml::Value::String(s) => out.push_str(&format!("{s:?}")),
            other => out.push_str(&other.to_string()),
        }
    }
    match text.parse::<toml::Table>() {
        Ok(mut table) => {
            strip(&mut table);
            let mut out = String::new();
            write(&toml::Value::Table(table), &mut out);
            out
        }
        // Files that do not parse are reported as diagnostics; hash them as they are.
        Err(_) => text.to_owned(),
    }
}

/// A code table in a canonical form for the fingerprint: trimmed lines without comments or
/// blanks, sorted (row order carries no meaning).
fn canonical_csv(text: &str) -> String {
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// Reads every `*.csv` code table of `dir` (none when it does not exist), hashing them into the
/// fingerprint; malformed tables become diagnostics.
fn load_code_tables(
    dir: &Path,
    hasher: &mut Sha256,
    problems: &mut Vec<Diagnostic>,
) -> Result<BTreeMap<String, CodeTable>, RulesError> {
    let mut code_tables = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(code_tables);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| RulesError::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&p).map_err(|source| RulesError::Read {
            path: p.clone(),
            source,
        })?;
        hasher.update(name.as_bytes());
        hasher.update(canonical_csv(&text).as_bytes());
        match parse_code_table(&name, &p, &text) {
            Ok(t) => {
                code_tables.insert(name, t);
            }
            Err(d) => problems.push(d),
        }
    }
    Ok(code_tables)
}

/// Loads rule files without a pipeline — one file, or every `*.toml` of a folder — with the
/// code tables of the folder's `codes/`. The result has no sources (for `shuzhi test`,
/// `shuzhi explain`).
pub fn load_rules(path: &Path) -> Result<Pipeline, RulesError> {
    let (folder, files) = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| RulesError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        (path.to_path_buf(), files)
    } else {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (folder, vec![path.to_path_buf()])
    };
    let mut hasher = Sha256::new();
    let mut problems = Vec::new();
    let code_tables = load_code_tables(&folder.join("codes"), &mut hasher, &mut problems)?;
    let mut keys = KeyRing::new(KeyPolicy::PublicTestKey);
    let mut libraries = Vec::new();
    for f in &files {
        let file = read_file(f)?;
        hasher.update(canonical_toml(&file.text).as_bytes());
        let (lib, mut ds) = load_rule_file(&file, &code_tables, &mut keys);
        problems.append(&mut ds);
        libraries.extend(lib);
    }
    if !problems.is_empty() {
        return Err(RulesError::Invalid(problems));
    }
    Ok(Pipeline {
        name: "rules".into(),
        output: folder.join("out"),
        sources: Vec::new(),
        libraries,
        code_tables,
        keys: keys.fingerprints(),
        warnings: Vec::new(),
        null_tokens: shuzhi_functions::text::DEFAULT_NULL_TOKENS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        publish_on_breach: false,
        fingerprint: format!("{:x}", hasher.finalize()),
    })
}

/// Loads a pipeline file, its rule files and code tables. All problems found are returned
/// together as [`RulesError::Invalid`].
pub fn load_pipeline(path: &Path) -> Result<Pipeline, RulesError> {
    let pipeline_file = read_file(path)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let raw: RawPipelineFile =
        parse_toml(&pipeline_file).map_err(|d| RulesError::Invalid(vec![d]))?;
    let mut hasher = Sha256::new();
    hasher.update(canonical_pipeline_toml(&pipeline_file.text).as_bytes());
    let mut problems = Vec::new();

    let codes_dir = raw
        .pipeline
        .codes
        .as_ref()
        .map_or_else(|| base.join("rules/codes"), |c| base.join(c.get_ref()));
    let code_tables = load_code_tables(&codes_dir, &mut hasher, &mut problems)?;

    let mut keys = KeyRing::new(KeyPolicy::Required);
    let mut libraries = Vec::new();
    // Where each library's rule file is listed in the pipeline.
    let mut listings: Vec<(String, Origin)> = Vec::new();
    for rules_path in &raw.pipeline.rules {
        let full = base.join(rules_path.get_ref());
        let file = match read_file(&full) {
            Ok(f) => f,
            Err(_) => {
                problems.push(
                    Diagnostic::at(
                        "E0002",
                        &Origin {
                            file: pipeline_file.clone(),
                            span: rules_path.span(),
                        },
                        format!("rule file `{}` cannot be read", full.display()),
                    )
                    .with_help("paths are relative to the pipeline file's folder"),
                );
                continue;
            }
        };
        hasher.update(canonical_toml(&file.text).as_bytes());
        // A rule file with problems still declares its library and fields, so sources that
        // target it are checked too and its problems do not cascade.
        let (lib, mut ds) = load_rule_file(&file, &code_tables, &mut keys);
        problems.append(&mut ds);
        let listed = Origin {
            file: pipeline_file.clone(),
            span: rules_path.span(),
        };
        if let Some(lib) = lib {
            if libraries.iter().any(|l: &LibraryRules| l.name == lib.name) {
                problems.push(
                    Diagnostic::at(
                        "E0122",
                        &listed,
                        format!("library `{}` is defined by a second rule file", lib.name),
                    )
                    .with_help("each library has one rule file: remove the duplicate from `rules`"),
                );
                continue;
            }
            listings.push((lib.name.clone(), listed));
            libraries.push(lib);
        }
    }

    problems.extend(unknown_referenced_libraries(&libraries));
    let mut cx = FileCx {
        file: pipeline_file.clone(),
        problems,
        keys: &mut keys,
    };
    let sources = compile_sources(&mut cx, &raw.source, &base, &libraries);
    for (name, listed) in &listings {
        // A source aimed at a misspelled library is already E0106: no second error for it.
        let misspelled_target = cx.problems.iter().any(|p| p.code == "E0106");
        if !misspelled_target && !sources.iter().any(|s| s.library == *name) {
            cx.problems.push(
                Diagnostic::at("E0123", listed, format!("no source feeds library `{name}`"))
                    .with_help(format!(
                        "add a [[source]] with library = \"{name}\", or remove its rule file from `rules`"
                    )),
            );
        }
    }
    if !cx.problems.is_empty() {
        return Err(RulesError::Invalid(cx.problems));
    }
    let warnings = never_delivered_fields(&libraries, &sources);
    let output = base.join(raw.pipeline.output.as_deref().unwrap_or("out"));
    let null_tokens = raw.pipeline.null_tokens.unwrap_or_else(|| {
        shuzhi_functions::text::DEFAULT_NULL_TOKENS
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    for t in &null_tokens {
        hasher.update(t.as_bytes());
    }
    Ok(Pipeline {
        name: raw.pipeline.name,
        output,
        sources,
        libraries,
        code_tables,
        keys: keys.fingerprints(),
        warnings,
        null_tokens,
        publish_on_breach: raw.pipeline.publish_on_breach,
        fingerprint: format!("{:x}", hasher.finalize()),
    })
}

/// `expected = { library = "..." }` or `references = "..."` naming a library no rule file of the
/// pipeline defines.
fn unknown_referenced_libraries(libraries: &[LibraryRules]) -> Vec<Diagnostic> {
    let names: Vec<&str> = libraries.iter().map(|l| l.name.as_str()).collect();
    let expected = libraries
        .iter()
        .filter_map(|l| l.expected.as_ref())
        .filter_map(|e| match &e.reference {
            Reference::Library(name) => Some((name, &e.origin, "an expected population")),
            Reference::CodeTable(_) => None,
        });
    let references = libraries
        .iter()
        .flat_map(|l| &l.fields)
        .filter_map(|f| f.references.as_ref())
        .map(|r| (&r.library, &r.origin, "`references`"));
    expected
        .chain(references)
        .filter(|(name, _, _)| !names.contains(&name.as_str()))
        .map(|(name, origin, what)| {
            let mut d = Diagnostic::at(
                "E0106",
                origin,
                format!("{what} names library `{name}`, which no rule file defines"),
            );
            d.help =
                did_you_mean(name, names.iter().copied()).map(|n| format!("did you mean `{n}`?"));
            d
        })
        .collect()
}

/// Fields no source of their library maps and no `default` / `derive` fills: always null, so
/// their checks never see a value (W0201); an `authority` that delivers none of the library's
/// sources (W0202).
fn never_delivered_fields(libraries: &[LibraryRules], sources: &[Source]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for library in libraries {
        for field in &library.fields {
            let mapped = sources
                .iter()
                .filter(|s| s.library == library.name)
                .any(|s| s.columns.iter().any(|(f, _)| *f == field.name));
            let filled = field
                .clean
                .iter()
                .any(|s| matches!(s, CleanStep::Default { .. } | CleanStep::Derive { .. }));
            let departments: Vec<&str> = sources
                .iter()
                .filter(|s| s.library == library.name)
                .map(|s| s.department.as_str())
                .collect();
            if let Some(authority) = &field.authority
                && !departments.contains(&authority.as_str())
            {
                out.push(
                    Diagnostic::in_file(
                        "W0202",
                        &library.file,
                        format!(
                            "`{}.{}` names authority `{authority}`, which delivers no source of `{}`: no value will win",
                            library.name, field.name, library.name
                        ),
                    )
                    .with_help(
                        did_you_mean(authority, departments.iter().copied())
                            .map(|d| format!("did you mean `{d}`?"))
                            .unwrap_or_else(|| format!("its sources come from: {}", departments.join(", "))),
                    ),
                );
            }
            if !mapped && !filled {
                out.push(
                    Diagnostic::in_file(
                        "W0201",
                        &library.file,
                        format!(
                            "field `{}.{}` is mapped by no source and has no `default` or `derive`: it stays null",
                            library.name, field.name
                        ),
                    )
                    .with_help("map it in a source's [source.columns] when a department delivers it"),
                );
            }
        }
    }
    out
}

fn compile_sources(
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
                            "write a name (sheet = \"人口\") or a 1-based position (sheet = 2)"
                                .into(),
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
        let operation = s.operation.as_ref().map(|o| Operation {
            column: o.get_ref().column.clone(),
            delete: o.get_ref().delete.clone(),
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
        let delimiter = match &s.delimiter {
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
        };
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
        if let (
            Some(format),
            Some(encoding),
            Some(delivery),
            Some(delimiter),
            Some(sheet),
            Some(header_row),
            Some(_),
        ) = (
            format, encoding, delivery, delimiter, sheet, header_row, library,
        ) {
            out.push(Source {
                id: s.id.get_ref().clone(),
                department: s.department.clone(),
                files,
                format,
                encoding,
                delimiter,
                sheet,
                hidden_sheets: s.hidden_sheets,
                header_row,
                library: s.library.get_ref().clone(),
                delivery,
                batch: s.batch.clone(),
                operation,
                columns,
                origin,
            });
        }
    }
    out
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

fn load_rule_file(
    file: &Arc<SourceFile>,
    code_tables: &BTreeMap<String, CodeTable>,
    keys: &mut KeyRing,
) -> (Option<LibraryRules>, Vec<Diagnostic>) {
    let raw: RawRuleFile = match parse_toml(file) {
        Ok(raw) => raw,
        Err(d) => return (None, vec![d]),
    };
    let mut cx = FileCx {
        file: file.clone(),
        problems: Vec::new(),
        keys,
    };
    let lib_name = raw.library.name.get_ref().clone();
    let mut fields: Vec<Field> = Vec::new();
    for f in &raw.field {
        if fields.iter().any(|g| g.name == *f.name.get_ref()) {
            cx.error(
                "E0113",
                cx.origin(&f.name),
                format!("field `{}` is declared twice", f.name.get_ref()),
                None,
            );
        }
        let key = raw.library.key.get_ref();
        fields.push(compile_field(&mut cx, &lib_name, key, f, code_tables));
    }
    let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let field_ref = |cx: &mut FileCx, s: &Spanned<String>, what: &str| {
        if !known.contains(&s.get_ref().as_str()) {
            let help = did_you_mean(s.get_ref(), known.iter().copied())
                .map(|n| format!("did you mean `{n}`?"));
            cx.error(
                "E0107",
                cx.origin(s),
                format!("{what} `{}` is not a declared field", s.get_ref()),
                help,
            );
        }
    };
    field_ref(&mut cx, &raw.library.key, "key");
    for check in fields.iter().flat_map(|f| &f.checks) {
        if let CheckKind::NotBefore(other) = &check.kind {
            let date = |name: &str| {
                fields
                    .iter()
                    .any(|f| f.name == name && f.ty == FieldType::Date)
            };
            if !date(other) || !date(&check.field) {
                cx.error(
                    "E0121",
                    check.origin.clone(),
                    format!(
                        "`not_before` compares two date fields; `{}` and `{other}` are not both declared with type = \"date\"",
                        check.field
                    ),
                    did_you_mean(other, fields.iter().filter(|f| f.ty == FieldType::Date).map(|f| f.name.as_str()))
                        .map(|n| format!("did you mean `{n}`?")),
                );
            }
        }
    }
    let dedup = raw.library.dedup.as_ref().and_then(|d| {
        field_ref(&mut cx, &d.order_by, "dedup order_by");
        let keep = d.keep.as_ref().map_or(Some(Keep::Latest), |k| {
            cx.keyword(
                "keep rule",
                k,
                &[("latest", Keep::Latest), ("earliest", Keep::Earliest)],
            )
        })?;
        Some(Dedup {
            order_by: d.order_by.get_ref().clone(),
            keep,
        })
    });
    let max_reject_ratio = raw.library.max_reject_ratio.as_ref().and_then(|r| {
        let ratio = *r.get_ref();
        if (0.0..=1.0).contains(&ratio) {
            Some(ratio)
        } else {
            cx.error(
                "E0117",
                cx.origin(r),
                format!("max_reject_ratio = {ratio} is not a fraction"),
                Some("write a share of the rows read, e.g. 0.05 for 5 %".into()),
            );
            None
        }
    });
    let mut tests = Vec::new();
    for (i, t) in raw.test.iter().enumerate() {
        let origin = cx.origin(t);
        let t = t.get_ref();
        let named = t
            .input
            .iter()
            .chain(&t.expect)
            .map(|(name, value)| (name.as_str(), cx.origin(value)))
            .chain(
                t.expect_null
                    .iter()
                    .map(|n| (n.get_ref().as_str(), cx.origin(n))),
            )
            .collect::<Vec<_>>();
        for (name, at) in named {
            if !fields.iter().any(|f| f.name == name) {
                let help = did_you_mean(name, fields.iter().map(|f| f.name.as_str()))
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "tests name the fields declared in this file".into());
                cx.error(
                    "E0118",
                    at,
                    format!("test names `{name}`, which is not a field of `{lib_name}`"),
                    Some(help),
                );
            }
        }
        tests.push(RuleTest {
            name: t.name.clone().unwrap_or_else(|| format!("test {}", i + 1)),
            input: t
                .input
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            expect: t
                .expect
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            expect_null: t.expect_null.iter().map(|n| n.get_ref().clone()).collect(),
            reasons: t.reasons.clone(),
            flags: t.flags.clone(),
            origin,
        });
    }
    let expected = raw.library.expected.as_ref().and_then(|e| {
        let at = cx.origin(e);
        let e = e.get_ref();
        let field = e
            .field
            .clone()
            .unwrap_or_else(|| raw.library.key.get_ref().clone());
        if !known.contains(&field.as_str()) {
            cx.error(
                "E0107",
                at.clone(),
                format!("expected field `{field}` is not a declared field"),
                did_you_mean(&field, known.iter().copied()).map(|n| format!("did you mean `{n}`?")),
            );
            return None;
        }
        let reference = match (&e.library, &e.code_table) {
            (Some(library), None) => Reference::Library(library.clone()),
            (None, Some(table)) if code_tables.contains_key(table) => {
                Reference::CodeTable(table.clone())
            }
            (None, Some(table)) => {
                cx.error(
                    "E0105",
                    at,
                    format!("unknown code table `{table}`"),
                    did_you_mean(table, code_tables.keys().map(String::as_str))
                        .map(|n| format!("did you mean `{n}`?")),
                );
                return None;
            }
            _ => {
                cx.error(
                    "E0110",
                    at,
                    "`expected` needs exactly one of `library` or `code_table`".into(),
                    Some(
                        "e.g. expected = { library = \"legal_person\", field = \"holder_code\" }"
                            .into(),
                    ),
                );
                return None;
            }
        };
        Some(Expected {
            reference,
            field,
            origin: cx.origin(raw.library.expected.as_ref()?),
        })
    });
    let library = LibraryRules {
        expected,
        name: lib_name,
        key: raw.library.key.into_inner(),
        dedup,
        max_reject_ratio,
        fields,
        tests,
        file: file.path.clone(),
    };
    (Some(library), cx.problems)
}

fn compile_field(
    cx: &mut FileCx,
    library: &str,
    key: &str,
    f: &RawField,
    code_tables: &BTreeMap<String, CodeTable>,
) -> Field {
    let name = f.name.get_ref().clone();
    let ty = f.ty.as_ref().map_or(Some(FieldType::String), |t| {
        cx.keyword(
            "type",
            t,
            &[("string", FieldType::String), ("date", FieldType::Date)],
        )
    });
    let class = f.class.as_ref().map_or(Some(FieldClass::Internal), |c| {
        cx.keyword(
            "class",
            c,
            &[
                ("public", FieldClass::Public),
                ("internal", FieldClass::Internal),
                ("sensitive", FieldClass::Sensitive),
            ],
        )
    });
    let mask = f.mask.as_ref().map_or(Some(MaskKind::Partial), |m| {
        cx.keyword("mask", m, MaskKind::ALL)
    });
    let share = f.share.as_ref().map_or(Some(Share::Conditional), |s| {
        let choices: Vec<(&str, Share)> = Share::ALL
            .iter()
            .flat_map(|(en, zh, v)| [(*en, *v), (*zh, *v)])
            .collect();
        cx.keyword("share", s, &choices)
    });
    let mut clean = Vec::new();
    let mut is_date = false;
    for step in &f.clean {
        let Some(s) = compile_step(cx, step, code_tables) else {
            continue;
        };
        if is_date && !matches!(s, CleanStep::Default { .. } | CleanStep::Derive { .. }) {
            cx.error(
                "E0112",
                cx.origin(step),
                format!("`{}` works on text but comes after `parse_date`", s.name()),
                Some("put `parse_date` last among the text steps".into()),
            );
        }
        is_date |= s == CleanStep::ParseDate;
        clean.push(s);
    }
    if let Some(t) = &f.ty
        && ty == Some(FieldType::Date)
        && !is_date
    {
        cx.error(
            "E0112",
            cx.origin(t),
            format!("field `{name}` is a date but has no `parse_date` step"),
            Some("add \"parse_date\" to its clean steps".into()),
        );
    }
    let mut checks: Vec<Check> = f
        .check
        .iter()
        .enumerate()
        .filter_map(|(i, c)| compile_check(cx, library, &name, i, c, code_tables))
        .collect();
    // `authority`: the authoritative department's value for the same key replaces the others'
    // (a fix, so the original stays in the verdict). The key itself needs no authority.
    if let Some(department) = f.authority.as_ref().filter(|_| name != key) {
        checks.push(Check {
            id: format!("{library}.{name}.authority"),
            field: name.clone(),
            kind: CheckKind::Authority(department.get_ref().clone()),
            severity: Severity::Fix,
            fix: None,
            when: None,
            indicator: Indicator::SameDataConsistency,
            max_fail_ratio: None,
            origin: cx.origin(department),
        });
    }
    Field {
        name,
        ty: ty.unwrap_or(FieldType::String),
        class: class.unwrap_or(FieldClass::Internal),
        mask: mask.unwrap_or(MaskKind::Partial),
        share: share.unwrap_or(Share::Conditional),
        authority: f.authority.as_ref().map(|a| a.get_ref().clone()),
        references: f.references.as_ref().map(|r| LibraryRef {
            library: r.get_ref().clone(),
            origin: cx.origin(r),
        }),
        clean,
        checks,
    }
}

fn compile_step(
    cx: &mut FileCx,
    step: &Spanned<toml::Value>,
    code_tables: &BTreeMap<String, CodeTable>,
) -> Option<CleanStep> {
    let origin = cx.origin(step);
    match step.get_ref() {
        toml::Value::String(name) => match name.as_str() {
            "normalize_text" => Some(CleanStep::NormalizeText),
            "null_tokens" => Some(CleanStep::NullTokens),
            "upper" => Some(CleanStep::Upper),
            "id_number" => Some(CleanStep::IdNumber),
            "phone" => Some(CleanStep::Phone),
            "parse_date" => Some(CleanStep::ParseDate),
            "trim" => Some(CleanStep::Trim),
            "lower" => Some(CleanStep::Lower),
            "simplified" => Some(CleanStep::Simplified),
            "company_name" => Some(CleanStep::CompanyName),
            "company_key" => Some(CleanStep::CompanyKey),
            other => {
                let help = did_you_mean(other, CLEAN_STEPS.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("clean steps: {}", CLEAN_STEPS.join(", ")));
                cx.error(
                    "E0102",
                    origin,
                    format!("unknown clean step `{other}`"),
                    Some(help),
                );
                None
            }
        },
        toml::Value::Table(t) if t.len() == 1 => {
            let (key, value) = t.iter().next()?;
            match (key.as_str(), value) {
                ("pad", toml::Value::Array(a)) => {
                    return match a.as_slice() {
                        [toml::Value::Integer(w), toml::Value::String(f)]
                            if (1..=256).contains(w) && f.chars().count() == 1 =>
                        {
                            Some(CleanStep::Pad {
                                width: usize::try_from(*w).unwrap_or(1),
                                fill: f.chars().next().unwrap_or('0'),
                            })
                        }
                        _ => {
                            cx.error(
                                "E0102",
                                origin,
                                "`pad` takes [width, \"fill character\"]".into(),
                                Some("e.g. { pad = [6, \"0\"] } (width 1 to 256)".into()),
                            );
                            None
                        }
                    };
                }
                ("replace", toml::Value::Array(a)) => {
                    return match a.as_slice() {
                        [toml::Value::String(p), toml::Value::String(w)] => {
                            match shuzhi_functions::text::Replace::new(p, w) {
                                Ok(_) => Some(CleanStep::Replace {
                                    pattern: p.clone(),
                                    with: w.clone(),
                                }),
                                Err(e) => {
                                    cx.error(
                                        "E0120",
                                        origin,
                                        "the regex does not compile".into(),
                                        Some(
                                            e.to_string()
                                                .lines()
                                                .last()
                                                .unwrap_or("")
                                                .trim()
                                                .to_owned(),
                                        ),
                                    );
                                    None
                                }
                            }
                        }
                        _ => {
                            cx.error(
                                "E0102",
                                origin,
                                "`replace` takes [\"pattern\", \"replacement\"]".into(),
                                Some("e.g. { replace = [\"^(\\\\d{4})年$\", \"$1\"] }".into()),
                            );
                            None
                        }
                    };
                }
                _ => {}
            }
            let Some(arg) = value.as_str() else {
                cx.error(
                    "E0102",
                    origin,
                    format!("clean step `{key}` takes a string"),
                    Some(format!("write `{{ {key} = \"...\" }}`")),
                );
                return None;
            };
            match key.as_str() {
                "map" => {
                    if !code_tables.contains_key(arg) {
                        let help = did_you_mean(arg, code_tables.keys().map(String::as_str))
                            .map(|n| format!("did you mean `{n}`?"))
                            .unwrap_or_else(|| "code tables live in rules/codes/<name>.csv".into());
                        cx.error(
                            "E0105",
                            origin,
                            format!("unknown code table `{arg}`"),
                            Some(help),
                        );
                        return None;
                    }
                    Some(CleanStep::Map { table: arg.into() })
                }
                "mask" => {
                    let kind = MaskKind::from_name(arg);
                    if kind.is_none() {
                        let names = MaskKind::names();
                        let help = did_you_mean(arg, names.iter().copied())
                            .map(|n| format!("did you mean `{n}`?"))
                            .unwrap_or_else(|| format!("masks: {}", names.join(", ")));
                        cx.error("E0102", origin, format!("unknown mask `{arg}`"), Some(help));
                    }
                    kind.map(CleanStep::Mask)
                }
                "default" => Some(CleanStep::Default {
                    expr: SqlExpr {
                        sql: arg.into(),
                        origin,
                    },
                }),
                "derive" => Some(CleanStep::Derive {
                    expr: SqlExpr {
                        sql: arg.into(),
                        origin,
                    },
                }),
                "amount" => cx
                    .keyword_at("amount unit", arg, origin, AmountUnit::ALL)
                    .map(CleanStep::Amount),
                "coords" => cx
                    .keyword_at("coordinate system", arg, origin, CoordSystem::ALL)
                    .map(CleanStep::Coords),
                "address" => {
                    if !code_tables.contains_key(arg) {
                        cx.error(
                            "E0105",
                            origin,
                            format!("unknown code table `{arg}`"),
                            Some("`address` takes the GB/T 2260 table, e.g. { address = \"gb2260\" }".into()),
                        );
                        return None;
                    }
                    Some(CleanStep::Address { table: arg.into() })
                }
                "pseudonym" => match cx.keys.resolve(arg) {
                    Ok(key) => Some(CleanStep::Pseudonym(key)),
                    Err((msg, help)) => {
                        cx.error("E0131", origin, msg, Some(help));
                        None
                    }
                },
                other => {
                    let help = did_you_mean(other, CLEAN_STEP_TABLES.iter().copied())
                        .map(|n| format!("did you mean `{n}`?"))
                        .unwrap_or_else(|| {
                            format!("table steps: {}", CLEAN_STEP_TABLES.join(", "))
                        });
                    cx.error(
                        "E0102",
                        origin,
                        format!("unknown clean step `{other}`"),
                        Some(help),
                    );
                    None
                }
            }
        }
        _ => {
            cx.error(
                "E0102",
                origin,
                "a clean step is a name or a one-key table".into(),
                Some("e.g. \"normalize_text\" or { map = \"gb2261_1\" }".into()),
            );
            None
        }
    }
}

fn compile_check(
    cx: &mut FileCx,
    library: &str,
    field: &str,
    index: usize,
    c: &Spanned<RawCheck>,
    code_tables: &BTreeMap<String, CodeTable>,
) -> Option<Check> {
    let origin = cx.origin(c);
    let raw = c.get_ref();
    let severity = cx.keyword(
        "severity",
        &raw.severity,
        &[
            ("reject", Severity::Reject),
            ("fix", Severity::Fix),
            ("warn", Severity::Warn),
        ],
    );
    let given = [
        raw.rule.is_some(),
        raw.expr.is_some(),
        raw.code_table.is_some(),
        raw.regex.is_some(),
        raw.one_of.is_some(),
        raw.length.is_some(),
        raw.range.is_some(),
        raw.ty.is_some(),
        raw.not_before.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        cx.error(
            "E0110",
            origin,
            "a check needs exactly one of `rule`, `expr`, `code_table`, `regex`, `one_of`, `length`, `range`, `type` or `not_before`"
                .into(),
            Some(format!("built-in rules: {}", CHECK_RULES.join(", "))),
        );
        return None;
    }
    let (kind, label) = if let Some(rule) = &raw.rule {
        let kind = match rule.get_ref().as_str() {
            "required" => CheckKind::Required,
            "gb11643" => CheckKind::Gb11643,
            "gb11643_region" => {
                if !code_tables.contains_key("gb2260") {
                    cx.error(
                        "E0105",
                        cx.origin(rule),
                        "`gb11643_region` needs the code table `gb2260`".into(),
                        Some("add rules/codes/gb2260.csv (see rules/codes/build_gb2260.py)".into()),
                    );
                    return None;
                }
                CheckKind::IdRegion
            }
            "phone" => CheckKind::Phone,
            "uscc" => CheckKind::Uscc,
            "org_code" => CheckKind::OrgCode,
            "elicence_id" => CheckKind::ElicenceId,
            "postal_code" => CheckKind::Regex(POSTAL_CODE.into()),
            "email" => CheckKind::Regex(EMAIL.into()),
            "person_id" => CheckKind::PersonId,
            "unique" => CheckKind::Unique,
            other => {
                let help = did_you_mean(other, CHECK_RULES.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("built-in rules: {}", CHECK_RULES.join(", ")));
                cx.error(
                    "E0103",
                    cx.origin(rule),
                    format!("unknown check rule `{other}`"),
                    Some(help),
                );
                return None;
            }
        };
        (kind, rule.get_ref().clone())
    } else if let Some(pattern) = &raw.regex {
        if let Err(e) = regex::Regex::new(pattern.get_ref()) {
            cx.error(
                "E0120",
                cx.origin(pattern),
                "the regex does not compile".into(),
                Some(e.to_string().lines().last().unwrap_or("").trim().to_owned()),
            );
            return None;
        }
        (
            CheckKind::Regex(pattern.get_ref().clone()),
            "regex".to_owned(),
        )
    } else if let Some(values) = &raw.one_of {
        (CheckKind::OneOf(values.clone()), "one_of".to_owned())
    } else if let Some(bounds) = &raw.length {
        let [min, max] = bounds.get_ref()[..] else {
            cx.error(
                "E0120",
                cx.origin(bounds),
                "`length` takes [min, max]".into(),
                Some("e.g. length = [2, 30] (characters, inclusive)".into()),
            );
            return None;
        };
        if min < 0 || max < min {
            cx.error(
                "E0120",
                cx.origin(bounds),
                format!("length [{min}, {max}] is empty or negative"),
                Some("write [min, max] with 0 <= min <= max".into()),
            );
            return None;
        }
        (CheckKind::Length { min, max }, "length".to_owned())
    } else if let Some(bounds) = &raw.range {
        let [min, max] = bounds.get_ref()[..] else {
            cx.error(
                "E0120",
                cx.origin(bounds),
                "`range` takes [min, max]".into(),
                Some("e.g. range = [0, 150] (inclusive)".into()),
            );
            return None;
        };
        if max < min {
            cx.error(
                "E0120",
                cx.origin(bounds),
                format!("range [{min}, {max}] is empty"),
                Some("write [min, max] with min <= max".into()),
            );
            return None;
        }
        (
            CheckKind::Range {
                min: Number(min),
                max: Number(max),
            },
            "range".to_owned(),
        )
    } else if let Some(ty) = &raw.ty {
        let ty = cx.keyword(
            "value type",
            ty,
            &[
                ("integer", ValueType::Integer),
                ("decimal", ValueType::Decimal),
                ("date", ValueType::Date),
            ],
        )?;
        (CheckKind::Type(ty), "type".to_owned())
    } else if let Some(other) = &raw.not_before {
        (
            CheckKind::NotBefore(other.get_ref().clone()),
            format!("not_before_{}", other.get_ref()),
        )
    } else if let Some(table) = &raw.code_table {
        if !code_tables.contains_key(table.get_ref()) {
            let help = did_you_mean(table.get_ref(), code_tables.keys().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"));
            cx.error(
                "E0105",
                cx.origin(table),
                format!("unknown code table `{}`", table.get_ref()),
                help,
            );
            return None;
        }
        (
            CheckKind::CodeTable(table.get_ref().clone()),
            format!("code_table_{}", table.get_ref()),
        )
    } else {
        let expr = raw.expr.as_ref()?;
        (
            CheckKind::Expr(SqlExpr {
                sql: expr.get_ref().clone(),
                origin: cx.origin(expr),
            }),
            format!("expr{}", index + 1),
        )
    };
    let severity = severity?;
    let fix = match (&raw.fix, severity) {
        (Some(fix), Severity::Fix) => Some(SqlExpr {
            sql: fix.get_ref().clone(),
            origin: cx.origin(fix),
        }),
        (None, Severity::Fix) => {
            cx.error(
                "E0109",
                origin,
                "severity `fix` needs a `fix` expression".into(),
                Some("add e.g. fix = \"id_gender(id_number)\"".into()),
            );
            return None;
        }
        (Some(fix), _) => {
            cx.error(
                "E0109",
                cx.origin(fix),
                "`fix` is only used with severity = \"fix\"".into(),
                Some("remove it, or set severity = \"fix\"".into()),
            );
            return None;
        }
        (None, _) => None,
    };
    let max_fail_ratio = match &raw.max_fail_ratio {
        None => None,
        Some(r) if (0.0..=1.0).contains(r.get_ref()) => Some(*r.get_ref()),
        Some(r) => {
            cx.error(
                "E0117",
                cx.origin(r),
                format!("max_fail_ratio = {} is not a fraction", r.get_ref()),
                Some("write a share of the rows read, e.g. 0.01 for 1 %".into()),
            );
            return None;
        }
    };
    let indicator = match &raw.dimension {
        None => kind.default_indicator(),
        Some(d) => {
            let names = Indicator::ALL.map(|(n, _, _, i)| (n, i));
            cx.keyword("GB/T 36344 indicator", d, &names)?
        }
    };
    let when = raw.when.as_ref().map(|w| SqlExpr {
        sql: w.get_ref().clone(),
        origin: cx.origin(w),
    });
    Some(Check {
        when,
        indicator,
        max_fail_ratio,
        id: raw
            .id
            .clone()
            .unwrap_or_else(|| format!("{library}.{field}.{label}")),
        field: field.into(),
        kind,
        severity,
        fix,
        origin,
    })
}

#[cfg(test)]
mod fingerprint_tests {
    use super::{canonical_csv, canonical_pipeline_toml, canonical_toml};

    #[test]
    fn where_the_files_live_does_not_change_the_fingerprint() {
        let a = "[pipeline]\nname = \"p\"\noutput = \"out\"\nrules = [\"r.toml\"]\n\
                 [[source]]\nid = \"s\"\npath = \"day1.csv\"\n[source.columns]\nid = \"证号\"\n";
        let moved = a
            .replace("day1.csv", "/data/day2.csv")
            .replace("\"out\"", "\"/lake\"")
            .replace("r.toml", "../rules/r.toml")
            .replace(
                "id = \"s\"\n",
                "id = \"s\"\ndelivery = \"increment\"\nbatch = \"2\"\n",
            );
        assert_eq!(canonical_pipeline_toml(a), canonical_pipeline_toml(&moved));
        let remapped = a.replace("证号", "身份证号");
        assert_ne!(
            canonical_pipeline_toml(a),
            canonical_pipeline_toml(&remapped)
        );
    }

    #[test]
    fn comments_layout_and_order_do_not_change_the_fingerprint() {
        let a = "[library]\nname = \"p\"\nkey = \"id\" # the key\n";
        let b = "# header\n[library]\nkey='id'\nname   = \"p\"\n";
        assert_eq!(canonical_toml(a), canonical_toml(b));
        let changed = "[library]\nname = \"p\"\nkey = \"idx\"\n";
        assert_ne!(canonical_toml(a), canonical_toml(changed));
        assert_eq!(
            canonical_csv("code,name\n# comment\n1,男\n2,女\n"),
            canonical_csv("code,name\n2,女\n 1,男 \n\n")
        );
    }
}
