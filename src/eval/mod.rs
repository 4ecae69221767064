//! Evaluation of predicted entities against a gold samples table.
//!
//! Data enters as gold [`Sample`]s (read from the canonical table) paired with the
//! [`Predicted`] entities of a model, already parsed from its answers and placed in the text
//! (see `nerprep eval`, which does that with the answer parsers and [`placement`]). An
//! [`Evaluation`] takes them one sample at a time, keeping counts: totals per label and
//! dataset, and each sample's own few counts for the bootstrap. [`Evaluation::finish`] gives
//! an [`EvalReport`]: strict span+type scores ([`metrics`]), the eight error types of the
//! generative-NER assessment ([`errors`]) with examples, and a gold × predicted confusion
//! matrix ([`confusion`]); [`report`] writes it as Markdown, JSON, CSV and PNG. [`run`]
//! does the whole `nerprep eval`: predictions file ([`predictions`]) in, report out.
//!
//! Issue 19 added what a comparison with published numbers needs: the papers' own scorers
//! ([`uniner`], [`b2ner`], run side by side by [`published`]), 95% bootstrap intervals and
//! the paired test of two prediction files ([`bootstrap`], [`compare`]), and scores per
//! taxonomy archetype ([`archetype`]).

pub mod archetype;
pub mod b2ner;
pub mod bootstrap;
pub mod compare;
pub mod confusion;
pub mod errors;
pub mod metrics;
pub mod params;
pub mod placement;
pub mod predictions;
pub mod published;
pub mod report;
pub mod run;
pub mod uniner;

use crate::model::{Entity, Sample, Span};
use crate::report::Counts;
use archetype::ArchetypeScoring;
use bootstrap::{Bootstrap, CountTable, SampleCounts};
use confusion::{ConfusionMatrix, ConfusionTable};
use published::PublishedScores;
use errors::{classify, ErrorCase, ErrorType};
use metrics::{Scores, TypeTallies};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub use params::{EvalOptions, EvalParams};
pub use run::{compare_predictions, evaluate, CompareOutcome, EvalError, EvalOutcome};

/// How many examples are kept per error type.
pub const EXAMPLES_PER_TYPE: usize = 5;
/// Texts in examples (sample texts, unparseable answers) are cut to this many code points.
const EXAMPLE_TEXT_CHARS: usize = 300;

/// Where a predicted mention sits in the sample text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placed {
    /// At this span (code points, end-exclusive).
    At(Span),
    /// Nowhere: the mention does not occur in the text (a hallucinated mention).
    NotFound,
}

impl Placed {
    /// The span, when placed.
    pub fn span(self) -> Option<Span> {
        match self {
            Placed::At(s) => Some(s),
            Placed::NotFound => None,
        }
    }
}

/// One predicted entity, ready to be scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Predicted {
    /// The predicted label, as the model wrote it.
    pub label: String,
    /// The predicted mention, as the model wrote it.
    pub text: String,
    /// Where it was placed in the text.
    pub placed: Placed,
}

impl Predicted {
    /// A prediction placed at `span`.
    pub fn at(span: Span, label: impl Into<String>, text: impl Into<String>) -> Predicted {
        Predicted { label: label.into(), text: text.into(), placed: Placed::At(span) }
    }
}

/// An entity in an error example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExampleEntity {
    /// The mention.
    pub mention: String,
    /// Its label.
    pub label: String,
    /// Its span, when it has one.
    pub span: Option<Span>,
}

/// One example of an error, for people reading the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorExample {
    /// The sample id.
    pub sample: String,
    /// The sample text (cut to 300 code points).
    pub text: String,
    /// The wrong prediction, if the error has one.
    pub predicted: Option<ExampleEntity>,
    /// The gold entity involved, if any.
    pub gold: Option<ExampleEntity>,
}

/// Count, share and examples of one error type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorSummary {
    /// Which type.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// How many errors of this type.
    pub count: u64,
    /// `count` over all errors (0 when there are none).
    pub share: f64,
    /// The first few, in input order.
    pub examples: Vec<ErrorExample>,
}

/// Scores of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetScores {
    /// Samples of the dataset that were scored.
    pub samples: u64,
    /// Its micro, macro and per-type scores.
    #[serde(flatten)]
    pub scores: Scores,
}

/// Everything `nerprep eval` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Samples scored.
    pub samples: u64,
    /// Distinct gold `(span, label)` pairs.
    pub gold_entities: u64,
    /// Distinct predictions (placed ones by span and label, unplaced ones by mention and label).
    pub predicted_entities: u64,
    /// Scores over every sample.
    pub overall: Scores,
    /// Scores per dataset, sorted by dataset.
    pub per_dataset: BTreeMap<String, DatasetScores>,
    /// The eight error types, in the paper's order.
    pub errors: Vec<ErrorSummary>,
    /// Gold × predicted labels on the same span.
    pub confusion: ConfusionTable,
    /// Answers that could not be parsed even after repairs (the first few).
    pub unparseable: Vec<run::UnparseableAnswer>,
    /// Where the prediction records went, with repairs and other notes.
    pub counts: Counts,
    /// The published scorers run beside the strict one (`--scorer`).
    pub published: Vec<PublishedScores>,
    /// Strict scores with labels replaced by their archetype, when the gold table is mapped.
    pub per_archetype: Option<Scores>,
    /// How many mention-only listings each placement rule placed ([`placement`]).
    pub placement: BTreeMap<String, u64>,
    /// The bootstrap behind the `f1_interval`s, when one ran.
    pub bootstrap: Option<Bootstrap>,
}

/// A finished evaluation: the report and the per-sample counts behind it (for a paired
/// comparison with another prediction file).
#[derive(Debug, Clone)]
pub struct Finished {
    /// The report.
    pub report: EvalReport,
    /// Strict per-sample counts, by type index.
    pub strict: CountTable,
    /// Per-sample counts by archetype, when the gold table is mapped.
    pub archetypes: Option<CountTable>,
}

/// Accumulates scores, errors and confusion over samples; see the module docs.
///
/// # Example
/// ```
/// use nerprep::eval::{Evaluation, Predicted};
/// use nerprep::model::{Entity, Sample, SourceFormat, Span};
/// let mut gold = Sample::new("d/test/f:0", "d", SourceFormat::B2nerd, "test", "en", "Ada met Bob");
/// gold.entities.push(Entity::new(Span::new(0, 3).unwrap(), "PER", "Ada"));
/// gold.entities.push(Entity::new(Span::new(8, 11).unwrap(), "PER", "Bob"));
/// let pred = [Predicted::at(Span::new(0, 3).unwrap(), "PER", "Ada")];
/// let mut eval = Evaluation::default();
/// eval.add(&gold, &pred, None);
/// let report = eval.finish(Default::default());
/// assert_eq!(report.overall.micro.precision, 1.0);
/// assert_eq!(report.overall.micro.recall, 0.5);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    samples: u64,
    gold_entities: u64,
    predicted_entities: u64,
    overall: TypeTallies,
    per_dataset: BTreeMap<String, (u64, TypeTallies)>,
    error_counts: BTreeMap<ErrorType, u64>,
    examples: BTreeMap<ErrorType, Vec<ErrorExample>>,
    confusion: ConfusionMatrix,
    notes: BTreeMap<String, u64>,
    type_index: BTreeMap<String, usize>,
    per_sample: Vec<SampleCounts>,
    archetypes: ArchetypeScoring,
}

/// Sets the micro and macro F1 intervals of `scores` from the samples of `dataset` (or all).
fn add_intervals(scores: &mut Scores, table: &CountTable, dataset: Option<&str>, boot: Bootstrap) {
    if let Some((micro, macro_)) = table.intervals(dataset, boot) {
        scores.micro.f1_interval = Some(micro);
        scores.macro_.f1_interval = Some(macro_);
    }
}

fn example_entity(text: &str, label: &str, span: Option<Span>) -> ExampleEntity {
    ExampleEntity { mention: text.to_string(), label: label.to_string(), span }
}

/// `text` cut to [`EXAMPLE_TEXT_CHARS`] code points, with an ellipsis when cut.
fn cut(text: &str) -> String {
    match text.char_indices().nth(EXAMPLE_TEXT_CHARS) {
        Some((byte, _)) => format!("{}…", &text[..byte]),
        None => text.to_string(),
    }
}

impl Evaluation {
    fn note(&mut self, what: &str, n: u64) {
        if n > 0 {
            *self.notes.entry(what.to_string()).or_default() += n;
        }
    }

    /// Scores one sample: its gold entities against `predicted`. `label_set` is the set of
    /// labels the model was asked for (decides OOD types); `None` when unknown.
    pub fn add(&mut self, gold: &Sample, predicted: &[Predicted], label_set: Option<&[String]>) {
        // Distinct gold (span, label) pairs, first occurrence kept.
        let mut seen = BTreeSet::new();
        let gold_set: Vec<&Entity> = gold.entities.iter().filter(|e| seen.insert((e.span, e.label.as_str()))).collect();
        self.note("duplicate_gold_entity", (gold.entities.len() - gold_set.len()) as u64);
        let mut seen = BTreeSet::new();
        let pred_set: Vec<&Predicted> = predicted
            .iter()
            .filter(|p| match p.placed {
                Placed::At(s) => seen.insert((Some(s), None, p.label.as_str())),
                Placed::NotFound => seen.insert((None, Some(p.text.as_str()), p.label.as_str())),
            })
            .collect();
        self.note("duplicate_prediction", (predicted.len() - pred_set.len()) as u64);

        let gold_keys: BTreeSet<(Span, &str)> = gold_set.iter().map(|e| (e.span, e.label.as_str())).collect();
        let pred_keys: BTreeSet<(Span, &str)> = pred_set
            .iter()
            .filter_map(|p| match p.placed {
                Placed::At(s) => Some((s, p.label.as_str())),
                Placed::NotFound => None,
            })
            .collect();
        let mut tallies = TypeTallies::default();
        let mut wrong = Vec::new();
        for p in &pred_set {
            let hit = matches!(p.placed, Placed::At(s) if gold_keys.contains(&(s, p.label.as_str())));
            if hit {
                tallies.entry(&p.label).tp += 1;
            } else {
                tallies.entry(&p.label).fp += 1;
                wrong.push((*p).clone());
            }
        }
        let mut missed = Vec::new();
        for e in &gold_set {
            if !pred_keys.contains(&(e.span, e.label.as_str())) {
                tallies.entry(&e.label).fn_ += 1;
                missed.push((*e).clone());
            }
        }

        let gold_owned: Vec<Entity> = gold_set.iter().map(|e| (*e).clone()).collect();
        for case in classify(&gold_owned, &wrong, &missed, label_set) {
            self.record_error(gold, case);
        }
        let gold_pairs: Vec<(Span, &str)> = gold_keys.iter().copied().collect();
        let pred_pairs: Vec<(Span, &str)> = pred_keys.iter().copied().collect();
        let unplaced: Vec<&str> =
            pred_set.iter().filter(|p| p.placed == Placed::NotFound).map(|p| p.label.as_str()).collect();
        self.confusion.add_sample(&gold_pairs, &pred_pairs, &unplaced);

        self.keep_sample_counts(gold, &tallies);
        self.archetypes.add(&gold.id, &gold.dataset, &gold_set, &pred_set);
        self.samples += 1;
        self.gold_entities += gold_set.len() as u64;
        self.predicted_entities += pred_set.len() as u64;
        self.overall.absorb(&tallies);
        let ds = self.per_dataset.entry(gold.dataset.clone()).or_default();
        ds.0 += 1;
        ds.1.absorb(&tallies);
    }

    /// Keeps one sample's strict counts by type index, for the bootstrap.
    fn keep_sample_counts(&mut self, sample: &Sample, tallies: &TypeTallies) {
        let by_index = tallies
            .iter()
            .map(|(label, t)| {
                let next = self.type_index.len();
                (*self.type_index.entry(label.to_string()).or_insert(next), *t)
            })
            .collect();
        self.per_sample.push(SampleCounts { sample: sample.id.clone(), dataset: sample.dataset.clone(), tallies: by_index });
    }

    fn record_error(&mut self, sample: &Sample, case: ErrorCase) {
        *self.error_counts.entry(case.kind).or_default() += 1;
        let examples = self.examples.entry(case.kind).or_default();
        if examples.len() < EXAMPLES_PER_TYPE {
            examples.push(ErrorExample {
                sample: sample.id.clone(),
                text: cut(&sample.text),
                predicted: case.predicted.as_ref().map(|p| example_entity(&p.text, &p.label, p.placed.span())),
                gold: case.gold.as_ref().map(|g| example_entity(&g.text, &g.label, Some(g.span))),
            });
        }
    }

    /// The report without intervals; `counts` (the prediction records' accounting) gets this
    /// evaluation's notes added.
    pub fn finish(self, counts: Counts) -> EvalReport {
        self.finish_with(counts, None).report
    }

    /// The report, with 95% intervals on every micro and macro F1 when `boot` is given, and
    /// the per-sample counts.
    pub fn finish_with(mut self, counts: Counts, boot: Option<Bootstrap>) -> Finished {
        let strict = CountTable { types: self.type_index.len(), samples: std::mem::take(&mut self.per_sample) };
        let archetypes = std::mem::take(&mut self.archetypes).finish();
        let mut report = self.into_report(counts);
        report.per_archetype = archetypes.as_ref().map(|a| a.tallies.scores());
        if let Some(boot) = boot {
            add_intervals(&mut report.overall, &strict, None, boot);
            for (dataset, scores) in &mut report.per_dataset {
                add_intervals(&mut scores.scores, &strict, Some(dataset), boot);
            }
            if let (Some(scores), Some(a)) = (&mut report.per_archetype, &archetypes) {
                add_intervals(scores, &a.table, None, boot);
            }
            report.bootstrap = Some(boot);
        }
        Finished { report, strict, archetypes: archetypes.map(|a| a.table) }
    }

    fn into_report(self, mut counts: Counts) -> EvalReport {
        for (what, n) in &self.notes {
            counts.note(what, *n);
        }
        let total: u64 = self.error_counts.values().sum();
        let mut examples = self.examples;
        let errors = ErrorType::ALL
            .iter()
            .map(|&kind| {
                let count = self.error_counts.get(&kind).copied().unwrap_or(0);
                ErrorSummary {
                    kind,
                    count,
                    share: if total == 0 { 0.0 } else { count as f64 / total as f64 },
                    examples: examples.remove(&kind).unwrap_or_default(),
                }
            })
            .collect();
        EvalReport {
            samples: self.samples,
            gold_entities: self.gold_entities,
            predicted_entities: self.predicted_entities,
            overall: self.overall.scores(),
            per_dataset: self
                .per_dataset
                .into_iter()
                .map(|(d, (samples, t))| (d, DatasetScores { samples, scores: t.scores() }))
                .collect(),
            errors,
            confusion: self.confusion.table(),
            unparseable: Vec::new(),
            counts,
            published: Vec::new(),
            per_archetype: None,
            placement: BTreeMap::new(),
            bootstrap: None,
        }
    }

    /// The confusion matrix so far (for the CSV and the heatmap).
    pub fn confusion(&self) -> &ConfusionMatrix {
        &self.confusion
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceFormat;

    fn sp(a: u32, b: u32) -> Span {
        Span::new(a, b).unwrap()
    }

    fn sample(dataset: &str, text: &str, ents: &[(u32, u32, &str)]) -> Sample {
        let mut s = Sample::new(format!("{dataset}/test/f:0"), dataset, SourceFormat::B2nerd, "test", "en", text);
        for &(a, b, l) in ents {
            s.entities.push(Entity::new(sp(a, b), l, &text[a as usize..b as usize]));
        }
        s
    }

    #[test]
    fn duplicates_count_once_and_are_noted() {
        let g = sample("d", "Ada met Bob", &[(0, 3, "PER"), (0, 3, "PER")]);
        let p = Predicted::at(sp(0, 3), "PER", "Ada");
        let mut e = Evaluation::default();
        e.add(&g, &[p.clone(), p], None);
        let r = e.finish(Counts::new("eval"));
        assert_eq!(r.overall.micro.tally, metrics::Tally { tp: 1, fp: 0, fn_: 0 });
        assert_eq!(r.counts.notes["duplicate_prediction"], 1);
        assert_eq!(r.counts.notes["duplicate_gold_entity"], 1);
    }

    #[test]
    fn unplaced_predictions_are_false_positives_and_ood_mentions() {
        let g = sample("d", "Ada met Bob", &[(0, 3, "PER")]);
        let p = Predicted { label: "PER".into(), text: "Milan".into(), placed: Placed::NotFound };
        let mut e = Evaluation::default();
        e.add(&g, &[Predicted::at(sp(0, 3), "PER", "Ada"), p], None);
        let r = e.finish(Counts::new("eval"));
        assert_eq!(r.overall.micro.tally, metrics::Tally { tp: 1, fp: 1, fn_: 0 });
        let ood = r.errors.iter().find(|s| s.kind == ErrorType::OodMention).unwrap();
        assert_eq!(ood.count, 1);
        assert_eq!(ood.share, 1.0);
        assert_eq!(ood.examples[0].predicted.as_ref().unwrap().mention, "Milan");
        assert_eq!(r.confusion.counts[r.confusion.rows.len() - 1][0], 1);
    }

    #[test]
    fn per_dataset_scores_are_kept_apart() {
        let a = sample("a", "Ada met Bob", &[(0, 3, "PER")]);
        let b = sample("b", "Rome", &[(0, 4, "LOC")]);
        let mut e = Evaluation::default();
        e.add(&a, &[Predicted::at(sp(0, 3), "PER", "Ada")], None);
        e.add(&b, &[], None);
        let r = e.finish(Counts::new("eval"));
        assert_eq!(r.per_dataset["a"].scores.micro.f1, 1.0);
        assert_eq!(r.per_dataset["b"].scores.micro.f1, 0.0);
        assert_eq!(r.per_dataset["b"].samples, 1);
        assert_eq!(r.overall.micro.f1, 2.0 * 1.0 * 0.5 / 1.5);
        assert_eq!(r.overall.macro_.f1, 0.5);
    }
}
