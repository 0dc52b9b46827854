//! The linking step: prepare the compared columns, block, train, score, cluster, explain.

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use serde::Serialize;

use crate::MatchError;
use crate::blocking::{Blocking, SkippedBlock};
use crate::cluster::{Constraints, Refusals, cluster};
use crate::compare::{EXACT, Prepared};
use crate::model::{CorrelatedGroup, FieldModel, Model, Patterns, estimate_u, term_frequencies};
use crate::spec::{CompareKind, MatchSpec};

/// Seed of the random pairs behind u: the same input gives the same model on every run.
const U_SEED: u64 = 0x5eed_0f5a_4d7a_1100;

/// Records prepared for linking under one spec.
pub struct Linker {
    spec: MatchSpec,
    fields: Vec<Prepared>,
    blocking: Blocking,
    patterns: Patterns,
    /// Per field with term frequencies on: each record's value frequency.
    frequencies: Vec<Option<Vec<f32>>>,
    /// Source index of each record, when the spec names a source column.
    sources: Option<Vec<u32>>,
    /// Correlated groups, as field indices.
    groups: Vec<Vec<usize>>,
}

/// A scored candidate pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredPair {
    /// First record (row index in the input).
    pub left: u32,
    /// Second record.
    pub right: u32,
    /// Match weight (log2 odds).
    pub weight: f64,
    /// Match probability.
    pub probability: f64,
}

/// The outcome of linking.
#[derive(Debug, Clone, Serialize)]
pub struct Linked {
    /// Pairs at or above the match probability, strongest first.
    pub matches: Vec<ScoredPair>,
    /// Pairs between the review and the match probability: the review queue.
    pub review: Vec<ScoredPair>,
    /// Each record's cluster: the smallest row index among its records.
    pub clusters: Vec<u32>,
    /// Merges the clustering refused.
    pub refused: Refusals,
    /// Candidate pairs vetoed by two valid, different IDs.
    pub vetoed: u64,
    /// Candidate pairs compared.
    pub compared: u64,
    /// Blocks skipped by the size guard.
    pub skipped_blocks: Vec<SkippedBlock>,
}

/// Why a pair scored as it did.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Per compared field: column, level and its weight (log2 m/u; term-frequency adjusted);
    /// then, per correlated group that all agrees, its columns, `correlated` and the
    /// correction.
    pub fields: Vec<(String, &'static str, f64)>,
    /// Prior weight, log2(λ / (1 - λ)).
    pub prior: f64,
    /// Total match weight.
    pub weight: f64,
    /// Match probability (0 when vetoed).
    pub probability: f64,
    /// Two valid IDs that differ in two or more of the first 17 digits.
    pub vetoed: bool,
    /// The first blocking rule that compares the pair; `None`: no rule does, so linking never
    /// sees it.
    pub blocked_by: Option<String>,
}

impl Linker {
    /// Prepares `batch` for `spec`: every compared column read as text and normalised for its
    /// comparator, every blocking rule evaluated.
    pub fn new(spec: &MatchSpec, batch: &RecordBatch) -> Result<Linker, MatchError> {
        let rules = spec.validate()?;
        let column = |name: &str| {
            batch.column_by_name(name).ok_or_else(|| {
                MatchError::Input(format!(
                    "no column `{name}` (the input has {})",
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        };
        let fields = spec
            .compare
            .iter()
            .map(|c| {
                Prepared::new(c.kind, column(&c.column)?.as_ref()).map_err(|e| match e {
                    MatchError::Input(why) => MatchError::Input(format!("`{}`: {why}", c.column)),
                    other => other,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sources = match &spec.source {
            Some(name) => Some(source_indices(column(name)?.as_ref())?),
            None => None,
        };
        let blocking = Blocking::new(
            &spec.blocking,
            &rules,
            &fields,
            spec.max_block,
            sources.clone().filter(|_| spec.link_only),
        );
        let frequencies = spec
            .compare
            .iter()
            .zip(&fields)
            .map(|(c, f)| c.term_frequency.then(|| term_frequencies(f)))
            .collect();
        Ok(Linker {
            groups: spec.correlated_fields()?,
            spec: spec.clone(),
            patterns: Patterns::new(&fields),
            fields,
            blocking,
            frequencies,
            sources,
        })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.fields.first().map_or(0, Prepared::len)
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Estimates u from value frequencies and random pairs, m from the candidate pairs (leave
    /// one out), and the prior from the candidates' match share.
    pub fn train(&self) -> Model {
        let u = estimate_u(&self.fields, &self.spec.compare, U_SEED);
        let rules = self.blocking.rule_names().len();
        let (counts, per_rule) = self
            .blocking
            .candidates(0)
            .fold(
                || (HashMap::<u32, u64>::new(), vec![0u64; rules]),
                |(mut counts, mut per_rule), (i, j, r)| {
                    let p = self.patterns.pack(&self.fields, i as usize, j as usize);
                    *counts.entry(p).or_default() += 1;
                    per_rule[r] += 1;
                    (counts, per_rule)
                },
            )
            .reduce(
                || (HashMap::new(), vec![0u64; rules]),
                |(mut a, mut ra), (b, rb)| {
                    for (p, c) in b {
                        *a.entry(p).or_default() += c;
                    }
                    for (x, y) in ra.iter_mut().zip(rb) {
                        *x += y;
                    }
                    (a, ra)
                },
            );
        let correlated: Vec<CorrelatedGroup> = self
            .groups
            .iter()
            .map(|fields| {
                let columns = fields
                    .iter()
                    .map(|&f| self.spec.compare[f].column.clone())
                    .collect();
                CorrelatedGroup::new(columns, fields.clone(), &self.fields, &u)
            })
            .collect();
        // Matches outside the candidates are assumed few (blocking recall is measured by
        // `evaluate`); the prior is over every pair that could have been compared.
        let trained = crate::model::train(
            &self.patterns,
            &counts,
            &self.spec.compare,
            &u,
            &correlated,
            self.comparable_pairs(),
        );
        let fields = self
            .spec
            .compare
            .iter()
            .zip(trained.m.into_iter().zip(u))
            .map(|(c, (m, u))| FieldModel {
                column: c.column.clone(),
                levels: c.kind.levels()[1..].to_vec(),
                m,
                u,
                m_estimated: c.m.is_none(),
            })
            .collect();
        Model {
            fields,
            lambda: trained.lambda,
            candidate_match_share: trained.share,
            correlated,
            rounds: trained.rounds,
            patterns: counts.len(),
            rule_names: self
                .blocking
                .rule_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            candidates_per_rule: per_rule,
        }
    }

    /// Pairs that could be compared: all of them, or with `link_only` those across sources.
    fn comparable_pairs(&self) -> f64 {
        let n = self.len() as f64;
        let all = n * (n - 1.0) / 2.0;
        match (&self.sources, self.spec.link_only) {
            (Some(sources), true) => {
                let mut sizes: HashMap<u32, f64> = HashMap::new();
                for s in sources {
                    *sizes.entry(*s).or_default() += 1.0;
                }
                all - sizes.values().map(|k| k * (k - 1.0) / 2.0).sum::<f64>()
            }
            _ => all,
        }
        .max(1.0)
    }

    /// The weight of field `f` at `level` for the pair: log2(m/u), with u the value's own
    /// frequency for an exact agreement when term frequencies are on.
    fn field_weight(&self, model: &Model, f: usize, level: u8, i: usize, j: usize) -> f64 {
        let field = &model.fields[f];
        match &self.frequencies[f] {
            Some(freq) if level == EXACT => {
                let u = f64::from(freq[i].max(freq[j])).max(1e-9);
                (field.m[0] / u).log2()
            }
            _ => field.weight(level),
        }
    }

    fn prior(model: &Model) -> f64 {
        (model.lambda / (1.0 - model.lambda)).log2()
    }

    fn score(&self, model: &Model, i: usize, j: usize) -> Option<ScoredPair> {
        if self.fields.iter().any(|f| f.vetoes(i, j)) {
            return None;
        }
        let (fields, correction) = self.weigh(model, i, j);
        let weight = Self::prior(model) + fields.iter().map(|f| f.1).sum::<f64>() + correction;
        Some(ScoredPair {
            left: i as u32,
            right: j as u32,
            weight,
            probability: probability(weight),
        })
    }

    /// Each field's level and weight for the pair, and the correction of the correlated groups
    /// that all agree (computed from their average u, also under term frequencies).
    fn weigh(&self, model: &Model, i: usize, j: usize) -> (Vec<(u8, f64)>, f64) {
        let fields: Vec<(u8, f64)> = self
            .fields
            .iter()
            .enumerate()
            .map(|(f, field)| {
                let level = field.level(i, j);
                (level, self.field_weight(model, f, level, i, j))
            })
            .collect();
        let correction = model
            .correlated
            .iter()
            .filter(|g| g.all_exact(|f| fields[f].0))
            .map(|g| g.correction)
            .sum();
        (fields, correction)
    }

    /// Scores every candidate, keeps the pairs at or above the review probability, and
    /// clusters the matches.
    pub fn link(&self, model: &Model) -> Linked {
        self.link_from(model, &[])
    }

    /// Links an increment: the records after the first `existing.len()`, which were linked
    /// before into `existing` (cluster labels as [`Linked::clusters`] gives them). Only pairs
    /// with a new record are compared, under `model` as trained before; existing records keep
    /// their clusters unless a new record joins two of them. Labels of existing clusters stay
    /// as they were (a merge keeps the smaller).
    pub fn link_increment(&self, model: &Model, existing: &[u32]) -> Result<Linked, MatchError> {
        if existing.len() > self.len() {
            return Err(MatchError::Input(format!(
                "{} records were linked before, but the input has {}",
                existing.len(),
                self.len()
            )));
        }
        Ok(self.link_from(model, existing))
    }

    fn link_from(&self, model: &Model, existing: &[u32]) -> Linked {
        let review_weight = odds_weight(self.spec.review_probability);
        let (kept, vetoed, compared) = self
            .blocking
            .candidates(existing.len() as u32)
            .fold(
                || (Vec::new(), 0u64, 0u64),
                |(mut kept, mut vetoed, compared), (i, j, _)| {
                    match self.score(model, i as usize, j as usize) {
                        None => vetoed += 1,
                        Some(p) if p.weight >= review_weight => kept.push(p),
                        Some(_) => {}
                    }
                    (kept, vetoed, compared + 1)
                },
            )
            .reduce(
                || (Vec::new(), 0, 0),
                |(mut a, va, ca), (b, vb, cb)| {
                    a.extend(b);
                    (a, va + vb, ca + cb)
                },
            );
        let mut kept = kept;
        // Strongest first; ties broken by the pair, so every run clusters alike.
        kept.par_sort_unstable_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then((a.left, a.right).cmp(&(b.left, b.right)))
        });
        let (matches, review): (Vec<_>, Vec<_>) = kept
            .into_iter()
            .partition(|p| p.probability >= self.spec.match_probability);
        let links: Vec<(u32, u32)> = matches.iter().map(|p| (p.left, p.right)).collect();
        let id_field = self.fields.iter().position(|f| f.kind() == CompareKind::Id);
        let constraints = Constraints {
            ids: (0..self.len())
                .map(|i| id_field.and_then(|f| self.fields[f].valid_id(i).map(|id| &id.digits)))
                .collect(),
            sources: self.sources.as_deref().filter(|_| self.spec.one_per_source),
            max_cluster: self.spec.max_cluster,
        };
        let (clusters, refused) = cluster(self.len(), existing, &links, &constraints);
        Linked {
            matches,
            review,
            clusters,
            refused,
            vetoed,
            compared,
            skipped_blocks: self.blocking.skipped(),
        }
    }

    /// Each compared field's level for records `i` and `j` (row indices), by name.
    pub fn level_names(&self, i: usize, j: usize) -> Vec<&'static str> {
        self.fields
            .iter()
            .map(|f| f.kind().levels()[usize::from(f.level(i, j))])
            .collect()
    }

    /// The levels and weights behind the score of records `i` and `j` (row indices).
    pub fn explain(&self, model: &Model, i: usize, j: usize) -> Result<Explanation, MatchError> {
        let n = self.len();
        if i >= n || j >= n {
            return Err(MatchError::Input(format!(
                "rows {i} and {j}: the input has {n} rows (0-based)"
            )));
        }
        let (weighed, correction) = self.weigh(model, i, j);
        let mut fields: Vec<(String, &'static str, f64)> = weighed
            .iter()
            .enumerate()
            .map(|(f, &(level, weight))| {
                let kind = self.fields[f].kind();
                (
                    self.spec.compare[f].column.clone(),
                    kind.levels()[usize::from(level)],
                    weight,
                )
            })
            .collect();
        for g in &model.correlated {
            if g.all_exact(|f| weighed[f].0) {
                fields.push((g.columns.join(" + "), "correlated", g.correction));
            }
        }
        let prior = Self::prior(model);
        let weight = prior + weighed.iter().map(|w| w.1).sum::<f64>() + correction;
        let vetoed = self.fields.iter().any(|f| f.vetoes(i, j));
        Ok(Explanation {
            fields,
            prior,
            weight,
            probability: if vetoed { 0.0 } else { probability(weight) },
            vetoed,
            blocked_by: self.blocking_rule(i, j).map(str::to_string),
        })
    }

    /// Each record's entity key: the valid ID (18 characters, normalised) that its cluster
    /// holds — clustering keeps at most one per cluster, so every record of the cluster gets
    /// the same — or `None` for a cluster without one. Keys of clusters with an ID are as
    /// stable across runs as the ID itself; ID-less clusters need an id of their own.
    pub fn entity_keys(&self, clusters: &[u32]) -> Vec<Option<String>> {
        let Some(f) = self.fields.iter().position(|f| f.kind() == CompareKind::Id) else {
            return vec![None; clusters.len()];
        };
        let mut by_cluster: HashMap<u32, &[u8; 18]> = HashMap::new();
        for (i, &c) in clusters.iter().enumerate() {
            if let Some(id) = self.fields[f].valid_id(i) {
                by_cluster.entry(c).or_insert(&id.digits);
            }
        }
        clusters
            .iter()
            .map(|c| {
                by_cluster
                    .get(c)
                    .map(|d| String::from_utf8_lossy(&d[..]).into_owned())
            })
            .collect()
    }

    /// The first blocking rule that compares records `i` and `j`; `None` when no rule does.
    pub fn blocking_rule(&self, i: usize, j: usize) -> Option<&str> {
        let r = self.blocking.blocked_together(i, j)?;
        self.blocking.rule_names().get(r).copied()
    }
}

/// Match probability of a weight.
fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// The weight at which the probability is `p`.
fn odds_weight(p: f64) -> f64 {
    (p / (1.0 - p)).log2()
}

fn source_indices(array: &dyn Array) -> Result<Vec<u32>, MatchError> {
    let text = cast(array, &DataType::Utf8)
        .map_err(|e| MatchError::Input(format!("cannot read the source column as text: {e}")))?;
    let text = text.as_string::<i32>();
    let mut seen: HashMap<&str, u32> = HashMap::new();
    Ok((0..text.len())
        .map(|i| {
            let s = if text.is_null(i) { "" } else { text.value(i) };
            let next = seen.len() as u32;
            *seen.entry(s).or_insert(next)
        })
        .collect())
}
