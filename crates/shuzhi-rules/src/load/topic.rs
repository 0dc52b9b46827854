//! One topic file → [`Topic`]: the tables it reads (which must exist by then), its output
//! columns, its SQL and its tests. The SQL itself is planned by the engine (`shuzhi check`).

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::diagnostic::{Diagnostic, Origin, SourceFile, did_you_mean};
use crate::model::*;
use crate::raw::*;

use super::fingerprint::canonical_toml;
use super::parse_toml;

/// A test value as text: strings as written, numbers and booleans as TOML writes them, dates
/// as `YYYY-MM-DD`; the string `null` and an empty string are null.
fn value_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) if s.is_empty() || s == "null" => None,
        toml::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn rows_text(rows: &[BTreeMap<String, toml::Value>]) -> Vec<BTreeMap<String, Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|(k, v)| (k.clone(), value_text(v))).collect())
        .collect()
}

/// Compiles a topic file. `tables` are the query names it may read (the libraries' tables
/// and the topics listed before it); `taken` the names a topic may not take.
pub(super) fn load_topic_file(
    file: &Arc<SourceFile>,
    tables: &[String],
    taken: &[String],
) -> (Option<Topic>, Vec<Diagnostic>) {
    let raw: RawTopicFile = match parse_toml(file) {
        Ok(raw) => raw,
        Err(d) => return (None, vec![d]),
    };
    let origin = |span: std::ops::Range<usize>| Origin {
        file: file.clone(),
        span,
    };
    let mut problems = Vec::new();
    let t = &raw.topic;
    let name = t.name.get_ref().clone();
    if taken.contains(&name) {
        problems.push(
            Diagnostic::at(
                "E0141",
                &origin(t.name.span()),
                format!("topic `{name}` has the name of a table the run already writes"),
            )
            .with_help("a topic's name is its table's query name: choose another"),
        );
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        problems.push(
            Diagnostic::at(
                "E0141",
                &origin(t.name.span()),
                format!("topic name `{name}` is not a table name"),
            )
            .with_help("use letters, digits and `_`, e.g. `benefit_fraud`"),
        );
    }
    for read in &t.reads {
        if !tables.contains(read.get_ref()) {
            let mut d = Diagnostic::at(
                "E0140",
                &origin(read.span()),
                format!(
                    "topic `{name}` reads `{}`, which no library or earlier topic writes",
                    read.get_ref()
                ),
            );
            d.help = did_you_mean(read.get_ref(), tables.iter().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"))
                .or_else(|| Some("list the library's rule file in `rules` (or the topic earlier in `topics`)".into()));
            problems.push(d);
        }
    }
    if t.key.get_ref().is_empty() {
        problems.push(
            Diagnostic::at("E0142", &origin(t.key.span()), "a topic needs a key").with_help(
                "name the output columns that identify a row, e.g. `key = [\"id_number\"]`",
            ),
        );
    }
    let column = |c: &Option<Spanned<String>>, default: &str| {
        c.as_ref()
            .map_or_else(|| default.to_owned(), |c| c.get_ref().clone())
    };
    let [decision, reason, evidence] = TOPIC_DEFAULT_COLUMNS;
    let reads: Vec<String> = t.reads.iter().map(|r| r.get_ref().clone()).collect();
    let mut tests = Vec::new();
    for (i, test) in raw.test.iter().enumerate() {
        let at = origin(test.span());
        for table in test.get_ref().input.keys() {
            if !reads.contains(table) {
                problems.push(
                    Diagnostic::at(
                        "E0143",
                        &at,
                        format!("test input `{table}` is not a table topic `{name}` reads"),
                    )
                    .with_help(format!("the topic reads: {}", reads.join(", "))),
                );
            }
        }
        let test = test.get_ref();
        tests.push(TopicTest {
            name: test
                .name
                .clone()
                .unwrap_or_else(|| format!("test {}", i + 1)),
            input: test
                .input
                .iter()
                .map(|(table, rows)| (table.clone(), rows_text(rows)))
                .collect(),
            expect: rows_text(&test.expect),
            origin: at,
        });
    }
    let topic = Topic {
        name,
        description: t.description.clone(),
        reads: t
            .reads
            .iter()
            .map(|r| (r.get_ref().clone(), origin(r.span())))
            .collect(),
        key: t.key.get_ref().clone(),
        key_origin: origin(t.key.span()),
        decision: column(&t.decision, decision),
        reason: column(&t.reason, reason),
        evidence: column(&t.evidence, evidence),
        sql: SqlExpr {
            sql: t.sql.get_ref().clone(),
            origin: origin(t.sql.span()),
        },
        tests,
        file: file.path.clone(),
        fingerprint: format!("{:x}", Sha256::digest(canonical_toml(&file.text))),
    };
    (Some(topic), problems)
}
