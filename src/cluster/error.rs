//! What can go wrong in the cluster stage: unusable parameters (a usage error) apart from
//! unusable input (an embeddings table that cannot be clustered, a mapping that does not
//! load) and failed writes.

use crate::embed::EmbedError;
use crate::io::IoError;
use crate::params::ParamsError;
use crate::plot::PlotError;
use crate::table::side::DuplicateId;
use crate::table::TableError;
use crate::taxonomy::TaxonomyError;
use std::path::PathBuf;

/// The cluster stage failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The parameters are unusable (every problem listed).
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The embeddings table could not be read (not Parquet, not an embeddings table, its
    /// vectors not of the dimension its metadata says); the reader's message names the file.
    #[error("{source}")]
    Read {
        /// The table.
        path: PathBuf,
        /// What the reader said.
        #[source]
        source: EmbedError,
    },
    /// A vector cannot be clustered by cosine: not finite, or all zeros.
    #[error("{path}: row {row} (id `{id}`) {problem}; cosine clustering needs finite, non-zero vectors")]
    BadVector {
        /// The table.
        path: PathBuf,
        /// The 0-based row.
        row: usize,
        /// The row's id.
        id: String,
        /// What is wrong with it (`holds NaN at position 3`, `is all zeros`).
        problem: String,
    },
    /// The table has fewer units than the largest k asks for.
    #[error("{path}: {units} units, fewer than the largest k ({k}); lower --k to at most {units}")]
    TooFewUnits {
        /// The table.
        path: PathBuf,
        /// Units in it.
        units: usize,
        /// The largest k.
        k: usize,
    },
    /// An id appears twice in the table.
    #[error(transparent)]
    DuplicateId(#[from] DuplicateId),
    /// The `--compare` mapping does not load.
    #[error("--compare: {0}")]
    Mapping(#[source] TaxonomyError),
    /// None of the units is a label of the `--compare` mapping.
    #[error("--compare {path}: none of the {units} unit ids is a label or alias of the mapping (ids like `{example}`)")]
    NothingToCompare {
        /// The mapping.
        path: PathBuf,
        /// Units clustered.
        units: usize,
        /// The first unit id, to show what was matched.
        example: String,
    },
    /// Writing the assignments table failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Drawing the figure failed.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// Writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
}
