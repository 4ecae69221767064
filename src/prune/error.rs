//! What can go wrong when pruning: bad parameters, unreadable tables, embeddings that do
//! not fit the samples.

use crate::embed::EmbedError;
use crate::io::IoError;
use crate::params::ParamsError;
use crate::table::side::DuplicateId;
use crate::table::TableError;
use std::path::PathBuf;

/// Pruning failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// The parameters do not pass their checks.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// A samples table or an output could not be read or written.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The embeddings table could not be read.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// A file could not be written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A sample id (or an embedding id) appears twice.
    #[error(transparent)]
    DuplicateId(#[from] DuplicateId),
    /// Some samples have no embedding (and `missing` is `error`).
    #[error(
        "{count} of {total} samples have no embedding in {}: {}{}; embed them (nerprep embed --what text) or pass --missing skip",
        emb.display(), examples.join(", "), if *count > examples.len() { ", …" } else { "" }
    )]
    MissingEmbeddings {
        /// The embeddings table(s), as given.
        emb: PathBuf,
        /// How many samples lack one.
        count: usize,
        /// How many samples were read.
        total: usize,
        /// The first few ids lacking one.
        examples: Vec<String>,
    },
    /// The embeddings are not of sample texts.
    #[error("{}: holds `{what}` embeddings; prune needs one vector per sample text (nerprep embed --what text)", path.display())]
    NotTextEmbeddings {
        /// The embeddings table.
        path: PathBuf,
        /// What it holds.
        what: String,
    },
    /// Two embeddings tables of different vector lengths.
    #[error("{}: vectors of {found} values, but {} has {expected}", path.display(), first.display())]
    DimensionMismatch {
        /// The table that disagrees.
        path: PathBuf,
        /// Its vector length.
        found: usize,
        /// The first table.
        first: PathBuf,
        /// The first table's vector length.
        expected: usize,
    },
    /// A vector that cannot be compared (NaN, infinite, all zeros).
    #[error("{}: embedding of `{id}` (row {row}) {problem}", path.display())]
    BadVector {
        /// The embeddings table.
        path: PathBuf,
        /// The id of the vector.
        id: String,
        /// Its row (0-based).
        row: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// Building the decisions table failed.
    #[error("{}: {source}", path.display())]
    Arrow {
        /// The table being built.
        path: PathBuf,
        /// What failed.
        #[source]
        source: arrow_schema::ArrowError,
    },
}
