//! Golden records (一数一源, 多源校核): every department's copy is kept in the source layer, each
//! attribute of the golden record comes from its authority, else the most recent delivery,
//! else the most complete value; copies that are not the same are conflicts with the
//! department that must correct them; an incremental delivery gives the tables of a rebuild.

use std::path::Path;

use crate::common::{query, repo, rows, shuzhi, temp_dir};

/// `11010519491231002X`: a woman born 1949-12-31.
const A: &str = "11010519491231002X";

/// A population job over `(department, csv rows)` deliveries of
/// `公民身份号码,姓名,性别,出生日期,联系电话,登记日期`, with the phone's authority public security
/// until 2025 and human resources from 2026; the rule file gets `edit`.
fn job(
    dir: &Path,
    deliveries: &[(&str, &str, &str)],
    edit: impl Fn(String) -> String,
) -> std::path::PathBuf {
    let rules = std::fs::read_to_string(repo().join("rules/population.toml")).expect("rules");
    let phone = "name = \"phone\"\n";
    assert!(rules.contains(phone));
    let rules = rules.replacen(
        phone,
        "name = \"phone\"\nauthority = [\n  { department = \"public_security\", until = \"2025-12-31\" },\n  \
         { department = \"hrss\", from = \"2026-01-01\" },\n]\n",
        1,
    );
    std::fs::write(dir.join("population.toml"), edit(rules)).expect("rules copy");
    let header = "公民身份号码,姓名,性别,出生日期,联系电话,登记日期\n";
    let mut sources = String::new();
    for (id, department, csv) in deliveries {
        std::fs::write(dir.join(format!("{id}.csv")), format!("{header}{csv}")).expect("csv");
        sources.push_str(&format!(
            "[[source]]\nid = \"{id}\"\ndepartment = \"{department}\"\npath = \"{id}.csv\"\n\
             library = \"population\"\ndelivery = \"increment\"\n[source.columns]\n\
             id_number = \"公民身份号码\"\nname = \"姓名\"\ngender = \"性别\"\n\
             birth_date = \"出生日期\"\nphone = \"联系电话\"\nregistered_on = \"登记日期\"\n\n"
        ));
    }
    let codes = repo().canonicalize().expect("repo").join("rules/codes");
    let pipeline = format!(
        "[pipeline]\nname = \"golden\"\nrules = [\"population.toml\"]\ncodes = \"{}\"\n\n{sources}",
        codes.display()
    );
    std::fs::write(dir.join("pipeline.toml"), pipeline).expect("pipeline");
    dir.join("pipeline.toml")
}

async fn run(pipeline: &Path, out: &Path, run_id: &str) -> shuzhi_job::RunReport {
    let p = shuzhi_rules::load_pipeline(pipeline).expect("pipeline loads");
    shuzhi_job::run_pipeline(&p, out, &shuzhi_job::RunOptions::new(run_id))
        .await
        .expect("runs")
}

/// The rule file with no authority for the registration date.
fn without_registration_authority(rules: String) -> String {
    let with = "name = \"registered_on\"\nauthority = \"public_security\"\n";
    assert!(rules.contains(with));
    rules.replacen(with, "name = \"registered_on\"\n", 1)
}

fn other_id() -> String {
    id_number("31011219850409522")
}

/// The ID number of the 17 digits `body` (with its check character).
fn id_number(body: &str) -> String {
    let check = shuzhi_functions::id_card::check_char(body.as_bytes()).map_or('0', char::from);
    format!("{body}{check}")
}

/// Rows in the data files that run `run_id` wrote into the table directory `dir`.
fn rows_written_by(dir: &Path, run_id: &str) -> i64 {
    let suffix = format!("-{run_id}.zstd.parquet");
    let mut rows = 0;
    for entry in walk(dir) {
        if entry.to_string_lossy().ends_with(&suffix) {
            let file = std::fs::File::open(&entry).expect("data file");
            let reader = parquet::file::reader::SerializedFileReader::new(file).expect("parquet");
            rows += parquet::file::reader::FileReader::metadata(&reader)
                .file_metadata()
                .num_rows();
        }
    }
    rows
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        match path.is_dir() {
            true => files.extend(walk(&path)),
            false => files.push(path),
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_attribute_comes_from_its_authority_and_disagreements_are_conflicts() {
    let dir = temp_dir("golden");
    let b = other_id();
    let p = job(
        &dir,
        &[
            (
                "ps",
                "public_security",
                &format!("{A},张三,女,1949-12-31,13912345678,2020-01-01\n"),
            ),
            // Human resources: the name with a space (the same after normalisation), a birth
            // date that contradicts the ID (fixed from it, and still a conflict: the copy must
            // be corrected at its source), its phone twice (a duplicate within the department).
            (
                "hrss",
                "hrss",
                &format!(
                    "{A},张 三,2,1949-12-30,13987654321,2023-01-01\n{A},张 三,2,1949-12-30,13987654321,2022-01-01\n"
                ),
            ),
            // Civil affairs: another spelling, and a person no one else delivered.
            (
                "ca",
                "civil_affairs",
                &format!("{A},张叁,,,,2024-01-01\n{b},李四,,,,2024-01-01\n"),
            ),
        ],
        // The registration date without an authority.
        without_registration_authority,
    );
    let out = dir.join("out");
    let report = run(&p, &out, "20260301T000000Z-golden").await;

    // The source layer keeps one copy per department; the duplicate within hrss is quarantined.
    let sources = rows(
        &query(
            &out,
            "SELECT _department, id_number, name, birth_date, _stated_birth_date FROM population_source ORDER BY _department, id_number",
        )
        .await,
    );
    assert_eq!(
        sources,
        vec![
            format!("civil_affairs|{A}|张叁|1949-12-31|∅"),
            format!("civil_affairs|{b}|李四|1985-04-09|∅"),
            format!("hrss|{A}|张 三|1949-12-31|1949-12-30"),
            format!("public_security|{A}|张三|1949-12-31|1949-12-31"),
        ]
    );
    let quarantined = rows(
        &query(
            &out,
            "SELECT _department, _reasons FROM quarantine_population",
        )
        .await,
    );
    assert_eq!(quarantined, vec!["hrss|population.dedup"]);

    // One golden record per person: the name and birth date from public security (the
    // authority), the phone from human resources (its authority since 2026).
    let golden = rows(
        &query(
            &out,
            "SELECT id_number, name, gender, birth_date, phone, _copies FROM population ORDER BY id_number",
        )
        .await,
    );
    assert_eq!(
        golden,
        vec![
            format!("{A}|张三|2|1949-12-31|13987654321|3"),
            format!("{b}|李四|2|1985-04-09|∅|1"),
        ]
    );
    let attributes = rows(
        &query(
            &out,
            &format!(
                "SELECT a.field, a.department, a.reason FROM population_attributes a \
                 JOIN population g ON a.entity_id = g.entity_id WHERE g.id_number = '{A}' \
                 AND a.field IN ('name', 'phone', 'registered_on') ORDER BY a.field"
            ),
        )
        .await,
    );
    assert_eq!(
        attributes,
        vec![
            "name|public_security|authority",
            "phone|hrss|authority",
            // No authority, and delivered in one run: a tie, the first department by name wins.
            "registered_on|civil_affairs|tie",
        ]
    );

    // The conflicts: who must correct what, masked as the fields say.
    let conflicts = rows(
        &query(
            &out,
            "SELECT _department, entity, field, value, golden_value, golden_department, reason \
             FROM population_conflicts ORDER BY field, _department",
        )
        .await,
    );
    assert_eq!(
        conflicts,
        vec![
            "hrss|110105********002X|birth_date|1949-12-30|1949-12-31|public_security|authority",
            "civil_affairs|110105********002X|name|张*|张*|public_security|authority",
            "public_security|110105********002X|phone|139****5678|139****4321|hrss|authority",
            "hrss|110105********002X|registered_on|2023-01-01|2024-01-01|civil_affairs|tie",
            "public_security|110105********002X|registered_on|2020-01-01|2024-01-01|civil_affairs|tie",
        ]
    );
    // Every source row links to one entity of the golden library.
    let links = rows(
        &query(
            &out,
            "SELECT count(*), count(DISTINCT l.entity_id), count(g.entity_id) FROM population_link l \
             LEFT JOIN population g ON l.entity_id = g.entity_id",
        )
        .await,
    );
    assert_eq!(links, vec!["4|2|4"]);
    let counts = &report.manifest.golden["population"];
    assert_eq!((counts.entities, counts.links, counts.conflicts), (2, 4, 5));

    // Human resources' rectification list, as CSV and as a workbook.
    let from = out.display().to_string();
    let (code, stdout, stderr) =
        shuzhi(&["rectify", "--department", "hrss", "--from", &from], &dir);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("library,entity_id,entity,field,value,golden_value"));
    assert!(
        lines[1].starts_with("population,") && lines[1].contains(",110105********002X,birth_date,1949-12-30,1949-12-31,public_security,authority,hrss,"),
        "{stdout}"
    );
    assert!(stderr.contains("2 conflict(s) for hrss"), "{stderr}");
    let book = dir.join("hrss.xlsx");
    let (code, _, stderr) = shuzhi(
        &[
            "rectify",
            "--department",
            "hrss",
            "--format",
            "xlsx",
            "--out",
            &book.display().to_string(),
            "--from",
            &from,
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read(&book).expect("workbook").starts_with(b"PK"));
    // A department that delivered nothing is an error that lists those that did.
    let (code, _, stderr) = shuzhi(&["rectify", "--department", "hrs", "--from", &from], &dir);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("departments: civil_affairs, hrss, public_security"),
        "{stderr}"
    );
}

/// Every table of a golden library, sorted, without run ids.
async fn golden_tables(out: &Path) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for sql in [
        "SELECT * EXCLUDE (_run_id) FROM population_source",
        "SELECT * FROM population",
        "SELECT * FROM population_link",
        "SELECT * FROM population_attributes",
        "SELECT * FROM population_conflicts",
        "SELECT * EXCLUDE (_run_id) FROM quarantine_population",
    ] {
        let mut r = rows(&query(out, sql).await);
        r.sort();
        all.push(r);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_increment_from_one_department_gives_the_tables_of_a_full_rebuild() {
    let dir = temp_dir("golden-incremental");
    let b = other_id();
    // C: public security's only, and untouched by day 2.
    let c = id_number("44030419900101123");
    let day1 = [
        (
            "ps",
            "public_security",
            format!(
                "{A},张三,女,1949-12-31,13912345678,2020-01-01\n{b},李四,女,1985-04-09,,2020-01-01\n\
                 {c},王五,男,1990-01-01,,2020-01-01\n"
            ),
        ),
        (
            "hrss",
            "hrss",
            // Another phone for A than public security's: a day-1 conflict that day 2's
            // phone replaces (the merge must delete it, in its department's partition).
            format!("{A},张三,2,1949-12-31,13700000000,2020-01-01\n"),
        ),
    ];
    // Day 2: human resources delivers a new phone for A and a wrong birth date for B.
    let day2_hrss = format!(
        "{A},张三,2,1949-12-31,13755551234,2020-01-01\n{b},李四,2,1985-04-01,13698765432,2021-06-01\n"
    );
    let deliveries = |hrss: &str| -> Vec<(&str, &str, String)> {
        vec![day1[0].clone(), ("hrss", "hrss", hrss.to_owned())]
    };
    let write = |dir: &Path, d: &[(&str, &str, String)]| {
        let refs: Vec<(&str, &str, &str)> =
            d.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect();
        job(dir, &refs, without_registration_authority)
    };

    // Day 1 into two lakehouses; then the hrss increment, governed incrementally into one and
    // by a full rebuild of the live batches into the other (the ps file unchanged).
    let (out, full_out) = (dir.join("incremental"), dir.join("rebuilt"));
    let p1 = write(&dir, &deliveries(&day1[1].2));
    run(&p1, &out, "20260101T000000Z-d1").await;
    run(&p1, &full_out, "20260101T000000Z-d1").await;
    let p2 = write(&dir, &deliveries(&day2_hrss));
    let day2 = run(&p2, &out, "20260102T000000Z-d2").await;
    assert!(
        day2.manifest
            .deliveries
            .iter()
            .any(|l| l.contains("incremental")),
        "{:?}",
        day2.manifest.deliveries
    );
    let pipeline = shuzhi_rules::load_pipeline(&p2).expect("loads");
    let mut options = shuzhi_job::RunOptions::new("20260102T000000Z-d2");
    options.full_rebuild = true;
    shuzhi_job::run_pipeline(&pipeline, &full_out, &options)
        .await
        .expect("rebuild runs");
    // The merge recomputed the two entities day 2 touched, not C: it wrote their two golden
    // records and deleted the published ones; the table holds all three.
    assert_eq!(
        rows_written_by(&out.join("population"), "20260102T000000Z-d2"),
        2
    );
    assert_eq!(day2.manifest.golden["population"].entities, 3);
    let (incremental, rebuilt) = (golden_tables(&out).await, golden_tables(&full_out).await);
    for (i, (a, b)) in incremental.iter().zip(&rebuilt).enumerate() {
        assert_eq!(a, b, "table {i}");
    }
    // Day 2 changed the phone of A (hrss is its authority in 2026) and brought a conflict for B.
    let conflicts = rows(
        &query(
            &out,
            "SELECT _department, field, golden_department, reason FROM population_conflicts ORDER BY field",
        )
        .await,
    );
    assert_eq!(
        conflicts,
        vec![
            "hrss|birth_date|public_security|authority",
            "public_security|phone|hrss|authority",
            // No authority for the registration date: human resources' newer delivery wins.
            "public_security|registered_on|hrss|recency",
        ]
    );
}

/// Accounting: a source-layer row without a key links to no entity, and the run fails before
/// publishing anything (here the rule file lost the key's `required` check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_row_without_an_entity_fails_the_run_before_publishing() {
    let dir = temp_dir("golden-unlinked");
    let p = job(
        &dir,
        &[(
            "ps",
            "public_security",
            &format!("{A},张三,女,1949-12-31,,2020-01-01\n,李四,女,,,2020-01-01\n"),
        )],
        |rules| {
            let required =
                "  { rule = \"required\", severity = \"reject\" },\n  { rule = \"gb11643\"";
            assert!(rules.contains(required));
            rules.replacen(required, "  { rule = \"gb11643\"", 1)
        },
    );
    let out = dir.join("out");
    let pipeline = shuzhi_rules::load_pipeline(&p).expect("pipeline loads");
    let err = shuzhi_job::run_pipeline(&pipeline, &out, &shuzhi_job::RunOptions::new("unlinked"))
        .await
        .expect_err("a row without an entity fails the run");
    assert!(
        matches!(err, shuzhi_job::JobError::Unlinked { rows: 1, .. }),
        "{err}"
    );
    assert!(
        shuzhi_library::read_published(&out)
            .expect("pointer readable")
            .is_none(),
        "nothing published"
    );
}
