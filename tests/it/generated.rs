//! The bundled sample job (`pipeline.toml` over `sample-data/`, written by `shuzhi sample`)
//! judged against the generator's truth, which does not come from the engine: every row's
//! outcome, each department's copy in the source layer, the golden record of every person with
//! the true ID, gender and birth date, and the conflicts: exactly the planted disagreements of
//! the copies in the source layer, each with the true winner.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{query, repo, rows, shuzhi, temp_dir};

/// The standard rule sets' reason for each truth rejection kind.
fn reason_for(kind: &str) -> &'static str {
    match kind {
        "invalid_id" => "population.id_number.gb11643",
        "missing_id" => "population.id_number.required",
        "missing_name" => "population.name.required",
        "excel_precision_loss" => "ingest.excel_precision_loss",
        "invalid_uscc" => "legal_person.uscc.uscc",
        "invalid_licence_id" => "licence.licence_id.elicence_id",
        other => panic!("truth kind {other} has no rule in the standard rule sets"),
    }
}

/// The libraries of the bundled sample job: the base libraries, then those of the
/// department tables the topics read.
const LIBRARIES: [&str; 17] = [
    "population",
    "household",
    "legal_person",
    "licence",
    "credit",
    "geospatial",
    "death_registration",
    "death_certificate",
    "household_cancellation",
    "marriage",
    "pension",
    "unemployment_benefit",
    "contribution",
    "medical_settlement",
    "legal_representative",
    "real_estate",
    "enrolment_application",
];

fn read_truth(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo().join("sample-data/truth").join(name))
        .expect("truth file committed");
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_job_matches_the_generators_truth() {
    let out = temp_dir("generated");
    let pipeline = shuzhi_rules::load_pipeline(&repo().join("pipeline.toml")).expect("loads");
    let files: BTreeSet<String> = pipeline
        .sources
        .iter()
        .flat_map(|s| s.files.iter())
        .map(|f| f.display().to_string())
        .collect();
    let run = shuzhi_job::run_pipeline(
        &pipeline,
        &out,
        &shuzhi_job::RunOptions {
            chunk_bytes: 4096,
            ..shuzhi_job::RunOptions::new("generated")
        },
    )
    .await
    .expect("sample job runs");
    let departments: BTreeSet<&str> = pipeline
        .sources
        .iter()
        .map(|s| s.department.as_str())
        .collect();
    let formats: BTreeSet<&str> = run
        .manifest
        .inputs
        .iter()
        .map(|i| i.format.as_str())
        .collect();
    assert!(departments.len() >= 3, "{departments:?}");
    assert_eq!(
        formats,
        BTreeSet::from(["csv", "excel", "jsonl", "parquet"])
    );
    let libraries: BTreeSet<&str> = pipeline.libraries.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(libraries, BTreeSet::from(LIBRARIES));

    // Truth of the rows in the governed files, keyed by (file relative to sample-data, line).
    let truth: BTreeMap<(String, u64), (String, String)> = read_truth("rows.csv")
        .into_iter()
        .filter(|r| {
            files
                .iter()
                .any(|f| f.ends_with(&format!("sample-data/{}", r[0])))
        })
        .map(|r| {
            (
                (r[0].clone(), r[2].parse().expect("line")),
                (r[3].clone(), r[5].clone()),
            )
        })
        .collect();
    // A file two sources read (education's applications: a population copy of the child, and
    // the application) is read once by each.
    let readers = |file: &str| {
        pipeline
            .sources
            .iter()
            .filter(|s| {
                s.files
                    .iter()
                    .any(|f| f.ends_with(format!("sample-data/{file}")))
            })
            .count() as u64
    };
    let delivered: u64 = truth.keys().map(|(file, _)| readers(file)).sum();
    let read: u64 = run.manifest.sources.values().map(|c| c.read).sum();
    assert_eq!(read, delivered, "every delivered row was read");
    let relative = |file: &str| {
        file.rsplit_once("sample-data/")
            .map(|(_, r)| r.to_owned())
            .expect("provenance under sample-data")
    };

    // Quarantine of every library: each expected rejection with its reason; nothing else but
    // dedup losers.
    let union = LIBRARIES
        .map(|l| format!("SELECT _file, _line, _reasons FROM quarantine_{l}"))
        .join(" UNION ALL ");
    let quarantined = rows(&query(&out, &union).await);
    let mut rejected = BTreeSet::new();
    for q in &quarantined {
        let [file, line, reasons] = q.splitn(3, '|').collect::<Vec<_>>()[..] else {
            panic!("{q}")
        };
        let key = (relative(file), line.parse::<u64>().expect("line"));
        let (_, expected) = &truth[&key];
        match expected.strip_prefix("reject:") {
            Some(kind) => {
                rejected.insert(key.clone());
                assert!(
                    reasons.contains(reason_for(kind)),
                    "{key:?}: {expected} but {reasons}"
                );
            }
            None => assert!(
                reasons.ends_with(".dedup") && !reasons.contains(';'),
                "{key:?} expected {expected}, got {reasons}"
            ),
        }
    }
    let expected_rejects = truth
        .values()
        .filter(|(_, e)| e.starts_with("reject:"))
        .count();
    assert_eq!(
        rejected.len(),
        expected_rejects,
        "every planted rejection is quarantined"
    );

    // Library: one row per person with a valid row, carrying the true ID, gender and birth date.
    let persons: BTreeMap<String, Vec<String>> = read_truth("persons.csv")
        .into_iter()
        .map(|r| (r[0].clone(), r))
        .collect();
    let library = rows(
        &query(
            &out,
            "SELECT _file, _line, _department, id_number, gender, birth_date FROM population_source",
        )
        .await,
    );
    let mut seen = BTreeSet::new();
    let mut linked = BTreeSet::new();
    for l in &library {
        let [file, line, department, id, gender, birth] = l.split('|').collect::<Vec<_>>()[..]
        else {
            panic!("{l}")
        };
        let key = (relative(file), line.parse::<u64>().expect("line"));
        let (entity, expected) = &truth[&key];
        assert!(
            !expected.starts_with("reject:"),
            "{key:?} is {expected} but kept"
        );
        let person = &persons[entity];
        assert_eq!(
            (id, gender, birth),
            (person[1].as_str(), person[3].as_str(), person[4].as_str()),
            "{key:?} {entity}"
        );
        assert!(
            seen.insert((entity.clone(), department.to_owned())),
            "{entity} kept twice by {department}"
        );
        linked.insert(key);
    }
    golden_records_match_the_truth(&out, &persons, &truth, &linked).await;
    // The other libraries have no duplicates in the sample: every row not rejected is kept.
    for library in &LIBRARIES[1..] {
        let files: Vec<String> = pipeline
            .sources_of(library)
            .flat_map(|s| s.files.iter())
            .map(|f| relative(&f.display().to_string()))
            .collect();
        let valid = truth
            .iter()
            .filter(|((file, _), (_, e))| files.contains(file) && !e.starts_with("reject:"))
            .count();
        let kept = rows(&query(&out, &format!("SELECT count(*) FROM {library}")).await);
        assert_eq!(kept, vec![valid.to_string()], "{library}");
        assert!(valid > 0, "{library} has rows");
    }
    // Expected populations, cross-checked with a plain SQL query over the published tables.
    for (library, field) in [("credit", "party_code"), ("licence", "holder_code")] {
        let e = run
            .manifest
            .expected_populations
            .iter()
            .find(|e| e.library == library)
            .unwrap_or_else(|| panic!("{library} declares an expected population"));
        let sql = format!(
            "SELECT count(DISTINCT uscc) FROM legal_person WHERE uscc NOT IN (SELECT {field} FROM {library} WHERE {field} IS NOT NULL)"
        );
        let missing = rows(&query(&out, &sql).await);
        assert_eq!(missing, vec![e.missing.to_string()], "{library}");
        let legal_persons =
            rows(&query(&out, "SELECT count(DISTINCT uscc) FROM legal_person").await);
        assert_eq!(legal_persons, vec![e.expected.to_string()]);
        assert_eq!(e.sample.len() as u64, e.missing.min(20));
    }
    // Quality per department adds up to the library's: same checks, failures and rows split
    // by the delivering department.
    let quality = &run.manifest.quality;
    for whole in quality.iter().filter(|q| q.department.is_none()) {
        let parts: Vec<_> = quality
            .iter()
            .filter(|q| {
                q.department.is_some()
                    && q.library == whole.library
                    && q.indicator == whole.indicator
                    && q.checks == whole.checks
            })
            .collect();
        if whole
            .checks
            .iter()
            .any(|c| c.ends_with(".expected") || c.ends_with(".references"))
        {
            assert!(
                parts.is_empty(),
                "table-level findings are not split: {whole:?}"
            );
            continue;
        }
        assert!(!parts.is_empty(), "{whole:?}");
        assert_eq!(
            parts.iter().map(|p| p.failed).sum::<u64>(),
            whole.failed,
            "{whole:?}"
        );
        assert_eq!(
            parts.iter().map(|p| p.evaluated).sum::<u64>(),
            whole.evaluated,
            "{whole:?}"
        );
    }
    let population_departments: BTreeSet<&str> = quality
        .iter()
        .filter(|q| q.library == "population")
        .filter_map(|q| q.department.as_deref())
        .collect();
    assert_eq!(
        population_departments,
        BTreeSet::from(["education", "hrss", "public_security"])
    );

    // Referential integrity, cross-checked the same way.
    for (library, field, other, key) in [
        (
            "legal_person",
            "representative_id",
            "population",
            "id_number",
        ),
        ("credit", "party_code", "legal_person", "uscc"),
        ("household", "id_number", "population", "id_number"),
    ] {
        let o = run
            .manifest
            .referential_integrity
            .iter()
            .find(|o| o.library == library && o.field == field)
            .unwrap_or_else(|| panic!("{library}.{field} references {other}"));
        let sql = format!(
            "SELECT count(DISTINCT {field}) FROM {library} WHERE {field} IS NOT NULL AND {field} NOT IN (SELECT {key} FROM {other})"
        );
        assert_eq!(
            rows(&query(&out, &sql).await),
            vec![o.orphans.to_string()],
            "{library}.{field}"
        );
        assert!(o.values > 0);
    }
    let credit = run
        .manifest
        .expected_populations
        .iter()
        .find(|e| e.library == "credit")
        .expect("credit");
    assert!(
        credit.missing > 0,
        "the sample has legal persons without credit records"
    );
    let population_files: Vec<String> = pipeline
        .sources_of("population")
        .flat_map(|s| s.files.iter())
        .map(|f| relative(&f.display().to_string()))
        .collect();
    // The source layer: one row per person and department that delivered a valid row.
    let with_valid_row: BTreeSet<(String, String)> = truth
        .iter()
        .filter(|((file, _), (_, e))| population_files.contains(file) && !e.starts_with("reject:"))
        .map(|((file, _), (entity, _))| {
            let department = file.split('/').next().unwrap_or_default();
            (entity.clone(), department.to_owned())
        })
        .collect();
    assert_eq!(
        seen, with_valid_row,
        "one source row per person and department with a valid row"
    );
}

#[test]
fn generator_is_deterministic_and_independent_of_shuzhi() {
    let dir = temp_dir("gen");
    let (code, stdout, stderr) = shuzhi(
        &[
            "sample",
            "--persons",
            "2000",
            "--seed",
            "42",
            "--out",
            &dir.display().to_string(),
        ],
        &repo(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote 19 tables"), "{stdout}");
    // The committed sample is exactly what the documented command writes (xlsx files embed
    // their creation time, so compare the truth, which covers every row of them too).
    let fresh = dir.join("truth/rows.csv");
    assert_eq!(
        std::fs::read_to_string(fresh).expect("fresh truth"),
        std::fs::read_to_string(repo().join("sample-data/truth/rows.csv"))
            .expect("committed truth")
    );
    let deps = dependencies("shuzhi-sample");
    let shuzhi_deps: Vec<&str> = deps
        .lines()
        .filter(|l| l.starts_with("shuzhi-") && !l.starts_with("shuzhi-sample "))
        .collect();
    assert!(
        shuzhi_deps.is_empty(),
        "shuzhi-sample depends on {shuzhi_deps:?}"
    );
    assert!(
        deps.lines().count() > 10,
        "cargo tree listed the dependencies:\n{deps}"
    );
}

/// The pure crates build without DataFusion (and delta-rs): their tests build in seconds, and
/// the report and rules can be used without a query engine.
#[test]
fn pure_crates_do_not_depend_on_datafusion() {
    for krate in [
        "shuzhi-functions",
        "shuzhi-rules",
        "shuzhi-ingest",
        "shuzhi-report",
        "shuzhi-sample",
    ] {
        let deps = dependencies(krate);
        assert!(deps.lines().count() > 1, "{krate}: {deps}");
        let engines: Vec<&str> = deps
            .lines()
            .filter(|l| l.starts_with("datafusion") || l.starts_with("deltalake"))
            .collect();
        assert!(engines.is_empty(), "{krate} depends on {engines:?}");
    }
}

/// `cargo tree` of a crate's normal and build dependencies, one package per line.
fn dependencies(krate: &str) -> String {
    let tree = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            krate,
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(repo())
        .output()
        .expect("cargo tree runs");
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    String::from_utf8_lossy(&tree.stdout).into_owned()
}

/// The golden population: one record per person with a kept copy, carrying the truth; and the
/// conflicts: one per planted disagreement (gender or birth date contradicting the truth) of a
/// row that is in the source layer (`linked`: its file and line), with the true value as the
/// golden one and the delivering department to correct it — and none elsewhere.
async fn golden_records_match_the_truth(
    out: &std::path::Path,
    persons: &BTreeMap<String, Vec<String>>,
    truth: &BTreeMap<(String, u64), (String, String)>,
    linked: &BTreeSet<(String, u64)>,
) {
    let relative = |file: &str| {
        file.rsplit_once("sample-data/")
            .map(|(_, r)| r.to_owned())
            .expect("provenance under sample-data")
    };
    let by_id: BTreeMap<&str, &str> = persons
        .iter()
        .map(|(entity, p)| (p[1].as_str(), entity.as_str()))
        .collect();
    let golden = rows(&query(out, "SELECT id_number, gender, birth_date FROM population").await);
    let kept: BTreeSet<&str> = linked.iter().map(|k| truth[k].0.as_str()).collect();
    assert_eq!(golden.len(), kept.len(), "one golden record per person");
    for g in &golden {
        let [id, gender, birth] = g.split('|').collect::<Vec<_>>()[..] else {
            panic!("{g}")
        };
        let person = &persons[by_id[id]];
        assert_eq!(
            (gender, birth),
            (person[3].as_str(), person[4].as_str()),
            "{id}"
        );
    }
    // What the truth planted: (entity, field, file, line) of every kept disagreeing copy.
    let mut planted = BTreeSet::new();
    for r in read_truth("rows.csv") {
        let key = (r[0].clone(), r[2].parse::<u64>().expect("line"));
        if !linked.contains(&key) {
            continue;
        }
        for (dirt, field) in [
            ("gender_disagrees", "gender"),
            ("birth_disagrees", "birth_date"),
        ] {
            if r[4].split(';').any(|d| d == dirt) {
                planted.insert((r[3].clone(), field.to_owned(), key.0.clone(), key.1));
            }
        }
    }
    let conflicts = rows(
        &query(
            out,
            "SELECT g.id_number, c.field, c._file, c._line, c._department, c.golden_value, \
             c.golden_department FROM population_conflicts c \
             JOIN population g ON c.entity_id = g.entity_id",
        )
        .await,
    );
    let mut reported = BTreeSet::new();
    for c in &conflicts {
        let [id, field, file, line, department, golden, winner] =
            c.split('|').collect::<Vec<_>>()[..]
        else {
            panic!("{c}")
        };
        let entity = by_id[id];
        let person = &persons[entity];
        let truth_value = match field {
            "gender" => &person[3],
            "birth_date" => &person[4],
            other => panic!("a conflict on {other}, where the truth planted none: {c}"),
        };
        assert_eq!(golden, truth_value, "the golden value is the truth: {c}");
        assert_eq!(winner, "public_security", "{c}");
        let file = relative(file);
        assert!(
            file.starts_with(&format!("{department}/")),
            "the delivering department corrects its copy: {c}"
        );
        reported.insert((
            entity.to_owned(),
            field.to_owned(),
            file,
            line.parse::<u64>().expect("line"),
        ));
    }
    assert_eq!(
        reported, planted,
        "every planted disagreement, and no other"
    );
    // disagreements.csv lists the planted values per table: each is reported unless its row
    // lost a dedup within its department (then another copy of that department stands).
    let listed = read_truth("disagreements.csv");
    let found = listed
        .iter()
        .filter(|d| {
            reported
                .iter()
                .any(|(e, f, file, _)| *e == d[0] && *f == d[1] && file.starts_with(&d[2]))
        })
        .count();
    assert!(
        found * 10 >= listed.len() * 8,
        "{found} of {}",
        listed.len()
    );
}
