//! The rule vocabulary as data: every clean step and check with what it does and one worked
//! example. `docs/rules.md` is generated from it ([`rules_markdown`], a test keeps the file
//! current) and every example is executed by a test, so the documentation cannot drift from
//! the engine.

use std::fmt::Write as _;

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
        toml: "\"upper\"",
        meaning: "upper case",
        examples: &[ex("abc", Some("ABC"))],
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
        meaning: "ISO, `/`, `.`, `年月日`, `20230105`, Excel serials, zero-time timestamps → a date; ambiguous and placeholder dates (`1900-01-01`) → null. Last among the text steps of a `type = \"date\"` field",
        examples: &[
            ex("2023年1月5日", Some("2023-01-05")),
            ex("44931", Some("2023-01-05")),
            ex("1900-01-01", None),
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
];

/// Checks (each with a `severity`: `reject`, `fix` with a `fix` expression, or `warn`).
pub const CHECKS: &[Entry] = &[
    Entry {
        toml: "{ rule = \"required\" }",
        meaning: "fails when the cleaned value is null",
        examples: &[fails("无"), passes("张三")],
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
         sensitive field's values are masked (the kinds of the `mask` step).\n",
    );
    s
}
