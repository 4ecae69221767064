//! The emit stage: a samples table in, instruction JSONL for training out, plus the
//! `dataset_info.json` entry LLaMA-Factory reads.
//!
//! Data enters as the canonical table (read twice, streaming: once for the label pools of
//! [`pools`], once to render). Each sample becomes zero or more [`Record`]s through its
//! template (`b2ner`, `iepile`, `pile-ner`, `sam-archetype`, `sam-calibrate`); each answer is
//! written by [`crate::answer`] and parsed back before it is kept, so every emitted answer
//! round-trips to the entities it came from. Records leave through a [`container`]
//! (`alpaca` or `sharegpt`), each validated against its JSON Schema in `schemas/` before it
//! is written; the JSONL and `dataset_info.json` are written atomically.
//!
//! Every random choice (dynamic label sets, label dropout, negatives, schema order) comes
//! from a generator seeded by `(--seed, sample id)` ([`crate::rng`]), and batches are rendered in
//! parallel but written in table order: same table and seed, same bytes, on any number of
//! threads. A record's `id` is `{sample id}@{k}`, and it carries `sample_id`.
//!
//! Samples that cannot be emitted faithfully are skipped and counted by reason, never
//! silently: mentions the reader could not place (`unaligned_mentions`: the answer would
//! teach the model to miss them), spans that cross under an inline format
//! (`crossing_spans`), answers that would not parse back (`answer_not_round_tripping`),
//! and samples with nothing to ask.

mod b2ner;
pub mod container;
pub mod hard;
mod iepile;
pub mod params;
mod pile_ner;
pub mod pools;
mod prompts;
pub mod sam;
pub mod schema;

pub use params::{Container, EmitConfig, EmitParams, LangChoice, NegativeMode, Negatives, Template, ValidEmitParams};
pub use prompts::Lang;

use crate::answer::{self, AnswerContext, AnswerFormat, RenderError};
use crate::io::{AtomicFile, IoError};
use crate::progress::Progress;
use crate::provenance::Provenance;
use crate::model::{Entity, Sample};
use crate::report::Counts;
use crate::table::{TableError, TableReader};
use pools::Pools;
use rayon::prelude::*;
use crate::rng::Rng;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Emitting failed before or while writing (bad options, unreadable files, a bug caught by
/// record validation). Per-sample problems are not errors: they are counted skips.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The parameters break rules; all problems are listed.
    #[error(transparent)]
    Params(#[from] crate::params::ParamsError),
    /// A side file (descriptions, hard negatives, archetypes) could not be read.
    #[error("{}: {what}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the file was for.
        what: &'static str,
        /// What went wrong, with line when known.
        message: String,
    },
    /// A taxonomy file (archetypes, or a mapping used for descriptions) could not be used;
    /// the message names its file and line.
    #[error("{what}: {error}")]
    Taxonomy {
        /// What the file was for.
        what: &'static str,
        /// The taxonomy module's error (kept as text in the message, not repeated as a cause).
        error: crate::taxonomy::TaxonomyError,
    },
    /// The samples table could not be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// An output could not be written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A record failed its JSON Schema: an emit bug, so nothing is written.
    #[error("record {id} does not match {schema}: {}", errors.join("; "))]
    InvalidRecord {
        /// The record id.
        id: String,
        /// The schema file name.
        schema: &'static str,
        /// What did not match, with JSON paths.
        errors: Vec<String>,
    },
}

/// One user → assistant exchange of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// What the user says (the instruction, or a follow-up question).
    pub user: String,
    /// The expected reply.
    pub assistant: String,
    /// When the reply is an answer: the asked labels and the entities it must parse back to.
    pub check: Option<AnswerCheck>,
}

/// What an answer turn must parse back to.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerCheck {
    /// The labels the question asks for, in instruction order.
    pub labels: Vec<String>,
    /// The entities the answer writes.
    pub entities: Vec<Entity>,
}

/// One training record before it is put in a container.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `{sample id}@{k}`.
    pub id: String,
    /// The sample the record was made from.
    pub sample_id: String,
    /// Every label the record asks for.
    pub labels: Vec<String>,
    /// The exchanges, at least one; the last one is the answer to train on.
    pub turns: Vec<Turn>,
}

/// A sample that produced no record, and why (a count reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl Skip {
    fn new(reason: impl Into<String>) -> Skip {
        Skip(reason.into())
    }
}

/// What rendering one sample gave.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The records, in order.
    pub records: Vec<Record>,
    /// Things tolerated on the way (`labels_dropped`, `unmapped_entities`, …).
    pub notes: BTreeMap<&'static str, u64>,
}

impl Rendered {
    fn note(&mut self, what: &'static str, n: u64) {
        if n > 0 {
            *self.notes.entry(what).or_default() += n;
        }
    }
}

/// What an emit run did.
#[derive(Debug, Clone)]
pub struct EmitOutcome {
    /// Samples read, written (≥ 1 record) and skipped by reason; notes include `records`.
    pub counts: Counts,
    /// The JSONL written.
    pub output: PathBuf,
    /// The `dataset_info.json` written or updated beside it.
    pub dataset_info: PathBuf,
    /// The dataset's name in `dataset_info.json`.
    pub dataset_name: String,
}

/// The prompt language for a sample.
fn lang_of(config: &EmitConfig, sample: &Sample) -> Lang {
    match config.lang {
        LangChoice::En => Lang::En,
        LangChoice::Zh => Lang::Zh,
        LangChoice::Auto if sample.lang.starts_with("zh") && matches!(config.template, Template::B2ner | Template::Iepile) => {
            Lang::Zh
        }
        LangChoice::Auto => Lang::En,
    }
}

/// The `unaligned` reason of B2NERD mentions typed `NA` or empty: upstream drops them as
/// non-entities, so they do not make a sample's answer incomplete.
const NOT_AN_ENTITY: &str = "na_type";

/// Turns one sample into its records. Pure: the result depends only on the arguments, so
/// samples can be rendered in any order and on any thread.
pub fn render_sample(config: &EmitConfig, pools: &Pools, sample: &Sample) -> Result<Rendered, Skip> {
    if sample.text.is_empty() {
        return Err(Skip::new("empty_text"));
    }
    if sample.unaligned.iter().any(|u| u.reason != NOT_AN_ENTITY) {
        return Err(Skip::new("unaligned_mentions"));
    }
    let mut rng = Rng::for_sample(config.seed, &sample.id);
    let lang = lang_of(config, sample);
    let mut out = Rendered::default();
    let records = match config.template {
        Template::B2ner => b2ner::records(config, pools, sample, lang, &mut rng, &mut out)?,
        Template::Iepile => iepile::records(config, pools, sample, lang, &mut rng, &mut out)?,
        Template::PileNer => pile_ner::records(config, pools, sample, &mut rng, &mut out)?,
        Template::SamArchetype => sam::archetype_records(config, sample, &mut out)?,
        Template::SamCalibrate => sam::calibrate_records(config, pools, sample, &mut out)?,
    };
    for record in &records {
        for turn in &record.turns {
            if let Some(check) = &turn.check {
                let ctx = AnswerContext { text: &sample.text, labels: &check.labels };
                if !answer::round_trips(config.format, ctx, &check.entities, &turn.assistant) {
                    return Err(Skip::new(format!("answer_not_round_tripping:{}", config.format)));
                }
            }
        }
    }
    out.records = records;
    Ok(out)
}

/// Renders the answer for `entities` under `labels`, mapping render errors to skips.
fn render_answer(format: AnswerFormat, text: &str, labels: &[String], entities: &[Entity]) -> Result<String, Skip> {
    let ctx = AnswerContext { text, labels };
    answer::render(format, ctx, entities).map_err(|e| match e {
        // What the data can hold: a reason of its own. Anything else would be an emit bug.
        RenderError::CrossingSpans { .. } | RenderError::EmptySpan { .. } => Skip::new(render_error_code(&e)),
        _ => Skip::new(format!("render_failed:{}", render_error_code(&e))),
    })
}

fn render_error_code(e: &RenderError) -> &'static str {
    match e {
        RenderError::CrossingSpans { .. } => "crossing_spans",
        RenderError::EmptySpan { .. } => "empty_span",
        RenderError::OutsideText { .. } => "outside_text",
        RenderError::LabelNotAsked { .. } => "label_not_asked",
        RenderError::OneLabel { .. } => "one_label",
    }
}

/// The distinct labels of `entities` in order of first appearance in the text.
fn present_labels(entities: &[Entity]) -> Vec<String> {
    let mut sorted: Vec<&Entity> = entities.iter().collect();
    sorted.sort_by_key(|e| (e.span.start(), std::cmp::Reverse(e.span.end())));
    let mut out: Vec<String> = Vec::new();
    for e in sorted {
        if !out.contains(&e.label) {
            out.push(e.label.clone());
        }
    }
    out
}

/// How many negatives `--neg-ratio p` asks: like IEPile's `negative_sample`, a
/// Binomial(pool size, p) count, at least one when the sample has no entity.
fn negative_count(rng: &mut Rng, pool: usize, p: f64, has_positives: bool) -> usize {
    let k = rng.binomial(pool, p);
    if has_positives { k } else { k.max(1) }
}

/// Reads the label pools of a table (the first of emit's two passes).
pub fn scan_pools(input: &Path) -> Result<Pools, EmitError> {
    let mut pools = Pools::default();
    let mut reader = TableReader::<Sample>::open(input)?;
    // Invalid rows are counted when the samples are rendered; they add nothing to the pools.
    while let Some(batch) = reader.next_checked() {
        for s in &batch?.rows {
            pools.add(s);
        }
    }
    pools.finish();
    Ok(pools)
}

/// Emits `input` as JSONL to `output` and writes or updates `dataset_info.json` beside it.
///
/// # Example
/// ```
/// use nerprep::emit::{emit, EmitParams, Template};
/// use nerprep::model::{Entity, Sample, SourceFormat, Span};
/// use nerprep::table::TableWriter;
/// let dir = tempfile::tempdir().unwrap();
/// let table = dir.path().join("s.parquet");
/// let mut s = Sample::new("d/train/f:0", "d", SourceFormat::Crossner, "train", "en", "Barak left");
/// s.entities.push(Entity::new(Span::new(0, 5).unwrap(), "person", "Barak"));
/// let mut w = TableWriter::<Sample>::create(&table).unwrap();
/// w.push(s).unwrap();
/// w.finish(nerprep::provenance::Provenance::new("example", serde_json::json!({}))).unwrap();
/// let config = EmitParams::new(Template::B2ner).load().unwrap();
/// let out = dir.path().join("train.jsonl");
/// let outcome = emit(&table, &out, &config, &nerprep::progress::NoProgress).unwrap();
/// assert_eq!(outcome.counts.written, 1);
/// let line = std::fs::read_to_string(&out).unwrap();
/// assert!(line.contains(r#""output":"person: Barak""#));
/// assert!(dir.path().join("dataset_info.json").exists());
/// ```
pub fn emit(input: &Path, output: &Path, config: &EmitConfig, progress: &dyn Progress) -> Result<EmitOutcome, EmitError> {
    let pools = scan_pools(input)?;
    let validator = schema::RecordValidator::for_container(config.container);
    let mut counts = Counts::new("emit");
    let mut records_written = 0u64;
    let mut jsonl = AtomicFile::create(output)?;
    progress.start(None, crate::progress::Unit::Items);
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut jsonl);
        let io = |e: std::io::Error| EmitError::Io(IoError::new(output, e));
        let mut reader = TableReader::<Sample>::open(input)?;
        while let Some(batch) = reader.next_checked() {
            let batch = batch?;
            for q in &batch.rejected {
                counts.read += 1;
                counts.skip(&format!("invalid_row:{}", q.reason), 1);
            }
            let rendered: Vec<Result<Rendered, Skip>> =
                batch.rows.par_iter().map(|s| render_sample(config, &pools, s)).collect();
            progress.advance(rendered.len() as u64);
            for result in rendered {
                counts.read += 1;
                match result {
                    Err(Skip(reason)) => counts.skip(&reason, 1),
                    Ok(r) => {
                        counts.written += 1;
                        for (what, n) in &r.notes {
                            counts.note(what, *n);
                        }
                        for record in &r.records {
                            let value = container::to_json(config.container, record, config.system.as_deref());
                            validator.validate(&record.id, &value)?;
                            serde_json::to_writer(&mut w, &value).map_err(|e| io(e.into()))?;
                            w.write_all(b"\n").map_err(io)?;
                            records_written += 1;
                        }
                    }
                }
            }
        }
        w.flush().map_err(io)?;
    }
    progress.finish();
    counts.note("records", records_written);
    let dataset_name = config.dataset_name.clone().unwrap_or_else(|| container::default_dataset_name(output));
    let mut provenance = Provenance::of(&config.params);
    let p = &config.params;
    let side_files = [&p.label_descriptions, &p.hard_negatives, &p.archetypes];
    provenance.inputs(std::iter::once(input).chain(side_files.into_iter().flatten().map(PathBuf::as_path)))?;
    provenance.counts = Some(counts.clone());
    let dataset_info = container::commit_with_dataset_info(jsonl, &dataset_name, config, provenance)?;
    debug_assert!(counts.check().is_ok());
    Ok(EmitOutcome { counts, output: output.to_path_buf(), dataset_info, dataset_name })
}

/// Reads a JSON or YAML file (by extension; YAML for `.yaml`/`.yml`) into a JSON value.
fn read_json_or_yaml(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    if yaml {
        serde_norway::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }
}

/// Reads label descriptions with [`crate::taxonomy::definitions`] (a taxonomy mapping file
/// or a plain JSON/YAML map `label: description`).
pub fn load_descriptions(path: &Path) -> Result<BTreeMap<String, String>, EmitError> {
    crate::taxonomy::definitions(path).map_err(|error| EmitError::Taxonomy { what: "label descriptions", error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceFormat, Span, Unaligned};

    fn sample(text: &str, entities: &[(u32, u32, &str)]) -> Sample {
        let mut s = Sample::new("d/train/f:0", "d", SourceFormat::B2nerd, "train", "en", text);
        let index = crate::model::CharIndex::new(text);
        for &(a, b, label) in entities {
            let span = Span::new(a, b).unwrap();
            s.entities.push(Entity::new(span, label, index.slice(text, span).unwrap()));
        }
        s
    }

    fn pools_of(samples: &[&Sample]) -> Pools {
        let mut p = Pools::default();
        for s in samples {
            p.add(s);
        }
        p.finish();
        p
    }

    #[test]
    fn samples_that_cannot_be_emitted_faithfully_are_skipped_with_a_reason() {
        let config = EmitParams::new(Template::B2ner).load().unwrap();
        let empty = sample("", &[]);
        assert_eq!(render_sample(&config, &pools_of(&[&empty]), &empty).unwrap_err(), Skip::new("empty_text"));
        let mut lost = sample("Barak left", &[(0, 5, "person")]);
        lost.unaligned.push(Unaligned { label: "person".into(), text: "Peres".into(), reason: "not_found".into() });
        assert_eq!(render_sample(&config, &pools_of(&[&lost]), &lost).unwrap_err(), Skip::new("unaligned_mentions"));
        lost.unaligned[0].reason = NOT_AN_ENTITY.into();
        assert!(render_sample(&config, &pools_of(&[&lost]), &lost).is_ok(), "NA-typed mentions are not entities");
        let crossing = sample("New York City Hall", &[(0, 8, "city"), (4, 13, "place")]);
        let mut p = EmitParams::new(Template::B2ner);
        p.answer_format = Some(AnswerFormat::InlineXml);
        let inline = p.load().unwrap();
        assert_eq!(render_sample(&inline, &pools_of(&[&crossing]), &crossing).unwrap_err(), Skip::new("crossing_spans"));
        assert!(render_sample(&config, &pools_of(&[&crossing]), &crossing).is_ok(), "b2ner writes crossing spans");
    }

    #[test]
    fn rendering_is_a_pure_function_of_sample_and_seed() {
        let s = sample("Barak met Peres in Paris", &[(0, 5, "person"), (10, 15, "person"), (19, 24, "location")]);
        let mut other = sample("x", &[]);
        other.label_set = (0..20).map(|i| format!("l{i}")).collect();
        let pools = pools_of(&[&s, &other]);
        let mut p = EmitParams::new(Template::B2ner);
        p.dynamic_label_set = true;
        p.label_dropout = 0.3;
        p.seed = 5;
        let config = p.load().unwrap();
        let a = render_sample(&config, &pools, &s).unwrap();
        assert_eq!(a.records, render_sample(&config, &pools, &s).unwrap().records);
        let mut p = EmitParams::new(Template::B2ner);
        p.dynamic_label_set = true;
        p.label_dropout = 0.3;
        p.seed = 6;
        let other_seed = p.load().unwrap();
        let differs = (0..20).any(|i| {
            let mut t = s.clone();
            t.id = format!("d/train/f:{i}");
            render_sample(&config, &pools, &t).unwrap().records[0].labels
                != render_sample(&other_seed, &pools, &t).unwrap().records[0].labels
        });
        assert!(differs);
    }

    #[test]
    fn pile_ner_ratio_negatives_come_from_the_global_pool() {
        let s = sample("Barak left", &[(0, 5, "person")]);
        let mut elsewhere = sample("Mars shines", &[(0, 4, "planet")]);
        elsewhere.dataset = "astro".into();
        let pools = pools_of(&[&s, &elsewhere]);
        let mut p = EmitParams::new(Template::PileNer);
        p.neg_ratio = Some(1.0);
        let config = p.load().unwrap();
        let r = render_sample(&config, &pools, &s).unwrap();
        let mut asked = r.records[0].labels.clone();
        asked.sort();
        assert_eq!(asked, ["person", "planet"], "a label of another dataset, drawn by frequency");
        assert_eq!(r.records[0].turns.len(), 3);
    }

    #[test]
    fn descriptions_come_from_the_taxonomy_loader_and_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("d.json");
        std::fs::write(&json, r#"{"person": 3}"#).unwrap();
        let err = load_descriptions(&json).unwrap_err().to_string();
        assert!(err.starts_with("label descriptions: ") && err.contains("d.json:1") && err.contains("\"person\""), "{err}");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/crossner.yaml");
        assert_eq!(load_descriptions(&path).unwrap(), crate::taxonomy::definitions(&path).unwrap());
    }
}
