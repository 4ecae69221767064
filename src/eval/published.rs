//! The published scorers side by side with the strict one (`--scorer`, issue 19):
//! [`super::uniner`] and [`super::b2ner`] fed from the gold table and the raw answers.
//!
//! These scorers compare strings, so their gold is every gold mention as a string, the ones
//! the reader could not place in the text (`unaligned`) included, as the upstream scripts
//! see them. Only a gold answer the reader could not read at all (`answer_unparsable`) is
//! left out, counted as `gold_unreadable_answer` (its text is not a mention). They read the
//! model's raw answer, before any of nerprep's repairs, as upstream does.
//!
//! Both papers report one F1 per dataset (micro over its questions or instances) and average
//! datasets without weights; [`PublishedScores`] gives both, and the F1 pooled over all.

use super::bootstrap::SampleCounts;
use super::metrics::{Prf, Tally};
use super::predictions::PredictionRecord;
use super::{b2ner, uniner};
use crate::answer::AnswerFormat;
use crate::model::{Sample, Unaligned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which scorers `eval` reports (`--scorer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ScorerChoice {
    /// nerprep's strict span+type scorer.
    #[default]
    Strict,
    /// UniversalNER's `evaluate.py` (needs `pile-ner` answers).
    Uniner,
    /// B2NER's `EvaluatorNER` (needs `b2ner` answers).
    B2ner,
    /// Strict and the published scorer of the answer format, side by side.
    All,
}

/// A published scorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Published {
    /// UniversalNER: one question per (passage, type).
    Uniner,
    /// B2NER: one instance per prediction record.
    B2ner,
}

impl Published {
    /// The name used in flags and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Published::Uniner => "uniner",
            Published::B2ner => "b2ner",
        }
    }

    /// The answer format the scorer reads.
    pub fn answer_format(self) -> AnswerFormat {
        match self {
            Published::Uniner => AnswerFormat::PileNer,
            Published::B2ner => AnswerFormat::B2ner,
        }
    }

    /// What the scorer counts as one unit.
    pub fn unit(self) -> &'static str {
        match self {
            Published::Uniner => "questions",
            Published::B2ner => "instances",
        }
    }

    /// The published scorer that reads `format`, if any.
    pub fn for_format(format: AnswerFormat) -> Option<Published> {
        [Published::Uniner, Published::B2ner].into_iter().find(|p| p.answer_format() == format)
    }
}

/// The scores of one published scorer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedScores {
    /// Which scorer.
    pub scorer: Published,
    /// What a unit is (`questions`, `instances`).
    pub unit: &'static str,
    /// Units scored.
    pub units: u64,
    /// Micro scores pooled over every unit.
    pub micro: Prf,
    /// Micro scores per dataset.
    pub per_dataset: BTreeMap<String, Prf>,
    /// The unweighted mean of the per-dataset F1 (how both papers average datasets).
    pub dataset_mean_f1: f64,
    /// Things counted on the way (`gold_unreadable_answer`, `answer_read_as_empty`).
    pub notes: BTreeMap<String, u64>,
}

/// Accumulates one published scorer over samples.
#[derive(Debug, Clone)]
pub struct PublishedScoring {
    scorer: Published,
    units: u64,
    samples: Vec<SampleCounts>,
    notes: BTreeMap<String, u64>,
}

/// A gold mention the string scorers see: an entity or an unaligned mention of `label`.
fn gold_mentions(sample: &Sample, keep: impl Fn(&str) -> bool) -> (Vec<(&str, &str)>, u64) {
    let readable = |u: &&Unaligned| u.reason != "answer_unparsable";
    let mut out: Vec<(&str, &str)> =
        sample.entities.iter().filter(|e| keep(&e.label)).map(|e| (e.label.as_str(), e.text.as_str())).collect();
    let unaligned: Vec<&Unaligned> = sample.unaligned.iter().filter(|u| keep(&u.label)).collect();
    let unreadable = unaligned.iter().filter(|u| !readable(u)).count() as u64;
    out.extend(unaligned.into_iter().filter(readable).map(|u| (u.label.as_str(), u.text.as_str())));
    (out, unreadable)
}

impl PublishedScoring {
    /// Nothing scored yet.
    pub fn new(scorer: Published) -> PublishedScoring {
        PublishedScoring { scorer, units: 0, samples: Vec::new(), notes: BTreeMap::new() }
    }

    fn note(&mut self, what: &str, n: u64) {
        if n > 0 {
            *self.notes.entry(what.to_string()).or_default() += n;
        }
    }

    /// Scores every answer of one sample's records (`sample` as read from the gold table).
    pub fn add(&mut self, sample: &Sample, records: &[PredictionRecord]) {
        let mut total = Tally::default();
        for r in records {
            for answer in &r.answers {
                let asked = answer.labels.as_ref().or(r.labels.as_ref());
                let keep = |label: &str| asked.is_none_or(|a| a.iter().any(|l| l == label));
                let (gold, unreadable) = gold_mentions(sample, keep);
                self.note("gold_unreadable_answer", unreadable);
                let tally = match self.scorer {
                    Published::Uniner => self.uniner_question(&gold, &answer.text),
                    Published::B2ner => b2ner::score_instance(&b2ner::gold_answer(gold), &answer.text),
                };
                total.add(tally);
                self.units += 1;
            }
        }
        self.samples.push(SampleCounts { sample: sample.id.clone(), dataset: sample.dataset.clone(), tallies: vec![(0, total)] });
    }

    /// One UniversalNER question; its type is the one label asked (all gold mentions kept
    /// are of that label).
    fn uniner_question(&mut self, gold: &[(&str, &str)], answer: &str) -> Tally {
        let predicted_nothing = uniner::read_answer(answer).is_empty();
        self.note("answer_read_as_empty", (predicted_nothing && answer.trim() != "[]") as u64);
        uniner::score_question(&uniner::gold_answer(gold.iter().map(|(_, m)| *m)), answer)
    }

    /// The scores, and the per-sample counts (one type) for the bootstrap.
    pub fn finish(self) -> (PublishedScores, Vec<SampleCounts>) {
        let mut pooled = Tally::default();
        let mut by_dataset: BTreeMap<String, Tally> = BTreeMap::new();
        for s in &self.samples {
            let t = s.tallies[0].1;
            pooled.add(t);
            by_dataset.entry(s.dataset.clone()).or_default().add(t);
        }
        let per_dataset: BTreeMap<String, Prf> = by_dataset.into_iter().map(|(d, t)| (d, t.scores())).collect();
        let dataset_mean_f1 =
            if per_dataset.is_empty() { 0.0 } else { per_dataset.values().map(|p| p.f1).sum::<f64>() / per_dataset.len() as f64 };
        let scores = PublishedScores {
            scorer: self.scorer,
            unit: self.scorer.unit(),
            units: self.units,
            micro: pooled.scores(),
            per_dataset,
            dataset_mean_f1,
            notes: self.notes,
        };
        (scores, self.samples)
    }
}
