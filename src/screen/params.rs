//! `ScreenParams`: the recipe section `screen` and the flags of `nerprep screen`, checked
//! into [`ValidScreenParams`], the only form the screening code takes.

use crate::embed::ModelSpec;
use crate::params::{Checker, ParamsError, StageParams};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Occurrence rows kept per directed label pair in `conflicts.parquet` by default.
pub const DEFAULT_MAX_ROWS: usize = 1000;

/// Parameters of the screen stage (B2NER's rule-based conflict screening, seed 002 §3.1
/// and Appendix A.2, plus the kNN check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ScreenParams {
    /// Also pair labels of different names whose label-name embeddings have cosine ≥ τ
    /// (τ in [-1, 1]); embedded with `model`.
    #[arg(long = "similar-labels", value_name = "TAU", allow_negative_numbers = true)]
    pub similar_labels: Option<f64>,
    /// The model that embeds label names for `similar_labels`: `hash`, `hash:DIM`,
    /// `minilm`, or a model directory.
    #[arg(long, default_value = "minilm")]
    pub model: ModelSpec,
    /// Taxonomy mappings: labels of two datasets that map to the same archetype are paired
    /// too (labels matched up to case, spaces and underscores).
    #[arg(long)]
    pub mapping: Vec<PathBuf>,
    /// Mentions shorter than this many characters are not searched (counted as
    /// `short_mention`); single characters match almost everywhere.
    #[arg(long, default_value_t = 2)]
    pub min_mention_chars: usize,
    /// Occurrence rows kept per directed label pair in conflicts.parquet (a seeded sample;
    /// the counts in pairs.csv always cover every occurrence).
    #[arg(long, default_value_t = DEFAULT_MAX_ROWS)]
    pub max_rows_per_pair: usize,
    /// Examples shown per pair in report.md.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    /// Pairs listed in report.md, worst conflict ratio first.
    #[arg(long, default_value_t = 20)]
    pub worst: usize,
    /// A pair needs at least this many checked occurrences to be ranked in report.md.
    #[arg(long, default_value_t = 5)]
    pub min_matched: u64,
    /// The kNN check: label each mention of a dataset by the majority of its k nearest
    /// neighbours among another dataset's mentions (needs mention embeddings, `--emb`).
    #[arg(long, value_name = "K")]
    pub knn: Option<usize>,
    /// With --knn: mentions queried per (dataset, label), a seeded pick (0 = all).
    #[arg(long, default_value_t = 200)]
    pub knn_sample: usize,
    /// Seed of the sampled occurrence rows, report examples and kNN queries.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl Default for ScreenParams {
    fn default() -> Self {
        ScreenParams {
            similar_labels: None,
            model: ModelSpec::default(),
            mapping: Vec::new(),
            min_mention_chars: 2,
            max_rows_per_pair: DEFAULT_MAX_ROWS,
            examples: 3,
            worst: 20,
            min_matched: 5,
            knn: None,
            knn_sample: 200,
            seed: 0,
        }
    }
}

/// Checked screen parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidScreenParams {
    /// τ of the label-embedding pairing, when asked for.
    pub similar_labels: Option<f32>,
    /// Mentions shorter than this (in characters) are skipped; at least 1.
    pub min_mention_chars: usize,
    /// k of the kNN check (≥ 1), when asked for.
    pub knn: Option<usize>,
    /// The parameters as given (for provenance and the rest of the settings).
    pub params: ScreenParams,
}

/// The largest k the kNN check takes: a majority over more neighbours says nothing more.
pub const MAX_KNN: usize = 1000;

impl StageParams for ScreenParams {
    const STAGE: &'static str = "screen";
    type Valid = ValidScreenParams;

    fn check(&self) -> Result<ValidScreenParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        if let Some(tau) = self.similar_labels {
            c.require((-1.0..=1.0).contains(&tau), "similar_labels", format!("must be a cosine in [-1, 1], got {tau}"));
        }
        if let Some(k) = self.knn {
            c.require((1..=MAX_KNN).contains(&k), "knn", format!("must be in [1, {MAX_KNN}], got {k}"));
        }
        let min = self.min_mention_chars;
        c.require(min >= 1, "min_mention_chars", format!("must be at least 1, got {min}"));
        if let ModelSpec::Hash { dim } = self.model {
            let max = crate::embed::MAX_HASH_DIM;
            c.require(dim <= max, "model", format!("hash:{dim} is too large; the hash dimension must be at most {max}"));
        }
        c.finish()?;
        Ok(ValidScreenParams {
            similar_labels: self.similar_labels.map(|t| t as f32),
            min_mention_chars: min,
            knn: self.knn,
            params: self.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(p: ScreenParams) -> String {
        p.check().unwrap_err().to_string()
    }

    #[test]
    fn similar_labels_must_be_a_cosine() {
        let p = ScreenParams { similar_labels: Some(1.5), ..Default::default() };
        assert_eq!(problems(p), "screen.similar_labels must be a cosine in [-1, 1], got 1.5");
        assert!(ScreenParams { similar_labels: Some(f64::NAN), ..Default::default() }.check().is_err());
        assert!(ScreenParams { similar_labels: Some(-1.0), ..Default::default() }.check().is_ok());
    }

    #[test]
    fn knn_cannot_be_zero_and_all_problems_come_together() {
        let err = ScreenParams { knn: Some(0), min_mention_chars: 0, ..Default::default() }.check().unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.as_flags().contains("--knn must be in [1, 1000], got 0"), "{}", err.as_flags());
        assert!(err.as_flags().contains("--min-mention-chars must be at least 1, got 0"), "{}", err.as_flags());
    }

    #[test]
    fn clap_defaults_equal_the_default_impl() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            params: ScreenParams,
        }
        assert_eq!(Cli::parse_from(["screen"]).params, ScreenParams::default());
    }

    #[test]
    fn the_schema_documents_every_field() {
        let schema = crate::params::schema_of::<ScreenParams>();
        for (name, p) in schema["properties"].as_object().unwrap() {
            assert!(p.get("description").is_some_and(|d| d.as_str().is_some_and(|d| !d.is_empty())), "{name}: {p}");
        }
    }
}
