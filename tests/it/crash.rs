//! Crash safety: the process dies at every named failpoint between reading and publishing; the
//! published state stays readable and unchanged, and the next run recovers and produces exactly
//! what an uninterrupted run produces. Also: the lakehouse lock and the ledger.

use std::path::Path;

use crate::common::{query, repo, rows, shuzhi, temp_dir};

const TABLES: [(&str, &str); 3] = [
    ("population", "_source, _file, _line"),
    ("quarantine_population", "_source, _file, _line"),
    ("verdicts", "_source, _file, _line, rule"),
];

/// Every published table's rows (without the run id), in a fixed order.
async fn content(out: &Path) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for (table, order) in TABLES {
        let sql = format!("SELECT * EXCLUDE (_run_id) FROM {table} ORDER BY {order}");
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

/// `shuzhi run` of the hand-worked job into `out`, with an optional failpoint armed.
fn run(out: &Path, run_id: &str, failpoint: Option<&str>) -> (i32, String, String) {
    let pipeline = repo().join("tests/handworked/pipeline.toml");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shuzhi"));
    cmd.args([
        "run",
        &pipeline.display().to_string(),
        "--out",
        &out.display().to_string(),
    ])
    .args(["--run-id", run_id]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failpoint_keeps_the_published_state_and_the_next_run_recovers() {
    let pipeline = shuzhi_rules::load_pipeline(&repo().join("tests/handworked/pipeline.toml"))
        .expect("pipeline");
    let points = shuzhi_engine::failpoints(&pipeline);
    assert_eq!(
        points,
        vec![
            "after_govern",
            "after_commit:population",
            "after_commit:quarantine_population",
            "after_commit:verdicts",
            "after_manifest",
            "after_publish",
        ]
    );
    let base = temp_dir("crash-base").join("out");
    let (code, _, stderr) = run(&base, "base", None);
    assert_eq!(code, 0, "{stderr}");
    let reference = content(&base).await;

    for (i, point) in points.iter().enumerate() {
        // Alternate a hard kill (abort: no destructors, the lock stays) and a panic.
        let armed = if i % 2 == 0 {
            point.clone()
        } else {
            format!("{point}=panic")
        };
        let out = temp_dir(&format!("crash-{i}")).join("out");
        copy_dir(&base, &out);
        let pointer = out.join("_published.json");
        let before = std::fs::read(&pointer).expect("pointer");

        let (code, _, stderr) = run(&out, "crashed", Some(&armed));
        assert_ne!(code, 0, "{armed}: the process must die");
        assert!(
            stderr.contains(&format!("failpoint {point} hit")),
            "{armed}: {stderr}"
        );
        let published = shuzhi_library::read_published(&out)
            .expect("readable")
            .expect("pointer");
        if point == "after_publish" {
            assert_eq!(
                published.run_id, "crashed",
                "the pointer was replaced before the crash"
            );
        } else {
            assert_eq!(std::fs::read(&pointer).expect("pointer"), before, "{armed}");
        }
        // Still readable through shuzhi query, with the published content.
        let (code, stdout, stderr) = shuzhi(
            &[
                "query",
                "SELECT count(*) AS n FROM population",
                "--out",
                &out.display().to_string(),
                "--format",
                "csv",
            ],
            &repo(),
        );
        assert_eq!((code, stdout.as_str()), (0, "n\n12\n"), "{armed}: {stderr}");
        assert_eq!(content(&out).await, reference, "{armed}: published content");

        let (code, stdout, stderr) = run(&out, "next", None);
        assert_eq!(code, 0, "{armed}: the next run recovers: {stderr}");
        assert!(stdout.contains("recovered: "), "{armed}: {stdout}");
        assert_eq!(
            content(&out).await,
            reference,
            "{armed}: same result as an uninterrupted run"
        );
        let runs: Vec<String> = shuzhi_library::ledger::verify(&out)
            .expect("ledger chain intact")
            .into_iter()
            .map(|e| e.run_id)
            .collect();
        let expected: Vec<&str> = if point == "after_publish" {
            vec!["base", "crashed", "next"]
        } else {
            vec!["base", "next"]
        };
        assert_eq!(runs, expected, "{armed}");
        // No data file of the crashed run is left behind unless it was published.
        let leftovers = walk(&out)
            .into_iter()
            .filter(|p| p.ends_with("-crashed.zstd.parquet"))
            .count();
        assert_eq!(
            leftovers > 0,
            point == "after_publish",
            "{armed}: {leftovers} files left"
        );
    }
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
    let (code, _, stderr) = run(&out, "second", None);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("the output is locked by run holder") && stderr.contains("--wait-lock"),
        "{stderr}"
    );
    assert!(!out.join("_published.json").exists());
    drop(held);
    let (code, _, stderr) = run(&out, "third", None);
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
        let (code, _, stderr) = run(&out, id, None);
        assert_eq!(code, 0, "{stderr}");
    }
    let out_arg = out.display().to_string();
    let (code, stdout, _) = shuzhi(&["ledger", "verify", "--out", &out_arg], &repo());
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("ok: 2 published run(s), chain intact; last two"),
        "{stdout}"
    );
    let (code, _, stderr) = run(&out, "one", None);
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
    let (code, _, stderr) = run(&out, "exported", None);
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
