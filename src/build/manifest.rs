//! `OUT/manifest.json`: what a build read, ran and wrote.
//!
//! Tool version, the recipe's path and digest, and per step its cache key, parameters,
//! input and output digests, counts (in/out/quarantined/dropped by reason) and how long it
//! took when it last ran. Rewritten atomically after every step, so an interrupted build
//! resumes from it; `nerprep build --verify` re-hashes the outputs it lists.

use super::recipe::Recipe;
use crate::io::{write_atomic, IoError};
use crate::provenance::{sha256_file, tool_version, InputDigest};
use crate::report::Counts;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest of one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `nerprep X.Y.Z`.
    pub tool: String,
    /// The recipe file and its SHA-256.
    pub recipe: InputDigest,
    /// The recipe's seed.
    pub seed: u64,
    /// Every step that ran or was found up to date, in order.
    pub steps: Vec<StepRecord>,
}

/// One step of the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step (`map/crossner`).
    pub id: String,
    /// Its stage (`map`).
    pub stage: String,
    /// The cache key: SHA-256 of tool version, stage, parameters and input digests.
    pub key: String,
    /// The stage's canonical parameters.
    pub params: serde_json::Value,
    /// What it read.
    pub inputs: Vec<InputDigest>,
    /// What it wrote.
    pub outputs: Vec<InputDigest>,
    /// Where its records went, when the stage counts records.
    pub counts: Option<Counts>,
    /// Wall-clock seconds of the run that wrote the outputs (the one timing of a build).
    pub seconds: f64,
}

impl Manifest {
    /// A manifest with no steps yet for `recipe`, read from `path`.
    pub fn new(path: &Path, recipe: &Recipe) -> Result<Manifest, IoError> {
        let size = std::fs::metadata(path).map_err(|e| IoError::new(path, e))?.len();
        let recipe_digest = InputDigest { path: path.display().to_string(), size, sha256: sha256_file(path)? };
        Ok(Manifest { tool: tool_version(), recipe: recipe_digest, seed: recipe.seed, steps: Vec::new() })
    }

    /// The manifest at `path`, `None` when there is none (or it is not one: a manifest
    /// written by another version is simply rebuilt).
    pub fn read(path: &Path) -> Result<Option<Manifest>, IoError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(serde_json::from_str(&text).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IoError::new(path, e)),
        }
    }

    /// The record of step `id`, if any.
    pub fn step(&self, id: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Writes the manifest atomically.
    pub fn write(&self, path: &Path) -> Result<(), IoError> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }
}
