//! `docs/rules.md` is generated from the vocabulary in `shuzhi-rules` and stays current; every
//! example in it is executed here against the engine.

use std::collections::BTreeMap;

use shuzhi_rules::vocabulary::{CHECKS, STEPS, rules_markdown};

use crate::common::{repo, temp_dir};

#[test]
fn docs_rules_md_is_current() {
    let path = repo().join("docs/rules.md");
    let generated = rules_markdown();
    if std::env::var_os("SHUZHI_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/rules.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/rules.md is stale: run `SHUZHI_UPDATE_DOCS=1 cargo test --test it vocabulary` and commit it"
    );
}

/// A one-field library `v` with `value` cleaned by `clean` and checked by `check`.
fn library(dir: &std::path::Path, clean: &str, check: &str, date: bool) -> shuzhi_rules::Pipeline {
    let codes = dir.join("codes");
    std::fs::create_dir_all(&codes).expect("codes dir");
    for table in ["gb2261_1.csv", "gb2260.csv"] {
        std::fs::copy(repo().join("rules/codes").join(table), codes.join(table))
            .expect("code table");
    }
    // `other`, a date field, is what `when` and `not_before` examples compare with.
    let text = format!(
        "[library]\nname = \"v\"\nkey = \"value\"\n\n[[field]]\nname = \"value\"\n{}clean = [{clean}]\ncheck = [{check}]\n\n\
         [[field]]\nname = \"other\"\ntype = \"date\"\nclean = [\"parse_date\"]\n",
        if date { "type = \"date\"\n" } else { "" }
    );
    let file = dir.join("v.toml");
    std::fs::write(&file, text).expect("rule file");
    shuzhi_rules::load_rules(&file).expect("example rules load")
}

fn row(input: &str) -> BTreeMap<String, String> {
    let mut r = BTreeMap::new();
    r.insert("other".to_owned(), "2000-01-01".to_owned());
    if !input.is_empty() {
        r.insert("value".to_owned(), input.to_owned());
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_example_holds() {
    let dir = temp_dir("vocabulary");
    for step in STEPS {
        let date = step.toml.contains("parse_date");
        let p = library(&dir, step.toml, "", date);
        for ex in step.examples {
            let got = shuzhi_engine::evaluate::evaluate(&p, &p.libraries[0], &[row(ex.input)])
                .await
                .expect("evaluates");
            assert_eq!(
                got[0].values["value"].as_deref(),
                ex.output,
                "{} on {:?}",
                step.toml,
                ex.input
            );
        }
    }
    for check in CHECKS {
        let rule = format!(
            "{}, severity = \"reject\" }}",
            check.toml.trim_end_matches('}').trim_end()
        );
        let date = check.toml.contains("not_before");
        let clean = if date {
            "\"parse_date\""
        } else {
            "\"normalize_text\", \"null_tokens\""
        };
        let p = library(&dir, clean, &rule, date);
        // All examples of a check in one batch (`unique` compares rows with each other).
        let rows: Vec<_> = check.examples.iter().map(|ex| row(ex.input)).collect();
        let got = shuzhi_engine::evaluate::evaluate(&p, &p.libraries[0], &rows)
            .await
            .expect("evaluates");
        for (ex, got) in check.examples.iter().zip(&got) {
            assert_eq!(
                got.rejected, ex.fails,
                "{} on {:?}: {:?}",
                check.toml, ex.input, got
            );
        }
    }
}
