//! The ingest step of a build: an input's paths through its format's reader.
//!
//! A recipe input's `ingest` section is exactly the ingest stage's [`IngestParams`] (the
//! struct `nerprep ingest` flattens into flags); the build hands it the input's paths.

use crate::ingest::{ingest, IngestParams};
use crate::params::StageParams;
use crate::progress::Progress;
use crate::readers::ReadError;
use crate::report::Counts;
use std::path::{Path, PathBuf};

/// How one recipe input is read: the ingest stage's own parameters.
pub type InputIngestParams = IngestParams;

/// Ingests `paths` into `output` (and its quarantine table); returns the counts.
pub fn run_ingest(params: &IngestParams, paths: &[PathBuf], output: &Path, progress: &dyn Progress) -> Result<Counts, ReadError> {
    let valid = params.check().map_err(|e| ReadError::Input { path: output.to_path_buf(), line: None, message: e.to_string() })?;
    Ok(ingest(&valid, paths, output, progress)?.counts)
}
