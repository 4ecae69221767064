//! `nerprep eval` end to end: read the predictions file, parse every answer through the
//! repair layer, place mention-only listings in the text, score them against the gold table
//! (strict, and the published scorers asked for) and write the report.
//!
//! Predictions are read into memory grouped by sample (they are answers for a test set);
//! the gold table is streamed batch by batch and each sample with predictions is scored as
//! it passes. Accounting: `read` = prediction lines, `written` = lines scored, quarantined =
//! lines that are not usable records (`json_syntax`, `bad_record`) or name no gold sample
//! (`unknown_sample`). An answer that cannot be parsed even after repairs is not bad input
//! but a model error: its line is scored as predicting nothing and counted as
//! `unparseable_answer`, with examples in the report. Gold samples without any prediction
//! are not scored (`gold_sample_without_prediction`).
//!
//! Mention-only answers are placed one prediction per listing, on a gold occurrence of the
//! mention when there is one, else with the readers' aligner; see [`super::placement`].
//! The published scorers ([`super::published`]) read the raw answers of the same records.
//! Two prediction files are compared with [`compare_predictions`]: each is scored as above,
//! then the paired bootstrap tests their difference ([`super::compare`]).
//!
//! Which gold entities count: when the records say which labels they asked (`labels`),
//! only gold entities of those labels are expected (a label the instruction dropped cannot
//! be missed); the others are counted as `gold_entity_label_not_asked`.

use super::bootstrap::CountTable;
use super::compare::{compare, write_comparison, Comparison, Scored as ComparedScores};
use super::confusion::ConfusionMatrix;
use super::params::EvalOptions;
use super::placement::{place_listings, RuleCounts};
use super::predictions::{read_record, PredictionRecord};
use super::published::{Published, PublishedScoring};
use super::report::{write_report, ReportError};
use super::{Evaluation, Finished, Placed, Predicted};
use crate::answer::repair::parse_llm;
use crate::answer::{AnswerContext, AnswerFormat, Fidelity, Prediction};
use crate::io::{for_each_json_line, IoError};
use crate::model::{CharIndex, Sample};
use crate::provenance::Provenance;
use crate::report::Counts;
use crate::table::{TableError, TableReader};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How many unparseable answers are shown in the report.
const UNPARSEABLE_EXAMPLES: usize = 5;

/// A failure that stops the evaluation (bad prediction lines are counted instead).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The predictions file could not be read.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The gold table could not be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// A prediction line that could not be used, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    /// 1-based line in the predictions file.
    pub line: u64,
    /// Reason code.
    pub reason: String,
    /// What was expected.
    pub message: String,
}

/// An answer the parsers could not read, even after repairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnparseableAnswer {
    /// The record id.
    pub record: String,
    /// 1-based line in the predictions file.
    pub line: u64,
    /// What the strict parser expected.
    pub error: String,
    /// The answer (cut to 300 characters).
    pub answer: String,
}

/// What an evaluation did.
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    /// The report (also written to the output directory).
    pub report: super::EvalReport,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Every prediction line that could not be used.
    pub bad_lines: Vec<BadLine>,
}

fn read_predictions(
    path: &Path,
    format: AnswerFormat,
    counts: &mut Counts,
    bad: &mut Vec<BadLine>,
) -> Result<BTreeMap<String, Vec<PredictionRecord>>, EvalError> {
    let mut by_sample: BTreeMap<String, Vec<PredictionRecord>> = BTreeMap::new();
    for_each_json_line(path, |line_no, text| -> Result<(), EvalError> {
        counts.read += 1;
        let parsed = text
            .map_err(|e| ("invalid_utf8", format!("the line is not UTF-8 ({e}); convert the file to UTF-8")))
            .and_then(|text| serde_json::from_str(text).map_err(|e| ("json_syntax", format!("expected one JSON object per line: {e}"))))
            .and_then(|v| read_record(&v, line_no, format).map_err(|m| ("bad_record", m)));
        match parsed {
            Ok(r) => by_sample.entry(r.sample_id.clone()).or_default().push(r),
            Err((reason, message)) => {
                counts.quarantine(reason);
                bad.push(BadLine { line: line_no, reason: reason.to_string(), message });
            }
        }
        Ok(())
    })?;
    Ok(by_sample)
}

/// The labels asked across a sample's records, in first-asked order; `None` when no record
/// says.
fn asked_labels(records: &[PredictionRecord]) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut any = false;
    for r in records {
        let lists = r.labels.iter().chain(r.answers.iter().filter_map(|a| a.labels.as_ref()));
        for l in lists.flatten() {
            any = true;
            if !out.contains(l) {
                out.push(l.clone());
            }
        }
    }
    any.then_some(out)
}

/// Turns parsed predictions into scored ones: spans checked against the text, labels that
/// differ from an asked label only by case repaired, mention-only ones placed
/// ([`place_listings`]).
fn place(
    gold: &Sample,
    predictions: Vec<Prediction>,
    asked: Option<&[String]>,
    options: &EvalOptions,
    counts: &mut Counts,
    rules: &mut RuleCounts,
) -> Vec<Predicted> {
    let index = CharIndex::new(&gold.text);
    let mut out = Vec::with_capacity(predictions.len());
    let mut listings: Vec<(String, String)> = Vec::new();
    let spans_fixed = options.format.fidelity() == Fidelity::Spans;
    for mut p in predictions {
        if let Some(set) = asked
            && !set.contains(&p.label)
            && let Some(l) = set.iter().find(|l| l.to_lowercase() == p.label.to_lowercase())
        {
            p.label = l.clone();
            counts.note("repair:label_case", 1);
        }
        match (p.span, spans_fixed) {
            (Some(span), _) => match index.slice(&gold.text, span) {
                Some(found) => {
                    if found != p.mention {
                        counts.note("offset_text_mismatch", 1);
                    }
                    out.push(Predicted { label: p.label, text: p.mention, placed: Placed::At(span) });
                }
                None => {
                    counts.note("offset_outside_text", 1);
                    out.push(Predicted { label: p.label, text: p.mention, placed: Placed::NotFound });
                }
            },
            (None, true) => {
                // json-occurrence naming an occurrence the text does not have.
                counts.note("occurrence_not_in_text", 1);
                out.push(Predicted { label: p.label, text: p.mention, placed: Placed::NotFound });
            }
            (None, false) => listings.push((p.label, p.mention)),
        }
    }
    if !listings.is_empty() {
        out.extend(place_listings(gold, listings, options.format, &options.align, counts, rules));
    }
    out
}

/// The labels a record that does not say was asked about: the sample's label set, else the
/// labels of its gold entities.
fn default_labels(sample: &Sample) -> Vec<String> {
    if sample.label_set.is_empty() {
        let labels: BTreeSet<&String> = sample.entities.iter().map(|e| &e.label).collect();
        labels.into_iter().cloned().collect()
    } else {
        sample.label_set.clone()
    }
}

/// Parses every answer of one sample's records through the repair layer, counting the
/// repairs and keeping the first unparseable answers (which predict nothing) for the report.
fn parse_records(
    sample: &Sample,
    records: &[PredictionRecord],
    fallback: &[String],
    format: AnswerFormat,
    counts: &mut Counts,
    unparseable: &mut Vec<UnparseableAnswer>,
) -> Vec<Prediction> {
    let mut predictions = Vec::new();
    for r in records {
        for answer in &r.answers {
            let labels = answer.labels.as_deref().or(r.labels.as_deref()).unwrap_or(fallback);
            let ctx = AnswerContext { text: &sample.text, labels };
            match parse_llm(format, ctx, &answer.text) {
                Ok(parsed) => {
                    for repair in parsed.repairs {
                        counts.note(&format!("repair:{repair}"), 1);
                    }
                    predictions.extend(parsed.predictions);
                }
                Err(e) => {
                    counts.note("unparseable_answer", 1);
                    if matches!(e, crate::answer::ParseError::TooDeep { .. }) {
                        counts.note("repair:too_deep", 1);
                    }
                    if unparseable.len() < UNPARSEABLE_EXAMPLES {
                        unparseable.push(UnparseableAnswer {
                            record: r.id.clone(),
                            line: r.line,
                            error: e.to_string(),
                            answer: super::cut(&answer.text),
                        });
                    }
                }
            }
        }
    }
    predictions
}

/// One predictions file scored against the gold table, nothing written yet.
struct ScoredFile {
    finished: Finished,
    confusion: ConfusionMatrix,
    published: Vec<(Published, CountTable)>,
    bad_lines: Vec<BadLine>,
}

/// Reports the gold rows that are not valid samples (they cannot be scored; their
/// predictions show up as `unknown_sample`).
fn note_invalid_gold(rejected: &[crate::model::QuarantineRecord], counts: &mut Counts, bad_lines: &mut Vec<BadLine>) {
    for q in rejected {
        counts.note(&format!("gold_invalid_row:{}", q.reason), 1);
        bad_lines.push(BadLine {
            line: 0,
            reason: format!("gold_invalid_row:{}", q.reason),
            message: format!("{}: row {}: {}", q.file, q.record.unwrap_or(0), q.message),
        });
    }
}

/// Scores `pred` against the streamed gold table `gold` with every scorer of `options`.
fn score_file(gold: &Path, pred: &Path, options: &EvalOptions) -> Result<ScoredFile, EvalError> {
    let mut counts = Counts::new("eval");
    let mut bad_lines = Vec::new();
    let mut pending = read_predictions(pred, options.format, &mut counts, &mut bad_lines)?;
    let mut eval = Evaluation::default();
    let mut published: Vec<PublishedScoring> = options.published.iter().map(|p| PublishedScoring::new(*p)).collect();
    let mut rules = RuleCounts::default();
    let mut unparseable = Vec::new();
    let mut reader = TableReader::<Sample>::open(gold)?;
    while let Some(batch) = reader.next_checked() {
        let batch = batch?;
        note_invalid_gold(&batch.rejected, &mut counts, &mut bad_lines);
        for mut sample in batch.rows {
            let Some(records) = pending.remove(&sample.id) else {
                counts.note("gold_sample_without_prediction", 1);
                continue;
            };
            for scorer in &mut published {
                scorer.add(&sample, &records);
            }
            let asked = asked_labels(&records);
            let fallback = default_labels(&sample);
            counts.written += records.len() as u64;
            let predictions = parse_records(&sample, &records, &fallback, options.format, &mut counts, &mut unparseable);
            if !sample.unaligned.is_empty() {
                counts.note("gold_unaligned_mention", sample.unaligned.len() as u64);
            }
            if let Some(asked) = &asked {
                let before = sample.entities.len();
                sample.entities.retain(|e| asked.contains(&e.label));
                counts.note("gold_entity_label_not_asked", (before - sample.entities.len()) as u64);
            }
            let label_set = asked.unwrap_or(fallback);
            let label_set = (!label_set.is_empty()).then_some(label_set.as_slice());
            let placed = place(&sample, predictions, label_set, options, &mut counts, &mut rules);
            eval.add(&sample, &placed, label_set);
        }
    }
    for (sample_id, records) in pending {
        for r in records {
            counts.quarantine("unknown_sample");
            bad_lines.push(BadLine {
                line: r.line,
                reason: "unknown_sample".into(),
                message: format!("sample {sample_id:?} is not in the gold table"),
            });
        }
    }
    bad_lines.sort_by_key(|b| b.line);
    let confusion = eval.confusion().clone();
    let mut finished = eval.finish_with(counts, options.bootstrap);
    finished.report.unparseable = unparseable;
    finished.report.placement = rules.table();
    let tables = finish_published(published, options, &mut finished.report);
    Ok(ScoredFile { finished, confusion, published: tables, bad_lines })
}

/// Adds the published scorers' scores (with intervals) to `report`; their per-sample counts.
fn finish_published(published: Vec<PublishedScoring>, options: &EvalOptions, report: &mut super::EvalReport) -> Vec<(Published, CountTable)> {
    let mut tables = Vec::new();
    for scorer in published {
        let (mut scores, samples) = scorer.finish();
        let table = CountTable { types: 1, samples };
        if let Some(boot) = options.bootstrap {
            scores.micro.f1_interval = table.intervals(None, boot).map(|i| i.0);
            for (dataset, prf) in &mut scores.per_dataset {
                prf.f1_interval = table.intervals(Some(dataset), boot).map(|i| i.0);
            }
        }
        tables.push((scores.scorer, table));
        report.published.push(scores);
    }
    tables
}

/// The provenance of a report on `inputs` (the gold table first).
fn provenance(options: &EvalOptions, inputs: &[&Path], counts: &Counts) -> Result<Provenance, EvalError> {
    let mut provenance = Provenance::new("eval", crate::params::canonical_json(&options.params));
    provenance.inputs(inputs.iter().copied())?;
    provenance.counts = Some(counts.clone());
    Ok(provenance)
}

/// Writes one scored file's report into `out_dir`.
fn write_scored(scored: ScoredFile, gold: &Path, pred: &Path, options: &EvalOptions, out_dir: &Path) -> Result<(EvalOutcome, ScoredTables), EvalError> {
    let report = scored.finished.report;
    let files = write_report(out_dir, &report, &scored.confusion, provenance(options, &[gold, pred], &report.counts)?)?;
    let tables = ScoredTables { strict: scored.finished.strict, archetypes: scored.finished.archetypes, published: scored.published };
    Ok((EvalOutcome { report, files, bad_lines: scored.bad_lines }, tables))
}

/// The per-sample counts of one scored file, by scorer.
struct ScoredTables {
    strict: CountTable,
    archetypes: Option<CountTable>,
    published: Vec<(Published, CountTable)>,
}

impl ScoredTables {
    /// Every scorer's counts, named, with whether its macro F1 means anything.
    fn named(&self) -> Vec<ComparedScores<'_>> {
        let mut out = vec![ComparedScores { scorer: "strict", table: &self.strict, macro_too: true }];
        if let Some(a) = &self.archetypes {
            out.push(ComparedScores { scorer: "strict per archetype", table: a, macro_too: true });
        }
        for (p, table) in &self.published {
            out.push(ComparedScores { scorer: p.as_str(), table, macro_too: false });
        }
        out
    }
}

/// Scores `pred` (JSON Lines, see [`super::predictions`]) against the gold samples table
/// `gold`, reading answers as `options.format`, and writes the report files into `out_dir`.
pub fn evaluate(gold: &Path, pred: &Path, options: &EvalOptions, out_dir: &Path) -> Result<EvalOutcome, EvalError> {
    let scored = score_file(gold, pred, options)?;
    Ok(write_scored(scored, gold, pred, options, out_dir)?.0)
}

/// What comparing two prediction files did.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// The first file's evaluation (report in `OUT/a/`).
    pub a: EvalOutcome,
    /// The second file's evaluation (report in `OUT/b/`).
    pub b: EvalOutcome,
    /// The paired tests (`OUT/comparison.md`, `OUT/comparison.json`).
    pub comparison: Comparison,
    /// The comparison files written.
    pub files: Vec<PathBuf>,
}

/// Scores prediction files `a` and `b` against `gold` (reports in `out_dir/a/` and
/// `out_dir/b/`) and tests the difference of every scorer's F1 with the paired bootstrap
/// (`out_dir/comparison.md` and `.json`). Without a bootstrap (`--bootstrap 0`) the
/// comparison lists the two scores and their difference only.
pub fn compare_predictions(gold: &Path, a: &Path, b: &Path, options: &EvalOptions, out_dir: &Path) -> Result<CompareOutcome, EvalError> {
    let (outcome_a, tables_a) = write_scored(score_file(gold, a, options)?, gold, a, options, &out_dir.join("a"))?;
    let (outcome_b, tables_b) = write_scored(score_file(gold, b, options)?, gold, b, options, &out_dir.join("b"))?;
    let comparison = compare(&a.display().to_string(), &tables_a.named(), &b.display().to_string(), &tables_b.named(), options.bootstrap);
    let mut counts = outcome_a.report.counts.clone();
    counts.absorb(&outcome_b.report.counts);
    let files = write_comparison(out_dir, &comparison, provenance(options, &[gold, a, b], &counts)?)?;
    Ok(CompareOutcome { a: outcome_a, b: outcome_b, comparison, files })
}
