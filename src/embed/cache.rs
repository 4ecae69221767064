//! A content-addressed embedding cache: a vector is stored under (embedder fingerprint,
//! SHA-256 of the text), so unchanged texts cost nothing on the next run.
//!
//! Layout: `ROOT/<16 hex of SHA-256(fingerprint)>/` holds `info.txt` (the fingerprint, for
//! people) and immutable segment files `<16 hex of SHA-256(content)>.seg`, each written
//! atomically at the end of a run (or every [`FLUSH_ROWS`] new vectors, to bound memory).
//! Opening reads only the keys; vectors are read from their segment on a hit. Segment files
//! are opened lazily, on their first hit, and at most [`MAX_OPEN`] stay open (the least
//! recently opened is closed first), so a cache of thousands of segments does not run out of
//! file handles. Segments only accumulate, so [`compact`] (`nerprep cache compact`) rewrites
//! each model's segments as one, and [`stats`] (`nerprep cache stats`) reports size, entries
//! and models. A segment is `NERPEMB1`, dim (u32 LE), count (u64 LE), then per row the
//! 32-byte text hash and `dim` f32 LE values. [`Cache::in_memory`] keeps vectors of one run only (`--no-cache`), which
//! still embeds a repeated text once.

use super::{EmbedError, EmbedderInfo};
use crate::io::{write_atomic, IoError};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// New vectors held in memory before they are written out as a segment.
pub const FLUSH_ROWS: usize = 65_536;
/// Segment files kept open at once; more are opened and closed as hits need them.
pub const MAX_OPEN: usize = 64;
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
    /// Indices of the segments whose file is open, oldest first (at most [`MAX_OPEN`]).
    open_files: VecDeque<usize>,
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
            open_files: VecDeque::new(),
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
        let (dim, count) = segment_shape(&header, size, &damaged)?;
        if dim != self.dim {
            return Err(damaged(format!("vectors of {dim}, expected {}", self.dim)));
        }
        let row = 32 + 4 * dim as u64;
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
        // Closed now, opened again on its first hit (see the module docs).
        drop(file);
        self.segments.push((path, None));
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
        if self.segments[seg].1.is_none() {
            if self.open_files.len() >= MAX_OPEN
                && let Some(oldest) = self.open_files.pop_front()
            {
                self.segments[oldest].1 = None;
            }
            let path = &self.segments[seg].0;
            self.segments[seg].1 = Some(File::open(path).map_err(|e| IoError::new(path, e))?);
            self.open_files.push_back(seg);
        }
        let (path, file) = &mut self.segments[seg];
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
        let mut bytes = segment_header(self.dim, self.pending_keys.len());
        for (key, v) in self.pending_keys.iter().zip(self.pending.chunks_exact(self.dim)) {
            bytes.extend_from_slice(key);
            v.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
        }
        let path = write_segment(&dir, &bytes)?;
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

/// The header of a segment of `count` rows of `dim` values.
fn segment_header(dim: usize, count: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER as usize + count * (32 + 4 * dim));
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(dim as u32).to_le_bytes());
    bytes.extend_from_slice(&(count as u64).to_le_bytes());
    bytes
}

/// Writes a segment's bytes atomically under the name of their digest; returns its path.
fn write_segment(dir: &Path, bytes: &[u8]) -> Result<PathBuf, EmbedError> {
    let name = super::text_model::hex(&Sha256::digest(bytes))[..16].to_string();
    let path = dir.join(format!("{name}.seg"));
    write_atomic(&path, bytes)?;
    Ok(path)
}

/// The segment files of one model's cache directory, in name order.
fn segment_files(dir: &Path) -> Result<Vec<PathBuf>, EmbedError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| IoError::new(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    names.sort();
    Ok(names)
}

/// The per-model directories under a cache root (those with `info.txt`), in name order.
fn model_dirs(root: &Path) -> Result<Vec<PathBuf>, EmbedError> {
    if !root.exists() {
        return Ok(Vec::new());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| IoError::new(root, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("info.txt").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The dimension and row count a segment's header (the start of `head`) states, checked
/// against the segment's size in bytes; overflowing counts are refused, not wrapped.
fn segment_shape(head: &[u8], size: u64, damaged: &dyn Fn(String) -> EmbedError) -> Result<(usize, u64), EmbedError> {
    if head.len() < HEADER as usize || &head[..8] != MAGIC {
        return Err(damaged("bad header (not a nerprep embedding segment)".into()));
    }
    let dim = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    let count = u64::from_le_bytes(head[12..20].try_into().expect("8 bytes"));
    let row = 32 + 4 * u64::from(dim);
    if dim == 0 || count.checked_mul(row).and_then(|b| b.checked_add(HEADER)) != Some(size) {
        return Err(damaged(format!("{size} bytes cannot hold {count} rows of {row} bytes")));
    }
    Ok((dim as usize, count))
}

/// One stored row: the text hash and the vector's little-endian bytes.
type SegmentRow = (TextKey, Vec<u8>);

/// A whole segment: its dimension and rows (text hash, vector bytes), checked like
/// [`Cache::open`] checks it.
fn read_segment(path: &Path) -> Result<(usize, Vec<SegmentRow>), EmbedError> {
    let damaged = |message: String| EmbedError::Cache { path: path.to_path_buf(), message };
    let bytes = std::fs::read(path).map_err(|e| IoError::new(path, e))?;
    let (dim, _) = segment_shape(&bytes, bytes.len() as u64, &damaged)?;
    let row = 32 + 4 * dim;
    let rows = bytes[HEADER as usize..]
        .chunks_exact(row)
        .map(|r| (r[..32].try_into().expect("32 bytes"), r[32..].to_vec()))
        .collect();
    Ok((dim, rows))
}

/// One model's part of the cache, as `nerprep cache stats` and `compact` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCacheStats {
    /// The model's cache directory.
    pub dir: PathBuf,
    /// The embedder fingerprint (`info.txt`): which model, backend and pooling.
    pub fingerprint: String,
    /// Segment files.
    pub segments: usize,
    /// Distinct texts with a vector.
    pub entries: u64,
    /// Stored rows, duplicates included (more than `entries` when runs overlapped).
    pub rows: u64,
    /// Bytes of the segment files.
    pub bytes: u64,
}

/// Size, entries and segments of every model in the cache under `root` (empty when `root`
/// does not exist). Reads every segment whole.
pub fn stats(root: &Path) -> Result<Vec<ModelCacheStats>, EmbedError> {
    model_dirs(root)?.into_iter().map(|dir| model_stats(&dir)).collect()
}

fn model_stats(dir: &Path) -> Result<ModelCacheStats, EmbedError> {
    let info = dir.join("info.txt");
    let fingerprint = std::fs::read_to_string(&info).map_err(|e| IoError::new(&info, e))?.trim().to_string();
    let (mut keys, mut rows, mut bytes) = (HashSet::new(), 0u64, 0u64);
    let files = segment_files(dir)?;
    for path in &files {
        let (_, seg) = read_segment(path)?;
        rows += seg.len() as u64;
        bytes += std::fs::metadata(path).map_err(|e| IoError::new(path, e))?.len();
        keys.extend(seg.into_iter().map(|(k, _)| k));
    }
    Ok(ModelCacheStats { dir: dir.to_path_buf(), fingerprint, segments: files.len(), entries: keys.len() as u64, rows, bytes })
}

/// Rewrites the segments of each model under `root` as one segment holding each text once
/// (the first vector found in name order, the one [`Cache::open`] would use), then deletes
/// the old ones; returns each model's statistics afterwards. The new segment is written
/// before any old one is removed, so an interruption loses nothing. Run it while no
/// `nerprep embed` writes to the same cache.
pub fn compact(root: &Path) -> Result<Vec<ModelCacheStats>, EmbedError> {
    let mut out = Vec::new();
    for dir in model_dirs(root)? {
        let files = segment_files(&dir)?;
        if files.len() > 1 {
            compact_model(&dir, &files)?;
        }
        out.push(model_stats(&dir)?);
    }
    Ok(out)
}

fn compact_model(dir: &Path, files: &[PathBuf]) -> Result<(), EmbedError> {
    let (mut seen, mut rows, mut dim) = (HashSet::new(), Vec::new(), None);
    for path in files {
        let (d, seg) = read_segment(path)?;
        if *dim.get_or_insert(d) != d {
            return Err(EmbedError::Cache { path: path.clone(), message: format!("vectors of {d} among vectors of {}", dim.unwrap_or(d)) });
        }
        rows.extend(seg.into_iter().filter(|(k, _)| seen.insert(*k)));
    }
    let mut bytes = segment_header(dim.unwrap_or(1), rows.len());
    for (key, v) in &rows {
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(v);
    }
    let kept = write_segment(dir, &bytes)?;
    for path in files.iter().filter(|p| **p != kept) {
        std::fs::remove_file(path).map_err(|e| IoError::new(path, e))?;
    }
    Ok(())
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
    fn a_segment_stating_too_many_rows_is_refused_by_open_stats_and_compact() {
        let root = tempfile::tempdir().unwrap();
        let mut c = Cache::open(root.path(), &info(2)).unwrap();
        c.insert(text_key("x"), &[0.5, 0.5]).unwrap();
        c.flush().unwrap();
        let seg = segment_files(c.dir().unwrap()).unwrap().remove(0);
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[12..20].copy_from_slice(&u64::MAX.to_le_bytes()); // count * row overflows
        std::fs::write(&seg, &bytes).unwrap();
        let open = Cache::open(root.path(), &info(2)).unwrap_err().to_string();
        assert!(open.contains(".seg") && open.contains("cannot hold"), "{open}");
        assert!(stats(root.path()).unwrap_err().to_string().contains("cannot hold"));
        assert!(compact(root.path()).unwrap_err().to_string().contains("cannot hold"));
    }

    #[test]
    fn in_memory_cache_dedups_within_a_run() {
        let mut c = Cache::in_memory(1);
        c.insert(text_key("a"), &[1.0]).unwrap();
        c.flush().unwrap();
        assert_eq!(c.get(&text_key("a")).unwrap(), Some(vec![1.0]));
        assert_eq!(c.stats().repeats, 1);
    }

    fn fill(root: &Path, segments: usize) -> Cache {
        let mut c = Cache::open(root, &info(2)).unwrap();
        for i in 0..segments {
            c.insert(text_key(&format!("t{i}")), &[i as f32, 1.0]).unwrap();
            c.flush().unwrap();
        }
        c
    }

    /// The process's soft limit on open files.
    fn open_file_limit() -> u64 {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
        line.split_whitespace().nth(3).unwrap().parse().unwrap()
    }

    #[test]
    fn two_thousand_segments_open_without_running_out_of_file_handles() {
        // The reader runs in a child (this test again) limited to 256 open files: it fails
        // there if every segment kept its file open.
        if let Some(dir) = std::env::var_os("NERPREP_CACHE_FD_CHILD") {
            assert!(open_file_limit() <= 256);
            let mut c = Cache::open(Path::new(&dir), &info(2)).unwrap();
            for i in 0..2_000 {
                assert_eq!(c.get(&text_key(&format!("t{i}"))).unwrap(), Some(vec![i as f32, 1.0]));
            }
            assert_eq!(c.stats().hits, 2_000);
            return;
        }
        let root = tempfile::tempdir().unwrap();
        drop(fill(root.path(), 2_000));
        let exe = std::env::current_exe().unwrap();
        let status = std::process::Command::new("prlimit")
            .args(["--nofile=256:256", "--"])
            .arg(exe)
            .args(["--exact", "embed::cache::tests::two_thousand_segments_open_without_running_out_of_file_handles", "--nocapture"])
            .env("NERPREP_CACHE_FD_CHILD", root.path())
            .status()
            .unwrap();
        assert!(status.success(), "the reader failed under a limit of 256 open files");
    }

    #[test]
    fn compact_merges_segments_and_keeps_every_vector() {
        let root = tempfile::tempdir().unwrap();
        let mut c = fill(root.path(), 5);
        // The same text again in a later segment: compaction keeps the first vector.
        let dir = c.dir().unwrap().to_path_buf();
        drop(c);
        c = Cache::open(root.path(), &info(2)).unwrap();
        c.index.clear();
        c.insert(text_key("t0"), &[9.0, 9.0]).unwrap();
        c.flush().unwrap();
        let before = stats(root.path()).unwrap();
        assert_eq!((before.len(), before[0].segments, before[0].rows, before[0].entries), (1, 6, 6, 5));
        assert!(before[0].fingerprint.starts_with("model=m@1"), "{}", before[0].fingerprint);
        let after = compact(root.path()).unwrap();
        assert_eq!((after[0].segments, after[0].rows, after[0].entries), (1, 5, 5));
        assert_eq!(segment_files(&dir).unwrap().len(), 1);
        let mut again = Cache::open(root.path(), &info(2)).unwrap();
        for i in 0..5 {
            assert_eq!(again.get(&text_key(&format!("t{i}"))).unwrap(), Some(vec![i as f32, 1.0]));
        }
        assert_eq!(compact(root.path()).unwrap(), after, "compacting twice changes nothing");
    }
}
