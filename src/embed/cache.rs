//! A content-addressed embedding cache: a vector is stored under (embedder fingerprint,
//! SHA-256 of the text), so unchanged texts cost nothing on the next run.
//!
//! Layout: `ROOT/<16 hex of SHA-256(fingerprint)>/` holds `info.txt` (the fingerprint, for
//! people) and immutable segment files `<16 hex of SHA-256(content)>.seg`, each written
//! atomically at the end of a run (or every [`FLUSH_ROWS`] new vectors, to bound memory).
//! Opening reads only the keys; vectors are read from their segment on a hit. A segment is
//! `NERPEMB1`, dim (u32 LE), count (u64 LE), then per row the 32-byte text hash and `dim`
//! f32 LE values. [`Cache::in_memory`] keeps vectors of one run only (`--no-cache`), which
//! still embeds a repeated text once.

use super::{EmbedError, EmbedderInfo};
use crate::io::{write_atomic, IoError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// New vectors held in memory before they are written out as a segment.
pub const FLUSH_ROWS: usize = 65_536;
const MAGIC: &[u8; 8] = b"NERPEMB1";
const HEADER: u64 = 8 + 4 + 8;

/// A text's cache key: SHA-256 of its UTF-8 bytes.
pub type TextKey = [u8; 32];

/// The cache key of `text`.
pub fn text_key(text: &str) -> TextKey {
    Sha256::digest(text.as_bytes()).into()
}

/// Where a cached vector lives.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// In segment `seg` at byte `offset`; `fresh` when written by this run.
    Disk { seg: usize, offset: u64, fresh: bool },
    /// In the pending (not yet written) rows.
    Pending(usize),
}

/// Lookups of one run: vectors found from earlier runs, repeats within this run, new ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Found in a segment written by an earlier run.
    pub hits: u64,
    /// Found because the same text was embedded earlier in this run.
    pub repeats: u64,
    /// Not found: embedded now.
    pub misses: u64,
}

/// The cache of one embedder; see the module docs.
#[derive(Debug)]
pub struct Cache {
    dir: Option<PathBuf>,
    dim: usize,
    index: HashMap<TextKey, Slot>,
    segments: Vec<(PathBuf, Option<File>)>,
    pending: Vec<f32>,
    pending_keys: Vec<TextKey>,
    stats: CacheStats,
}

impl Cache {
    /// A cache that lives for one run only.
    pub fn in_memory(dim: usize) -> Cache {
        Cache {
            dir: None,
            dim,
            index: HashMap::new(),
            segments: Vec::new(),
            pending: Vec::new(),
            pending_keys: Vec::new(),
            stats: CacheStats::default(),
        }
    }

    /// Opens (creating if needed) the cache of `info` under `root`, indexing its segments.
    pub fn open(root: &Path, info: &EmbedderInfo) -> Result<Cache, EmbedError> {
        let fingerprint = info.fingerprint();
        let ns = super::text_model::hex(&Sha256::digest(fingerprint.as_bytes()))[..16].to_string();
        let dir = root.join(ns);
        std::fs::create_dir_all(&dir).map_err(|e| IoError::new(&dir, e))?;
        let info_path = dir.join("info.txt");
        if !info_path.exists() {
            write_atomic(&info_path, format!("{fingerprint}\n").as_bytes())?;
        }
        let mut cache = Cache { dir: Some(dir.clone()), ..Cache::in_memory(info.dim) };
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| IoError::new(&dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        names.sort();
        for path in names {
            cache.index_segment(path)?;
        }
        Ok(cache)
    }

    /// The directory holding this cache's segments (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Lookups so far.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Vectors known to the cache (on disk and pending).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the cache knows no vector.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn index_segment(&mut self, path: PathBuf) -> Result<(), EmbedError> {
        let damaged = |message: String| EmbedError::Cache { path: path.clone(), message };
        let mut file = File::open(&path).map_err(|e| IoError::new(&path, e))?;
        let size = file.metadata().map_err(|e| IoError::new(&path, e))?.len();
        let mut header = [0u8; HEADER as usize];
        file.read_exact(&mut header).map_err(|e| damaged(format!("header: {e}")))?;
        if &header[..8] != MAGIC {
            return Err(damaged("bad magic".into()));
        }
        let dim = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes")) as usize;
        let count = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
        if dim != self.dim {
            return Err(damaged(format!("vectors of {dim}, expected {}", self.dim)));
        }
        let row = 32 + 4 * dim as u64;
        if HEADER + count * row != size {
            return Err(damaged(format!("{size} bytes cannot hold {count} rows of {row} bytes")));
        }
        let seg = self.segments.len();
        let mut key = [0u8; 32];
        let mut reader = BufReader::with_capacity(1 << 20, &mut file);
        for i in 0..count {
            reader.read_exact(&mut key).map_err(|e| damaged(format!("row {i}: {e}")))?;
            let offset = HEADER + i * row + 32;
            self.index.entry(key).or_insert(Slot::Disk { seg, offset, fresh: false });
            reader.seek_relative(4 * dim as i64).map_err(|e| IoError::new(&path, e))?;
        }
        drop(reader);
        self.segments.push((path, Some(file)));
        Ok(())
    }

    /// The vector stored for `key`, counting a hit or repeat; `None` counts a miss.
    pub fn get(&mut self, key: &TextKey) -> Result<Option<Vec<f32>>, EmbedError> {
        let Some(&slot) = self.index.get(key) else {
            self.stats.misses += 1;
            return Ok(None);
        };
        let v = match slot {
            Slot::Pending(i) => {
                self.stats.repeats += 1;
                self.pending[i * self.dim..(i + 1) * self.dim].to_vec()
            }
            Slot::Disk { seg, offset, fresh } => {
                if fresh { self.stats.repeats += 1 } else { self.stats.hits += 1 }
                self.read_row(seg, offset)?
            }
        };
        Ok(Some(v))
    }

    fn read_row(&mut self, seg: usize, offset: u64) -> Result<Vec<f32>, EmbedError> {
        let (path, file) = &mut self.segments[seg];
        if file.is_none() {
            *file = Some(File::open(&*path).map_err(|e| IoError::new(&*path, e))?);
        }
        let f = file.as_mut().expect("opened above");
        let mut bytes = vec![0u8; 4 * self.dim];
        f.seek(SeekFrom::Start(offset)).map_err(|e| IoError::new(&*path, e))?;
        f.read_exact(&mut bytes).map_err(|e| EmbedError::Cache { path: path.clone(), message: e.to_string() })?;
        Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect())
    }

    /// Stores the vector of a text just embedded; writes a segment every [`FLUSH_ROWS`].
    pub fn insert(&mut self, key: TextKey, vector: &[f32]) -> Result<(), EmbedError> {
        if vector.len() != self.dim || self.index.contains_key(&key) {
            return Ok(());
        }
        self.index.insert(key, Slot::Pending(self.pending_keys.len()));
        self.pending_keys.push(key);
        self.pending.extend_from_slice(vector);
        if self.dir.is_some() && self.pending_keys.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes pending vectors as a new segment (a no-op in memory or when none are pending).
    pub fn flush(&mut self) -> Result<(), EmbedError> {
        let Some(dir) = self.dir.clone() else { return Ok(()) };
        if self.pending_keys.is_empty() {
            return Ok(());
        }
        let row = 32 + 4 * self.dim;
        let mut bytes = Vec::with_capacity(HEADER as usize + self.pending_keys.len() * row);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(self.dim as u32).to_le_bytes());
        bytes.extend_from_slice(&(self.pending_keys.len() as u64).to_le_bytes());
        for (key, v) in self.pending_keys.iter().zip(self.pending.chunks_exact(self.dim)) {
            bytes.extend_from_slice(key);
            v.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
        }
        let name = super::text_model::hex(&Sha256::digest(&bytes))[..16].to_string();
        let path = dir.join(format!("{name}.seg"));
        write_atomic(&path, &bytes)?;
        let seg = self.segments.len();
        for (i, key) in self.pending_keys.iter().enumerate() {
            self.index.insert(*key, Slot::Disk { seg, offset: HEADER + (i * row) as u64 + 32, fresh: true });
        }
        self.segments.push((path, None));
        self.pending.clear();
        self.pending_keys.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::Backend;

    fn info(dim: usize) -> EmbedderInfo {
        EmbedderInfo { model_id: "m@1".into(), backend: Backend::Hash, pooling: None, dim, max_length: None }
    }

    #[test]
    fn vectors_survive_a_reopen_and_count_as_hits() {
        let root = tempfile::tempdir().unwrap();
        let mut c = Cache::open(root.path(), &info(3)).unwrap();
        let k = text_key("Paris");
        assert_eq!(c.get(&k).unwrap(), None);
        c.insert(k, &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(c.get(&k).unwrap(), Some(vec![1.0, 2.0, 3.0]));
        c.flush().unwrap();
        assert_eq!(c.get(&k).unwrap(), Some(vec![1.0, 2.0, 3.0]));
        assert_eq!(c.stats(), CacheStats { hits: 0, repeats: 2, misses: 1 });

        let mut again = Cache::open(root.path(), &info(3)).unwrap();
        assert_eq!(again.get(&k).unwrap(), Some(vec![1.0, 2.0, 3.0]));
        assert_eq!(again.get(&text_key("Rome")).unwrap(), None);
        assert_eq!(again.stats(), CacheStats { hits: 1, repeats: 0, misses: 1 });
    }

    #[test]
    fn another_model_does_not_see_the_vectors() {
        let root = tempfile::tempdir().unwrap();
        let mut c = Cache::open(root.path(), &info(2)).unwrap();
        c.insert(text_key("x"), &[0.5, 0.5]).unwrap();
        c.flush().unwrap();
        let mut other_info = info(2);
        other_info.model_id = "m@2".into();
        let mut other = Cache::open(root.path(), &other_info).unwrap();
        assert!(other.is_empty());
        assert_eq!(other.get(&text_key("x")).unwrap(), None);
    }

    #[test]
    fn a_truncated_segment_is_reported_with_its_path() {
        let root = tempfile::tempdir().unwrap();
        let mut c = Cache::open(root.path(), &info(2)).unwrap();
        c.insert(text_key("x"), &[0.5, 0.5]).unwrap();
        c.flush().unwrap();
        let seg = std::fs::read_dir(c.dir().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "seg"))
            .unwrap();
        let bytes = std::fs::read(&seg).unwrap();
        std::fs::write(&seg, &bytes[..bytes.len() - 3]).unwrap();
        let err = Cache::open(root.path(), &info(2)).unwrap_err().to_string();
        assert!(err.contains(".seg") && err.contains("damaged"), "{err}");
    }

    #[test]
    fn in_memory_cache_dedups_within_a_run() {
        let mut c = Cache::in_memory(1);
        c.insert(text_key("a"), &[1.0]).unwrap();
        c.flush().unwrap();
        assert_eq!(c.get(&text_key("a")).unwrap(), Some(vec![1.0]));
        assert_eq!(c.stats().repeats, 1);
    }
}
