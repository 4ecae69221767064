//! `PruneParams`: the recipe section `prune` and the flags of `nerprep prune`, checked into
//! [`ValidPruneParams`], the only form the pruning code takes.

use crate::params::{Checker, ParamsError, StageParams};
use serde::{Deserialize, Serialize};

/// How samples are chosen (seed 002, §3.2, §5.4 and Appendix B.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Accept into a type's pool with probability clamp(1 − max cosine + offset, 0, 1).
    #[default]
    Diversity,
    /// Accept into a type's pool when 1 − max cosine ≥ threshold.
    Threshold,
    /// The first `per_type` samples of each type in the seeded random order.
    RandomPerType,
    /// `total` samples drawn uniformly, ignoring types.
    Random,
}

impl Strategy {
    /// The name used in flags, recipes and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Diversity => "diversity",
            Strategy::Threshold => "threshold",
            Strategy::RandomPerType => "random-per-type",
            Strategy::Random => "random",
        }
    }
}

/// What to do with a sample that has no embedding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Missing {
    /// Stop with an error naming the samples.
    #[default]
    Error,
    /// Drop them, counted as `missing_embedding`.
    Skip,
}

/// Parameters of the prune stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct PruneParams {
    /// Capacity k of each (dataset, label) pool.
    #[arg(long, default_value_t = 400)]
    pub per_type: usize,
    /// Offset b added to the acceptance probability 1 − max cosine (diversity); in [-1, 1].
    /// A negative offset is the stricter one (more diverse pools, fewer samples).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub offset: f64,
    /// How samples are chosen: diversity, threshold, random-per-type or random.
    #[arg(long, value_enum, default_value_t = Strategy::Diversity)]
    pub strategy: Strategy,
    /// Threshold τ on 1 − max cosine (strategy threshold, which requires it); in [0, 2].
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Samples to keep (strategy random, which requires it).
    #[arg(long)]
    pub total: Option<usize>,
    /// Samples without entities kept per dataset, as a fraction of per_type (floor(k · ratio)).
    #[arg(long, default_value_t = 0.2)]
    pub negatives_ratio: f64,
    /// Seed of every random draw (visiting order, acceptance draws, the random baseline).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Samples without an embedding: error (stop, naming them) or skip (drop, counted).
    #[arg(long, value_enum, default_value_t = Missing::Error)]
    pub missing: Missing,
}

impl Default for PruneParams {
    fn default() -> Self {
        PruneParams {
            per_type: 400,
            offset: 0.0,
            strategy: Strategy::Diversity,
            threshold: None,
            total: None,
            negatives_ratio: 0.2,
            seed: 0,
            missing: Missing::Error,
        }
    }
}

/// Checked prune parameters: the strategy carries what it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPruneParams {
    /// Pool capacity k (≥ 1).
    pub per_type: usize,
    /// The strategy and its own setting.
    pub rule: Rule,
    /// Negative samples per dataset: floor(k · negatives_ratio).
    pub negatives: usize,
    /// The seed.
    pub seed: u64,
    /// What to do with samples without an embedding.
    pub missing: Missing,
    /// The parameters as given (for provenance).
    pub params: PruneParams,
}

/// A strategy with its checked setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Probabilistic acceptance with offset b ∈ [-1, 1].
    Diversity {
        /// The offset b.
        offset: f32,
    },
    /// Hard threshold τ ∈ [0, 2] on the distance 1 − max cosine.
    Threshold {
        /// The threshold τ.
        tau: f32,
    },
    /// First k per pool.
    RandomPerType,
    /// N samples uniformly.
    Random {
        /// N.
        total: usize,
    },
}

impl StageParams for PruneParams {
    const STAGE: &'static str = "prune";
    type Valid = ValidPruneParams;

    fn check(&self) -> Result<ValidPruneParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        c.require(self.per_type >= 1, "per_type", format!("must be at least 1, got {}", self.per_type));
        let offset_ok = (-1.0..=1.0).contains(&self.offset);
        c.require(offset_ok, "offset", format!("must be in [-1, 1], got {}", self.offset));
        let ratio_ok = self.negatives_ratio.is_finite() && self.negatives_ratio >= 0.0;
        c.require(ratio_ok, "negatives_ratio", format!("must be a number ≥ 0, got {}", self.negatives_ratio));
        let rule = self.rule(&mut c);
        c.finish()?;
        let negatives = (self.per_type as f64 * self.negatives_ratio).floor() as usize;
        let rule = rule.expect("a clean check has a rule");
        Ok(ValidPruneParams { per_type: self.per_type, rule, negatives, seed: self.seed, missing: self.missing, params: self.clone() })
    }
}

impl PruneParams {
    /// The strategy with its setting, recording what is missing or out of range.
    fn rule(&self, c: &mut Checker) -> Option<Rule> {
        match self.strategy {
            Strategy::Diversity => Some(Rule::Diversity { offset: self.offset as f32 }),
            Strategy::RandomPerType => Some(Rule::RandomPerType),
            Strategy::Threshold => match self.threshold {
                Some(t) if (0.0..=2.0).contains(&t) => Some(Rule::Threshold { tau: t as f32 }),
                Some(t) => {
                    c.problem("threshold", format!("must be in [0, 2], got {t}"));
                    None
                }
                None => {
                    c.problem("threshold", "is required by strategy threshold");
                    None
                }
            },
            Strategy::Random => match self.total {
                Some(total) => Some(Rule::Random { total }),
                None => {
                    c.problem("total", "is required by strategy random");
                    None
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(p: PruneParams) -> String {
        p.check().unwrap_err().to_string()
    }

    #[test]
    fn per_type_cannot_be_zero() {
        assert_eq!(problems(PruneParams { per_type: 0, ..Default::default() }), "prune.per_type must be at least 1, got 0");
    }

    #[test]
    fn offset_must_be_in_minus_one_one() {
        assert_eq!(problems(PruneParams { offset: 1.5, ..Default::default() }), "prune.offset must be in [-1, 1], got 1.5");
        assert!(PruneParams { offset: -1.0, ..Default::default() }.check().is_ok());
        assert!(PruneParams { offset: f64::NAN, ..Default::default() }.check().is_err());
    }

    #[test]
    fn threshold_strategy_needs_a_threshold_in_range() {
        let p = PruneParams { strategy: Strategy::Threshold, ..Default::default() };
        assert_eq!(problems(p.clone()), "prune.threshold is required by strategy threshold");
        assert_eq!(problems(PruneParams { threshold: Some(3.0), ..p.clone() }), "prune.threshold must be in [0, 2], got 3");
        let v = PruneParams { threshold: Some(0.25), ..p }.check().unwrap();
        assert_eq!(v.rule, Rule::Threshold { tau: 0.25 });
    }

    #[test]
    fn random_strategy_needs_a_total() {
        let p = PruneParams { strategy: Strategy::Random, ..Default::default() };
        assert_eq!(problems(p), "prune.total is required by strategy random");
    }

    #[test]
    fn negative_ratio_is_refused_and_all_problems_come_together() {
        let err = PruneParams { per_type: 0, negatives_ratio: -0.1, offset: 2.0, ..Default::default() }.check().unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(err.as_flags().contains("--negatives-ratio must be a number ≥ 0, got -0.1"), "{}", err.as_flags());
    }

    #[test]
    fn negatives_quota_is_the_floor_of_k_times_ratio() {
        assert_eq!(PruneParams::default().check().unwrap().negatives, 80);
        assert_eq!(PruneParams { per_type: 7, negatives_ratio: 0.5, ..Default::default() }.check().unwrap().negatives, 3);
    }

    #[test]
    fn clap_defaults_equal_the_default_impl() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            params: PruneParams,
        }
        assert_eq!(Cli::parse_from(["prune"]).params, PruneParams::default());
    }

    #[test]
    fn a_recipe_section_reports_every_problem_with_its_line_and_the_schema_documents_fields() {
        let text = "per_type: 0\nstrategy: threshold\nnegatives_ratio: 0.5\n";
        let err = crate::params::from_yaml::<PruneParams>(text, std::path::Path::new("r.yaml")).unwrap_err();
        assert_eq!(err.to_string(), "r.yaml:1: prune.per_type must be at least 1, got 0\nr.yaml:1: prune.threshold is required by strategy threshold");
        let schema = crate::params::schema_of::<PruneParams>();
        let props = schema["properties"].as_object().unwrap();
        assert_eq!(props.len(), 8);
        for (name, p) in props {
            assert!(p.get("description").is_some_and(|d| d.as_str().is_some_and(|d| !d.is_empty())), "{name}: {p}");
        }
    }
}
