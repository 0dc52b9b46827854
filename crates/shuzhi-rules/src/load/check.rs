//! A check table → [`Check`]: built-in rules, patterns, bounds, types, SQL, severity, fix.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::diagnostic::did_you_mean;
use crate::model::*;
use crate::raw::*;

use super::context::FileCx;
use crate::names::CHECK_RULES;

/// Mainland postal codes: six digits.
const POSTAL_CODE: &str = "^[0-9]{6}$";
/// A deliberately plain e-mail shape: local part, one `@`, a dotted domain.
const EMAIL: &str = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$";

pub(super) fn compile_check(
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
    let (kind, label) = kind_of(cx, raw, index, code_tables)?;
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

/// What a check tests, and the label of its default id.
fn kind_of(
    cx: &mut FileCx,
    raw: &RawCheck,
    index: usize,
    code_tables: &BTreeMap<String, CodeTable>,
) -> Option<(CheckKind, String)> {
    Some(if let Some(rule) = &raw.rule {
        let kind = builtin_rule(cx, rule, code_tables)?;
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
        (length_check(cx, bounds)?, "length".to_owned())
    } else if let Some(bounds) = &raw.range {
        (range_check(cx, bounds)?, "range".to_owned())
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
    })
}

/// A built-in rule: `{ rule = "gb11643" }`.
fn builtin_rule(
    cx: &mut FileCx,
    rule: &Spanned<String>,
    code_tables: &BTreeMap<String, CodeTable>,
) -> Option<CheckKind> {
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
    Some(kind)
}

/// What a `[min, max]` check accepts, for its messages.
struct Bounds {
    key: &'static str,
    example: &'static str,
    /// Whether a negative minimum is meaningful (not for lengths).
    signed: bool,
}

/// The `[min, max]` pair of a `length` or `range` check, or E0120.
fn min_max<T: Copy + PartialOrd + Default + std::fmt::Display>(
    cx: &mut FileCx,
    bounds: &Spanned<Vec<T>>,
    what: Bounds,
) -> Option<(T, T)> {
    let [min, max] = bounds.get_ref()[..] else {
        cx.error(
            "E0120",
            cx.origin(bounds),
            format!("`{}` takes [min, max]", what.key),
            Some(format!("e.g. {}", what.example)),
        );
        return None;
    };
    let (problem, help) = match what.signed {
        true => ("is empty", "write [min, max] with min <= max"),
        false => (
            "is empty or negative",
            "write [min, max] with 0 <= min <= max",
        ),
    };
    if max < min || (!what.signed && min < T::default()) {
        cx.error(
            "E0120",
            cx.origin(bounds),
            format!("{} [{min}, {max}] {problem}", what.key),
            Some(help.into()),
        );
        return None;
    }
    Some((min, max))
}

/// `{ length = [min, max] }` (characters, inclusive).
fn length_check(cx: &mut FileCx, bounds: &Spanned<Vec<i64>>) -> Option<CheckKind> {
    let what = Bounds {
        key: "length",
        example: "length = [2, 30] (characters, inclusive)",
        signed: false,
    };
    let (min, max) = min_max(cx, bounds, what)?;
    Some(CheckKind::Length { min, max })
}

/// `{ range = [min, max] }` (inclusive).
fn range_check(cx: &mut FileCx, bounds: &Spanned<Vec<f64>>) -> Option<CheckKind> {
    let what = Bounds {
        key: "range",
        example: "range = [0, 150] (inclusive)",
        signed: true,
    };
    let (min, max) = min_max(cx, bounds, what)?;
    Some(CheckKind::Range {
        min: Number(min),
        max: Number(max),
    })
}
