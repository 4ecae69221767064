//! `ConfusionParams`: the recipe section `confusion` and the flags of `nerprep confusion`,
//! checked into [`ValidConfusionParams`]. Defaults are seed 001's (§3.2, experiments):
//! α = β = 0.5, w0 = 2.5, δ = 1.

use crate::embed::ModelSpec;
use crate::params::{Checker, ParamsError, StageParams};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Parameters of the confusion stage (MCQM, seed 001 §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ConfusionParams {
    /// The target types: a taxonomy mapping (each label's archetype is its coarse parent), a
    /// YAML/JSON list of labels, or a map `label: parent`. Required.
    #[arg(long)]
    pub types: Option<PathBuf>,
    /// Type descriptions: a taxonomy mapping's definitions, a YAML/JSON map
    /// `label: description`, or a directory of `LABEL.txt` files. Required.
    #[arg(long)]
    pub descriptions: Option<PathBuf>,
    /// Only these types of --types (comma-separated; default: all), e.g. one CrossNER domain.
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// The explicit term: the target model's dev predictions, the `confusion.csv` that
    /// `nerprep eval` writes (gold rows × predicted columns).
    #[arg(long)]
    pub dev_predictions: Option<PathBuf>,
    /// The hierarchy from a source model instead of the parents of --types: its predictions
    /// on the target data, as `nerprep eval`'s `confusion.csv` (target gold rows × source
    /// predicted columns); R_H(t→s) = share of t's gold entities predicted as s.
    #[arg(long)]
    pub source_predictions: Option<PathBuf>,
    /// The model that embeds the descriptions: `hash`, `hash:DIM`, `minilm`, or a model
    /// directory.
    #[arg(long, default_value = "minilm")]
    pub model: ModelSpec,
    /// α, the weight of the hierarchy term in the implicit confusion.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// β, the weight of the semantic term in the implicit confusion.
    #[arg(long, default_value_t = 0.5)]
    pub beta: f64,
    /// w0, the softmax temperature coefficient (> 0).
    #[arg(long, default_value_t = 2.5)]
    pub w0: f64,
    /// δ, the scaling factor of the hierarchy term.
    #[arg(long, default_value_t = 1.0)]
    pub delta: f64,
    /// Most-confused types kept per type in confusions.txt and hard-negatives.yaml.
    #[arg(long, default_value_t = 1)]
    pub top: usize,
}

impl Default for ConfusionParams {
    fn default() -> Self {
        ConfusionParams {
            types: None,
            descriptions: None,
            labels: Vec::new(),
            dev_predictions: None,
            source_predictions: None,
            model: ModelSpec::default(),
            alpha: 0.5,
            beta: 0.5,
            w0: 2.5,
            delta: 1.0,
            top: 1,
        }
    }
}

/// Checked confusion parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfusionParams {
    /// The types file.
    pub types: PathBuf,
    /// The descriptions file or directory.
    pub descriptions: PathBuf,
    /// The parameters as given (weights, optional inputs, provenance).
    pub params: ConfusionParams,
}

impl StageParams for ConfusionParams {
    const STAGE: &'static str = "confusion";
    type Valid = ValidConfusionParams;

    fn check(&self) -> Result<ValidConfusionParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        for (field, v) in [("alpha", self.alpha), ("beta", self.beta), ("delta", self.delta)] {
            c.require(v.is_finite() && v >= 0.0, field, format!("must be a number ≥ 0, got {v}"));
        }
        c.require(self.w0.is_finite() && self.w0 > 0.0, "w0", format!("must be a number > 0, got {}", self.w0));
        c.require(self.top >= 1, "top", format!("must be at least 1, got {}", self.top));
        let Some(types) = self.types.clone() else { return Err(c.fail("types", "is required (a mapping, a list of labels or a map label: parent)")) };
        let Some(descriptions) = self.descriptions.clone() else { return Err(c.fail("descriptions", "is required (a map label: description, a mapping or a directory)")) };
        c.finish()?;
        Ok(ValidConfusionParams { types, descriptions, params: self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given() -> ConfusionParams {
        ConfusionParams { types: Some("t.yaml".into()), descriptions: Some("d.yaml".into()), ..Default::default() }
    }

    #[test]
    fn types_and_descriptions_are_required() {
        let err = ConfusionParams::default().check().unwrap_err();
        assert_eq!(err.to_string(), "confusion.types is required (a mapping, a list of labels or a map label: parent)");
        assert!(given().check().is_ok());
    }

    #[test]
    fn temperature_must_be_positive_and_weights_not_negative() {
        let err = ConfusionParams { w0: 0.0, alpha: -1.0, top: 0, ..given() }.check().unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(err.as_flags().contains("--w0 must be a number > 0, got 0"), "{}", err.as_flags());
        assert!(err.as_flags().contains("--alpha must be a number ≥ 0, got -1"), "{}", err.as_flags());
    }

    #[test]
    fn clap_defaults_equal_the_default_impl() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            params: ConfusionParams,
        }
        assert_eq!(Cli::parse_from(["confusion"]).params, ConfusionParams::default());
    }
}
