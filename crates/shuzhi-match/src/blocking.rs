//! Blocking: which pairs are compared at all. Each rule groups records by a combined key; the
//! candidates are the pairs inside a group, and the union over rules counts each pair once (a
//! rule skips a pair an earlier rule already produced). Nothing holds all pairs: they are
//! generated block by block, in parallel, as often as a pass needs them.

use std::ops::Range;

use rayon::prelude::*;

use crate::compare::{Prepared, hash_bytes};
use crate::spec::BlockKey;

/// One blocking rule, evaluated over all records.
struct Rule {
    /// How the rule was written, for reports: `birth_date + surname:name`.
    name: String,
    /// Each record's combined key; 0 when any part is null (the record is in no block).
    keys: Vec<u64>,
    /// Record indices sorted by key.
    order: Vec<u32>,
    /// The blocks compared: ranges of `order` with one key and at least two records.
    blocks: Vec<Range<usize>>,
    /// Per record: its block was too large and was not compared.
    oversized: Vec<bool>,
    /// The blocks not compared, by size.
    skipped: Vec<usize>,
}

/// A block left out by the size guard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedBlock {
    /// The rule.
    pub rule: String,
    /// Records in the block.
    pub size: usize,
}

/// The blocking rules of a spec, evaluated.
pub struct Blocking {
    rules: Vec<Rule>,
    /// Source of each record, when pairs within a source are not compared.
    link_only_sources: Option<Vec<u32>>,
}

impl Blocking {
    /// Evaluates `rules` (from `MatchSpec::validate`) over the prepared fields; a block with
    /// more than `max_block` records is skipped.
    pub fn new(
        names: &[Vec<String>],
        rules: &[Vec<BlockKey>],
        fields: &[Prepared],
        max_block: usize,
        link_only_sources: Option<Vec<u32>>,
    ) -> Blocking {
        let n = fields.first().map_or(0, Prepared::len);
        let rules = rules
            .iter()
            .zip(names)
            .map(|(keys, name)| {
                let parts: Vec<Vec<u64>> = keys
                    .iter()
                    .map(|k| fields[k.compare].block_keys(k.function))
                    .collect();
                let keys: Vec<u64> = (0..n)
                    .into_par_iter()
                    .map(|i| combine(parts.iter().map(|p| p[i])))
                    .collect();
                Rule::new(name.join(" + "), keys, max_block)
            })
            .collect();
        Blocking {
            rules,
            link_only_sources,
        }
    }

    /// The rules' names, in order.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.name.as_str()).collect()
    }

    /// Blocks skipped by the size guard, largest first.
    pub fn skipped(&self) -> Vec<SkippedBlock> {
        let mut out: Vec<SkippedBlock> = self
            .rules
            .iter()
            .flat_map(|r| {
                r.skipped.iter().map(|&size| SkippedBlock {
                    rule: r.name.clone(),
                    size,
                })
            })
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.size));
        out
    }

    /// Every candidate pair `(i, j)` with `i < j`, once, with the index of the rule that
    /// produced it; only pairs with a record at or after `new_from` (an increment's records;
    /// 0: every pair). A block without new records is skipped whole.
    pub fn candidates(
        &self,
        new_from: u32,
    ) -> impl ParallelIterator<Item = (u32, u32, usize)> + '_ {
        (0..self.rules.len()).into_par_iter().flat_map(move |r| {
            let rule = &self.rules[r];
            rule.blocks.par_iter().flat_map_iter(move |block| {
                let members = &rule.order[block.clone()];
                let any_new = new_from == 0 || members.iter().any(|&m| m >= new_from);
                members
                    .iter()
                    .enumerate()
                    .filter(move |_| any_new)
                    .flat_map(move |(at, &a)| {
                        members[at + 1..].iter().filter_map(move |&b| {
                            let (i, j) = if a < b { (a, b) } else { (b, a) };
                            (j >= new_from && self.admits(r, i as usize, j as usize))
                                .then_some((i, j, r))
                        })
                    })
            })
        })
    }

    /// A pair in a block of rule `r` is compared unless it is within one source (link only)
    /// or an earlier rule already compared it.
    fn admits(&self, r: usize, i: usize, j: usize) -> bool {
        if let Some(sources) = &self.link_only_sources
            && sources[i] == sources[j]
        {
            return false;
        }
        !self.rules[..r].iter().any(|earlier| earlier.compares(i, j))
    }

    /// The first rule that puts `i` and `j` in one compared block.
    pub fn blocked_together(&self, i: usize, j: usize) -> Option<usize> {
        self.rules.iter().position(|rule| rule.compares(i, j))
    }
}

fn combine(parts: impl Iterator<Item = u64>) -> u64 {
    let mut bytes = Vec::with_capacity(24);
    for p in parts {
        if p == 0 {
            return 0;
        }
        bytes.extend_from_slice(&p.to_le_bytes());
    }
    hash_bytes(&bytes)
}

impl Rule {
    /// True when `i` and `j` share a block this rule compares (not one the size guard skipped).
    fn compares(&self, i: usize, j: usize) -> bool {
        let k = self.keys[i];
        k != 0 && k == self.keys[j] && !self.oversized[i]
    }

    fn new(name: String, keys: Vec<u64>, max_block: usize) -> Rule {
        let mut order: Vec<u32> = (0..keys.len() as u32)
            .filter(|&i| keys[i as usize] != 0)
            .collect();
        order.par_sort_unstable_by_key(|&i| keys[i as usize]);
        let mut blocks = Vec::new();
        let mut skipped = Vec::new();
        let mut oversized = vec![false; keys.len()];
        let mut start = 0;
        while start < order.len() {
            let key = keys[order[start] as usize];
            let mut end = start + 1;
            while end < order.len() && keys[order[end] as usize] == key {
                end += 1;
            }
            let size = end - start;
            if size > max_block {
                skipped.push(size);
                for &i in &order[start..end] {
                    oversized[i as usize] = true;
                }
            } else if size >= 2 {
                blocks.push(start..end);
            }
            start = end;
        }
        Rule {
            name,
            keys,
            order,
            blocks,
            oversized,
            skipped,
        }
    }
}
