//! One rule file → [`LibraryRules`]: its fields, key, dedup, thresholds, tests and expected
//! population.

use std::collections::BTreeMap;
use std::sync::Arc;

use toml::Spanned;

use crate::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use crate::keys::KeyRing;
use crate::model::*;
use crate::raw::*;

use shuzhi_functions::text::NullTokens;

use super::context::FileCx;
use super::field::compile_field;
use super::parse_toml;
pub(super) fn load_rule_file(
    file: &Arc<SourceFile>,
    code_tables: &BTreeMap<String, CodeTable>,
    keys: &mut KeyRing,
    null_tokens: &Arc<NullTokens>,
) -> (Option<LibraryRules>, Vec<Diagnostic>) {
    let raw: RawRuleFile = match parse_toml(file) {
        Ok(raw) => raw,
        Err(d) => return (None, vec![d]),
    };
    let mut cx = FileCx {
        file: file.clone(),
        problems: Vec::new(),
        keys,
        null_tokens: null_tokens.clone(),
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
        fields.push(compile_field(&mut cx, &lib_name, f, code_tables));
    }
    if !raw.library.golden {
        for f in &raw.field {
            let attributes = [
                f.authority.as_ref().map(|a| ("authority", cx.origin(a))),
                f.compare.as_ref().map(|c| ("compare", cx.origin(c))),
            ];
            for (what, at) in attributes.into_iter().flatten() {
                cx.error(
                    "E0127",
                    at,
                    format!(
                        "`{what}` of `{}` needs golden records, and library `{lib_name}` has none",
                        f.name.get_ref()
                    ),
                    Some("add `golden = true` to [library], or remove it".into()),
                );
            }
        }
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
    check_time_orders(&mut cx, &fields);
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
    let tests = compile_tests(&mut cx, &raw, &fields, &lib_name);
    let expected = compile_expected(&mut cx, &raw, &known, code_tables);
    let library = LibraryRules {
        expected,
        name: lib_name,
        key: raw.library.key.into_inner(),
        dedup,
        golden: raw.library.golden,
        max_reject_ratio,
        fields,
        tests,
        file: file.path.clone(),
    };
    (Some(library), cx.problems)
}

/// `not_before` compares two date fields (E0121).
fn check_time_orders(cx: &mut FileCx, fields: &[Field]) {
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
}

/// The `[[test]]` blocks, each naming fields of this file only (E0118).
fn compile_tests(
    cx: &mut FileCx,
    raw: &RawRuleFile,
    fields: &[Field],
    lib_name: &str,
) -> Vec<RuleTest> {
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
    tests
}

/// `expected = { library | code_table, field }`: the population the library must cover.
fn compile_expected(
    cx: &mut FileCx,
    raw: &RawRuleFile,
    known: &[&str],
    code_tables: &BTreeMap<String, CodeTable>,
) -> Option<Expected> {
    raw.library.expected.as_ref().and_then(|e| {
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
    })
}
