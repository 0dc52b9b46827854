//! The compiled, typed plan that the engine executes: sources, libraries, fields, steps, checks.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diagnostic::Origin;

pub use shuzhi_functions::code_table::CodeTable;

/// A whole governance job: where deliveries come from, which rules apply, where outputs go.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Name of the job.
    pub name: String,
    /// Output directory (the lakehouse root).
    pub output: PathBuf,
    /// Deliveries, in file order.
    pub sources: Vec<Source>,
    /// Rules per target library, in file order.
    pub libraries: Vec<LibraryRules>,
    /// Topic libraries, in the order they run.
    pub topics: Vec<Topic>,
    /// Code tables by name.
    pub code_tables: BTreeMap<String, CodeTable>,
    /// Pseudonym keys in use: key id → fingerprint (never the secret).
    pub keys: BTreeMap<String, String>,
    /// Problems that do not stop a run (codes `W…`), e.g. fields no source delivers.
    pub warnings: Vec<crate::diagnostic::Diagnostic>,
    /// Placeholder tokens read as null by the `null_tokens` step.
    pub null_tokens: Vec<String>,
    /// Publish even when a library breaches its `max_reject_ratio` (the run still exits 1).
    pub publish_on_breach: bool,
    /// sha256 over the pipeline and rule files in a canonical form (comments, layout and key
    /// order do not count) and the code tables (comments and row order do not count).
    pub fingerprint: String,
}

impl Pipeline {
    /// The rules of a library by name.
    pub fn library(&self, name: &str) -> Option<&LibraryRules> {
        self.libraries.iter().find(|l| l.name == name)
    }

    /// Sources that feed a library.
    pub fn sources_of<'a>(&'a self, library: &'a str) -> impl Iterator<Item = &'a Source> + 'a {
        self.sources.iter().filter(move |s| s.library == library)
    }
}

/// Text encodings a delivery may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8, with or without BOM.
    Utf8,
    /// GB18030 (also used for files labelled GBK or GB2312, its subsets).
    Gb18030,
    /// Strict UTF-8 if the whole file decodes, else GB18030.
    Auto,
}

/// File format a source declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// By each file's extension.
    Auto,
    /// Delimited text.
    Csv,
    /// Workbooks: xlsx, xlsm, xlsb, xls, ods.
    Excel,
    /// JSON Lines.
    Jsonl,
    /// Parquet.
    Parquet,
}

/// Which worksheets of a workbook a source reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SheetChoice {
    /// Every visible sheet holding data.
    All,
    /// One sheet by name.
    Name(String),
    /// One sheet by 1-based position.
    Index(usize),
}

/// How a delivery relates to what the library already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// A complete snapshot.
    Full,
    /// New and changed rows.
    Increment,
    /// Rows with an operation (insert / update / delete), e.g. 户籍注销.
    Cdc,
}

/// How a cdc delivery marks deletions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The delivered column holding the operation.
    pub column: String,
    /// Its values that mean delete (all others insert or update).
    pub delete: Vec<String>,
}

/// One department delivery.
#[derive(Debug, Clone)]
pub struct Source {
    /// Stable id, e.g. `ps_population_gbk`.
    pub id: String,
    /// Delivering department, e.g. `public_security`.
    pub department: String,
    /// Files matched by the declared path or glob, sorted.
    pub files: Vec<PathBuf>,
    /// Declared format.
    pub format: FileFormat,
    /// Declared encoding.
    pub encoding: Encoding,
    /// Field delimiter byte.
    pub delimiter: u8,
    /// Worksheets to read (workbooks).
    pub sheet: SheetChoice,
    /// Also read hidden worksheets.
    pub hidden_sheets: bool,
    /// 1-based header row (workbooks); detected when absent.
    pub header_row: Option<u32>,
    /// Target library.
    pub library: String,
    /// Delivery mode.
    pub delivery: Delivery,
    /// Declared batch id; derived from file names and checksums when absent.
    pub batch: Option<String>,
    /// Operation column of a cdc delivery.
    pub operation: Option<Operation>,
    /// The rows in scope: a condition over the cleaned fields (false: out of scope).
    pub scope: Option<SqlExpr>,
    /// Canonical field → the column names it may arrive under, in preference order (the
    /// first is the current name; the others are aliases from older systems).
    pub columns: Vec<(String, Vec<String>)>,
    /// Where the source was declared.
    pub origin: Origin,
}

/// Value type of a canonical field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text (identifiers are always text).
    String,
    /// Calendar date, stored as Arrow `Date32`.
    Date,
}

/// Field classification (DESIGN.md: public / internal / sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldClass {
    /// May be shown anywhere.
    Public,
    /// Internal use.
    Internal,
    /// Personal data: masked in messages and reports.
    Sensitive,
}

/// Sharing class of a field in the government data resource catalogue (政务数据资源目录).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Share {
    /// 无条件共享: any department may use it.
    Unconditional,
    /// 有条件共享: on request and approval.
    Conditional,
    /// 不予共享: not shared.
    NotShared,
}

impl Share {
    /// Every class with its rule-file names (English, then Chinese).
    pub const ALL: [(&'static str, &'static str, Share); 3] = [
        ("unconditional", "无条件共享", Share::Unconditional),
        ("conditional", "有条件共享", Share::Conditional),
        ("not_shared", "不予共享", Share::NotShared),
    ];

    /// The catalogue's Chinese name.
    pub fn chinese(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, _, s)| *s == self)
            .map_or("有条件共享", |(_, c, _)| c)
    }
}

/// A GB/T 36344-2018 data-quality indicator (二级指标) and its dimension (一级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Indicator {
    /// 规范性 / 数据标准.
    DataStandard,
    /// 规范性 / 业务规则.
    BusinessRules,
    /// 规范性 / 权威参考数据.
    ReferenceData,
    /// 规范性 / 安全规范.
    SecurityNorms,
    /// 完整性 / 数据元素完整性.
    ElementCompleteness,
    /// 完整性 / 数据记录完整性.
    RecordCompleteness,
    /// 准确性 / 数据内容正确性.
    ContentCorrectness,
    /// 准确性 / 数据格式合规性.
    FormatCompliance,
    /// 准确性 / 数据唯一性.
    Uniqueness,
    /// 一致性 / 相同数据一致性.
    SameDataConsistency,
    /// 一致性 / 关联数据一致性.
    RelatedDataConsistency,
    /// 时效性 / 时序性.
    TemporalOrder,
}

impl Indicator {
    /// Every indicator: rule-file name, dimension, indicator (GB/T 36344 names).
    pub const ALL: [(&'static str, &'static str, &'static str, Indicator); 12] = [
        (
            "data_standard",
            "规范性",
            "数据标准",
            Indicator::DataStandard,
        ),
        (
            "business_rules",
            "规范性",
            "业务规则",
            Indicator::BusinessRules,
        ),
        (
            "reference_data",
            "规范性",
            "权威参考数据",
            Indicator::ReferenceData,
        ),
        (
            "security_norms",
            "规范性",
            "安全规范",
            Indicator::SecurityNorms,
        ),
        (
            "element_completeness",
            "完整性",
            "数据元素完整性",
            Indicator::ElementCompleteness,
        ),
        (
            "record_completeness",
            "完整性",
            "数据记录完整性",
            Indicator::RecordCompleteness,
        ),
        (
            "content_correctness",
            "准确性",
            "数据内容正确性",
            Indicator::ContentCorrectness,
        ),
        (
            "format_compliance",
            "准确性",
            "数据格式合规性",
            Indicator::FormatCompliance,
        ),
        ("uniqueness", "准确性", "数据唯一性", Indicator::Uniqueness),
        (
            "same_data_consistency",
            "一致性",
            "相同数据一致性",
            Indicator::SameDataConsistency,
        ),
        (
            "related_data_consistency",
            "一致性",
            "关联数据一致性",
            Indicator::RelatedDataConsistency,
        ),
        (
            "temporal_order",
            "时效性",
            "时序性",
            Indicator::TemporalOrder,
        ),
    ];

    fn row(self) -> (&'static str, &'static str, &'static str) {
        Self::ALL
            .iter()
            .find(|r| r.3 == self)
            .map_or(("data_standard", "规范性", "数据标准"), |r| {
                (r.0, r.1, r.2)
            })
    }

    /// Rule-file name, e.g. `format_compliance`.
    pub fn name(self) -> &'static str {
        self.row().0
    }

    /// `维度/指标`, e.g. `准确性/数据格式合规性`.
    pub fn label(self) -> String {
        let (_, dimension, indicator) = self.row();
        format!("{dimension}/{indicator}")
    }
}

/// Value types a `type` check accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// An optional sign and digits.
    Integer,
    /// An optional sign, digits and at most one decimal point.
    Decimal,
    /// Text `parse_date` reads as a date.
    Date,
}

/// Rules for one library.
#[derive(Debug, Clone)]
pub struct LibraryRules {
    /// Library name, e.g. `population`.
    pub name: String,
    /// Key field.
    pub key: String,
    /// Exact dedup on the key (within each department's deliveries when `golden`).
    pub dedup: Option<Dedup>,
    /// Golden records (`golden = true`): every department's rows are kept in a source layer,
    /// and one record per entity is chosen attribute by attribute (authority, recency,
    /// completeness), with the departments' conflicts.
    pub golden: bool,
    /// Largest share of rows read that may be rejected by checks (dedup losers not counted)
    /// before the run is a quality breach (exit code 1).
    pub max_reject_ratio: Option<f64>,
    /// Expected population (record completeness): keys that must all be present.
    pub expected: Option<Expected>,
    /// Fields in declaration order.
    pub fields: Vec<Field>,
    /// `[[test]]` blocks: rows in, expected cleaned row and verdicts out.
    pub tests: Vec<RuleTest>,
    /// The rule file.
    pub file: PathBuf,
}

impl LibraryRules {
    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The query names of the tables a run writes for this library, which topics may read:
    /// the library (a golden library's golden records), its quarantine, and a golden
    /// library's source layer, links, attribute sources and conflicts.
    pub fn tables(&self) -> Vec<String> {
        let mut tables = vec![self.name.clone(), format!("quarantine_{}", self.name)];
        if self.golden {
            for part in ["source", "link", "attributes", "conflicts"] {
                tables.push(format!("{}_{part}", self.name));
            }
        }
        tables
    }

    /// All checks of all fields, in order.
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.fields.iter().flat_map(|f| f.checks.iter())
    }
}

/// A topic library (主题库): one SQL query over published libraries, with the columns that key
/// its rows, give its decision and reason, and list its evidence.
#[derive(Debug, Clone)]
pub struct Topic {
    /// Name, also the query name of its table.
    pub name: String,
    /// What it finds (for the catalogue).
    pub description: Option<String>,
    /// Tables the SQL reads, each with where it is named.
    pub reads: Vec<(String, Origin)>,
    /// Output key columns (unique per row).
    pub key: Vec<String>,
    /// Where the key is declared.
    pub key_origin: Origin,
    /// Decision column.
    pub decision: String,
    /// Reason column.
    pub reason: String,
    /// Evidence column.
    pub evidence: String,
    /// The query; its origin covers the quoted string.
    pub sql: SqlExpr,
    /// `[[test]]` blocks.
    pub tests: Vec<TopicTest>,
    /// The topic file.
    pub file: PathBuf,
    /// sha256 of the file in canonical form (comments and layout do not count): recorded
    /// on every topic row and in the manifest.
    pub fingerprint: String,
}

/// Where `[topic]` puts its decision, reason and evidence when it does not say.
pub const TOPIC_DEFAULT_COLUMNS: [&str; 3] = ["decision", "reason", "evidence"];

/// A topic test: rows per input table, and every row the topic must give.
#[derive(Debug, Clone)]
pub struct TopicTest {
    /// Name shown in reports (`test N` when not given).
    pub name: String,
    /// Rows per table read: column → value as text (`None`: null).
    pub input: BTreeMap<String, Vec<BTreeMap<String, Option<String>>>>,
    /// Expected rows: column → value as text (`None`: null).
    pub expect: Vec<BTreeMap<String, Option<String>>>,
    /// Where the test was written.
    pub origin: Origin,
}

/// A rule unit test: one delivered row and what the rules must make of it.
#[derive(Debug, Clone)]
pub struct RuleTest {
    /// Name shown in reports (`test N` when not given).
    pub name: String,
    /// Delivered values by field.
    pub input: BTreeMap<String, String>,
    /// Expected values after cleaning, checks and fixes (dates as `YYYY-MM-DD`).
    pub expect: BTreeMap<String, String>,
    /// Fields expected to be null.
    pub expect_null: Vec<String>,
    /// Expected rejection reasons (empty: the row is kept); unchecked when absent.
    pub reasons: Option<Vec<String>>,
    /// Expected warn / fix flags; unchecked when absent.
    pub flags: Option<Vec<String>>,
    /// Where the test was written.
    pub origin: Origin,
}

/// A number in a rule (compared and hashed by its bits, so rules stay `Eq` and `Hash`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(pub f64);

impl Eq for Number {}

impl std::hash::Hash for Number {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// An expected population (GB/T 36344 数据记录完整性): every value of the reference set must
/// appear in `field` of the library after the run; the missing ones are reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Where the expected values come from.
    pub reference: Reference,
    /// The field of this library that must hold them (default: the key).
    pub field: String,
    /// Where it was declared.
    pub origin: Origin,
}

/// A library named in a rule file, with where it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRef {
    /// Library name.
    pub library: String,
    /// Where it was written.
    pub origin: Origin,
}

/// A reference set of values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// The codes of a code table.
    CodeTable(String),
    /// The keys of another library, as this run leaves it.
    Library(String),
}

/// One entry of the authority registry (一数一源): `department`'s copy of a field wins the
/// golden record for deliveries made from `from` until `until` (ISO dates, both inclusive;
/// open when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The authoritative department.
    pub department: String,
    /// First delivery date the entry covers.
    pub from: Option<String>,
    /// Last delivery date the entry covers.
    pub until: Option<String>,
    /// Where it was declared.
    pub origin: Origin,
}

impl Authority {
    /// Whether two entries' periods share a day.
    pub fn overlaps(&self, other: &Authority) -> bool {
        let starts_before_end = |a: &Authority, b: &Authority| match (&a.from, &b.until) {
            (Some(from), Some(until)) => from <= until,
            _ => true,
        };
        starts_before_end(self, other) && starts_before_end(other, self)
    }
}

/// How two departments' values of a field are compared (a conflict is a pair that is not the
/// same under it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compare {
    /// Equal text.
    Exact,
    /// Equal after width folding, 繁→简 and removing spaces.
    Normalised,
    /// Equal dates (`type = "date"` fields).
    Date,
    /// Numbers within a tolerance.
    Number(Number),
}

impl Compare {
    /// The keyword of a rule file (`number` for `{ number = tolerance }`).
    pub fn name(&self) -> &'static str {
        match self {
            Compare::Exact => "exact",
            Compare::Normalised => "normalised",
            Compare::Date => "date",
            Compare::Number(_) => "number",
        }
    }
}

/// Which duplicate survives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dedup {
    /// Field ordering duplicates, e.g. the registration date.
    pub order_by: String,
    /// Keep the latest (largest) or earliest value of `order_by`.
    pub keep: Keep,
}

/// Dedup survivor choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Largest `order_by` wins.
    Latest,
    /// Smallest `order_by` wins.
    Earliest,
}

pub use shuzhi_functions::amount::AmountUnit;
pub use shuzhi_functions::chain::{Chain, TextStep};
pub use shuzhi_functions::coords::CoordSystem;
pub use shuzhi_functions::keyword::Keyword;
pub use shuzhi_functions::mask::MaskKind;
pub use shuzhi_functions::pseudonym::PseudonymKey;

/// One canonical field of a library.
#[derive(Debug, Clone)]
pub struct Field {
    /// Canonical name (snake_case).
    pub name: String,
    /// Value type after cleaning.
    pub ty: FieldType,
    /// Classification.
    pub class: FieldClass,
    /// How a sensitive field's values are masked in verdicts and messages (`mask = "..."`,
    /// default `partial`).
    pub mask: MaskKind,
    /// Sharing class of the government data catalogue (`share = "..."`).
    pub share: Share,
    /// The authority registry of a golden library (一数一源, `authority = "..."` or a list of
    /// periods): the department whose copy of this field wins survivorship, and when.
    pub authority: Vec<Authority>,
    /// How departments' copies of the field are compared for conflicts (`compare = "..."`).
    pub compare: Compare,
    /// Library whose keys this field's values must be (`references = "..."`), checked over
    /// the committed tables after the run.
    pub references: Option<LibraryRef>,
    /// Clean steps in order.
    pub clean: Vec<CleanStep>,
    /// Checks in order.
    pub checks: Vec<Check>,
}

impl Field {
    /// The field's kernel steps fused into one chain, in rule-file order (the same execution
    /// for `run`, `test` and `explain`); `default` and `derive` are not part of it.
    pub fn chain(&self) -> Chain {
        Chain {
            steps: self
                .clean
                .iter()
                .filter_map(|s| match s {
                    CleanStep::Text(t) => Some(t.clone()),
                    _ => None,
                })
                .collect(),
            parse_date: self.clean.contains(&CleanStep::ParseDate),
        }
    }

    /// The mask for this field's values in verdicts and messages: `Some` for sensitive fields.
    pub fn display_mask(&self) -> Option<MaskKind> {
        (self.class == FieldClass::Sensitive).then_some(self.mask)
    }
}

/// A clean step, compiled once from the rule file: text steps are `shuzhi-functions` kernels
/// (their arguments — code tables, regexes, keys — resolved at load) that run fused per field;
/// `parse_date` ends the field's chain; `default` and `derive` are SQL over cleaned fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CleanStep {
    /// A text-to-text kernel.
    Text(TextStep),
    /// Many date formats → `Date32`.
    ParseDate,
    /// Fill nulls from an SQL expression over cleaned fields.
    Default {
        /// The expression.
        expr: SqlExpr,
    },
    /// The value computed from an SQL expression over cleaned fields (a derived field).
    Derive {
        /// The expression.
        expr: SqlExpr,
    },
}

impl CleanStep {
    /// Name as written in rule files (used in change counts).
    pub fn name(&self) -> String {
        match self {
            CleanStep::Text(step) => step.name(),
            CleanStep::ParseDate => "parse_date".into(),
            CleanStep::Default { .. } => "default".into(),
            CleanStep::Derive { .. } => "derive".into(),
        }
    }

    /// True for the SQL steps (`default`, `derive`), which run after the field's chain.
    pub fn is_sql(&self) -> bool {
        matches!(self, CleanStep::Default { .. } | CleanStep::Derive { .. })
    }
}

/// An SQL expression written in a rule file, with its origin for error messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SqlExpr {
    /// The SQL text.
    pub sql: String,
    /// Where it was written (the span covers the quoted string).
    pub origin: Origin,
}

/// What happens to a row that fails a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Recorded; the row is kept.
    Warn,
    /// The value is replaced by the fix; the original is kept in the verdict.
    Fix,
    /// The row goes to quarantine.
    Reject,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Fix => "fix",
            Severity::Reject => "reject",
        }
    }
}

/// A check on a field.
#[derive(Debug, Clone)]
pub struct Check {
    /// Rule id, e.g. `population.id_number.gb11643`.
    pub id: String,
    /// The field it belongs to.
    pub field: String,
    /// What is checked.
    pub kind: CheckKind,
    /// What failing means.
    pub severity: Severity,
    /// Replacement value for `fix` severity.
    pub fix: Option<SqlExpr>,
    /// The check applies only to rows where this SQL condition is true (`when = "..."`).
    pub when: Option<SqlExpr>,
    /// The GB/T 36344 indicator its failures count against (a default per kind,
    /// `dimension = "..."` overrides).
    pub indicator: Indicator,
    /// Largest share of rows read that may fail this check before the run is a quality
    /// breach (exit code 1).
    pub max_fail_ratio: Option<f64>,
    /// Where the check was written.
    pub origin: Origin,
}

/// Check kinds of rules v0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// Not null.
    Required,
    /// GB 11643 citizen identity number.
    Gb11643,
    /// The ID's region code was still in use at its holder's birth (GB/T 2260 `gb2260` table).
    IdRegion,
    /// Mainland mobile or landline number.
    Phone,
    /// GB 32100 unified social credit code.
    Uscc,
    /// GB 11714 organisation code.
    OrgCode,
    /// GB/T 36904 e-licence identifier.
    ElicenceId,
    /// Matches a regular expression (Rust syntax, searched anywhere unless anchored).
    Regex(String),
    /// One of the listed values.
    OneOf(Vec<String>),
    /// A number within `[min, max]` (text that is not a number fails).
    Range {
        /// Smallest allowed.
        min: Number,
        /// Largest allowed.
        max: Number,
    },
    /// Length in characters within `[min, max]`.
    Length {
        /// Shortest allowed.
        min: i64,
        /// Longest allowed.
        max: i64,
    },
    /// Value is a code of the named table.
    CodeTable(String),
    /// SQL boolean expression; the row fails when it is not true.
    Expr(SqlExpr),
    /// The text is a value of the type.
    Type(ValueType),
    /// A known personal identifier: mainland ID, residence permit of Hong Kong / Macau /
    /// Taiwan residents, foreigner's permanent residence card, HKID, Taiwan ID, travel permit.
    PersonId,
    /// No other row of the run has the same value.
    Unique,
    /// A date not before another date field of the row (per-entity time order).
    NotBefore(String),
}

impl CheckKind {
    /// The GB/T 36344 indicator a failure of this kind counts against by default.
    pub fn default_indicator(&self) -> Indicator {
        match self {
            CheckKind::Required => Indicator::ElementCompleteness,
            CheckKind::IdRegion | CheckKind::CodeTable(_) | CheckKind::OneOf(_) => {
                Indicator::ReferenceData
            }
            CheckKind::Expr(_) => Indicator::RelatedDataConsistency,
            CheckKind::Unique => Indicator::Uniqueness,
            CheckKind::NotBefore(_) => Indicator::TemporalOrder,
            CheckKind::Gb11643
            | CheckKind::Phone
            | CheckKind::Uscc
            | CheckKind::OrgCode
            | CheckKind::ElicenceId
            | CheckKind::Regex(_)
            | CheckKind::Range { .. }
            | CheckKind::Length { .. }
            | CheckKind::Type(_)
            | CheckKind::PersonId => Indicator::FormatCompliance,
        }
    }
}
