//! The `prune` stage: diversity-aware data pruning (B2NER, seed 002 §3.2, §5.4, App. B.4).
//!
//! One or more samples tables and the text-embeddings side table(s) `nerprep embed` wrote
//! for them enter; samples are joined to their vectors by id (a sample without one is an
//! error, or dropped as `missing_embedding` with [`Missing::Skip`]). [`algorithm::prune`]
//! decides every sample; three outputs leave together:
//! - the pruned samples table (same schema, the kept samples in input order),
//! - the decisions side table `NAME.decisions.parquet`, one row per input sample:
//!   `id`, `dataset`, `kept`, `reason`, `pools` (the labels whose pools took it, `(negative)`
//!   for the negatives pool), `max_similarity`,
//! - the summary `NAME.summary.json` (with its provenance sidecar): per dataset and label,
//!   raw and kept counts, the pool size and the mean pairwise cosine of the pool against a
//!   seeded random pick of the same size from the label's samples (the diversity gain).
//!
//! Counts: `read` samples = `written` (kept) + skipped by reason; nothing goes unaccounted.

pub mod algorithm;
pub mod error;
pub mod params;

pub use algorithm::{Candidate, Decision, Draws, Hashed, Names, PoolSummary, Pruning, Reason, Vectors, NEGATIVES};
pub use error::PruneError;
pub use params::{Missing, PruneParams, Rule, Strategy, ValidPruneParams};

use algorithm::scale_into;
use crate::embed::stage::{DIM_KEY, WHAT_KEY};
use crate::io::{side_path, write_atomic};
use crate::model::schema::{batch_to_samples, samples_schema, samples_to_batch};
use crate::model::Sample;
use crate::progress::Progress;
use crate::provenance::Provenance;
use crate::report::Counts;
use crate::table::side::{index_by_id, join};
use crate::table::vectors::read_float_vectors_with;
use crate::table::{commit_all, BatchWriter, TableReader};
use arrow_array::builder::{BooleanBuilder, Float32Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the negatives pool is named in the decisions table and the summary.
pub const NEGATIVES_NAME: &str = "(negative)";
/// Examples of samples without an embedding named in the error.
const MISSING_EXAMPLES: usize = 5;

/// Where [`prune_tables`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneOutputs {
    /// The pruned samples table.
    pub samples: PathBuf,
    /// The decisions side table.
    pub decisions: PathBuf,
    /// The JSON summary.
    pub summary: PathBuf,
}

impl PruneOutputs {
    /// The outputs of `-o output`: `x.parquet`, `x.decisions.parquet`, `x.summary.json`.
    pub fn of(output: &Path) -> PruneOutputs {
        let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        PruneOutputs {
            samples: output.to_path_buf(),
            decisions: side_path(output, "decisions"),
            summary: output.with_file_name(format!("{stem}.summary.json")),
        }
    }
}

/// One row of the summary, with names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    /// The dataset.
    pub dataset: String,
    /// The label, or [`NEGATIVES_NAME`] for samples without entities.
    pub label: String,
    /// Samples with this label in the input.
    pub raw: usize,
    /// Of those, kept.
    pub kept: usize,
    /// Taken by this label's pool.
    pub pool: usize,
    /// Mean pairwise cosine of the pool (null under two vectors).
    pub pool_similarity: Option<f64>,
    /// Mean pairwise cosine of a seeded random pick of as many of the label's samples.
    pub random_similarity: Option<f64>,
}

/// The JSON summary of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The strategy used.
    pub strategy: String,
    /// Samples read, kept, and dropped by reason.
    pub counts: Counts,
    /// One row per pool, by dataset then label.
    pub pools: Vec<SummaryRow>,
}

/// What [`prune_tables`] did.
#[derive(Debug, Clone)]
pub struct PruneOutcome {
    /// Where it wrote.
    pub outputs: PruneOutputs,
    /// The summary (also in the JSON file).
    pub summary: Summary,
}

/// The samples and vectors of a run, joined.
#[derive(Debug)]
pub struct Loaded {
    /// One candidate per input sample, in input order.
    pub candidates: Vec<Candidate>,
    /// Dataset and label names.
    pub names: Names,
    /// The vectors (rows used by candidates are unit length).
    pub vectors: Vectors,
    /// Embeddings of no input sample.
    pub unused_embeddings: usize,
}

/// Prunes the samples of `inputs` with the embeddings of `emb`, writing [`PruneOutputs::of`]
/// `output`; see the module docs.
pub fn prune_tables(
    inputs: &[PathBuf],
    emb: &[PathBuf],
    output: &Path,
    params: &ValidPruneParams,
    progress: &dyn Progress,
) -> Result<PruneOutcome, PruneError> {
    // Digesting the inputs for the provenance reads them a second time: it runs beside the
    // load instead of after it.
    let (loaded, provenance) = rayon::join(
        || load(inputs, emb, params.missing),
        || {
            let mut provenance = Provenance::of(&params.params);
            provenance.inputs(inputs.iter().chain(emb).map(PathBuf::as_path)).map(|()| provenance)
        },
    );
    let (loaded, mut provenance) = (loaded?, provenance?);
    let pruning = algorithm::prune(&loaded.candidates, &loaded.names, &loaded.vectors, params, &Hashed { seed: params.seed }, progress);
    let counts = counts_of(&pruning, loaded.unused_embeddings);
    let outputs = PruneOutputs::of(output);
    provenance.counts = Some(counts.clone());
    let (samples, decisions) = rayon::join(
        || write_samples(inputs, &outputs.samples, &pruning.decisions, provenance.clone()),
        || write_decisions(&outputs.decisions, &loaded, &pruning.decisions, provenance.clone()),
    );
    commit_all(vec![samples?, decisions?])?;
    let summary = Summary { strategy: params.params.strategy.as_str().into(), counts, pools: name_summary(&loaded.names, &pruning.summary) };
    let mut json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    json.push('\n');
    write_atomic(&outputs.summary, json.as_bytes())?;
    provenance.write_sidecar(&outputs.summary)?;
    Ok(PruneOutcome { outputs, summary })
}

/// Reads the samples (all but their text) and the embeddings, and joins them. The two
/// reads run side by side.
pub fn load(inputs: &[PathBuf], emb: &[PathBuf], missing: Missing) -> Result<Loaded, PruneError> {
    let (samples, embeddings) = rayon::join(|| read_candidates(inputs), || read_all_embeddings(emb));
    let (mut candidates, names) = samples?;
    let Embeddings { ids, dim, values, refused } = embeddings?;
    let emb_name = emb.first().cloned().unwrap_or_default();
    let index = index_by_id(&emb_name, &ids)?;
    let joined = join(&index, candidates.iter().map(|c| c.id.as_str()));
    if !joined.missing.is_empty() && missing == Missing::Error {
        let examples = joined.missing.iter().take(MISSING_EXAMPLES).cloned().collect();
        return Err(PruneError::MissingEmbeddings { emb: emb_name, count: joined.missing.len(), total: candidates.len(), examples });
    }
    for (c, row) in candidates.iter_mut().zip(&joined.rows) {
        c.row = *row;
    }
    let used: Vec<usize> = joined.rows.iter().flatten().copied().collect();
    let unused_embeddings = ids.len() - used.len();
    let vectors = Vectors::from_scaled(dim, values, &refused, &used).map_err(|bad| PruneError::BadVector {
        path: emb_name.clone(),
        id: ids[bad.row].clone(),
        row: bad.row,
        problem: bad.problem,
    })?;
    Ok(Loaded { candidates, names, vectors, unused_embeddings })
}

/// One candidate per sample of `inputs`, in order, with the names they use; ids must be
/// unique.
fn read_candidates(inputs: &[PathBuf]) -> Result<(Vec<Candidate>, Names), PruneError> {
    let mut names = Names::default();
    let mut candidates = Vec::new();
    for input in inputs {
        for batch in TableReader::<Sample>::open(input)? {
            candidates.extend(batch?.iter().map(|s| candidate(s, &mut names)));
        }
    }
    index_by_id(&inputs.first().cloned().unwrap_or_default(), candidates.iter().map(|c| &c.id))?;
    Ok((candidates, names))
}

/// A sample as the algorithm sees it (its labels distinct and sorted, no vector yet).
fn candidate(s: &Sample, names: &mut Names) -> Candidate {
    let mut labels: Vec<u32> = s.entities.iter().map(|e| names.intern(&e.label)).collect();
    labels.sort_unstable();
    labels.dedup();
    Candidate { id: s.id.clone(), dataset: names.intern(&s.dataset), labels, row: None }
}

/// The embeddings tables of a run, concatenated.
struct Embeddings {
    ids: Vec<String>,
    /// The vector length, the same in every table.
    dim: usize,
    /// The vectors, row after row, scaled to unit length.
    values: Vec<f32>,
    /// The rows that could not be scaled (sorted), left as read.
    refused: Vec<usize>,
}

/// Every embeddings table, concatenated; the tables must hold text embeddings of one
/// length. Tables are streamed page by page into one buffer: at corpus scale the vectors
/// are most of the memory.
fn read_all_embeddings(emb: &[PathBuf]) -> Result<Embeddings, PruneError> {
    let mut ids = Vec::new();
    let mut values = Vec::new();
    let mut refused = Vec::new();
    let mut first: Option<(PathBuf, usize)> = None;
    for path in emb {
        let dim = embeddings_dim(path)?;
        match &first {
            Some((first, expected)) if *expected != dim => {
                return Err(PruneError::DimensionMismatch { path: path.clone(), found: dim, first: first.clone(), expected: *expected });
            }
            Some(_) => {}
            None => first = Some((path.clone(), dim)),
        }
        refused.extend(read_vectors(path, dim, &mut ids, &mut values)?);
    }
    let dim = match first {
        Some((_, dim)) => dim,
        None => return Err(PruneError::Embed(crate::embed::EmbedError::Shape("no embeddings table given".into()))),
    };
    Ok(Embeddings { ids, dim, values, refused })
}

/// The vector length an embeddings table declares; refuses tables that are not text
/// embeddings.
fn embeddings_dim(path: &Path) -> Result<usize, PruneError> {
    let metadata = crate::table::read_metadata(path)?;
    if let Some(what) = metadata.get(WHAT_KEY).filter(|w| w.as_str() != "text") {
        return Err(PruneError::NotTextEmbeddings { path: path.to_path_buf(), what: what.clone() });
    }
    metadata.get(DIM_KEY).and_then(|d| d.parse().ok()).filter(|&d: &usize| d > 0).ok_or_else(|| {
        let message = format!("not an embeddings table (no `{DIM_KEY}` metadata)");
        PruneError::Embed(crate::embed::EmbedError::BadModelFile { path: path.to_path_buf(), message })
    })
}

/// Appends the ids and unit vectors of one embeddings table of vectors of `dim`; returns
/// the rows (counted over all tables) whose vectors could not be scaled, sorted.
///
/// The ids are read through Arrow; the vectors, most of the stage's input bytes, page by
/// page in parallel straight into one buffer ([`read_float_vectors_with`]), beside the ids,
/// each scaled on its way there.
fn read_vectors(path: &Path, dim: usize, ids: &mut Vec<String>, values: &mut Vec<f32>) -> Result<Vec<usize>, PruneError> {
    let first_row = ids.len();
    let refused = std::sync::Mutex::new(Vec::new());
    let scale = |row: usize, decoded: &[f32], out: &mut [f32]| {
        let scaled = scale_into(decoded, out);
        if !scaled {
            refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(first_row + row);
        }
        scaled
    };
    let (table_ids, vectors) = rayon::join(|| read_ids(path), || read_float_vectors_with(path, "embedding", dim, &scale));
    let (table_ids, vectors) = (table_ids?, vectors?);
    ids.extend(table_ids);
    if values.is_empty() {
        *values = vectors;
    } else {
        values.extend_from_slice(&vectors);
    }
    let mut refused = refused.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    refused.sort_unstable();
    Ok(refused)
}

/// The `id` column of an embeddings table, which must hold no nulls.
fn read_ids(path: &Path) -> Result<Vec<String>, PruneError> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    use parquet::arrow::ProjectionMask;
    let bad = |message: String| PruneError::Embed(crate::embed::EmbedError::BadModelFile { path: path.to_path_buf(), message });
    let builder = crate::table::open_batches(path)?;
    let column = builder.schema().index_of("id").map_err(|_| bad("embeddings table has no `id` column".into()))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [column]);
    let parquet = |e| PruneError::Table(crate::table::TableError::Parquet { path: path.to_path_buf(), source: e });
    let mut ids = Vec::with_capacity(usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0));
    for batch in builder.with_projection(mask).with_batch_size(crate::table::BATCH_ROWS).build().map_err(parquet)? {
        let batch = batch.map_err(|e| PruneError::Table(crate::table::TableError::Schema { path: path.to_path_buf(), source: e }))?;
        let id = batch.column(0).as_string_opt::<i32>().ok_or_else(|| bad("column `id` is not utf8".into()))?;
        if id.null_count() > 0 {
            return Err(bad("column `id` holds nulls".into()));
        }
        ids.extend(id.iter().map(|v| v.unwrap_or_default().to_string()));
    }
    Ok(ids)
}

/// `read` = kept + dropped by reason.
fn counts_of(pruning: &Pruning, unused_embeddings: usize) -> Counts {
    let mut counts = Counts::new("prune");
    for d in &pruning.decisions {
        counts.read += 1;
        if d.kept {
            counts.written += 1;
        } else {
            counts.skip(d.reason.as_str(), 1);
        }
    }
    counts.note("unused_embeddings", unused_embeddings as u64);
    counts
}

/// Streams the inputs again, writing the kept samples in input order.
///
/// `load` has read and checked every row already, so the kept rows pass through as Arrow
/// batches, filtered; only a table in another writer's layout is converted row by row to
/// the canonical one.
fn write_samples(
    inputs: &[PathBuf],
    output: &Path,
    decisions: &[Decision],
    provenance: Provenance,
) -> Result<crate::table::ClosedTable, PruneError> {
    let mut writer = BatchWriter::for_rows::<Sample>(output)?;
    let schema = samples_schema();
    let mut decisions = decisions.iter();
    for input in inputs {
        let schema_error = |e| PruneError::Table(crate::table::TableError::Schema { path: input.clone(), source: e });
        let builder = crate::table::open_batches(input)?;
        let canonical = builder.schema().fields() == schema.fields();
        let batches = builder.with_batch_size(crate::table::BATCH_ROWS).build();
        let batches = batches.map_err(|e| PruneError::Table(crate::table::TableError::Parquet { path: input.clone(), source: e }))?;
        for batch in batches {
            let batch = batch.map_err(schema_error)?;
            // The inputs are read exactly as `load` read them: one decision per row.
            let keep: BooleanArray = decisions.by_ref().take(batch.num_rows()).map(|d| Some(d.kept)).collect();
            let kept = arrow_select::filter::filter_record_batch(&batch, &keep).map_err(schema_error)?;
            let kept = if canonical {
                RecordBatch::try_new(schema.clone(), kept.columns().to_vec())
            } else {
                samples_to_batch(&batch_to_samples(&kept).map_err(schema_error)?)
            };
            writer.write(&kept.map_err(schema_error)?)?;
        }
    }
    Ok(writer.close(provenance)?)
}

/// The decisions side table's schema.
pub fn decisions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(crate::table::side::KEY, DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("kept", DataType::Boolean, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("pools", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), false),
        Field::new("max_similarity", DataType::Float32, true),
    ]))
}

/// Writes one row per candidate, in input order.
fn write_decisions(
    path: &Path,
    loaded: &Loaded,
    decisions: &[Decision],
    provenance: Provenance,
) -> Result<crate::table::ClosedTable, PruneError> {
    let schema = decisions_schema();
    // Ids and similarities are (nearly) all distinct.
    let mut writer = BatchWriter::create_with_distinct(path, schema.clone(), &BTreeMap::new(), &[crate::table::side::KEY, "max_similarity"])?;
    for (cands, decs) in loaded.candidates.chunks(crate::table::BATCH_ROWS).zip(decisions.chunks(crate::table::BATCH_ROWS)) {
        let batch = decisions_batch(&schema, &loaded.names, cands, decs)
            .map_err(|e| PruneError::Arrow { path: path.to_path_buf(), source: e })?;
        writer.write(&batch)?;
    }
    Ok(writer.close(provenance)?)
}

fn decisions_batch(schema: &SchemaRef, names: &Names, cands: &[Candidate], decs: &[Decision]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut id = StringBuilder::new();
    let mut dataset = StringBuilder::new();
    let mut kept = BooleanBuilder::new();
    let mut reason = StringBuilder::new();
    let mut pools = ListBuilder::new(StringBuilder::new());
    let mut sim = Float32Builder::new();
    for (c, d) in cands.iter().zip(decs) {
        id.append_value(&c.id);
        dataset.append_value(names.get(c.dataset));
        kept.append_value(d.kept);
        reason.append_value(d.reason.as_str());
        for &p in &d.pools {
            pools.values().append_value(pool_name(names, p));
        }
        pools.append(true);
        sim.append_option(d.max_similarity);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(dataset.finish()),
        Arc::new(kept.finish()),
        Arc::new(reason.finish()),
        Arc::new(pools.finish()),
        Arc::new(sim.finish()),
    ];
    RecordBatch::try_new(schema.clone(), columns)
}

fn pool_name(names: &Names, label: u32) -> &str {
    if label == NEGATIVES { NEGATIVES_NAME } else { names.get(label) }
}

fn name_summary(names: &Names, rows: &[PoolSummary]) -> Vec<SummaryRow> {
    rows.iter()
        .map(|r| SummaryRow {
            dataset: names.get(r.dataset).to_string(),
            label: pool_name(names, r.label).to_string(),
            raw: r.raw,
            kept: r.kept,
            pool: r.pool,
            pool_similarity: r.pool_similarity,
            random_similarity: r.random_similarity,
        })
        .collect()
}

impl std::fmt::Display for Summary {
    /// A Markdown table of the pools, then the counts line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sim = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.3}"));
        writeln!(f, "| dataset | label | raw | kept | pool | pool sim | random sim |")?;
        writeln!(f, "|---|---|---:|---:|---:|---:|---:|")?;
        for r in &self.pools {
            writeln!(f, "| {} | {} | {} | {} | {} | {} | {} |", r.dataset, r.label, r.raw, r.kept, r.pool, sim(r.pool_similarity), sim(r.random_similarity))?;
        }
        write!(f, "{}", self.counts)
    }
}
