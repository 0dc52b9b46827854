//! `authority = "<department>"`: where the authoritative department delivered a value for the
//! same key, it replaces another department's (a fix with the original in the verdict).

use crate::common::{query, repo, rows, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authoritative_departments_value_wins() {
    let dir = temp_dir("authority");
    // Public security: 张三 for the first key. Civil affairs: a later registration (it wins the
    // dedup) with another spelling, and a person public security did not deliver.
    let p = two_department_job(
        &dir,
        |rules| rules,
        "11010519491231002X,张三,,2020-01-01\n",
        "11010519491231002X,张叁,,2023-01-01\n310112198504095227,李四,,2023-01-01\n",
    );
    let out = dir.join("out");
    let run = shuzhi_job::run_pipeline(&p, &out, &shuzhi_job::RunOptions::new("authority"))
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

/// The window checks (`authority`, `unique`) give the same library and verdicts whatever the
/// batch size and the number of partitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_checks_do_not_depend_on_batches_or_partitions() {
    let dir = temp_dir("authority-determinism");
    // Ten persons; civil affairs re-delivers each with another spelling and a shared phone.
    let ids: Vec<String> = (0..10u32)
        .map(|i| {
            let body = format!("11010519491231{i:03}");
            format!("{body}{}", check(&body))
        })
        .collect();
    assert!(ids.iter().all(|id| shuzhi_functions::id_card::is_valid(id)));
    let ps: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},张{i},1391234{i:04},2020-01-01\n"))
        .collect();
    let ca: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},章{i},13912340000,2023-01-01\n"))
        .collect();
    let p = two_department_job(
        &dir,
        |rules| {
            rules.replacen(
                "check = [{ rule = \"phone\", severity = \"warn\" }]",
                "check = [{ rule = \"phone\", severity = \"warn\" }, { rule = \"unique\", severity = \"warn\" }]",
                1,
            )
        },
        &ps,
        &ca,
    );
    let mut results = Vec::new();
    for (batch_size, partitions) in [(8192, 1), (1, 4), (3, 2)] {
        let out = dir.join(format!("out-{batch_size}-{partitions}"));
        let options = shuzhi_job::RunOptions {
            engine: shuzhi_engine::EngineConfig {
                batch_size,
                target_partitions: partitions,
                ..shuzhi_engine::EngineConfig::default()
            },
            ..shuzhi_job::RunOptions::new("windows")
        };
        shuzhi_job::run_pipeline(&p, &out, &options)
            .await
            .expect("runs");
        let library = rows(
            &query(
                &out,
                "SELECT id_number, name, phone, _flags FROM population ORDER BY id_number",
            )
            .await,
        );
        let verdicts = rows(
            &query(
                &out,
                "SELECT rule, _line, original, fixed FROM verdicts ORDER BY rule, _file, _line",
            )
            .await,
        );
        results.push((library, verdicts));
    }
    // Every kept row carries public security's name; the shared phone is flagged.
    for line in &results[0].0 {
        assert!(line.contains("|张"), "{line}");
        assert!(line.contains("population.name.authority"), "{line}");
        assert!(line.contains("population.phone.unique"), "{line}");
    }
    assert_eq!(results[0].0.len(), 10);
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
}

/// A fill (补全: the other department delivered nothing) and a correction (纠错: it delivered
/// another value) are different findings; a row that ingest or a reject check rejected lends
/// no value, even for the same key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_and_corrections_are_different_findings_and_rejected_rows_lend_nothing() {
    let dir = temp_dir("authority-fill");
    let a = format!("1101051949123100{}", "2X");
    let c = {
        let body = "31011219850409522";
        format!("{body}{}", check(body))
    };
    // The same ID with a wrong check character, delivered by both: rejected everywhere.
    let x = format!("{}{}", &c[..17], if c.ends_with('0') { '1' } else { '0' });
    let p = two_department_job(
        &dir,
        |rules| {
            rules.replacen(
                "name = \"phone\"\nclass = \"sensitive\"\n",
                "name = \"phone\"\nclass = \"sensitive\"\nauthority = \"public_security\"\n",
                1,
            )
        },
        &format!(
            "{a},张三,13912345678,2020-01-01\n{c},赵六,13987654321,2020-01-01\n{x},甲,,2020-01-01\n"
        ),
        &format!("{a},张叁,,2023-01-01\n{c},赵六,13812345678,2023-01-01\n{x},乙,,2023-01-01\n"),
    );
    let out = dir.join("out");
    let run = shuzhi_job::run_pipeline(&p, &out, &shuzhi_job::RunOptions::new("fill"))
        .await
        .expect("runs");
    let kept = rows(
        &query(
            &out,
            "SELECT id_number, name, phone FROM population ORDER BY id_number",
        )
        .await,
    );
    assert_eq!(
        kept,
        vec![
            format!("{a}|张三|13912345678"),
            format!("{c}|赵六|13987654321"),
        ]
    );
    let verdicts = rows(
        &query(
            &out,
            "SELECT rule, _source, _line FROM verdicts WHERE rule LIKE '%authority%' ORDER BY rule",
        )
        .await,
    );
    assert_eq!(
        verdicts,
        vec![
            // 张叁 → 张三: a correction.
            "population.name.authority|ca|2",
            // 13812345678 → 13987654321: a correction.
            "population.phone.authority|ca|3",
            // No phone from civil affairs: public security's fills it.
            "population.phone.authority_fill|ca|2",
        ],
        "the rejected ID lends nothing and receives nothing"
    );
    let failures = &run.manifest.rule_failures;
    assert_eq!(failures["population.phone.authority_fill"], 1);
    assert_eq!(failures["population.phone.authority"], 1);
    assert_eq!(failures["population.name.authority_fill"], 0);
}

/// A population job with `authority = "public_security"` on the name (and `edit` applied to
/// the rules) over two deliveries of `公民身份号码,姓名,联系电话,登记日期` rows: public security's
/// and civil affairs'.
fn two_department_job(
    dir: &std::path::Path,
    edit: impl Fn(String) -> String,
    public_security: &str,
    civil_affairs: &str,
) -> shuzhi_rules::Pipeline {
    let rules = edit(
        std::fs::read_to_string(repo().join("rules/population.toml"))
            .expect("rules")
            .replacen(
                "name = \"name\"\nclass = \"sensitive\"\n",
                "name = \"name\"\nclass = \"sensitive\"\nauthority = \"public_security\"\n",
                1,
            ),
    );
    assert!(rules.contains("authority = \"public_security\""));
    std::fs::write(dir.join("population.toml"), rules).expect("rules copy");
    let header = "公民身份号码,姓名,联系电话,登记日期\n";
    std::fs::write(dir.join("ps.csv"), format!("{header}{public_security}")).expect("ps");
    std::fs::write(dir.join("ca.csv"), format!("{header}{civil_affairs}")).expect("ca");
    let source = |id: &str, department: &str| {
        format!(
            "[[source]]\nid = \"{id}\"\ndepartment = \"{department}\"\npath = \"{id}.csv\"\nlibrary = \"population\"\n\
             [source.columns]\nid_number = \"公民身份号码\"\nname = \"姓名\"\nphone = \"联系电话\"\nregistered_on = \"登记日期\"\n\n"
        )
    };
    let codes = repo().canonicalize().expect("repo").join("rules/codes");
    let pipeline = format!(
        "[pipeline]\nname = \"authority\"\nrules = [\"population.toml\"]\ncodes = \"{}\"\n\n{}{}",
        codes.display(),
        source("ps", "public_security"),
        source("ca", "civil_affairs")
    );
    std::fs::write(dir.join("pipeline.toml"), pipeline).expect("pipeline");
    shuzhi_rules::load_pipeline(&dir.join("pipeline.toml")).expect("loads")
}

/// GB 11643 check character of a 17-digit body.
fn check(body: &str) -> char {
    shuzhi_functions::id_card::check_char(body.as_bytes()).map_or('0', char::from)
}
