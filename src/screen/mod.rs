//! The `screen` stage: cross-dataset conflict screening (B2NER, seed 002 §3.1 and
//! Appendix A.2), rule-based, with an optional model-based kNN check.
//!
//! Samples tables enter (any number; datasets are told apart by the `dataset` column, and
//! at least two are needed). [`corpus`] groups them by dataset and each dataset's labels
//! into types; [`labels`] pairs types of different datasets (same name after
//! normalisation, same archetype with `--mapping`, similar label embeddings with
//! `--similar-labels`); [`scan`] looks for every mention of one side in the other side's
//! texts and classifies each occurrence (consistent, wrong category, not extracted,
//! partially extracted; occurrences inside a longer entity are skipped). With `--knn`,
//! [`knn`] labels each mention of one dataset by its nearest neighbours among another's
//! (mention embeddings from `nerprep embed --what mentions`).
//!
//! One output directory leaves, whole or not at all ([`report`]): `conflicts.parquet` (a
//! seeded sample of the checked occurrences, at most `max_rows_per_pair` per pair, with
//! sample ids and offsets), `pairs.csv` (per directed pair: counts by kind and the conflict
//! ratio), `report.md` (the worst pairs with examples), one heatmap PNG per shared label
//! (dataset × dataset conflict ratios), `knn.csv` with `--knn`, and `provenance.json`.
//!
//! Counts: samples read = screened + quarantined (rows that fail the table checks) +
//! skipped (`empty_text`); occurrences checked = rows written + `over_row_cap` (notes).

pub mod corpus;
mod error;
pub mod knn;
pub mod labels;
mod params;
pub mod report;
pub mod scan;

pub use error::ScreenError;
pub use labels::{pair_key, DirectedPair, Reason};
pub use params::{ScreenParams, ValidScreenParams, DEFAULT_MAX_ROWS, MAX_KNN};
pub use scan::{Kind, PairTally};

use crate::embed::Embedder;
use crate::progress::{Progress, Unit};
use crate::taxonomy::Mapping;
use std::path::{Path, PathBuf};

/// Labels named per dataset in the no-shared-labels error.
const LABELS_SHOWN: usize = 5;

/// Everything the screen found, before it is written.
#[derive(Debug, Clone)]
pub struct Screen {
    /// The inputs, grouped.
    pub corpus: corpus::Corpus,
    /// Every directed pair, in output order.
    pub pairs: Vec<DirectedPair>,
    /// The scan of each dataset as a target, by dataset index.
    pub targets: Vec<scan::TargetScan>,
    /// The kNN agreement, with `--knn`.
    pub knn: Option<knn::Agreement>,
}

/// What [`screen_tables`] did, for the command line.
#[derive(Debug, Clone)]
pub struct ScreenOutcome {
    /// Datasets screened.
    pub datasets: usize,
    /// Directed pairs.
    pub pairs: usize,
    /// Occurrences checked, over all pairs.
    pub matched: u64,
    /// Of those, conflicts.
    pub conflicts: u64,
    /// The worst pairs as `source → target: ratio` lines.
    pub worst: Vec<String>,
    /// Where the accounting went.
    pub counts: crate::report::Counts,
}

/// Screens the samples of `inputs` against each other and writes the directory `out`; see
/// the module docs. `embedder` embeds label names when `similar_labels` is set; `emb` are
/// the mention embeddings for `--knn`.
pub fn screen_tables(
    inputs: &[PathBuf],
    emb: &[PathBuf],
    out: &Path,
    params: &ValidScreenParams,
    embedder: Option<&mut dyn Embedder>,
    progress: &dyn Progress,
) -> Result<ScreenOutcome, ScreenError> {
    let screen = run(inputs, emb, params, embedder, progress)?;
    let counts = report::write_all(out, &screen, inputs, emb, params)?;
    Ok(outcome(&screen, counts, params))
}

/// Reads, pairs and scans, without writing anything.
pub fn run(
    inputs: &[PathBuf],
    emb: &[PathBuf],
    params: &ValidScreenParams,
    embedder: Option<&mut dyn Embedder>,
    progress: &dyn Progress,
) -> Result<Screen, ScreenError> {
    if params.knn.is_some() && emb.is_empty() {
        return Err(ScreenError::KnnWithoutEmbeddings);
    }
    let mut corpus = corpus::load(inputs, params.params.seed)?;
    if corpus.datasets.len() < 2 {
        let names = corpus.datasets.first().map(|d| format!(" (`{}`)", d.name)).unwrap_or_default();
        return Err(ScreenError::OneDataset { found: corpus.datasets.len(), names });
    }
    let mappings = params.params.mapping.iter().map(Mapping::load).collect::<Result<Vec<_>, _>>()?;
    let similar = match (params.similar_labels, embedder) {
        (Some(tau), Some(e)) => Some((tau, e)),
        _ => None,
    };
    let pairs = labels::directed_pairs(&corpus, labels::Pairing { mappings: &mappings, similar })?;
    if pairs.is_empty() {
        return Err(no_shared_labels(&corpus));
    }
    let limits = scan::Limits { min_chars: params.min_mention_chars, rows: params.params.max_rows_per_pair, examples: params.params.examples };
    progress.start(Some(corpus.datasets.len() as u64), Unit::Items);
    let mut targets = Vec::with_capacity(corpus.datasets.len());
    let mut short = 0;
    for d in 0..corpus.datasets.len() {
        let (t, s) = scan::scan_target(&corpus, &pairs, d, limits)?;
        targets.push(t);
        short += s;
        progress.advance(1);
    }
    progress.finish();
    corpus.counts.note("short_mention", short);
    let knn = match params.knn {
        Some(k) => {
            let a = knn::agreement(&corpus, emb, k, params.params.seed, params.params.knn_sample)?;
            corpus.counts.note("knn_mentions", a.read);
            corpus.counts.note("knn_left_out", a.left_out);
            Some(a)
        }
        None => None,
    };
    Ok(Screen { corpus, pairs, targets, knn })
}

/// The error for inputs whose datasets share no label, naming a few labels of each.
fn no_shared_labels(corpus: &corpus::Corpus) -> ScreenError {
    let labels: Vec<String> = corpus
        .datasets
        .iter()
        .map(|d| {
            let names: Vec<&str> = d.types.iter().take(LABELS_SHOWN).map(|&t| corpus.types[t].name()).collect();
            let more = if d.types.len() > LABELS_SHOWN { ", …" } else { "" };
            if names.is_empty() { format!("{}: no entities", d.name) } else { format!("{}: {}{more}", d.name, names.join(", ")) }
        })
        .collect();
    ScreenError::NoSharedLabels { datasets: corpus.datasets.len(), labels: labels.join("; ") }
}

fn outcome(screen: &Screen, counts: crate::report::Counts, params: &ValidScreenParams) -> ScreenOutcome {
    let tallies: Vec<(usize, &PairTally)> = screen.targets.iter().flat_map(|t| t.tallies.iter().map(|(&p, t)| (p, t))).collect();
    let worst = report::worst(screen, params.params.worst, params.params.min_matched)
        .into_iter()
        .map(|(p, t)| {
            let pair = &screen.pairs[p];
            format!("{}: {} of {} conflict ({:.1} %)", report::pair_title(screen, pair), t.conflicts(), t.matched(), t.ratio().unwrap_or(0.0) * 100.0)
        })
        .collect();
    ScreenOutcome {
        datasets: screen.corpus.datasets.len(),
        pairs: screen.pairs.len(),
        matched: tallies.iter().map(|(_, t)| t.matched()).sum(),
        conflicts: tallies.iter().map(|(_, t)| t.conflicts()).sum(),
        worst,
        counts,
    }
}
