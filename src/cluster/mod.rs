//! The cluster stage: choose the number of clusters of an embeddings table the way SAM-NER
//! chose its 14 archetypes (seed 000, "Why 14 Semantic Archetypes?", Figure 4), as a tool a
//! taxonomy maintainer reruns when the data changes.
//!
//! An embeddings side table (`id`, `embedding`; `nerprep embed`) enters; its vectors are
//! checked (finite, non-zero, ids unique) and scaled to unit length, so that Euclidean
//! k-means on them clusters by cosine. For each k of the range: k-means ([`kmeans`]:
//! k-means++ seeding, the best of `restarts` runs), the cosine silhouette
//! ([`silhouette`]) and the gap statistic ([`gap`]: `B` reference sets clustered the same
//! way). The three choices (gap 1-SE rule, largest gap, silhouette local peaks) are
//! reported side by side, and with a curated mapping every k is scored against it
//! ([`compare`]). [`report`] writes the output directory: `scores.csv`, `scores.json`,
//! `scores.png`, `scores.svg`, `assignments.parquet`, `draft-mapping.yaml` and
//! `provenance.json`, all at once or not at all.
//!
//! Every random draw comes from a generator seeded by `--seed` and what it is for (k,
//! reference set, run, row), and all parallel work is split in blocks that do not depend
//! on the thread count: same seed, same bytes, on 1 or N threads.
//!
//! ```
//! use nerprep::cluster::{kmeans::Matrix, sweep, ClusterParams, KRange};
//! use nerprep::params::StageParams;
//! use nerprep::progress::NoProgress;
//! // Two tight groups of directions.
//! let rows = vec![1.0, 0.0, 0.99, 0.1, 0.98, 0.12, 0.0, 1.0, 0.1, 0.99, 0.12, 0.98];
//! let params = ClusterParams { k: KRange { lo: 2, hi: 3 }, restarts: 2, refs: 3, ..Default::default() };
//! let s = sweep(&Matrix::new(2, rows), &params.check().unwrap(), &NoProgress);
//! assert_eq!(s.scores.len(), 2);
//! assert!(s.scores[0].silhouette > 0.9);
//! ```

pub mod compare;
mod error;
pub mod gap;
pub mod kmeans;
mod params;
pub mod report;
pub mod silhouette;
mod tile;

pub use error::ClusterError;
pub use params::{ClusterParams, KRange, RefsBox, ValidClusterParams};

use crate::embed::stage::{read_embeddings, EmbeddingTable};
use crate::rng::Rng;
use crate::progress::{Progress, Unit};
use gap::{Gap, ReferenceBox};
use kmeans::{KMeansConfig, KMeansFit, Matrix};
use rayon::prelude::*;
use std::path::Path;

/// The scores of one k.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KScore {
    /// The number of clusters.
    pub k: usize,
    /// Within-cluster sum of squares of the best run (on the unit vectors).
    pub inertia: f64,
    /// Mean cosine silhouette.
    pub silhouette: f64,
    /// `Gap(k)`.
    pub gap: f64,
    /// `s_k`, the gap's standard error.
    pub s_k: f64,
    /// Adjusted Rand index against the `--compare` mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ari: Option<f64>,
    /// Purity against the `--compare` mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purity: Option<f64>,
}

/// The k each criterion picks, side by side.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Choices {
    /// Tibshirani's 1-SE rule: the smallest k with `Gap(k) ≥ Gap(k+1) − s_{k+1}`; `null`
    /// when no k of the range passes.
    pub gap_1se: Option<usize>,
    /// The k of the largest gap.
    pub max_gap: Option<usize>,
    /// The k of the highest silhouette.
    pub max_silhouette: Option<usize>,
    /// The ks whose silhouette is above both neighbours'.
    pub silhouette_peaks: Vec<usize>,
}

/// A sweep over the k range.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// One row per k, in order.
    pub scores: Vec<KScore>,
    /// The best k-means fit on the data for each k, in the same order.
    pub fits: Vec<KMeansFit>,
    /// What each criterion picks.
    pub choices: Choices,
    /// Units whose silhouette was averaged (all, or the sample).
    pub silhouette_units: usize,
}

impl Sweep {
    /// The fit of `k`, if it was tried.
    pub fn fit_of(&self, k: usize) -> Option<&KMeansFit> {
        self.scores.iter().position(|s| s.k == k).map(|i| &self.fits[i])
    }

    /// The k whose assignments are written: `wanted`, else the 1-SE choice, else the
    /// largest gap.
    pub fn assigned_k(&self, wanted: Option<usize>) -> usize {
        wanted.or(self.choices.gap_1se).or(self.choices.max_gap).unwrap_or(self.scores[0].k)
    }
}

/// The seed of one k-means fit: the run seed mixed with k and the data set (0 = the data,
/// `b` = reference set `b`).
fn fit_seed(seed: u64, k: usize, set: usize) -> u64 {
    Rng::for_sample(seed, &format!("cluster/k{k}/set{set}")).next_u64()
}

/// Runs the sweep over the unit vectors `m` (at least `params.k.hi` rows); see the module
/// docs. `progress` counts k-means fits (ks × (1 + B)).
pub fn sweep(m: &Matrix, params: &ValidClusterParams, progress: &dyn Progress) -> Sweep {
    let ks: Vec<usize> = params.k.values().collect();
    progress.start(Some((ks.len() * (1 + params.refs)) as u64), Unit::Items);
    let config = |k| KMeansConfig { k, restarts: params.restarts, max_iter: params.max_iter, tol: params.tol };
    let fits: Vec<KMeansFit> = ks
        .par_iter()
        .map(|&k| {
            let f = kmeans::fit(m, &config(k), fit_seed(params.seed, k, 0));
            progress.advance(1);
            f
        })
        .collect();
    let bounds = ReferenceBox::of(m, params.refs_box);
    let mut reference_w: Vec<Vec<f64>> = vec![Vec::with_capacity(params.refs); ks.len()];
    for set in 1..=params.refs {
        let reference = bounds.draw(m.len(), params.seed, set);
        let ws: Vec<f64> = ks
            .par_iter()
            .map(|&k| {
                let w = kmeans::fit(&reference, &config(k), fit_seed(params.seed, k, set)).inertia;
                progress.advance(1);
                w
            })
            .collect();
        reference_w.iter_mut().zip(ws).for_each(|(all, w)| all.push(w));
    }
    let gaps: Vec<Gap> = fits.iter().zip(&reference_w).map(|(f, r)| gap::gap_of(f.inertia, r)).collect();
    let silhouettes: Vec<f64> = ks
        .par_iter()
        .zip(&fits)
        .map(|(&k, f)| silhouette::silhouette(m, &f.labels, k, params.silhouette_sample, params.seed))
        .collect();
    progress.finish();
    let scores = ks
        .iter()
        .enumerate()
        .map(|(i, &k)| KScore { k, inertia: fits[i].inertia, silhouette: silhouettes[i], gap: gaps[i].gap, s_k: gaps[i].s_k, ari: None, purity: None })
        .collect();
    let choices = Choices {
        gap_1se: gap::one_se_choice(&ks, &gaps),
        max_gap: gap::max_gap_choice(&ks, &gaps),
        max_silhouette: gap::argmax(&ks, silhouettes.iter().copied()),
        silhouette_peaks: gap::local_peaks(&ks, &silhouettes),
    };
    let n = m.len();
    let silhouette_units = if params.silhouette_sample > 0 && n > params.silhouette_sample { params.silhouette_sample } else { n };
    Sweep { scores, fits, choices, silhouette_units }
}

/// The ids and unit-length vectors of an embeddings table, refusing what cannot be
/// clustered by cosine: no rows, a repeated id, a non-finite or all-zero vector, fewer
/// rows than `max_k`.
pub fn prepare(table: EmbeddingTable, path: &Path, max_k: usize) -> Result<(Vec<String>, Matrix), ClusterError> {
    crate::table::side::index_by_id(path, &table.ids)?;
    let dim = table.vectors.dim();
    let mut data = table.vectors.as_slice().to_vec();
    if dim == 0 && !table.ids.is_empty() {
        return Err(bad_vector(path, 0, &table.ids[0], "has no values".into()));
    }
    for (row, (values, id)) in data.chunks_exact_mut(dim.max(1)).zip(&table.ids).enumerate() {
        if let Some(j) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad_vector(path, row, id, format!("holds {} at position {j}", values[j])));
        }
        let norm = values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return Err(bad_vector(path, row, id, "is all zeros".into()));
        }
        values.iter_mut().for_each(|v| *v = (f64::from(*v) / norm) as f32);
    }
    if table.ids.len() < max_k {
        return Err(ClusterError::TooFewUnits { path: path.to_path_buf(), units: table.ids.len(), k: max_k });
    }
    Ok((table.ids, Matrix::new(dim.max(1), data)))
}

fn bad_vector(path: &Path, row: usize, id: &str, problem: String) -> ClusterError {
    ClusterError::BadVector { path: path.to_path_buf(), row, id: id.to_string(), problem }
}

/// Reads the embeddings table `input` and checks it for clustering ([`prepare`]).
pub fn load(input: &Path, max_k: usize) -> Result<(Vec<String>, Matrix), ClusterError> {
    let table = read_embeddings(input).map_err(|source| ClusterError::Read { path: input.to_path_buf(), source })?;
    prepare(table, input, max_k)
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct ClusterOutcome {
    /// The sweep.
    pub sweep: Sweep,
    /// The k whose assignments and draft mapping were written.
    pub assigned_k: usize,
    /// Units clustered.
    pub units: usize,
    /// With `--compare`: units the mapping lists, and units it does not.
    pub compared: Option<(usize, usize)>,
}

/// The whole stage: reads `input`, sweeps, scores against `params.compare` when given and
/// writes the output directory `out` ([`report`]).
pub fn run(input: &Path, out: &Path, valid: &ValidClusterParams, progress: &dyn Progress) -> Result<ClusterOutcome, ClusterError> {
    let (ids, m) = load(input, valid.k.hi)?;
    let reference = match &valid.compare {
        Some(path) => {
            let mapping = crate::taxonomy::Mapping::load(path).map_err(ClusterError::Mapping)?;
            let r = compare::Reference::from_mapping(&mapping, &ids);
            if r.matched() == 0 {
                return Err(ClusterError::NothingToCompare { path: path.clone(), units: ids.len(), example: ids[0].clone() });
            }
            Some(r)
        }
        None => None,
    };
    let mut sweep = sweep(&m, valid, progress);
    if let Some(r) = &reference {
        for (score, fit) in sweep.scores.iter_mut().zip(&sweep.fits) {
            let a = compare::agreement(&fit.labels, r);
            score.ari = Some(a.ari);
            score.purity = Some(a.purity);
        }
    }
    let assigned_k = sweep.assigned_k(valid.assign_k);
    let inputs = report::Inputs { embeddings: input, params: valid, reference: reference.as_ref() };
    report::write_all(out, &inputs, &ids, &m, &sweep, assigned_k)?;
    let compared = reference.as_ref().map(|r| (r.matched(), ids.len() - r.matched()));
    Ok(ClusterOutcome { units: ids.len(), sweep, assigned_k, compared })
}

/// The units of a mapping's types, for clustering them: one per label (id = the label),
/// text = the label, and its definition when the mapping has one. The archetype the
/// mapping puts it under is never part of the text, so clusters cannot simply echo it.
pub fn mapping_type_units(mapping: &crate::taxonomy::Mapping) -> Vec<crate::embed::stage::Unit> {
    mapping
        .entries()
        .map(|e| {
            let text = match e.definition.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                Some(def) => format!("{}: {def}", e.label),
                None => e.label.clone(),
            };
            let key = crate::model::schema::EmbeddingKey { id: e.label.clone(), label: Some(e.label.clone()), ..Default::default() };
            crate::embed::stage::Unit { key, text }
        })
        .collect()
}

/// Embeds the types of `mapping` ([`mapping_type_units`]) with `embedder` into the
/// embeddings table `output` (the layout `nerprep embed` writes); returns how many.
pub fn write_type_embeddings(
    mapping: &crate::taxonomy::Mapping,
    embedder: &mut dyn crate::embed::Embedder,
    output: &Path,
) -> Result<usize, ClusterError> {
    use crate::embed::stage::{embed_units, DEFAULT_BATCH, DIM_KEY, MODEL_KEY, WHAT_KEY};
    let units = mapping_type_units(mapping);
    let info = embedder.info().clone();
    let read_err = |source| ClusterError::Read { path: output.to_path_buf(), source };
    let mut cache = crate::embed::Cache::in_memory(info.dim);
    let (vectors, _) = embed_units(&units, embedder, &mut cache, DEFAULT_BATCH, &crate::progress::NoProgress).map_err(read_err)?;
    let rows: Vec<crate::model::schema::EmbeddingKey> = units.iter().map(|u| u.key.clone()).collect();
    let keys = crate::model::schema::EmbeddingKeys { label: true, ..Default::default() };
    let shape = |e: arrow_schema::ArrowError| read_err(crate::embed::EmbedError::Shape(e.to_string()));
    let batch = crate::model::schema::embeddings_to_batch(&rows, keys, vectors.dim(), vectors.as_slice()).map_err(shape)?;
    let metadata = std::collections::BTreeMap::from([
        (MODEL_KEY.to_string(), info.model_id.clone()),
        (DIM_KEY.to_string(), info.dim.to_string()),
        (WHAT_KEY.to_string(), "mapping-types".to_string()),
    ]);
    let schema = crate::model::schema::embedding_schema(info.dim, keys).map_err(shape)?;
    let mut writer = crate::table::BatchWriter::create(output, schema, &metadata)?;
    writer.write(&batch)?;
    let mut provenance = crate::provenance::Provenance::new("embed", serde_json::json!({ "what": "mapping-types", "model": info.model_id }));
    let origin = Path::new(mapping.origin());
    if origin.is_file() {
        provenance.input(origin)?;
    }
    let mut counts = crate::report::Counts::new("embed");
    counts.read = units.len() as u64;
    counts.written = units.len() as u64;
    provenance.counts = Some(counts);
    writer.finish(provenance)?;
    Ok(units.len())
}
