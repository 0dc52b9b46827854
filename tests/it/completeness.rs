//! Expected populations from a code table: the missing values are counted and listed (masked
//! when the field is sensitive), and scored as GB/T 36344 数据记录完整性.

use crate::common::{handworked_copy, repo, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_members_of_an_expected_population_are_reported() {
    let dir = temp_dir("completeness");
    // The rules and code tables, plus a list of IDs that must be in the library: two the
    // hand-worked job delivers, one it does not.
    let codes = dir.join("codes");
    std::fs::create_dir_all(&codes).expect("codes");
    for entry in std::fs::read_dir(repo().join("rules/codes")).expect("codes") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "csv") {
            std::fs::copy(&path, codes.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::write(
        codes.join("expected_ids.csv"),
        "code,name\n11010519491231002X,张三丽\n310112198504095227,李四\n11010119800101001X,不在册\n",
    )
    .expect("expected ids");
    let rules = std::fs::read_to_string(repo().join("rules/population.toml"))
        .expect("rules")
        .replace(
            "key = \"id_number\"\n",
            "key = \"id_number\"\nexpected = { code_table = \"expected_ids\" }\n",
        );
    std::fs::write(dir.join("population.toml"), rules).expect("rules copy");
    let repo_path = repo().canonicalize().expect("repo");
    let pipeline_path = handworked_copy(&dir, "pipeline.toml", |t| {
        t.replace(
            &format!("\"{}/rules/population.toml\"", repo_path.display()),
            &format!("\"{}\"", dir.join("population.toml").display()),
        )
        .replace(
            &format!("\"{}/rules/codes\"", repo_path.display()),
            &format!("\"{}\"", codes.display()),
        )
    });
    let pipeline = shuzhi_rules::load_pipeline(&pipeline_path).expect("loads");
    let run = shuzhi_job::run_pipeline(
        &pipeline,
        &dir.join("out"),
        &shuzhi_job::RunOptions::new("completeness"),
    )
    .await
    .expect("runs");
    let e = &run.manifest.expected_populations;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].expected, e[0].missing, e[0].reference.as_str()),
        (3, 1, "code_table:expected_ids")
    );
    // The key is sensitive: the missing ID is shown masked.
    assert_eq!(e[0].sample, vec!["110101********001X".to_owned()]);
    let score = run
        .manifest
        .quality
        .iter()
        .find(|q| q.indicator == "完整性/数据记录完整性")
        .expect("record completeness scored");
    assert_eq!(score.score, Some(1.0 - 1.0 / 3.0));
}
