//! Strict span+type scores: counts of true positives, false positives and false negatives,
//! turned into precision, recall and F1, per type, micro- and macro-averaged.
//!
//! A predicted entity is correct only when its span (code points) and its label both equal
//! those of a gold entity. Entities are compared as sets of `(span, label)`, so a duplicate
//! prediction neither earns nor costs anything twice.

use super::bootstrap::Interval;
use serde::Serialize;
use std::collections::BTreeMap;

/// Raw counts for one type, one dataset or everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Predictions equal to a gold entity (span and label).
    pub tp: u64,
    /// Predictions with no equal gold entity.
    pub fp: u64,
    /// Gold entities with no equal prediction.
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Tally {
    /// Adds another tally into this one.
    pub fn add(&mut self, other: Tally) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }

    /// Precision, recall and F1 of these counts.
    pub fn scores(self) -> Prf {
        let precision = ratio(self.tp, self.tp + self.fp);
        let recall = ratio(self.tp, self.tp + self.fn_);
        Prf { tally: self, precision, recall, f1: f1(precision, recall), f1_interval: None }
    }
}

/// `num / den`, or 0 when there is nothing to divide (the seqeval / scikit-learn convention).
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

/// The harmonic mean of precision and recall, 0 when both are 0.
pub fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) }
}

/// Counts with precision, recall and F1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Prf {
    /// The counts the scores come from.
    #[serde(flatten)]
    pub tally: Tally,
    /// `tp / (tp + fp)`.
    pub precision: f64,
    /// `tp / (tp + fn)`.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// 95% bootstrap interval of `f1`, when one was asked for (`--bootstrap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_interval: Option<Interval>,
}

/// Unweighted means over types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MacroPrf {
    /// Mean of the per-type precisions.
    pub precision: f64,
    /// Mean of the per-type recalls.
    pub recall: f64,
    /// Mean of the per-type F1 scores (not the F1 of the two means).
    pub f1: f64,
    /// How many types were averaged: those with a gold or a predicted entity.
    pub types: usize,
    /// 95% bootstrap interval of `f1`, when one was asked for (`--bootstrap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_interval: Option<Interval>,
}

/// Micro, macro and per-type scores of one scope (everything, or one dataset).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Pooled over every entity.
    pub micro: Prf,
    /// Averaged over types.
    #[serde(rename = "macro")]
    pub macro_: MacroPrf,
    /// One entry per type seen in gold or predictions, sorted by type.
    pub per_type: BTreeMap<String, Prf>,
}

/// Tallies per type, from which micro, macro and per-type scores follow.
#[derive(Debug, Clone, Default)]
pub struct TypeTallies(BTreeMap<String, Tally>);

impl TypeTallies {
    /// The tally of `label`, created empty on first use.
    pub fn entry(&mut self, label: &str) -> &mut Tally {
        if !self.0.contains_key(label) {
            self.0.insert(label.to_string(), Tally::default());
        }
        self.0.get_mut(label).expect("just inserted")
    }

    /// Every type with its tally, sorted by type.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tally)> {
        self.0.iter().map(|(l, t)| (l.as_str(), t))
    }

    /// Adds another set of tallies into this one.
    pub fn absorb(&mut self, other: &TypeTallies) {
        for (label, t) in &other.0 {
            self.entry(label).add(*t);
        }
    }

    /// The counts of every type pooled together.
    pub fn pooled(&self) -> Tally {
        let mut all = Tally::default();
        for t in self.0.values() {
            all.add(*t);
        }
        all
    }

    /// Micro, macro and per-type scores.
    pub fn scores(&self) -> Scores {
        let per_type: BTreeMap<String, Prf> = self.0.iter().map(|(l, t)| (l.clone(), t.scores())).collect();
        let n = per_type.len();
        let mean = |f: fn(&Prf) -> f64| if n == 0 { 0.0 } else { per_type.values().map(f).sum::<f64>() / n as f64 };
        let macro_ = MacroPrf { precision: mean(|p| p.precision), recall: mean(|p| p.recall), f1: mean(|p| p.f1), types: n, f1_interval: None };
        Scores { micro: self.pooled().scores(), macro_, per_type }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_definitions() {
        let p = Tally { tp: 3, fp: 1, fn_: 2 }.scores();
        assert_eq!(p.precision, 0.75);
        assert_eq!(p.recall, 0.6);
        assert!((p.f1 - 2.0 * 0.75 * 0.6 / 1.35).abs() < 1e-12);
    }

    #[test]
    fn empty_counts_score_zero_not_nan() {
        let p = Tally::default().scores();
        assert_eq!((p.precision, p.recall, p.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn macro_is_the_mean_of_type_scores_and_micro_pools() {
        let mut t = TypeTallies::default();
        *t.entry("PER") = Tally { tp: 9, fp: 1, fn_: 0 };
        *t.entry("LOC") = Tally { tp: 0, fp: 0, fn_: 1 };
        let s = t.scores();
        assert_eq!(s.macro_.types, 2);
        let per_f1 = 2.0 * 0.9 / 1.9;
        assert!((s.macro_.f1 - per_f1 / 2.0).abs() < 1e-12);
        assert_eq!(s.micro.tally, Tally { tp: 9, fp: 1, fn_: 1 });
        assert!((s.micro.f1 - 0.9).abs() < 1e-12);
    }
}
