//! Dedup under a small memory limit: the window's sort spills to disk and the result is the same
//! as with plenty of memory.

use std::fmt::Write as _;
use std::path::Path;

use shuzhi_engine::EngineConfig;
use shuzhi_functions::id_card::check_char;
use shuzhi_job::RunOptions;

use crate::common::*;

/// 40,000 rows over 12,000 persons: many duplicates spread across the whole file.
fn write_register(path: &Path) {
    let mut text =
        String::from("公民身份号码,姓名,性别,出生日期,联系电话,户籍地区划,登记日期,住址\n");
    for i in 0..40_000u32 {
        let person = (i * 7919) % 12_000;
        let body = format!(
            "110105{}{:02}{:02}{:03}",
            1950 + person % 50,
            1 + person % 12,
            1 + person % 28,
            person % 1000
        );
        let id = format!(
            "{body}{}",
            char::from(check_char(body.as_bytes()).expect("digits"))
        );
        let _ = writeln!(
            text,
            "{id},人{person},{},{}-{:02}-{:02},139{:08},,20{:02}-01-{:02},某路{i}号",
            if person % 2 == 1 { "男" } else { "女" },
            1950 + person % 50,
            1 + person % 12,
            1 + person % 28,
            i,
            10 + i % 15,
            1 + i % 28
        );
    }
    std::fs::write(path, text).expect("write register");
}

async fn govern(dir: &Path, memory_limit: usize) -> (Vec<String>, u64) {
    let repo = repo().canonicalize().expect("repo");
    let input = dir.join("register.csv");
    // The dedup alone: the population rules without golden records.
    let rules: String = std::fs::read_to_string(repo.join("rules/population.toml"))
        .expect("rules")
        .lines()
        .filter(|l| {
            !["golden =", "authority =", "compare ="]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("population.toml"), rules).expect("rules copy");
    let pipeline = format!(
        "[pipeline]\nname = \"spill\"\nrules = [\"population.toml\"]\ncodes = \"{r}/rules/codes\"\n\n\
         [[source]]\nid = \"big\"\ndepartment = \"public_security\"\npath = \"{input}\"\nlibrary = \"population\"\n\
         [source.columns]\nid_number = \"公民身份号码\"\nname = \"姓名\"\ngender = \"性别\"\nbirth_date = \"出生日期\"\n\
         phone = \"联系电话\"\nregion_code = \"户籍地区划\"\nregistered_on = \"登记日期\"\naddress = \"住址\"\n",
        r = repo.display(),
        input = input.display()
    );
    let pipeline_path = dir.join(format!("pipeline-{memory_limit}.toml"));
    std::fs::write(&pipeline_path, pipeline).expect("write pipeline");
    let pipeline = shuzhi_rules::load_pipeline(&pipeline_path).expect("pipeline loads");
    let out = dir.join(format!("out-{memory_limit}"));
    let options = RunOptions {
        engine: EngineConfig {
            batch_size: 1024,
            target_partitions: 2,
            memory_limit,
            spill_dir: Some(dir.to_path_buf()),
        },
        chunk_bytes: 1 << 16,
        ..RunOptions::new("spill")
    };
    let run = shuzhi_job::run_pipeline(&pipeline, &out, &options)
        .await
        .expect("run succeeds");
    assert_eq!(run.manifest.sources["big"].read, 40_000);
    assert_eq!(
        run.manifest.sources["big"].kept, 12_000,
        "one row per person"
    );
    let kept = rows(
        &query(
            &out,
            "SELECT id_number, registered_on, _line FROM population ORDER BY id_number",
        )
        .await,
    );
    (kept, run.manifest.spilled_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_spills_under_a_small_memory_limit_and_agrees() {
    let dir = temp_dir("spill");
    write_register(&dir.join("register.csv"));
    let (roomy, roomy_spilled) = govern(&dir, 1 << 30).await;
    let (tight, tight_spilled) = govern(&dir, 20 << 20).await;
    assert_eq!(roomy_spilled, 0, "1 GiB holds everything");
    assert!(tight_spilled > 0, "20 MiB must spill");
    assert_eq!(tight, roomy);
}
