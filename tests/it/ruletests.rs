//! Tools for rule authors: `shuzhi test` runs the `[[test]]` blocks of rule files,
//! `shuzhi explain` shows each step's effect on one value.

use crate::common::{repo, shuzhi, temp_dir};

#[test]
fn the_standard_rule_sets_pass_their_own_tests() {
    let (code, stdout, stderr) = shuzhi(&["test", "rules"], &repo());
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Every standard rule set is there, with tests.
    let mut files: Vec<String> = std::fs::read_dir(repo().join("rules"))
        .expect("rules folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "contribution.toml",
            "credit.toml",
            "death_certificate.toml",
            "death_registration.toml",
            "enrolment_application.toml",
            "geospatial.toml",
            "household.toml",
            "household_cancellation.toml",
            "legal_person.toml",
            "legal_representative.toml",
            "licence.toml",
            "marriage.toml",
            "medical_settlement.toml",
            "pension.toml",
            "population.toml",
            "property.toml",
            "real_estate.toml",
            "unemployment_benefit.toml"
        ]
    );
    let mut total = 0;
    for f in &files {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("rules/{f}: ")))
            .unwrap_or_else(|| panic!("{f} not tested:\n{stdout}"));
        let n: usize = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(n >= 2, "{line}");
        total += n;
    }
    assert!(
        stdout.ends_with(&format!("\n{total} passed, 0 failed\n")),
        "{stdout}"
    );
}

const LIBRARY: &str = r#"[library]
name = "people"
key = "id"

[[field]]
name = "id"
clean = ["normalize_text", "id_number"]
check = [{ rule = "gb11643", severity = "reject" }]

[[field]]
name = "name"
clean = ["normalize_text", "null_tokens"]
"#;

#[test]
fn a_failing_test_shows_each_difference_and_exits_1() {
    let dir = temp_dir("ruletest-fail");
    let text = format!(
        "{LIBRARY}\n[[test]]\nname = \"wrong on purpose\"\ninput = {{ id = \"110105491231002\", name = \"无\" }}\nexpect = {{ id = \"110105491231002\" }}\nexpect_null = [\"name\"]\nreasons = [\"people.id.gb11643\"]\n"
    );
    std::fs::write(dir.join("people.toml"), text).expect("rule file");
    let (code, stdout, stderr) = shuzhi(&["test", "people.toml"], &dir);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("FAIL  wrong on purpose ("), "{stdout}");
    assert!(stdout.contains("people.toml:14:1)"), "{stdout}");
    assert!(
        stdout.contains("id: expected \"110105491231002\", got \"11010519491231002X\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("reasons: expected [\"people.id.gb11643\"], got []"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("name: expected null"),
        "the null expectation holds: {stdout}"
    );
    assert!(stdout.ends_with("0 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn a_test_naming_an_unknown_field_is_a_diagnostic() {
    let dir = temp_dir("ruletest-unknown");
    let text = format!("{LIBRARY}\n[[test]]\ninput = {{ idd = \"1\" }}\n");
    std::fs::write(dir.join("people.toml"), text).expect("rule file");
    let (code, _, stderr) = shuzhi(&["test", "."], &dir);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error[E0118]: test names `idd`, which is not a field of `people`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `id`?"), "{stderr}");
}

#[test]
fn explain_shows_each_step_then_the_checks() {
    let (code, stdout, stderr) = shuzhi(
        &[
            "explain",
            "--library",
            "population",
            "--field",
            "id_number",
            "１１０１０５４９１２３１００２",
        ],
        &repo(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "population.id_number ← \"１１０１０５４９１２３１００２\"\n\
         \x20 normalize_text   → \"110105491231002\"  changed\n\
         \x20 null_tokens      → \"110105491231002\"\n\
         \x20 id_number        → \"11010519491231002X\"  changed\n\
         \x20 result           → \"11010519491231002X\"\n\
         \x20 checks           all pass: population.id_number.required, population.id_number.gb11643, population.id_number.gb11643_region\n"
    );
    let (code, stdout, _) = shuzhi(
        &["explain", "--field", "id_number", "110105194912310021"],
        &repo(),
    );
    assert_eq!(code, 0);
    // Without --library, the first rule file (by name) that declares the field.
    assert!(
        stdout.contains("failed: contribution.id_number.gb11643 (reject)"),
        "{stdout}"
    );
    let (code, _, stderr) = shuzhi(&["explain", "--field", "idnumber", "1"], &repo());
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no library in rules declares the field `idnumber`"),
        "{stderr}"
    );
}

#[test]
fn a_regex_that_does_not_compile_is_a_diagnostic() {
    let dir = temp_dir("ruletest-regex");
    let text = LIBRARY.replace(
        "check = [{ rule = \"gb11643\", severity = \"reject\" }]",
        "check = [{ rule = \"gb11643\", severity = \"reject\" }, { regex = \"^[0-9\", severity = \"warn\" }]",
    );
    std::fs::write(dir.join("people.toml"), text).expect("rule file");
    let (code, _, stderr) = shuzhi(&["test", "people.toml"], &dir);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error[E0120]: the regex does not compile"),
        "{stderr}"
    );
    assert!(stderr.contains("people.toml:8:"), "{stderr}");
}
