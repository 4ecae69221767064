//! From `--model`, `--backend`, `--device` and `--pooling` to a loaded [`Embedder`].
//!
//! `--model` is `hash` (or `hash:DIM`), a known name (`minilm`) looked up in the local
//! model cache (`models/`, or `$NERPREP_MODELS`), or a directory. Nothing is ever fetched:
//! a missing model is an error that says to run `make model`. The default backend is the
//! fastest one compiled in that can run the model: ONNX Runtime when built with the `onnx`
//! feature and the directory has `model.onnx`, candle otherwise (and always on CUDA).

use super::hash::{HashEmbedder, DEFAULT_DIM};
use super::{EmbedError, Embedder};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Model names `--model` knows, and their directory in the model cache.
pub const KNOWN_MODELS: &[(&str, &str)] = &[("minilm", "all-MiniLM-L6-v2")];

/// Environment variable that overrides the model cache directory (default `models`).
pub const MODELS_ENV: &str = "NERPREP_MODELS";

/// Which model `--model` names.
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

/// The implementation that computes vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// Hashed character n-grams (no model).
    Hash,
    /// candle, pure Rust (CPU or CUDA).
    Candle,
    /// ONNX Runtime through fastembed (feature `onnx`).
    Onnx,
}

impl Backend {
    /// The name used on the command line and in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Hash => "hash",
            Backend::Candle => "candle",
            Backend::Onnx => "onnx",
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Everything needed to build an embedder; see [`load_embedder`].
#[derive(Debug, Clone)]
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

/// The directory a model spec points at (`None` for `hash`).
pub fn model_dir(spec: &ModelSpec, models_dir: &Path) -> Result<Option<PathBuf>, EmbedError> {
    match spec {
        ModelSpec::Hash { .. } => Ok(None),
        ModelSpec::Named(name) => {
            let sub = KNOWN_MODELS.iter().find(|(n, _)| n == name).map_or(name.as_str(), |(_, d)| *d);
            let dir = models_dir.join(sub);
            if !dir.is_dir() {
                return Err(EmbedError::NotInstalled { name: name.clone(), dir });
            }
            Ok(Some(dir))
        }
        ModelSpec::Dir(dir) => {
            if !dir.is_dir() {
                let known: Vec<&str> = KNOWN_MODELS.iter().map(|(n, _)| *n).collect();
                return Err(EmbedError::Usage(format!(
                    "--model {}: not a directory, and not one of hash, hash:DIM, {}",
                    dir.display(),
                    known.join(", ")
                )));
            }
            Ok(Some(dir.clone()))
        }
    }
}

/// The backend [`load_embedder`] uses when none is asked for.
pub fn default_backend(dir: &Path, device: Device) -> Backend {
    let onnx_usable = cfg!(feature = "onnx") && device == Device::Cpu && dir.join("model.onnx").is_file();
    if onnx_usable { Backend::Onnx } else { Backend::Candle }
}

/// Builds the embedder `config` describes, reading only local files.
pub fn load_embedder(config: &EmbedConfig) -> Result<Box<dyn Embedder>, EmbedError> {
    if let ModelSpec::Hash { dim } = config.model {
        if let Some(b) = config.backend {
            return Err(EmbedError::Usage(format!("--backend {b} applies to transformer models, not --model hash")));
        }
        if config.device != Device::Cpu || config.pooling.is_some() {
            return Err(EmbedError::Usage("--device and --pooling apply to transformer models, not --model hash".into()));
        }
        return Ok(Box::new(HashEmbedder::new(dim)));
    }
    let Some(dir) = model_dir(&config.model, &config.models_dir)? else {
        return Err(EmbedError::Usage("the model has no directory".into()));
    };
    match config.backend.unwrap_or_else(|| default_backend(&dir, config.device)) {
        Backend::Candle => Ok(Box::new(super::candle::CandleEmbedder::load(&dir, config.pooling, config.device)?)),
        Backend::Onnx => load_onnx(&dir, config),
        Backend::Hash => Err(EmbedError::Usage("use --model hash for the hash embedder".into())),
    }
}

#[cfg(feature = "onnx")]
fn load_onnx(dir: &Path, config: &EmbedConfig) -> Result<Box<dyn Embedder>, EmbedError> {
    if config.device != Device::Cpu {
        return Err(EmbedError::Usage(format!(
            "--backend onnx runs on the CPU; use --backend candle for --device {}",
            config.device
        )));
    }
    let runtime = super::onnx::runtime_library(&config.models_dir)?;
    Ok(Box::new(super::onnx::OnnxEmbedder::load(dir, config.pooling, &runtime)?))
}

#[cfg(not(feature = "onnx"))]
fn load_onnx(_dir: &Path, _config: &EmbedConfig) -> Result<Box<dyn Embedder>, EmbedError> {
    Err(EmbedError::NotBuilt { what: "--backend onnx".into(), feature: "onnx" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_specs_parse() {
        assert_eq!("hash".parse::<ModelSpec>().unwrap(), ModelSpec::Hash { dim: DEFAULT_DIM });
        assert_eq!("hash:64".parse::<ModelSpec>().unwrap(), ModelSpec::Hash { dim: 64 });
        assert!("hash:0".parse::<ModelSpec>().is_err());
        assert!("hash:x".parse::<ModelSpec>().is_err());
        assert_eq!("minilm".parse::<ModelSpec>().unwrap(), ModelSpec::Named("minilm".into()));
        assert_eq!("some/dir".parse::<ModelSpec>().unwrap(), ModelSpec::Dir("some/dir".into()));
    }

    #[test]
    fn devices_backends_and_poolings_parse() {
        assert_eq!("cuda:1".parse::<Device>().unwrap(), Device::Cuda(1));
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert!("gpu".parse::<Device>().is_err());
        assert_eq!("onnx".parse::<Backend>().unwrap(), Backend::Onnx);
        assert!("hash".parse::<Backend>().is_err());
        assert_eq!("cls".parse::<Pooling>().unwrap(), Pooling::Cls);
    }

    #[test]
    fn a_missing_named_model_says_to_run_make_model() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EmbedConfig::new(ModelSpec::Named("minilm".into()));
        config.models_dir = dir.path().to_path_buf();
        let err = load_embedder(&config).err().unwrap().to_string();
        assert!(err.contains("make model") && err.contains("all-MiniLM-L6-v2"), "{err}");
    }

    #[test]
    fn hash_rejects_transformer_options() {
        let mut config = EmbedConfig::new(ModelSpec::Hash { dim: 8 });
        config.backend = Some(Backend::Candle);
        assert!(load_embedder(&config).is_err());
        config.backend = None;
        config.device = Device::Cuda(0);
        assert!(load_embedder(&config).is_err());
        config.device = Device::Cpu;
        assert_eq!(load_embedder(&config).unwrap().dim(), 8);
    }

    #[test]
    fn a_directory_without_weights_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EmbedConfig::new(ModelSpec::Dir(dir.path().to_path_buf()));
        config.backend = Some(Backend::Candle);
        let err = load_embedder(&config).err().unwrap().to_string();
        assert!(err.contains("config.json") && err.contains("missing"), "{err}");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        let err = super::super::candle::candle_device(Device::Cuda(0)).err().unwrap().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }

    #[cfg(not(feature = "onnx"))]
    #[test]
    fn onnx_without_the_feature_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EmbedConfig::new(ModelSpec::Dir(dir.path().to_path_buf()));
        config.backend = Some(Backend::Onnx);
        let err = load_embedder(&config).err().unwrap().to_string();
        assert!(err.contains("--features onnx"), "{err}");
    }
}
