//! Topic libraries: the bundled job's three topics judged against the generator's planted
//! findings (every finding found, no decoy hit, enrolment decisions as planted); a changed
//! input recomputes a topic, an unchanged run keeps it; `shuzhi check` locates bad topics in
//! their files; a topic whose key is not unique fails the run before anything is published.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::{query, repo, rows, shuzhi, temp_dir};

/// `findings.csv` rows: kind, entity, decoy, detail (the detail may hold commas).
fn findings(truth: &Path) -> Vec<(String, String, bool, String)> {
    let text = std::fs::read_to_string(truth.join("findings.csv")).expect("findings");
    text.lines()
        .skip(1)
        .map(|l| {
            let mut parts = l.splitn(4, ',');
            let mut next = || parts.next().unwrap_or_default().to_owned();
            let (kind, entity, decoy, detail) = (next(), next(), next(), next());
            (
                kind,
                entity,
                decoy == "true",
                detail.trim_matches('"').to_owned(),
            )
        })
        .collect()
}

/// Entity → identity number, from `persons.csv`.
fn person_ids(truth: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(truth.join("persons.csv")).expect("persons");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.split(',');
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        })
        .collect()
}

/// The three topics of the run published in `out` against the findings in `truth`.
async fn topics_match_the_truth(out: &Path, truth: &Path) {
    let ids = person_ids(truth);
    let id = |entity: &str| ids[entity].clone();
    let planted = findings(truth);

    // Deceased: every death a department reports, with the decision and reason its sources
    // give; nobody who only moved away.
    let deceased: BTreeMap<String, String> = rows(
        &query(
            out,
            "SELECT id_number, decision, reason, CAST(death_date AS VARCHAR) FROM deceased",
        )
        .await,
    )
    .into_iter()
    .map(|r| {
        let (id, rest) = r.split_once('|').expect("row");
        (id.to_owned(), rest.to_owned())
    })
    .collect();
    let mut expected = BTreeMap::new();
    for (kind, entity, decoy, detail) in &planted {
        if kind != "deceased" {
            continue;
        }
        if *decoy {
            assert!(
                !deceased.contains_key(&id(entity)),
                "decoy hit: {entity} {detail}"
            );
            continue;
        }
        let sources: u32 = detail
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("count");
        let earliest = detail
            .split("earliest ")
            .nth(1)
            .and_then(|d| d.get(..10))
            .expect("date");
        let decision = if sources >= 2 {
            "confirmed"
        } else {
            "single_source"
        };
        let reason = match () {
            _ if detail.ends_with("disagree") => "dates_disagree",
            _ if sources >= 2 => "sources_agree",
            _ => "one_source",
        };
        expected.insert(id(entity), format!("{decision}|{reason}|{earliest}"));
    }
    assert!(expected.len() >= 20, "{}", expected.len());
    assert_eq!(deceased, expected, "deceased persons as planted");

    // Benefit fraud: exactly the planted findings, per person and kind; no decoy.
    let kinds = [
        "unemployment_while_pension",
        "unemployment_while_employed",
        "pension_after_death",
        "unemployment_after_death",
        "medical_after_death",
    ];
    let hits: BTreeSet<String> =
        rows(&query(out, "SELECT id_number, kind FROM benefit_fraud").await)
            .into_iter()
            .collect();
    let planted_hits: BTreeSet<String> = planted
        .iter()
        .filter(|(kind, _, decoy, _)| kinds.contains(&kind.as_str()) && !decoy)
        .map(|(kind, entity, _, _)| format!("{}|{kind}", id(entity)))
        .collect();
    for (kind, entity, decoy, detail) in &planted {
        if kinds.contains(&kind.as_str()) && *decoy {
            let key = format!("{}|{kind}", id(entity));
            assert!(!hits.contains(&key), "decoy hit: {key} ({detail})");
        }
    }
    assert!(planted_hits.len() >= 8, "{planted_hits:?}");
    assert_eq!(hits, planted_hits, "benefit fraud hits as planted");

    // Enrolment review: one decision per application, as planted.
    let reviews: BTreeSet<String> = rows(
        &query(
            out,
            "SELECT child_id, decision, reason FROM enrolment_review",
        )
        .await,
    )
    .into_iter()
    .collect();
    let planted_reviews: BTreeSet<String> = planted
        .iter()
        .filter_map(|(kind, entity, _, reason)| {
            let decision = kind.strip_prefix("enrolment_")?;
            Some(format!("{}|{decision}|{reason}", id(entity)))
        })
        .collect();
    assert!(planted_reviews.len() >= 15, "{planted_reviews:?}");
    assert_eq!(reviews, planted_reviews, "enrolment decisions as planted");

    // Every topic row names its topic and file fingerprint, and lists its evidence rows.
    for topic in ["deceased", "benefit_fraud", "enrolment_review"] {
        let bad = rows(
            &query(
                out,
                &format!(
                    "SELECT count(*) FROM {topic} WHERE _topic <> '{topic}' OR length(_topic_fingerprint) <> 64 OR array_length(evidence) = 0"
                ),
            )
            .await,
        );
        assert_eq!(bad, ["0"], "{topic}");
        // Each row's evidence names at least one delivered file and line.
        let without_file = rows(
            &query(
                out,
                &format!(
                    "SELECT count(*) FROM (SELECT r, max(CASE WHEN get_field(e, 'file') IS NOT NULL AND get_field(e, 'line') IS NOT NULL THEN 1 ELSE 0 END) AS filed FROM (SELECT r, unnest(evidence) AS e FROM (SELECT row_number() OVER () AS r, evidence FROM {topic})) GROUP BY r) WHERE filed = 0"
                ),
            )
            .await,
        );
        assert_eq!(without_file, ["0"], "{topic}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_topics_find_what_the_generator_planted() {
    let out = temp_dir("topics");
    let pipeline = shuzhi_rules::load_pipeline(&repo().join("pipeline.toml")).expect("loads");
    let run = shuzhi_job::run_pipeline(&pipeline, &out, &shuzhi_job::RunOptions::new("topics-1"))
        .await
        .expect("sample job runs");
    assert!(run.manifest.topics.values().all(|t| t.computed));
    topics_match_the_truth(&out, &repo().join("sample-data/truth")).await;

    // Nothing changed: the next run keeps every topic as published.
    let again = shuzhi_job::run_pipeline(&pipeline, &out, &shuzhi_job::RunOptions::new("topics-2"))
        .await
        .expect("second run");
    for (name, t) in &again.manifest.topics {
        assert!(!t.computed, "{name} recomputed without a change");
        assert_eq!(t.rows, run.manifest.topics[name].rows);
    }
}

#[test]
fn a_generated_city_of_100k_persons_has_its_findings_found() {
    let dir = temp_dir("topics-100k");
    let (code, _, stderr) = shuzhi(
        &[
            "sample",
            "--persons",
            "100000",
            "--seed",
            "7",
            "--out",
            "sample-data",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stderr}");
    for entry in ["pipeline.toml", "rules"] {
        copy_tree(&repo().join(entry), &dir.join(entry));
    }
    let (code, stdout, stderr) = shuzhi(&["run", "--out", "out"], &dir);
    assert_eq!(code, 0, "{stdout}{stderr}");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(topics_match_the_truth(
            &dir.join("out"),
            &dir.join("sample-data/truth"),
        ));
}

/// Copies a file or folder (recursively).
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read dir") {
            let e = e.expect("entry");
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy");
    }
}

/// The bundled pipeline, written into `dir` with absolute paths to the repository's rules and
/// sample data, and `topic` as a fourth topic (`dir/topics/extra.toml`).
fn pipeline_with_topic(dir: &Path, topic: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("topics")).expect("dir");
    std::fs::write(dir.join("topics/extra.toml"), topic).expect("topic");
    let repo = repo().canonicalize().expect("repo");
    let text = std::fs::read_to_string(repo.join("pipeline.toml"))
        .expect("pipeline")
        .replace(
            "  \"rules/topics/enrolment_review.toml\",",
            "  \"rules/topics/enrolment_review.toml\",\n  \"topics/extra.toml\",",
        )
        .replace("\"rules/", &format!("\"{}/rules/", repo.display()))
        .replace(
            "\"sample-data/",
            &format!("\"{}/sample-data/", repo.display()),
        );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).expect("pipeline");
    path
}

/// `shuzhi check` of the bundled pipeline with `topic` added: its stderr, once it has failed
/// with the configuration exit code and the diagnostic `code`.
fn check_fails_with(dir: &Path, topic: &str, code: &str) -> String {
    let p = pipeline_with_topic(dir, topic);
    let (exit, _, stderr) = shuzhi(&["check", &p.display().to_string()], dir);
    assert_eq!(exit, 2, "{stderr}");
    assert!(stderr.contains(&format!("error[{code}]")), "{stderr}");
    stderr
}

#[test]
fn check_locates_bad_topics_in_their_files() {
    let dir = temp_dir("topic-check");
    // A table no library writes.
    let stderr = check_fails_with(
        &dir,
        "[topic]\nname = \"extra\"\nreads = [\"populaton\"]\nkey = [\"id_number\"]\nsql = '''\nSELECT 1'''\n",
        "E0140",
    );
    assert!(stderr.contains("topics/extra.toml:3:"), "{stderr}");
    assert!(stderr.contains("did you mean `population`?"), "{stderr}");

    // SQL that does not plan: the unknown column is underlined where it is written.
    let stderr = check_fails_with(
        &dir,
        "[topic]\nname = \"extra\"\nreads = [\"deceased\"]\nkey = [\"id_number\"]\nsql = '''\nSELECT id_number,\n       death_dat AS d\nFROM deceased'''\n",
        "E0202",
    );
    assert!(stderr.contains("topics/extra.toml:7:8"), "{stderr}");
    assert!(stderr.contains("^^^^^^^^^"), "{stderr}");

    // A query without the declared decision column.
    let stderr = check_fails_with(
        &dir,
        "[topic]\nname = \"extra\"\nreads = [\"deceased\"]\nkey = [\"id_number\"]\nsql = '''\nSELECT id_number FROM deceased'''\n",
        "E0203",
    );
    assert!(stderr.contains("decision column `decision`"), "{stderr}");
}

#[test]
fn a_topic_key_that_is_not_unique_fails_the_run_before_publishing() {
    let dir = temp_dir("topic-key");
    let p = pipeline_with_topic(
        &dir,
        "[topic]\nname = \"extra\"\nreads = [\"pension\"]\nkey = [\"id_number\"]\nsql = '''\nSELECT id_number, 'x' AS decision, 'y' AS reason,\n       make_array(evidence('pension', id_number, _file, _line)) AS evidence\nFROM pension'''\n",
    );
    let (code, stdout, stderr) = shuzhi(&["run", &p.display().to_string(), "--out", "out"], &dir);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("topic `extra` gives more than one row for key"),
        "{stderr}"
    );
    // The key is masked: an identity number shows its first and last two characters.
    let key = stderr
        .split("for key ")
        .nth(1)
        .and_then(|k| k.split(';').next())
        .expect("key");
    assert_eq!(key.len(), 18, "{key}");
    assert!(key[2..16].chars().all(|c| c == '*'), "{key}");
    assert!(
        !dir.join("out/_published.json").exists(),
        "nothing published"
    );
}

#[test]
fn shuzhi_test_runs_topic_tests_and_shows_what_differs() {
    let (code, stdout, stderr) = shuzhi(&["test", "pipeline.toml"], &repo());
    assert_eq!(code, 0, "{stdout}{stderr}");
    for topic in ["deceased", "benefit_fraud", "enrolment_review"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("rules/topics/{topic}.toml: ")))
            .unwrap_or_else(|| panic!("{topic} not tested:\n{stdout}"));
        assert!(!line.ends_with(" 0 test(s)"), "{line}");
    }
    // A wrong expectation fails and says which value differs.
    let dir = temp_dir("topic-test-fails");
    let p = pipeline_with_topic(
        &dir,
        "[topic]\nname = \"extra\"\nreads = [\"pension\"]\nkey = [\"id_number\"]\nsql = '''\nSELECT id_number, 'x' AS decision, 'y' AS reason,\n       make_array(evidence('pension', id_number, _file, _line)) AS evidence\nFROM pension'''\n\n[[test]]\ninput.pension = [{ id_number = \"110105193711119443\", _file = \"p.csv\", _line = \"2\" }]\nexpect = [{ id_number = \"110105193711119443\", decision = \"z\" }]\n",
    );
    let (code, stdout, _) = shuzhi(&["test", &p.display().to_string()], &dir);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("row 110105193711119443: `decision` is x, expected z"),
        "{stdout}"
    );
}

/// Each topic's rows as text, sorted, without the fingerprint (which a changed file changes).
async fn topic_rows(out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut tables = BTreeMap::new();
    for topic in ["deceased", "benefit_fraud", "enrolment_review"] {
        let sql = format!("SELECT * EXCLUDE (_topic_fingerprint) FROM {topic}");
        let mut r = rows(&query(out, &sql).await);
        r.sort();
        tables.insert(topic.to_owned(), r);
    }
    tables
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_over_a_million_rows_spill_under_64_mib_and_agree() {
    let dir = temp_dir("topics-spill");
    let (code, _, stderr) = shuzhi(
        &[
            "sample",
            "--persons",
            "170000",
            "--seed",
            "3",
            "--out",
            "sample-data",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stderr}");
    for entry in ["pipeline.toml", "rules"] {
        copy_tree(&repo().join(entry), &dir.join(entry));
    }
    let out = dir.join("out");
    let unlimited = {
        let pipeline = shuzhi_rules::load_pipeline(&dir.join("pipeline.toml")).expect("loads");
        let run = shuzhi_job::run_pipeline(&pipeline, &out, &shuzhi_job::RunOptions::new("r1"))
            .await
            .expect("unlimited run");
        // The topics read at least a million rows.
        let read: u64 = pipeline
            .topics
            .iter()
            .flat_map(|t| t.reads.iter())
            .map(|(table, _)| table.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|t| pipeline.library(t).is_some())
            .map(|library| {
                pipeline
                    .sources_of(library)
                    .map(|s| run.manifest.sources[&s.id].kept)
                    .sum::<u64>()
            })
            .sum();
        assert!(read >= 1_000_000, "topics read {read} rows");
        assert!(run.manifest.topics.values().all(|t| t.spilled_bytes == 0));
        topic_rows(&out).await
    };
    // The same topics (each file's description changed, so each is recomputed) under 64 MiB:
    // nothing new is delivered, only the topics run.
    for topic in ["deceased", "benefit_fraud", "enrolment_review"] {
        let path = dir.join(format!("rules/topics/{topic}.toml"));
        let text = std::fs::read_to_string(&path).expect("topic");
        let text = text.replacen("description = \"", "description = \"(again) ", 1);
        std::fs::write(&path, text).expect("topic");
    }
    let pipeline = shuzhi_rules::load_pipeline(&dir.join("pipeline.toml")).expect("loads");
    let mut options = shuzhi_job::RunOptions::new("r2");
    options.engine.memory_limit = 64 << 20;
    let run = shuzhi_job::run_pipeline(&pipeline, &out, &options)
        .await
        .expect("64 MiB run");
    assert!(run.manifest.topics.values().all(|t| t.computed));
    let spilled: u64 = run.manifest.topics.values().map(|t| t.spilled_bytes).sum();
    assert!(spilled > 0, "{:?}", run.manifest.topics);
    assert_eq!(
        topic_rows(&out).await,
        unlimited,
        "64 MiB and unlimited agree"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_input_recomputes_only_the_topics_that_read_it() {
    let dir = temp_dir("topic-increment");
    // Pensions arrive as increments: a folder of files, each a new batch.
    std::fs::create_dir_all(dir.join("pensions")).expect("dir");
    std::fs::copy(
        repo().join("sample-data/hrss/pension.csv"),
        dir.join("pensions/2026-10.csv"),
    )
    .expect("copy");
    let path = pipeline_with_topic(
        &dir,
        "[topic]\nname = \"extra\"\nreads = [\"household\"]\nkey = [\"id_number\"]\nsql = '''\nSELECT id_number, 'x' AS decision, 'y' AS reason,\n       make_array(evidence('household', id_number, _file, _line)) AS evidence\nFROM household'''\n",
    );
    let text = std::fs::read_to_string(&path).expect("pipeline");
    let moved = format!(
        "\"{}/pensions/*.csv\"\ndelivery = \"increment\"",
        dir.display()
    );
    let original = format!(
        "\"{}/sample-data/hrss/pension.csv\"",
        repo().canonicalize().expect("repo").display()
    );
    std::fs::write(&path, text.replace(&original, &moved)).expect("pipeline");
    let out = dir.join("out");
    let run = |id: &'static str| {
        let path = path.clone();
        let out = out.clone();
        async move {
            let pipeline = shuzhi_rules::load_pipeline(&path).expect("loads");
            shuzhi_job::run_pipeline(&pipeline, &out, &shuzhi_job::RunOptions::new(id))
                .await
                .expect("runs")
        }
    };
    run("d1").await;
    // Human resources delivers one more month of pensions: the topic reading pensions is
    // recomputed, the others keep their published tables.
    std::fs::write(
        dir.join("pensions/2026-11.csv"),
        "身份证号,姓名,发放月份,金额\n110105193711119443,向强怡,202611,3100\n",
    )
    .expect("increment");
    let second = run("d2").await;
    let computed: BTreeSet<&str> = second
        .manifest
        .topics
        .iter()
        .filter(|(_, t)| t.computed)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(computed, BTreeSet::from(["benefit_fraud"]));
}
