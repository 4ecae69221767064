//! The ONNX backend (feature `onnx`): the same sentence encoders exported to ONNX, run by
//! ONNX Runtime through fastembed's user-defined-model API; the fastest CPU path measured.
//!
//! A model directory enters with `model.onnx` (inputs `input_ids`, `attention_mask`,
//! `token_type_ids`; output `last_hidden_state`) beside the tokenizer files of the
//! sentence-transformers layout. fastembed tokenises (padding each batch to its longest
//! input, truncating at the model's maximum length), runs the session, pools and
//! L2-normalises. The ONNX Runtime shared library is loaded at run time from
//! `$ORT_DYLIB_PATH` or the model cache (`make model` takes it from the PyPI `onnxruntime`
//! wheel); nothing is downloaded.

use super::{Backend, Pooling};
use super::text_model::{declared_pooling, max_length, model_id, read_json, require_files};
use super::{EmbedError, Embedder, EmbedderInfo, Embeddings};
use crate::io::IoError;
use fastembed::{InitOptionsUserDefined, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Environment variable naming the ONNX Runtime shared library (as `ort` reads it).
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// Where `make model` puts the ONNX Runtime library, relative to the model cache.
pub const RUNTIME_IN_CACHE: &str = "onnxruntime/libonnxruntime.so";

/// The files an ONNX model directory must hold.
const FILES: [&str; 5] =
    ["model.onnx", "tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"];
const NEEDS: &str = "model.onnx, tokenizer.json, config.json, special_tokens_map.json and tokenizer_config.json";

/// A sentence encoder run by ONNX Runtime.
pub struct OnnxEmbedder {
    model: TextEmbedding,
    info: EmbedderInfo,
}

/// The ONNX Runtime library to load: `$ORT_DYLIB_PATH`, else the model cache's copy.
pub fn runtime_library(models_dir: &Path) -> Result<PathBuf, EmbedError> {
    let path = match std::env::var_os(ORT_DYLIB_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => models_dir.join(RUNTIME_IN_CACHE),
    };
    if !path.is_file() {
        return Err(EmbedError::NotInstalled { name: "onnxruntime".into(), dir: path });
    }
    Ok(path)
}

/// The process's one ONNX Runtime environment, loading the library on first use.
fn environment(library: &Path) -> Result<ort::environment::Environment, EmbedError> {
    static ENV: Mutex<Option<ort::environment::Environment>> = Mutex::new(None);
    let mut env = ENV.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(e) = env.as_ref() {
        return Ok(e.clone());
    }
    let built = ort::init_from(library)
        .map_err(|e| EmbedError::Onnx(format!("{}: {e}", library.display())))?
        .with_name("nerprep")
        .with_telemetry(false)
        .build()
        .map_err(|e| EmbedError::Onnx(e.to_string()))?;
    *env = Some(built.clone());
    Ok(built)
}

impl OnnxEmbedder {
    /// Loads `dir/model.onnx` with ONNX Runtime from `library`; `pooling` overrides what
    /// `1_Pooling/config.json` declares (mean when the directory declares nothing).
    pub fn load(dir: &Path, pooling: Option<Pooling>, library: &Path) -> Result<OnnxEmbedder, EmbedError> {
        require_files(dir, &FILES, Backend::Onnx, NEEDS)?;
        let read = |name: &str| -> Result<Vec<u8>, EmbedError> {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| IoError::new(path, e).into())
        };
        let config = read_json(&dir.join("config.json"))?;
        let positions = config.get("max_position_embeddings").and_then(serde_json::Value::as_u64).unwrap_or(512);
        let max_length = max_length(dir, positions as usize)?;
        let pooling = match pooling {
            Some(p) => p,
            None => declared_pooling(dir)?.unwrap_or(Pooling::Mean),
        };
        let dim = config.get("hidden_size").and_then(serde_json::Value::as_u64).ok_or_else(|| {
            EmbedError::BadModelFile { path: dir.join("config.json"), message: "no integer `hidden_size`".into() }
        })? as usize;
        let files = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };
        let user_model = UserDefinedEmbeddingModel::new(read("model.onnx")?, files).with_pooling(match pooling {
            Pooling::Mean => fastembed::Pooling::Mean,
            Pooling::Cls => fastembed::Pooling::Cls,
        });
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let options = InitOptionsUserDefined::new()
            .with_environment(environment(library)?)
            .with_max_length(max_length)
            .with_intra_threads(threads);
        let model = TextEmbedding::try_new_from_user_defined(user_model, options)
            .map_err(|e| EmbedError::Onnx(format!("{}: {e}", dir.join("model.onnx").display())))?;
        let info = EmbedderInfo {
            model_id: model_id(dir, &dir.join("model.onnx"))?,
            backend: Backend::Onnx,
            pooling: Some(pooling),
            dim,
            max_length: Some(max_length),
        };
        Ok(OnnxEmbedder { model, info })
    }
}

impl Embedder for OnnxEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed(&mut self, texts: &[&str]) -> Result<Embeddings, EmbedError> {
        if texts.is_empty() {
            return Ok(Embeddings::new(self.info.dim));
        }
        // One call, one batch: the caller already grouped inputs of similar length.
        let rows = self.model.embed(texts, Some(texts.len())).map_err(|e| EmbedError::Onnx(e.to_string()))?;
        let mut out = Embeddings::new(self.info.dim);
        for row in &rows {
            out.push(row)?;
        }
        Ok(out)
    }
}
