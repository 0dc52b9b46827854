//! GB/T 36344 indicator scores: X = 1 − A / B per indicator, per library and per delivering
//! department; an indicator nothing was evaluated for is not assessable (`None`), never 100 %.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use shuzhi_rules::{Indicator, Pipeline};

use crate::counts::RunCounts;

/// The score of one GB/T 36344 indicator for one library: X = 1 − A / B, with B the rows
/// read times the checks that count against it and A their failures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndicatorScore {
    /// Library.
    pub library: String,
    /// The delivering department, for a department's share of the library; `None` for the
    /// whole library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `维度/指标`, e.g. `准确性/数据格式合规性`.
    pub indicator: String,
    /// The checks counted (rule ids).
    pub checks: Vec<String>,
    /// Rows evaluated (read) per check.
    pub evaluated: u64,
    /// Failures over all its checks.
    pub failed: u64,
    /// 1 − failed / (evaluated × checks); `None` (not assessable) when the run evaluated no
    /// rows of the library.
    pub score: Option<f64>,
}

/// Record completeness of a library against its expected population.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExpectedPopulation {
    /// Library.
    pub library: String,
    /// The field that must hold the expected values.
    pub field: String,
    /// `code_table:<name>` or `library:<name>`.
    pub reference: String,
    /// Distinct values expected.
    pub expected: u64,
    /// Of those, values the library does not hold.
    pub missing: u64,
    /// The first missing values in order (at most 20; masked when the field is sensitive).
    pub sample: Vec<String>,
}

/// Referential integrity of a field against the keys of another library.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Orphans {
    /// Library.
    pub library: String,
    /// The field with `references`.
    pub field: String,
    /// The referenced library (its key).
    pub references: String,
    /// Distinct values of the field.
    pub values: u64,
    /// Of those, values that are no key of the referenced library.
    pub orphans: u64,
    /// The first orphans in order (at most 20; masked when the field is sensitive).
    pub sample: Vec<String>,
}

/// Rows read in scope (a source's out-of-scope rows are no part of its quality) and rejected
/// (by checks or ingest) for a library over its sources, or over the sources one department
/// delivers.
pub fn library_rows(
    pipeline: &Pipeline,
    counts: &RunCounts,
    library: &str,
    department: Option<&str>,
) -> (u64, u64) {
    let (mut read, mut rejected) = (0u64, 0u64);
    let sources = pipeline
        .sources_of(library)
        .filter(|s| department.is_none_or(|d| s.department == d));
    for source in sources {
        if let Some(c) = counts.sources.get(&source.id) {
            read += c.read - c.out_of_scope;
            rejected += c.rejected;
        }
    }
    (read, rejected)
}

/// GB/T 36344 indicator scores: per library (and per delivering department of it), the checks
/// of each indicator and their failures.
pub fn quality(pipeline: &Pipeline, counts: &RunCounts) -> Vec<IndicatorScore> {
    let mut out = Vec::new();
    for library in &pipeline.libraries {
        let mut by_indicator: BTreeMap<Indicator, Vec<&str>> = BTreeMap::new();
        for check in library.checks() {
            by_indicator
                .entry(check.indicator)
                .or_default()
                .push(check.id.as_str());
        }
        let departments: BTreeSet<&str> = pipeline
            .sources_of(&library.name)
            .map(|s| s.department.as_str())
            .collect();
        let scopes = std::iter::once(None).chain(departments.into_iter().map(Some));
        for department in scopes {
            let (read, _) = library_rows(pipeline, counts, &library.name, department);
            let failures = |id: &str| match department {
                None => counts.rule_failures.get(id).copied().unwrap_or(0),
                Some(d) => counts
                    .rule_failures_by_department
                    .get(&(id.to_owned(), d.to_owned()))
                    .copied()
                    .unwrap_or(0),
            };
            for (indicator, checks) in &by_indicator {
                let failed: u64 = checks.iter().map(|id| failures(id)).sum();
                let elements = read * checks.len() as u64;
                out.push(IndicatorScore {
                    library: library.name.clone(),
                    department: department.map(str::to_owned),
                    indicator: indicator.label(),
                    checks: checks.iter().map(|c| (*c).to_owned()).collect(),
                    evaluated: read,
                    failed,
                    score: (elements > 0).then(|| 1.0 - failed as f64 / elements as f64),
                });
            }
        }
    }
    out
}

/// The record-completeness score of an expected population (数据记录完整性).
pub fn expected_population_score(e: &ExpectedPopulation) -> IndicatorScore {
    IndicatorScore {
        library: e.library.clone(),
        department: None,
        indicator: Indicator::RecordCompleteness.label(),
        checks: vec![format!("{}.expected", e.library)],
        evaluated: e.expected,
        failed: e.missing,
        score: (e.expected > 0).then(|| 1.0 - e.missing as f64 / e.expected as f64),
    }
}

/// The referential-integrity score of a field with `references` (关联数据一致性).
pub fn orphans_score(o: &Orphans) -> IndicatorScore {
    IndicatorScore {
        library: o.library.clone(),
        department: None,
        indicator: Indicator::RelatedDataConsistency.label(),
        checks: vec![format!("{}.{}.references", o.library, o.field)],
        evaluated: o.values,
        failed: o.orphans,
        score: (o.values > 0).then(|| 1.0 - o.orphans as f64 / o.values as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Breach;
    use crate::counts::SourceCounts;

    /// A library with two checks on one indicator and one on another, fed by two departments.
    fn pipeline(test: &str) -> Pipeline {
        let dir = std::env::temp_dir().join(format!("shuzhi-report-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("people.toml");
        std::fs::write(
            &file,
            r#"
[library]
name = "people"
key = "id"
max_reject_ratio = 0.1

[[field]]
name = "id"
check = [{ rule = "required", severity = "reject" }, { rule = "gb11643", severity = "reject" }]

[[field]]
name = "phone"
check = [{ rule = "phone", severity = "warn", max_fail_ratio = 0.5 }]
"#,
        )
        .expect("rule file");
        let mut p = shuzhi_rules::load_rules(&file).expect("rules load");
        for (id, department) in [("a", "public_security"), ("b", "hrss")] {
            p.sources.push(shuzhi_rules::Source {
                id: id.into(),
                department: department.into(),
                library: "people".into(),
                ..test_source()
            });
        }
        p
    }

    fn test_source() -> shuzhi_rules::Source {
        shuzhi_rules::Source {
            id: String::new(),
            department: String::new(),
            files: Vec::new(),
            format: shuzhi_rules::FileFormat::Csv,
            encoding: shuzhi_rules::Encoding::Utf8,
            delimiter: b',',
            sheet: shuzhi_rules::SheetChoice::All,
            hidden_sheets: false,
            header_row: None,
            library: String::new(),
            delivery: shuzhi_rules::Delivery::Full,
            batch: None,
            operation: None,
            scope: None,
            columns: Vec::new(),
            origin: shuzhi_rules::Origin {
                file: std::sync::Arc::new(shuzhi_rules::SourceFile {
                    path: "pipeline.toml".into(),
                    text: String::new(),
                }),
                span: 0..0,
            },
        }
    }

    fn counts() -> RunCounts {
        let mut c = RunCounts::default();
        for (source, read, rejected) in [("a", 80, 2), ("b", 20, 9)] {
            c.sources.insert(
                source.into(),
                SourceCounts {
                    read,
                    kept: read - rejected,
                    quarantined: rejected,
                    rejected,
                    out_of_scope: 0,
                },
            );
        }
        for (rule, department, n) in [
            ("people.id.required", "public_security", 1),
            ("people.id.required", "hrss", 4),
            ("people.id.gb11643", "public_security", 1),
            ("people.id.gb11643", "hrss", 5),
            ("people.phone.phone", "hrss", 12),
        ] {
            *c.rule_failures.entry(rule.into()).or_default() += n;
            *c.rule_failures_by_department
                .entry((rule.into(), department.into()))
                .or_default() += n;
        }
        c
    }

    #[test]
    fn departments_add_up_to_their_library() {
        let scores = quality(&pipeline("departments"), &counts());
        let label = |i: Indicator| i.label();
        let of = |department: Option<&str>, indicator: &str| {
            scores
                .iter()
                .find(|s| s.department.as_deref() == department && s.indicator == indicator)
                .cloned()
                .expect("score")
        };
        let completeness = label(Indicator::ElementCompleteness);
        let library = of(None, &completeness);
        let ps = of(Some("public_security"), &completeness);
        let hrss = of(Some("hrss"), &completeness);
        assert_eq!(library.evaluated, ps.evaluated + hrss.evaluated);
        assert_eq!(library.failed, ps.failed + hrss.failed);
        assert_eq!((library.evaluated, library.failed), (100, 5));
        assert_eq!(library.score, Some(0.95));
        assert_eq!(hrss.score, Some(0.8));
    }

    #[test]
    fn nothing_evaluated_is_not_assessable() {
        let scores = quality(&pipeline("nothing"), &RunCounts::default());
        assert!(!scores.is_empty());
        assert!(scores.iter().all(|s| s.score.is_none()));
    }

    #[test]
    fn the_gate_names_the_library_and_the_check_over_their_thresholds() {
        let breaches = crate::breaches(&pipeline("gate"), &counts());
        let described: Vec<String> = breaches.iter().map(Breach::describe).collect();
        assert_eq!(
            described,
            vec!["people rejected 11 of 100 rows (max 10.0 %)".to_owned()],
            "12 phone failures in 100 rows stay under 50 %"
        );
    }
}
