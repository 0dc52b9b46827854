//! Fellegi-Sunter scoring trained without labels. For each compared field and level, m is the
//! probability of the level among true matches and u among non-matches; a pair's match weight
//! is the prior's log-odds plus Σ log2(m/u) over its levels (`missing` adds nothing).
//!
//! u of `exact` comes in closed form from value frequencies (Σ p_v², the chance that two random
//! records share a value), and per value when term frequencies are on; u of the other levels
//! from random pairs. m and the prior come from EM over the candidate pairs' level patterns
//! (distinct patterns with their counts, so an iteration costs the number of patterns, not of
//! pairs), with u held fixed.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::compare::{EXACT, MISSING, Prepared};
use crate::spec::CompareSpec;

/// Random pairs drawn for the u of the non-exact levels.
const U_SAMPLE_PAIRS: usize = 1_000_000;
/// EM on the match share stops after this many iterations or when it moves less than
/// `EM_TOLERANCE`.
const EM_MAX_ITERATIONS: usize = 200;
const EM_TOLERANCE: f64 = 1e-7;
/// Probabilities are kept inside [FLOOR, 1 - FLOOR], so no weight is infinite; far below the
/// chance that two of a few million records share one value (2/N², 4e-13 at two million).
const FLOOR: f64 = 1e-15;

/// The trained parameters of one compared field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldModel {
    /// Column.
    pub column: String,
    /// Level names, best first, without `missing`.
    pub levels: Vec<&'static str>,
    /// m per level.
    pub m: Vec<f64>,
    /// u per level.
    pub u: Vec<f64>,
    /// Whether m came from EM (false: given in the spec).
    pub m_estimated: bool,
}

impl FieldModel {
    /// log2(m/u) of level `level` (1-based as the comparators number them; 0, missing, is 0).
    pub fn weight(&self, level: u8) -> f64 {
        if level == MISSING {
            return 0.0;
        }
        let k = usize::from(level) - 1;
        (self.m[k] / self.u[k]).log2()
    }
}

/// Trained parameters of a spec.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    /// Per compared field.
    pub fields: Vec<FieldModel>,
    /// The prior: the chance that two records drawn at random are one entity.
    pub lambda: f64,
    /// Share of matches among the candidate pairs.
    pub candidate_match_share: f64,
    /// Correlated fields, weighed jointly when they all agree.
    pub correlated: Vec<CorrelatedGroup>,
    /// Rounds of m estimation run.
    pub rounds: usize,
    /// Distinct level patterns among the candidates.
    pub patterns: usize,
    /// The blocking rules, as written.
    pub rule_names: Vec<String>,
    /// Candidate pairs per blocking rule.
    pub candidates_per_rule: Vec<u64>,
}

/// Levels of all fields packed into one number (mixed radix).
pub(crate) struct Patterns {
    radix: Vec<u32>,
}

impl Patterns {
    pub(crate) fn new(fields: &[Prepared]) -> Patterns {
        Patterns {
            radix: fields
                .iter()
                .map(|f| f.kind().levels().len() as u32)
                .collect(),
        }
    }

    pub(crate) fn pack(&self, fields: &[Prepared], i: usize, j: usize) -> u32 {
        fields
            .iter()
            .zip(&self.radix)
            .fold(0u32, |acc, (f, r)| acc * r + u32::from(f.level(i, j)))
    }

    pub(crate) fn unpack(&self, mut pattern: u32) -> Vec<u8> {
        let mut levels = vec![0u8; self.radix.len()];
        for (slot, r) in levels.iter_mut().zip(&self.radix).rev() {
            *slot = (pattern % r) as u8;
            pattern /= r;
        }
        levels
    }
}

/// Value frequencies of one field: each record's share of records with its value.
pub(crate) fn term_frequencies(field: &Prepared) -> Vec<f32> {
    let counts = value_counts(field.keys());
    let total: u64 = counts.values().sum();
    field
        .keys()
        .par_iter()
        .map(|k| match counts.get(k) {
            Some(&c) if *k != 0 => (c as f64 / total as f64) as f32,
            _ => 0.0,
        })
        .collect()
}

fn value_counts(keys: &[u64]) -> HashMap<u64, u64> {
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for &k in keys.iter().filter(|k| **k != 0) {
        *counts.entry(k).or_default() += 1;
    }
    counts
}

/// u per level of every field.
pub(crate) fn estimate_u(fields: &[Prepared], specs: &[CompareSpec], seed: u64) -> Vec<Vec<f64>> {
    let n = fields.first().map_or(0, Prepared::len);
    // Level counts over random pairs, per field, in parallel chunks with their own streams.
    let chunks = 64usize;
    let per_chunk = U_SAMPLE_PAIRS / chunks;
    let sampled: Vec<Vec<Vec<u64>>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut state = seed ^ (c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut counts: Vec<Vec<u64>> = fields
                .iter()
                .map(|f| vec![0; f.kind().levels().len()])
                .collect();
            if n < 2 {
                return counts;
            }
            for _ in 0..per_chunk {
                let i = (splitmix(&mut state) % n as u64) as usize;
                let j = (splitmix(&mut state) % n as u64) as usize;
                if i == j {
                    continue;
                }
                for (f, slot) in fields.iter().zip(counts.iter_mut()) {
                    slot[usize::from(f.level(i, j))] += 1;
                }
            }
            counts
        })
        .collect();
    fields
        .iter()
        .zip(specs)
        .enumerate()
        .map(|(k, (field, spec))| {
            if let Some(u) = &spec.u {
                return u.clone();
            }
            let levels = field.kind().levels().len();
            let mut counts = vec![0u64; levels];
            for chunk in &sampled {
                for (c, x) in counts.iter_mut().zip(&chunk[k]) {
                    *c += x;
                }
            }
            let exact = exact_u(field.keys());
            // The other levels share the rest in the sampled proportions (add-one smoothed, so
            // a level no random pair reached is rare, not impossible).
            let others: Vec<f64> = counts[usize::from(EXACT) + 1..]
                .iter()
                .map(|&c| c as f64 + 1.0)
                .collect();
            let total: f64 = others.iter().sum();
            std::iter::once(exact)
                .chain(others.iter().map(|c| (1.0 - exact) * c / total))
                .map(clamp)
                .collect()
        })
        .collect()
}

/// Chance that two distinct records with values share one: Σ n_v (n_v - 1) / (N (N - 1)).
fn exact_u(keys: &[u64]) -> f64 {
    let counts = value_counts(keys);
    let total: u64 = counts.values().sum();
    if total < 2 {
        return 0.5;
    }
    // Summed as integers: the map's order must not change the result.
    let same: u128 = counts.values().map(|&c| u128::from(c * (c - 1))).sum();
    clamp(same as f64 / (total as f64 * (total as f64 - 1.0)))
}

fn clamp(p: f64) -> f64 {
    p.clamp(FLOOR, 1.0 - FLOOR)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A field's m is estimated from the candidate pairs that the other fields alone, with the
/// prior, put at this many bits of posterior odds (about a thousand to one): those pairs are
/// matches whatever the field says, so its levels among them are its levels among matches.
const POSTERIOR_BITS: f64 = 10.0;
/// Rounds of m estimation per prior; each round uses the weights of the last.
const M_ROUNDS: usize = 10;
/// Times the prior and m are re-estimated from each other.
const PRIOR_ROUNDS: usize = 3;

fn initial_m(levels: usize) -> Vec<f64> {
    (0..levels)
        .map(|k| {
            if k == 0 {
                0.9
            } else {
                0.1 / (levels - 1) as f64
            }
        })
        .collect()
}

/// Fields whose exact agreement is shared beyond chance (a household's phone and address):
/// agreeing on all of them is weighed by how often that combination repeats, not as
/// independent pieces of evidence.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelatedGroup {
    /// The columns.
    pub columns: Vec<String>,
    /// Their indices among the compared fields.
    #[serde(skip)]
    pub fields: Vec<usize>,
    /// Chance that two random records agree exactly on all of them (Σ p² over the combined
    /// value).
    pub u_all_exact: f64,
    /// Bits added to the independent sum when all agree: Σ log2 u_f(exact) - log2
    /// u(all exact), at most 0.
    pub correction: f64,
}

impl CorrelatedGroup {
    /// The group of `fields`, its joint u from the combined values.
    pub(crate) fn new(
        columns: Vec<String>,
        fields: Vec<usize>,
        prepared: &[Prepared],
        u: &[Vec<f64>],
    ) -> Self {
        let keys: Vec<u64> = (0..prepared.first().map_or(0, Prepared::len))
            .into_par_iter()
            .map(|i| {
                let mut bytes = Vec::with_capacity(8 * fields.len());
                for &f in &fields {
                    let k = prepared[f].keys()[i];
                    if k == 0 {
                        return 0;
                    }
                    bytes.extend_from_slice(&k.to_le_bytes());
                }
                crate::compare::hash_bytes(&bytes)
            })
            .collect();
        let u_all_exact = exact_u(&keys);
        let independent: f64 = fields.iter().map(|&f| u[f][0].log2()).sum();
        CorrelatedGroup {
            columns,
            fields,
            u_all_exact,
            correction: (independent - u_all_exact.log2()).min(0.0),
        }
    }

    /// True when every field of the group is at `exact` in `levels`.
    pub(crate) fn all_exact(&self, levels: impl Fn(usize) -> u8) -> bool {
        self.fields.iter().all(|&f| levels(f) == EXACT)
    }
}

/// A pattern's bits of evidence under m and u, leaving out field `skip` (and the correction
/// of any group it belongs to).
fn pattern_bits(
    levels: &[u8],
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    groups: &[CorrelatedGroup],
    skip: Option<usize>,
) -> f64 {
    let fields: f64 = levels
        .iter()
        .enumerate()
        .filter(|(f, l)| Some(*f) != skip && **l != MISSING)
        .map(|(f, &l)| {
            let k = usize::from(l) - 1;
            (m[f][k] / u[f][k]).log2()
        })
        .sum();
    let corrections: f64 = groups
        .iter()
        .filter(|g| skip.is_none_or(|s| !g.fields.contains(&s)))
        .filter(|g| g.all_exact(|f| levels[f]))
        .map(|g| g.correction)
        .sum();
    fields + corrections
}

/// What training gives besides u: m per field, the prior, the candidates' match share and the
/// rounds of m estimation run.
pub(crate) struct Trained {
    pub m: Vec<Vec<f64>>,
    pub lambda: f64,
    pub share: f64,
    pub rounds: usize,
}

/// m, the prior and the candidates' match share, estimated from each other. m of every field
/// is estimated leave one out: the level distribution of field f among the candidate pairs
/// that the prior and the *other* fields already call a match. Unlike EM over all fields at
/// once, a field never confirms itself, so correlated agreement cannot turn a whole block of
/// non-matches into the "match" class. `pairs` is the number of pairs that could have been
/// compared (the prior is over those); fields whose m the spec gives keep it.
pub(crate) fn train(
    patterns: &Patterns,
    counts: &HashMap<u32, u64>,
    specs: &[CompareSpec],
    u: &[Vec<f64>],
    groups: &[CorrelatedGroup],
    pairs: f64,
) -> Trained {
    // In pattern order, not the map's (randomly seeded) order: float sums over the patterns,
    // and so the model and every decision, are the same in every run.
    let mut sorted: Vec<(u32, u64)> = counts.iter().map(|(&p, &c)| (p, c)).collect();
    sorted.sort_unstable();
    let decoded: Vec<(Vec<u8>, f64)> = sorted
        .into_iter()
        .map(|(p, c)| (patterns.unpack(p), c as f64))
        .collect();
    let candidates: f64 = decoded.iter().map(|d| d.1).sum();
    let mut m: Vec<Vec<f64>> = specs
        .iter()
        .zip(u)
        .map(|(spec, u)| spec.m.clone().unwrap_or_else(|| initial_m(u.len())))
        .collect();
    let mut rounds = 0;
    let mut share = match_share(&decoded, &m, u, groups);
    for _ in 0..PRIOR_ROUNDS {
        let lambda = (share * candidates / pairs.max(1.0)).clamp(1e-12, 0.5);
        let prior = (lambda / (1.0 - lambda)).log2();
        for _ in 0..M_ROUNDS {
            rounds += 1;
            let mut seen: Vec<Vec<f64>> = u.iter().map(|l| vec![0.0; l.len()]).collect();
            for (levels, count) in &decoded {
                for (f, &level) in levels.iter().enumerate() {
                    if level != MISSING
                        && prior + pattern_bits(levels, &m, u, groups, Some(f)) >= POSTERIOR_BITS
                    {
                        seen[f][usize::from(level) - 1] += count;
                    }
                }
            }
            let mut moved: f64 = 0.0;
            for (f, spec) in specs.iter().enumerate() {
                let sum: f64 = seen[f].iter().sum();
                if spec.m.is_some() || sum <= 0.0 {
                    continue;
                }
                // Half a pair per level, so a level no anchored pair showed stays possible.
                let smoothed = sum + 0.5 * seen[f].len() as f64;
                for (k, x) in seen[f].iter().enumerate() {
                    let next = clamp((x + 0.5) / smoothed);
                    moved = moved.max((next - m[f][k]).abs());
                    m[f][k] = next;
                }
            }
            if moved < 1e-9 {
                break;
            }
        }
        share = match_share(&decoded, &m, u, groups);
    }
    Trained {
        lambda: (share * candidates / pairs.max(1.0)).clamp(1e-12, 0.5),
        m,
        share,
        rounds,
    }
}

/// The share of matches among the candidates, by EM on that share alone with m and u fixed.
fn match_share(
    decoded: &[(Vec<u8>, f64)],
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    groups: &[CorrelatedGroup],
) -> f64 {
    let ratios: Vec<(f64, f64)> = decoded
        .iter()
        .map(|(levels, c)| (pattern_bits(levels, m, u, groups, None).exp2(), *c))
        .collect();
    let total: f64 = ratios.iter().map(|r| r.1).sum();
    if total == 0.0 {
        return FLOOR;
    }
    let mut lambda = 0.5;
    for _ in 0..EM_MAX_ITERATIONS {
        let matched: f64 = ratios
            .iter()
            .map(|(ratio, count)| count * lambda * ratio / (lambda * ratio + 1.0 - lambda))
            .sum();
        let next = clamp(matched / total);
        let moved = (next - lambda).abs();
        lambda = next;
        if moved < EM_TOLERANCE {
            break;
        }
    }
    lambda
}
