//! The parameters of `nerprep cluster`: flags, recipe keys and JSON Schema in one struct
//! ([`ClusterParams`]), checked once into [`ValidClusterParams`], the only type the
//! clustering code takes.

use crate::params::{Checker, ParamsError, StageParams};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// An inclusive range of cluster counts, written `lo..hi` (`2..30`) or a single `k`.
///
/// Parsing only reads the two numbers; [`ClusterParams::check`] says whether they make a
/// usable range, so that `30..2` is reported with the other parameter problems.
///
/// # Example
/// ```
/// use nerprep::cluster::KRange;
/// let r: KRange = "2..30".parse().unwrap();
/// assert_eq!((r.lo, r.hi), (2, 30));
/// assert_eq!(r.to_string(), "2..30");
/// assert_eq!("14".parse::<KRange>().unwrap(), KRange { lo: 14, hi: 14 });
/// assert!("two..3".parse::<KRange>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KRange {
    /// The smallest k tried.
    pub lo: usize,
    /// The largest k tried (inclusive).
    pub hi: usize,
}

impl Default for KRange {
    fn default() -> Self {
        KRange { lo: 2, hi: 30 }
    }
}

impl KRange {
    /// Every k of the range, in order (empty when `lo > hi`).
    pub fn values(&self) -> impl Iterator<Item = usize> {
        self.lo..=self.hi
    }
}

impl fmt::Display for KRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.lo, self.hi)
    }
}

impl FromStr for KRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = |t: &str| {
            t.trim().parse::<usize>().map_err(|_| format!("expected a range `lo..hi` of whole numbers (like 2..30), got `{s}`"))
        };
        match s.split_once("..") {
            Some((lo, hi)) => Ok(KRange { lo: number(lo)?, hi: number(hi.strip_prefix('=').unwrap_or(hi))? }),
            None => {
                let k = number(s)?;
                Ok(KRange { lo: k, hi: k })
            }
        }
    }
}

impl Serialize for KRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for KRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for KRange {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KRange".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^\\s*[0-9]+\\s*(\\.\\.=?\\s*[0-9]+\\s*)?$",
            "description": "An inclusive range of k, `lo..hi` (like `2..30`), or one k."
        })
    }
}

/// The box the gap statistic's reference sets are drawn from (Tibshirani et al. 2001, §3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RefsBox {
    /// Uniform over the range of each feature (their method (a)).
    #[default]
    Uniform,
    /// Uniform over the box aligned with the data's principal components (their method (b)).
    Pca,
}

impl RefsBox {
    /// The name used on the command line and in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            RefsBox::Uniform => "uniform",
            RefsBox::Pca => "pca",
        }
    }
}

/// Parameters of the `cluster` stage (`nerprep cluster`, or a recipe's `cluster:` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterParams {
    /// The cluster counts to try, `lo..hi` inclusive (2 <= lo <= hi).
    #[arg(long, default_value = "2..30")]
    pub k: KRange,
    /// k-means runs per k (k-means++ seeding each); the one with the least inertia counts.
    #[arg(long, default_value_t = 10)]
    pub restarts: usize,
    /// Reference sets B of the gap statistic (at least 2).
    #[arg(long, default_value_t = 10)]
    pub refs: usize,
    /// Where the gap statistic's reference sets are drawn: uniform (the data's bounding box)
    /// or pca (the box aligned with its principal components).
    #[arg(long, value_enum, default_value_t = RefsBox::Uniform)]
    pub refs_box: RefsBox,
    /// Above this many units the silhouette averages a seeded sample of this many units
    /// (each scored against all units); 0 = always every unit.
    #[arg(long, default_value_t = 20_000)]
    pub silhouette_sample: usize,
    /// Seed of every random choice (seeding, restarts, reference sets, samples).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Most Lloyd iterations of one k-means run.
    #[arg(long, default_value_t = 300)]
    pub max_iter: usize,
    /// A k-means run stops when its centroids move less than this (squared, summed),
    /// relative to the data's mean feature variance (scikit-learn's `tol`).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// The k whose assignments and draft mapping are written; default: the gap
    /// statistic's 1-SE choice (or the largest gap when the rule picks none).
    #[arg(long)]
    pub assign_k: Option<usize>,
    /// A curated mapping (mappings/*.yaml) to score each clustering against (adjusted Rand
    /// index, purity), matching unit ids to its labels and aliases.
    #[arg(long)]
    pub compare: Option<PathBuf>,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            k: KRange::default(),
            restarts: 10,
            refs: 10,
            refs_box: RefsBox::Uniform,
            silhouette_sample: 20_000,
            seed: 0,
            max_iter: 300,
            tol: 1e-4,
            assign_k: None,
            compare: None,
        }
    }
}

/// [`ClusterParams`] that passed [`ClusterParams::check`]; see there for the meaning of
/// each field.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidClusterParams {
    /// The cluster counts, `2 <= lo <= hi`.
    pub k: KRange,
    /// k-means runs per k, at least 1.
    pub restarts: usize,
    /// Reference sets, at least 2.
    pub refs: usize,
    /// The reference box.
    pub refs_box: RefsBox,
    /// Silhouette sample size; 0 = every unit.
    pub silhouette_sample: usize,
    /// The seed.
    pub seed: u64,
    /// Most Lloyd iterations, at least 1.
    pub max_iter: usize,
    /// Relative tolerance, finite and not negative.
    pub tol: f64,
    /// The k to assign, inside `k`.
    pub assign_k: Option<usize>,
    /// The curated mapping to compare with.
    pub compare: Option<PathBuf>,
}

impl ValidClusterParams {
    /// The parameters these were checked from (for provenance, which records them as given).
    pub fn to_params(&self) -> ClusterParams {
        ClusterParams {
            k: self.k,
            restarts: self.restarts,
            refs: self.refs,
            refs_box: self.refs_box,
            silhouette_sample: self.silhouette_sample,
            seed: self.seed,
            max_iter: self.max_iter,
            tol: self.tol,
            assign_k: self.assign_k,
            compare: self.compare.clone(),
        }
    }
}

impl StageParams for ClusterParams {
    const STAGE: &'static str = "cluster";
    type Valid = ValidClusterParams;

    fn check(&self) -> Result<ValidClusterParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        let k = self.k;
        c.require(2 <= k.lo && k.lo <= k.hi, "k", format!("must be a range lo..hi with 2 <= lo <= hi, got {k}"));
        c.require(self.restarts >= 1, "restarts", format!("must be at least 1, got {}", self.restarts));
        c.require(self.refs >= 2, "refs", format!("must be at least 2 (the gap's standard error needs two reference sets), got {}", self.refs));
        c.require(self.silhouette_sample != 1, "silhouette_sample", "must be 0 (every unit) or at least 2, got 1");
        c.require(self.max_iter >= 1, "max_iter", format!("must be at least 1, got {}", self.max_iter));
        c.require(self.tol.is_finite() && self.tol >= 0.0, "tol", format!("must be a finite number >= 0, got {}", self.tol));
        if let Some(a) = self.assign_k {
            c.require(k.values().any(|v| v == a), "assign_k", format!("must be one of the k tried ({k}), got {a}"));
        }
        c.finish()?;
        Ok(ValidClusterParams {
            k,
            restarts: self.restarts,
            refs: self.refs,
            refs_box: self.refs_box,
            silhouette_sample: self.silhouette_sample,
            seed: self.seed,
            max_iter: self.max_iter,
            tol: self.tol,
            assign_k: self.assign_k,
            compare: self.compare.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        params: ClusterParams,
    }

    fn with(edit: impl FnOnce(&mut ClusterParams)) -> ClusterParams {
        let mut p = ClusterParams::default();
        edit(&mut p);
        p
    }

    #[test]
    fn clap_defaults_equal_the_serde_defaults() {
        let cli = Cli::try_parse_from(["cluster"]).unwrap();
        assert_eq!(cli.params, ClusterParams::default());
        let (back, _) = crate::params::from_yaml::<ClusterParams>("{}", std::path::Path::new("r.yaml")).unwrap();
        assert_eq!(back, ClusterParams::default());
    }

    #[test]
    fn a_reversed_k_range_is_refused_in_recipe_and_flag_terms() {
        let err = with(|p| p.k = "30..2".parse().unwrap()).check().unwrap_err();
        assert_eq!(err.to_string(), "cluster.k must be a range lo..hi with 2 <= lo <= hi, got 30..2");
        assert_eq!(err.as_flags(), "--k must be a range lo..hi with 2 <= lo <= hi, got 30..2");
    }

    #[test]
    fn k_must_start_at_two() {
        assert!(with(|p| p.k = KRange { lo: 1, hi: 5 }).check().is_err());
        assert!(with(|p| p.k = KRange { lo: 2, hi: 2 }).check().is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let p = with(|p| {
            p.restarts = 0;
            p.refs = 1;
            p.silhouette_sample = 1;
            p.max_iter = 0;
            p.tol = f64::NAN;
            p.assign_k = Some(31);
        });
        let err = p.check().unwrap_err();
        let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["restarts", "refs", "silhouette_sample", "max_iter", "tol", "assign_k"]);
    }

    #[test]
    fn ranges_parse_and_round_trip_through_yaml() {
        assert_eq!("3..=7".parse::<KRange>().unwrap(), KRange { lo: 3, hi: 7 });
        assert!("2..".parse::<KRange>().is_err());
        let p = with(|p| {
            p.k = KRange { lo: 5, hi: 9 };
            p.refs_box = RefsBox::Pca;
        });
        let text = serde_norway::to_string(&p).unwrap();
        assert!(text.contains("k: 5..9"), "{text}");
        let (back, valid) = crate::params::from_yaml::<ClusterParams>(&text, std::path::Path::new("r.yaml")).unwrap();
        assert_eq!(back, p);
        assert_eq!(valid.refs_box, RefsBox::Pca);
        let err = crate::params::from_yaml::<ClusterParams>("k: lots\n", std::path::Path::new("r.yaml")).unwrap_err();
        assert!(err.to_string().starts_with("r.yaml:1: cluster.k is invalid"), "{err}");
    }
}
