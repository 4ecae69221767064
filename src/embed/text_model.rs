//! What the candle and ONNX backends read alike from a sentence-transformers model
//! directory: pooling (`1_Pooling/config.json`), the maximum input length, the tokenizer
//! (re-padded to the longest input of each batch) and a digest of the weights for the id.

use super::Pooling;
use super::EmbedError;
use crate::io::IoError;
use std::path::Path;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Reads and parses a JSON file of the model directory.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, EmbedError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::new(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| EmbedError::BadModelFile { path: path.to_path_buf(), message: format!("invalid JSON: {e}") })
}

/// The pooling a sentence-transformers directory declares in `1_Pooling/config.json`, or
/// `None` when the directory has no such file.
pub(crate) fn declared_pooling(dir: &Path) -> Result<Option<Pooling>, EmbedError> {
    let path = dir.join("1_Pooling").join("config.json");
    if !path.exists() {
        return Ok(None);
    }
    let v = read_json(&path)?;
    let flag = |k: &str| v.get(k).and_then(serde_json::Value::as_bool).unwrap_or(false);
    match (flag("pooling_mode_mean_tokens"), flag("pooling_mode_cls_token")) {
        (true, false) => Ok(Some(Pooling::Mean)),
        (false, true) => Ok(Some(Pooling::Cls)),
        _ => Err(EmbedError::BadModelFile {
            path,
            message: "expected exactly one of pooling_mode_mean_tokens, pooling_mode_cls_token \
                      (other pooling modes are not supported); pass --pooling to override"
                .into(),
        }),
    }
}

/// The longest input in tokens: `max_seq_length` of `sentence_bert_config.json` (what
/// sentence-transformers truncates at, 256 for MiniLM), else `model_max_length` of
/// `tokenizer_config.json`, never more than the model's position embeddings.
pub(crate) fn max_length(dir: &Path, max_positions: usize) -> Result<usize, EmbedError> {
    let from = |file: &str, key: &str| -> Result<Option<usize>, EmbedError> {
        let path = dir.join(file);
        if !path.exists() {
            return Ok(None);
        }
        // model_max_length can be a huge float ("no limit"), hence as_f64.
        Ok(read_json(&path)?.get(key).and_then(serde_json::Value::as_f64).map(|n| n as usize))
    };
    let declared = match from("sentence_bert_config.json", "max_seq_length")? {
        Some(n) => Some(n),
        None => from("tokenizer_config.json", "model_max_length")?,
    };
    Ok(declared.unwrap_or(max_positions).clamp(1, max_positions))
}

/// The token count of each text after truncation (special tokens included, no padding):
/// what a batch of it costs a transformer.
pub(crate) fn token_lengths(tok: &Tokenizer, texts: &[&str]) -> Result<Vec<usize>, EmbedError> {
    use rayon::prelude::*;
    texts
        .par_iter()
        .map(|t| tok.encode_fast(*t, true).map(|e| e.len()).map_err(|e| EmbedError::Tokenizer(e.to_string())))
        .collect()
}

/// Loads `tokenizer.json`, replacing its padding and truncation: shipped files often pad
/// every input to a fixed 128 tokens and truncate there; we pad each batch to its longest
/// input (less work) and truncate at `max_length`.
pub(crate) fn load_tokenizer(dir: &Path, max_length: usize, pad_id: u32) -> Result<Tokenizer, EmbedError> {
    let path = dir.join("tokenizer.json");
    let mut tok = Tokenizer::from_file(&path)
        .map_err(|e| EmbedError::BadModelFile { path: path.clone(), message: format!("not a tokenizer: {e}") })?;
    let pad_token = tok
        .get_padding()
        .map(|p| p.pad_token.clone())
        .or_else(|| tok.id_to_token(pad_id))
        .unwrap_or_else(|| "[PAD]".to_string());
    tok.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        pad_id,
        pad_token,
        ..PaddingParams::default()
    }));
    tok.with_truncation(Some(TruncationParams { max_length, ..TruncationParams::default() }))
        .map_err(|e| EmbedError::BadModelFile { path, message: format!("truncation: {e}") })?;
    Ok(tok)
}

/// Fails with [`EmbedError::MissingFile`] unless every file in `names` exists in `dir`.
pub(crate) fn require_files(
    dir: &Path,
    names: &[&str],
    backend: super::Backend,
    needs: &'static str,
) -> Result<(), EmbedError> {
    for name in names {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(EmbedError::MissingFile { path, backend, needs });
        }
    }
    Ok(())
}

/// The model's name (its directory name) and the first 12 hex digits of the SHA-256 of its
/// weight file, so that changed weights under the same name never share cached vectors.
pub(crate) fn model_id(dir: &Path, weights: &Path) -> Result<String, EmbedError> {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    Ok(format!("{name}@{}", &sha256_file(weights)?[..12]))
}

/// Hex SHA-256 of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<String, EmbedError> {
    Ok(crate::provenance::sha256_file(path)?)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The installed MiniLM (`make model`); its tokenizer.json pads and truncates at 128.
    fn minilm() -> std::path::PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
        assert!(dir.join("tokenizer.json").is_file(), "{} is not installed: run `make model`", dir.display());
        dir
    }

    #[test]
    fn minilm_declares_mean_pooling_and_256_tokens() {
        let dir = minilm();
        assert_eq!(declared_pooling(&dir).unwrap(), Some(Pooling::Mean));
        assert_eq!(max_length(&dir, 512).unwrap(), 256);
        assert_eq!(max_length(&dir, 128).unwrap(), 128);
    }

    #[test]
    fn batches_pad_to_their_longest_input_and_truncate_at_max_length() {
        let tok = load_tokenizer(&minilm(), 256, 0).unwrap();
        let short = tok.encode_batch(vec!["Paris", "the city of Paris"], true).unwrap();
        assert_eq!(short.iter().map(|e| e.len()).collect::<Vec<_>>(), vec![6, 6]);
        assert_eq!(short[0].get_attention_mask(), &[1, 1, 1, 0, 0, 0]);
        let long = "word ".repeat(400);
        let both = tok.encode_batch(vec![long.as_str(), "Paris"], true).unwrap();
        assert_eq!((both[0].len(), both[1].len()), (256, 256));
    }

    #[test]
    fn pooling_config_must_choose_one_mode() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
        let cfg = dir.path().join("1_Pooling/config.json");
        std::fs::write(&cfg, r#"{"pooling_mode_cls_token": true}"#).unwrap();
        assert_eq!(declared_pooling(dir.path()).unwrap(), Some(Pooling::Cls));
        std::fs::write(&cfg, r#"{"pooling_mode_max_tokens": true}"#).unwrap();
        assert!(declared_pooling(dir.path()).unwrap_err().to_string().contains("pooling_mode_mean_tokens"));
        std::fs::remove_dir_all(dir.path().join("1_Pooling")).unwrap();
        assert_eq!(declared_pooling(dir.path()).unwrap(), None);
    }
}
