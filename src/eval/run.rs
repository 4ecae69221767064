//! `nerprep eval` end to end: read the predictions file, parse every answer through the
//! repair layer, place mention-only predictions with the readers' aligner, score them
//! against the gold table and write the report.
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
//! Mention-only answers are placed on the gold occurrence they name when there is one (a
//! listing cannot say which occurrence it means), else with the readers' aligner; see
//! [`place_mentions`].
//!
//! Which gold entities count: when the records say which labels they asked (`labels`),
//! only gold entities of those labels are expected (a label the instruction dropped cannot
//! be missed); the others are counted as `gold_entity_label_not_asked`.

use super::predictions::{read_record, PredictionRecord};
use super::report::{write_report, ReportError};
use crate::provenance::Provenance;
use super::{Evaluation, Placed, Predicted};
use crate::align::{align, reason, AlignOptions};
use crate::answer::repair::parse_llm;
use crate::answer::{AnswerContext, AnswerFormat, Fidelity, Prediction};
use crate::io::{for_each_json_line, IoError};
use crate::model::{CharIndex, Entity, Sample};
use crate::report::Counts;
use crate::table::{TableError, TableReader};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
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

/// Parameters of `eval` (flags and the recipe's `eval` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct EvalParams {
    /// The answers' format: b2ner, iepile, pile-ner, inline-bracket, inline-xml,
    /// json-grouped, json-occurrence, json-offset (required).
    #[arg(long, required = true)]
    pub answer_format: Option<AnswerFormat>,
}

impl crate::params::StageParams for EvalParams {
    const STAGE: &'static str = "eval";
    type Valid = EvalOptions;

    fn check(&self) -> Result<EvalOptions, crate::params::ParamsError> {
        let c = crate::params::Checker::new(Self::STAGE);
        let Some(format) = self.answer_format else {
            return Err(c.fail("answer_format", "is required (the format the predictions answer in)"));
        };
        Ok(EvalOptions::new(format))
    }
}

/// Options of [`evaluate`].
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The answer format of the predictions.
    pub format: AnswerFormat,
    /// How mention-only predictions are placed (the readers' defaults).
    pub align: AlignOptions,
}

impl EvalOptions {
    /// Options for `format` with the readers' alignment rules.
    pub fn new(format: AnswerFormat) -> EvalOptions {
        EvalOptions { format, align: AlignOptions::default() }
    }
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

/// Places mention-only listings (`(label, mention)` in answer order). A mention-only answer
/// cannot say which occurrence it means, so a listing whose label and mention equal a gold
/// entity's is placed on that entity's span: one listing per gold occurrence for formats
/// that repeat a mention per occurrence, one listing for all of them for `iepile` (which
/// lists each mention once). The other listings are placed with the readers' aligner (a
/// mention listed once means all its occurrences); one not found in the text is an OOD
/// mention.
fn place_mentions(
    gold: &Sample,
    listings: Vec<(String, String)>,
    format: AnswerFormat,
    options: &AlignOptions,
    counts: &mut Counts,
) -> Vec<Predicted> {
    let once_for_all = format.fidelity() == Fidelity::Distinct;
    let mut slots: BTreeMap<(String, String), VecDeque<&Entity>> = BTreeMap::new();
    let mut by_position: Vec<&Entity> = gold.entities.iter().collect();
    by_position.sort_by_key(|e| e.span);
    for e in by_position {
        slots.entry((e.label.clone(), e.text.trim().to_string())).or_default().push_back(e);
    }
    let mut out = Vec::new();
    let mut anchored: BTreeSet<(String, String)> = BTreeSet::new();
    let mut leftovers: Vec<(String, String)> = Vec::new();
    for (label, mention) in listings {
        let key = (label.clone(), mention.trim().to_string());
        match slots.get_mut(&key) {
            Some(q) if !q.is_empty() => {
                let take = if once_for_all { q.len() } else { 1 };
                for e in q.drain(..take) {
                    out.push(Predicted::at(e.span, label.clone(), mention.clone()));
                }
                anchored.insert(key);
            }
            _ if once_for_all && anchored.contains(&key) => counts.note("pred_repeated_listing", 1),
            _ => leftovers.push((label, mention)),
        }
    }
    if leftovers.is_empty() {
        return out;
    }
    let a = align(&gold.text, &leftovers, options);
    for (k, v) in &a.notes {
        counts.note(&format!("pred_{k}"), *v);
    }
    for e in a.entities {
        out.push(Predicted::at(e.span, e.label, e.text));
    }
    for u in a.unaligned {
        // A mention that is not in the text is a hallucination (OOD mention); the other
        // reasons are listings that add no span (repeats, duplicates), noted only.
        if u.reason == reason::NOT_FOUND || u.reason == reason::NOT_ON_TOKEN_BOUNDARY {
            out.push(Predicted { label: u.label, text: u.text, placed: Placed::NotFound });
        }
    }
    out
}

/// Turns parsed predictions into scored ones: spans checked against the text, labels that
/// differ from an asked label only by case repaired, mention-only ones placed
/// ([`place_mentions`]).
fn place(
    gold: &Sample,
    predictions: Vec<Prediction>,
    asked: Option<&[String]>,
    options: &EvalOptions,
    counts: &mut Counts,
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
        out.extend(place_mentions(gold, listings, options.format, &options.align, counts));
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

/// Scores `pred` (JSON Lines, see [`super::predictions`]) against the gold samples table
/// `gold`, reading answers as `options.format`, and writes the report files into `out_dir`.
pub fn evaluate(gold: &Path, pred: &Path, options: &EvalOptions, out_dir: &Path) -> Result<EvalOutcome, EvalError> {
    let mut counts = Counts::new("eval");
    let mut bad_lines = Vec::new();
    let mut pending = read_predictions(pred, options.format, &mut counts, &mut bad_lines)?;
    let mut eval = Evaluation::default();
    let mut unparseable = Vec::new();
    let mut reader = TableReader::<Sample>::open(gold)?;
    while let Some(batch) = reader.next_checked() {
        let batch = batch?;
        for q in &batch.rejected {
            // A gold row that is not a valid sample cannot be scored; its predictions then
            // show up as `unknown_sample`.
            counts.note(&format!("gold_invalid_row:{}", q.reason), 1);
            bad_lines.push(BadLine { line: 0, reason: format!("gold_invalid_row:{}", q.reason), message: format!("{}: row {}: {}", q.file, q.record.unwrap_or(0), q.message) });
        }
        for mut sample in batch.rows {
            let Some(records) = pending.remove(&sample.id) else {
                counts.note("gold_sample_without_prediction", 1);
                continue;
            };
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
            let placed = place(&sample, predictions, label_set, options, &mut counts);
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
    let mut report = eval.finish(counts);
    report.unparseable = unparseable;
    let mut provenance = Provenance::new("eval", crate::params::canonical_json(&EvalParams { answer_format: Some(options.format) }));
    provenance.inputs([gold, pred])?;
    provenance.counts = Some(report.counts.clone());
    let files = write_report(out_dir, &report, &confusion, provenance)?;
    Ok(EvalOutcome { report, files, bad_lines })
}
