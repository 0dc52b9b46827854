//! The rule and pipeline file formats as written: TOML with spans, before any checking. The
//! same types generate the JSON Schema editors use to validate and complete the files
//! (`shuzhi schema`, `schemas/*.schema.json`), so the schema cannot drift from the parser.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use toml::Spanned;

use crate::model::{Indicator, Keyword, MaskKind, Share};
use crate::names::{CHECK_RULES, CLEAN_STEP_TABLES, clean_steps};

/// A pipeline file: which deliveries feed which library, under which rules.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipelineFile {
    /// The job.
    pub pipeline: RawPipeline,
    /// One department delivery each.
    #[serde(default)]
    #[schemars(with = "Vec<RawSource>")]
    pub source: Vec<Spanned<RawSource>>,
}

/// `[pipeline]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    /// Name of the job.
    pub name: String,
    /// Output root, relative to the pipeline file (default `out`).
    #[serde(default)]
    pub output: Option<String>,
    /// Rule files, one library each, relative to the pipeline file.
    #[schemars(with = "Vec<String>")]
    pub rules: Vec<Spanned<String>>,
    /// Topic files (`[topic]`: a library defined in SQL over other libraries), relative to the
    /// pipeline file; they run after the base libraries, in this order.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub topics: Vec<Spanned<String>>,
    /// Folder of code tables (default `rules/codes`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub codes: Option<Spanned<String>>,
    /// Placeholder tokens the `null_tokens` step reads as null (replaces the defaults).
    #[serde(default)]
    pub null_tokens: Option<Vec<String>>,
    /// Publish even when a library breaches its thresholds (the run still exits 1).
    #[serde(default)]
    pub publish_on_breach: bool,
}

/// `[[source]]`: one department delivery.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    /// Stable id, e.g. `ps_register`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Delivering department, e.g. `public_security`.
    pub department: String,
    /// File or glob, relative to the pipeline file.
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    /// File format (default: by extension).
    #[serde(default)]
    #[schemars(schema_with = "format_schema")]
    pub format: Option<Spanned<String>>,
    /// Text encoding (default `auto`: UTF-8 if the whole file decodes, else GB18030).
    #[serde(default)]
    #[schemars(schema_with = "encoding_schema")]
    pub encoding: Option<Spanned<String>>,
    /// Field delimiter of delimited text (default `,`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub delimiter: Option<Spanned<String>>,
    /// Target library (the `name` of a rule file's `[library]`).
    #[schemars(with = "String")]
    pub library: Spanned<String>,
    /// `full` (a snapshot), `increment` or `cdc` (default `full`).
    #[serde(default)]
    #[schemars(schema_with = "delivery_schema")]
    pub delivery: Option<Spanned<String>>,
    /// Batch id (default: from file names and checksums).
    #[serde(default)]
    pub batch: Option<String>,
    /// The operation column of a cdc delivery.
    #[serde(default)]
    #[schemars(with = "Option<RawOperation>")]
    pub operation: Option<Spanned<RawOperation>>,
    /// Worksheet by name or 1-based position (default: every visible sheet with data).
    #[serde(default)]
    #[schemars(schema_with = "sheet_schema")]
    pub sheet: Option<Spanned<toml::Value>>,
    /// Also read hidden worksheets.
    #[serde(default)]
    pub hidden_sheets: bool,
    /// 1-based header row of workbooks (default: detected).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub header_row: Option<Spanned<i64>>,
    /// The rows this library takes from the delivery: an SQL condition over the cleaned
    /// fields; a row for which it is false is out of scope (kept in quarantine with its
    /// provenance, reason `<library>.out_of_scope`, no check, not a rejection).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub scope: Option<Spanned<String>>,
    /// Canonical field → delivered column name, or a list of names (aliases from older systems).
    #[schemars(schema_with = "columns_schema")]
    pub columns: BTreeMap<String, Spanned<toml::Value>>,
}

/// How a cdc delivery marks deletions.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperation {
    /// The delivered column holding the operation.
    pub column: String,
    /// Its values that mean delete.
    pub delete: Vec<String>,
}

/// A rule file: one library's fields, clean steps, checks and tests.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleFile {
    /// The library.
    pub library: RawLibrary,
    /// Canonical fields, in order.
    #[serde(default)]
    pub field: Vec<RawField>,
    /// Rule unit tests (`shuzhi test`).
    #[serde(default)]
    #[schemars(with = "Vec<RawTest>")]
    pub test: Vec<Spanned<RawTest>>,
}

/// A topic file: a topic library (主题库) defined in SQL over other libraries, and its tests.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopicFile {
    /// The topic.
    pub topic: RawTopic,
    /// Topic tests (`shuzhi test`): small input tables and the rows the topic must give.
    #[serde(default)]
    #[schemars(with = "Vec<RawTopicTest>")]
    pub test: Vec<Spanned<RawTopicTest>>,
}

/// `[topic]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopic {
    /// Topic name, also its table's query name, e.g. `deceased`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the topic finds, for the catalogue.
    #[serde(default)]
    pub description: Option<String>,
    /// The tables the SQL reads: libraries, golden records, `<library>_source` layers, or
    /// topics listed before this one.
    #[schemars(with = "Vec<String>")]
    pub reads: Vec<Spanned<String>>,
    /// Output columns that identify a row; no two rows may share them.
    #[schemars(with = "Vec<String>")]
    pub key: Spanned<Vec<String>>,
    /// Output column holding the decision (default `decision`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub decision: Option<Spanned<String>>,
    /// Output column holding the one reason for the decision (default `reason`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub reason: Option<Spanned<String>>,
    /// Output column listing the evidence rows, `evidence(library, key, _file, _line)` values
    /// (default `evidence`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub evidence: Option<Spanned<String>>,
    /// One DataFusion SQL query with shuzhi's functions.
    #[schemars(with = "String")]
    pub sql: Spanned<String>,
}

/// A topic `[[test]]`: input rows per table read, and the rows the topic must give.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopicTest {
    /// Name shown in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Rows per table read (columns not given are null; text is cast to the column's type).
    #[schemars(with = "BTreeMap<String, Vec<BTreeMap<String, serde_json::Value>>>")]
    pub input: BTreeMap<String, Vec<BTreeMap<String, toml::Value>>>,
    /// Every row the topic must give (compared on the columns written, in any order).
    #[schemars(with = "Vec<BTreeMap<String, serde_json::Value>>")]
    pub expect: Vec<BTreeMap<String, toml::Value>>,
}

/// `[[test]]`: one delivered row and what the rules must make of it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTest {
    /// Name shown in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Delivered values by field.
    #[schemars(with = "BTreeMap<String, String>")]
    pub input: BTreeMap<String, Spanned<String>>,
    /// Expected values after cleaning, checks and fixes (dates as YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub expect: BTreeMap<String, Spanned<String>>,
    /// Fields expected to be null.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub expect_null: Vec<Spanned<String>>,
    /// Expected reject rule ids (empty: the row is kept).
    #[serde(default)]
    pub reasons: Option<Vec<String>>,
    /// Expected warn and fix rule ids.
    #[serde(default)]
    pub flags: Option<Vec<String>>,
}

/// `[library]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLibrary {
    /// Library name, e.g. `population`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Key field.
    #[schemars(with = "String")]
    pub key: Spanned<String>,
    /// Exact dedup on the key.
    #[serde(default)]
    pub dedup: Option<RawDedup>,
    /// Golden records: a source layer per department and one record per entity.
    #[serde(default)]
    pub golden: bool,
    /// Largest share of rows read that checks may reject before the run is a breach (exit 1).
    #[serde(default)]
    #[schemars(with = "Option<f64>", range(min = 0.0, max = 1.0))]
    pub max_reject_ratio: Option<Spanned<f64>>,
    /// Expected population: every code of a code table, or every key of another library,
    /// must appear in `field` (default: the key); the missing ones are reported.
    #[serde(default)]
    #[schemars(with = "Option<RawExpected>")]
    pub expected: Option<Spanned<RawExpected>>,
}

/// `expected = { library = "legal_person", field = "holder_code" }` or
/// `expected = { code_table = "..." }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpected {
    /// Every key of this library (as the run leaves it) is expected.
    #[serde(default)]
    pub library: Option<String>,
    /// Every code of this code table is expected.
    #[serde(default)]
    pub code_table: Option<String>,
    /// The field that must hold them (default: the key).
    #[serde(default)]
    pub field: Option<String>,
}

/// `dedup = { order_by = "...", keep = "latest" }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDedup {
    /// Field ordering duplicates.
    #[schemars(with = "String")]
    pub order_by: Spanned<String>,
    /// `latest` (default) or `earliest`.
    #[serde(default)]
    #[schemars(schema_with = "keep_schema")]
    pub keep: Option<Spanned<String>>,
}

/// `authority = "department"` or a list of effective periods.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawAuthority {
    /// One department, for every delivery.
    Department(String),
    /// Departments with effective periods.
    Periods(Vec<RawAuthorityPeriod>),
}

/// `{ department = "...", from = "YYYY-MM-DD", until = "YYYY-MM-DD" }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuthorityPeriod {
    /// The authoritative department.
    pub department: String,
    /// First delivery date covered (inclusive; open when absent).
    #[serde(default)]
    pub from: Option<String>,
    /// Last delivery date covered (inclusive; open when absent).
    #[serde(default)]
    pub until: Option<String>,
}

/// `compare = "exact" | "normalised" | "date"` or `{ number = tolerance }`.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawCompare {
    /// A kind without argument.
    Kind(String),
    /// Numbers within a tolerance.
    Number {
        /// Largest difference that is still the same value.
        number: f64,
    },
}

/// `[[field]]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    /// Canonical name (snake_case).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Value type after cleaning (default `string`; `date` needs `parse_date`).
    #[serde(default, rename = "type")]
    #[schemars(schema_with = "field_type_schema")]
    pub ty: Option<Spanned<String>>,
    /// `public`, `internal` (default) or `sensitive` (masked in every message and report).
    #[serde(default)]
    #[schemars(schema_with = "class_schema")]
    pub class: Option<Spanned<String>>,
    /// How a sensitive field is masked (default `partial`).
    #[serde(default)]
    #[schemars(schema_with = "mask_schema")]
    pub mask: Option<Spanned<String>>,
    /// Sharing class in the data resource catalogue (default 有条件共享).
    #[serde(default)]
    #[schemars(schema_with = "share_schema")]
    pub share: Option<Spanned<String>>,
    /// Golden libraries: the department whose copy wins (一数一源), or its periods.
    #[serde(default)]
    #[schemars(with = "Option<RawAuthority>")]
    pub authority: Option<Spanned<RawAuthority>>,
    /// Golden libraries: how departments' copies are compared (`exact`, `normalised`, `date`,
    /// `{ number = tolerance }`).
    #[serde(default)]
    #[schemars(with = "Option<RawCompare>")]
    pub compare: Option<Spanned<RawCompare>>,
    /// A library whose keys this field's values must be (referential integrity).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub references: Option<Spanned<String>>,
    /// Clean steps, in order (see docs/rules.md).
    #[serde(default)]
    #[schemars(schema_with = "clean_steps_schema")]
    pub clean: Vec<Spanned<toml::Value>>,
    /// Checks, in order (see docs/rules.md).
    #[serde(default)]
    #[schemars(with = "Vec<RawCheck>")]
    pub check: Vec<Spanned<RawCheck>>,
}

/// A check: exactly one of `rule`, `expr`, `code_table`, `regex`, `one_of`, `length`, `range`,
/// `type` or `not_before`, and a `severity`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    /// Rule id (default `<library>.<field>.<kind>`).
    #[serde(default)]
    pub id: Option<String>,
    /// A built-in rule.
    #[serde(default)]
    #[schemars(schema_with = "check_rule_schema")]
    pub rule: Option<Spanned<String>>,
    /// An SQL boolean expression over the cleaned fields; the row fails when it is false.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub expr: Option<Spanned<String>>,
    /// The value must be a code of this table (`rules/codes/<name>.csv`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub code_table: Option<Spanned<String>>,
    /// The value must match this regular expression (Rust syntax).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub regex: Option<Spanned<String>>,
    /// The value must be one of these.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// `[min, max]` length in characters.
    #[serde(default)]
    #[schemars(with = "Option<[u32; 2]>")]
    pub length: Option<Spanned<Vec<i64>>>,
    /// `[min, max]` numeric range.
    #[serde(default)]
    #[schemars(with = "Option<[f64; 2]>")]
    pub range: Option<Spanned<Vec<f64>>>,
    /// The text must be a value of this type.
    #[serde(default, rename = "type")]
    #[schemars(schema_with = "value_type_schema")]
    pub ty: Option<Spanned<String>>,
    /// A date field this date must not be earlier than.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub not_before: Option<Spanned<String>>,
    /// Apply the check only where this SQL condition is true.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub when: Option<Spanned<String>>,
    /// The GB/T 36344 indicator its failures count against (default per kind).
    #[serde(default)]
    #[schemars(schema_with = "dimension_schema")]
    pub dimension: Option<Spanned<String>>,
    /// Largest share of rows read that may fail before the run is a breach (exit 1).
    #[serde(default)]
    #[schemars(with = "Option<f64>", range(min = 0.0, max = 1.0))]
    pub max_fail_ratio: Option<Spanned<f64>>,
    /// `reject` (to quarantine), `fix` (with `fix`) or `warn`.
    #[schemars(schema_with = "severity_schema")]
    pub severity: Spanned<String>,
    /// The replacement value (SQL) for severity `fix`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub fix: Option<Spanned<String>>,
}

fn one_of_strings(names: &[&str]) -> Schema {
    json_schema!({ "type": "string", "enum": names })
}

fn format_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["auto", "csv", "excel", "jsonl", "parquet"])
}

fn encoding_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["auto", "utf-8", "gb18030", "gbk", "gb2312"])
}

fn delivery_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["full", "increment", "cdc"])
}

fn keep_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["latest", "earliest"])
}

fn field_type_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["string", "date"])
}

fn value_type_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["integer", "decimal", "date"])
}

fn class_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["public", "internal", "sensitive"])
}

fn severity_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&["reject", "fix", "warn"])
}

fn mask_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&MaskKind::names())
}

fn share_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = Share::ALL
        .iter()
        .flat_map(|(en, zh, _)| [*en, *zh])
        .collect();
    one_of_strings(&names)
}

fn dimension_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(&Indicator::ALL.map(|(n, _, _, _)| n))
}

fn check_rule_schema(_: &mut SchemaGenerator) -> Schema {
    one_of_strings(CHECK_RULES)
}

fn sheet_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "oneOf": [{ "type": "string" }, { "type": "integer", "minimum": 1 }] })
}

fn columns_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" }, "minItems": 1 }
            ]
        }
    })
}

/// A step is a name, or a one-key table whose argument is a string (`pad` and `replace` take
/// a pair).
fn clean_steps_schema(_: &mut SchemaGenerator) -> Schema {
    let tables: Vec<serde_json::Value> = CLEAN_STEP_TABLES
        .iter()
        .map(|key| {
            let arg = match *key {
                "pad" => serde_json::json!({
                    "type": "array",
                    "prefixItems": [{ "type": "integer", "minimum": 1 }, { "type": "string" }],
                    "minItems": 2, "maxItems": 2
                }),
                "replace" => serde_json::json!({
                    "type": "array", "items": { "type": "string" }, "minItems": 2, "maxItems": 2
                }),
                _ => serde_json::json!({ "type": "string" }),
            };
            serde_json::json!({
                "type": "object",
                "properties": { *key: arg },
                "required": [key],
                "additionalProperties": false
            })
        })
        .collect();
    let mut choices = vec![serde_json::json!({ "type": "string", "enum": clean_steps() })];
    choices.extend(tables);
    json_schema!({ "type": "array", "items": { "oneOf": choices } })
}

/// JSON Schema of rule files.
pub fn rules_schema() -> String {
    schema_text::<RawRuleFile>("shuzhi rule file")
}

/// JSON Schema of topic files.
pub fn topic_schema() -> String {
    schema_text::<RawTopicFile>("shuzhi topic file")
}

/// JSON Schema of pipeline files.
pub fn pipeline_schema() -> String {
    schema_text::<RawPipelineFile>("shuzhi pipeline file")
}

fn schema_text<T: JsonSchema>(title: &str) -> String {
    let mut schema = schemars::schema_for!(T);
    schema.insert("title".into(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
