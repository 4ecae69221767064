//! What can go wrong in the screen stage: unusable parameters (a usage error) apart from
//! inputs that cannot be screened and failed reads and writes.

use crate::embed::EmbedError;
use crate::io::IoError;
use crate::params::ParamsError;
use crate::plot::PlotError;
use crate::table::TableError;
use crate::taxonomy::TaxonomyError;
use std::path::PathBuf;

/// The screen stage failed.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// The parameters are unusable (every problem listed).
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// Fewer than two datasets: there is nothing to screen against.
    #[error("the inputs hold {found} dataset{s}{names}; screening compares at least two (the `dataset` column tells them apart)", s = if *.found == 1 { "" } else { "s" })]
    OneDataset {
        /// How many datasets the inputs hold.
        found: usize,
        /// `` (`x`)`` naming the one found, or empty.
        names: String,
    },
    /// No label of one dataset pairs with a label of another.
    #[error("no label pairs across the {datasets} datasets ({labels}); pair different names with --mapping or --similar-labels")]
    NoSharedLabels {
        /// How many datasets.
        datasets: usize,
        /// Each dataset with some of its labels.
        labels: String,
    },
    /// The kNN check was asked for without mention embeddings.
    #[error("--knn needs the mention embeddings of the inputs (--emb, from `nerprep embed --what mentions`)")]
    KnnWithoutEmbeddings,
    /// An embeddings table cannot serve the kNN check.
    #[error("{path}: {message}")]
    BadEmbeddings {
        /// The table.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The embedding model (label similarity) failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The mentions searched in one dataset do not fit in one search automaton.
    #[error(
        "{patterns} distinct mentions to search in dataset {dataset} do not fit in one automaton ({message}); raise --min-mention-chars or screen fewer datasets together"
    )]
    TooManyMentions {
        /// The dataset searched.
        dataset: String,
        /// How many distinct mentions.
        patterns: usize,
        /// The automaton builder's reason.
        message: String,
    },
    /// A mapping does not load.
    #[error(transparent)]
    Mapping(#[from] TaxonomyError),
    /// Reading an input table or writing the conflicts table failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Drawing a heatmap failed.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// Writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
}
