//! The `[match]` section of a rule file: what is compared, how candidates are blocked, and the
//! thresholds and guards of scoring and clustering.

use serde::Deserialize;

use crate::MatchError;

/// How a library links records that describe the same entity.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// The fields compared for every candidate pair, each with its comparator.
    pub compare: Vec<CompareSpec>,
    /// Blocking rules. A pair is a candidate when both records have equal, non-null values for
    /// every key of at least one rule. A key is a compared column (`"phone"`) or a function of
    /// one (`"surname:name"`, `"pinyin:name"`, `"region:id_number"`, `"org:credit_code"`).
    pub blocking: Vec<Vec<String>>,
    /// Groups of compared columns whose agreement is shared beyond chance (a household's
    /// phone and address): agreeing on all of a group counts as much as that combination is
    /// rare, not as independent pieces of evidence.
    #[serde(default)]
    pub correlated: Vec<Vec<String>>,
    /// Pairs at or above this match probability are linked.
    #[serde(default = "default_match_probability")]
    pub match_probability: f64,
    /// Pairs at or above this probability but below `match_probability` go to the review
    /// queue.
    #[serde(default = "default_review_probability")]
    pub review_probability: f64,
    /// A block with more records than this is not compared (reported as a warning): it would
    /// cost its size squared and says little (every 王 born in 1980).
    #[serde(default = "default_max_block")]
    pub max_block: usize,
    /// A cluster never grows past this many records; the refused links are reported.
    #[serde(default = "default_max_cluster")]
    pub max_cluster: usize,
    /// The column naming each record's source (a department's delivery). With
    /// `link_only`, pairs within one source are not compared; with `one_per_source`, a
    /// cluster holds at most one record of each source.
    #[serde(default)]
    pub source: Option<String>,
    /// Compare only pairs from different sources.
    #[serde(default)]
    pub link_only: bool,
    /// Each source is free of duplicates: a cluster takes at most one record from each.
    #[serde(default)]
    pub one_per_source: bool,
}

fn default_match_probability() -> f64 {
    0.99
}

fn default_review_probability() -> f64 {
    0.5
}

fn default_max_block() -> usize {
    5_000
}

fn default_max_cluster() -> usize {
    50
}

/// One compared field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSpec {
    /// The column compared.
    pub column: String,
    /// The comparator, which fixes the levels.
    pub kind: CompareKind,
    /// Weigh an exact agreement by how rare the value is (a shared 王伟 says less than a
    /// shared 欧阳䶮).
    #[serde(default)]
    pub term_frequency: bool,
    /// m probabilities per level (best first, without `missing`); estimated by EM when absent.
    #[serde(default)]
    pub m: Option<Vec<f64>>,
    /// u probabilities per level (best first, without `missing`); estimated from value
    /// frequencies and random pairs when absent.
    #[serde(default)]
    pub u: Option<Vec<f64>>,
}

/// A comparator. Each has fixed levels, best first; `missing` (either value null) is neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareKind {
    /// GB 11643 citizen IDs: 15-digit numbers upgraded, a typo (one digit or one adjacent swap,
    /// one side failing its check digit) apart from two valid IDs that differ (never one
    /// person); two valid IDs differing in two or more of the first 17 digits veto a match.
    Id,
    /// Chinese person names: simplified, spaces removed; homophones (same pinyin), one
    /// character apart, surname only.
    PersonName,
    /// Dates in any layout shuzhi reads; day/month swapped or one digit apart is close.
    Date,
    /// Mobile and landline numbers, normalised; one digit or one adjacent swap apart is close.
    Phone,
    /// Digit strings (social security numbers, postcodes); one edit or swap apart is close.
    Digits,
    /// Addresses: widths folded, simplified; overlap of character pairs.
    Address,
    /// Company names: brackets, legal-form suffixes and 分公司 markers removed.
    CompanyName,
    /// Unified social credit codes (GB 32100) and the organisation codes (GB 11714) inside them.
    CreditCode,
    /// Free text such as Latin names: Jaro-Winkler levels.
    Text,
    /// Equal or not.
    Exact,
}

impl CompareKind {
    /// The levels of this comparator, `missing` first, then best to worst.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            CompareKind::Id => &["missing", "exact", "typo", "different"],
            CompareKind::PersonName => &[
                "missing",
                "exact",
                "homophone",
                "one_char",
                "surname_only",
                "different",
            ],
            CompareKind::Date => &["missing", "exact", "swap_or_typo", "different"],
            CompareKind::Phone | CompareKind::Digits => &["missing", "exact", "typo", "different"],
            CompareKind::Address => &["missing", "exact", "similar", "overlapping", "different"],
            CompareKind::CompanyName => &["missing", "exact", "similar", "different"],
            CompareKind::CreditCode => &["missing", "exact", "same_org_code", "different"],
            CompareKind::Text => &["missing", "exact", "similar", "close", "different"],
            CompareKind::Exact => &["missing", "exact", "different"],
        }
    }

    /// The blocking-key functions this comparator offers besides its own value.
    pub fn key_functions(self) -> &'static [&'static str] {
        match self {
            CompareKind::Id => &["region", "birth"],
            CompareKind::PersonName => &["surname", "pinyin"],
            CompareKind::Date => &["year"],
            CompareKind::CreditCode => &["org"],
            CompareKind::Text | CompareKind::CompanyName => &["prefix"],
            _ => &[],
        }
    }
}

/// One key of a blocking rule: a compared column, possibly through a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockKey {
    /// Index into `MatchSpec::compare`.
    pub compare: usize,
    /// The function applied, if any.
    pub function: Option<&'static str>,
}

impl MatchSpec {
    /// The compared fields of each correlated group.
    pub fn correlated_fields(&self) -> Result<Vec<Vec<usize>>, MatchError> {
        self.correlated
            .iter()
            .map(|group| {
                if group.len() < 2 {
                    return Err(MatchError::Spec(format!(
                        "a correlated group needs two or more columns, not {group:?}"
                    )));
                }
                group
                    .iter()
                    .map(|column| {
                        self.compare
                            .iter()
                            .position(|c| &c.column == column)
                            .ok_or_else(|| {
                                MatchError::Spec(format!(
                                    "correlated: `{column}` is not a compared column"
                                ))
                            })
                    })
                    .collect()
            })
            .collect()
    }

    /// Checks the thresholds, levels, correlated groups and blocking keys, and resolves every
    /// blocking key.
    pub fn validate(&self) -> Result<Vec<Vec<BlockKey>>, MatchError> {
        self.correlated_fields()?;
        let bad = |what: String| Err(MatchError::Spec(what));
        if self.compare.is_empty() {
            return bad("`compare` lists no field".into());
        }
        if !(0.0 < self.review_probability
            && self.review_probability <= self.match_probability
            && self.match_probability < 1.0)
        {
            return bad(format!(
                "thresholds must satisfy 0 < review_probability ({}) <= match_probability ({}) < 1",
                self.review_probability, self.match_probability
            ));
        }
        if (self.link_only || self.one_per_source) && self.source.is_none() {
            return bad("`link_only` and `one_per_source` need `source = \"<column>\"`".into());
        }
        for c in &self.compare {
            let levels = c.kind.levels().len() - 1;
            for (name, given) in [("m", &c.m), ("u", &c.u)] {
                if let Some(p) = given
                    && (p.len() != levels || p.iter().any(|x| !(*x > 0.0 && *x <= 1.0)))
                {
                    return bad(format!(
                        "`{name}` of `{}` needs {levels} probabilities in (0, 1], one per level {:?}",
                        c.column,
                        &c.kind.levels()[1..]
                    ));
                }
            }
        }
        if self.blocking.is_empty() {
            return bad("`blocking` lists no rule: every pair would have to be compared".into());
        }
        if self.blocking.iter().any(Vec::is_empty) {
            return bad("a blocking rule with no key would compare every pair".into());
        }
        self.blocking
            .iter()
            .map(|rule| rule.iter().map(|key| self.block_key(key)).collect())
            .collect()
    }

    fn block_key(&self, key: &str) -> Result<BlockKey, MatchError> {
        let (function, column) = match key.split_once(':') {
            Some((f, c)) => (Some(f), c),
            None => (None, key),
        };
        let Some(compare) = self.compare.iter().position(|c| c.column == column) else {
            return Err(MatchError::Spec(format!(
                "blocking key `{key}`: `{column}` is not a compared column (add it to `compare`)"
            )));
        };
        let kind = self.compare[compare].kind;
        let function = match function {
            None => None,
            Some(f) => match kind.key_functions().iter().find(|k| **k == f) {
                Some(k) => Some(*k),
                None => {
                    return Err(MatchError::Spec(format!(
                        "blocking key `{key}`: a {kind:?} column offers {:?}, not `{f}`",
                        kind.key_functions()
                    )));
                }
            },
        };
        Ok(BlockKey { compare, function })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The spec is plain serde: JSON stands in for TOML here, so this crate needs no TOML parser.
    fn spec(json: &str) -> MatchSpec {
        serde_json::from_str(json).expect("test spec parses")
    }

    #[test]
    fn blocking_keys_resolve_to_compared_columns_and_their_functions() {
        let s = spec(
            r#"{"compare": [{"column": "id", "kind": "id"}, {"column": "name", "kind": "person_name"}],
                "blocking": [["id"], ["pinyin:name", "region:id"]]}"#,
        );
        let keys = s.validate().expect("valid");
        assert_eq!(
            keys[1][0],
            BlockKey {
                compare: 1,
                function: Some("pinyin")
            }
        );
        assert_eq!(
            keys[1][1],
            BlockKey {
                compare: 0,
                function: Some("region")
            }
        );
    }

    #[test]
    fn mistakes_are_named() {
        let unknown =
            spec(r#"{"compare": [{"column": "id", "kind": "id"}], "blocking": [["phone"]]}"#);
        let err = unknown
            .validate()
            .expect_err("phone is not compared")
            .to_string();
        assert!(err.contains("`phone` is not a compared column"), "{err}");
        let function =
            spec(r#"{"compare": [{"column": "id", "kind": "id"}], "blocking": [["pinyin:id"]]}"#);
        let err = function
            .validate()
            .expect_err("no pinyin of an id")
            .to_string();
        assert!(err.contains("not `pinyin`"), "{err}");
        let thresholds = spec(
            r#"{"compare": [{"column": "id", "kind": "id"}], "blocking": [["id"]],
                "match_probability": 0.5, "review_probability": 0.9}"#,
        );
        assert!(thresholds.validate().is_err());
        let m = spec(
            r#"{"compare": [{"column": "id", "kind": "id", "m": [0.9, 0.1]}], "blocking": [["id"]]}"#,
        );
        let err = m.validate().expect_err("three levels").to_string();
        assert!(err.contains("needs 3 probabilities"), "{err}");
    }
}
