//! Clustering of accepted pairs: strongest links first, a union-find that refuses a merge which
//! would put two different valid IDs (or two records of one duplicate-free source) in one
//! entity, or grow a cluster past its cap. Connected components alone let one wrong link chain
//! two households together; here the refused links are counted and reported instead.

use serde::Serialize;

/// Why merges were refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refusals {
    /// The two clusters hold different valid IDs.
    pub different_ids: u64,
    /// The two clusters hold records of one source, which is free of duplicates.
    pub same_source: u64,
    /// The merged cluster would exceed `max_cluster`.
    pub too_large: u64,
}

/// What a cluster must not hold twice: one valid ID, one record per source.
pub struct Constraints<'a> {
    /// Each record's valid ID, if any.
    pub ids: Vec<Option<&'a [u8; 18]>>,
    /// Each record's source, when sources are duplicate-free.
    pub sources: Option<&'a [u32]>,
    /// Largest cluster allowed.
    pub max_cluster: usize,
}

/// A cluster as the union-find's root holds it. The constraint keeps at most one valid ID per
/// cluster, so one slot is enough.
struct Cluster<'a> {
    size: u32,
    id: Option<&'a [u8; 18]>,
    /// Only filled when sources are duplicate-free.
    sources: Vec<u32>,
}

/// Clusters `n` records from `links` (record pairs), strongest first as given, starting from
/// `existing` clusters of the first records (labels as this function returns them; empty: every
/// record alone). Returns each record's cluster: the smallest record index in it.
pub fn cluster(
    n: usize,
    existing: &[u32],
    links: &[(u32, u32)],
    c: &Constraints<'_>,
) -> (Vec<u32>, Refusals) {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut clusters: Vec<Cluster<'_>> = (0..n)
        .map(|i| Cluster {
            size: 1,
            id: c.ids[i],
            sources: c.sources.map(|s| vec![s[i]]).unwrap_or_default(),
        })
        .collect();
    // Existing clusters as they were: each record under its label (a member, the smallest).
    for (i, &label) in existing.iter().enumerate() {
        let (i, label) = (i as u32, label.min(i as u32));
        if label != i {
            let moved = std::mem::replace(&mut clusters[i as usize], Cluster::empty());
            clusters[label as usize].absorb(moved);
            parent[i as usize] = label;
        }
    }
    let mut refused = Refusals::default();
    for &(a, b) in links {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra == rb {
            continue;
        }
        let (x, y) = (&clusters[ra as usize], &clusters[rb as usize]);
        if (x.size + y.size) as usize > c.max_cluster {
            refused.too_large += 1;
            continue;
        }
        if matches!((x.id, y.id), (Some(a), Some(b)) if a != b) {
            refused.different_ids += 1;
            continue;
        }
        if x.sources.iter().any(|s| y.sources.contains(s)) {
            refused.same_source += 1;
            continue;
        }
        // The smaller index is the root, so a cluster's id is its first record.
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        let moved = std::mem::replace(&mut clusters[child as usize], Cluster::empty());
        clusters[root as usize].absorb(moved);
        parent[child as usize] = root;
    }
    let roots = (0..n as u32).map(|i| find(&mut parent, i)).collect();
    (roots, refused)
}

impl<'a> Cluster<'a> {
    fn empty() -> Self {
        Cluster {
            size: 0,
            id: None,
            sources: Vec::new(),
        }
    }

    /// Takes in the records of `other` (whose constraints were checked).
    fn absorb(&mut self, other: Cluster<'a>) {
        self.size += other.size;
        self.id = self.id.or(other.id);
        self.sources.extend(other.sources);
    }
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let up = parent[parent[x as usize] as usize];
        parent[x as usize] = up;
        x = up;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_cut_where_ids_conflict_and_clusters_are_capped() {
        let a = *b"11010519491231002X";
        let b = *b"110105195012310029";
        // 0 and 2 hold different valid IDs; 1 has none and links to both.
        let ids = vec![Some(&a), None, Some(&b), None];
        let c = Constraints {
            ids,
            sources: None,
            max_cluster: 10,
        };
        let (clusters, refused) = cluster(4, &[], &[(0, 1), (1, 2), (2, 3)], &c);
        assert_eq!(clusters, vec![0, 0, 2, 2]);
        assert_eq!(refused.different_ids, 1);
        let capped = Constraints {
            ids: vec![None; 4],
            sources: None,
            max_cluster: 2,
        };
        let (clusters, refused) = cluster(4, &[], &[(0, 1), (1, 2), (2, 3)], &capped);
        assert_eq!(clusters, vec![0, 0, 2, 2]);
        assert_eq!(refused.too_large, 1);
    }

    #[test]
    fn an_increment_joins_existing_clusters_under_their_labels() {
        let a = *b"11010519491231002X";
        let c = Constraints {
            ids: vec![Some(&a), None, None, None, None],
            sources: None,
            max_cluster: 10,
        };
        // Records 0-2 were linked before: {0, 2} and {1}. New records 3 and 4 join them.
        let (clusters, _) = cluster(5, &[0, 1, 0], &[(2, 3), (1, 4)], &c);
        assert_eq!(clusters, vec![0, 1, 0, 0, 1]);
    }

    #[test]
    fn duplicate_free_sources_give_one_record_each() {
        let sources = [0, 1, 1];
        let c = Constraints {
            ids: vec![None; 3],
            sources: Some(&sources),
            max_cluster: 10,
        };
        let (clusters, refused) = cluster(3, &[], &[(0, 1), (0, 2)], &c);
        assert_eq!(clusters, vec![0, 0, 2]);
        assert_eq!(refused.same_source, 1);
    }
}
