//! Daily deliveries: day 1 full, day 2 increment with updates, day 3 cdc with cancellations;
//! replaying day 2 and day 3 changes nothing; a new full snapshot retires what disappeared.

use std::path::{Path, PathBuf};

use crate::common::{query, repo, rows, temp_dir};

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

async fn run_day(out: &Path, pipeline: &Path, run_id: &str) -> shuzhi_engine::RunReport {
    let p = shuzhi_rules::load_pipeline(pipeline).expect("pipeline loads");
    shuzhi_engine::run_pipeline(&p, out, &shuzhi_engine::RunOptions::new(run_id))
        .await
        .expect("day runs")
}

async fn library(out: &Path) -> Vec<String> {
    rows(
        &query(
            out,
            "SELECT id_number, name, phone, address, _batch FROM population ORDER BY id_number",
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

    // A new full snapshot retires every earlier batch: 刘洋 (only in day 2) disappears.
    let p4 = pipeline(&dir, "4", &day4, "full");
    let day4_run = run_day(&twice, &p4, "d4").await;
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
