//! `EvalParams`: the recipe section `eval` and the flags of `nerprep eval`, checked into
//! [`EvalOptions`], the only form [`super::evaluate`] takes.

use super::bootstrap::Bootstrap;
use super::published::{Published, ScorerChoice};
use crate::align::AlignOptions;
use crate::answer::AnswerFormat;
use crate::params::{Checker, ParamsError, StageParams};

/// Bootstrap resamples when none are given (issue 19).
pub const DEFAULT_RESAMPLES: usize = 1000;

/// Parameters of `eval` (flags and the recipe's `eval` section).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct EvalParams {
    /// The answers' format: b2ner, iepile, pile-ner, inline-bracket, inline-xml,
    /// json-grouped, json-occurrence, json-offset (required).
    #[arg(long, required = true)]
    pub answer_format: Option<AnswerFormat>,
    /// Scorers reported: strict (span+type), uniner (UniversalNER's evaluate.py; pile-ner
    /// answers), b2ner (B2NER's EvaluatorNER; b2ner answers), or all (strict and the
    /// published scorer of the answer format, side by side).
    #[arg(long, value_enum, default_value_t = ScorerChoice::Strict)]
    pub scorer: ScorerChoice,
    /// Bootstrap resamples (samples resampled) for a 95% interval on every micro and macro
    /// F1 and for the paired test of two --pred files; 0: no intervals.
    #[arg(long, default_value_t = DEFAULT_RESAMPLES)]
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl Default for EvalParams {
    fn default() -> Self {
        EvalParams { answer_format: None, scorer: ScorerChoice::Strict, bootstrap: DEFAULT_RESAMPLES, seed: 0 }
    }
}

impl EvalParams {
    /// The parameters for `format`, everything else at its default.
    pub fn for_format(format: AnswerFormat) -> EvalParams {
        EvalParams { answer_format: Some(format), ..EvalParams::default() }
    }
}

/// The published scorers `choice` asks for with answers in `format`; an error message when
/// a scorer cannot read that format.
fn published_scorers(choice: ScorerChoice, format: AnswerFormat) -> Result<Vec<Published>, String> {
    let named = match choice {
        ScorerChoice::Strict => return Ok(Vec::new()),
        ScorerChoice::All => return Ok(Published::for_format(format).into_iter().collect()),
        ScorerChoice::Uniner => Published::Uniner,
        ScorerChoice::B2ner => Published::B2ner,
    };
    if named.answer_format() == format {
        Ok(vec![named])
    } else {
        Err(format!(
            "{} reads {} answers, as its paper's script does; the answer_format is {format} (use strict or all)",
            named.as_str(),
            named.answer_format()
        ))
    }
}

impl StageParams for EvalParams {
    const STAGE: &'static str = "eval";
    type Valid = EvalOptions;

    fn check(&self) -> Result<EvalOptions, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        let Some(format) = self.answer_format else {
            return Err(c.fail("answer_format", "is required (the format the predictions answer in)"));
        };
        let published = published_scorers(self.scorer, format).unwrap_or_else(|message| {
            c.problem("scorer", message);
            Vec::new()
        });
        c.finish()?;
        let bootstrap = (self.bootstrap > 0).then_some(Bootstrap { resamples: self.bootstrap, seed: self.seed });
        Ok(EvalOptions { format, align: AlignOptions::default(), published, bootstrap, params: self.clone() })
    }
}

/// Checked options of [`super::evaluate`].
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The answer format of the predictions.
    pub format: AnswerFormat,
    /// How mention-only predictions are placed (the readers' defaults).
    pub align: AlignOptions,
    /// The published scorers run beside the strict one.
    pub published: Vec<Published>,
    /// The bootstrap, unless `--bootstrap 0`.
    pub bootstrap: Option<Bootstrap>,
    /// The parameters as given (for provenance).
    pub params: EvalParams,
}

impl EvalOptions {
    /// Options for `format` with every default (strict scorer, 1,000 resamples, seed 0).
    pub fn new(format: AnswerFormat) -> EvalOptions {
        EvalParams::for_format(format).check().expect("the defaults pass the checks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_format_is_required() {
        let err = EvalParams::default().check().unwrap_err();
        assert_eq!(err.to_string(), "eval.answer_format is required (the format the predictions answer in)");
    }

    #[test]
    fn a_published_scorer_needs_its_answer_format() {
        let p = EvalParams { scorer: ScorerChoice::Uniner, ..EvalParams::for_format(AnswerFormat::B2ner) };
        let err = p.check().unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].field, "scorer");
        assert!(err.to_string().contains("uniner reads pile-ner answers"), "{err}");
        let p = EvalParams { scorer: ScorerChoice::B2ner, ..EvalParams::for_format(AnswerFormat::PileNer) };
        assert!(p.check().unwrap_err().as_flags().starts_with("--scorer b2ner reads b2ner answers"));
    }

    #[test]
    fn all_adds_the_scorer_of_the_answer_format_when_there_is_one() {
        let all = |format| EvalParams { scorer: ScorerChoice::All, ..EvalParams::for_format(format) }.check().unwrap().published;
        assert_eq!(all(AnswerFormat::PileNer), vec![Published::Uniner]);
        assert_eq!(all(AnswerFormat::B2ner), vec![Published::B2ner]);
        assert_eq!(all(AnswerFormat::JsonOffset), vec![]);
    }

    #[test]
    fn bootstrap_zero_turns_intervals_off() {
        assert_eq!(EvalOptions::new(AnswerFormat::Iepile).bootstrap, Some(Bootstrap { resamples: 1000, seed: 0 }));
        let p = EvalParams { bootstrap: 0, ..EvalParams::for_format(AnswerFormat::Iepile) };
        assert_eq!(p.check().unwrap().bootstrap, None);
    }
}
