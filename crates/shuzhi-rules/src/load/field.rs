//! A `[[field]]` → [`Field`]: type, class, mask, share, clean steps, checks, the authority
//! registry and the comparison of golden libraries.

use std::collections::BTreeMap;
use std::sync::Arc;

use toml::Spanned;

use crate::diagnostic::{Origin, did_you_mean};
use crate::model::*;
use crate::names::CLEAN_STEP_TABLES;
use crate::raw::*;

use super::check::compile_check;
use super::context::FileCx;
/// One `[[field]]`.
pub(super) fn compile_field(
    cx: &mut FileCx,
    library: &str,
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
        if is_date && !s.is_sql() {
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
    let checks: Vec<Check> = f
        .check
        .iter()
        .enumerate()
        .filter_map(|(i, c)| compile_check(cx, library, &name, i, c, code_tables))
        .collect();
    let ty = ty.unwrap_or(FieldType::String);
    let authority = f
        .authority
        .as_ref()
        .map(|a| compile_authority(cx, &name, a))
        .unwrap_or_default();
    let compare = match &f.compare {
        Some(c) => compile_compare(cx, &name, ty, c),
        None if ty == FieldType::Date => Compare::Date,
        None => Compare::Exact,
    };
    Field {
        name,
        ty,
        class: class.unwrap_or(FieldClass::Internal),
        mask: mask.unwrap_or(MaskKind::Partial),
        share: share.unwrap_or(Share::Conditional),
        authority,
        compare,
        references: f.references.as_ref().map(|r| LibraryRef {
            library: r.get_ref().clone(),
            origin: cx.origin(r),
        }),
        clean,
        checks,
    }
}

/// One clean step as written: a plain name or a one-key table.
fn compile_step(
    cx: &mut FileCx,
    step: &Spanned<toml::Value>,
    code_tables: &BTreeMap<String, CodeTable>,
) -> Option<CleanStep> {
    let origin = cx.origin(step);
    match step.get_ref() {
        toml::Value::String(name) => plain_step(cx, name, origin),
        toml::Value::Table(t) if t.len() == 1 => {
            let (key, value) = t.iter().next()?;
            match (key.as_str(), value) {
                ("pad", toml::Value::Array(a)) => pad_step(cx, a, origin),
                ("replace", toml::Value::Array(a)) => replace_step(cx, a, origin),
                (key, toml::Value::String(arg)) => table_step(cx, key, arg, origin, code_tables),
                (key, _) => {
                    cx.error(
                        "E0102",
                        origin,
                        format!("clean step `{key}` takes a string"),
                        Some(format!("write `{{ {key} = \"...\" }}`")),
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

/// A step written as a plain name.
fn plain_step(cx: &mut FileCx, name: &str, origin: Origin) -> Option<CleanStep> {
    match name {
        "parse_date" => Some(CleanStep::ParseDate),
        "null_tokens" => Some(CleanStep::Text(TextStep::NullTokens(
            cx.null_tokens.clone(),
        ))),
        other => {
            let step = TextStep::plain(other).map(CleanStep::Text);
            if step.is_none() {
                let names = crate::names::clean_steps();
                let help = did_you_mean(other, names.iter().map(String::as_str))
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("clean steps: {}", names.join(", ")));
                cx.error(
                    "E0102",
                    origin,
                    format!("unknown clean step `{other}`"),
                    Some(help),
                );
            }
            step
        }
    }
}

/// `{ pad = [width, "fill"] }`.
fn pad_step(cx: &mut FileCx, args: &[toml::Value], origin: Origin) -> Option<CleanStep> {
    match args {
        [toml::Value::Integer(w), toml::Value::String(f)]
            if (1..=256).contains(w) && f.chars().count() == 1 =>
        {
            Some(CleanStep::Text(TextStep::Pad(
                usize::try_from(*w).unwrap_or(1),
                f.chars().next().unwrap_or('0'),
            )))
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
    }
}

/// `{ replace = ["pattern", "replacement"] }`, compiled here once.
fn replace_step(cx: &mut FileCx, args: &[toml::Value], origin: Origin) -> Option<CleanStep> {
    let [toml::Value::String(pattern), toml::Value::String(with)] = args else {
        cx.error(
            "E0102",
            origin,
            "`replace` takes [\"pattern\", \"replacement\"]".into(),
            Some("e.g. { replace = [\"^(\\\\d{4})年$\", \"$1\"] }".into()),
        );
        return None;
    };
    match shuzhi_functions::text::Replace::new(pattern, with) {
        Ok(r) => Some(CleanStep::Text(TextStep::Replace(Arc::new(r)))),
        Err(e) => {
            let reason = e.to_string().lines().last().unwrap_or("").trim().to_owned();
            cx.error(
                "E0120",
                origin,
                "the regex does not compile".into(),
                Some(reason),
            );
            None
        }
    }
}

/// A code table a step names, or E0105 with `help`.
fn code_table<'t>(
    cx: &mut FileCx,
    code_tables: &'t BTreeMap<String, CodeTable>,
    name: &str,
    origin: Origin,
    help: Option<String>,
) -> Option<&'t CodeTable> {
    let table = code_tables.get(name);
    if table.is_none() {
        let help = help.unwrap_or_else(|| {
            did_you_mean(name, code_tables.keys().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| "code tables live in rules/codes/<name>.csv".into())
        });
        cx.error(
            "E0105",
            origin,
            format!("unknown code table `{name}`"),
            Some(help),
        );
    }
    table
}

/// A step written as `{ key = "argument" }`.
fn table_step(
    cx: &mut FileCx,
    key: &str,
    arg: &str,
    origin: Origin,
    code_tables: &BTreeMap<String, CodeTable>,
) -> Option<CleanStep> {
    let sql = |origin: Origin| SqlExpr {
        sql: arg.into(),
        origin,
    };
    let text = match key {
        "default" => return Some(CleanStep::Default { expr: sql(origin) }),
        "derive" => return Some(CleanStep::Derive { expr: sql(origin) }),
        "map" => TextStep::Map(Arc::new(
            code_table(cx, code_tables, arg, origin, None)?.clone(),
        )),
        "address" => {
            let help = "`address` takes the GB/T 2260 table, e.g. { address = \"gb2260\" }";
            let table = code_table(cx, code_tables, arg, origin, Some(help.into()))?;
            TextStep::Address(Arc::new(shuzhi_functions::address::Divisions::new(table)))
        }
        "mask" => {
            let Some(kind) = MaskKind::from_name(arg) else {
                let names = MaskKind::names();
                let help = did_you_mean(arg, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("masks: {}", names.join(", ")));
                cx.error("E0102", origin, format!("unknown mask `{arg}`"), Some(help));
                return None;
            };
            TextStep::Mask(kind)
        }
        "amount" => TextStep::Amount(cx.keyword_at("amount unit", arg, origin, AmountUnit::ALL)?),
        "coords" => {
            TextStep::Coords(cx.keyword_at("coordinate system", arg, origin, CoordSystem::ALL)?)
        }
        "pseudonym" => match cx.keys.resolve(arg) {
            Ok(key) => TextStep::Pseudonym(key),
            Err((msg, help)) => {
                cx.error("E0131", origin, msg, Some(help));
                return None;
            }
        },
        other => {
            let help = did_you_mean(other, CLEAN_STEP_TABLES.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| format!("table steps: {}", CLEAN_STEP_TABLES.join(", ")));
            cx.error(
                "E0102",
                origin,
                format!("unknown clean step `{other}`"),
                Some(help),
            );
            return None;
        }
    };
    Some(CleanStep::Text(text))
}

/// A day written `YYYY-MM-DD`.
fn is_iso_date(text: &str) -> bool {
    shuzhi_functions::date::parse_date(text)
        .map(|d| d.to_string())
        .as_deref()
        == Some(text)
}

/// `authority`: one department, or periods that must be dates in order and must not overlap
/// (E0125).
fn compile_authority(cx: &mut FileCx, field: &str, a: &Spanned<RawAuthority>) -> Vec<Authority> {
    let origin = cx.origin(a);
    let entries: Vec<Authority> = match a.get_ref() {
        RawAuthority::Department(d) => vec![Authority {
            department: d.clone(),
            from: None,
            until: None,
            origin: origin.clone(),
        }],
        RawAuthority::Periods(periods) => periods
            .iter()
            .map(|p| Authority {
                department: p.department.clone(),
                from: p.from.clone(),
                until: p.until.clone(),
                origin: origin.clone(),
            })
            .collect(),
    };
    for e in &entries {
        for day in [&e.from, &e.until].into_iter().flatten() {
            if !is_iso_date(day) {
                cx.error(
                    "E0125",
                    origin.clone(),
                    format!("authority period of `{field}`: `{day}` is not a date"),
                    Some("write dates as YYYY-MM-DD, e.g. from = \"2024-01-01\"".into()),
                );
            }
        }
        if let (Some(from), Some(until)) = (&e.from, &e.until)
            && from > until
        {
            cx.error(
                "E0125",
                origin.clone(),
                format!(
                    "authority period of `{field}` for `{}` ends ({until}) before it starts ({from})",
                    e.department
                ),
                Some("swap `from` and `until`".into()),
            );
        }
    }
    for (i, a) in entries.iter().enumerate() {
        if let Some(b) = entries[i + 1..].iter().find(|b| a.overlaps(b)) {
            let period = |e: &Authority| {
                format!(
                    "{} {}..{}",
                    e.department,
                    e.from.as_deref().unwrap_or(""),
                    e.until.as_deref().unwrap_or("")
                )
            };
            cx.error(
                "E0125",
                origin.clone(),
                format!(
                    "authority periods of `{field}` overlap: {} and {}",
                    period(a),
                    period(b)
                ),
                Some(
                    "one department is authoritative at a time: end one period the day before the next starts"
                        .into(),
                ),
            );
        }
    }
    entries
}

/// `compare`: a kind that fits the field's type (E0126).
fn compile_compare(
    cx: &mut FileCx,
    field: &str,
    ty: FieldType,
    c: &Spanned<RawCompare>,
) -> Compare {
    let origin = cx.origin(c);
    let compare = match c.get_ref() {
        RawCompare::Number { number } => Compare::Number(Number(*number)),
        RawCompare::Kind(kind) => cx
            .keyword_at(
                "comparison",
                kind,
                origin.clone(),
                &[
                    ("exact", Compare::Exact),
                    ("normalised", Compare::Normalised),
                    ("date", Compare::Date),
                ],
            )
            .unwrap_or(Compare::Exact),
    };
    let fits = match compare {
        Compare::Exact => true,
        Compare::Date => ty == FieldType::Date,
        Compare::Normalised | Compare::Number(_) => ty == FieldType::String,
    };
    if !fits {
        let valid = match ty {
            FieldType::Date => "\"date\" or \"exact\"",
            FieldType::String => "\"exact\", \"normalised\" or { number = <tolerance> }",
        };
        let ty_name = match ty {
            FieldType::Date => "date",
            FieldType::String => "string",
        };
        cx.error(
            "E0126",
            origin,
            format!(
                "`compare = {}` does not fit `{field}`, a {ty_name} field",
                compare.name()
            ),
            Some(format!("a {ty_name} field compares with {valid}")),
        );
    }
    if let Compare::Number(Number(t)) = compare
        && !(t >= 0.0 && t.is_finite())
    {
        cx.error(
            "E0126",
            cx.origin(c),
            format!(
                "`compare = {{ number = {t} }}` on `{field}`: the tolerance must be a number >= 0"
            ),
            Some("e.g. { number = 0.01 }".into()),
        );
    }
    compare
}
