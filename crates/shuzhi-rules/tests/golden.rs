//! The rule front end's golden suite: every `cases/*.toml` is loaded — with `load_pipeline`
//! when it has a `[pipeline]` table, with `load_rules` otherwise — and what it reports (every
//! diagnostic rendered as `shuzhi check` prints it, or `ok`) must equal `cases/<name>.expected`.
//! `SHUZHI_BLESS=1 cargo test -p shuzhi-rules --test golden` rewrites the expected files; review
//! the diff before committing. No DataFusion is built for this suite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// What loading one case reports, with the cases folder shown as `cases/`.
fn outcome(case: &Path) -> String {
    let text = std::fs::read_to_string(case).expect("case file");
    let result = if text.contains("[pipeline]") {
        shuzhi_rules::load_pipeline(case).map(|p| p.warnings)
    } else {
        shuzhi_rules::load_rules(case).map(|p| p.warnings)
    };
    let rendered = match result {
        Ok(warnings) if warnings.is_empty() => "ok\n".to_owned(),
        Ok(warnings) => warnings.iter().map(|w| format!("{w}\n")).collect(),
        Err(shuzhi_rules::RulesError::Invalid(problems)) => {
            problems.iter().map(|p| format!("{p}\n")).collect()
        }
        Err(other) => format!("{other}\n"),
    };
    // Paths are shown relative to the cases folder, however the checkout is reached.
    let real = cases_dir()
        .canonicalize()
        .expect("cases folder")
        .display()
        .to_string();
    let dir = cases_dir().display().to_string();
    rendered
        .replace(&format!("{dir}/"), "cases/")
        .replace(&format!("{real}/"), "cases/")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("cases folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_case_reports_what_its_expected_file_says() {
    let bless = std::env::var_os("SHUZHI_BLESS").is_some();
    let mut failures = Vec::new();
    for case in cases() {
        let got = outcome(&case);
        let expected_path = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &got).expect("write expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{got}",
                case.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (SHUZHI_BLESS=1 rewrites them):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every code `docs/errors.md` documents for the front end (E00xx, E01xx, W02xx) is raised by
/// at least one case, and there are at least 30 cases.
#[test]
fn the_cases_cover_every_front_end_code() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md"))
            .expect("docs/errors.md");
    let documented: BTreeSet<String> = docs
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 5
                && (w.starts_with("E00") || w.starts_with("E01") || w.starts_with("W02"))
                && w[1..].chars().all(|c| c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect();
    let mut raised = BTreeSet::new();
    let cases = cases();
    for case in &cases {
        let expected = std::fs::read_to_string(case.with_extension("expected")).unwrap_or_default();
        for code in &documented {
            if expected.contains(&format!("[{code}]")) {
                raised.insert(code.clone());
            }
        }
    }
    let missing: Vec<&String> = documented.difference(&raised).collect();
    assert!(missing.is_empty(), "no case raises {missing:?}");
    assert!(cases.len() >= 30, "only {} cases", cases.len());
}
