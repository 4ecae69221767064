//! The candle backend: a BERT-family sentence encoder in pure Rust (CPU, or CUDA with the
//! `cuda` feature).
//!
//! A model directory in the sentence-transformers layout enters (`config.json`,
//! `tokenizer.json`, `model.safetensors`, optionally `1_Pooling/config.json` and
//! `sentence_bert_config.json`); each batch is tokenised, padded to its longest input,
//! run through candle-transformers' `BertModel`, pooled (mean over real tokens, or the
//! `[CLS]` token) and L2-normalised, reproducing sentence-transformers' `encode`.

use super::{Backend, Device, Pooling};
use super::text_model::{declared_pooling, load_tokenizer, max_length, model_id, read_json, require_files, token_lengths};
use super::{EmbedError, Embedder, EmbedderInfo, Embeddings};
use crate::io::IoError;
use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::Path;
use tokenizers::Tokenizer;

/// The files a candle model directory must hold.
const NEEDS: &str = "config.json, tokenizer.json and model.safetensors";

/// A BERT sentence encoder run by candle.
pub struct CandleEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: candle_core::Device,
    info: EmbedderInfo,
}

impl CandleEmbedder {
    /// Loads the model in `dir`; `pooling` overrides what `1_Pooling/config.json` declares
    /// (mean when the directory declares nothing).
    pub fn load(dir: &Path, pooling: Option<Pooling>, device: Device) -> Result<CandleEmbedder, EmbedError> {
        require_files(dir, &["config.json", "tokenizer.json", "model.safetensors"], Backend::Candle, NEEDS)?;
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_value(read_json(&config_path)?).map_err(|e| EmbedError::BadModelFile {
            path: config_path.clone(),
            message: format!("not a BERT config: {e}"),
        })?;
        let pooling = match pooling {
            Some(p) => p,
            None => declared_pooling(dir)?.unwrap_or(Pooling::Mean),
        };
        let max_length = max_length(dir, config.max_position_embeddings)?;
        let pad_id = u32::try_from(config.pad_token_id).map_err(|_| EmbedError::BadModelFile {
            path: config_path,
            message: format!("pad_token_id {} out of range", config.pad_token_id),
        })?;
        let tokenizer = load_tokenizer(dir, max_length, pad_id)?;
        let device = candle_device(device)?;
        let weights = dir.join("model.safetensors");
        // Read into memory rather than mmap: a mapped file changed underneath us is UB.
        let bytes = std::fs::read(&weights).map_err(|e| IoError::new(&weights, e))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &device)?;
        let model = BertModel::load(vb, &config).map_err(|e| EmbedError::BadModelFile {
            path: weights.clone(),
            message: format!("does not hold the BERT weights config.json describes: {e}"),
        })?;
        let info = EmbedderInfo {
            model_id: model_id(dir, &weights)?,
            backend: Backend::Candle,
            pooling: Some(pooling),
            dim: config.hidden_size,
            max_length: Some(max_length),
        };
        Ok(CandleEmbedder { model, tokenizer, device, info })
    }

    /// Token ids, type ids and attention mask of a batch, each `(batch, longest)`.
    fn encode(&self, texts: &[&str]) -> Result<(Tensor, Tensor, Tensor), EmbedError> {
        let encodings =
            self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let width = encodings.first().map_or(0, |e| e.len());
        let (mut ids, mut types, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        for e in &encodings {
            if e.len() != width {
                return Err(EmbedError::Tokenizer(format!("padding gave rows of {} and {width} tokens", e.len())));
            }
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let shape = (encodings.len(), width);
        Ok((
            Tensor::from_vec(ids, shape, &self.device)?,
            Tensor::from_vec(types, shape, &self.device)?,
            Tensor::from_vec(mask, shape, &self.device)?,
        ))
    }
}

impl Embedder for CandleEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed(&mut self, texts: &[&str]) -> Result<Embeddings, EmbedError> {
        if texts.is_empty() {
            return Ok(Embeddings::new(self.info.dim));
        }
        let (ids, types, mask) = self.encode(texts)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let pooled = match self.info.pooling {
            Some(Pooling::Cls) => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            _ => {
                // Mean over real tokens only: padding must not move the vector.
                let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
                summed.broadcast_div(&mask.sum(1)?)?
            }
        };
        let norms = pooled.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = pooled.broadcast_div(&norms)?;
        let data = unit.flatten_all()?.to_vec1::<f32>()?;
        Embeddings::from_vec(self.info.dim, data)
    }

    fn lengths(&self, texts: &[&str]) -> Result<Vec<usize>, EmbedError> {
        token_lengths(&self.tokenizer, texts)
    }
}

/// The candle device for `device`; CUDA is an error unless built with the `cuda` feature.
pub fn candle_device(device: Device) -> Result<candle_core::Device, EmbedError> {
    match device {
        Device::Cpu => Ok(candle_core::Device::Cpu),
        #[cfg(feature = "cuda")]
        Device::Cuda(n) => Ok(candle_core::Device::new_cuda(n)?),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => Err(EmbedError::NotBuilt { what: format!("--device {device}"), feature: "cuda" }),
    }
}
