//! Embed parameters: [`EmbedParams`] as flags (`nerprep embed`) and as a recipe's `embed`
//! section, checked once into [`ValidEmbedParams`]; [`EmbedEnv`] is where this machine
//! keeps models and cached vectors.
//!
//! **Parameters or environment?** A parameter is anything that can change the output
//! table, so it belongs in the recipe and in the output's provenance: the model, backend,
//! device and pooling (a GPU or another backend rounds differently), what is embedded and
//! how units are cut (`what`, `types_by`, `context`, `top_mentions`, `definitions`) and
//! `batch_size` (transformer backends pad each batch to its longest text, which can move the
//! last bits of a vector). The environment is what cannot change a single output byte: the
//! embedding cache (`--cache`, `--no-cache`; it is keyed by the model fingerprint and the
//! text, so a hit gives exactly the vector a miss computes) and the model cache directory
//! (`--models`; *which* weights were used is recorded in the table's `nerprep.embed.model`
//! and `nerprep.embed.fingerprint` metadata, digest included). Keeping them out of the
//! parameters means a recipe runs unchanged on another machine, and a rebuild is not
//! triggered because the cache moved.

use super::hash::DEFAULT_DIM;
use super::{Backend, Device, EmbedConfig, ModelSpec, Pooling, MAX_HASH_DIM};
use crate::params::{Checker, ParamsError, StageParams};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Texts per model call when none is given (the size the benchmarks use).
pub const DEFAULT_BATCH: usize = 64;
/// The largest batch accepted: more texts per call only costs memory.
pub const MAX_BATCH: usize = 65_536;
/// How many of a label's most frequent mentions describe it by default (`--what types`).
pub const DEFAULT_TOP_MENTIONS: usize = 5;

/// Which units of a samples table to embed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum What {
    /// Each sample's text.
    #[default]
    Text,
    /// Each entity mention (with `context` code points either side).
    Mentions,
    /// Each entity type: label, definition, most frequent mentions.
    Types,
}

impl What {
    /// The name used on the command line and in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            What::Text => "text",
            What::Mentions => "mentions",
            What::Types => "types",
        }
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for What {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(What::Text),
            "mentions" => Ok(What::Mentions),
            "types" => Ok(What::Types),
            _ => Err(format!("unknown unit `{s}`; expected text, mentions or types")),
        }
    }
}

/// What one type unit (`--what types`) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TypesBy {
    /// One unit per (dataset, label), id `{dataset}/{label}`: the same label in two
    /// datasets gets two vectors, so screening can compare how datasets use it.
    #[default]
    DatasetLabel,
    /// One unit per label over all datasets, id = the label (the layout before issue 12).
    Label,
}

impl TypesBy {
    /// The name used on the command line and in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            TypesBy::DatasetLabel => "dataset-label",
            TypesBy::Label => "label",
        }
    }
}

impl fmt::Display for TypesBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TypesBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dataset-label" => Ok(TypesBy::DatasetLabel),
            "label" => Ok(TypesBy::Label),
            _ => Err(format!("unknown grouping `{s}`; expected dataset-label or label")),
        }
    }
}

/// Embed parameters, as flags and as a recipe's `embed` section; see the module docs for
/// what is a parameter and what is environment ([`EmbedEnv`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedParams {
    /// `hash`, `hash:DIM` (DIM up to 4096), `minilm`, `minilm-int8`, `minilm-static`, or a
    /// model directory.
    #[arg(long, short, default_value = "minilm")]
    pub model: ModelSpec,
    /// onnx or candle; default: onnx on the CPU when the model directory has model.onnx
    /// (`make model` writes it), else candle.
    #[arg(long)]
    pub backend: Option<Backend>,
    /// cpu, cuda or cuda:N (cuda needs the `cuda` feature and the candle backend).
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// mean or cls; default: what the model's 1_Pooling/config.json declares, else mean.
    #[arg(long)]
    pub pooling: Option<Pooling>,
    /// What to embed: text (each sample), mentions (each entity), types (each entity type).
    #[arg(long, default_value = "text")]
    pub what: What,
    /// Types: one unit per dataset-label (id `{dataset}/{label}`) or per label over all
    /// datasets (id = the label).
    #[arg(long, default_value = "dataset-label")]
    pub types_by: TypesBy,
    /// Mentions: code points of surrounding text to keep on each side.
    #[arg(long, default_value_t = 0)]
    pub context: usize,
    /// Types: how many of a label's most frequent mentions describe it.
    #[arg(long, default_value_t = DEFAULT_TOP_MENTIONS)]
    pub top_mentions: usize,
    /// Types: label definitions, from a taxonomy mapping (mappings/crossner.yaml) or a YAML
    /// or JSON map `label: definition`.
    #[arg(long)]
    pub definitions: Option<PathBuf>,
    /// Texts per model call.
    #[arg(long, default_value_t = DEFAULT_BATCH)]
    pub batch_size: usize,
}

impl Default for EmbedParams {
    fn default() -> Self {
        EmbedParams {
            model: ModelSpec::default(),
            backend: None,
            device: Device::Cpu,
            pooling: None,
            what: What::Text,
            types_by: TypesBy::DatasetLabel,
            context: 0,
            top_mentions: DEFAULT_TOP_MENTIONS,
            definitions: None,
            batch_size: DEFAULT_BATCH,
        }
    }
}

impl EmbedParams {
    /// Default parameters for `model`.
    pub fn with_model(model: ModelSpec) -> EmbedParams {
        EmbedParams { model, ..EmbedParams::default() }
    }

    /// The problems of model, backend, device and pooling.
    fn check_model(&self, c: &mut Checker) {
        if let ModelSpec::Hash { dim } = self.model {
            c.require(dim <= MAX_HASH_DIM, "model", format!("hash:{dim} is too large; the hash dimension must be at most {MAX_HASH_DIM} (default {DEFAULT_DIM})"));
            c.require(self.backend.is_none(), "backend", "applies to transformer models, not to the hash model");
            c.require(self.device == Device::Cpu, "device", "applies to transformer models, not to the hash model");
            c.require(self.pooling.is_none(), "pooling", "applies to transformer models, not to the hash model");
            return;
        }
        c.require(self.backend != Some(Backend::Hash), "backend", "must be candle or onnx (the hash embedder is chosen as model hash)");
        if self.backend == Some(Backend::Onnx) {
            c.require(self.device == Device::Cpu, "backend", format!("onnx runs on the CPU; use candle for device {}", self.device));
        }
        if let Device::Cuda(_) = self.device {
            c.require(
                cfg!(feature = "cuda"),
                "device",
                format!("{} needs the `cuda` cargo feature; rebuild with `cargo build --release --features cuda` (see README)", self.device),
            );
        }
    }

    /// The problems of the unit options: out of range, or given for units they do not apply to.
    fn check_units(&self, c: &mut Checker) {
        c.require(self.batch_size > 0, "batch_size", "must be at least 1");
        c.require(self.batch_size <= MAX_BATCH, "batch_size", format!("must be at most {MAX_BATCH}, got {}", self.batch_size));
        c.require(self.context == 0 || self.what == What::Mentions, "context", "applies only when embedding mentions");
        c.require(self.definitions.is_none() || self.what == What::Types, "definitions", "applies only when embedding types");
        c.require(self.types_by == TypesBy::default() || self.what == What::Types, "types_by", "applies only when embedding types");
    }
}

impl StageParams for EmbedParams {
    const STAGE: &'static str = "embed";
    type Valid = ValidEmbedParams;

    fn check(&self) -> Result<ValidEmbedParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        self.check_model(&mut c);
        self.check_units(&mut c);
        c.finish()?;
        Ok(ValidEmbedParams { params: self.clone() })
    }
}

/// Embed parameters that passed every check: the only form [`super::stage::embed_table`]
/// takes.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEmbedParams {
    params: EmbedParams,
}

impl ValidEmbedParams {
    /// The parameters as given (for provenance).
    pub fn params(&self) -> &EmbedParams {
        &self.params
    }

    /// The embedder configuration, with the model cache of `env`.
    pub fn embed_config(&self, env: &EmbedEnv) -> EmbedConfig {
        let p = &self.params;
        EmbedConfig { model: p.model.clone(), backend: p.backend, device: p.device, pooling: p.pooling, models_dir: env.models_dir.clone() }
    }
}

/// Environment variable naming the embedding cache directory.
pub const CACHE_ENV: &str = "NERPREP_CACHE";

/// Where a run finds its models and keeps embeddings it computed: the machine, not the
/// recipe (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedEnv {
    /// The model cache (`make model` installs into it); `minilm` is looked up there.
    pub models_dir: PathBuf,
    /// The embedding cache directory; `None` keeps vectors for the current run only.
    pub cache_dir: Option<PathBuf>,
}

impl EmbedEnv {
    /// The defaults of this process: models from `$NERPREP_MODELS` or `models/`, the cache in
    /// [`default_cache_dir`].
    pub fn from_process() -> EmbedEnv {
        EmbedEnv { models_dir: super::default_models_dir(), cache_dir: Some(default_cache_dir()) }
    }

    /// Models from `models_dir`, no persistent cache (tests, one-off runs).
    pub fn uncached(models_dir: impl Into<PathBuf>) -> EmbedEnv {
        EmbedEnv { models_dir: models_dir.into(), cache_dir: None }
    }
}

/// `$NERPREP_CACHE`, else `$XDG_CACHE_HOME/nerprep/embeddings`, else `~/.cache/nerprep/embeddings`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from(".cache"), |h| PathBuf::from(h).join(".cache"))
    });
    base.join("nerprep").join("embeddings")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::from_yaml;
    use std::path::Path;

    fn problems(p: &EmbedParams) -> Vec<String> {
        p.check().err().map(|e| e.problems.iter().map(|p| p.to_string()).collect()).unwrap_or_default()
    }

    #[test]
    fn every_field_round_trips_through_yaml() {
        let p = EmbedParams {
            model: ModelSpec::Dir("some/model".into()),
            backend: Some(Backend::Candle),
            device: Device::Cpu,
            pooling: Some(Pooling::Cls),
            what: What::Types,
            types_by: TypesBy::Label,
            context: 0,
            top_mentions: 3,
            definitions: Some("mappings/crossner.yaml".into()),
            batch_size: 8,
        };
        let text = serde_norway::to_string(&p).unwrap();
        assert!(text.contains("model: some/model") && text.contains("types_by: label"), "{text}");
        let (back, valid) = from_yaml::<EmbedParams>(&text, Path::new("r.yaml")).unwrap();
        assert_eq!(back, p);
        assert_eq!(valid.params(), &p);
        let hash: EmbedParams = serde_norway::from_str("model: hash:64\ndevice: cpu\n").unwrap();
        assert_eq!(hash.model, ModelSpec::Hash { dim: 64 });
        assert_eq!(serde_norway::to_string(&EmbedParams::with_model(ModelSpec::Hash { dim: DEFAULT_DIM })).unwrap().lines().next(), Some("model: hash"));
    }

    #[test]
    fn an_unknown_key_and_a_bad_value_name_the_key_and_line() {
        let text = "model: hash\nwhat: sentences\nbatch: 3\ndevice: gpu\n";
        let err = from_yaml::<EmbedParams>(text, Path::new("r.yaml")).unwrap_err().to_string();
        assert!(err.contains("r.yaml:2: embed.what is invalid") && err.contains("sentences"), "{err}");
        assert!(err.contains("r.yaml:3: embed.batch is not a known key"), "{err}");
        assert!(err.contains("r.yaml:4: embed.device is invalid") && err.contains("cuda:N"), "{err}");
    }

    #[test]
    fn an_oversized_hash_dimension_is_a_problem() {
        let p = EmbedParams::with_model("hash:99999999".parse().unwrap());
        assert_eq!(problems(&p), ["embed.model hash:99999999 is too large; the hash dimension must be at most 4096 (default 384)"]);
        assert!(EmbedParams::with_model(ModelSpec::Hash { dim: MAX_HASH_DIM }).check().is_ok());
    }

    #[test]
    fn batch_size_must_be_at_least_one() {
        let p = EmbedParams { batch_size: 0, ..EmbedParams::default() };
        assert_eq!(problems(&p), ["embed.batch_size must be at least 1"]);
    }

    #[test]
    fn hash_takes_no_transformer_options_and_all_problems_come_at_once() {
        let p = EmbedParams {
            model: ModelSpec::Hash { dim: 8 },
            backend: Some(Backend::Onnx),
            pooling: Some(Pooling::Mean),
            context: 4,
            ..EmbedParams::default()
        };
        let err = p.check().unwrap_err();
        let keys: Vec<String> = err.problems.iter().map(|p| p.key()).collect();
        assert_eq!(keys, ["embed.backend", "embed.pooling", "embed.context"]);
        assert!(err.as_flags().starts_with("--backend applies to transformer models"), "{}", err.as_flags());
    }

    #[test]
    fn unit_options_apply_to_their_units_only() {
        let p = EmbedParams { definitions: Some("d.yaml".into()), types_by: TypesBy::Label, ..EmbedParams::default() };
        assert_eq!(problems(&p), ["embed.definitions applies only when embedding types", "embed.types_by applies only when embedding types"]);
        let ok = EmbedParams { what: What::Types, definitions: Some("d.yaml".into()), types_by: TypesBy::Label, ..EmbedParams::default() };
        assert!(ok.check().is_ok());
        assert!(EmbedParams { what: What::Mentions, context: 9, ..EmbedParams::default() }.check().is_ok());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_problem() {
        let p = EmbedParams { device: Device::Cuda(1), ..EmbedParams::default() };
        assert!(problems(&p)[0].starts_with("embed.device cuda:1 needs the `cuda` cargo feature"), "{:?}", problems(&p));
    }

    #[test]
    fn the_config_takes_the_model_cache_from_the_environment() {
        let valid = EmbedParams::default().check().unwrap();
        let config = valid.embed_config(&EmbedEnv::uncached("elsewhere"));
        assert_eq!((config.model, config.models_dir), (ModelSpec::Named("minilm".into()), PathBuf::from("elsewhere")));
    }
}
