//! Crash safety: the process dies at every named failpoint between reading and publishing; the
//! published state stays readable and unchanged, and the next run recovers and produces exactly
//! what an uninterrupted run produces. Also: the lakehouse lock and the ledger.

use std::path::Path;

use crate::common::{query, repo, rows, shuzhi, temp_dir};

const TABLES: [(&str, &str, &str); 6] = [
    (
        "population_source",
        "* EXCLUDE (_run_id)",
        "_source, _file, _line",
    ),
    ("population", "*", "entity_id"),
    ("population_link", "*", "_source, _file, _line"),
    ("population_conflicts", "*", "entity_id, field, _department"),
    (
        "quarantine_population",
        "* EXCLUDE (_run_id)",
        "_source, _file, _line",
    ),
    (
        "verdicts",
        "* EXCLUDE (_run_id)",
        "_source, _file, _line, rule",
    ),
];

/// Every published table's rows (without the run id), in a fixed order.
async fn content(out: &Path) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for (table, columns, order) in TABLES {
        let sql = format!("SELECT {columns} FROM {table} ORDER BY {order}");
        all.push(rows(&query(out, &sql).await));
    }
    all
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `shuzhi run PIPELINE --out OUT --run-id ID [EXTRA]`, with an optional failpoint armed.
fn run(
    pipeline: &Path,
    extra: &[&str],
    out: &Path,
    run_id: &str,
    failpoint: Option<&str>,
) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shuzhi"));
    cmd.args([
        "run",
        &pipeline.display().to_string(),
        "--out",
        &out.display().to_string(),
    ])
    .args(["--run-id", run_id])
    .args(extra);
    match failpoint {
        Some(f) => cmd.env(shuzhi_library::failpoint::ENV, f),
        None => cmd.env_remove(shuzhi_library::failpoint::ENV),
    };
    let o = cmd.output().expect("binary runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `shuzhi run` of the hand-worked job into `out`.
fn run_handworked(out: &Path, run_id: &str, failpoint: Option<&str>) -> (i32, String, String) {
    let pipeline = repo().join("tests/handworked/pipeline.toml");
    run(&pipeline, &[], out, run_id, failpoint)
}

/// A crash scenario: `base` is published, then the run of `crashed` (with `extra` arguments)
/// dies at a failpoint; an uninterrupted run of it gives `after`.
struct Scenario {
    name: &'static str,
    base: std::path::PathBuf,
    crashed: std::path::PathBuf,
    extra: &'static [&'static str],
}

/// Two scenarios: a full rebuild of the same deliveries, and an incremental run that adds a
/// batch (updates of 张三丽 and 蒋五) and supersedes published rows with deletion vectors.
fn scenarios() -> Vec<Scenario> {
    let handworked = repo().join("tests/handworked/pipeline.toml");
    let dir = temp_dir("crash-pipelines");
    let as_increment =
        |text: String| text.replacen("delivery = \"full\"", "delivery = \"increment\"", 1);
    let base = crate::common::handworked_copy(&dir, "day1.toml", as_increment);
    let increment = dir.join("day2.csv");
    std::fs::write(
        &increment,
        "公民身份号码,姓名,性别,出生日期,联系电话,户籍地区划,登记日期,住址\n\
         11010519491231002X,张三丽,女,1949-12-31,13900000000,110105,2026-12-01,北京市朝阳区建国路2号\n\
         110106198808080046,刘洋,女,1988-08-08,,110106,2026-11-29,北京市丰台区\n",
    )
    .expect("increment file");
    let crashed = crate::common::handworked_copy(&dir, "day2.toml", |text| {
        let text = as_increment(text);
        let first = text.find("path = ").expect("a source path");
        let end = first + text[first..].find('\n').expect("end of line");
        format!(
            "{}path = \"{}\"{}",
            &text[..first],
            increment.display(),
            &text[end..]
        )
    });
    vec![
        Scenario {
            name: "rebuild",
            base: handworked.clone(),
            crashed: handworked,
            extra: &["--full-rebuild"],
        },
        Scenario {
            name: "increment",
            base,
            crashed,
            extra: &[],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failpoint_keeps_the_published_state_and_the_next_run_recovers() {
    let pipeline = shuzhi_rules::load_pipeline(&repo().join("tests/handworked/pipeline.toml"))
        .expect("pipeline");
    let points = shuzhi_job::failpoints(&pipeline);
    assert_eq!(
        points,
        vec![
            "after_govern",
            "after_commit:population_source",
            "after_commit:quarantine_population",
            "after_commit:verdicts",
            "after_commit:population",
            "after_commit:population_link",
            "after_commit:population_attributes",
            "after_commit:population_conflicts",
            "after_manifest",
            "after_publish",
        ]
    );
    for scenario in scenarios() {
        let dir = temp_dir(&format!("crash-{}", scenario.name));
        let base = dir.join("base");
        let (code, _, stderr) = run(&scenario.base, &[], &base, "base", None);
        assert_eq!(code, 0, "{stderr}");
        let before = content(&base).await;
        let uninterrupted = dir.join("uninterrupted");
        copy_dir(&base, &uninterrupted);
        let (code, stdout, stderr) = run(
            &scenario.crashed,
            scenario.extra,
            &uninterrupted,
            "next",
            None,
        );
        assert_eq!(code, 0, "{stderr}");
        if scenario.name == "increment" {
            assert!(stdout.contains("incremental run"), "{stdout}");
            assert!(
                stdout.contains("superseded 2 published row(s) of population"),
                "{stdout}"
            );
        }
        let after = content(&uninterrupted).await;
        assert_ne!(
            scenario.name == "increment",
            after == before,
            "the increment changes the tables"
        );
        for (i, point) in points.iter().enumerate() {
            crash_at(&scenario, &dir, &base, i, point, &before, &after).await;
        }
    }
}

/// Kills the crashed run of `scenario` at `point` in a copy of `base`, then checks what is
/// published and that the next run recovers to `after`.
async fn crash_at(
    scenario: &Scenario,
    dir: &Path,
    base: &Path,
    i: usize,
    point: &str,
    before: &[Vec<String>],
    after: &[Vec<String>],
) {
    // Alternate a hard kill (abort: no destructors, the lock stays) and a panic.
    let armed = if i.is_multiple_of(2) {
        point.to_owned()
    } else {
        format!("{point}=panic")
    };
    let label = format!("{}: {armed}", scenario.name);
    let out = dir.join(format!("crash-{i}"));
    copy_dir(base, &out);
    let pointer = out.join("_published.json");
    let pointer_before = std::fs::read(&pointer).expect("pointer");

    let (code, _, stderr) = run(
        &scenario.crashed,
        scenario.extra,
        &out,
        "crashed",
        Some(&armed),
    );
    assert_ne!(code, 0, "{label}: the process must die");
    assert!(
        stderr.contains(&format!("failpoint {point} hit")),
        "{label}: {stderr}"
    );
    let published = shuzhi_library::read_published(&out)
        .expect("readable")
        .expect("pointer");
    let expected = if point == "after_publish" {
        assert_eq!(
            published.run_id, "crashed",
            "the pointer was replaced before the crash"
        );
        after
    } else {
        assert_eq!(
            std::fs::read(&pointer).expect("pointer"),
            pointer_before,
            "{label}"
        );
        before
    };
    // Still readable through shuzhi query, with the published content.
    let (code, stdout, stderr) = shuzhi(
        &[
            "query",
            "SELECT count(*) AS n FROM population_source",
            "--out",
            &out.display().to_string(),
            "--format",
            "csv",
        ],
        &repo(),
    );
    assert_eq!(code, 0, "{label}: {stderr}");
    assert_eq!(stdout, format!("n\n{}\n", expected[0].len()), "{label}");
    assert_eq!(content(&out).await, expected, "{label}: published content");

    let (code, stdout, stderr) = run(&scenario.crashed, scenario.extra, &out, "next", None);
    assert_eq!(code, 0, "{label}: the next run recovers: {stderr}");
    assert!(stdout.contains("recovered: "), "{label}: {stdout}");
    assert_eq!(
        content(&out).await,
        after,
        "{label}: same result as an uninterrupted run"
    );
    let runs: Vec<String> = shuzhi_library::ledger::verify(&out)
        .expect("ledger chain intact")
        .into_iter()
        .map(|e| e.run_id)
        .collect();
    let expected_runs: Vec<&str> = if point == "after_publish" {
        vec!["base", "crashed", "next"]
    } else {
        vec!["base", "next"]
    };
    assert_eq!(runs, expected_runs, "{label}");
    // No data or deletion-vector file of the crashed run is left behind unless it was
    // published.
    let dv_file = shuzhi_library::supersede::dv_file_name("crashed", "population_source");
    let leftovers = walk(&out)
        .into_iter()
        .filter(|p| p.ends_with("-crashed.zstd.parquet") || p.ends_with(&dv_file))
        .count();
    assert_eq!(
        leftovers > 0,
        point == "after_publish",
        "{label}: {leftovers} files left"
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn a_second_run_waits_for_the_lock_or_fails_naming_the_holder() {
    let out = temp_dir("crash-lock").join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    // A live holder: this test process, with a long lease.
    let (held, _) = shuzhi_library::lock::acquire(
        &out,
        "holder",
        std::time::Duration::from_secs(600),
        std::time::Duration::ZERO,
    )
    .expect("lock");
    let (code, _, stderr) = run_handworked(&out, "second", None);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("the output is locked by run holder") && stderr.contains("--wait-lock"),
        "{stderr}"
    );
    assert!(!out.join("_published.json").exists());
    drop(held);
    let (code, _, stderr) = run_handworked(&out, "third", None);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = shuzhi(&["history", "--out", &out.display().to_string()], &repo());
    assert_eq!(code, 0);
    assert!(
        stdout.contains("third") && !stdout.contains("second"),
        "{stdout}"
    );
}

#[test]
fn ledger_verify_reports_a_changed_manifest() {
    let out = temp_dir("crash-ledger").join("out");
    for id in ["one", "two"] {
        let (code, _, stderr) = run_handworked(&out, id, None);
        assert_eq!(code, 0, "{stderr}");
    }
    let out_arg = out.display().to_string();
    let (code, stdout, _) = shuzhi(&["ledger", "verify", "--out", &out_arg], &repo());
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("ok: 2 published run(s), chain intact; last two"),
        "{stdout}"
    );
    let (code, _, stderr) = run_handworked(&out, "one", None);
    assert_eq!(code, 3, "a reused run id is refused: {stderr}");
    assert!(stderr.contains("run id one was already used"), "{stderr}");
    let manifest = out.join("_runs/one/manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("\"kept\": 9", "\"kept\": 10")).expect("tamper");
    let (code, _, stderr) = shuzhi(&["ledger", "verify", "--out", &out_arg], &repo());
    assert_eq!(code, 3);
    assert!(
        stderr.contains("entry 1 (one): _runs/one/manifest.json changed"),
        "{stderr}"
    );
}

#[test]
fn export_writes_a_hive_partitioned_snapshot_of_the_published_state() {
    let out = temp_dir("export").join("out");
    let (code, _, stderr) = run_handworked(&out, "exported", None);
    assert_eq!(code, 0, "{stderr}");
    let snapshot = out.parent().expect("dir").join("snapshot");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "export",
            "--out",
            out.to_str().expect("utf-8"),
            "--snapshot",
            snapshot.to_str().expect("utf-8"),
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let call = |a: Vec<String>| shuzhi(&a.iter().map(String::as_str).collect::<Vec<_>>(), &repo());
    let (code, stdout, stderr) = call(args(&[]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("population") && stdout.contains("12 rows"),
        "{stdout}"
    );
    // Plain Parquet, partitioned by department, readable without Delta.
    let parts: Vec<String> = walk(&snapshot.join("quarantine_population"))
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .collect();
    assert!(
        !parts.is_empty()
            && parts
                .iter()
                .all(|p| p.contains("/_department=public_security/")),
        "{parts:?}"
    );
    let rows: i64 = walk(&snapshot.join("population"))
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .map(|p| {
            let file = std::fs::File::open(&p).expect("open");
            parquet::file::reader::SerializedFileReader::new(file)
                .map(|r| {
                    parquet::file::reader::FileReader::metadata(&r)
                        .file_metadata()
                        .num_rows()
                })
                .expect("parquet")
        })
        .sum();
    assert_eq!(rows, 12);
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(snapshot.join("_snapshot.json")).expect("snapshot manifest"),
    )
    .expect("json");
    assert_eq!(meta["run_id"], "exported");
    // An existing snapshot is replaced only on request.
    let (code, _, stderr) = call(args(&[]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("--replace"), "{stderr}");
    let (code, _, stderr) = call(args(&["--replace"]));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn quality_threshold_breach_exits_1_and_publishes_per_config() {
    let dir = temp_dir("gate");
    let repo = repo().canonicalize().expect("repo");
    // The hand-worked job rejects 4 of 20 rows by checks or ingest (20 %).
    let rules = std::fs::read_to_string(repo.join("rules/population.toml"))
        .expect("rules")
        .replace(
            "key = \"id_number\"",
            "key = \"id_number\"\nmax_reject_ratio = 0.1",
        );
    std::fs::write(dir.join("population.toml"), rules).expect("rules copy");
    let pipeline = |publish: bool| {
        let rules = format!("\"{}/rules/population.toml\"", repo.display());
        crate::common::handworked_copy(&dir, &format!("pipeline-{publish}.toml"), |t| {
            t.replace(&rules, "\"population.toml\"").replace(
                "name = \"sample\"",
                &format!("name = \"sample\"\npublish_on_breach = {publish}"),
            )
        })
        .display()
        .to_string()
    };
    let out = dir.join("out").display().to_string();
    let (code, _, stderr) = shuzhi(&["run", &pipeline(false), "--out", &out], &dir);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "quality gate: population rejected 4 of 20 rows (max 10.0 %); nothing was published"
        ),
        "{stderr}"
    );
    assert!(!dir.join("out/_published.json").exists());
    let (code, stdout, stderr) = shuzhi(&["run", &pipeline(true), "--out", &out], &dir);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("published"), "{stdout}");
    assert!(stderr.contains("published anyway"), "{stderr}");
    assert!(dir.join("out/_published.json").exists());

    // A threshold on one check: the phone warning fails on 1 of the 20 rows (5 %).
    let rules = std::fs::read_to_string(repo.join("rules/population.toml"))
        .expect("rules")
        .replace(
            "check = [{ rule = \"phone\", severity = \"warn\" }]",
            "check = [{ rule = \"phone\", severity = \"warn\", max_fail_ratio = 0.01 }]",
        );
    assert!(
        rules.contains("max_fail_ratio"),
        "the phone check line moved"
    );
    std::fs::write(dir.join("population.toml"), rules).expect("rules copy");
    let out = dir.join("out-check").display().to_string();
    let (code, _, stderr) = shuzhi(&["run", &pipeline(false), "--out", &out], &dir);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("quality gate: population.phone.phone failed on 1 of 20 rows (max 1.0 %)"),
        "{stderr}"
    );
}

/// A run of the bundled job that dies after committing a topic publishes nothing; the next
/// run recovers and publishes the same topics as a run that was never interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_a_topic_commit_publishes_nothing_and_recovers() {
    let pipeline = repo().join("pipeline.toml");
    let topics = |out: &Path| {
        let out = out.to_path_buf();
        async move {
            let mut tables = Vec::new();
            for topic in ["deceased", "benefit_fraud", "enrolment_review"] {
                let sql = format!("SELECT * FROM {topic} ORDER BY 1, 2");
                tables.push(rows(&query(&out, &sql).await));
            }
            tables
        }
    };
    let clean = temp_dir("crash-topics-clean");
    let (code, _, stderr) = run(&pipeline, &[], &clean, "t1", None);
    assert_eq!(code, 0, "{stderr}");

    let out = temp_dir("crash-topics");
    let (code, _, stderr) = run(
        &pipeline,
        &[],
        &out,
        "t1",
        Some("after_commit:benefit_fraud"),
    );
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("failpoint after_commit:benefit_fraud hit"),
        "{stderr}"
    );
    assert!(
        shuzhi_library::read_published(&out)
            .expect("pointer")
            .is_none(),
        "nothing published"
    );
    let (code, _, stderr) = run(&pipeline, &[], &out, "t2", None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(topics(&out).await, topics(&clean).await);
}
