//! Strict scores per taxonomy archetype (issue 19), for gold tables that `nerprep map` has
//! mapped (`entities.archetype`): a SAM-NER-style model is judged on the archetypes, not on
//! each dataset's own labels.
//!
//! Gold entities and predictions are compared as for the strict scorer, with each label
//! replaced by its archetype: a gold entity by its own `archetype`; a predicted label by the
//! archetype gold gives that label in the same dataset, else in any dataset, else the
//! archetype it names itself (case-insensitive: a model that answers in archetypes), else
//! [`UNMAPPED`]. A prediction on a gold span with another label of the same archetype is
//! therefore correct here. Predicted labels can only be resolved once the whole gold table
//! has been read, so each sample's spans and labels are kept until [`ArchetypeScoring::finish`].

use super::bootstrap::{CountTable, SampleCounts};
use super::metrics::TypeTallies;
#[cfg(test)]
use super::metrics::Tally;
use super::Predicted;
use crate::model::{Entity, Span};
use std::collections::{BTreeMap, BTreeSet};

/// The archetype of a label no mapping covers.
pub const UNMAPPED: &str = "(unmapped)";

/// One sample's spans and labels, kept until every label's archetype is known.
#[derive(Debug, Clone)]
struct KeptSample {
    sample: String,
    dataset: String,
    gold: Vec<(Span, Option<String>)>,
    predicted: Vec<(Option<Span>, String, String)>,
}

/// Per-archetype tallies and the per-sample counts behind them (for the bootstrap).
#[derive(Debug, Clone, Default)]
pub struct ArchetypeCounts {
    /// Tallies per archetype, pooled over samples.
    pub tallies: TypeTallies,
    /// Per-sample counts by archetype index.
    pub table: CountTable,
}

/// Collects samples and the label → archetype mapping of the gold table.
#[derive(Debug, Clone, Default)]
pub struct ArchetypeScoring {
    kept: Vec<KeptSample>,
    in_dataset: BTreeMap<(String, String), String>,
    anywhere: BTreeMap<String, String>,
    names: BTreeSet<String>,
}

impl ArchetypeScoring {
    /// Keeps one scored sample: its gold entities (as scored) and its predictions.
    pub fn add(&mut self, sample: &str, dataset: &str, gold: &[&Entity], predicted: &[&Predicted]) {
        for e in gold {
            if let Some(a) = &e.archetype {
                self.in_dataset.entry((dataset.to_string(), e.label.clone())).or_insert_with(|| a.clone());
                self.anywhere.entry(e.label.clone()).or_insert_with(|| a.clone());
                self.names.insert(a.clone());
            }
        }
        let predicted = predicted.iter().map(|p| (p.placed.span(), p.label.clone(), p.text.clone())).collect();
        self.kept.push(KeptSample {
            sample: sample.to_string(),
            dataset: dataset.to_string(),
            gold: gold.iter().map(|e| (e.span, e.archetype.clone())).collect(),
            predicted,
        });
    }

    /// The archetype of a predicted label in `dataset` (see the module docs).
    fn archetype_of(&self, dataset: &str, label: &str) -> String {
        let named = || self.names.iter().find(|n| n.to_lowercase() == label.to_lowercase());
        self.in_dataset
            .get(&(dataset.to_string(), label.to_string()))
            .or_else(|| self.anywhere.get(label))
            .or_else(named)
            .cloned()
            .unwrap_or_else(|| UNMAPPED.to_string())
    }

    /// The per-archetype counts, or `None` when no gold entity has an archetype (the table
    /// is not mapped).
    pub fn finish(self) -> Option<ArchetypeCounts> {
        if self.names.is_empty() {
            return None;
        }
        let mut out = ArchetypeCounts::default();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for kept in &self.kept {
            let tallies = self.score(kept);
            out.tallies.absorb(&tallies);
            let by_index = tallies
                .iter()
                .map(|(name, t)| {
                    let next = index.len();
                    (*index.entry(name.to_string()).or_insert(next), *t)
                })
                .collect();
            out.table.samples.push(SampleCounts { sample: kept.sample.clone(), dataset: kept.dataset.clone(), tallies: by_index });
        }
        out.table.types = index.len();
        Some(out)
    }

    /// One sample's tallies with labels replaced by archetypes, compared as sets.
    fn score(&self, kept: &KeptSample) -> TypeTallies {
        let gold: BTreeSet<(Span, String)> =
            kept.gold.iter().map(|(s, a)| (*s, a.clone().unwrap_or_else(|| UNMAPPED.to_string()))).collect();
        let mut placed: BTreeSet<(Span, String)> = BTreeSet::new();
        let mut unplaced: BTreeSet<(String, String)> = BTreeSet::new();
        for (span, label, text) in &kept.predicted {
            let archetype = self.archetype_of(&kept.dataset, label);
            match span {
                Some(s) => placed.insert((*s, archetype)),
                None => unplaced.insert((text.clone(), archetype)),
            };
        }
        let mut t = TypeTallies::default();
        for p in &placed {
            let slot = t.entry(&p.1);
            if gold.contains(p) { slot.tp += 1 } else { slot.fp += 1 }
        }
        for (_, a) in &unplaced {
            t.entry(a).fp += 1;
        }
        for g in gold.iter().filter(|g| !placed.contains(*g)) {
            t.entry(&g.1).fn_ += 1;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(t: &TypeTallies) -> BTreeMap<String, Tally> {
        t.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn sp(a: u32, b: u32) -> Span {
        Span::new(a, b).unwrap()
    }

    fn entity(a: u32, b: u32, label: &str, archetype: Option<&str>) -> Entity {
        let mut e = Entity::new(sp(a, b), label, "x");
        e.archetype = archetype.map(str::to_string);
        e
    }

    #[test]
    fn labels_are_judged_by_their_archetype() {
        let mut s = ArchetypeScoring::default();
        let city = entity(0, 5, "city", Some("Location"));
        let person = entity(10, 13, "person", Some("Person"));
        let country = entity(20, 25, "country", Some("Location"));
        // Sample 1: `country` on the city span: wrong label, same archetype → a hit.
        // `Person` (an archetype name) on the person span → a hit. `thing` (unmapped) on 30..35 → FP.
        let predicted = [
            Predicted::at(sp(0, 5), "country", "x"),
            Predicted::at(sp(10, 13), "person", "x"),
            Predicted::at(sp(30, 35), "thing", "x"),
        ];
        s.add("s1", "d", &[&city, &person], &predicted.iter().collect::<Vec<_>>());
        // Sample 2 (another dataset): `LOCATION` names the archetype → a hit.
        s.add("s2", "e", &[&country], &[&Predicted::at(sp(20, 25), "LOCATION", "x")]);
        let got = s.finish().unwrap();
        let t = plain(&got.tallies);
        // Location: s1 city hit, s2 hit → tp 2. Person: tp 1. (unmapped): fp 1.
        assert_eq!(t["Location"], Tally { tp: 2, fp: 0, fn_: 0 });
        assert_eq!(t["Person"], Tally { tp: 1, fp: 0, fn_: 0 });
        assert_eq!(t[UNMAPPED], Tally { tp: 0, fp: 1, fn_: 0 });
        assert_eq!(got.table.samples.len(), 2);
        assert_eq!(got.table.types, 3);
    }

    #[test]
    fn two_labels_of_one_archetype_on_one_span_count_once() {
        // Both predictions become (0..5, Location): one hit, no false positive.
        let mut s = ArchetypeScoring::default();
        let city = entity(0, 5, "city", Some("Location"));
        let country = entity(9, 12, "country", Some("Location"));
        s.add("s1", "d", &[&city, &country], &[&Predicted::at(sp(0, 5), "city", "x"), &Predicted::at(sp(0, 5), "country", "x")]);
        let t = plain(&s.finish().unwrap().tallies);
        assert_eq!(t["Location"], Tally { tp: 1, fp: 0, fn_: 1 });
    }

    #[test]
    fn unmapped_tables_give_no_archetype_scores() {
        let mut s = ArchetypeScoring::default();
        let city = entity(0, 5, "city", None);
        s.add("s1", "d", &[&city], &[&Predicted::at(sp(0, 5), "city", "x")]);
        assert!(s.finish().is_none());
    }
}
