//! Emit options: [`EmitParams`] as given on the command line (or in a recipe), checked once
//! into an [`EmitConfig`] that the stage code trusts. Every problem is reported at once.

use super::hard::HardNegatives;
use crate::taxonomy::Archetype;
use super::EmitError;
use crate::answer::AnswerFormat;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The instruction style (`--template`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// `instruction`, `input`, `output`, optional `system` and `history`.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LangChoice {
    /// English prompts.
    En,
    /// Chinese prompts (templates that have them: b2ner, iepile).
    Zh,
    /// Per sample, from its `lang` column (`zh…` → Chinese, else English).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Emit options as given; [`EmitParams::check`] turns them into an [`EmitConfig`].
#[derive(Debug, Clone)]
pub struct EmitParams {
    /// The instruction style.
    pub template: Template,
    /// The answer format; default: the template's own.
    pub answer_format: Option<AnswerFormat>,
    /// The record layout.
    pub container: Container,
    /// Prompt language.
    pub lang: LangChoice,
    /// Seed for every random choice.
    pub seed: u64,
    /// b2ner: sample the label set (present labels + random others up to `max_labels`, shuffled).
    pub dynamic_label_set: bool,
    /// b2ner: the size the dynamic label set grows to.
    pub max_labels: Option<usize>,
    /// b2ner: probability of dropping each label from instruction and answer.
    pub label_dropout: f64,
    /// A JSON or YAML object `label: description` (b2ner descriptions, sam-calibrate definitions).
    pub label_descriptions: Option<PathBuf>,
    /// iepile: labels per record; `0` keeps the whole schema in one record.
    pub split_num: Option<usize>,
    /// iepile, pile-ner: which negatives to ask.
    pub negatives: Option<NegativeMode>,
    /// iepile, pile-ner: seeded share of negatives instead of all of them.
    pub neg_ratio: Option<f64>,
    /// iepile: a JSON object of confusable labels per label (flat or per dataset).
    pub hard_negatives: Option<PathBuf>,
    /// sam-*: the archetype definitions (`taxonomy/archetypes.yaml`).
    pub archetypes: Option<PathBuf>,
    /// A system prompt added to every record.
    pub system: Option<String>,
    /// The dataset name in `dataset_info.json`; default: the output file stem.
    pub dataset_name: Option<String>,
}

impl EmitParams {
    /// Default options for `template`.
    pub fn new(template: Template) -> EmitParams {
        EmitParams {
            template,
            answer_format: None,
            container: Container::Alpaca,
            lang: LangChoice::Auto,
            seed: 0,
            dynamic_label_set: false,
            max_labels: None,
            label_dropout: 0.0,
            label_descriptions: None,
            split_num: None,
            negatives: None,
            neg_ratio: None,
            hard_negatives: None,
            archetypes: None,
            system: None,
            dataset_name: None,
        }
    }

    /// Checks every rule, reporting all violations together, then loads the files the
    /// options name.
    pub fn check(self) -> Result<EmitConfig, EmitError> {
        let t = self.template;
        let mut problems = Vec::new();
        let format = self.answer_format.unwrap_or(t.default_format());
        if !t.formats().contains(&format) {
            let ok: Vec<_> = t.formats().iter().map(|f| f.as_str()).collect();
            problems.push(format!("--template {t} cannot answer in {format}; use one of {}", ok.join(", ")));
        }
        let b2ner_only = [
            ("--dynamic-label-set", self.dynamic_label_set),
            ("--max-labels", self.max_labels.is_some()),
            ("--label-dropout", self.label_dropout != 0.0),
        ];
        let iepile_only = [("--split-num", self.split_num.is_some()), ("--hard-negatives", self.hard_negatives.is_some())];
        let negative_flags = [("--negatives", self.negatives.is_some()), ("--neg-ratio", self.neg_ratio.is_some())];
        for (flag, given) in b2ner_only {
            if given && t != Template::B2ner {
                problems.push(format!("{flag} applies to --template b2ner only"));
            }
        }
        for (flag, given) in iepile_only {
            if given && t != Template::Iepile {
                problems.push(format!("{flag} applies to --template iepile only"));
            }
        }
        for (flag, given) in negative_flags {
            if given && !matches!(t, Template::Iepile | Template::PileNer) {
                problems.push(format!("{flag} applies to --template iepile and pile-ner only"));
            }
        }
        if self.max_labels.is_some() && !self.dynamic_label_set {
            problems.push("--max-labels needs --dynamic-label-set".into());
        }
        if self.max_labels == Some(0) {
            problems.push("--max-labels must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.label_dropout) {
            problems.push(format!("--label-dropout must be in [0, 1), got {}", self.label_dropout));
        }
        if let Some(p) = self.neg_ratio {
            if !(0.0..=1.0).contains(&p) {
                problems.push(format!("--neg-ratio must be in [0, 1], got {p}"));
            }
            if self.negatives == Some(NegativeMode::None) {
                problems.push("--neg-ratio contradicts --negatives none".into());
            }
        }
        if self.lang == LangChoice::Zh && matches!(t, Template::PileNer | Template::SamArchetype | Template::SamCalibrate) {
            problems.push(format!("--template {t} has English prompts only; use --lang en or auto"));
        }
        let sam = matches!(t, Template::SamArchetype | Template::SamCalibrate);
        if sam && self.archetypes.is_none() {
            problems.push(format!("--template {t} needs --archetypes (taxonomy/archetypes.yaml)"));
        }
        if self.archetypes.is_some() && !sam {
            problems.push("--archetypes applies to --template sam-archetype and sam-calibrate only".into());
        }
        if self.label_descriptions.is_some() && !matches!(t, Template::B2ner | Template::SamCalibrate) {
            problems.push("--label-descriptions applies to --template b2ner and sam-calibrate only".into());
        }
        if self.dataset_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            problems.push("--dataset-name must not be empty".into());
        }
        if !problems.is_empty() {
            return Err(EmitError::Params { problems });
        }
        let negatives = match (self.neg_ratio, self.negatives) {
            (Some(p), _) => Negatives::Ratio(p),
            (None, Some(NegativeMode::None)) => Negatives::None,
            (None, _) => Negatives::All,
        };
        let descriptions = match &self.label_descriptions {
            Some(path) => super::load_descriptions(path)?,
            None => BTreeMap::new(),
        };
        let hard_negatives = match &self.hard_negatives {
            Some(path) => HardNegatives::load(path)?,
            None => HardNegatives::default(),
        };
        let archetypes = match &self.archetypes {
            Some(path) => super::sam::load_archetypes(path)?,
            None => Vec::new(),
        };
        Ok(EmitConfig {
            template: t,
            format,
            container: self.container,
            lang: self.lang,
            seed: self.seed,
            max_labels: self.dynamic_label_set.then(|| self.max_labels.unwrap_or(DEFAULT_MAX_LABELS)),
            label_dropout: self.label_dropout,
            descriptions,
            split_num: match self.split_num.unwrap_or(DEFAULT_SPLIT_NUM) {
                0 => None,
                n => Some(n),
            },
            negatives,
            hard_negatives,
            archetypes,
            system: self.system.filter(|s| !s.is_empty()),
            dataset_name: self.dataset_name,
        })
    }
}

/// IEPile's recommended number of NER types per instruction (its README).
pub const DEFAULT_SPLIT_NUM: usize = 6;
/// Size of a dynamic label set when `--max-labels` is not given.
pub const DEFAULT_MAX_LABELS: usize = 20;

/// Checked emit options: only this reaches the stage code.
#[derive(Debug, Clone)]
pub struct EmitConfig {
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
            Err(EmitError::Params { problems }) => problems,
            other => panic!("expected params problems, got {other:?}"),
        }
    }

    #[test]
    fn defaults_check_and_follow_the_template() {
        let c = EmitParams::new(Template::Iepile).check().unwrap();
        assert_eq!((c.format, c.split_num, c.negatives), (AnswerFormat::Iepile, Some(6), Negatives::All));
        let c = EmitParams::new(Template::B2ner).check().unwrap();
        assert_eq!((c.format, c.max_labels), (AnswerFormat::B2ner, None));
        let mut p = EmitParams::new(Template::Iepile);
        p.split_num = Some(0);
        assert_eq!(p.check().unwrap().split_num, None);
    }

    #[test]
    fn answer_format_must_suit_the_template() {
        let mut p = EmitParams::new(Template::Iepile);
        p.answer_format = Some(AnswerFormat::InlineXml);
        assert!(problems(p)[0].contains("cannot answer in inline-xml"));
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
        let found = problems(p);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().any(|m| m.contains("--label-dropout applies to --template b2ner")));
        assert!(found.iter().any(|m| m.contains("--dynamic-label-set applies to --template b2ner")));
        assert!(found.iter().any(|m| m.contains("--split-num")));
        assert!(found.iter().any(|m| m.contains("[0, 1)")));
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
        assert_eq!(p.check().unwrap().negatives, Negatives::Ratio(0.5));
        let mut p = EmitParams::new(Template::B2ner);
        p.negatives = Some(NegativeMode::All);
        assert!(problems(p)[0].contains("iepile and pile-ner only"));
    }

    #[test]
    fn max_labels_needs_a_dynamic_label_set_and_sam_needs_archetypes() {
        let mut p = EmitParams::new(Template::B2ner);
        p.max_labels = Some(0);
        let found = problems(p);
        assert!(found.iter().any(|m| m.contains("needs --dynamic-label-set")));
        assert!(found.iter().any(|m| m.contains("at least 1")));
        assert!(problems(EmitParams::new(Template::SamArchetype))[0].contains("--archetypes"));
        let mut p = EmitParams::new(Template::PileNer);
        p.lang = LangChoice::Zh;
        assert!(problems(p)[0].contains("English prompts only"));
    }
}
