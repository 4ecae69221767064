//! From `--model`, `--backend`, `--device` and `--pooling` to a loaded [`Embedder`]: the only
//! factory of embedders. The value types it reads ([`ModelSpec`], [`Backend`], [`Device`],
//! [`super::Pooling`], [`EmbedConfig`]) live in [`super`], so backends never import this module.
//!
//! `--model` is `hash` (or `hash:DIM`), a known name (`minilm`) looked up in the local
//! model cache (`models/`, or `$NERPREP_MODELS`), or a directory. Nothing is ever fetched:
//! a missing model is an error that says to run `make model`. The default backend is the
//! fastest one that can run the model: ONNX Runtime when the directory has `model.onnx` and
//! the device is the CPU, candle otherwise (and always on CUDA).

use super::hash::HashEmbedder;
use super::{Backend, Device, EmbedConfig, EmbedError, Embedder, ModelSpec, KNOWN_MODELS};
use std::path::{Path, PathBuf};

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
    let onnx_usable = device == Device::Cpu && dir.join("model.onnx").is_file();
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
    if super::static_model::is_static_model(&dir) {
        return load_static(&dir, config);
    }
    match config.backend.unwrap_or_else(|| default_backend(&dir, config.device)) {
        Backend::Candle => Ok(Box::new(super::candle::CandleEmbedder::load(&dir, config.pooling, config.device)?)),
        Backend::Onnx => load_onnx(&dir, config),
        Backend::Hash => Err(EmbedError::Usage("use --model hash for the hash embedder".into())),
        Backend::Static => Err(EmbedError::Usage("the static backend is chosen by the model (--model minilm-static)".into())),
    }
}

/// A static model takes no backend, device or pooling: it is a table lookup on the CPU.
fn load_static(dir: &Path, config: &EmbedConfig) -> Result<Box<dyn Embedder>, EmbedError> {
    if config.backend.is_some() || config.device != Device::Cpu || config.pooling.is_some() {
        return Err(EmbedError::Usage(format!(
            "--backend, --device and --pooling apply to transformer models, not to the static model in {}",
            dir.display()
        )));
    }
    Ok(Box::new(super::static_model::StaticEmbedder::load(dir)?))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::hash::DEFAULT_DIM;
    use crate::embed::Pooling;

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
}
