//! The `embed` stage: cut units from a samples table, embed them, write a side table.
//!
//! [`embed_table`] takes checked [`ValidEmbedParams`], the run's [`EmbedEnv`], a samples
//! table and an output path. The table is streamed batch by batch; each sample yields units
//! ([`Unit`]: the row key and the text embedded): its text (`text`, id = sample id), its entity
//! mentions (`mentions`, id = `{sample id}@{entity index}`, optionally with some context around
//! the mention), or, over the whole table, one unit per type (`types`: per (dataset, label),
//! id `{dataset}/{label}`, or with `types_by: label` per label over all datasets, id = the
//! label; the text is the label, its definition when one is given, and its most frequent
//! mentions: the "type patterns" clustering works on). Units go through the [`Cache`] (a text
//! seen before costs nothing) and the [`Embedder`] in batches of similar length (less
//! padding).
//!
//! The side table leaves in unit order (the convention of [`crate::table::side`]): `id`, the
//! key columns the unit has (`dataset`, `label`, `sample_id`, `entity`), `embedding`; the
//! embedder's model id, backend, pooling and fingerprint in its metadata; provenance with the
//! parameters, the samples table and the definitions file as inputs; and `read = written`
//! counts noting cache hits, repeated texts and texts embedded. Rows of the samples table
//! that fail their checks are skipped and counted (`invalid_row:<reason>`), never embedded.

use super::cache::{text_key, Cache, TextKey};
use super::params::{EmbedEnv, ValidEmbedParams};
use super::{EmbedError, Embedder, EmbedderInfo, Embeddings, Pooling};
use crate::model::schema::{batch_to_embeddings, embedding_schema, embeddings_to_batch, EmbeddingKey, EmbeddingKeys};
use crate::model::{CharIndex, Sample, Span};
use crate::progress::{Progress, Unit as ProgressUnit};
use crate::provenance::Provenance;
use crate::report::Counts;
use crate::table::side::entity_key;
use crate::table::{read_batches, read_metadata, BatchWriter, TableReader};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub use super::params::{TypesBy, What, DEFAULT_BATCH};

/// Metadata key: the embedder's model id.
pub const MODEL_KEY: &str = "nerprep.embed.model";
/// Metadata key: the backend (`hash`, `candle`, `onnx`).
pub const BACKEND_KEY: &str = "nerprep.embed.backend";
/// Metadata key: the pooling (`mean`, `cls`, `none`).
pub const POOLING_KEY: &str = "nerprep.embed.pooling";
/// Metadata key: the vector length.
pub const DIM_KEY: &str = "nerprep.embed.dim";
/// Metadata key: what was embedded (`text`, `mentions`, `types`).
pub const WHAT_KEY: &str = "nerprep.embed.what";
/// Metadata key: for `types`, what one unit stands for (`dataset-label`, `label`).
pub const TYPES_BY_KEY: &str = "nerprep.embed.types_by";
/// Metadata key: the embedder fingerprint (everything that changes the vectors).
pub const FINGERPRINT_KEY: &str = "nerprep.embed.fingerprint";

/// One thing to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Its row key in the side table (`id` and the key columns its kind has).
    pub key: EmbeddingKey,
    /// The text embedded.
    pub text: String,
}

impl Unit {
    /// A unit with only an id (no other key columns).
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Unit {
        Unit { key: EmbeddingKey { id: id.into(), ..EmbeddingKey::default() }, text: text.into() }
    }

    /// Its id in the side table.
    pub fn id(&self) -> &str {
        &self.key.id
    }
}

/// The key columns the side table of `what` (and `types_by`) has.
pub fn keys_of(what: What, types_by: TypesBy) -> EmbeddingKeys {
    match what {
        What::Text => EmbeddingKeys { dataset: true, sample_id: true, ..EmbeddingKeys::default() },
        What::Mentions => EmbeddingKeys { dataset: true, label: true, sample_id: true, entity: true },
        What::Types => EmbeddingKeys { dataset: types_by == TypesBy::DatasetLabel, label: true, ..EmbeddingKeys::default() },
    }
}

/// Where the units of one call came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Found in the cache, stored by an earlier run.
    pub cache_hits: u64,
    /// The same text was embedded earlier in this run.
    pub repeats: u64,
    /// Embedded now.
    pub embedded: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.cache_hits += other.cache_hits;
        self.repeats += other.repeats;
        self.embedded += other.embedded;
    }
}

/// What [`embed_table`] did.
#[derive(Debug, Clone)]
pub struct EmbedOutcome {
    /// `read` units = `written` rows (+ invalid samples, skipped); notes: samples, cache
    /// hits, repeats, embedded.
    pub counts: Counts,
    /// The embedder that made the vectors.
    pub info: EmbedderInfo,
    /// Where the units came from.
    pub tally: Tally,
    /// The output's provenance as written.
    pub provenance: Provenance,
}

/// Embeds the units of `input` (a samples table) into `output` as `params` say, with the
/// models and cache of `env`; see the module docs. The definitions file and the model are
/// loaded before anything is written, so an unusable one leaves no output behind.
///
/// # Example
/// ```
/// use nerprep::embed::{stage::{embed_table, read_embeddings}, EmbedEnv, EmbedParams, ModelSpec};
/// use nerprep::params::StageParams;
/// let dir = tempfile::tempdir().unwrap();
/// let table = dir.path().join("x.parquet");
/// let sample = nerprep::model::Sample::new("d/train/f:0", "d", nerprep::model::SourceFormat::Crossner, "train", "en", "Paris");
/// let mut w = nerprep::table::TableWriter::<nerprep::model::Sample>::create(&table).unwrap();
/// w.push(sample).unwrap();
/// w.finish(nerprep::provenance::Provenance::new("test", serde_json::json!({}))).unwrap();
/// let params = EmbedParams::with_model(ModelSpec::Hash { dim: 8 }).check().unwrap();
/// let out = dir.path().join("x.emb.parquet");
/// embed_table(&params, &EmbedEnv::uncached("models"), &table, &out, &nerprep::progress::NoProgress).unwrap();
/// let emb = read_embeddings(&out).unwrap();
/// assert_eq!((emb.ids, emb.dataset), (vec!["d/train/f:0".to_string()], Some(vec!["d".to_string()])));
/// ```
pub fn embed_table(
    params: &ValidEmbedParams,
    env: &EmbedEnv,
    input: &Path,
    output: &Path,
    progress: &dyn Progress,
) -> Result<EmbedOutcome, EmbedError> {
    let definitions = match &params.params().definitions {
        Some(path) => crate::taxonomy::definitions(path)?,
        None => BTreeMap::new(),
    };
    let mut embedder = super::load_embedder(&params.embed_config(env))?;
    let mut cache = match &env.cache_dir {
        Some(root) => Cache::open(root, embedder.info())?,
        None => Cache::in_memory(embedder.dim()),
    };
    embed_table_with(params, &definitions, embedder.as_mut(), &mut cache, input, output, progress)
}

/// [`embed_table`] with the embedder, cache and definitions already loaded (for callers that
/// embed several tables with one model).
pub fn embed_table_with(
    params: &ValidEmbedParams,
    definitions: &BTreeMap<String, String>,
    embedder: &mut dyn Embedder,
    cache: &mut Cache,
    input: &Path,
    output: &Path,
    progress: &dyn Progress,
) -> Result<EmbedOutcome, EmbedError> {
    let p = params.params();
    let info = embedder.info().clone();
    let keys = keys_of(p.what, p.types_by);
    let mut provenance = Provenance::of(p);
    provenance.input(input)?;
    if let Some(path) = &p.definitions {
        provenance.input(path)?;
    }
    let schema = embedding_schema(info.dim, keys).map_err(|e| EmbedError::Shape(e.to_string()))?;
    let mut reader = TableReader::<Sample>::open(input)?;
    let mut writer = BatchWriter::create(output, schema, &output_metadata(&info, params))?;
    let mut run = Run { embedder, cache, batch_size: p.batch_size, progress, keys, tally: Tally::default() };
    let mut counts = Counts::new("embed");
    let mut samples = 0u64;
    let mut types = TypePatterns::new(p.types_by);
    progress.start(None, ProgressUnit::Items);
    while let Some(batch) = reader.next_checked() {
        let batch = batch?;
        for q in &batch.rejected {
            counts.read += 1;
            counts.skip(&format!("invalid_row:{}", q.reason), 1);
        }
        samples += batch.rows.len() as u64;
        let units = match p.what {
            What::Text => text_units(&batch.rows),
            What::Mentions => mention_units(&batch.rows, p.context),
            What::Types => {
                batch.rows.iter().for_each(|s| types.add(s));
                continue;
            }
        };
        run.write(&units, &mut writer)?;
        counts.read += units.len() as u64;
        counts.written += units.len() as u64;
    }
    if p.what == What::Types {
        let units = types.units(definitions, p.top_mentions);
        crate::table::side::index_by_id(output, units.iter().map(|u| &u.key.id))?;
        progress.start(Some(units.len() as u64), ProgressUnit::Items);
        run.write(&units, &mut writer)?;
        counts.read += units.len() as u64;
        counts.written += units.len() as u64;
    }
    let tally = run.tally;
    cache.flush()?;
    progress.finish();
    counts.note("samples", samples);
    counts.note("cache_hit", tally.cache_hits);
    counts.note("repeated_text", tally.repeats);
    counts.note("embedded", tally.embedded);
    provenance.counts = Some(counts.clone());
    let provenance = writer.finish(provenance)?;
    Ok(EmbedOutcome { counts, info, tally, provenance })
}

/// The `nerprep.embed.*` metadata of the output.
fn output_metadata(info: &EmbedderInfo, params: &ValidEmbedParams) -> BTreeMap<String, String> {
    let p = params.params();
    let mut metadata = BTreeMap::from([
        (MODEL_KEY.to_string(), info.model_id.clone()),
        (BACKEND_KEY.to_string(), info.backend.to_string()),
        (POOLING_KEY.to_string(), info.pooling.map_or("none", Pooling::as_str).to_string()),
        (DIM_KEY.to_string(), info.dim.to_string()),
        (WHAT_KEY.to_string(), p.what.to_string()),
        (FINGERPRINT_KEY.to_string(), info.fingerprint()),
    ]);
    match p.what {
        What::Mentions => {
            metadata.insert("nerprep.embed.context".into(), p.context.to_string());
        }
        What::Types => {
            metadata.insert(TYPES_BY_KEY.into(), p.types_by.to_string());
        }
        What::Text => {}
    }
    metadata
}

/// The embedder, cache and batching of one run, and what they have done so far.
struct Run<'a> {
    embedder: &'a mut dyn Embedder,
    cache: &'a mut Cache,
    batch_size: usize,
    progress: &'a dyn Progress,
    keys: EmbeddingKeys,
    tally: Tally,
}

impl Run<'_> {
    /// Embeds `units` and writes them as one batch.
    fn write(&mut self, units: &[Unit], writer: &mut BatchWriter) -> Result<(), EmbedError> {
        let (vectors, tally) = embed_units(units, self.embedder, self.cache, self.batch_size, self.progress)?;
        let rows: Vec<EmbeddingKey> = units.iter().map(|u| u.key.clone()).collect();
        let batch = embeddings_to_batch(&rows, self.keys, vectors.dim(), vectors.as_slice()).map_err(|e| EmbedError::Shape(e.to_string()))?;
        writer.write(&batch)?;
        self.tally.add(tally);
        Ok(())
    }
}

/// Embeds `units` (row `i` for unit `i`), taking what it can from `cache` and storing what
/// it computes there. Texts are embedded once per call, in batches of `batch_size` sorted by
/// their length in the model's units ([`Embedder::lengths`], tokens for a transformer) so
/// that each batch pads little.
pub fn embed_units(
    units: &[Unit],
    embedder: &mut dyn Embedder,
    cache: &mut Cache,
    batch_size: usize,
    progress: &dyn Progress,
) -> Result<(Embeddings, Tally), EmbedError> {
    let dim = embedder.dim();
    let before = cache.stats();
    let mut out = vec![0.0f32; units.len() * dim];
    let mut first: HashMap<TextKey, usize> = HashMap::new();
    let mut copies: Vec<(usize, usize)> = Vec::new();
    let mut todo: Vec<(usize, TextKey)> = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let key = text_key(&unit.text);
        if let Some(&src) = first.get(&key) {
            copies.push((i, src));
            continue;
        }
        first.insert(key, i);
        match cache.get(&key)? {
            Some(v) if v.len() == dim => out[i * dim..(i + 1) * dim].copy_from_slice(&v),
            Some(v) => return Err(EmbedError::Shape(format!("cached vector of {}, expected {dim}", v.len()))),
            None => todo.push((i, key)),
        }
    }
    progress.advance((units.len() - todo.len()) as u64);
    let texts: Vec<&str> = todo.iter().map(|&(i, _)| units[i].text.as_str()).collect();
    let mut by_length: Vec<(usize, (usize, TextKey))> = embedder.lengths(&texts)?.into_iter().zip(todo).collect();
    by_length.sort_by_key(|&(length, _)| length);
    let todo: Vec<(usize, TextKey)> = by_length.into_iter().map(|(_, unit)| unit).collect();
    for chunk in todo.chunks(batch_size.max(1)) {
        let texts: Vec<&str> = chunk.iter().map(|&(i, _)| units[i].text.as_str()).collect();
        let m = embedder.embed(&texts)?;
        if m.len() != chunk.len() || m.dim() != dim {
            return Err(EmbedError::Shape(format!(
                "{} texts gave {} vectors of {}, expected {dim}",
                chunk.len(),
                m.len(),
                m.dim()
            )));
        }
        for (row, &(i, key)) in m.rows().zip(chunk) {
            out[i * dim..(i + 1) * dim].copy_from_slice(row);
            cache.insert(key, row)?;
        }
        progress.advance(chunk.len() as u64);
    }
    for (dst, src) in copies.iter().copied() {
        out.copy_within(src * dim..(src + 1) * dim, dst * dim);
    }
    let after = cache.stats();
    let tally = Tally {
        cache_hits: after.hits - before.hits,
        repeats: after.repeats - before.repeats + copies.len() as u64,
        embedded: todo.len() as u64,
    };
    Ok((Embeddings::from_vec(dim, out)?, tally))
}

/// One unit per sample: its text, keyed by sample id (with `dataset` and `sample_id`).
pub fn text_units(samples: &[Sample]) -> Vec<Unit> {
    samples
        .iter()
        .map(|s| Unit {
            key: EmbeddingKey { id: s.id.clone(), dataset: Some(s.dataset.clone()), sample_id: Some(s.id.clone()), ..EmbeddingKey::default() },
            text: s.text.clone(),
        })
        .collect()
}

/// One unit per entity: the mention, widened by `context` code points on each side, keyed by
/// [`entity_key`] (with `dataset`, `label`, `sample_id` and `entity`).
pub fn mention_units(samples: &[Sample], context: usize) -> Vec<Unit> {
    let mut out = Vec::new();
    for s in samples {
        let index = (context > 0).then(|| CharIndex::new(&s.text));
        for (i, e) in s.entities.iter().enumerate() {
            let text = match &index {
                Some(idx) => widened(&s.text, idx, e.span, context).unwrap_or(&e.text).to_string(),
                None => e.text.clone(),
            };
            let key = EmbeddingKey {
                id: entity_key(&s.id, i),
                dataset: Some(s.dataset.clone()),
                label: Some(e.label.clone()),
                sample_id: Some(s.id.clone()),
                entity: Some(u32::try_from(i).unwrap_or(u32::MAX)),
            };
            out.push(Unit { key, text });
        }
    }
    out
}

/// `text` under `span` plus up to `context` code points either side.
fn widened<'t>(text: &'t str, index: &CharIndex, span: Span, context: usize) -> Option<&'t str> {
    let context = u32::try_from(context).unwrap_or(u32::MAX);
    let end = span.end().saturating_add(context).min(index.len_chars() as u32);
    let wide = Span::new(span.start().saturating_sub(context), end).ok()?;
    index.slice(text, wide)
}

/// Mention counts per type, gathered over a whole table for `--what types`: per (dataset,
/// label), or per label over all datasets.
#[derive(Debug, Default)]
pub struct TypePatterns {
    by: TypesBy,
    /// (dataset, or `None` over all datasets; label) → mention → count.
    mentions: BTreeMap<(Option<String>, String), BTreeMap<String, u64>>,
}

impl TypePatterns {
    /// No mentions yet; one unit per type as `by` says.
    pub fn new(by: TypesBy) -> TypePatterns {
        TypePatterns { by, mentions: BTreeMap::new() }
    }

    /// Counts the mentions of one sample.
    pub fn add(&mut self, sample: &Sample) {
        let dataset = (self.by == TypesBy::DatasetLabel).then(|| sample.dataset.clone());
        for e in &sample.entities {
            let counts = self.mentions.entry((dataset.clone(), e.label.clone())).or_default();
            *counts.entry(e.text.clone()).or_default() += 1;
        }
    }

    /// One unit per type, sorted by (dataset, label): `label: definition. Examples: m1, m2, …`
    /// with the `top` most frequent mentions (ties in text order); definitions are looked up
    /// by label. Ids are `{dataset}/{label}`, or the label over all datasets.
    pub fn units(&self, definitions: &BTreeMap<String, String>, top: usize) -> Vec<Unit> {
        self.mentions
            .iter()
            .map(|((dataset, label), counts)| {
                let id = match dataset {
                    Some(d) => format!("{d}/{label}"),
                    None => label.clone(),
                };
                let key = EmbeddingKey { id, dataset: dataset.clone(), label: Some(label.clone()), ..EmbeddingKey::default() };
                Unit { key, text: type_text(label, definitions.get(label), counts, top) }
            })
            .collect()
    }
}

/// `label: definition. Examples: m1, m2, …` with the `top` most frequent mentions.
fn type_text(label: &str, definition: Option<&String>, counts: &BTreeMap<String, u64>, top: usize) -> String {
    let mut ranked: Vec<(&String, &u64)> = counts.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let examples: Vec<&str> = ranked.iter().take(top).map(|(m, _)| m.as_str()).collect();
    let mut text = label.to_string();
    if let Some(def) = definition.filter(|d| !d.trim().is_empty()) {
        text.push_str(": ");
        text.push_str(def.trim());
    }
    if !examples.is_empty() {
        text.push_str(". Examples: ");
        text.push_str(&examples.join(", "));
    }
    text
}

/// An embeddings side table read back whole, column by column.
#[derive(Debug, Clone)]
pub struct EmbeddingTable {
    /// Row ids.
    pub ids: Vec<String>,
    /// The vectors, row `i` for `ids[i]`.
    pub vectors: Embeddings,
    /// The Parquet metadata ([`MODEL_KEY`], [`BACKEND_KEY`], …).
    pub metadata: BTreeMap<String, String>,
    /// The `dataset` column, when the table has one (text, mentions, types by dataset-label).
    pub dataset: Option<Vec<String>>,
    /// The `label` column, when the table has one (mentions, types).
    pub label: Option<Vec<String>>,
    /// The `sample_id` column, when the table has one (text, mentions).
    pub sample_id: Option<Vec<String>>,
    /// The `entity` column (index in the sample), when the table has one (mentions).
    pub entity: Option<Vec<u32>>,
}

/// Reads an embeddings side table written by [`embed_table`] (or by a nerprep from before
/// the key columns: those it lacks are `None`).
pub fn read_embeddings(path: &Path) -> Result<EmbeddingTable, EmbedError> {
    let metadata = read_metadata(path)?;
    let not_table = |message: String| EmbedError::BadModelFile { path: PathBuf::from(path), message };
    let dim: usize = metadata
        .get(DIM_KEY)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| not_table(format!("not an embeddings table (no `{DIM_KEY}` metadata)")))?;
    let mut rows = Vec::new();
    let mut values = Vec::new();
    let mut keys = None;
    for batch in read_batches(path)? {
        let (batch_rows, batch_keys, batch_dim, batch_values) = batch_to_embeddings(&batch).map_err(|e| not_table(e.to_string()))?;
        if batch_dim != dim {
            return Err(not_table(format!("vectors of {batch_dim}, metadata says {dim}")));
        }
        if *keys.get_or_insert(batch_keys) != batch_keys {
            return Err(not_table("record batches with different key columns".into()));
        }
        rows.extend(batch_rows);
        values.extend(batch_values);
    }
    let keys = keys.unwrap_or_default();
    let column = |on: bool, get: fn(&EmbeddingKey) -> Option<String>| on.then(|| rows.iter().filter_map(get).collect::<Vec<_>>());
    Ok(EmbeddingTable {
        dataset: column(keys.dataset, |r| r.dataset.clone()),
        label: column(keys.label, |r| r.label.clone()),
        sample_id: column(keys.sample_id, |r| r.sample_id.clone()),
        entity: keys.entity.then(|| rows.iter().filter_map(|r| r.entity).collect()),
        ids: rows.into_iter().map(|r| r.id).collect(),
        vectors: Embeddings::from_vec(dim, values)?,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::hash::HashEmbedder;
    use crate::model::{Entity, SourceFormat};

    fn sample(id: &str, text: &str, ents: &[(u32, u32, &str)]) -> Sample {
        let mut s = Sample::new(id, "d", SourceFormat::Crossner, "train", "en", text);
        let idx = CharIndex::new(text);
        for &(a, b, label) in ents {
            let span = Span::new(a, b).unwrap();
            s.entities.push(Entity::new(span, label, idx.slice(text, span).unwrap()));
        }
        s
    }

    #[test]
    fn mentions_get_ids_and_optional_context() {
        let s = sample("d/train/f:0", "Visit Paris in 2020", &[(6, 11, "location")]);
        let units = mention_units(std::slice::from_ref(&s), 0);
        let key = EmbeddingKey {
            id: "d/train/f:0@0".into(),
            dataset: Some("d".into()),
            label: Some("location".into()),
            sample_id: Some("d/train/f:0".into()),
            entity: Some(0),
        };
        assert_eq!(units, vec![Unit { key, text: "Paris".into() }]);
        assert_eq!(mention_units(std::slice::from_ref(&s), 3)[0].text, "it Paris in");
        assert_eq!(mention_units(std::slice::from_ref(&s), 100)[0].text, "Visit Paris in 2020");
    }

    #[test]
    fn type_patterns_list_frequent_mentions_and_definitions() {
        let mut t = TypePatterns::new(TypesBy::Label);
        t.add(&sample("a", "Rome Paris Paris", &[(0, 4, "city"), (5, 10, "city"), (11, 16, "city")]));
        t.add(&sample("b", "Bob", &[(0, 3, "person")]));
        let defs = BTreeMap::from([("city".to_string(), "a large town".to_string())]);
        let units = t.units(&defs, 1);
        let key = EmbeddingKey { id: "city".into(), label: Some("city".into()), ..EmbeddingKey::default() };
        assert_eq!(units[0], Unit { key, text: "city: a large town. Examples: Paris".into() });
        assert_eq!(units[1].text, "person. Examples: Bob");
    }

    #[test]
    fn type_patterns_by_dataset_keep_datasets_apart_and_share_definitions() {
        let mut t = TypePatterns::new(TypesBy::DatasetLabel);
        let mut other = sample("b", "Rome", &[(0, 4, "city")]);
        other.dataset = "e".into();
        t.add(&sample("a", "Paris", &[(0, 5, "city")]));
        t.add(&other);
        let defs = BTreeMap::from([("city".to_string(), "a large town".to_string())]);
        let units = t.units(&defs, 5);
        let ids: Vec<&str> = units.iter().map(Unit::id).collect();
        assert_eq!(ids, ["d/city", "e/city"]);
        assert_eq!(units[1].key.dataset.as_deref(), Some("e"));
        assert_eq!(units[1].text, "city: a large town. Examples: Rome");
    }

    #[test]
    fn repeated_texts_are_embedded_once_and_tallied() {
        let units: Vec<Unit> =
            ["a", "bb", "a", "ccc"].iter().enumerate().map(|(i, t)| Unit::new(i.to_string(), *t)).collect();
        let mut e = HashEmbedder::new(16);
        let mut cache = Cache::in_memory(16);
        let (m, tally) = embed_units(&units, &mut e, &mut cache, 2, &crate::progress::NoProgress).unwrap();
        assert_eq!(tally, Tally { cache_hits: 0, repeats: 1, embedded: 3 });
        assert_eq!(m.row(0), m.row(2));
        assert_eq!(m.row(3), e.embed(&["ccc"]).unwrap().row(0));
        let (_, again) = embed_units(&units, &mut e, &mut cache, 2, &crate::progress::NoProgress).unwrap();
        assert_eq!(again, Tally { cache_hits: 0, repeats: 4, embedded: 0 });
    }
}
