//! Bad input and bad rules give clear errors with the right exit code, never a panic, and never
//! publish anything.

use std::path::Path;

use crate::common::*;

fn pipeline_copy(dir: &Path, edit: impl Fn(String) -> String) -> String {
    handworked_copy(dir, "pipeline.toml", edit)
        .display()
        .to_string()
}

fn scrub(text: &str, dir: &Path) -> String {
    let repo = repo().canonicalize().expect("repo path");
    text.replace(&dir.display().to_string(), "[TMP]")
        .replace(&repo.display().to_string(), "[REPO]")
}

#[test]
fn gbk_file_declared_utf8_names_file_byte_and_line() {
    let dir = temp_dir("err-encoding");
    let pipeline = pipeline_copy(&dir, |t| {
        t.replace("encoding = \"gb18030\"", "encoding = \"utf-8\"")
    });
    let out = dir.join("out");
    let (code, _, stderr) = shuzhi(
        &["run", &pipeline, "--out", &out.display().to_string()],
        &dir,
    );
    assert_eq!(code, 3, "input errors exit with 3: {stderr}");
    insta::assert_snapshot!("gbk_declared_utf8", scrub(&stderr, &dir));
    assert!(
        !out.join("_published.json").exists(),
        "nothing may be published"
    );
}

#[test]
fn missing_delivery_file_is_reported_before_reading() {
    let dir = temp_dir("err-missing");
    // A path relative to the pipeline's folder keeps the snippet independent of where the
    // repository is checked out.
    let delivered = format!(
        "\"{}/tests/handworked/public_security/population_new.csv\"",
        repo().canonicalize().expect("repo").display()
    );
    let pipeline = pipeline_copy(&dir, |t| {
        t.replace(&delivered, "\"population_missing.csv\"")
    });
    let (code, _, stderr) = shuzhi(&["check", &pipeline], &dir);
    assert_eq!(code, 2, "{stderr}");
    insta::assert_snapshot!("missing_file", scrub(&stderr, &dir));
}

/// Runs `shuzhi check` on a copy of the sample whose rule file went through `(from, to)`
/// replacements and whose pipeline went through `edit_pipeline`; returns exit code and stderr.
fn check_with_edited_rules(
    dir: &Path,
    replacements: &[(&str, &str)],
    edit_pipeline: impl Fn(String) -> String,
) -> (i32, String) {
    let mut rules = std::fs::read_to_string(repo().join("rules/population.toml")).expect("rules");
    for (from, to) in replacements {
        assert!(rules.contains(from), "the sample rules contain {from}");
        rules = rules.replacen(from, to, 1);
    }
    std::fs::write(dir.join("population.toml"), rules).expect("write rules");
    let shared_rules = format!(
        "\"{}/rules/population.toml\"",
        repo().canonicalize().expect("repo").display()
    );
    let pipeline = pipeline_copy(dir, |t| {
        edit_pipeline(t.replace(&shared_rules, "\"population.toml\""))
    });
    let (code, _, stderr) = shuzhi(&["check", &pipeline], dir);
    (code, stderr)
}

// The rule front end's diagnostics (unknown steps, rules, tables, severities, step arguments,
// keys, time order, indicators, expected populations, regexes: every code, several problems in
// one pass) are checked by the golden suite `crates/shuzhi-rules/tests/cases`, which builds
// without DataFusion. These tests keep what needs the binary: exit codes, SQL planning, runs.

#[test]
fn sql_expression_that_does_not_plan_points_at_the_rule() {
    let dir = temp_dir("err-sql");
    let (code, stderr) = check_with_edited_rules(
        &dir,
        &[(
            "gender = id_gender(id_number)",
            "gender = id_gendr(id_number)",
        )],
        |t| t,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error[E0201]"), "{stderr}");
    assert!(stderr.contains("population.toml:"), "{stderr}");
    assert!(stderr.contains("id_gendr"), "{stderr}");
}

#[test]
fn query_before_any_run_says_what_to_do() {
    let dir = temp_dir("err-query");
    let (code, _, stderr) = shuzhi(&["query", "SELECT 1", "--out", "nowhere"], &dir);
    assert_eq!(code, 3);
    assert!(stderr.contains("nothing is published"), "{stderr}");
    assert!(stderr.contains("shuzhi run"), "{stderr}");
}

/// Write–audit–publish: a run that fails on bad input leaves the last published state exactly
/// as it was, and readable.
#[test]
fn a_failed_run_leaves_the_published_state_readable() {
    let dir = temp_dir("err-keeps-published");
    let out = dir.join("out");
    let out_arg = out.display().to_string();
    let good = pipeline_copy(&dir, |t| t);
    let (code, _, stderr) = shuzhi(&["run", &good, "--out", &out_arg, "--run-id", "good"], &dir);
    assert_eq!(code, 0, "{stderr}");
    let before = std::fs::read(out.join("_published.json")).expect("published");

    let bad_dir = dir.join("bad");
    std::fs::create_dir_all(&bad_dir).expect("dir");
    let bad = pipeline_copy(&bad_dir, |t| {
        t.replace("encoding = \"gb18030\"", "encoding = \"utf-8\"")
    });
    let (code, _, _) = shuzhi(&["run", &bad, "--out", &out_arg, "--run-id", "bad"], &dir);
    assert_eq!(code, 3);
    assert_eq!(
        std::fs::read(out.join("_published.json")).expect("still published"),
        before
    );

    let (code, stdout, stderr) = shuzhi(
        &[
            "query",
            "SELECT count(*) AS n FROM population_source",
            "--out",
            &out_arg,
            "--format",
            "csv",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "n\n12\n");
}

#[test]
fn a_library_twice_or_without_a_source_is_an_error_and_unfed_fields_are_warnings() {
    let dir = temp_dir("err-libraries");
    let repo_path = repo().canonicalize().expect("repo");
    let population = format!("\"{}/rules/population.toml\"", repo_path.display());
    let household = format!("\"{}/rules/household.toml\"", repo_path.display());
    let pipeline = pipeline_copy(&dir, |t| {
        t.replace(
            &format!("rules = [{population}]"),
            &format!("rules = [{population}, {population}, {household}]"),
        )
    });
    let (code, _, stderr) = shuzhi(&["check", &pipeline], &dir);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error[E0122]: library `population` is defined by a second rule file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error[E0123]: no source feeds library `household`"),
        "{stderr}"
    );

    // The bundled job: fields no department delivers yet are warnings; the check passes.
    let (code, stdout, stderr) = shuzhi(&["check"], &repo());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("ok: pipeline.toml"), "{stdout}");
    assert!(
        stderr.contains("warning[W0201]: field `credit.fine` is mapped by no source"),
        "{stderr}"
    );
    assert!(!stderr.contains("error"), "{stderr}");
}

/// `shuzhi query ... | head`: the reader goes away after a few bytes; shuzhi stops writing
/// and exits 0 without a word, in every output format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_early_ends_query_output_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let out = temp_dir("broken-pipe");
    run_sample(&out, 8192, 2).await;
    for format in ["table", "csv", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shuzhi"))
            .args([
                "query",
                "SELECT value FROM generate_series(1, 300000)",
                "--format",
                format,
            ])
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        let mut first = [0u8; 16];
        child
            .stdout
            .take()
            .expect("stdout")
            .read_exact(&mut first)
            .expect("output starts");
        let done = child.wait_with_output().expect("exits");
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(0), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
    // Another command that prints as it goes: the rule and topic tests.
    let mut child = Command::new(env!("CARGO_BIN_EXE_shuzhi"))
        .args(["test", "pipeline.toml"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut first = [0u8; 16];
    let started = child.stdout.take().expect("stdout").read_exact(&mut first);
    let done = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(started.is_ok(), "no output: {stderr}");
    assert_eq!(done.status.code(), Some(0), "shuzhi test: {stderr}");
    assert!(stderr.is_empty(), "shuzhi test: {stderr}");
}
