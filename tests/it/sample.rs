//! The bundled sample, value by value. Each expectation below was worked out by hand from
//! `tests/handworked/make_sample.py` and the rules in `rules/population.toml`.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_library_holds_exactly_the_expected_rows() {
    let out = temp_dir("sample-values");
    let run = run_sample(&out, 8192, 2).await;

    let kept = rows(
        &query(
            &out,
            "SELECT id_number, name, gender, birth_date, phone, region_code, \
        registered_on, address, _flags, _source, _line FROM population_source ORDER BY id_number",
        )
        .await,
    );
    let new = "ps_population_new";
    let old = "ps_population_old";
    let expected = vec![
        // 15-digit ID upgraded; 男 contradicts the ID (even sequence digit) → fixed to 2.
        format!(
            "310112198504095227|李四|2|1985-04-09|021-87654321|310112|2022-01-10|上海市闵行区|population.gender.expr1|{new}|4"
        ),
        // 1880 birth date is valid; placeholder phone → null; Excel serial 44931 → 2023-01-05.
        format!("440524188001010014|赵六|1|1880-01-01|∅|440524|2023-01-05|广东省汕头市|∅|{new}|9"),
        format!(
            "440524197103150039|刘 一|1|1971-03-15|13977778888|440524|2022-10-10|广东省汕头市|∅|{old}|5"
        ),
        // Lower-case x; later registration than line 2 and the GBK copy → survives dedup.
        format!(
            "11010519491231002X|张三丽|2|1949-12-31|13912345678|110105|2021-03-01|北京市朝阳区建国路1号|∅|{new}|3"
        ),
        format!(
            "110102199512120060|王䶮|2|1995-12-12|010-66668888|110102|2022-09-09|北京市西城区|∅|{old}|4"
        ),
        // Abolished county 崇文区 stays valid; 不详 → null → gender from the ID.
        format!(
            "11010319751015001X|冯二|1|1975-10-15|13944445555|110103|2021-07-01|北京市崇文区|population.gender.expr1|{new}|12"
        ),
        // Planted tie (same key, same date in both files): the source id breaks it.
        format!(
            "110106198808080046|蒋五|2|1988-08-08|13966667777|110106|2022-08-08|北京市丰台区|∅|{new}|16"
        ),
        // Full-width digits; M → 1; region derived from the ID; landline normalised.
        format!(
            "130503196704010016|王五|1|1967-04-01|0311-87654321|130503|2022-06-01|河北省邢台市|∅|{new}|5"
        ),
        // 未知 and empty cells: gender and birth date from the ID.
        format!(
            "130503198802020014|褚七|1|1988-02-02|∅|130503|2022-11-11|∅|population.gender.expr1; population.birth_date.expr1|{old}|7"
        ),
        // Quoted comma and newline in the address; the record starts on line 14.
        format!(
            "320102199205050030|卫四|1|1992-05-05|13955556666|320102|2022-05-05|南京市玄武区 中山路,8号|∅|{new}|14"
        ),
        // Birth date disagrees with the ID → fixed; phone 12345 kept with a warning.
        format!(
            "330106198511204563|郑一|2|1985-11-20|12345|330106|2023-02-01|浙江省杭州市西湖区 文三路 90号|population.birth_date.expr1; population.phone.phone|{new}|10"
        ),
        // Region derived from the ID is not in GB/T 2260 → warning only.
        format!(
            "999999198001010011|陈三|1|1980-01-01|13912340000|999999|2022-03-03|不存在的地区|population.id_number.gb11643_region; population.region_code.code_table_gb2260|{new}|13"
        ),
    ];
    let mut expected = expected;
    expected.sort();
    let mut kept_sorted = kept.clone();
    kept_sorted.sort();
    assert_eq!(kept_sorted, expected);

    // Every quarantined row with all its reasons and its provenance.
    let quarantined = rows(
        &query(
            &out,
            "SELECT _source, _file, _line, _reasons, id_number, name, _raw \
        FROM quarantine_population ORDER BY _source, _line",
        )
        .await,
    );
    let new_file = "tests/handworked/public_security/population_new.csv";
    let old_file = "tests/handworked/public_security/population_old_gbk.csv";
    let q: Vec<String> = quarantined
        .iter()
        .map(|r| {
            // Paths are absolute in provenance; compare from the repository root.
            let mut cols: Vec<&str> = r.split('|').collect();
            let rel = cols[1]
                .rsplit_once("/../../")
                .map_or(cols[1], |(_, rel)| rel);
            cols[1] = rel;
            cols.join("|")
        })
        .collect();
    assert_eq!(
        q,
        vec![
            format!("{new}|{new_file}|2|population.dedup|11010519491231002X|张三丽|∅"),
            format!("{new}|{new_file}|6|population.id_number.gb11643|11010120000101001X|孙八|∅"),
            format!("{new}|{new_file}|7|population.id_number.required|无|周九|∅"),
            format!(
                "{new}|{new_file}|8|ingest.ragged_row|∅|∅|110108199003071238,吴十,男,1990-03-07,13911112222,110108,2022-01-01,北京市海淀区,多余的列"
            ),
            format!("{new}|{new_file}|11|population.name.required|320102200002290021|/|∅"),
            format!("{old}|{old_file}|2|population.dedup|310112198504095227|李四|∅"),
            format!("{old}|{old_file}|3|population.dedup|110106198808080046|蒋五|∅"),
            format!("{old}|{old_file}|6|population.dedup|=\"11010519491231002X\"|张三丽|∅"),
        ]
    );

    // Row accounting per source, as the manifest states it.
    let c = &run.manifest.sources;
    assert_eq!((c[new].read, c[new].kept, c[new].quarantined), (14, 9, 5));
    assert_eq!((c[old].read, c[old].kept, c[old].quarantined), (6, 3, 3));
    assert_eq!(run.manifest.rule_failures["population.dedup"], 4);
    assert_eq!(run.manifest.rule_failures["population.gender.expr1"], 3);
    // Values changed per clean step (a parse_date change is a reformatted or unparseable date).
    let changed: Vec<(&str, u64)> = run
        .manifest
        .step_changes
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(
        changed,
        vec![
            ("population.address.normalize_text", 2),
            ("population.address.null_tokens", 1),
            ("population.birth_date.null_tokens", 1),
            ("population.birth_date.parse_date", 5),
            ("population.gender.map:gb2261_1", 16),
            ("population.gender.null_tokens", 2),
            ("population.id_number.id_number", 3),
            ("population.id_number.normalize_text", 1),
            ("population.id_number.null_tokens", 1),
            ("population.name.normalize_text", 2),
            ("population.name.null_tokens", 1),
            ("population.phone.null_tokens", 1),
            ("population.phone.phone", 4),
            ("population.region_code.default", 3),
            ("population.region_code.null_tokens", 3),
            ("population.registered_on.parse_date", 5),
        ]
    );
    assert_eq!(run.manifest.inputs.len(), 2);
    let ragged: Vec<u64> = run
        .manifest
        .inputs
        .iter()
        .map(|i| i.ingest_errors)
        .collect();
    assert_eq!(ragged, vec![1, 0], "line 8 of the new export is ragged");
    assert!(run.manifest.inputs.iter().all(|i| i.sha256.len() == 64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_keep_original_cleaned_and_fixed_values() {
    let out = temp_dir("sample-verdicts");
    run_sample(&out, 8192, 2).await;
    let v = rows(
        &query(
            &out,
            "SELECT rule, severity, field, original, cleaned, fixed, _line FROM verdicts \
        WHERE _source = 'ps_population_new' AND severity = 'fix' ORDER BY _line, rule",
        )
        .await,
    );
    assert_eq!(
        v,
        vec![
            "population.gender.expr1|fix|gender|男|1|2|4",
            "population.birth_date.expr1|fix|birth_date|1985-11-21|1985-11-21|1985-11-20|10",
            "population.gender.expr1|fix|gender|不详|∅|1|12",
        ]
    );
    let per_department = rows(
        &query(
            &out,
            "SELECT _department, count(*) FROM verdicts GROUP BY 1",
        )
        .await,
    );
    assert_eq!(per_department, vec!["public_security|16"]);
}

/// Every verdict names its entity (the library key, masked like the key field); a dedup
/// verdict also names the row that was kept and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_verdicts_name_their_entity_and_the_row_they_lost_to() {
    let out = temp_dir("sample-dedup-against");
    run_sample(&out, 3, 2).await;
    let v = rows(
        &query(
            &out,
            "SELECT _source, _line, entity, against FROM verdicts \
             WHERE rule = 'population.dedup' ORDER BY _source, _line",
        )
        .await,
    );
    // File labels differ by checkout: keep what follows the folder.
    let v: Vec<String> = v
        .iter()
        .map(|line| line.replace('\\', "/"))
        .map(|line| match line.split_once("|kept ") {
            Some((head, tail)) => {
                let (source, rest) = tail.split_once(' ').unwrap_or((tail, ""));
                let file = rest.rsplit_once('/').map_or(rest, |(_, f)| f);
                format!("{head}|kept {source} {file}")
            }
            None => line,
        })
        .collect();
    assert_eq!(
        v,
        vec![
            "ps_population_new|2|110105********002X|kept ps_population_new population_new.csv:3 (later registered_on)",
            "ps_population_old|2|310112********5227|kept ps_population_new population_new.csv:4 (later registered_on)",
            "ps_population_old|3|110106********0046|kept ps_population_new population_new.csv:16 (same registered_on, first in delivery order)",
            "ps_population_old|6|110105********002X|kept ps_population_new population_new.csv:3 (later registered_on)",
        ]
    );
    let entities = rows(
        &query(
            &out,
            "SELECT count(*) FROM verdicts WHERE entity IS NULL AND rule NOT LIKE 'ingest.%' \
             AND rule <> 'population.id_number.required'",
        )
        .await,
    );
    assert_eq!(
        entities,
        vec!["0"],
        "every verdict of a row with a key names it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_back_types_dates_are_dates_and_identifiers_are_text() {
    let out = temp_dir("sample-types");
    run_sample(&out, 8192, 2).await;
    let batches = query(
        &out,
        "SELECT id_number, birth_date, registered_on, _line FROM population_source LIMIT 1",
    )
    .await;
    let schema = batches[0].schema();
    use arrow::datatypes::DataType::*;
    assert!(matches!(
        schema.field(0).data_type(),
        Utf8 | Utf8View | LargeUtf8
    ));
    assert_eq!(schema.field(1).data_type(), &Date32);
    assert_eq!(schema.field(2).data_type(), &Date32);
    assert_eq!(schema.field(3).data_type(), &Int64);

    // Parquet footers carry zstd, the run id and the rule fingerprint.
    let file = walk_parquet(&out.join("population"))
        .into_iter()
        .next()
        .expect("a data file");
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(
        std::fs::File::open(&file).expect("open"),
    )
    .expect("parquet");
    use parquet::file::reader::FileReader;
    let meta = reader.metadata();
    let kv = meta
        .file_metadata()
        .key_value_metadata()
        .expect("kv metadata");
    assert!(
        kv.iter()
            .any(|k| k.key == "shuzhi.run_id" && k.value.as_deref() == Some("test-run"))
    );
    assert!(kv.iter().any(|k| k.key == "shuzhi.rule_fingerprint"));
    let compression = meta.row_group(0).column(0).compression();
    assert!(
        matches!(compression, parquet::basic::Compression::ZSTD(_)),
        "{compression:?}"
    );
}

fn walk_parquet(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_parquet(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out
}

#[test]
fn cli_runs_then_queries_the_published_library() {
    let out = temp_dir("cli");
    let out_arg = out.display().to_string();
    let (code, stdout, stderr) = shuzhi(
        &[
            "run",
            "tests/handworked/pipeline.toml",
            "--out",
            &out_arg,
            "--run-id",
            "cli",
        ],
        &repo(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ps_population_new"), "{stdout}");
    assert!(stdout.contains("population.dedup"), "{stdout}");
    let (code, stdout, stderr) = shuzhi(
        &[
            "query",
            "SELECT gender, count(*) AS n FROM population_source GROUP BY 1 ORDER BY 1",
            "--out",
            &out_arg,
            "--format",
            "csv",
        ],
        &repo(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "gender,n\n1,7\n2,5\n");

    // Machine-readable summary for schedulers.
    let (code, stdout, stderr) = shuzhi(
        &[
            "run",
            "tests/handworked/pipeline.toml",
            "--out",
            &out_arg,
            "--run-id",
            "cli-json",
            "--json",
            "--full-rebuild",
        ],
        &repo(),
    );
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert_eq!(doc["manifest"]["sources"]["ps_population_old"]["kept"], 3);
    assert_eq!(doc["published"]["run_id"], "cli-json");
    assert_eq!(
        doc["published"]["tables"]["population"]["version"], 1,
        "a full rebuild commits again"
    );
}

/// Each field's fused clean chain must run once per batch: an optimizer that moves struct
/// access towards the scan would otherwise repeat the whole chain per extracted part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_clean_chain_runs_once_in_the_physical_plan() {
    let pipeline = shuzhi_rules::load_pipeline(&repo().join("tests/handworked/pipeline.toml"))
        .expect("pipeline");
    let ctx = shuzhi_engine::session(&shuzhi_engine::EngineConfig::default()).expect("session");
    let library = pipeline.library("population").expect("population rules");
    let reports = shuzhi_engine::source::FileReports::default();
    let planned = shuzhi_engine::plan::plan_library(
        &ctx,
        &pipeline,
        library,
        &shuzhi_engine::source::LiveBatch::declared(&pipeline),
        &Default::default(),
        &reports,
    )
    .expect("plans");
    let physical = planned
        .frame
        .create_physical_plan()
        .await
        .expect("physical plan");
    let text = datafusion::physical_plan::displayable(physical.as_ref())
        .indent(true)
        .to_string();
    for field in &library.fields {
        let call = format!("clean_{}(", field.name);
        assert_eq!(text.matches(&call).count(), 1, "{call} in\n{text}");
    }
}
