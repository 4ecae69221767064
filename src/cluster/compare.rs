//! Agreement of a clustering with a curated mapping: the adjusted Rand index (Hubert &
//! Arabie 1985, as scikit-learn's `adjusted_rand_score`) and purity (the share of units in
//! their cluster's most common curated class).
//!
//! Units are matched to the mapping by id (a type's id is its label; aliases count); units
//! the mapping does not list are left out of both scores and counted.

use crate::taxonomy::Mapping;
use std::collections::BTreeMap;

/// The curated class of each unit that has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// For each unit (in table order), the index of its curated class, if it has one.
    pub classes: Vec<Option<usize>>,
    /// The class names (archetypes), in first-seen order.
    pub names: Vec<String>,
}

impl Reference {
    /// The archetype of each id in `mapping`.
    pub fn from_mapping(mapping: &Mapping, ids: &[String]) -> Reference {
        let mut names: Vec<String> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let classes = ids
            .iter()
            .map(|id| {
                let archetype = mapping.archetype_of(id)?;
                Some(*index.entry(archetype.to_string()).or_insert_with(|| {
                    names.push(archetype.to_string());
                    names.len() - 1
                }))
            })
            .collect();
        Reference { classes, names }
    }

    /// Units with a curated class.
    pub fn matched(&self) -> usize {
        self.classes.iter().filter(|c| c.is_some()).count()
    }
}

/// Agreement of one clustering with the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// Adjusted Rand index (1 identical partitions, about 0 for chance).
    pub ari: f64,
    /// Purity in `[0, 1]`.
    pub purity: f64,
}

fn pairs(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// ARI and purity of `labels` against the reference, over the matched units.
///
/// # Example
/// ```
/// use nerprep::cluster::compare::{agreement, Reference};
/// let reference = Reference { classes: vec![Some(0), Some(0), Some(1), None], names: vec!["A".into(), "B".into()] };
/// let same = agreement(&[5, 5, 7, 7], &reference);
/// assert_eq!((same.ari, same.purity), (1.0, 1.0));
/// ```
pub fn agreement(labels: &[u32], reference: &Reference) -> Agreement {
    let mut table: BTreeMap<(u32, usize), u64> = BTreeMap::new();
    for (&l, c) in labels.iter().zip(&reference.classes) {
        if let Some(c) = c {
            *table.entry((l, *c)).or_default() += 1;
        }
    }
    let n: u64 = table.values().sum();
    let mut rows: BTreeMap<u32, u64> = BTreeMap::new();
    let mut cols: BTreeMap<usize, u64> = BTreeMap::new();
    let mut best: BTreeMap<u32, u64> = BTreeMap::new();
    for (&(l, c), &v) in &table {
        *rows.entry(l).or_default() += v;
        *cols.entry(c).or_default() += v;
        let b = best.entry(l).or_default();
        *b = (*b).max(v);
    }
    let purity = if n == 0 { 0.0 } else { best.values().sum::<u64>() as f64 / n as f64 };
    let index: f64 = table.values().map(|&v| pairs(v)).sum();
    let a: f64 = rows.values().map(|&v| pairs(v)).sum();
    let b: f64 = cols.values().map(|&v| pairs(v)).sum();
    let total = pairs(n);
    let expected = if total > 0.0 { a * b / total } else { 0.0 };
    let max = (a + b) / 2.0;
    // scikit-learn: identical trivial partitions (all one cluster, or all singletons) score 1.
    let ari = if (max - expected).abs() < f64::EPSILON { 1.0 } else { (index - expected) / (max - expected) };
    Agreement { ari, purity }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(classes: &[usize]) -> Reference {
        Reference { classes: classes.iter().map(|&c| Some(c)).collect(), names: vec![] }
    }

    #[test]
    fn ari_matches_a_hand_computed_value() {
        // scikit-learn: adjusted_rand_score([0,0,1,1], [0,0,1,2]) = 0.5714285714285715
        let a = agreement(&[0, 0, 1, 2], &reference(&[0, 0, 1, 1]));
        assert!((a.ari - 0.5714285714285715).abs() < 1e-12, "{}", a.ari);
        assert_eq!(a.purity, 1.0);
        // Swapped roles: purity drops to 3/4.
        let b = agreement(&[0, 0, 1, 1], &reference(&[0, 0, 1, 2]));
        assert!((b.ari - a.ari).abs() < 1e-12);
        assert_eq!(b.purity, 0.75);
    }

    #[test]
    fn unmatched_units_are_left_out() {
        let r = Reference { classes: vec![Some(0), None, Some(1)], names: vec![] };
        assert_eq!(r.matched(), 2);
        assert_eq!(agreement(&[0, 0, 1], &r).ari, 1.0);
    }
}
