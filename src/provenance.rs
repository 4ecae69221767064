//! Provenance: which tool version, stage, parameters and inputs made an output.
//!
//! Every output carries one [`Provenance`]: a Parquet table in its key-value metadata under
//! [`PROVENANCE_KEY`], any other file (JSONL, a report) in `NAME.provenance.json` beside it
//! ([`sidecar_path`]), a report directory in `DIR/provenance.json`. It holds no timings or
//! dates, so the same run twice gives the same bytes, and the recipe build keys its cache on
//! exactly this record. An input nerprep wrote is identified by the output digest recorded
//! in it, so a chain of stages never hashes the same data twice.

use crate::io::{write_atomic, IoError};
use crate::report::Counts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Parquet key-value metadata key holding the JSON [`Provenance`].
pub const PROVENANCE_KEY: &str = "nerprep.provenance";

/// The tool and version that writes every provenance record.
pub fn tool_version() -> String {
    format!("nerprep {}", env!("CARGO_PKG_VERSION"))
}

/// Where one output came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `nerprep X.Y.Z`.
    pub tool: String,
    /// The stage that wrote the output (`ingest`, `emit`, …).
    pub stage: String,
    /// The stage's parameters as canonical JSON (sorted keys).
    pub params: serde_json::Value,
    /// Every input read, in the order given.
    pub inputs: Vec<InputDigest>,
    /// SHA-256 of the output's content (for Parquet: every byte before the footer, which
    /// holds this record), set when the output is finished.
    pub output: Option<String>,
    /// How many bytes the output digest covers (the file, or a table's bytes before its
    /// footer): a file whose size no longer matches was rewritten by someone else.
    pub output_size: Option<u64>,
    /// Where the stage's records went.
    pub counts: Option<Counts>,
}

/// One input of a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    /// The path as given to the stage.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content (hex), or the output digest nerprep recorded in it.
    pub sha256: String,
}

impl Provenance {
    /// A record for `stage` run with `params` (already canonical JSON), no inputs yet.
    pub fn new(stage: impl Into<String>, params: serde_json::Value) -> Provenance {
        Provenance { tool: tool_version(), stage: stage.into(), params, inputs: Vec::new(), output: None, output_size: None, counts: None }
    }

    /// A record for a stage's checked parameter struct.
    pub fn of<P: crate::params::StageParams>(params: &P) -> Provenance {
        Provenance::new(P::STAGE, params.canonical())
    }

    /// Adds `path` as an input, digesting it (or reading the digest nerprep recorded in it).
    pub fn input(&mut self, path: &Path) -> Result<(), IoError> {
        self.inputs.push(InputDigest::of(path)?);
        Ok(())
    }

    /// Adds every path as an input, in order, digesting them in parallel.
    pub fn inputs<'a>(&mut self, paths: impl IntoIterator<Item = &'a Path>) -> Result<(), IoError> {
        use rayon::prelude::*;
        let paths: Vec<&Path> = paths.into_iter().collect();
        let digests: Result<Vec<InputDigest>, IoError> = paths.par_iter().map(|p| InputDigest::of(p)).collect();
        self.inputs.extend(digests?);
        Ok(())
    }

    /// The record as one line of JSON (what Parquet metadata stores).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The record as indented JSON (what a sidecar file holds), ending in a newline.
    pub fn to_pretty_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes a report directory: every `(file name, bytes)` into `dir`, and
    /// `dir/provenance.json` with this record (its `output` the digest of the files' digests)
    /// and a `files` map of each file's digest. Everything is written in full before any file
    /// replaces an older report's. Returns the paths of the files.
    pub fn write_report_dir(mut self, dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<PathBuf>, IoError> {
        let mut set = crate::io::FileSet::new();
        let mut digests = serde_json::Map::new();
        let mut paths = Vec::with_capacity(files.len());
        for (name, bytes) in files {
            let path = dir.join(name);
            set.add(&path, bytes)?;
            digests.insert(name.to_string(), sha256_hex(bytes).into());
            paths.push(path);
        }
        self.output = Some(sha256_hex(serde_json::Value::Object(digests.clone()).to_string().as_bytes()));
        let mut record = serde_json::to_value(&self).map_err(|e| IoError::new(dir, e.into()))?;
        record["files"] = serde_json::Value::Object(digests);
        let text = serde_json::to_string_pretty(&record).map_err(|e| IoError::new(dir, e.into()))? + "\n";
        set.add(dir.join("provenance.json"), text.as_bytes())?;
        set.commit()?;
        Ok(paths)
    }

    /// Records the output's digest and writes this record beside the non-Parquet output
    /// `path` (which must exist), as `NAME.provenance.json`.
    pub fn write_sidecar(mut self, path: &Path) -> Result<Provenance, IoError> {
        self.output = Some(sha256_file(path)?);
        self.output_size = Some(std::fs::metadata(path).map_err(|e| IoError::new(path, e))?.len());
        write_atomic(sidecar_path(path), self.to_pretty_json().as_bytes())?;
        Ok(self)
    }
}

impl InputDigest {
    /// The digest of `path`: for a Parquet table nerprep wrote, the output digest recorded
    /// in it; else the SHA-256 of its bytes.
    pub fn of(path: &Path) -> Result<InputDigest, IoError> {
        let size = std::fs::metadata(path).map_err(|e| IoError::new(path, e))?.len();
        let sha256 = match recorded_digest(path) {
            Some(d) => d,
            None => sha256_file(path)?,
        };
        Ok(InputDigest { path: path.display().to_string(), size, sha256 })
    }
}

/// The output digest nerprep recorded in the table `path`, if it wrote it and no other
/// writer rewrote it since. Other files are always hashed: a sidecar cannot tell an edit
/// that kept the size.
fn recorded_digest(path: &Path) -> Option<String> {
    let (p, data_len) = crate::table::own_table_provenance(path)?;
    p.output.filter(|_| p.output_size == Some(data_len))
}

/// `NAME.provenance.json` beside `path`: `train.jsonl` → `train.jsonl.provenance.json`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{name}.provenance.json"))
}

/// The sidecar record of `path`, if it has one.
pub fn read_sidecar(path: &Path) -> Result<Option<Provenance>, IoError> {
    let side = sidecar_path(path);
    match std::fs::read_to_string(&side) {
        Ok(text) => Ok(serde_json::from_str(&text).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IoError::new(side, e)),
    }
}

/// What `nerprep info` shows about a file or directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Described {
    /// The path described.
    pub path: String,
    /// Rows, for a Parquet table.
    pub rows: Option<u64>,
    /// Column name and type, for a Parquet table, in column order.
    pub schema: Vec<(String, String)>,
    /// The provenance recorded for it, if any.
    pub provenance: Option<Provenance>,
}

/// Describes `path`: a Parquet table's rows, schema and provenance; any other file's
/// sidecar; a directory's `provenance.json`.
pub fn describe(path: &Path) -> Result<Described, crate::table::TableError> {
    let mut d = Described { path: path.display().to_string(), rows: None, schema: Vec::new(), provenance: None };
    if path.is_dir() {
        let record = path.join("provenance.json");
        d.provenance = match std::fs::read_to_string(&record) {
            Ok(text) => serde_json::from_str(&text).ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(IoError::new(record, e).into()),
        };
        return Ok(d);
    }
    match crate::table::open_batches(path) {
        Ok(builder) => {
            d.rows = Some(builder.metadata().file_metadata().num_rows().max(0) as u64);
            d.schema = builder
                .schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), crate::model::schema::short_type(f.data_type())))
                .collect();
            d.provenance = crate::table::read_provenance(path)?;
        }
        Err(crate::table::TableError::Parquet { .. }) if path.extension().is_none_or(|e| e != "parquet") => {
            d.provenance = read_sidecar(path)?
        }
        Err(e) => return Err(e),
    }
    Ok(d)
}

/// SHA-256 over `name<TAB>sha256` lines of every file in `dir` (sorted by name), and their
/// total size: the output digest of a report directory.
pub fn directory_digest(dir: &Path) -> Result<(String, u64), IoError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| IoError::new(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "provenance.json")
        .collect();
    names.sort();
    let mut hasher = Sha256::new();
    let mut size = 0;
    for name in names {
        let path = dir.join(&name);
        let digest = sha256_file(&path)?;
        size += std::fs::metadata(&path).map_err(|e| IoError::new(&path, e))?.len();
        hasher.update(format!("{name}\t{digest}\n").as_bytes());
    }
    Ok((hex(&hasher.finalize()), size))
}

/// Commits the report directory `dir` to `out`. A directory this stage wrote before (its
/// `provenance.json` names `stage`, and `owns` every file name in it) is replaced whole, so
/// stale files of the last run go; any other directory keeps its files and only gets the
/// report's files written into it: a file nerprep did not write is never destroyed.
pub fn commit_report_dir(dir: crate::io::AtomicDir, out: &Path, stage: &str, owns: impl Fn(&str) -> bool) -> Result<(), IoError> {
    let recorded = |p: &Path| {
        std::fs::read_to_string(p.join("provenance.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v["stage"] == stage && v["tool"].as_str().is_some_and(|t| t.starts_with("nerprep ")))
    };
    let only_ours = |p: &Path| {
        std::fs::read_dir(p).is_ok_and(|entries| {
            entries.flatten().all(|e| e.path().is_file() && e.file_name().to_str().is_some_and(&owns))
        })
    };
    if !out.exists() || (recorded(out) && only_ours(out)) { dir.commit() } else { dir.commit_into() }
}

/// The hex SHA-256 of a file's bytes, streamed.
pub fn sha256_file(path: &Path) -> Result<String, IoError> {
    let mut file = std::fs::File::open(path).map_err(|e| IoError::new(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| IoError::new(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The hex SHA-256 of the first `len` bytes of a file (a table's data, before its footer).
pub fn sha256_prefix(path: &Path, len: u64) -> Result<String, IoError> {
    let file = std::fs::File::open(path).map_err(|e| IoError::new(path, e))?;
    let mut limited = file.take(len);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = limited.read(&mut buf).map_err(|e| IoError::new(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A writer that hashes everything written through it (Parquet outputs digest their data
/// pages this way while they are written, instead of reading the file back).
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Sha256::new() }
    }

    /// The hex digest of the bytes written so far.
    pub fn digest(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_records_the_output_digest_and_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("train.jsonl");
        std::fs::write(&out, "{}\n").unwrap();
        let input = dir.path().join("in.txt");
        std::fs::write(&input, "abc").unwrap();
        let make = || {
            let mut p = Provenance::new("emit", serde_json::json!({"seed": 0}));
            p.input(&input).unwrap();
            p.write_sidecar(&out).unwrap();
            std::fs::read(sidecar_path(&out)).unwrap()
        };
        let first = make();
        assert_eq!(first, make(), "same run, same bytes");
        let back = read_sidecar(&out).unwrap().unwrap();
        assert_eq!(back.inputs[0].sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(back.output.as_deref(), Some(sha256_file(&out).unwrap().as_str()));
        std::fs::write(&input, "abd").unwrap();
        assert_ne!(first, make(), "one input byte changes the record");
    }

    #[test]
    fn hashing_writer_matches_a_direct_digest() {
        use std::io::Write;
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"abc").unwrap();
        assert_eq!(w.digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
