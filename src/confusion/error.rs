//! What can go wrong in the confusion stage.

use crate::embed::EmbedError;
use crate::io::IoError;
use crate::params::ParamsError;
use crate::plot::PlotError;
use crate::taxonomy::TaxonomyError;
use std::path::PathBuf;

/// The confusion stage failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfusionError {
    /// The parameters are unusable (every problem listed).
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// A file of the stage is not in a form it reads.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Fewer than two target types: nothing can be confused.
    #[error("{found} target type{s}; confusion needs at least two", s = if *.found == 1 { "" } else { "s" })]
    TooFewTypes {
        /// How many.
        found: usize,
    },
    /// `--labels` names a type that `--types` does not have.
    #[error("--labels: `{label}` is not a type of {types}")]
    UnknownLabel {
        /// The label.
        label: String,
        /// The types file.
        types: PathBuf,
    },
    /// A mapping or definitions file does not load.
    #[error(transparent)]
    Taxonomy(#[from] TaxonomyError),
    /// Embedding the descriptions failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// Drawing the heatmap failed.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
}
