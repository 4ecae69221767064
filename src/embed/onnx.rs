//! The ONNX backend, the default on the CPU: a sentence encoder exported to ONNX, run by
//! ONNX Runtime through the `ort` crate, tokenised by the pure-Rust `tokenizers`.
//!
//! A model directory enters with `model.onnx` (inputs `input_ids`, `attention_mask` and,
//! when the graph has it, `token_type_ids`, all int64 `(batch, sequence)`; first output the
//! token vectors `(batch, sequence, hidden)`) beside the files of the sentence-transformers
//! layout (`config.json`, `tokenizer.json`, optionally `1_Pooling/` and
//! `sentence_bert_config.json`). Each batch is tokenised and padded to its longest input,
//! run through the session, pooled here (mean over real tokens, or `[CLS]`) and
//! L2-normalised, as the candle backend does. `make model` writes `model.onnx` itself from
//! the safetensors weights (`scripts/export_onnx.py`), and an int8 variant beside it.
//!
//! The ONNX Runtime shared library is loaded at run time from `$ORT_DYLIB_PATH` or the model
//! cache (`make model` takes it from the PyPI `onnxruntime` wheel): nothing native is linked
//! at build time and nothing is downloaded. Intra-op threads are rayon's thread count (the
//! cores, or `$RAYON_NUM_THREADS`); ONNX Runtime's CPU kernels do not split a dot product
//! across threads, so the vectors do not depend on it (a test checks).

use super::text_model::{declared_pooling, load_tokenizer, max_length, model_id, read_json, require_files, token_lengths};
use super::{Backend, Pooling};
use super::{EmbedError, Embedder, EmbedderInfo, Embeddings};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokenizers::Tokenizer;

/// Environment variable naming the ONNX Runtime shared library (as `ort` reads it).
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// Where `make model` puts the ONNX Runtime library, relative to the model cache.
pub const RUNTIME_IN_CACHE: &str = "onnxruntime/libonnxruntime.so";

/// The files an ONNX model directory must hold.
const FILES: [&str; 3] = ["model.onnx", "tokenizer.json", "config.json"];
const NEEDS: &str = "model.onnx, tokenizer.json and config.json";

/// A sentence encoder run by ONNX Runtime.
pub struct OnnxEmbedder {
    session: Session,
    tokenizer: Tokenizer,
    /// Whether the graph takes `token_type_ids` (exports of single-segment models may not).
    takes_type_ids: bool,
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

/// Hidden size, position embeddings and pad id from `config.json`.
fn config_numbers(dir: &Path) -> Result<(usize, usize, u32), EmbedError> {
    let path = dir.join("config.json");
    let config = read_json(&path)?;
    let number = |key: &str| config.get(key).and_then(serde_json::Value::as_u64);
    let dim = number("hidden_size")
        .ok_or_else(|| EmbedError::BadModelFile { path: path.clone(), message: "no integer `hidden_size`".into() })?;
    let positions = number("max_position_embeddings").unwrap_or(512);
    let pad = u32::try_from(number("pad_token_id").unwrap_or(0))
        .map_err(|_| EmbedError::BadModelFile { path, message: "pad_token_id out of range".into() })?;
    Ok((dim as usize, positions as usize, pad))
}

/// Opens `model` in an ONNX Runtime session with `threads` intra-op threads.
fn open_session(model: &Path, library: &Path, threads: usize) -> Result<Session, EmbedError> {
    let fail = |e: String| EmbedError::Onnx(format!("{}: {e}", model.display()));
    let env = environment(library)?;
    Session::builder(&env)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| fail(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.to_string()))?
        .commit_from_file(model)
        .map_err(|e| fail(e.to_string()))
}

impl OnnxEmbedder {
    /// Loads `dir/model.onnx` with ONNX Runtime from `library`; `pooling` overrides what
    /// `1_Pooling/config.json` declares (mean when the directory declares nothing).
    pub fn load(dir: &Path, pooling: Option<Pooling>, library: &Path) -> Result<OnnxEmbedder, EmbedError> {
        require_files(dir, &FILES, Backend::Onnx, NEEDS)?;
        let (dim, positions, pad_id) = config_numbers(dir)?;
        let max_length = max_length(dir, positions)?;
        let pooling = match pooling {
            Some(p) => p,
            None => declared_pooling(dir)?.unwrap_or(Pooling::Mean),
        };
        let tokenizer = load_tokenizer(dir, max_length, pad_id)?;
        let model = dir.join("model.onnx");
        let session = open_session(&model, library, rayon::current_num_threads())?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in ["input_ids", "attention_mask"] {
            if !names.contains(&needed) {
                return Err(EmbedError::BadModelFile {
                    path: model,
                    message: format!("the graph has no `{needed}` input (inputs: {})", names.join(", ")),
                });
            }
        }
        let takes_type_ids = names.contains(&"token_type_ids");
        let info = EmbedderInfo {
            model_id: model_id(dir, &model)?,
            backend: Backend::Onnx,
            pooling: Some(pooling),
            dim,
            max_length: Some(max_length),
        };
        Ok(OnnxEmbedder { session, tokenizer, takes_type_ids, info })
    }

    /// Token ids, type ids and attention mask of a batch, row-major `(batch, width)`.
    fn encode(&self, texts: &[&str]) -> Result<(Batch, usize), EmbedError> {
        let encodings =
            self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let width = encodings.first().map_or(0, |e| e.len());
        let mut batch = Batch::default();
        for e in &encodings {
            if e.len() != width {
                return Err(EmbedError::Tokenizer(format!("padding gave rows of {} and {width} tokens", e.len())));
            }
            batch.ids.extend(e.get_ids().iter().map(|&x| i64::from(x)));
            batch.types.extend(e.get_type_ids().iter().map(|&x| i64::from(x)));
            batch.mask.extend(e.get_attention_mask().iter().map(|&x| i64::from(x)));
        }
        Ok((batch, width))
    }

    /// Runs the session on one encoded batch; returns the token vectors, row-major
    /// `(batch, width, dim)`.
    fn run(&mut self, batch: &Batch, rows: usize, width: usize) -> Result<Vec<f32>, EmbedError> {
        let shape = [rows as i64, width as i64];
        let tensor =
            |data: &Vec<i64>| Tensor::from_array((shape, data.clone())).map_err(|e| EmbedError::Onnx(e.to_string()));
        let mut inputs = vec![("input_ids", tensor(&batch.ids)?), ("attention_mask", tensor(&batch.mask)?)];
        if self.takes_type_ids {
            inputs.push(("token_type_ids", tensor(&batch.types)?));
        }
        let outputs = self.session.run(inputs).map_err(|e| EmbedError::Onnx(e.to_string()))?;
        let (out_shape, data) =
            outputs[0].try_extract_tensor::<f32>().map_err(|e| EmbedError::Onnx(format!("first output: {e}")))?;
        let expected = [rows as i64, width as i64, self.info.dim as i64];
        if out_shape[..] != expected[..] {
            return Err(EmbedError::Shape(format!("the model returned {out_shape:?}, expected {expected:?}")));
        }
        Ok(data.to_vec())
    }
}

/// One tokenised batch, each field row-major `(batch, width)`.
#[derive(Default)]
struct Batch {
    ids: Vec<i64>,
    types: Vec<i64>,
    mask: Vec<i64>,
}

/// Pools token vectors `(rows, width, dim)` into one L2-normalised row per input: the mean
/// over the tokens whose mask is 1 (padding must not move the vector), or the first token.
/// Sums run in token order, so the result does not depend on threads.
fn pool(hidden: &[f32], mask: &[i64], width: usize, dim: usize, pooling: Pooling) -> Result<Embeddings, EmbedError> {
    let rows = mask.len().checked_div(width).unwrap_or(0);
    let mut out = vec![0.0f32; rows * dim];
    for (r, row) in out.chunks_exact_mut(dim).enumerate() {
        let tokens = &hidden[r * width * dim..(r + 1) * width * dim];
        match pooling {
            Pooling::Cls => row.copy_from_slice(&tokens[..dim]),
            Pooling::Mean => {
                let mut count = 0.0f32;
                for (t, token) in tokens.chunks_exact(dim).enumerate() {
                    if mask[r * width + t] != 0 {
                        row.iter_mut().zip(token).for_each(|(a, b)| *a += b);
                        count += 1.0;
                    }
                }
                if count > 0.0 {
                    row.iter_mut().for_each(|a| *a /= count);
                }
            }
        }
        super::normalize(row);
    }
    Embeddings::from_vec(dim, out)
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
        let (batch, width) = self.encode(texts)?;
        let hidden = self.run(&batch, texts.len(), width)?;
        pool(&hidden, &batch.mask, width, self.info.dim, self.info.pooling.unwrap_or(Pooling::Mean))
    }

    fn lengths(&self, texts: &[&str]) -> Result<Vec<usize>, EmbedError> {
        token_lengths(&self.tokenizer, texts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pooling_skips_padding_and_cls_takes_the_first_token() {
        // Two rows of width 2, dim 2: the second row's second token is padding.
        let hidden = [1.0, 0.0, 0.0, 1.0, 3.0, 4.0, 100.0, 100.0];
        let mask = [1, 1, 1, 0];
        let mean = pool(&hidden, &mask, 2, 2, Pooling::Mean).unwrap();
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(mean.row(0), &[s, s]);
        assert_eq!(mean.row(1), &[0.6, 0.8]);
        let cls = pool(&hidden, &mask, 2, 2, Pooling::Cls).unwrap();
        assert_eq!(cls.row(0), &[1.0, 0.0]);
    }

    #[test]
    fn a_missing_runtime_library_says_to_run_make_model() {
        let dir = tempfile::tempdir().unwrap();
        if std::env::var_os(ORT_DYLIB_ENV).is_none() {
            let err = runtime_library(dir.path()).unwrap_err().to_string();
            assert!(err.contains("onnxruntime") && err.contains("make model"), "{err}");
        }
    }
}
