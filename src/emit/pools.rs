//! Label pools: what emit needs to know about the whole table before writing any record.
//!
//! A sample's `label_set` says what its source asked (for CrossNER, only the labels present
//! in the sentence), so negatives and dynamic label sets draw from the dataset's pool: every
//! label any of its samples asks for or uses, in first-seen order. Pile-NER negatives draw
//! from the global pool, weighted by how many entities each label has.

use crate::rng::Rng;
use crate::model::Sample;
use std::collections::{BTreeMap, BTreeSet};

/// Per-dataset label pools and global label frequencies, built in one pass.
#[derive(Debug, Clone, Default)]
pub struct Pools {
    datasets: BTreeMap<String, Vec<String>>,
    seen: BTreeMap<String, BTreeSet<String>>,
    counts: BTreeMap<String, u64>,
    /// Labels with at least one entity, sorted, and their running entity counts.
    weighted: Vec<(String, u64)>,
}

impl Pools {
    /// Adds one sample's labels.
    pub fn add(&mut self, sample: &Sample) {
        let pool = self.datasets.entry(sample.dataset.clone()).or_default();
        let seen = self.seen.entry(sample.dataset.clone()).or_default();
        for label in sample.label_set.iter().chain(sample.entities.iter().map(|e| &e.label)) {
            if seen.insert(label.clone()) {
                pool.push(label.clone());
            }
        }
        for e in &sample.entities {
            *self.counts.entry(e.label.clone()).or_default() += 1;
        }
    }

    /// Freezes the frequency table for weighted draws; call after the last [`Pools::add`].
    pub fn finish(&mut self) {
        let mut total = 0u64;
        self.weighted = self
            .counts
            .iter()
            .map(|(label, &n)| {
                total += n;
                (label.clone(), total)
            })
            .collect();
        self.seen.clear();
    }

    /// The dataset's labels in first-seen order (empty for an unknown dataset).
    pub fn dataset(&self, name: &str) -> &[String] {
        self.datasets.get(name).map_or(&[], Vec::as_slice)
    }

    /// Up to `k` distinct labels drawn from the global pool with probability proportional to
    /// their entity counts, skipping those `exclude` rejects. Rejection sampling with a
    /// bounded number of tries: fewer than `k` come back when too few labels qualify.
    pub fn draw_by_frequency(&self, rng: &mut Rng, k: usize, exclude: impl Fn(&str) -> bool) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let Some(&(_, total)) = self.weighted.last() else { return out };
        let mut tries = 0;
        while out.len() < k && tries < 64 * k + 256 {
            tries += 1;
            let ticket = (rng.next_f64() * total as f64) as u64;
            let i = self.weighted.partition_point(|(_, cum)| *cum <= ticket).min(self.weighted.len() - 1);
            let label = &self.weighted[i].0;
            if !exclude(label) && !out.contains(label) {
                out.push(label.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, SourceFormat, Span};

    fn sample(dataset: &str, label_set: &[&str], labels: &[&str]) -> Sample {
        let mut s = Sample::new("d/train/f:0", dataset, SourceFormat::Crossner, "train", "en", "abc");
        s.label_set = label_set.iter().map(|l| l.to_string()).collect();
        s.entities = labels.iter().map(|l| Entity::new(Span::new(0, 1).unwrap(), *l, "a")).collect();
        s
    }

    #[test]
    fn pools_keep_first_seen_order_per_dataset() {
        let mut p = Pools::default();
        p.add(&sample("a", &["x", "y"], &["z"]));
        p.add(&sample("a", &["y", "w"], &[]));
        p.add(&sample("b", &[], &["x"]));
        p.finish();
        assert_eq!(p.dataset("a"), ["x", "y", "z", "w"]);
        assert_eq!(p.dataset("b"), ["x"]);
        assert!(p.dataset("c").is_empty());
    }

    #[test]
    fn frequent_labels_are_drawn_more_often() {
        let mut p = Pools::default();
        p.add(&sample("a", &[], &["common"; 9]));
        p.add(&sample("a", &["never"], &["rare"]));
        p.finish();
        let mut rng = Rng::for_sample(3, "s");
        let mut common = 0;
        for _ in 0..1000 {
            let got = p.draw_by_frequency(&mut rng, 1, |_| false);
            assert_ne!(got[0], "never", "labels without entities have no weight");
            common += usize::from(got[0] == "common");
        }
        assert!((850..950).contains(&common), "{common}");
        assert_eq!(p.draw_by_frequency(&mut rng, 5, |l| l == "rare"), vec!["common".to_string()]);
    }
}
