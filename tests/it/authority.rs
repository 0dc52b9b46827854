//! `authority = "<department>"`: where the authoritative department delivered a value for the
//! same key, it replaces another department's (a fix with the original in the verdict).

use crate::common::{query, repo, rows, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authoritative_departments_value_wins() {
    let dir = temp_dir("authority");
    let rules = std::fs::read_to_string(repo().join("rules/population.toml"))
        .expect("rules")
        .replacen(
            "name = \"name\"\nclass = \"sensitive\"\n",
            "name = \"name\"\nclass = \"sensitive\"\nauthority = \"public_security\"\n",
            1,
        );
    assert!(rules.contains("authority = \"public_security\""));
    std::fs::write(dir.join("population.toml"), rules).expect("rules copy");
    let header = "公民身份号码,姓名,登记日期\n";
    // Public security: 张三 for the first key. Civil affairs: a later registration (it wins the
    // dedup) with another spelling, and a person public security did not deliver.
    std::fs::write(
        dir.join("ps.csv"),
        format!("{header}11010519491231002X,张三,2020-01-01\n"),
    )
    .expect("ps");
    std::fs::write(
        dir.join("ca.csv"),
        format!("{header}11010519491231002X,张叁,2023-01-01\n310112198504095227,李四,2023-01-01\n"),
    )
    .expect("ca");
    let codes = repo().canonicalize().expect("repo").join("rules/codes");
    let source = |id: &str, department: &str, file: &str| {
        format!(
            "[[source]]\nid = \"{id}\"\ndepartment = \"{department}\"\npath = \"{file}\"\nlibrary = \"population\"\n\
             [source.columns]\nid_number = \"公民身份号码\"\nname = \"姓名\"\nregistered_on = \"登记日期\"\n\n"
        )
    };
    let pipeline = format!(
        "[pipeline]\nname = \"authority\"\nrules = [\"population.toml\"]\ncodes = \"{}\"\n\n{}{}",
        codes.display(),
        source("ps", "public_security", "ps.csv"),
        source("ca", "civil_affairs", "ca.csv")
    );
    std::fs::write(dir.join("pipeline.toml"), pipeline).expect("pipeline");
    let p = shuzhi_rules::load_pipeline(&dir.join("pipeline.toml")).expect("loads");
    let out = dir.join("out");
    let run = shuzhi_engine::run_pipeline(&p, &out, &shuzhi_engine::RunOptions::new("authority"))
        .await
        .expect("runs");
    let kept = rows(
        &query(
            &out,
            "SELECT id_number, name, _source, _flags FROM population ORDER BY id_number",
        )
        .await,
    );
    assert_eq!(
        kept,
        vec![
            // Civil affairs' row won the dedup; public security's name replaced its spelling
            // (gender and birth date, not delivered, are filled from the ID as always).
            "11010519491231002X|张三|ca|population.name.authority; population.gender.expr1; population.birth_date.expr1",
            // No public security value for this key: civil affairs' stands.
            "310112198504095227|李四|ca|population.gender.expr1; population.birth_date.expr1",
        ]
    );
    // The fix is a verdict with the original value (masked: the name is sensitive).
    let verdicts = rows(
        &query(
            &out,
            "SELECT rule, severity, original, fixed FROM verdicts WHERE rule LIKE '%authority'",
        )
        .await,
    );
    assert_eq!(verdicts, vec!["population.name.authority|fix|张*|张*"]);
    assert_eq!(run.manifest.rule_failures["population.name.authority"], 1);
}
