//! Topic libraries: a rule author's SQL over published tables, planned with the offending
//! token located in the topic file, its output columns checked, its key kept unique, and its
//! `[[test]]` blocks run over small in-memory tables.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, new_null_array};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::row::{RowConverter, SortField};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::MemoryLimit;
use datafusion::prelude::{DataFrame, SessionContext, lit};
use shuzhi_rules::{Origin, SqlExpr, Topic};

use crate::EngineError;

/// Column of every topic row naming the topic (the rule id) that produced it.
pub const TOPIC_COLUMN: &str = "_topic";
/// Column of every topic row holding the fingerprint of the topic file that produced it.
pub const TOPIC_FINGERPRINT_COLUMN: &str = "_topic_fingerprint";

/// Memory pools below this size run topics on one partition (see [`topic_session`]).
pub const SMALL_POOL: usize = 1 << 30;

/// A session for one topic, sharing `ctx`'s runtime (memory pool, spill files) and functions,
/// with its own tables, where planning errors carry the position of the offending token.
///
/// Under a pool smaller than [`SMALL_POOL`] a topic runs on one partition: with several,
/// DataFusion 55.2's `RepartitionExec` spills batches into a spill-pool channel, and a topic
/// spilling through it once parked every worker for good (a run under 64 MiB in the test
/// suite; the family of apache/datafusion#24883). One partition has no repartitioning.
pub fn topic_session(ctx: &SessionContext) -> SessionContext {
    let state = ctx.state();
    let mut config = state.config().clone();
    let small = matches!(
        state.runtime_env().memory_pool.memory_limit(),
        MemoryLimit::Finite(bytes) if bytes < SMALL_POOL
    );
    if small {
        config = config.with_target_partitions(1);
    }
    let options = config.options_mut();
    options.sql_parser.collect_spans = true;
    // Topic tables store plain text, as the golden tables do.
    options.execution.parquet.schema_force_view_types = false;
    let fresh = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(state.runtime_env().clone())
        .with_scalar_functions(state.scalar_functions().values().cloned().collect())
        .with_default_features()
        .build();
    SessionContext::new_with_state(fresh)
}

/// Plans a topic's query in `ctx`, where the tables it reads are registered: a query only
/// (no DDL, DML or settings), with its key, decision, reason and evidence columns.
pub async fn plan_topic(ctx: &SessionContext, topic: &Topic) -> Result<DataFrame, EngineError> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = ctx
        .sql_with_options(&topic.sql.sql, options)
        .await
        .map_err(|e| sql_error(&topic.sql, &e))?;
    check_output(topic, frame.schema().as_arrow())?;
    Ok(frame)
}

/// A topic's output with its provenance: the topic name and file fingerprint on every row.
pub fn with_topic_columns(frame: DataFrame, topic: &Topic) -> Result<DataFrame, EngineError> {
    Ok(frame
        .with_column(TOPIC_COLUMN, lit(topic.name.clone()))?
        .with_column(TOPIC_FINGERPRINT_COLUMN, lit(topic.fingerprint.clone()))?)
}

/// Where in the file (line, column of the SQL, 1-based) DataFusion located the error, with
/// the length of the token in characters when it knows its end.
fn located(e: &datafusion::error::DataFusionError) -> Option<(usize, usize, Option<usize>)> {
    if let Some(span) = e.diagnostic().and_then(|d| d.span) {
        let (s, t) = (span.start, span.end);
        let len = (s.line == t.line && t.column > s.column).then(|| (t.column - s.column) as usize);
        return Some((s.line as usize, s.column as usize, len));
    }
    // Parser errors say `... at Line: 3, Column: 10`.
    let message = e.to_string();
    let at = message.rfind("Line: ")?;
    let rest = &message[at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?, None))
}

/// The byte offset in the topic file where the SQL's text starts, when the file holds it
/// verbatim (a literal string, or a basic string without escapes).
fn sql_start(sql: &SqlExpr) -> Option<usize> {
    let text = &sql.origin.file.text;
    let quoted = text.get(sql.origin.span.clone())?;
    let open = ["'''", "\"\"\"", "'", "\""]
        .into_iter()
        .find(|d| quoted.starts_with(d))?;
    let mut start = sql.origin.span.start + open.len();
    if open.len() == 3 {
        let after = &text[start..];
        start += match () {
            _ if after.starts_with("\r\n") => 2,
            _ if after.starts_with('\n') => 1,
            _ => 0,
        };
    }
    text[start..].starts_with(sql.sql.as_str()).then_some(start)
}

/// The origin of `line`:`column` of the SQL (1-based, columns in characters), covering `len`
/// characters or else the word there; the whole SQL string when it cannot be placed.
pub fn sql_origin(sql: &SqlExpr, line: usize, column: usize, len: Option<usize>) -> Origin {
    let place = || {
        let start = sql_start(sql)?;
        let line_start: usize = sql
            .sql
            .split_inclusive('\n')
            .take(line.checked_sub(1)?)
            .map(str::len)
            .sum();
        let line_text = sql.sql.get(line_start..)?.lines().next().unwrap_or("");
        let (at, _) = line_text.char_indices().nth(column.checked_sub(1)?)?;
        let word = |c: &char| c.is_alphanumeric() || *c == '_';
        let chars = line_text[at..].chars();
        let token: usize = match len {
            Some(n) => chars.take(n).map(char::len_utf8).sum(),
            None => chars
                .clone()
                .take_while(word)
                .map(char::len_utf8)
                .sum::<usize>()
                .max(line_text[at..].chars().next().map_or(0, char::len_utf8)),
        };
        let begin = start + line_start + at;
        Some(begin..begin + token)
    };
    match place() {
        Some(span) => Origin {
            file: sql.origin.file.clone(),
            span,
        },
        None => sql.origin.clone(),
    }
}

/// A planning error of a topic's SQL, located at the offending token when DataFusion says
/// where it is.
fn sql_error(sql: &SqlExpr, e: &datafusion::error::DataFusionError) -> EngineError {
    let origin = match located(e) {
        Some((line, column, len)) => sql_origin(sql, line, column, len),
        None => sql.origin.clone(),
    };
    let message = e
        .diagnostic()
        .map(|d| d.message.clone())
        .unwrap_or_else(|| e.message().to_string());
    EngineError::TopicSql { origin, message }
}

/// Whether `t` is a list of evidence values (`evidence(...)` or structs with the same fields).
fn is_evidence_list(t: &DataType) -> bool {
    let item = match t {
        DataType::List(f) | DataType::LargeList(f) => f.data_type(),
        _ => return false,
    };
    let DataType::Struct(fields) = item else {
        return false;
    };
    crate::calendar::evidence_fields()
        .iter()
        .all(|e| fields.iter().any(|f| f.name() == e.name()))
}

/// The output columns a topic declares must be there: key, decision and reason, and the
/// evidence as a list of evidence values.
fn check_output(topic: &Topic, schema: &Schema) -> Result<(), EngineError> {
    let missing = |what: &str, column: &str| EngineError::TopicOutput {
        origin: topic.key_origin.clone(),
        message: format!(
            "topic `{}` declares {what} column `{column}`, which its query does not return (it returns: {})",
            topic.name,
            schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    for k in &topic.key {
        schema.field_with_name(k).map_err(|_| missing("key", k))?;
    }
    schema
        .field_with_name(&topic.decision)
        .map_err(|_| missing("decision", &topic.decision))?;
    schema
        .field_with_name(&topic.reason)
        .map_err(|_| missing("reason", &topic.reason))?;
    let evidence = schema
        .field_with_name(&topic.evidence)
        .map_err(|_| missing("evidence", &topic.evidence))?;
    if !is_evidence_list(evidence.data_type()) {
        return Err(EngineError::TopicOutput {
            origin: topic.sql.origin.clone(),
            message: format!(
                "evidence column `{}` of topic `{}` is {}, not a list of evidence(library, key, file, line) values",
                topic.evidence,
                topic.name,
                evidence.data_type()
            ),
        });
    }
    Ok(())
}

/// Text of row `i` of `columns`, `|`-separated (nulls empty), for messages.
fn row_text(columns: &[ArrayRef], i: usize) -> String {
    columns
        .iter()
        .map(|c| {
            column_text(&c.slice(i, 1))
                .pop()
                .flatten()
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Every value of a column as text (`None` for null): dates `YYYY-MM-DD`, lists `[a, b]`;
/// one formatter per column.
fn column_text(column: &ArrayRef) -> Vec<Option<String>> {
    let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default()).ok();
    (0..column.len())
        .map(|i| match &formatter {
            Some(f) if column.is_valid(i) => Some(f.value(i).to_string()),
            _ => None,
        })
        .collect()
}

/// Keeps a topic's key unique across the batches it writes.
pub struct KeyGuard {
    key: Vec<String>,
    converter: RowConverter,
    seen: HashSet<Box<[u8]>>,
}

impl KeyGuard {
    /// A guard for `topic`'s key columns in `schema`.
    pub fn new(topic: &Topic, schema: &Schema) -> Result<Self, EngineError> {
        let fields = topic
            .key
            .iter()
            .map(|k| {
                Ok(SortField::new(
                    schema.field_with_name(k)?.data_type().clone(),
                ))
            })
            .collect::<Result<Vec<_>, arrow::error::ArrowError>>()?;
        Ok(Self {
            key: topic.key.clone(),
            converter: RowConverter::new(fields)?,
            seen: HashSet::new(),
        })
    }

    /// Records the keys of `batch`; the first key seen twice, as text, if any.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<Option<String>, EngineError> {
        let columns = self
            .key
            .iter()
            .map(|k| crate::sink::column(batch, k))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = self.converter.convert_columns(&columns)?;
        for (i, row) in rows.iter().enumerate() {
            if !self.seen.insert(row.as_ref().into()) {
                return Ok(Some(row_text(&columns, i)));
            }
        }
        Ok(None)
    }
}

/// Input tables of a topic test: each table the topic reads, with the test's rows cast to the
/// table's columns (columns not given are null).
fn test_tables(
    topic: &Topic,
    input: &BTreeMap<String, Vec<BTreeMap<String, Option<String>>>>,
    schemas: &BTreeMap<String, SchemaRef>,
) -> Result<Vec<(String, RecordBatch)>, String> {
    let mut tables = Vec::new();
    for (name, _) in &topic.reads {
        let schema = schemas
            .get(name)
            .ok_or_else(|| format!("no schema for table `{name}`"))?;
        let rows = input.get(name).map(Vec::as_slice).unwrap_or_default();
        for row in rows {
            if let Some(c) = row.keys().find(|c| schema.field_with_name(c).is_err()) {
                return Err(format!("table `{name}` has no column `{c}`"));
            }
        }
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let text: StringArray = rows
                    .iter()
                    .map(|r| r.get(f.name()).cloned().flatten())
                    .collect();
                if text.null_count() == text.len() {
                    return Ok(new_null_array(f.data_type(), text.len()));
                }
                arrow::compute::cast(&text, f.data_type())
                    .map_err(|e| format!("`{name}.{}`: {e}", f.name()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let nullable = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        let batch = RecordBatch::try_new(nullable, columns).map_err(|e| e.to_string())?;
        tables.push((name.clone(), batch));
    }
    Ok(tables)
}

/// How one topic test went: `Ok` or the differences found.
pub type TopicTestOutcome = Result<(), Vec<String>>;

/// Runs a topic's `[[test]]` blocks; `schemas` gives the columns of the tables it reads.
pub async fn run_topic_tests(
    ctx: &SessionContext,
    topic: &Topic,
    schemas: &BTreeMap<String, SchemaRef>,
) -> Result<Vec<(String, TopicTestOutcome)>, EngineError> {
    let mut outcomes = Vec::new();
    for test in &topic.tests {
        let session = topic_session(ctx);
        let tables = match test_tables(topic, &test.input, schemas) {
            Ok(t) => t,
            Err(why) => {
                outcomes.push((test.name.clone(), Err(vec![why])));
                continue;
            }
        };
        for (name, batch) in tables {
            let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
            session.register_table(name.as_str(), Arc::new(table))?;
        }
        let frame = plan_topic(&session, topic).await?;
        let batches = frame.collect().await?;
        outcomes.push((test.name.clone(), compare(topic, &test.expect, &batches)));
    }
    Ok(outcomes)
}

/// The topic's rows as text, by key.
fn rows_by_key(
    topic: &Topic,
    batches: &[RecordBatch],
) -> BTreeMap<String, BTreeMap<String, Option<String>>> {
    let mut rows = BTreeMap::new();
    for b in batches {
        let columns: Vec<(String, Vec<Option<String>>)> = b
            .schema()
            .fields()
            .iter()
            .zip(b.columns())
            .map(|(f, c)| (f.name().clone(), column_text(c)))
            .collect();
        for i in 0..b.num_rows() {
            let row: BTreeMap<String, Option<String>> = columns
                .iter()
                .map(|(name, values)| (name.clone(), values[i].clone()))
                .collect();
            rows.insert(key_text(topic, &row), row);
        }
    }
    rows
}

fn key_text(topic: &Topic, row: &BTreeMap<String, Option<String>>) -> String {
    topic
        .key
        .iter()
        .map(|k| row.get(k).cloned().flatten().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|")
}

/// Compares a topic's rows with a test's expected rows, matched by key, on the columns the
/// test gives.
fn compare(
    topic: &Topic,
    expect: &[BTreeMap<String, Option<String>>],
    batches: &[RecordBatch],
) -> TopicTestOutcome {
    let mut actual = rows_by_key(topic, batches);
    let mut problems = Vec::new();
    for want in expect {
        let key = key_text(topic, want);
        let Some(got) = actual.remove(&key) else {
            problems.push(format!("no row with key {key}"));
            continue;
        };
        for (column, value) in want {
            let found = got.get(column).cloned().flatten();
            if !got.contains_key(column) {
                problems.push(format!("row {key}: the topic has no column `{column}`"));
            } else if &found != value {
                problems.push(format!(
                    "row {key}: `{column}` is {}, expected {}",
                    found.as_deref().unwrap_or("null"),
                    value.as_deref().unwrap_or("null")
                ));
            }
        }
    }
    for key in actual.keys() {
        problems.push(format!("unexpected row with key {key}"));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems),
    }
}
