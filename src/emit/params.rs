//! Emit options: [`EmitParams`] as given on the command line or in a recipe (one struct for
//! both, see [`crate::params`]), checked once into [`ValidEmitParams`]; the files they name
//! are then loaded into the [`EmitConfig`] the stage code trusts. Every problem is reported
//! at once.

use super::hard::HardNegatives;
use super::EmitError;
use crate::answer::AnswerFormat;
use crate::params::{Checker, ParamsError, StageParams};
use crate::taxonomy::Archetype;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The instruction style (`--template`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Template {
    /// B2NER label-set instruction, `label: entity; …` answers (seed 002).
    B2ner,
    /// IEPile double-encoded instruction object, schema split into chunks.
    Iepile,
    /// Pile-NER / UniversalNER multi-turn conversation, one question per type.
    PileNer,
    /// SAM-NER archetype classifier: one entity tagged `<ENT></ENT>` → its archetype.
    SamArchetype,
    /// SAM-NER calibrator: entity + archetype + target labels with definitions → label.
    SamCalibrate,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 5] =
        [Template::B2ner, Template::Iepile, Template::PileNer, Template::SamArchetype, Template::SamCalibrate];

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Template::B2ner => "b2ner",
            Template::Iepile => "iepile",
            Template::PileNer => "pile-ner",
            Template::SamArchetype => "sam-archetype",
            Template::SamCalibrate => "sam-calibrate",
        }
    }

    /// The answer format used when `--answer-format` is not given.
    pub fn default_format(self) -> AnswerFormat {
        match self {
            Template::Iepile => AnswerFormat::Iepile,
            Template::PileNer => AnswerFormat::PileNer,
            Template::B2ner | Template::SamArchetype | Template::SamCalibrate => AnswerFormat::B2ner,
        }
    }

    /// The answer formats the template can ask for.
    pub fn formats(self) -> &'static [AnswerFormat] {
        const FREE: [AnswerFormat; 6] = [
            AnswerFormat::B2ner,
            AnswerFormat::InlineBracket,
            AnswerFormat::InlineXml,
            AnswerFormat::JsonGrouped,
            AnswerFormat::JsonOccurrence,
            AnswerFormat::JsonOffset,
        ];
        match self {
            Template::Iepile => &[AnswerFormat::Iepile],
            Template::PileNer => &[AnswerFormat::PileNer],
            Template::B2ner | Template::SamArchetype | Template::SamCalibrate => &FREE,
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Template {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Template::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown template `{s}`; expected one of {}", names.join(", "))
        })
    }
}

/// The record layout (`--container`), as LLaMA-Factory names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// `instruction`, `input`, `output`, optional `system` and `history`.
    #[default]
    Alpaca,
    /// `conversations` of `{from, value}`, human and gpt alternating, optional `system`.
    Sharegpt,
}

impl FromStr for Container {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "alpaca" => Ok(Container::Alpaca),
            "sharegpt" => Ok(Container::Sharegpt),
            _ => Err(format!("unknown container `{s}`; expected alpaca or sharegpt")),
        }
    }
}

impl Container {
    /// The name LLaMA-Factory's `formatting` field uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Alpaca => "alpaca",
            Container::Sharegpt => "sharegpt",
        }
    }
}

/// Prompt language (`--lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LangChoice {
    /// English prompts.
    En,
    /// Chinese prompts (templates that have them: b2ner, iepile).
    Zh,
    /// Per sample, from its `lang` column (`zh…` → Chinese, else English).
    #[default]
    Auto,
}

impl FromStr for LangChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "en" => Ok(LangChoice::En),
            "zh" => Ok(LangChoice::Zh),
            "auto" => Ok(LangChoice::Auto),
            _ => Err(format!("unknown language `{s}`; expected en, zh or auto")),
        }
    }
}

/// Which negative labels (asked, with an empty answer) `--negatives` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NegativeMode {
    /// Every label of the dataset's label pool.
    All,
    /// None: only the labels the sample has entities of.
    None,
}

impl FromStr for NegativeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(NegativeMode::All),
            "none" => Ok(NegativeMode::None),
            _ => Err(format!("unknown negatives `{s}`; expected all or none (or give --neg-ratio)")),
        }
    }
}

/// The checked negative policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Negatives {
    /// Every label of the dataset's pool.
    All,
    /// No negatives.
    None,
    /// A seeded count drawn like IEPile: Binomial(pool size, p), at least one when the sample
    /// has no entity.
    Ratio(f64),
}

/// Emit parameters, as flags (`nerprep emit`) and as a recipe's `emit` section.
/// [`StageParams::check`] turns them into [`ValidEmitParams`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct EmitParams {
    /// Instruction style: b2ner, iepile, pile-ner, sam-archetype, sam-calibrate (required).
    #[arg(long, short, required = true)]
    pub template: Option<Template>,
    /// Answer format; default: the template's own (b2ner for b2ner and sam-*).
    #[arg(long)]
    pub answer_format: Option<AnswerFormat>,
    /// Record layout: alpaca or sharegpt.
    #[arg(long, default_value = "alpaca")]
    pub container: Container,
    /// Prompt language: en, zh, or auto (per sample, from its lang column).
    #[arg(long, default_value = "auto")]
    pub lang: LangChoice,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// b2ner: ask the sample's labels plus a random number of other labels of the dataset,
    /// shuffled, instead of the dataset's whole label set.
    #[arg(long)]
    pub dynamic_label_set: bool,
    /// b2ner: largest dynamic label set (default 20; labels present are always asked).
    #[arg(long)]
    pub max_labels: Option<usize>,
    /// b2ner: drop each label from instruction and answer with this probability (keeps one).
    #[arg(long, default_value_t = 0.0)]
    pub label_dropout: f64,
    /// b2ner, sam-calibrate: label descriptions, a mapping (mappings/*.yaml) or a JSON/YAML
    /// object label → description.
    #[arg(long)]
    pub label_descriptions: Option<PathBuf>,
    /// iepile: labels per record (default 6); a tail shorter than half joins the last
    /// record; 0 = never split.
    #[arg(long)]
    pub split_num: Option<usize>,
    /// iepile, pile-ner: negatives to ask: all (every label of the dataset) or none.
    #[arg(long)]
    pub negatives: Option<NegativeMode>,
    /// iepile, pile-ner: ask a seeded Binomial(pool size, P) count of negatives (at least one
    /// when the sample has none); pile-ner draws them by frequency from all types.
    #[arg(long)]
    pub neg_ratio: Option<f64>,
    /// iepile: JSON/YAML object of confusable labels per label (flat, or per dataset),
    /// always asked next to the label.
    #[arg(long)]
    pub hard_negatives: Option<PathBuf>,
    /// sam-*: the archetypes file (taxonomy/archetypes.yaml).
    #[arg(long)]
    pub archetypes: Option<PathBuf>,
    /// A system prompt for every record.
    #[arg(long)]
    pub system: Option<String>,
    /// Dataset name in dataset_info.json; default: the output file stem.
    #[arg(long)]
    pub dataset_name: Option<String>,
}

impl EmitParams {
    /// Default options for `template`.
    pub fn new(template: Template) -> EmitParams {
        EmitParams { template: Some(template), ..EmitParams::default() }
    }

    /// Checks the parameters and loads the files they name: the config the stage runs on.
    pub fn load(&self) -> Result<EmitConfig, EmitError> {
        self.check()?.load()
    }

    /// The problems of flags given for templates they do not apply to.
    fn check_template_flags(&self, t: Template, c: &mut Checker) {
        let b2ner_only = [
            ("dynamic_label_set", self.dynamic_label_set),
            ("max_labels", self.max_labels.is_some()),
            ("label_dropout", self.label_dropout != 0.0),
        ];
        let iepile_only = [("split_num", self.split_num.is_some()), ("hard_negatives", self.hard_negatives.is_some())];
        let negative_flags = [("negatives", self.negatives.is_some()), ("neg_ratio", self.neg_ratio.is_some())];
        for (field, given) in b2ner_only {
            c.require(!given || t == Template::B2ner, field, "applies to template b2ner only");
        }
        for (field, given) in iepile_only {
            c.require(!given || t == Template::Iepile, field, "applies to template iepile only");
        }
        for (field, given) in negative_flags {
            c.require(!given || matches!(t, Template::Iepile | Template::PileNer), field, "applies to templates iepile and pile-ner only");
        }
        let sam = matches!(t, Template::SamArchetype | Template::SamCalibrate);
        c.require(!sam || self.archetypes.is_some(), "archetypes", format!("is required by template {t} (taxonomy/archetypes.yaml)"));
        c.require(self.archetypes.is_none() || sam, "archetypes", "applies to templates sam-archetype and sam-calibrate only");
        c.require(
            self.label_descriptions.is_none() || matches!(t, Template::B2ner | Template::SamCalibrate),
            "label_descriptions",
            "applies to templates b2ner and sam-calibrate only",
        );
        c.require(
            !(self.lang == LangChoice::Zh && matches!(t, Template::PileNer | Template::SamArchetype | Template::SamCalibrate)),
            "lang",
            format!("zh is not available: template {t} has English prompts only; use en or auto"),
        );
    }

    /// The problems of values out of range or contradicting each other.
    fn check_values(&self, c: &mut Checker) {
        c.require(self.max_labels.is_none() || self.dynamic_label_set, "max_labels", "needs dynamic_label_set");
        c.require(self.max_labels != Some(0), "max_labels", "must be at least 1");
        c.require(
            (0.0..1.0).contains(&self.label_dropout),
            "label_dropout",
            format!("must be in [0, 1), got {}", self.label_dropout),
        );
        if let Some(p) = self.neg_ratio {
            c.require((0.0..=1.0).contains(&p), "neg_ratio", format!("must be in [0, 1], got {p}"));
            c.require(self.negatives != Some(NegativeMode::None), "neg_ratio", "contradicts negatives: none");
        }
        c.require(!self.dataset_name.as_deref().is_some_and(|n| n.trim().is_empty()), "dataset_name", "must not be empty");
    }
}

impl StageParams for EmitParams {
    const STAGE: &'static str = "emit";
    type Valid = ValidEmitParams;

    fn check(&self) -> Result<ValidEmitParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        let Some(t) = self.template else {
            return Err(c.fail("template", "is required (b2ner, iepile, pile-ner, sam-archetype or sam-calibrate)"));
        };
        let format = self.answer_format.unwrap_or(t.default_format());
        if !t.formats().contains(&format) {
            let ok: Vec<_> = t.formats().iter().map(|f| f.as_str()).collect();
            c.problem("answer_format", format!("{format} is not available for template {t}; use one of {}", ok.join(", ")));
        }
        self.check_template_flags(t, &mut c);
        self.check_values(&mut c);
        c.finish()?;
        let negatives = match (self.neg_ratio, self.negatives) {
            (Some(p), _) => Negatives::Ratio(p),
            (None, Some(NegativeMode::None)) => Negatives::None,
            (None, _) => Negatives::All,
        };
        Ok(ValidEmitParams { params: self.clone(), template: t, format, negatives })
    }
}

/// Emit parameters that passed every check; [`ValidEmitParams::load`] reads the files
/// they name.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEmitParams {
    /// The parameters as given (for provenance, and the paths still to load).
    pub params: EmitParams,
    /// The instruction style.
    pub template: Template,
    /// The answer format (allowed for the template).
    pub format: AnswerFormat,
    /// The negative policy.
    pub negatives: Negatives,
}

impl ValidEmitParams {
    /// Loads the descriptions, hard negatives and archetypes the parameters name.
    pub fn load(self) -> Result<EmitConfig, EmitError> {
        let p = &self.params;
        let descriptions = match &p.label_descriptions {
            Some(path) => super::load_descriptions(path)?,
            None => BTreeMap::new(),
        };
        let hard_negatives = match &p.hard_negatives {
            Some(path) => HardNegatives::load(path)?,
            None => HardNegatives::default(),
        };
        let archetypes = match &p.archetypes {
            Some(path) => super::sam::load_archetypes(path)?,
            None => Vec::new(),
        };
        Ok(EmitConfig {
            template: self.template,
            format: self.format,
            container: p.container,
            lang: p.lang,
            seed: p.seed,
            max_labels: p.dynamic_label_set.then(|| p.max_labels.unwrap_or(DEFAULT_MAX_LABELS)),
            label_dropout: p.label_dropout,
            descriptions,
            split_num: match p.split_num.unwrap_or(DEFAULT_SPLIT_NUM) {
                0 => None,
                n => Some(n),
            },
            negatives: self.negatives,
            hard_negatives,
            archetypes,
            system: p.system.clone().filter(|s| !s.is_empty()),
            dataset_name: p.dataset_name.clone(),
            params: self.params,
        })
    }
}

/// IEPile's recommended number of NER types per instruction (its README).
pub const DEFAULT_SPLIT_NUM: usize = 6;
/// Size of a dynamic label set when `--max-labels` is not given.
pub const DEFAULT_MAX_LABELS: usize = 20;

/// Checked emit options with their files loaded: only this reaches the stage code.
#[derive(Debug, Clone)]
pub struct EmitConfig {
    /// The parameters it was made from (for provenance: the files' digests are recorded as
    /// inputs).
    pub params: EmitParams,
    /// The instruction style.
    pub template: Template,
    /// The answer format (allowed for the template).
    pub format: AnswerFormat,
    /// The record layout.
    pub container: Container,
    /// Prompt language.
    pub lang: LangChoice,
    /// Seed for every random choice.
    pub seed: u64,
    /// b2ner: `Some(max)` for a dynamic label set.
    pub max_labels: Option<usize>,
    /// b2ner: label dropout probability in `[0, 1)`.
    pub label_dropout: f64,
    /// Label descriptions (may be empty).
    pub descriptions: BTreeMap<String, String>,
    /// iepile: labels per record, `None` for no split.
    pub split_num: Option<usize>,
    /// iepile, pile-ner: the negative policy.
    pub negatives: Negatives,
    /// iepile: confusable labels per label.
    pub hard_negatives: HardNegatives,
    /// sam-*: the archetypes, in file order.
    pub archetypes: Vec<Archetype>,
    /// System prompt for every record.
    pub system: Option<String>,
    /// Dataset name for `dataset_info.json` (default: output stem).
    pub dataset_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(p: EmitParams) -> Vec<String> {
        match p.check() {
            Err(e) => e.problems.iter().map(|p| p.as_flag()).collect(),
            Ok(v) => panic!("expected params problems, got {v:?}"),
        }
    }

    #[test]
    fn defaults_check_and_follow_the_template() {
        let c = EmitParams::new(Template::Iepile).load().unwrap();
        assert_eq!((c.format, c.split_num, c.negatives), (AnswerFormat::Iepile, Some(6), Negatives::All));
        let c = EmitParams::new(Template::B2ner).load().unwrap();
        assert_eq!((c.format, c.max_labels), (AnswerFormat::B2ner, None));
        let mut p = EmitParams::new(Template::Iepile);
        p.split_num = Some(0);
        assert_eq!(p.load().unwrap().split_num, None);
    }

    #[test]
    fn template_is_required() {
        let found = problems(EmitParams::default());
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("--template is required"), "{found:?}");
    }

    #[test]
    fn answer_format_must_suit_the_template() {
        let mut p = EmitParams::new(Template::Iepile);
        p.answer_format = Some(AnswerFormat::InlineXml);
        assert!(problems(p)[0].contains("inline-xml is not available for template iepile"));
        let mut p = EmitParams::new(Template::B2ner);
        p.answer_format = Some(AnswerFormat::PileNer);
        assert!(problems(p)[0].contains("json-offset"));
    }

    #[test]
    fn template_specific_flags_are_refused_elsewhere_all_at_once() {
        let mut p = EmitParams::new(Template::PileNer);
        p.dynamic_label_set = true;
        p.split_num = Some(4);
        p.label_dropout = 1.5;
        let found = problems(p.clone());
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().any(|m| m == "--label-dropout applies to template b2ner only"));
        assert!(found.iter().any(|m| m == "--dynamic-label-set applies to template b2ner only"));
        assert!(found.iter().any(|m| m.starts_with("--split-num")));
        assert!(found.iter().any(|m| m == "--label-dropout must be in [0, 1), got 1.5"));
        let recipe: Vec<String> = p.check().unwrap_err().problems.iter().map(|p| p.to_string()).collect();
        assert!(recipe.contains(&"emit.label_dropout must be in [0, 1), got 1.5".to_string()), "{recipe:?}");
    }

    #[test]
    fn negative_options_are_checked() {
        let mut p = EmitParams::new(Template::Iepile);
        p.neg_ratio = Some(1.2);
        assert!(problems(p)[0].contains("--neg-ratio must be in [0, 1]"));
        let mut p = EmitParams::new(Template::Iepile);
        p.neg_ratio = Some(0.5);
        p.negatives = Some(NegativeMode::None);
        assert!(problems(p)[0].contains("contradicts"));
        let mut p = EmitParams::new(Template::PileNer);
        p.neg_ratio = Some(0.5);
        assert_eq!(p.load().unwrap().negatives, Negatives::Ratio(0.5));
        let mut p = EmitParams::new(Template::B2ner);
        p.negatives = Some(NegativeMode::All);
        assert!(problems(p)[0].contains("iepile and pile-ner only"));
    }

    #[test]
    fn max_labels_needs_a_dynamic_label_set_and_sam_needs_archetypes() {
        let mut p = EmitParams::new(Template::B2ner);
        p.max_labels = Some(0);
        let found = problems(p);
        assert!(found.iter().any(|m| m.contains("needs dynamic_label_set")));
        assert!(found.iter().any(|m| m.contains("at least 1")));
        assert!(problems(EmitParams::new(Template::SamArchetype))[0].starts_with("--archetypes is required"));
        let mut p = EmitParams::new(Template::PileNer);
        p.lang = LangChoice::Zh;
        assert!(problems(p)[0].contains("English prompts only"));
    }

    #[test]
    fn params_round_trip_through_yaml_and_name_bad_keys_with_lines() {
        let mut p = EmitParams::new(Template::B2ner);
        p.dynamic_label_set = true;
        p.label_dropout = 0.25;
        p.label_descriptions = Some(PathBuf::from("mappings/crossner.yaml"));
        let text = serde_norway::to_string(&p).unwrap();
        let (back, valid) = crate::params::from_yaml::<EmitParams>(&text, std::path::Path::new("e.yaml")).unwrap();
        assert_eq!(back, p);
        assert_eq!(valid.format, AnswerFormat::B2ner);
        let bad = "template: b2ner\nlabel_dropout: 1.5\ncontainer: jsonl\nseeds: 3\n";
        let err = crate::params::from_yaml::<EmitParams>(bad, std::path::Path::new("e.yaml")).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("e.yaml:3: emit.container is invalid"), "{shown}");
        assert!(shown.contains("e.yaml:4: emit.seeds is not a known key"), "{shown}");
    }
}
