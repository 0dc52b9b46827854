//! `shuzhi evaluate-match`: generated departments linked and scored, pairs explained, and
//! mistakes in a `[match]` section named.

use crate::common::{repo, shuzhi, temp_dir};

#[test]
fn evaluate_match_scores_a_generated_city_and_explains_a_pair() {
    let dir = temp_dir("evaluate-match-pairs");
    let pairs = dir.join("pairs.csv");
    let pairs_arg = pairs.to_string_lossy().to_string();
    let (code, out, err) = shuzhi(
        &[
            "evaluate-match",
            "--persons",
            "3000",
            "--explain",
            "0,1",
            "--save-pairs",
            &pairs_arg,
        ],
        &repo(),
    );
    assert_eq!(code, 0, "{err}");
    // The pairs table: matches first, then the review queue, every field's level.
    let table = std::fs::read_to_string(&pairs).expect("pairs.csv");
    let mut lines = table.lines();
    assert_eq!(
        lines.next(),
        Some("left,right,decision,weight,probability,id_number,name,birth_date,phone,address")
    );
    let decisions: Vec<&str> = lines.filter_map(|l| l.split(',').nth(2)).collect();
    let first_review = decisions.iter().position(|d| *d == "review");
    assert!(decisions.iter().all(|d| *d == "match" || *d == "review"));
    assert!(
        decisions.iter().filter(|d| **d == "match").count() > 3000,
        "{} pairs",
        decisions.len()
    );
    if let Some(at) = first_review {
        assert!(
            decisions[at..].iter().all(|d| *d == "review"),
            "matches come first"
        );
    }
    let f1 = |unit: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(unit))
            .unwrap_or_else(|| panic!("no {unit} line in\n{out}"));
        line.split_whitespace()
            .last()
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("no F1 in {line}"))
    };
    assert!(f1("pairwise") >= 0.99, "{out}");
    assert!(f1("clusters") >= 0.98, "{out}");
    // Every rule is listed with its candidates, every field with its weights.
    for text in [
        "id_number",
        "birth_date + surname:name",
        "pinyin:name",
        "true pairs any rule compares",
    ] {
        assert!(out.contains(text), "{text} missing from\n{out}");
    }
    // The explanation lists the prior and one line per compared field.
    let explained = out
        .split("rows 0 and 1: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no explanation in\n{out}"));
    for field in [
        "prior",
        "id_number",
        "name",
        "birth_date",
        "phone",
        "address",
    ] {
        assert!(
            explained.contains(field),
            "{field} missing from\n{explained}"
        );
    }
}

#[test]
fn match_spec_mistakes_point_at_the_file_and_the_key() {
    let dir = temp_dir("match-spec-mistakes");
    let spec = dir.join("bad.toml");
    let original = std::fs::read_to_string(repo().join("rules/match/person.toml")).expect("spec");
    std::fs::write(&spec, original.replace(r#"["phone"]"#, r#"["telephone"]"#)).expect("write");
    let spec_arg = spec.to_string_lossy().to_string();
    let (code, _, err) = shuzhi(
        &["evaluate-match", "--persons", "50", "--spec", &spec_arg],
        &repo(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`telephone` is not a compared column"),
        "{err}"
    );
    std::fs::write(
        &spec,
        original.replace(r#"kind = "phone""#, r#"kind = "fone""#),
    )
    .expect("write");
    let (code, _, err) = shuzhi(
        &["evaluate-match", "--persons", "50", "--spec", &spec_arg],
        &repo(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.toml:") && err.contains("fone"), "{err}");
    let (code, _, err) = shuzhi(
        &["evaluate-match", "--persons", "50", "--explain", "1;2"],
        &repo(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--explain `1;2`"), "{err}");
}

#[test]
fn input_files_that_do_not_fit_are_named_and_nothing_panics() {
    let dir = temp_dir("match-bad-input");
    // No `phone` column, which the person spec compares.
    let csv = dir.join("records.csv");
    std::fs::write(
        &csv,
        "source,entity,id_number,name,birth_date,address\nps,P1,11010519491231002X,张三,1949-12-31,北京\n",
    )
    .expect("write");
    let csv_arg = csv.to_string_lossy().to_string();
    let (code, _, err) = shuzhi(&["evaluate-match", "--input", &csv_arg], &repo());
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("records.csv") && err.contains("no column `phone`"),
        "{err}"
    );
    // An empty file and a missing truth column.
    std::fs::write(&csv, "").expect("write");
    let (code, _, err) = shuzhi(&["evaluate-match", "--input", &csv_arg], &repo());
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("records.csv"), "{err}");
    std::fs::write(&csv, "a,b\n1,2\n").expect("write");
    let (code, _, err) = shuzhi(&["evaluate-match", "--input", &csv_arg], &repo());
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no truth column `entity`"), "{err}");
}
