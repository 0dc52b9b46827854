//! The leak test: the sample job runs (with debug logging), then every report, manifest, log
//! line, lineage event and the verdict table are searched for the raw sensitive values the
//! departments delivered (ID numbers, names, phone numbers of `class = "sensitive"` fields).
//! None may appear; the quarantine, a repair table that keeps rows as delivered, shows that
//! the values did flow through the job.

use std::path::Path;

use crate::common::{repo, shuzhi, temp_dir};

/// Raw sensitive values of the public-security register: ID numbers, names of three or more
/// characters, and phone numbers as delivered and as bare digits.
fn planted() -> Vec<String> {
    let text =
        std::fs::read_to_string(repo().join("sample-data/public_security/population_register.csv"))
            .expect("sample register");
    let mut values = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() < 5 {
            continue;
        }
        let (id, name, phone) = (cells[0].trim(), cells[1].trim(), cells[4].trim());
        if id.chars().count() >= 15 {
            values.push(id.to_owned());
        }
        if name.chars().count() >= 3 {
            values.push(name.to_owned());
        }
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 11 {
            values.push(digits);
            values.push(phone.to_owned());
        }
    }
    values.sort();
    values.dedup();
    values
}

/// Every text file under `dir` except the archived deliveries (the inputs themselves) and
/// the Parquet data, as (path, content).
fn text_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "_deliveries" {
                text_files(&path, out);
            }
        } else if !name.ends_with(".parquet")
            && !name.ends_with(".bin")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn no_report_log_or_verdict_shows_a_raw_sensitive_value() {
    let planted = planted();
    assert!(planted.len() > 1000, "{} planted values", planted.len());
    let out = temp_dir("leak").join("out");
    let out_arg = out.display().to_string();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_shuzhi"))
        .args(["run", "pipeline.toml", "--out", &out_arg])
        .env("RUST_LOG", "debug")
        .current_dir(repo())
        .output()
        .expect("binary runs");
    assert_eq!(run.status.code(), Some(0));
    let mut texts = vec![
        (
            "run stdout".to_owned(),
            String::from_utf8_lossy(&run.stdout).into_owned(),
        ),
        (
            "run stderr".to_owned(),
            String::from_utf8_lossy(&run.stderr).into_owned(),
        ),
    ];
    text_files(&out, &mut texts);
    let query = |sql: &str| {
        let (code, stdout, stderr) = shuzhi(
            &["query", sql, "--out", &out_arg, "--format", "csv"],
            &repo(),
        );
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let verdicts = query("SELECT * FROM verdicts");
    texts.push(("verdicts".into(), verdicts.clone()));
    for (what, text) in &texts {
        for value in &planted {
            assert!(!text.contains(value.as_str()), "{what} shows `{value}`");
        }
    }
    // Not vacuous: verdicts on sensitive fields exist and show masked values, and the values
    // went through the job (the quarantine keeps rows as delivered, for repair).
    let masked = query(
        "SELECT count(*) AS n FROM verdicts WHERE field IN ('id_number', 'name', 'phone') \
         AND original LIKE '%*%'",
    );
    let n: u64 = masked
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    assert!(n > 10, "{masked}");
    let quarantine = query("SELECT id_number FROM quarantine_population");
    assert!(
        planted.iter().any(|v| quarantine.contains(v.as_str())),
        "the quarantine keeps delivered values"
    );
}
