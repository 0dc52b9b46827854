//! The rule vocabulary as data: every clean step and check with what it does and one worked
//! example. `docs/rules.md` is generated from it ([`rules_markdown`], a test keeps the file
//! current) and every example is executed by a test, so the documentation cannot drift from
//! the engine.

use std::fmt::Write as _;

use crate::diagnostic::{Origin, SourceFile};
use crate::model::{CheckKind, Number, SqlExpr, ValueType};

/// One worked example: a field's delivered value and what the rule makes of it.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The delivered value.
    pub input: &'static str,
    /// The value after the step (`None`: null); for checks, the value the check sees.
    pub output: Option<&'static str>,
    /// For checks: whether the row fails the check.
    pub fails: bool,
}

/// A clean step or a check.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// How it is written in a rule file.
    pub toml: &'static str,
    /// What it does (steps) or when it fails (checks).
    pub meaning: &'static str,
    /// Worked examples.
    pub examples: &'static [Example],
}

const fn ex(input: &'static str, output: Option<&'static str>) -> Example {
    Example {
        input,
        output,
        fails: false,
    }
}

const fn fails(input: &'static str) -> Example {
    Example {
        input,
        output: None,
        fails: true,
    }
}

const fn passes(input: &'static str) -> Example {
    Example {
        input,
        output: None,
        fails: false,
    }
}

/// Clean steps, in the order a field usually lists them.
pub const STEPS: &[Entry] = &[
    Entry {
        toml: "\"normalize_text\"",
        meaning: "full-width → half-width, U+3000 and NBSP → space, zero-width / bidi / control characters removed, whitespace runs collapsed, trimmed",
        examples: &[
            ex(" 张三\u{3000}丽 ", Some("张三 丽")),
            ex("ＡＢＣ１２３", Some("ABC123")),
        ],
    },
    Entry {
        toml: "\"null_tokens\"",
        meaning: "placeholder tokens (`无`, `/`, `NULL`, `不详`, `#N/A`, …; override with `null_tokens = [...]` in `[pipeline]`) → null",
        examples: &[ex("无", None), ex("/", None), ex("王五", Some("王五"))],
    },
    Entry {
        toml: "\"trim\"",
        meaning: "leading and trailing whitespace removed (also U+3000 and NBSP); inner spaces kept",
        examples: &[ex("\u{3000}张 三 ", Some("张 三"))],
    },
    Entry {
        toml: "\"upper\"",
        meaning: "upper case",
        examples: &[ex("abc", Some("ABC"))],
    },
    Entry {
        toml: "\"lower\"",
        meaning: "lower case",
        examples: &[ex("Zhang@Example.GOV.cn", Some("zhang@example.gov.cn"))],
    },
    Entry {
        toml: "{ pad = [6, \"0\"] }",
        meaning: "a number left-padded with the fill character to the width (codes that lost their leading zeros in Excel); text and longer values unchanged",
        examples: &[
            ex("1234", Some("001234")),
            ex("1234567", Some("1234567")),
            ex("汉族", Some("汉族")),
        ],
    },
    Entry {
        toml: "{ replace = [\"(室|号)$\", \"\"] }",
        meaning: "every match of the regular expression (Rust syntax) replaced; `$1` refers to a group; a pattern that does not compile is error E0120",
        examples: &[ex("301室", Some("301")), ex("301", Some("301"))],
    },
    Entry {
        toml: "\"simplified\"",
        meaning: "traditional → simplified characters (OpenCC character table; a character OpenCC maps to itself among others, 乾, stays)",
        examples: &[
            ex("臺灣省臺北市", Some("台湾省台北市")),
            ex("乾隆", Some("乾隆")),
        ],
    },
    Entry {
        toml: "{ amount = \"万元\" }",
        meaning: "amounts with units (`元`, `千元`, `万元`, `百万元`, `亿元`; `人民币`, `¥`, thousands separators dropped) → a plain decimal in the declared unit, converted exactly; a bare number is already in that unit; other text is kept (a `type` check rejects it)",
        examples: &[
            ex("1,234.50元", Some("0.12345")),
            ex("3亿", Some("30000")),
            ex("500", Some("500")),
        ],
    },
    Entry {
        toml: "\"company_name\"",
        meaning: "registered display form of a company name: brackets as `（）`, spaces removed (kept between Latin words), `*` removed, trailing status notes (`(已注销)`, `（吊销）`) dropped",
        examples: &[ex(
            "华为技术(北京) 有限公司(已注销)",
            Some("华为技术（北京）有限公司"),
        )],
    },
    Entry {
        toml: "\"company_key\"",
        meaning: "matching key of a company name (for dedup and joins, not display): the display form, simplified, brackets as `()`, punctuation removed, `有限责任公司` as `有限公司`",
        examples: &[ex(
            "華為技術（北京）有限責任公司",
            Some("华为技术(北京)有限公司"),
        )],
    },
    Entry {
        toml: "\"month\"",
        meaning: "a month in any layout departments use (`202607`, `2026/7`, `2026年7月`, a whole date) as `YYYY-MM`; text that is not a month is kept (check it with a `regex`); topic SQL reads it with `month_of`",
        examples: &[
            ex("202607", Some("2026-07")),
            ex("2026年7月", Some("2026-07")),
        ],
    },
    Entry {
        toml: "{ address = \"gb2260\" }",
        meaning: "the division prefix of an address written in full from the GB/T 2260 table (short and missing upper levels, repeated levels, `市辖区`, spaces); a county name shared by several cities without its city stays as written",
        examples: &[
            ex(
                "浙江杭州西湖区 文三路90号",
                Some("浙江省杭州市西湖区文三路90号"),
            ),
            ex("北京市北京市东城区", Some("北京市东城区")),
            ex("朝阳区建国路", Some("朝阳区建国路")),
        ],
    },
    Entry {
        toml: "{ coords = \"gcj02\" }",
        meaning: "a `lng,lat` point in GCJ-02 (AMap, Tencent), `bd09` (Baidu) or `wgs84` → WGS84 (≈ CGCS2000) `lng,lat` with six decimals; other text is kept",
        examples: &[ex(
            "116.403372494,39.917930749",
            Some("116.397128,39.916527"),
        )],
    },
    Entry {
        toml: "{ pseudonym = \"person\" }",
        meaning: "HMAC-SM3 keyed pseudonym (64 hex digits) under the key `person`, whose secret comes from the environment (`SHUZHI_KEY_PERSON`, or a file named by `SHUZHI_KEY_PERSON_FILE`; never a rule file); runs fail with E0131 when it is not set; manifests record the key id and fingerprint; `shuzhi test` uses a public test key (this example)",
        examples: &[ex(
            "11010519491231002X",
            Some("d07ed4c559f4d97272c28bbfb981985dc8f1aeb68da37e7c8548a2482306baa7"),
        )],
    },
    Entry {
        toml: "\"id_number\"",
        meaning: "GB 11643 canonical form: full-width digits, `x`/`×` → `X`, Excel `'` and `=\"…\"` prefixes removed, 15 → 18 digits",
        examples: &[
            ex("11010519491231002x", Some("11010519491231002X")),
            ex("110105491231002", Some("11010519491231002X")),
        ],
    },
    Entry {
        toml: "\"phone\"",
        meaning: "mobile `13912345678` or landline `0571-87654321[-ext]`; `+86` / `0086`, spaces and dashes removed; placeholders (`13800138000`) and Excel `1.38E+10` → null",
        examples: &[
            ex("+86 139 1234 5678", Some("13912345678")),
            ex("1.39123E+10", None),
        ],
    },
    Entry {
        toml: "\"parse_date\"",
        meaning: "ISO, `/`, `.`, `年月日`, `20230105`, Excel serials, timestamps (the time of day is dropped) → a date; impossible and ambiguous dates (`1/5/2023`) → null. Placeholder dates such as `1900-01-01` are dates: declare a field's placeholders with a check (`{ expr = \"registered_on <> DATE '1900-01-01'\", severity = \"warn\" }`), so that each is a flagged finding. Last among the text steps of a `type = \"date\"` field",
        examples: &[
            ex("2023年1月5日", Some("2023-01-05")),
            ex("44931", Some("2023-01-05")),
            ex("2025-04-10 15:52:33", Some("2025-04-10")),
            ex("1/5/2023", None),
        ],
    },
    Entry {
        toml: "{ map = \"gb2261_1\" }",
        meaning: "code, name or alias → the code of `rules/codes/<table>.csv`; unknown values are kept (a `code_table` check can reject them)",
        examples: &[
            ex("女性", Some("2")),
            ex("M", Some("1")),
            ex("?", Some("?")),
        ],
    },
    Entry {
        toml: "{ mask = \"phone\" }",
        meaning: "masks the value itself (for a library shared or opened as masked data): `name` keeps the surname, `id` the first 6 and last 4, `phone` 3 + 4 of a mobile (else the first 4 and last 2), `address` down to the county, `partial` the first and last character",
        examples: &[
            ex("13912345678", Some("139****5678")),
            ex("0311-87654321", Some("0311*******21")),
        ],
    },
    Entry {
        toml: "{ default = \"'未知'\" }",
        meaning: "fills a null from an SQL expression over the cleaned fields, e.g. `id_region(id_number)`",
        examples: &[ex("", Some("未知")), ex("北京", Some("北京"))],
    },
    Entry {
        toml: "{ derive = \"id_kind(value)\" }",
        meaning: "the value computed from an SQL expression over the cleaned fields (a derived field; `id_kind` classifies identifiers: `resident`, `hmt_residence_permit`, `foreign_permanent`, `foreign_permanent_2017`, `hkid`, `taiwan_id`, `hk_macau_permit`)",
        examples: &[
            ex("810000199408230021", Some("hmt_residence_permit")),
            ex("A123456(3)", Some("hkid")),
        ],
    },
];

/// Checks (each with a `severity`: `reject`, `fix` with a `fix` expression, or `warn`).
pub const CHECKS: &[Entry] = &[
    Entry {
        toml: "{ rule = \"required\" }",
        meaning: "fails when the cleaned value is null",
        examples: &[fails("无"), passes("张三")],
    },
    Entry {
        toml: "{ rule = \"required\", when = \"other >= DATE '2000-01-01'\" }",
        meaning: "any check with `when`: applies only to rows where the SQL condition is true (conditional required); here `other` is `2000-01-01`",
        examples: &[fails(""), passes("张三")],
    },
    Entry {
        toml: "{ rule = \"gb11643\" }",
        meaning: "fails when the value is not a valid citizen ID (check digit, real birth date)",
        examples: &[fails("110105194912310021"), passes("11010519491231002X")],
    },
    Entry {
        toml: "{ rule = \"gb11643_region\" }",
        meaning: "fails when a valid ID's region code had been abolished before its holder was born (needs the `gb2260` table with its `valid_to` years; 110103 崇文区 ended in 2010)",
        examples: &[fails("110103201501010014"), passes("110103198001010013")],
    },
    Entry {
        toml: "{ rule = \"person_id\" }",
        meaning: "fails when the value is no known personal identifier; mainland IDs, residence permits of Hong Kong / Macau / Taiwan residents (81/82/83), foreigners' permanent residence cards (2017 and 2023), HKID, Taiwan IDs and travel permits pass and are classified by `id_kind` rather than rejected",
        examples: &[
            fails("110105194912310021"),
            passes("810000199408230021"),
            passes("A123456(3)"),
        ],
    },
    Entry {
        toml: "{ rule = \"phone\" }",
        meaning: "fails when the value is not a canonical mobile or landline number",
        examples: &[fails("123"), passes("13912345678")],
    },
    Entry {
        toml: "{ rule = \"uscc\" }",
        meaning: "fails when the value is not a GB 32100 unified social credit code (check character)",
        examples: &[fails("91110000600037341M"), passes("91110000600037341L")],
    },
    Entry {
        toml: "{ rule = \"org_code\" }",
        meaning: "fails when the value is not a GB 11714 organisation code (`XXXXXXXX-X`)",
        examples: &[fails("60003734-2"), passes("60003734-1")],
    },
    Entry {
        toml: "{ rule = \"elicence_id\" }",
        meaning: "fails when the value is not a GB/T 36904 e-licence identifier (ISO 7064 MOD 37,36 check)",
        examples: &[
            fails("1.2.156.3005.2.11100000000013338W032.91330106RDEBDRCQ39.2018190930.001.A"),
            passes("1.2.156.3005.2.11100000000013338W032.91330106RDEBDRCQ39.2018190930.001.Z"),
        ],
    },
    Entry {
        toml: "{ regex = \"^[0-9]{6}$\" }",
        meaning: "fails when the value does not match the regular expression (Rust syntax; anchor it to match the whole value); a regex that does not compile is error E0120",
        examples: &[fails("10008"), passes("100080")],
    },
    Entry {
        toml: "{ rule = \"postal_code\" }",
        meaning: "fails when the value is not a mainland postal code (six digits)",
        examples: &[fails("10008"), passes("100080")],
    },
    Entry {
        toml: "{ rule = \"email\" }",
        meaning: "fails when the value is not shaped like an e-mail address",
        examples: &[fails("zhang@san"), passes("zhang.san@example.gov.cn")],
    },
    Entry {
        toml: "{ range = [0, 150] }",
        meaning: "fails when the value is not a number within `[min, max]` (inclusive)",
        examples: &[fails("151"), fails("abc"), passes("42.5")],
    },
    Entry {
        toml: "{ one_of = [\"存续\", \"注销\"] }",
        meaning: "fails when the value is not one of the listed values",
        examples: &[fails("吊销"), passes("存续")],
    },
    Entry {
        toml: "{ length = [2, 4] }",
        meaning: "fails when the value's length in characters is outside `[min, max]`",
        examples: &[fails("张"), passes("张三")],
    },
    Entry {
        toml: "{ type = \"integer\" }",
        meaning: "fails when the text is not of the type: `integer`, `decimal` or `date` (readable by `parse_date`)",
        examples: &[fails("12.5"), fails("十二"), passes("-42")],
    },
    Entry {
        toml: "{ rule = \"unique\" }",
        meaning: "fails on every row whose value another row of the run also has (counted over all rows governed in the run, before dedup; an incremental run sees its new batches)",
        examples: &[
            fails("A"),
            passes("B"),
            fails("C"),
            fails("A"),
            fails("C"),
            fails("C"),
            passes("D"),
        ],
    },
    Entry {
        toml: "{ not_before = \"other\" }",
        meaning: "per-entity time order: fails when this date is earlier than another date field of the row (both `type = \"date\"`); here `other` is `2000-01-01`",
        examples: &[fails("1999-12-31"), passes("2000-01-01")],
    },
    Entry {
        toml: "{ code_table = \"gb2261_1\" }",
        meaning: "fails when the value is not a code of the table",
        examples: &[fails("7"), passes("2")],
    },
    Entry {
        toml: "{ expr = \"length(value) >= 2\" }",
        meaning: "fails when the SQL expression is false; with `severity = \"fix\"`, when it is not true and the `fix` expression has a value",
        examples: &[fails("张"), passes("张三")],
    },
];

/// One check kind per way of writing a check, for the documentation of default indicators
/// (the mapping itself is [`CheckKind::default_indicator`]).
fn documented_kinds() -> Vec<(&'static str, CheckKind)> {
    let sql = || SqlExpr {
        sql: String::new(),
        origin: Origin {
            file: std::sync::Arc::new(SourceFile {
                path: "docs".into(),
                text: String::new(),
            }),
            span: 0..0,
        },
    };
    vec![
        ("required", CheckKind::Required),
        ("gb11643", CheckKind::Gb11643),
        ("phone", CheckKind::Phone),
        ("uscc", CheckKind::Uscc),
        ("org_code", CheckKind::OrgCode),
        ("elicence_id", CheckKind::ElicenceId),
        ("person_id", CheckKind::PersonId),
        ("regex", CheckKind::Regex(String::new())),
        ("length", CheckKind::Length { min: 0, max: 0 }),
        (
            "range",
            CheckKind::Range {
                min: Number(0.0),
                max: Number(0.0),
            },
        ),
        ("type", CheckKind::Type(ValueType::Integer)),
        ("gb11643_region", CheckKind::IdRegion),
        ("code_table", CheckKind::CodeTable(String::new())),
        ("one_of", CheckKind::OneOf(Vec::new())),
        ("expr", CheckKind::Expr(sql())),
        ("unique", CheckKind::Unique),
        ("not_before", CheckKind::NotBefore(String::new())),
    ]
}

/// `docs/rules.md`.
pub fn rules_markdown() -> String {
    let mut s = String::from(
        "# Rule vocabulary\n\n\
         Generated from `crates/shuzhi-rules/src/vocabulary.rs` (a test fails when this file is\n\
         stale; every example below is executed by `tests/it/vocabulary.rs`). A field lists its\n\
         clean steps in order, then its checks:\n\n\
         ```toml\n[[field]]\nname = \"gender\"\nclean = [\"normalize_text\", \"null_tokens\", { map = \"gb2261_1\" }]\n\
         check = [{ code_table = \"gb2261_1\", severity = \"warn\" }]\n```\n\n## Clean steps\n\n\
         | step | effect | examples |\n|---|---|---|\n",
    );
    let show = |v: Option<&str>| v.map_or("null".to_owned(), |v| format!("`{v}`"));
    for e in STEPS {
        let examples: Vec<String> = e
            .examples
            .iter()
            .map(|x| {
                let input = if x.input.is_empty() {
                    "null".to_owned()
                } else {
                    format!("`{}`", x.input)
                };
                format!("{input} → {}", show(x.output))
            })
            .collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {} |",
            e.toml,
            e.meaning,
            examples.join("; ")
        );
    }
    s.push_str("\n## Checks\n\nEach check takes `severity = \"reject\"` (the row goes to quarantine), `\"fix\"` (with\n`fix = \"SQL\"`: the value is replaced, the original kept in the verdict) or `\"warn\"` (the rule id\nis added to the row's `_flags`).\n\n| check | meaning | examples |\n|---|---|---|\n");
    for e in CHECKS {
        let examples: Vec<String> = e
            .examples
            .iter()
            .map(|x| format!("`{}` {}", x.input, if x.fails { "fails" } else { "passes" }))
            .collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {} |",
            e.toml,
            e.meaning,
            examples.join("; ")
        );
    }
    s.push_str(
        "\n## Quality dimensions (GB/T 36344-2018)\n\n\
         Every check counts its failures against one indicator of GB/T 36344; the manifest's\n\
         `quality` lists, per library and indicator — and per delivering department of the library —\n\
         the checks, the rows evaluated and failed and the score (1 − failed / evaluated). A check names another indicator with\n\
         `dimension = \"...\"`.\n\n| `dimension` | dimension / indicator | default for |\n|---|---|---|\n",
    );
    for (name, dimension, indicator, which) in crate::model::Indicator::ALL {
        let defaults = documented_kinds()
            .into_iter()
            .filter(|(_, kind)| kind.default_indicator() == which)
            .map(|(k, _)| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(s, "| `{name}` | {dimension} / {indicator} | {defaults} |");
    }
    s.push_str(
        "\n## Expected population (record completeness)\n\n\
         `[library] expected = { library = \"legal_person\", field = \"party_code\" }` (every key of\n\
         another library, as the run leaves it) or `expected = { code_table = \"<name>\" }` (every\n\
         current code of a table; `field` defaults to the key): after the tables are committed, an\n\
         anti-join lists what the library does not hold. The manifest's `expected_populations` gives\n\
         the expected and missing counts and the first 20 missing values (masked when the field is\n\
         sensitive), scored as 完整性 / 数据记录完整性.\n\n\
         The other direction, referential integrity: a field with `references = \"population\"`\n\
         must hold keys of that library. The manifest's `referential_integrity` gives, per such\n\
         field, its distinct values, the orphans (values that are no key there) and the first 20\n\
         of them, scored as 一致性 / 关联数据一致性. Both are table-level findings over the committed\n\
         tables: they add no row verdicts.\n",
    );
    s.push_str(
        "\n## Field attributes\n\n\
         - `type = \"string\" | \"date\"` — the value's type after cleaning (`date` needs `parse_date`).\n\
         - `class = \"public\" | \"internal\" | \"sensitive\"` (default `internal`). The values of a\n  \
         `sensitive` field are masked wherever shuzhi shows them outside the data tables: the\n  \
         verdict table's `original`, `cleaned` and `fixed`, and the raw line of an ingest verdict\n  \
         when the library has any sensitive field (`tests/it/leak.rs` greps every report, log,\n  \
         manifest, lineage event and the verdicts for the delivered values). The library keeps\n  \
         the cleaned values and the quarantine the delivered ones: they are the data, for\n  \
         analysts and for repair.\n\
         - `mask = \"name\" | \"id\" | \"phone\" | \"address\" | \"partial\"` (default `partial`) — how a\n  \
         sensitive field's values are masked (the kinds of the `mask` step).\n\
         - `share = \"unconditional\" | \"conditional\" | \"not_shared\"` (or `无条件共享` / `有条件共享` /\n  \
         `不予共享`; default `conditional`) — the field's sharing class in the data resource catalogue,\n  \
         recorded in the manifest (`fields`).\n\
         - `authority = \"<department>\"`, or periods `authority = [{ department = \"hrss\", until =\n  \
         \"2023-12-31\" }, { department = \"civil_affairs\", from = \"2024-01-01\" }]` (golden libraries\n  \
         only) — the authority registry (一数一源): that department's copy of the field wins the\n  \
         golden record for deliveries dated within the period (`from` / `until` inclusive, open\n  \
         when absent). Periods of one field must not overlap; the department must deliver a source\n  \
         of the library. Recorded in the manifest too.\n\
         - `compare = \"exact\" | \"normalised\" | \"date\" | { number = <tolerance> }` (golden\n  \
         libraries; default `exact`, `date` for date fields) — when two departments' copies of the\n  \
         field are the same: equal text; equal after width folding, 繁→简 and removing spaces;\n  \
         equal dates; numbers within the tolerance. A pair that is not the same is a conflict.\n\n\
         ## Golden records\n\n\
         `golden = true` in `[library]` keeps every department's governed rows in a source layer\n\
         (`<library>_source`; dedup resolves duplicates within one department only) and builds one\n\
         record per key: each attribute from the authority registry's department, else the most\n\
         recent delivery, else the most complete (longest) value; a value its own field's warn\n\
         checks flagged takes no part. `<library>_attributes` records where each attribute came\n\
         from and why, `<library>_link` links every source row to its entity, `<library>_conflicts`\n\
         lists each department copy that is not the same as the golden value (compared as the\n\
         department stated it, before fixes), with the department that must correct it\n\
         (`shuzhi rectify --department <d>` exports its list). See docs/libraries.md.\n\n\
         ## Topics\n\n\
         A topic library (主题库) is a file with `[topic]` instead of `[library]`, listed under\n\
         `topics = [...]` in `[pipeline]` (they run in that order, after the golden stage, over\n\
         the versions the run is about to publish, and are published with them):\n\n\
         - `name` — its table's query name; `description` — for the catalogue;\n\
         - `reads` — the tables its SQL reads: libraries (a golden library's golden records),\n\
           `<library>_source` / `_attributes` / `_conflicts` / `_link`, `quarantine_<library>`,\n\
           `verdicts`, or a topic listed before it (E0140 otherwise);\n\
         - `key` — output columns no two rows share (a duplicate fails the run before\n\
           publishing, naming the topic and the masked key);\n\
         - `decision`, `reason`, `evidence` — output columns (defaults `decision`, `reason`,\n\
           `evidence`); the evidence is a list of `evidence(library, key, file, line)` values;\n\
         - `sql` — one DataFusion query; write it as a literal string (three single quotes)\n\
           so that errors point at the offending token.\n\n\
         Decision lists are SQL `CASE` expressions (the first branch that holds decides; write\n\
         the reason's `CASE` in the same order); row lookups are joins; lists per key are\n\
         `array_sort(array_agg(...))` (not `array_agg(... ORDER BY ...)` or `array_agg(DISTINCT\n\
         ...)`, whose memory DataFusion over-counts: they fail small memory limits). Functions for topics besides shuzhi's kernels\n\
         (`id_birth_date`, `id_gender`, `id_region`, ...): `month_of(text or date)` (a month is\n\
         the date of its first day), `add_months(date, n)`, `months_between(a, b)`,\n\
         `age_at(birth, date)`, `evidence(library, key, file, line)`. Every row also gets\n\
         `_topic` and `_topic_fingerprint` (sha256 of the file in canonical form). A topic whose\n\
         file and input versions did not change keeps its published table. `[[test]]` blocks\n\
         give rows per table read (`input.<table> = [{ column = \"value\" }]`, other columns\n\
         null, text cast to the column's type) and every row the topic must give (`expect`,\n\
         compared by key on the columns written); `shuzhi test pipeline.toml` runs them and\n\
         `shuzhi check` plans every topic without data.\n",
    );
    s
}
