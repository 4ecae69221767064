//! The `embed` stage: cut units from a samples table, embed them, write a side table.
//!
//! A samples table enters and is streamed batch by batch. Each sample yields units, an id
//! and a text: its text (`text`, id = sample id), its entity mentions (`mentions`, id =
//! `{sample id}@{entity index}`, optionally with some context around the mention), or,
//! over the whole table, one unit per label (`types`, id = the label: the label, its
//! definition when one is given, and its most frequent mentions — the "type patterns"
//! clustering works on). Units go through the [`Cache`] (a text seen before costs nothing)
//! and the [`Embedder`] in batches of similar length (less padding). The side table
//! `id` + `embedding` leaves, in unit order, with the embedder's model id, backend and
//! pooling in its metadata, and `read = written` counts noting cache hits, repeated texts
//! and texts embedded.

use super::cache::{text_key, Cache, TextKey};
use super::{EmbedError, Embedder, EmbedderInfo, Embeddings, Pooling};
use crate::model::schema::{batch_to_embeddings, embedding_schema, embeddings_to_batch};
use crate::model::{CharIndex, Sample, Span};
use crate::report::Counts;
use crate::table::{read_batches, read_metadata, BatchWriter, TableReader};
use indicatif::ProgressBar;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

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
/// Metadata key: the embedder fingerprint (everything that changes the vectors).
pub const FINGERPRINT_KEY: &str = "nerprep.embed.fingerprint";

/// Texts per model call when none is given (the size the benchmarks use).
pub const DEFAULT_BATCH: usize = 64;

/// Which units of a samples table to embed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum What {
    /// Each sample's text.
    #[default]
    Text,
    /// Each entity mention (with `context` code points either side).
    Mentions,
    /// Each entity label: label, definition, most frequent mentions.
    Types,
}

impl What {
    /// The name used on the command line and in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            What::Text => "text",
            What::Mentions => "mentions",
            What::Types => "types",
        }
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for What {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(What::Text),
            "mentions" => Ok(What::Mentions),
            "types" => Ok(What::Types),
            _ => Err(format!("unknown unit `{s}`; expected text, mentions or types")),
        }
    }
}

/// How [`embed_table`] cuts and batches units.
#[derive(Debug, Clone)]
pub struct EmbedOptions {
    /// Which units.
    pub what: What,
    /// Mentions: code points of surrounding text kept on each side (0 = the mention only).
    pub context: usize,
    /// Types: how many of the label's most frequent mentions describe it.
    pub top_mentions: usize,
    /// Types: a definition per label, used when present.
    pub definitions: BTreeMap<String, String>,
    /// Texts per model call.
    pub batch_size: usize,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            what: What::Text,
            context: 0,
            top_mentions: 5,
            definitions: BTreeMap::new(),
            batch_size: DEFAULT_BATCH,
        }
    }
}

/// One thing to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Its id in the side table.
    pub id: String,
    /// The text embedded.
    pub text: String,
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
    /// `read` units = `written` rows; notes: samples, cache hits, repeats, embedded.
    pub counts: Counts,
    /// The embedder that made the vectors.
    pub info: EmbedderInfo,
    /// Where the units came from.
    pub tally: Tally,
}

/// Embeds the units of `input` (a samples table) into `output`; see the module docs.
pub fn embed_table(
    input: &Path,
    output: &Path,
    embedder: &mut dyn Embedder,
    cache: &mut Cache,
    options: &EmbedOptions,
    progress: &ProgressBar,
) -> Result<EmbedOutcome, EmbedError> {
    let info = embedder.info().clone();
    let mut metadata = BTreeMap::from([
        (MODEL_KEY.to_string(), info.model_id.clone()),
        (BACKEND_KEY.to_string(), info.backend.to_string()),
        (POOLING_KEY.to_string(), info.pooling.map_or("none", Pooling::as_str).to_string()),
        (DIM_KEY.to_string(), info.dim.to_string()),
        (WHAT_KEY.to_string(), options.what.to_string()),
        (FINGERPRINT_KEY.to_string(), info.fingerprint()),
    ]);
    if options.what == What::Mentions {
        metadata.insert("nerprep.embed.context".into(), options.context.to_string());
    }
    let schema = embedding_schema(info.dim).map_err(|e| EmbedError::Shape(e.to_string()))?;
    let mut writer = BatchWriter::create(output, schema, &metadata)?;
    let mut counts = Counts::new("embed");
    let mut tally = Tally::default();
    let mut samples = 0u64;
    let mut types = TypePatterns::default();
    let batch_size = options.batch_size.max(1);

    for batch in TableReader::<Sample>::open(input)? {
        let batch = batch?;
        samples += batch.len() as u64;
        let units = match options.what {
            What::Text => text_units(&batch),
            What::Mentions => mention_units(&batch, options.context),
            What::Types => {
                batch.iter().for_each(|s| types.add(s));
                continue;
            }
        };
        tally.add(write_units(&units, embedder, cache, batch_size, progress, &mut writer)?);
        counts.read += units.len() as u64;
    }
    if options.what == What::Types {
        let units = types.units(&options.definitions, options.top_mentions);
        progress.set_length(units.len() as u64);
        tally.add(write_units(&units, embedder, cache, batch_size, progress, &mut writer)?);
        counts.read += units.len() as u64;
    }
    cache.flush()?;
    counts.note("samples", samples);
    counts.note("cache_hit", tally.cache_hits);
    counts.note("repeated_text", tally.repeats);
    counts.note("embedded", tally.embedded);
    counts.written = counts.read;
    let mut provenance = crate::provenance::Provenance::new("embed", serde_json::json!({}));
    provenance.counts = Some(counts.clone());
    writer.finish(provenance)?;
    Ok(EmbedOutcome { counts, info, tally })
}

fn write_units(
    units: &[Unit],
    embedder: &mut dyn Embedder,
    cache: &mut Cache,
    batch_size: usize,
    progress: &ProgressBar,
    writer: &mut BatchWriter,
) -> Result<Tally, EmbedError> {
    let (vectors, tally) = embed_units(units, embedder, cache, batch_size, progress)?;
    let ids: Vec<&str> = units.iter().map(|u| u.id.as_str()).collect();
    let batch = embeddings_to_batch(&ids, vectors.dim(), vectors.as_slice()).map_err(|e| EmbedError::Shape(e.to_string()))?;
    writer.write(&batch)?;
    Ok(tally)
}

/// Embeds `units` (row `i` for unit `i`), taking what it can from `cache` and storing what
/// it computes there. Texts are embedded once per call, in batches of `batch_size` sorted by
/// length so that each batch pads little.
pub fn embed_units(
    units: &[Unit],
    embedder: &mut dyn Embedder,
    cache: &mut Cache,
    batch_size: usize,
    progress: &ProgressBar,
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
    progress.inc((units.len() - todo.len()) as u64);
    todo.sort_by_key(|&(i, _)| units[i].text.len());
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
        progress.inc(chunk.len() as u64);
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

/// One unit per sample: its text.
pub fn text_units(samples: &[Sample]) -> Vec<Unit> {
    samples.iter().map(|s| Unit { id: s.id.clone(), text: s.text.clone() }).collect()
}

/// One unit per entity: the mention, widened by `context` code points on each side.
pub fn mention_units(samples: &[Sample], context: usize) -> Vec<Unit> {
    let mut out = Vec::new();
    for s in samples {
        let index = (context > 0).then(|| CharIndex::new(&s.text));
        for (i, e) in s.entities.iter().enumerate() {
            let text = match &index {
                Some(idx) => widened(&s.text, idx, e.span, context).unwrap_or(&e.text).to_string(),
                None => e.text.clone(),
            };
            out.push(Unit { id: format!("{}@{i}", s.id), text });
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

/// Mention counts per label, gathered over a whole table for `--what types`.
#[derive(Debug, Default)]
pub struct TypePatterns {
    mentions: BTreeMap<String, BTreeMap<String, u64>>,
}

impl TypePatterns {
    /// Counts the mentions of one sample.
    pub fn add(&mut self, sample: &Sample) {
        for e in &sample.entities {
            *self.mentions.entry(e.label.clone()).or_default().entry(e.text.clone()).or_default() += 1;
        }
    }

    /// One unit per label, sorted by label: `label: definition. Examples: m1, m2, …` with
    /// the `top` most frequent mentions (ties in text order).
    pub fn units(&self, definitions: &BTreeMap<String, String>, top: usize) -> Vec<Unit> {
        self.mentions
            .iter()
            .map(|(label, counts)| {
                let mut ranked: Vec<(&String, &u64)> = counts.iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
                let examples: Vec<&str> = ranked.iter().take(top).map(|(m, _)| m.as_str()).collect();
                let mut text = label.clone();
                if let Some(def) = definitions.get(label).filter(|d| !d.trim().is_empty()) {
                    text.push_str(": ");
                    text.push_str(def.trim());
                }
                if !examples.is_empty() {
                    text.push_str(". Examples: ");
                    text.push_str(&examples.join(", "));
                }
                Unit { id: label.clone(), text }
            })
            .collect()
    }
}

/// An embeddings side table read back whole.
#[derive(Debug, Clone)]
pub struct EmbeddingTable {
    /// Row ids.
    pub ids: Vec<String>,
    /// The vectors, row `i` for `ids[i]`.
    pub vectors: Embeddings,
    /// The Parquet metadata ([`MODEL_KEY`], [`BACKEND_KEY`], …).
    pub metadata: BTreeMap<String, String>,
}

/// Reads an embeddings side table written by [`embed_table`].
pub fn read_embeddings(path: &Path) -> Result<EmbeddingTable, EmbedError> {
    let metadata = read_metadata(path)?;
    let not_table = |message: String| EmbedError::BadModelFile { path: PathBuf::from(path), message };
    let dim: usize = metadata
        .get(DIM_KEY)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| not_table(format!("not an embeddings table (no `{DIM_KEY}` metadata)")))?;
    let mut ids = Vec::new();
    let mut values = Vec::new();
    for batch in read_batches(path)? {
        let (batch_ids, batch_dim, batch_values) = batch_to_embeddings(&batch).map_err(|e| not_table(e.to_string()))?;
        if batch_dim != dim {
            return Err(not_table(format!("vectors of {batch_dim}, metadata says {dim}")));
        }
        ids.extend(batch_ids);
        values.extend(batch_values);
    }
    Ok(EmbeddingTable { ids, vectors: Embeddings::from_vec(dim, values)?, metadata })
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
        assert_eq!(mention_units(std::slice::from_ref(&s), 0), vec![Unit { id: "d/train/f:0@0".into(), text: "Paris".into() }]);
        assert_eq!(mention_units(std::slice::from_ref(&s), 3)[0].text, "it Paris in");
        assert_eq!(mention_units(std::slice::from_ref(&s), 100)[0].text, "Visit Paris in 2020");
    }

    #[test]
    fn type_patterns_list_frequent_mentions_and_definitions() {
        let mut t = TypePatterns::default();
        t.add(&sample("a", "Rome Paris Paris", &[(0, 4, "city"), (5, 10, "city"), (11, 16, "city")]));
        t.add(&sample("b", "Bob", &[(0, 3, "person")]));
        let defs = BTreeMap::from([("city".to_string(), "a large town".to_string())]);
        let units = t.units(&defs, 1);
        assert_eq!(units[0], Unit { id: "city".into(), text: "city: a large town. Examples: Paris".into() });
        assert_eq!(units[1].text, "person. Examples: Bob");
    }

    #[test]
    fn repeated_texts_are_embedded_once_and_tallied() {
        let units: Vec<Unit> =
            ["a", "bb", "a", "ccc"].iter().enumerate().map(|(i, t)| Unit { id: i.to_string(), text: t.to_string() }).collect();
        let mut e = HashEmbedder::new(16);
        let mut cache = Cache::in_memory(16);
        let (m, tally) = embed_units(&units, &mut e, &mut cache, 2, &ProgressBar::hidden()).unwrap();
        assert_eq!(tally, Tally { cache_hits: 0, repeats: 1, embedded: 3 });
        assert_eq!(m.row(0), m.row(2));
        assert_eq!(m.row(3), e.embed(&["ccc"]).unwrap().row(0));
        let (_, again) = embed_units(&units, &mut e, &mut cache, 2, &ProgressBar::hidden()).unwrap();
        assert_eq!(again, Tally { cache_hits: 0, repeats: 4, embedded: 0 });
    }
}
