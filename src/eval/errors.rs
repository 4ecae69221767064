//! The eight error types of the generative-NER assessment (seed 003, Table 6 and
//! Appendix C, after Xie et al. 2023), decided for one sample at a time.
//!
//! Every wrong prediction gets exactly one type, tried in this order:
//! 1. *OOD mention*: the mention does not occur in the input text (it could not be placed);
//! 2. same span as a gold entity but another label: *OOD type* when the label is not in the
//!    label set the model was given, else *wrong type*;
//! 3. boundary errors, whatever the label: *contains gold* (the prediction strictly encloses
//!    a gold span), else *contained by gold* (it lies strictly inside one), else *overlaps
//!    gold* (it shares code points with one);
//! 4. *completely-O*: it touches no gold span at all.
//!
//! A gold entity that was not predicted is an *omitted mention* only when no wrong
//! prediction touches its span: a gold entity predicted with the wrong label or boundary is
//! already accounted for by that prediction's error, and is not counted twice.

use super::{Placed, Predicted};
use crate::model::{Entity, Span};
use serde::Serialize;
use std::fmt;

/// One of the eight error types, in the paper's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// Correct span, label outside the given label set.
    OodType,
    /// Correct span, another label of the given label set.
    WrongType,
    /// The predicted span strictly encloses a gold span.
    ContainsGold,
    /// The predicted span lies strictly inside a gold span.
    ContainedByGold,
    /// The predicted span crosses a gold span without containing or being contained.
    OverlapsGold,
    /// The predicted span touches no gold span.
    CompletelyO,
    /// The predicted mention does not occur in the input text.
    OodMention,
    /// A gold entity that no prediction touches.
    OmittedMention,
}

impl ErrorType {
    /// Every type, in the paper's order (type, boundary, other errors).
    pub const ALL: [ErrorType; 8] = [
        ErrorType::OodType,
        ErrorType::WrongType,
        ErrorType::ContainsGold,
        ErrorType::ContainedByGold,
        ErrorType::OverlapsGold,
        ErrorType::CompletelyO,
        ErrorType::OodMention,
        ErrorType::OmittedMention,
    ];

    /// The machine-readable name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::OodType => "ood_type",
            ErrorType::WrongType => "wrong_type",
            ErrorType::ContainsGold => "contains_gold",
            ErrorType::ContainedByGold => "contained_by_gold",
            ErrorType::OverlapsGold => "overlaps_gold",
            ErrorType::CompletelyO => "completely_o",
            ErrorType::OodMention => "ood_mention",
            ErrorType::OmittedMention => "omitted_mention",
        }
    }

    /// The paper's name, for people.
    pub fn title(self) -> &'static str {
        match self {
            ErrorType::OodType => "OOD type",
            ErrorType::WrongType => "Wrong type",
            ErrorType::ContainsGold => "Contains gold",
            ErrorType::ContainedByGold => "Contained by gold",
            ErrorType::OverlapsGold => "Overlaps gold",
            ErrorType::CompletelyO => "Completely-O",
            ErrorType::OodMention => "OOD mention",
            ErrorType::OmittedMention => "Omitted mention",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One error found in a sample: the wrong prediction and/or the gold entity involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCase {
    /// Which of the eight types.
    pub kind: ErrorType,
    /// The wrong prediction (absent for omitted mentions).
    pub predicted: Option<Predicted>,
    /// The gold entity it concerns (absent for completely-O and OOD mentions).
    pub gold: Option<Entity>,
}

/// The type of one wrong prediction, with the gold entity that explains it (if any).
fn classify_prediction<'g>(pred: &Predicted, gold: &'g [Entity], in_label_set: bool) -> (ErrorType, Option<&'g Entity>) {
    let Placed::At(span) = pred.placed else {
        return (ErrorType::OodMention, None);
    };
    if let Some(g) = gold.iter().find(|g| g.span == span) {
        return (if in_label_set { ErrorType::WrongType } else { ErrorType::OodType }, Some(g));
    }
    let boundary: [(ErrorType, fn(Span, Span) -> bool); 3] = [
        (ErrorType::ContainsGold, |p, g| p.contains(g)),
        (ErrorType::ContainedByGold, |p, g| g.contains(p)),
        (ErrorType::OverlapsGold, |p, g| p.overlaps(g)),
    ];
    for (kind, relates) in boundary {
        if let Some(g) = gold.iter().find(|g| relates(span, g.span)) {
            return (kind, Some(g));
        }
    }
    (ErrorType::CompletelyO, None)
}

/// Classifies the wrong predictions and the omitted gold entities of one sample.
///
/// `wrong` are the predictions that matched no gold entity, `missed` the gold entities no
/// prediction matched; `label_set` is the set the model was asked for (`None` when unknown,
/// in which case no label counts as out of domain).
pub fn classify(
    gold: &[Entity],
    wrong: &[Predicted],
    missed: &[Entity],
    label_set: Option<&[String]>,
) -> Vec<ErrorCase> {
    let mut cases = Vec::with_capacity(wrong.len() + missed.len());
    for p in wrong {
        let in_set = label_set.is_none_or(|set| set.contains(&p.label));
        let (kind, g) = classify_prediction(p, gold, in_set);
        cases.push(ErrorCase { kind, predicted: Some(p.clone()), gold: g.cloned() });
    }
    for g in missed {
        let touched = wrong.iter().any(|p| matches!(p.placed, Placed::At(s) if s.overlaps(g.span) || s == g.span));
        if !touched {
            cases.push(ErrorCase { kind: ErrorType::OmittedMention, predicted: None, gold: Some(g.clone()) });
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    //! One minimal case per error type, on the paper's example sentence (Table 6):
    //! "[Inter]ORG will be without suspended [French]MISC defender [Joceyln Angloma]PER".
    use super::*;

    const TEXT: &str = "Inter will be without suspended French defender Joceyln Angloma";

    fn span_of(mention: &str) -> Span {
        let start = TEXT.find(mention).unwrap() as u32;
        Span::new(start, start + mention.len() as u32).unwrap()
    }

    fn gold() -> Vec<Entity> {
        ["Inter:ORG", "French:MISC", "Joceyln Angloma:PER"]
            .iter()
            .map(|s| {
                let (m, l) = s.split_once(':').unwrap();
                Entity::new(span_of(m), l, m)
            })
            .collect()
    }

    fn labels() -> Vec<String> {
        ["ORG", "PER", "LOC", "MISC"].map(String::from).to_vec()
    }

    fn pred(mention: &str, label: &str) -> Predicted {
        let placed = TEXT.find(mention).map_or(Placed::NotFound, |_| Placed::At(span_of(mention)));
        Predicted { label: label.into(), text: mention.into(), placed }
    }

    /// Classifies one wrong prediction against the gold of the example sentence.
    fn one(mention: &str, label: &str) -> ErrorCase {
        let g = gold();
        let labels = labels();
        let cases = classify(&g, &[pred(mention, label)], &[], Some(&labels));
        assert_eq!(cases.len(), 1);
        cases.into_iter().next().unwrap()
    }

    #[test]
    fn ood_type() {
        let c = one("Joceyln Angloma", "PLAYER");
        assert_eq!(c.kind, ErrorType::OodType);
        assert_eq!(c.gold.unwrap().label, "PER");
    }

    #[test]
    fn wrong_type() {
        let c = one("Inter", "LOC");
        assert_eq!(c.kind, ErrorType::WrongType);
        assert_eq!(c.gold.unwrap().text, "Inter");
    }

    #[test]
    fn contains_gold() {
        let c = one("defender Joceyln Angloma", "PER");
        assert_eq!(c.kind, ErrorType::ContainsGold);
        assert_eq!(c.gold.unwrap().text, "Joceyln Angloma");
    }

    #[test]
    fn contained_by_gold() {
        assert_eq!(one("Angloma", "PER").kind, ErrorType::ContainedByGold);
    }

    #[test]
    fn overlaps_gold() {
        let c = one("defender Joceyln", "PER");
        assert_eq!(c.kind, ErrorType::OverlapsGold);
        assert_eq!(c.gold.unwrap().text, "Joceyln Angloma");
    }

    #[test]
    fn completely_o() {
        let c = one("suspended", "MISC");
        assert_eq!(c.kind, ErrorType::CompletelyO);
        assert!(c.gold.is_none());
    }

    #[test]
    fn ood_mention() {
        let c = one("Milan", "ORG");
        assert_eq!(c.kind, ErrorType::OodMention);
        assert!(c.gold.is_none());
    }

    #[test]
    fn omitted_mention_only_when_untouched() {
        let g = gold();
        let labels = labels();
        let french = g[1].clone();
        // Nothing predicted near "French": omitted.
        let cases = classify(&g, &[], std::slice::from_ref(&french), Some(&labels));
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].kind, ErrorType::OmittedMention);
        // "French" predicted with the wrong label: one wrong-type error, not also an omission.
        let cases = classify(&g, &[pred("French", "LOC")], &[french], Some(&labels));
        assert_eq!(cases.iter().map(|c| c.kind).collect::<Vec<_>>(), [ErrorType::WrongType]);
    }

    #[test]
    fn unknown_label_set_never_says_ood_type() {
        let g = gold();
        let cases = classify(&g, &[pred("Inter", "TEAM")], &[], None);
        assert_eq!(cases[0].kind, ErrorType::WrongType);
    }

    #[test]
    fn names_are_stable() {
        let names: Vec<_> = ErrorType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), 8);
        assert_eq!(serde_json::to_string(&ErrorType::CompletelyO).unwrap(), "\"completely_o\"");
    }
}
