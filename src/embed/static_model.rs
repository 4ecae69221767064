//! The static backend (`--model minilm-static`): one vector per vocabulary token, distilled
//! from MiniLM the model2vec way by `make model` (`scripts/distill_static.py`: every token run
//! through MiniLM alone, PCA to 256 dimensions, Zipf-estimated SIF weighting).
//!
//! A model directory enters with `embeddings.safetensors` (one float32 tensor `embeddings`,
//! vocabulary × dimensions), the `tokenizer.json` whose ids index its rows, and a
//! `config.json` with `"model_type": "static"`. A text is tokenised without special tokens
//! and embedded as the L2-normalised mean of its tokens' rows: no attention, so it is
//! hundreds of times faster than the transformer and the CPU path for corpus-scale pruning,
//! at the price of word order and context (the README shows what that costs). Each row is
//! summed in token order on one thread, so the vectors do not depend on the thread count.
//!
//! Tokenising is most of the cost, so for a BERT tokenizer, which splits at every space and
//! normalises each character on its own, the ids of each space-separated word are computed
//! once and remembered: a text's ids are its words' ids in order, the same ids the whole
//! text gives (a test checks on the CrossNER fixtures and edge cases).

use super::text_model::{model_id, read_json, require_files};
use super::{Backend, EmbedError, Embedder, EmbedderInfo, Embeddings};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::Tokenizer;

/// The weight file of a static model directory.
pub const WEIGHTS: &str = "embeddings.safetensors";
/// The tensor in [`WEIGHTS`].
const TENSOR: &str = "embeddings";
const NEEDS: &str = "embeddings.safetensors, tokenizer.json and config.json";
/// Distinct words whose ids are remembered before the memory is cleared (about 100 MB).
const WORD_MEMORY: usize = 1 << 20;

/// True when `dir` holds a static model (its `config.json` says `"model_type": "static"`).
pub fn is_static_model(dir: &Path) -> bool {
    let path = dir.join("config.json");
    path.is_file()
        && read_json(&path).ok().and_then(|c| c.get("model_type").and_then(|t| t.as_str().map(|t| t == "static")))
            == Some(true)
}

/// A token-vector table and its tokenizer.
pub struct StaticEmbedder {
    table: Vec<f32>,
    rows: usize,
    tokenizer: Tokenizer,
    /// Ids by space-separated word; `None` when the tokenizer may not split at spaces.
    words: Option<HashMap<String, Vec<u32>>>,
    info: EmbedderInfo,
}

impl StaticEmbedder {
    /// Loads the static model in `dir`.
    pub fn load(dir: &Path) -> Result<StaticEmbedder, EmbedError> {
        require_files(dir, &[WEIGHTS, "tokenizer.json", "config.json"], Backend::Static, NEEDS)?;
        let weights = dir.join(WEIGHTS);
        let bad = |message: String| EmbedError::BadModelFile { path: weights.clone(), message };
        let tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let tensor = tensors.get(TENSOR).ok_or_else(|| bad(format!("no tensor `{TENSOR}`")))?;
        let (rows, dim) = tensor.dims2().map_err(|e| bad(format!("`{TENSOR}` is not a matrix: {e}")))?;
        let table = tensor
            .to_dtype(candle_core::DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| bad(e.to_string()))?;
        let tokenizer = load_plain_tokenizer(&dir.join("tokenizer.json"))?;
        if tokenizer.get_vocab_size(true) > rows {
            return Err(bad(format!("{rows} rows for a vocabulary of {}", tokenizer.get_vocab_size(true))));
        }
        let info = EmbedderInfo {
            model_id: model_id(dir, &weights)?,
            backend: Backend::Static,
            pooling: None,
            dim,
            max_length: None,
        };
        let words = splits_at_every_space(&tokenizer).then(HashMap::new);
        Ok(StaticEmbedder { table, rows, tokenizer, words, info })
    }

    /// The token ids of each text (no special tokens).
    fn token_ids(&mut self, texts: &[&str]) -> Result<Vec<Vec<u32>>, EmbedError> {
        let tokenizer = &self.tokenizer;
        let encode = |text: &str| {
            tokenizer.encode_fast(text, false).map(|e| e.get_ids().to_vec()).map_err(|e| EmbedError::Tokenizer(e.to_string()))
        };
        let Some(memory) = self.words.as_mut() else {
            return texts.par_iter().map(|t| encode(t)).collect();
        };
        if memory.len() > WORD_MEMORY {
            memory.clear();
        }
        let mut unseen: Vec<&str> = texts.iter().flat_map(|t| words(t)).filter(|w| !memory.contains_key(*w)).collect();
        unseen.sort_unstable();
        unseen.dedup();
        let ids: Vec<Vec<u32>> = unseen.par_iter().map(|w| encode(w)).collect::<Result<_, _>>()?;
        memory.extend(unseen.into_iter().map(str::to_owned).zip(ids));
        let memory = &*memory;
        Ok(texts.par_iter().map(|t| words(t).flat_map(|w| memory[w].iter().copied()).collect()).collect())
    }

    /// The normalised mean of the rows of `ids`, written into `out`.
    fn pool(&self, ids: &[u32], out: &mut [f32]) {
        let dim = self.info.dim;
        out.fill(0.0);
        let mut count = 0usize;
        for &id in ids {
            let id = id as usize;
            if id < self.rows {
                out.iter_mut().zip(&self.table[id * dim..(id + 1) * dim]).for_each(|(a, b)| *a += b);
                count += 1;
            }
        }
        if count > 0 {
            out.iter_mut().for_each(|a| *a /= count as f32);
        }
        super::normalize(out);
    }
}

/// The non-empty space-separated words of `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').filter(|w| !w.is_empty())
}

/// True when tokenising a text word by word (split at `' '`) gives the ids of the whole
/// text: BERT's normaliser maps each character on its own (a space stays a space), its
/// pre-tokeniser splits at every space, and no added token holds a space.
fn splits_at_every_space(tok: &Tokenizer) -> bool {
    matches!(tok.get_normalizer(), None | Some(NormalizerWrapper::BertNormalizer(_)))
        && matches!(tok.get_pre_tokenizer(), Some(PreTokenizerWrapper::BertPreTokenizer(_)))
        && tok.get_added_tokens_decoder().values().all(|t| !t.content.contains(' '))
}

/// `tokenizer.json` with its padding and truncation removed: a static model has no length
/// limit and pads nothing.
fn load_plain_tokenizer(path: &Path) -> Result<Tokenizer, EmbedError> {
    let mut tok = Tokenizer::from_file(path)
        .map_err(|e| EmbedError::BadModelFile { path: path.to_path_buf(), message: format!("not a tokenizer: {e}") })?;
    tok.with_padding(None);
    tok.with_truncation(None)
        .map_err(|e| EmbedError::BadModelFile { path: path.to_path_buf(), message: format!("truncation: {e}") })?;
    Ok(tok)
}

impl Embedder for StaticEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed(&mut self, texts: &[&str]) -> Result<Embeddings, EmbedError> {
        let dim = self.info.dim;
        let ids = self.token_ids(texts)?;
        let mut data = vec![0.0f32; texts.len() * dim];
        data.par_chunks_mut(dim).zip(ids.par_iter()).for_each(|(row, ids)| self.pool(ids, row));
        Embeddings::from_vec(dim, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-dimensional static model over MiniLM's tokenizer, rows set by `row`.
    fn tiny_model(dir: &Path, row: impl Fn(usize) -> [f32; 2]) {
        let minilm = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2/tokenizer.json");
        assert!(minilm.is_file(), "{} is not installed: run `make model`", minilm.display());
        std::fs::copy(&minilm, dir.join("tokenizer.json")).unwrap();
        std::fs::write(dir.join("config.json"), r#"{"model_type": "static"}"#).unwrap();
        let rows = 30522;
        let data: Vec<f32> = (0..rows).flat_map(&row).collect();
        let t = candle_core::Tensor::from_vec(data, (rows, 2), &candle_core::Device::Cpu).unwrap();
        candle_core::safetensors::save(&std::collections::HashMap::from([(TENSOR, t)]), dir.join(WEIGHTS)).unwrap();
    }

    #[test]
    fn a_text_is_the_normalised_mean_of_its_tokens() {
        let dir = tempfile::tempdir().unwrap();
        // "paris" is one token in MiniLM's vocabulary; give it (1, 0), every other token (0, 1).
        let tok =
            load_plain_tokenizer(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2/tokenizer.json"))
                .unwrap();
        let paris = tok.token_to_id("paris").unwrap() as usize;
        tiny_model(dir.path(), |i| if i == paris { [1.0, 0.0] } else { [0.0, 1.0] });
        assert!(is_static_model(dir.path()));
        let mut e = StaticEmbedder::load(dir.path()).unwrap();
        let m = e.embed(&["Paris", "Paris is", ""]).unwrap();
        assert_eq!(m.row(0), &[1.0, 0.0]);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(m.row(1), &[s, s]);
        assert_eq!(m.row(2), &[0.0, 0.0]);
        assert_eq!(e.info().backend, Backend::Static);
    }

    #[test]
    fn word_by_word_ids_are_the_whole_texts_ids() {
        let dir = tempfile::tempdir().unwrap();
        tiny_model(dir.path(), |i| [i as f32, 1.0]);
        let mut e = StaticEmbedder::load(dir.path()).unwrap();
        assert!(e.words.is_some(), "MiniLM's tokenizer splits at every space");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut texts: Vec<String> = ["crossner/music_dev.txt", "crossner/politics_train.txt"]
            .iter()
            .flat_map(|f| std::fs::read_to_string(root.join(f)).unwrap().split("\n\n").map(|block| {
                block.lines().filter_map(|l| l.split_whitespace().next()).collect::<Vec<_>>().join(" ")
            }).collect::<Vec<_>>())
            .collect();
        let edge = ["", "  two  spaces  ", "tab\tand\nnewline", "a\u{85}b", "a\u{a0}b", "x\u{0}y", "\u{feff}bom",
            "Café naïve ÅNGSTRÖM", "多语言 text 日本語", "[MASK] token [CLS]", "don't e-mail U.S.A.", "unaffable"];
        texts.extend(edge.iter().map(|t| t.to_string()));
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let whole: Vec<Vec<u32>> =
            refs.iter().map(|t| e.tokenizer.encode_fast(*t, false).unwrap().get_ids().to_vec()).collect();
        // Twice: the second pass takes every word from memory.
        for _ in 0..2 {
            let by_word = e.token_ids(&refs).unwrap();
            for (i, t) in refs.iter().enumerate() {
                assert_eq!(by_word[i], whole[i], "{t:?}");
            }
        }
    }

    #[test]
    fn a_table_smaller_than_the_vocabulary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        tiny_model(dir.path(), |_| [1.0, 0.0]);
        let t = candle_core::Tensor::zeros((10, 2), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
        candle_core::safetensors::save(&std::collections::HashMap::from([(TENSOR, t)]), dir.path().join(WEIGHTS))
            .unwrap();
        let err = StaticEmbedder::load(dir.path()).err().unwrap().to_string();
        assert!(err.contains("10 rows"), "{err}");
    }
}
