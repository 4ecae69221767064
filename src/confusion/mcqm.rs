//! The Multidimensional Confusion Quantification Model (seed 001 §3.2) as plain functions
//! over matrices indexed by the target types (`m × m`, row = the type confused, column =
//! the type it is confused with):
//!
//! - hierarchy, eq. (2)–(4): `R_H(t_i → s)` is the share of `t_i`'s entities a source model
//!   predicts as coarse type `s` (or 1 for the parent a mapping gives, 0 otherwise);
//!   `prefix(t) = argmax_s R_H(t → s)`; `u_hie(i, j) = δ · R_H(t_i → prefix(t_j))`;
//! - semantic, eq. (8): `u_sim(i, j)` = cosine of the two description embeddings;
//! - implicit, eq. (9)–(10): `u_iml = α·u_hie + β·u_sim`, `v_iml(i → j)` = softmax of
//!   `w0 · u_iml(i, ·)` over the other types `j ≠ i`;
//! - explicit, eq. (11)–(12): `R_M(i, j)` = share of `t_i`'s gold dev entities predicted as
//!   `t_j`, `v_exl(i → j)` = the same softmax over `R_M(i, ·)`;
//! - total, eq. (13)–(14): `v_conf = v_iml + v_exl` (implicit alone without dev
//!   predictions); the most confused type of `t_i` is `argmax_{j ≠ i} v_conf(i → j)`.
//!
//! The diagonal is never part of a softmax; it is 0 in every `v` matrix.

use serde::Serialize;
use std::collections::BTreeMap;

/// The weights of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// α, weight of the hierarchy term.
    pub alpha: f64,
    /// β, weight of the semantic term.
    pub beta: f64,
    /// w0, softmax temperature coefficient.
    pub w0: f64,
    /// δ, scale of the hierarchy term.
    pub delta: f64,
}

/// Each target type's coarse-type rates `R_H(t → s)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hierarchy {
    /// Per type, coarse type → rate.
    pub rates: Vec<BTreeMap<String, f64>>,
}

impl Hierarchy {
    /// From one parent per type (a mapping's archetype): rate 1 for it.
    pub fn from_parents(parents: &[Option<String>]) -> Hierarchy {
        Hierarchy { rates: parents.iter().map(|p| p.iter().map(|p| (p.clone(), 1.0)).collect()).collect() }
    }

    /// The prefix of each type: its coarse type of the highest rate (ties: the first in
    /// name order); `None` when it has no rate above 0.
    pub fn prefixes(&self) -> Vec<Option<String>> {
        self.rates
            .iter()
            .map(|r| {
                let best = r.iter().filter(|(_, v)| **v > 0.0).max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)));
                best.map(|(s, _)| s.clone())
            })
            .collect()
    }
}

/// Every term of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mcqm {
    /// The target types, in row/column order.
    pub types: Vec<String>,
    /// `prefix(t)` of each type.
    pub prefixes: Vec<Option<String>>,
    /// `u_hie`.
    pub hierarchy: Vec<Vec<f64>>,
    /// `u_sim`.
    pub semantic: Vec<Vec<f64>>,
    /// `u_iml = α·u_hie + β·u_sim`.
    pub implicit_score: Vec<Vec<f64>>,
    /// `v_iml`.
    pub implicit: Vec<Vec<f64>>,
    /// `R_M`, with dev predictions.
    pub explicit_rate: Option<Vec<Vec<f64>>>,
    /// `v_exl`, with dev predictions.
    pub explicit: Option<Vec<Vec<f64>>>,
    /// `v_conf`.
    pub total: Vec<Vec<f64>>,
    /// For each type, the other types by decreasing `v_conf` (ties: type order).
    pub ranked: Vec<Vec<usize>>,
}

/// Row-wise softmax of `w0 · u` over the entries off the diagonal; the diagonal is 0.
pub fn softmax_off_diagonal(u: &[Vec<f64>], w0: f64) -> Vec<Vec<f64>> {
    u.iter()
        .enumerate()
        .map(|(i, row)| {
            let max = row.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &x)| w0 * x).fold(f64::NEG_INFINITY, f64::max);
            let exp: Vec<f64> = row.iter().enumerate().map(|(j, &x)| if j == i { 0.0 } else { (w0 * x - max).exp() }).collect();
            let sum: f64 = exp.iter().sum();
            exp.iter().map(|e| if sum > 0.0 { e / sum } else { 0.0 }).collect()
        })
        .collect()
}

/// `u_hie(i, j) = δ · R_H(t_i → prefix(t_j))`.
pub fn hierarchy_term(h: &Hierarchy, prefixes: &[Option<String>], delta: f64) -> Vec<Vec<f64>> {
    h.rates
        .iter()
        .map(|rates| prefixes.iter().map(|p| delta * p.as_ref().and_then(|p| rates.get(p)).copied().unwrap_or(0.0)).collect())
        .collect()
}

/// The model over `types`, given the hierarchy, the cosine matrix of the descriptions and,
/// optionally, the dev confusion rates `R_M`.
pub fn quantify(types: Vec<String>, h: &Hierarchy, semantic: Vec<Vec<f64>>, explicit_rate: Option<Vec<Vec<f64>>>, w: Weights) -> Mcqm {
    let prefixes = h.prefixes();
    let hierarchy = hierarchy_term(h, &prefixes, w.delta);
    let implicit_score: Vec<Vec<f64>> =
        hierarchy.iter().zip(&semantic).map(|(hr, sr)| hr.iter().zip(sr).map(|(a, b)| w.alpha * a + w.beta * b).collect()).collect();
    let implicit = softmax_off_diagonal(&implicit_score, w.w0);
    let explicit = explicit_rate.as_ref().map(|r| softmax_off_diagonal(r, w.w0));
    let total: Vec<Vec<f64>> = match &explicit {
        Some(e) => implicit.iter().zip(e).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + y).collect()).collect(),
        None => implicit.clone(),
    };
    let ranked = total
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut others: Vec<usize> = (0..row.len()).filter(|&j| j != i).collect();
            others.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            others
        })
        .collect();
    Mcqm { types, prefixes, hierarchy, semantic, implicit_score, implicit, explicit_rate, explicit, total, ranked }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_off_the_diagonal() {
        let v = softmax_off_diagonal(&[vec![9.0, 1.0, 0.0], vec![0.0, 9.0, 0.0], vec![0.5, 0.5, 0.0]], 2.5);
        for (i, row) in v.iter().enumerate() {
            assert_eq!(row[i], 0.0);
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        assert!(v[0][1] > v[0][2]);
        assert!((v[1][0] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn prefixes_take_the_highest_rate() {
        let rates = vec![BTreeMap::from([("PER".to_string(), 0.7), ("ORG".to_string(), 0.2)]), BTreeMap::new()];
        assert_eq!(Hierarchy { rates }.prefixes(), vec![Some("PER".to_string()), None]);
    }
}
