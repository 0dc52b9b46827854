//! Daily deliveries: day 1 full, day 2 increment with updates, day 3 cdc with cancellations;
//! replaying day 2 and day 3 changes nothing; a new full snapshot retires what disappeared.

use std::path::{Path, PathBuf};

use crate::common::{handworked_copy, query, repo, rows, temp_dir};

const HEADER: &str = "公民身份号码,姓名,性别,出生日期,联系电话,户籍地区划,登记日期,住址";

fn day_file(dir: &Path, name: &str, lines: &[&str], header: &str) -> PathBuf {
    let path = dir.join(name);
    let mut text = format!("{header}\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("day file");
    path
}

/// Writes the deliveries of three days and returns their files.
fn deliveries(dir: &Path) -> [PathBuf; 4] {
    let day1 = day_file(
        dir,
        "day1_full.csv",
        &[
            "11010519491231002X,张三丽,女,1949-12-31,13912345678,110105,2020-01-05,北京市朝阳区",
            "110108199003071238,李明,男,1990-03-07,13800001111,110108,2021-02-01,北京市海淀区",
            "330106198511204563,王芳,女,1985-11-20,,330106,2019-06-30,杭州市西湖区",
            "320102199205050030,赵强,男,1992-05-05,,320102,2018-01-01,南京市玄武区",
        ],
        HEADER,
    );
    // Day 2: 李明 moved (the update's registration date is *older*: the later delivery still
    // wins), 刘洋 is new.
    let day2 = day_file(
        dir,
        "day2_increment.csv",
        &[
            "110108199003071238,李明,男,1990-03-07,13800002222,110108,2020-01-01,北京市海淀区中关村",
            "110106198808080046,刘洋,女,1988-08-08,,110106,2026-11-29,北京市丰台区",
        ],
        HEADER,
    );
    // Day 3: 王芳's registration is cancelled (户籍注销), 赵强 updated.
    let day3 = day_file(
        dir,
        "day3_cdc.csv",
        &[
            "330106198511204563,王芳,女,1985-11-20,,330106,2026-11-30,杭州市西湖区,D",
            "320102199205050030,赵强,男,1992-05-05,13900003333,320102,2026-11-30,南京市玄武区,U",
        ],
        &format!("{HEADER},操作类型"),
    );
    // Day 4: a new full snapshot without 刘洋.
    let day4 = day_file(
        dir,
        "day4_full.csv",
        &[
            "11010519491231002X,张三丽,女,1949-12-31,13912345678,110105,2020-01-05,北京市朝阳区",
            "110108199003071238,李明,男,1990-03-07,13800002222,110108,2020-01-01,北京市海淀区中关村",
            "320102199205050030,赵强,男,1992-05-05,13900003333,320102,2026-11-30,南京市玄武区",
        ],
        HEADER,
    );
    [day1, day2, day3, day4]
}

/// A pipeline delivering `file` as `mode` from source `ps`.
fn pipeline(dir: &Path, day: &str, file: &Path, mode: &str) -> PathBuf {
    let repo = repo().canonicalize().expect("repo");
    let operation = if mode == "cdc" {
        "operation = { column = \"操作类型\", delete = [\"D\", \"删除\"] }\n"
    } else {
        ""
    };
    let text = format!(
        r#"[pipeline]
name = "daily"
rules = ["{rules}"]
codes = "{codes}"

[[source]]
id = "ps"
department = "public_security"
path = "{file}"
library = "population"
delivery = "{mode}"
{operation}[source.columns]
id_number = "公民身份号码"
name = "姓名"
gender = "性别"
birth_date = "出生日期"
phone = "联系电话"
region_code = "户籍地区划"
registered_on = "登记日期"
address = "住址"
"#,
        rules = repo.join("rules/population.toml").display(),
        codes = repo.join("rules/codes").display(),
        file = file.display(),
    );
    let path = dir.join(format!("pipeline-{day}.toml"));
    std::fs::write(&path, text).expect("pipeline");
    path
}

async fn run_day(out: &Path, pipeline: &Path, run_id: &str) -> shuzhi_job::RunReport {
    let p = shuzhi_rules::load_pipeline(pipeline).expect("pipeline loads");
    shuzhi_job::run_pipeline(&p, out, &shuzhi_job::RunOptions::new(run_id))
        .await
        .expect("day runs")
}

async fn library(out: &Path) -> Vec<String> {
    rows(
        &query(
            out,
            "SELECT id_number, name, phone, address, _batch FROM population_source ORDER BY id_number",
        )
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_deliveries_gives_the_tables_of_a_single_pass() {
    let dir = temp_dir("deliveries");
    let [day1, day2, day3, day4] = deliveries(&dir);
    let p1 = pipeline(&dir, "1", &day1, "full");
    let p2 = pipeline(&dir, "2", &day2, "increment");
    let p3 = pipeline(&dir, "3", &day3, "cdc");

    let once = dir.join("once");
    run_day(&once, &p1, "d1").await;
    run_day(&once, &p2, "d2").await;
    let day3_run = run_day(&once, &p3, "d3").await;
    let expected = library(&once).await;
    let ids: Vec<&str> = expected
        .iter()
        .map(|r| r.split('|').next().unwrap_or(""))
        .collect();
    assert_eq!(
        ids,
        vec![
            "11010519491231002X",
            "110106198808080046",
            "110108199003071238",
            "320102199205050030"
        ],
        "王芳 was cancelled; no duplicates"
    );
    assert!(
        expected[2].contains("13800002222|北京市海淀区中关村"),
        "day 2 update wins: {expected:?}"
    );
    assert!(
        expected[3].contains("13900003333"),
        "day 3 update wins: {expected:?}"
    );
    assert_eq!(
        rows(&query(&once, "SELECT id_number, _reasons FROM quarantine_population WHERE _reasons LIKE '%deleted%'").await),
        vec!["330106198511204563|population.deleted"]
    );
    assert!(
        day3_run
            .manifest
            .deliveries
            .iter()
            .any(|l| l.starts_with("delivered ps/") && l.contains("(cdc, 1 file(s))"))
    );

    // Replay day 2 and day 3: skipped as already published, tables unchanged.
    let twice = dir.join("twice");
    for (p, id) in [(&p1, "d1"), (&p2, "d2"), (&p3, "d3")] {
        run_day(&twice, p, id).await;
    }
    let replay2 = run_day(&twice, &p2, "d2-again").await;
    let replay3 = run_day(&twice, &p3, "d3-again").await;
    for r in [&replay2, &replay3] {
        assert!(
            r.manifest
                .deliveries
                .iter()
                .any(|l| l.starts_with("skipped ps/") && l.contains("already published")),
            "{:?}",
            r.manifest.deliveries
        );
    }
    assert_eq!(library(&twice).await, expected);
    let count = |sql: &'static str| {
        let out = twice.clone();
        async move { rows(&query(&out, sql).await) }
    };
    assert_eq!(
        count("SELECT count(*) FROM quarantine_population").await,
        rows(&query(&once, "SELECT count(*) FROM quarantine_population").await)
    );

    // A new full snapshot retires every earlier batch: 刘洋 (only in day 2) disappears. It has
    // 3 rows where day 1 had 4: the delivery guard holds back a 25 % drop unless accepted.
    let p4 = pipeline(&dir, "4", &day4, "full");
    let loaded = shuzhi_rules::load_pipeline(&p4).expect("pipeline loads");
    let mut options = shuzhi_job::RunOptions::new("d4");
    options.accept_deliveries = vec!["ps".into()];
    let day4_run = shuzhi_job::run_pipeline(&loaded, &twice, &options)
        .await
        .expect("day 4 runs");
    let after: Vec<String> = library(&twice)
        .await
        .iter()
        .map(|r| r.split('|').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        after,
        vec![
            "11010519491231002X",
            "110108199003071238",
            "320102199205050030"
        ]
    );
    assert!(
        day4_run
            .manifest
            .deliveries
            .iter()
            .any(|l| l.starts_with("retired the earlier batches of ps"))
    );
    let published = shuzhi_library::read_published(&twice)
        .expect("pointer")
        .expect("published");
    assert_eq!(published.batches.len(), 1, "{:?}", published.batches);
}

/// Every row of the governed and golden tables (without the run id), sorted.
async fn tables(out: &Path) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for sql in [
        "SELECT * EXCLUDE (_run_id) FROM population_source",
        "SELECT * EXCLUDE (_run_id) FROM quarantine_population",
        "SELECT * EXCLUDE (_run_id) FROM verdicts",
        "SELECT * FROM population",
        "SELECT * FROM population_link",
        "SELECT * FROM population_attributes",
    ] {
        let mut r = rows(&query(out, sql).await);
        r.sort();
        all.push(r);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_runs_give_the_tables_of_a_full_rebuild() {
    let dir = temp_dir("incremental");
    // A cdc source from day 1 (an initial load), so every later day adds a batch.
    let header = format!("{HEADER},操作类型");
    let cdc = |name: &str, lines: &[&str]| day_file(&dir, name, lines, &header);
    let days = [
        cdc(
            "day1.csv",
            &[
                "11010519491231002X,张三丽,女,1949-12-31,13912345678,110105,2020-01-05,北京市朝阳区,I",
                "110108199003071238,李明,男,1990-03-07,13800001111,110108,2021-02-01,北京市海淀区,I",
                "330106198511204563,王芳,女,1985-11-20,,330106,2019-06-30,杭州市西湖区,I",
                "320102199205050030,赵强,男,1992-05-05,,320102,2018-01-01,南京市玄武区,I",
            ],
        ),
        cdc(
            "day2.csv",
            &[
                "110108199003071238,李明,男,1990-03-07,13800002222,110108,2020-01-01,北京市海淀区中关村,U",
                "110106198808080046,刘洋,女,1988-08-08,,110106,2026-11-29,北京市丰台区,I",
            ],
        ),
        cdc(
            "day3.csv",
            &[
                "330106198511204563,王芳,女,1985-11-20,,330106,2026-11-30,杭州市西湖区,D",
                "320102199205050030,赵强,男,1992-05-05,13900003333,320102,2026-11-30,南京市玄武区,U",
            ],
        ),
        // 王芳 registers again after her cancellation, 刘洋 twice in one batch, a bad row.
        cdc(
            "day4.csv",
            &[
                "330106198511204563,王芳,女,1985-11-20,13700000000,330106,2026-12-01,杭州市西湖区,I",
                "110106198808080046,刘洋,女,1988-08-08,13600000000,110106,2026-12-01,北京市丰台区,U",
                "110106198808080046,刘洋,女,1988-08-08,13600000001,110106,2026-12-02,北京市丰台区,U",
                "123,坏行,男,1990-01-01,,,2026-12-01,无,I",
            ],
        ),
    ];
    let incremental = dir.join("incremental");
    let rebuilt = dir.join("rebuilt");
    let mut delivered = 0usize;
    for (i, file) in days.iter().enumerate() {
        let p = pipeline(&dir, &format!("cdc{}", i + 1), file, "cdc");
        let loaded = shuzhi_rules::load_pipeline(&p).expect("pipeline loads");
        let id = format!("d{}", i + 1);
        let inc = shuzhi_job::run_pipeline(
            &loaded,
            &incremental,
            &shuzhi_job::RunOptions::new(id.as_str()),
        )
        .await
        .expect("incremental run");
        let full = shuzhi_job::RunOptions {
            full_rebuild: true,
            ..shuzhi_job::RunOptions::new(id.as_str())
        };
        shuzhi_job::run_pipeline(&loaded, &rebuilt, &full)
            .await
            .expect("full rebuild");
        let log = &inc.manifest.deliveries;
        assert_eq!(
            i > 0,
            log.iter().any(|l| l.starts_with("incremental run")),
            "day {}: {log:?}",
            i + 1
        );
        assert_eq!(
            tables(&incremental).await,
            tables(&rebuilt).await,
            "day {}: incremental and rebuilt tables differ",
            i + 1
        );
        // Nothing lost: every row delivered so far is in the library or in quarantine.
        delivered += std::fs::read_to_string(file)
            .expect("day file")
            .lines()
            .count()
            - 1;
        let held = rows(
            &query(
                &incremental,
                "SELECT (SELECT count(*) FROM population_source) + (SELECT count(*) FROM quarantine_population)",
            )
            .await,
        );
        assert_eq!(held, vec![delivered.to_string()], "day {}", i + 1);
    }
    // The rows were superseded in place: deletion vectors in the source layer's log.
    let log_dir = incremental.join("_sources/population/_delta_log");
    let logs: String = std::fs::read_dir(&log_dir)
        .expect("delta log")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    assert!(logs.contains("\"deletionVector\":{"), "{logs}");
    let library = library(&incremental).await;
    assert_eq!(library.len(), 5, "{library:?}");
    let day4_batch = shuzhi_library::read_published(&incremental)
        .expect("pointer")
        .expect("published")
        .batches
        .last()
        .map(|b| b.batch.clone())
        .expect("day 4 batch");
    assert!(
        library
            .iter()
            .any(|r| r.starts_with("330106198511204563|王芳|") && r.ends_with(day4_batch.as_str())),
        "王芳 is back: {library:?}"
    );
    assert_eq!(
        rows(
            &query(
                &incremental,
                "SELECT _reasons, count(*) FROM quarantine_population GROUP BY _reasons ORDER BY _reasons"
            )
            .await
        ),
        vec![
            "population.dedup|1",
            "population.deleted|1",
            "population.id_number.gb11643|1",
            "population.superseded|4",
        ]
    );
}

/// A rule change that adds a field rebuilds every table, and the published table shows the new
/// column: the table's schema follows its content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_added_to_the_rules_appears_in_the_published_table() {
    let dir = temp_dir("deliveries-new-field");
    let repo_path = repo().canonicalize().expect("repo");
    let rules = std::fs::read_to_string(repo().join("rules/population.toml")).expect("rules");
    std::fs::write(dir.join("population.toml"), &rules).expect("rules copy");
    let shared = format!("\"{}/rules/population.toml\"", repo_path.display());
    let pipeline = handworked_copy(&dir, "pipeline.toml", |t| {
        t.replace(&shared, "\"population.toml\"")
    });
    let out = dir.join("out");
    let load = || shuzhi_rules::load_pipeline(&pipeline).expect("loads");
    shuzhi_job::run_pipeline(&load(), &out, &shuzhi_job::RunOptions::new("before"))
        .await
        .expect("first run");
    let added = "\n[[field]]\nname = \"source_system\"\nclean = [{ default = \"'ps'\" }]\n";
    std::fs::write(dir.join("population.toml"), format!("{rules}{added}")).expect("edit");
    let run = shuzhi_job::run_pipeline(&load(), &out, &shuzhi_job::RunOptions::new("after"))
        .await
        .expect("second run");
    assert!(
        run.manifest
            .deliveries
            .iter()
            .any(|l| l.contains("governed every live batch")),
        "{:?}",
        run.manifest.deliveries
    );
    let values = rows(
        &query(
            &out,
            "SELECT source_system, count(*) FROM population_source GROUP BY 1",
        )
        .await,
    );
    assert_eq!(values, vec!["ps|12"]);
}

/// A department overwrites its file in place under the same name (the usual copy / SFTP
/// habit): day 1's batch keeps the bytes it was delivered with, and a full rebuild reads day 1
/// and day 2, not day 2 twice. An archive changed behind shuzhi's back stops the next rebuild
/// before anything is published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_overwritten_in_place_never_changes_what_was_delivered() {
    let dir = temp_dir("overwritten");
    let [day1, day2, ..] = deliveries(&dir);
    let same_name = dir.join("ps.csv");
    std::fs::copy(&day1, &same_name).expect("day 1");
    let p = pipeline(&dir, "same-name", &same_name, "increment");
    let out = dir.join("out");
    run_day(&out, &p, "r1").await;
    std::fs::copy(&day2, &same_name).expect("day 2 overwrites day 1");
    run_day(&out, &p, "r2").await;
    let incremental = library(&out).await;
    assert_eq!(
        incremental.len(),
        5,
        "four persons of day 1 (李明 updated) and 刘洋: {incremental:?}"
    );

    let loaded = shuzhi_rules::load_pipeline(&p).expect("pipeline loads");
    let mut options = shuzhi_job::RunOptions::new("r3");
    options.full_rebuild = true;
    shuzhi_job::run_pipeline(&loaded, &out, &options)
        .await
        .expect("rebuild runs");
    assert_eq!(
        library(&out).await,
        incremental,
        "day 1 and day 2, as delivered"
    );

    let published = shuzhi_library::read_published(&out)
        .expect("readable")
        .expect("published");
    let day1_archive = out.join(&published.batches[0].files[0].archived);
    std::fs::write(&day1_archive, format!("{HEADER}\n")).expect("tampered");
    let pointer = std::fs::read(out.join("_published.json")).expect("pointer");
    let mut options = shuzhi_job::RunOptions::new("r4");
    options.full_rebuild = true;
    let refused = shuzhi_job::run_pipeline(&loaded, &out, &options)
        .await
        .expect_err("a changed archive is refused");
    assert!(
        matches!(refused, shuzhi_job::JobError::ChangedDelivery { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("ps.csv"), "{refused}");
    assert_eq!(
        std::fs::read(out.join("_published.json")).expect("pointer"),
        pointer,
        "nothing published"
    );
}

/// Delivery guards: a typo in the key column's name, a header-only full delivery and a full
/// delivery with far fewer rows than the one it replaces hold the run back (exit 1, nothing
/// published); `--accept-delivery` publishes such a delivery anyway.
#[test]
fn deliveries_that_look_like_mistakes_hold_the_run_back() {
    let dir = temp_dir("guards");
    let persons = [
        "11010519491231002X,张三丽,女,1949-12-31,13912345678,110105,2020-01-05,北京市朝阳区",
        "110108199003071238,李明,男,1990-03-07,13800001111,110108,2021-02-01,北京市海淀区",
        "330106198511204563,王芳,女,1985-11-20,,330106,2019-06-30,杭州市西湖区",
        "320102199205050030,赵强,男,1992-05-05,,320102,2018-01-01,南京市玄武区",
    ];
    let full = day_file(&dir, "full.csv", &persons, HEADER);
    let out = dir.join("out");
    let run = |pipeline: &Path, extra: &[&str]| {
        let mut args = vec!["run", pipeline.to_str().expect("utf-8"), "--out"];
        args.push(out.to_str().expect("utf-8"));
        args.extend(extra);
        crate::common::shuzhi(&args, &dir)
    };

    let typo = pipeline(&dir, "typo", &full, "full");
    let text = std::fs::read_to_string(&typo).expect("pipeline");
    let text = text.replace(
        "id_number = \"公民身份号码\"",
        "id_number = \"公民身份证号码\"",
    );
    std::fs::write(&typo, text).expect("typo");
    let (code, _, stderr) = run(&typo, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("delivery guard") && stderr.contains("公民身份证号码"),
        "{stderr}"
    );
    assert!(!out.join("_published.json").exists(), "nothing published");

    // The name column twice (the second with a trailing full-width space that normalising trims).
    let twice = day_file(
        &dir,
        "twice.csv",
        &persons
            .map(|p| format!("{p},某人"))
            .each_ref()
            .map(String::as_str),
        &format!("{HEADER},姓名　"),
    );
    let (code, _, stderr) = run(&pipeline(&dir, "twice", &twice, "full"), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("has the column `姓名` more than once"),
        "{stderr}"
    );
    assert!(!out.join("_published.json").exists(), "nothing published");

    let (code, _, stderr) = run(&pipeline(&dir, "day1", &full, "full"), &[]);
    assert_eq!(code, 0, "{stderr}");
    let pointer = std::fs::read(out.join("_published.json")).expect("pointer");

    let empty = day_file(&dir, "empty.csv", &[], HEADER);
    let (code, _, stderr) = run(&pipeline(&dir, "empty", &empty, "full"), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("has no rows"), "{stderr}");
    let half = day_file(&dir, "half.csv", &persons[..2], HEADER);
    let (code, _, stderr) = run(&pipeline(&dir, "half", &half, "full"), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("2 rows, 50 % fewer than the 4"), "{stderr}");
    let unchanged = std::fs::read(out.join("_published.json")).expect("pointer");
    assert_eq!(unchanged, pointer, "nothing published");

    let (code, _, stderr) = run(
        &pipeline(&dir, "half", &half, "full"),
        &["--accept-delivery", "ps"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_ne!(
        std::fs::read(out.join("_published.json")).expect("pointer"),
        pointer
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_out_of_a_sources_scope_stay_out_of_the_library_and_its_checks() {
    let dir = temp_dir("scope");
    // The new register's rows of people born before 1960 are another office's: out of scope.
    let path = handworked_copy(&dir, "pipeline.toml", |t| {
        t.replacen(
            "library = \"population\"\ndelivery = \"full\"",
            "library = \"population\"\ndelivery = \"full\"\nscope = \"birth_date >= DATE '1960-01-01'\"",
            1,
        )
    });
    let pipeline = shuzhi_rules::load_pipeline(&path).expect("loads");
    let out = dir.join("out");
    let run = shuzhi_job::run_pipeline(&pipeline, &out, &shuzhi_job::RunOptions::new("scope"))
        .await
        .expect("runs");
    let counts = &run.manifest.sources["ps_population_new"];
    assert!(counts.out_of_scope > 0, "{counts:?}");
    assert_eq!(
        counts.read,
        counts.kept + counts.quarantined,
        "nothing lost"
    );
    assert!(
        !run.manifest
            .rule_failures
            .contains_key("population.out_of_scope")
    );
    // In quarantine with their reason and provenance, each once.
    let out_of_scope = rows(
        &query(
            &out,
            "SELECT _file, _line FROM quarantine_population WHERE _reasons = 'population.out_of_scope'",
        )
        .await,
    );
    assert_eq!(out_of_scope.len() as u64, counts.out_of_scope);
    // No verdict for them, and none of the source's library rows is out of scope.
    let leaks = rows(
        &query(
            &out,
            "SELECT (SELECT count(*) FROM verdicts v JOIN quarantine_population q ON v._file = q._file AND v._line = q._line WHERE q._reasons = 'population.out_of_scope') AS verdicts, \
             (SELECT count(*) FROM population_source WHERE _source = 'ps_population_new' AND birth_date < DATE '1960-01-01') AS kept",
        )
        .await,
    );
    assert_eq!(leaks, ["0|0"], "verdicts | library rows out of scope");
}
