//! The samples of every input, grouped by dataset, in the compact form the scan reads:
//! each sample's text with its entities as byte ranges, each entity tied to its dataset's
//! *type* (its labels grouped by [`pair_key`]: `Person` and `person` in one dataset are one
//! type with two spellings).

use super::labels::pair_key;
use super::ScreenError;
use crate::model::{CharIndex, Sample};
use crate::report::Counts;
use crate::rng::Rng;
use crate::table::TableReader;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// One entity of a sample: its byte range in the text and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ent {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// The global type id ([`Corpus::types`]).
    pub ty: u32,
    /// The label's spelling ([`Corpus::spellings`]).
    pub label: u32,
}

/// One sample as the scan sees it.
#[derive(Debug, Clone)]
pub struct ScreenSample {
    /// The sample id.
    pub id: String,
    /// The text.
    pub text: String,
    /// Entities, sorted by (start, end).
    pub entities: Vec<Ent>,
    /// A seeded hash of the id, the base of every sampling key of this sample's occurrences.
    pub key: u64,
}

/// One dataset's samples and types.
#[derive(Debug, Clone, Default)]
pub struct DatasetSamples {
    /// The dataset name.
    pub name: String,
    /// Its samples, in input order.
    pub samples: Vec<ScreenSample>,
    /// The global ids of its types.
    pub types: Vec<usize>,
}

/// One type of one dataset: the labels of the dataset sharing a [`pair_key`].
#[derive(Debug, Clone, Default)]
pub struct TypeInfo {
    /// Index of the dataset in [`Corpus::datasets`].
    pub dataset: usize,
    /// The pairing key.
    pub key: String,
    /// Each spelling of the label with its entity count.
    pub spellings: BTreeMap<String, u64>,
    /// Each distinct mention with its count.
    pub mentions: BTreeMap<String, u64>,
}

impl TypeInfo {
    /// The most frequent spelling (ties: the first in sort order), for reports.
    pub fn name(&self) -> &str {
        let best = self.spellings.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
        best.map(|(s, _)| s.as_str()).unwrap_or("")
    }

    /// Entities of this type.
    pub fn entities(&self) -> u64 {
        self.spellings.values().sum()
    }
}

/// Every dataset of the inputs.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// The datasets, sorted by name.
    pub datasets: Vec<DatasetSamples>,
    /// Every type of every dataset (ids are indices).
    pub types: Vec<TypeInfo>,
    /// Label spellings, by id.
    pub spellings: Vec<String>,
    /// Samples read, screened, quarantined (rows that fail the table checks) and skipped.
    pub counts: Counts,
}

impl Corpus {
    /// The global type id of `key` in dataset `d`, if the dataset has it.
    pub fn type_of(&self, d: usize, key: &str) -> Option<usize> {
        self.datasets[d].types.iter().copied().find(|&t| self.types[t].key == key)
    }
}

/// One dataset while it is read: types numbered locally until every dataset is known.
#[derive(Debug, Default)]
struct Pending {
    samples: Vec<ScreenSample>,
    by_key: BTreeMap<String, u32>,
    types: Vec<TypeInfo>,
}

/// Builds a [`Corpus`] sample by sample.
#[derive(Debug, Default)]
struct Builder {
    datasets: BTreeMap<String, Pending>,
    spellings: Vec<String>,
    spelling_ids: HashMap<String, u32>,
    seed: u64,
}

/// Reads every input table: bad rows are counted as quarantined with their reason, samples
/// with an empty text as skipped (`empty_text`).
pub fn load(inputs: &[PathBuf], seed: u64) -> Result<Corpus, ScreenError> {
    let mut counts = Counts::new("screen");
    let mut builder = Builder { seed, ..Builder::default() };
    for input in inputs {
        let mut reader = TableReader::<Sample>::open(input)?;
        while let Some(batch) = reader.next_checked() {
            let batch = batch?;
            counts.read += (batch.rows.len() + batch.rejected.len()) as u64;
            for q in &batch.rejected {
                counts.quarantine(&q.reason);
            }
            for s in &batch.rows {
                if s.text.is_empty() {
                    counts.skip("empty_text", 1);
                } else {
                    counts.written += 1;
                    builder.add(s);
                }
            }
        }
    }
    Ok(builder.finish(counts))
}

impl Builder {
    fn add(&mut self, s: &Sample) {
        let Builder { datasets, spellings, spelling_ids, seed } = self;
        if !datasets.contains_key(&s.dataset) {
            datasets.insert(s.dataset.clone(), Pending::default());
        }
        let Some(pending) = datasets.get_mut(&s.dataset) else { return };
        let sample = convert(s, *seed, |label, text| {
            let key = pair_key(label);
            let ty = match pending.by_key.get(&key) {
                Some(&t) => t,
                None => {
                    pending.types.push(TypeInfo { key: key.clone(), ..TypeInfo::default() });
                    let t = pending.types.len() as u32 - 1;
                    pending.by_key.insert(key, t);
                    t
                }
            };
            let info = &mut pending.types[ty as usize];
            *info.spellings.entry(label.to_string()).or_default() += 1;
            *info.mentions.entry(text.to_string()).or_default() += 1;
            let label_id = match spelling_ids.get(label) {
                Some(&id) => id,
                None => {
                    spellings.push(label.to_string());
                    let id = spellings.len() as u32 - 1;
                    spelling_ids.insert(label.to_string(), id);
                    id
                }
            };
            (ty, label_id)
        });
        pending.samples.push(sample);
    }

    /// Numbers the types globally, datasets in name order.
    fn finish(self, counts: Counts) -> Corpus {
        let mut corpus = Corpus { counts, spellings: self.spellings, ..Corpus::default() };
        for (d, (name, mut pending)) in self.datasets.into_iter().enumerate() {
            let base = corpus.types.len() as u32;
            for s in &mut pending.samples {
                s.entities.iter_mut().for_each(|e| e.ty += base);
            }
            let types = (base as usize..base as usize + pending.types.len()).collect();
            corpus.types.extend(pending.types.into_iter().map(|t| TypeInfo { dataset: d, ..t }));
            corpus.datasets.push(DatasetSamples { name, samples: pending.samples, types });
        }
        corpus
    }
}

/// The sample with byte-range entities; `intern` gives (type, spelling) of a label and
/// records the mention.
fn convert(s: &Sample, seed: u64, mut intern: impl FnMut(&str, &str) -> (u32, u32)) -> ScreenSample {
    let index = (!s.text.is_ascii()).then(|| CharIndex::new(&s.text));
    let mut entities: Vec<Ent> = s
        .entities
        .iter()
        .filter_map(|e| {
            let range = match &index {
                Some(idx) => idx.byte_range(e.span)?,
                None => e.span.start() as usize..e.span.end() as usize,
            };
            let (ty, label) = intern(&e.label, &e.text);
            Some(Ent { start: range.start as u32, end: range.end as u32, ty, label })
        })
        .collect();
    entities.sort_by_key(|e| (e.start, e.end, e.ty, e.label));
    ScreenSample { id: s.id.clone(), text: s.text.clone(), entities, key: Rng::for_sample(seed, &s.id).next_u64() }
}
