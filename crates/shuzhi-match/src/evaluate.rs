//! Linking measured against the truth: pairwise precision, recall and F1 over all true pairs
//! (not only those blocking produced), and cluster precision, recall and F1 (a predicted
//! cluster counts when it holds exactly the records of one true entity).

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

/// Precision, recall and F1 of one kind of unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Predicted units that are right.
    pub true_positives: u64,
    /// Units predicted.
    pub predicted: u64,
    /// Units in the truth.
    pub actual: u64,
    /// true_positives / predicted (1 when nothing is predicted).
    pub precision: f64,
    /// true_positives / actual (1 when the truth has none).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl Scores {
    fn new(true_positives: u64, predicted: u64, actual: u64) -> Scores {
        let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let (precision, recall) = (
            ratio(true_positives, predicted),
            ratio(true_positives, actual),
        );
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Scores {
            true_positives,
            predicted,
            actual,
            precision,
            recall,
            f1,
        }
    }
}

/// Pairwise and cluster scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// Over record pairs in one entity.
    pub pairwise: Scores,
    /// Over entities.
    pub clusters: Scores,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores `predicted` clusters (one label per record) against `truth` (one entity per record).
pub fn evaluate<T: Eq + Hash, P: Eq + Hash>(truth: &[T], predicted: &[P]) -> Evaluation {
    let mut cells: HashMap<(&P, &T), u64> = HashMap::new();
    let mut true_sizes: HashMap<&T, u64> = HashMap::new();
    let mut predicted_sizes: HashMap<&P, u64> = HashMap::new();
    for (t, p) in truth.iter().zip(predicted) {
        *cells.entry((p, t)).or_default() += 1;
        *true_sizes.entry(t).or_default() += 1;
        *predicted_sizes.entry(p).or_default() += 1;
    }
    let pairwise = Scores::new(
        cells.values().map(|&c| pairs(c)).sum(),
        predicted_sizes.values().map(|&c| pairs(c)).sum(),
        true_sizes.values().map(|&c| pairs(c)).sum(),
    );
    let exact = cells
        .iter()
        .filter(|(cell, c)| predicted_sizes[cell.0] == **c && true_sizes[cell.1] == **c)
        .count() as u64;
    let clusters = Scores::new(exact, predicted_sizes.len() as u64, true_sizes.len() as u64);
    Evaluation { pairwise, clusters }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_clusters_are_counted_against_the_truth() {
        // Truth: {0,1,2} {3,4} {5}. Predicted: {0,1} {2} {3,4,5}.
        let truth = ["a", "a", "a", "b", "b", "c"];
        let predicted = [0, 0, 2, 3, 3, 3];
        let e = evaluate(&truth, &predicted);
        // True pairs: 3 + 1 = 4; predicted: 1 + 3 = 4; right: (0,1), (3,4).
        assert_eq!(
            (
                e.pairwise.true_positives,
                e.pairwise.predicted,
                e.pairwise.actual
            ),
            (2, 4, 4)
        );
        assert!((e.pairwise.f1 - 0.5).abs() < 1e-12);
        // No predicted cluster equals a true one.
        assert_eq!(e.clusters.true_positives, 0);
        let perfect = evaluate(&truth, &[7, 7, 7, 1, 1, 9]);
        assert_eq!(perfect.pairwise.f1, 1.0);
        assert_eq!(perfect.clusters.f1, 1.0);
    }
}
