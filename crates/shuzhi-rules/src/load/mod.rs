//! Rule and pipeline files → the typed [`Pipeline`]: reading and parsing the files, code
//! tables, and the entry points; each part of the language compiles in its own module.

mod check;
mod context;
mod cross;
mod field;
mod fingerprint;
mod library;
mod sources;
mod topic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use shuzhi_functions::text::NullTokens;

use crate::RulesError;
use crate::codes::parse_code_table;
use crate::diagnostic::{Diagnostic, Origin, SourceFile};
use crate::keys::{KeyPolicy, KeyRing};
use crate::model::*;
use crate::raw::*;

use context::FileCx;
use cross::{never_delivered_fields, unfed_libraries, unknown_referenced_libraries};
use fingerprint::{canonical_csv, canonical_pipeline_toml, canonical_toml};
use library::load_rule_file;
use sources::compile_sources;
use topic::load_topic_file;

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

pub(super) fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &Arc<SourceFile>,
) -> Result<T, Diagnostic> {
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
    for p in files_with_extension(dir, "csv")? {
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

/// The files of `dir` ending in `.<extension>`, sorted.
fn files_with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, RulesError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| RulesError::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    Ok(files)
}

/// The default null tokens as owned strings.
fn default_null_tokens() -> Vec<String> {
    shuzhi_functions::text::DEFAULT_NULL_TOKENS
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// Loads rule files without a pipeline — one file, or every `*.toml` of a folder — with the
/// code tables of the folder's `codes/`. The result has no sources (for `shuzhi test`,
/// `shuzhi explain`).
pub fn load_rules(path: &Path) -> Result<Pipeline, RulesError> {
    let (folder, files) = if path.is_dir() {
        (path.to_path_buf(), files_with_extension(path, "toml")?)
    } else {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (folder, vec![path.to_path_buf()])
    };
    let mut hasher = Sha256::new();
    let mut problems = Vec::new();
    let code_tables = load_code_tables(&folder.join("codes"), &mut hasher, &mut problems)?;
    let mut keys = KeyRing::new(KeyPolicy::PublicTestKey);
    let null_tokens = default_null_tokens();
    let tokens = Arc::new(NullTokens::new(&null_tokens));
    let mut libraries = Vec::new();
    for f in &files {
        let file = read_file(f)?;
        hasher.update(canonical_toml(&file.text).as_bytes());
        let (lib, mut ds) = load_rule_file(&file, &code_tables, &mut keys, &tokens);
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
        topics: Vec::new(),
        code_tables,
        keys: keys.fingerprints(),
        warnings: Vec::new(),
        null_tokens,
        publish_on_breach: false,
        fingerprint: format!("{:x}", hasher.finalize()),
    })
}

/// The libraries of the rule files a pipeline lists, each with where it is listed; problems
/// go to `problems` (a rule file with problems still declares its library and fields, so
/// sources that target it are checked too and its problems do not cascade).
struct Listed {
    libraries: Vec<LibraryRules>,
    listings: Vec<(String, Origin)>,
    problems: Vec<Diagnostic>,
}

fn load_listed_rule_files(
    pipeline_file: &Arc<SourceFile>,
    raw: &RawPipelineFile,
    base: &Path,
    code_tables: &BTreeMap<String, CodeTable>,
    keys: &mut KeyRing,
    tokens: &Arc<NullTokens>,
    hasher: &mut Sha256,
) -> Listed {
    let mut listed = Listed {
        libraries: Vec::new(),
        listings: Vec::new(),
        problems: Vec::new(),
    };
    let problems = &mut listed.problems;
    for rules_path in &raw.pipeline.rules {
        let full = base.join(rules_path.get_ref());
        let at = Origin {
            file: pipeline_file.clone(),
            span: rules_path.span(),
        };
        let Ok(file) = read_file(&full) else {
            problems.push(
                Diagnostic::at(
                    "E0002",
                    &at,
                    format!("rule file `{}` cannot be read", full.display()),
                )
                .with_help("paths are relative to the pipeline file's folder"),
            );
            continue;
        };
        hasher.update(canonical_toml(&file.text).as_bytes());
        let (lib, mut ds) = load_rule_file(&file, code_tables, keys, tokens);
        problems.append(&mut ds);
        let Some(lib) = lib else { continue };
        if listed
            .libraries
            .iter()
            .any(|l: &LibraryRules| l.name == lib.name)
        {
            problems.push(
                Diagnostic::at(
                    "E0122",
                    &at,
                    format!("library `{}` is defined by a second rule file", lib.name),
                )
                .with_help("each library has one rule file: remove the duplicate from `rules`"),
            );
            continue;
        }
        listed.listings.push((lib.name.clone(), at));
        listed.libraries.push(lib);
    }
    listed
}

/// The topic files a pipeline lists, in order; each may read the libraries' tables and the
/// topics before it. Topics are not part of the rule fingerprint (a changed topic recomputes
/// itself, not the libraries): each has its own.
fn load_listed_topics(
    pipeline_file: &Arc<SourceFile>,
    raw: &RawPipelineFile,
    base: &Path,
    libraries: &[LibraryRules],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Topic> {
    let mut tables: Vec<String> = libraries.iter().flat_map(LibraryRules::tables).collect();
    tables.push("verdicts".into());
    let mut topics = Vec::new();
    for path in &raw.pipeline.topics {
        let full = base.join(path.get_ref());
        let Ok(file) = read_file(&full) else {
            problems.push(
                Diagnostic::at(
                    "E0002",
                    &Origin {
                        file: pipeline_file.clone(),
                        span: path.span(),
                    },
                    format!("topic file `{}` cannot be read", full.display()),
                )
                .with_help("paths are relative to the pipeline file's folder"),
            );
            continue;
        };
        let (topic, mut ds) = load_topic_file(&file, &tables, &tables);
        problems.append(&mut ds);
        if let Some(t) = topic {
            tables.push(t.name.clone());
            topics.push(t);
        }
    }
    topics
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
    let null_tokens = raw
        .pipeline
        .null_tokens
        .clone()
        .unwrap_or_else(default_null_tokens);
    let tokens = Arc::new(NullTokens::new(&null_tokens));

    let mut keys = KeyRing::new(KeyPolicy::Required);
    let Listed {
        libraries,
        listings,
        problems: mut listed_problems,
    } = load_listed_rule_files(
        &pipeline_file,
        &raw,
        &base,
        &code_tables,
        &mut keys,
        &tokens,
        &mut hasher,
    );
    problems.append(&mut listed_problems);
    problems.extend(unknown_referenced_libraries(&libraries));
    let mut cx = FileCx {
        file: pipeline_file.clone(),
        problems,
        keys: &mut keys,
        null_tokens: tokens,
    };
    let sources = compile_sources(&mut cx, &raw.source, &base, &libraries);
    let topics = load_listed_topics(&pipeline_file, &raw, &base, &libraries, &mut cx.problems);
    cx.problems
        .extend(unfed_libraries(&listings, &sources, &cx.problems));
    if !cx.problems.is_empty() {
        return Err(RulesError::Invalid(cx.problems));
    }
    let warnings = never_delivered_fields(&libraries, &sources);
    let output = base.join(raw.pipeline.output.as_deref().unwrap_or("out"));
    for t in &null_tokens {
        hasher.update(t.as_bytes());
    }
    Ok(Pipeline {
        name: raw.pipeline.name,
        output,
        sources,
        libraries,
        topics,
        code_tables,
        keys: keys.fingerprints(),
        warnings,
        null_tokens,
        publish_on_breach: raw.pipeline.publish_on_breach,
        fingerprint: format!("{:x}", hasher.finalize()),
    })
}
