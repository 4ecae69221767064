//! The `hash` embedder: hashed character n-grams, the explicit offline fallback.
//!
//! A text is lower-cased, wrapped in start/end markers, and every character n-gram
//! (n = 1..=4) adds ±1 to one of `dim` buckets, chosen by a fixed 64-bit hash (FNV-1a,
//! then the SplitMix64 finaliser; the top bit gives the sign, which keeps collisions from
//! piling up). The vector is then L2-normalised. Only integer arithmetic on UTF-8 bytes
//! decides the buckets, so vectors are identical on every platform and in every run (std's
//! `HashMap` hasher is randomly keyed per process and would not be). It knows spelling, not
//! meaning: `Paris` is near `Parisian`, not near `France`.

use super::Backend;
use super::{EmbedError, Embedder, EmbedderInfo, Embeddings};
use rayon::prelude::*;

/// Dimension of `--model hash` (the same as MiniLM's, so downstream code sees one size).
pub const DEFAULT_DIM: usize = 384;
/// The n-gram lengths used.
const NGRAMS: std::ops::RangeInclusive<usize> = 1..=4;
/// Marks the start and end of the text, so prefixes and suffixes get n-grams of their own.
const START: char = '\u{2}';
const END: char = '\u{3}';

/// Hashed character n-gram embedder; see the module docs.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    info: EmbedderInfo,
}

impl HashEmbedder {
    /// An embedder producing `dim`-dimensional vectors (`dim` ≥ 1).
    pub fn new(dim: usize) -> HashEmbedder {
        let dim = dim.max(1);
        HashEmbedder {
            info: EmbedderInfo {
                model_id: format!("hash-char-ngram-1-4@v1-d{dim}"),
                backend: Backend::Hash,
                pooling: None,
                dim,
                max_length: None,
            },
        }
    }

    /// The vector of one text, written into `out` (length `dim`).
    fn embed_one(&self, text: &str, out: &mut [f32]) {
        out.fill(0.0);
        let chars: Vec<char> =
            std::iter::once(START).chain(text.chars().flat_map(char::to_lowercase)).chain(std::iter::once(END)).collect();
        let mut buf = [0u8; 4 * 4 + 1];
        for n in NGRAMS {
            for window in chars.windows(n) {
                buf[0] = n as u8;
                let mut len = 1;
                for c in window {
                    len += c.encode_utf8(&mut buf[len..]).len();
                }
                let h = mix(fnv1a(&buf[..len]));
                let bucket = (h % out.len() as u64) as usize;
                out[bucket] += if h >> 63 == 1 { -1.0 } else { 1.0 };
            }
        }
        super::normalize(out);
    }
}

impl Embedder for HashEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed(&mut self, texts: &[&str]) -> Result<Embeddings, EmbedError> {
        let dim = self.info.dim;
        let mut data = vec![0.0f32; texts.len() * dim];
        data.par_chunks_mut(dim).zip(texts.par_iter()).for_each(|(row, text)| self.embed_one(text, row));
        Embeddings::from_vec(dim, data)
    }
}

/// 64-bit FNV-1a: a fixed, keyless hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The SplitMix64 finaliser: spreads FNV's weak low bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec_of(text: &str, dim: usize) -> Vec<f32> {
        HashEmbedder::new(dim).embed(&[text]).unwrap().row(0).to_vec()
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn vectors_are_normalised_even_for_empty_text() {
        for t in ["", "a", "Barack Obama", "青岛海牛队"] {
            let v = vec_of(t, 64);
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{t:?}: {norm}");
        }
    }

    #[test]
    fn case_is_ignored_and_spelling_matters() {
        assert_eq!(vec_of("Paris", 128), vec_of("PARIS", 128));
        let near = super::super::cosine(&vec_of("Parisian", 128), &vec_of("Paris", 128));
        let far = super::super::cosine(&vec_of("Tokyo", 128), &vec_of("Paris", 128));
        assert!(near > far, "{near} <= {far}");
    }

    #[test]
    fn batch_rows_equal_single_rows() {
        let mut e = HashEmbedder::new(32);
        let m = e.embed(&["one", "two", "three"]).unwrap();
        assert_eq!(m.row(1), vec_of("two", 32).as_slice());
    }
}
