//! Answer formats: the one place that writes a sample's entities as the answer a model is
//! trained to give, and reads such an answer back into predicted entities.
//!
//! `emit` renders answers with [`render`]; `eval` parses model outputs with [`parse`] (behind
//! its own repair layer for what LLMs really print). Both sides share this code, so every
//! emitted answer parses back to exactly the entities it came from (checked by
//! [`round_trips`] for every record `emit` writes).
//!
//! Data enters as a sample's text, the label set the instruction asks for and the entities
//! ([`crate::model::Entity`]); it leaves as a string, and comes back as [`Prediction`]s.
//!
//! | format | answer | spans |
//! |---|---|---|
//! | `b2ner` | `label: mention; label: mention`, `None` when empty | no |
//! | `iepile` | JSON object, every asked label a key (in order), distinct mentions | no |
//! | `pile-ner` | JSON list of the mentions of the one asked label, one per occurrence | no |
//! | `inline-bracket` | the text with `[mention LABEL]` inserted | yes |
//! | `inline-xml` | the text with `<LABEL>mention</LABEL>` inserted | yes |
//! | `json-grouped` | JSON object label → mentions, one per occurrence | no |
//! | `json-occurrence` | JSON list of `{text, label, occurrence_index}` (1-based) | yes, resolved in the text |
//! | `json-offset` | JSON list of `{text, label, start, end}` (code points, end exclusive) | yes |
//!
//! Parsing here is strict: an answer that does not have the format's shape is a
//! [`ParseError`] saying what was expected. Formats whose markup can collide with the text or
//! with labels (`b2ner` separators, brackets inside the text) are parsed with the asked label
//! set as a guide, so labels with spaces (`date or period`) or `->` parse back.

mod b2ner;
mod inline;
pub mod iepile;
mod json;
pub mod pile_ner;
pub mod pyjson;
pub mod repair;

use crate::model::{CharIndex, Entity, Span};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An answer format (`--answer-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerFormat {
    /// B2NER: `label: mention; label: mention`, `None` when there is nothing.
    B2ner,
    /// IEPile: a JSON object with every asked label as a key, in the asked order.
    Iepile,
    /// Pile-NER / UniversalNER: a JSON list of mentions answering one type question.
    PileNer,
    /// Seed 003 inline bracketed: `[PU.1 PROTEIN]`.
    InlineBracket,
    /// Seed 003 inline XML: `<PROTEIN>PU.1</PROTEIN>`.
    InlineXml,
    /// Seed 003 category-grouped JSON: `{"PROTEIN": ["PU.1", "PU.1"], "DNA": []}`.
    JsonGrouped,
    /// Seed 003 occurrence-based JSON: `[{"text", "label", "occurrence_index"}]`.
    JsonOccurrence,
    /// Seed 003 offset-based JSON: `[{"text", "label", "start", "end"}]`.
    JsonOffset,
}

/// What an answer format keeps of the entities it writes, which decides how a parsed
/// answer is compared with the entities it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fidelity {
    /// Label and exact span of every entity.
    Spans,
    /// Label and mention of every entity (a mention twice in the text is listed twice).
    Occurrences,
    /// Distinct (label, mention) pairs only (IEPile de-duplicates per record).
    Distinct,
}

impl AnswerFormat {
    /// Every format, in documentation order.
    pub const ALL: [AnswerFormat; 8] = [
        AnswerFormat::B2ner,
        AnswerFormat::Iepile,
        AnswerFormat::PileNer,
        AnswerFormat::InlineBracket,
        AnswerFormat::InlineXml,
        AnswerFormat::JsonGrouped,
        AnswerFormat::JsonOccurrence,
        AnswerFormat::JsonOffset,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerFormat::B2ner => "b2ner",
            AnswerFormat::Iepile => "iepile",
            AnswerFormat::PileNer => "pile-ner",
            AnswerFormat::InlineBracket => "inline-bracket",
            AnswerFormat::InlineXml => "inline-xml",
            AnswerFormat::JsonGrouped => "json-grouped",
            AnswerFormat::JsonOccurrence => "json-occurrence",
            AnswerFormat::JsonOffset => "json-offset",
        }
    }

    /// What the format keeps of the entities.
    pub fn fidelity(self) -> Fidelity {
        match self {
            AnswerFormat::InlineBracket
            | AnswerFormat::InlineXml
            | AnswerFormat::JsonOccurrence
            | AnswerFormat::JsonOffset => Fidelity::Spans,
            AnswerFormat::B2ner | AnswerFormat::PileNer | AnswerFormat::JsonGrouped => Fidelity::Occurrences,
            AnswerFormat::Iepile => Fidelity::Distinct,
        }
    }
}

impl fmt::Display for AnswerFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnswerFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AnswerFormat::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = AnswerFormat::ALL.iter().map(|f| f.as_str()).collect();
            format!("unknown answer format `{s}`; expected one of {}", names.join(", "))
        })
    }
}

/// One entity read from an answer: the label and mention as written, and the span when the
/// format determines it. Mention-only formats give `span: None`; `eval` places those with the
/// same aligner as the readers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Prediction {
    /// The label as the answer spells it (may be outside the asked label set).
    pub label: String,
    /// The mention as the answer spells it.
    pub mention: String,
    /// Code-point span in the text, when the format fixes it. For `json-occurrence`, `None`
    /// when the text has fewer occurrences of the mention than the index says.
    pub span: Option<Span>,
}

impl Prediction {
    /// The prediction a perfect model would give for `entity` (span included).
    pub fn of(entity: &Entity) -> Prediction {
        Prediction { label: entity.label.clone(), mention: entity.text.clone(), span: Some(entity.span) }
    }
}

/// What an answer is about: the sample text and the labels the instruction asks for, in
/// the order the instruction lists them.
#[derive(Debug, Clone, Copy)]
pub struct AnswerContext<'a> {
    /// The sample text (inline formats reproduce it; `json-occurrence` counts in it).
    pub text: &'a str,
    /// The asked labels, in instruction order (JSON object keys follow it; parsers use it
    /// to split `b2ner` items and find inline labels that contain spaces or markup).
    pub labels: &'a [String],
}

/// An entity set that an answer format cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Inline formats need spans that nest; these two cross.
    #[error("{format}: spans {a} and {b} cross, so they cannot be written inline")]
    CrossingSpans {
        /// The format.
        format: AnswerFormat,
        /// The earlier span.
        a: Span,
        /// The span that starts inside `a` and ends after it.
        b: Span,
    },
    /// An empty span has no mention to write.
    #[error("{format}: entity {label:?} has an empty span {span}")]
    EmptySpan {
        /// The format.
        format: AnswerFormat,
        /// The entity's label.
        label: String,
        /// The empty span.
        span: Span,
    },
    /// A span runs past the end of the text.
    #[error("{format}: span {span} is outside the text")]
    OutsideText {
        /// The format.
        format: AnswerFormat,
        /// The span.
        span: Span,
    },
    /// An entity's label is not among the asked labels: the answer would contradict the
    /// instruction.
    #[error("{format}: entity label {label:?} is not among the asked labels")]
    LabelNotAsked {
        /// The format.
        format: AnswerFormat,
        /// The label.
        label: String,
    },
    /// The format answers one question about one label; the context asked for another count.
    #[error("{format}: answers one label at a time, but {count} labels were asked")]
    OneLabel {
        /// The format.
        format: AnswerFormat,
        /// How many labels the context held.
        count: usize,
    },
}

/// An answer that does not have its format's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The answer should be JSON and is not.
    #[error("{format}: expected JSON: {message}")]
    Json {
        /// The format.
        format: AnswerFormat,
        /// What the JSON parser said (with line and column).
        message: String,
    },
    /// The JSON is valid but not shaped as the format requires.
    #[error("{format}: expected {expected}, found {found}")]
    Shape {
        /// The format.
        format: AnswerFormat,
        /// What was expected.
        expected: String,
        /// What was there.
        found: String,
    },
    /// A textual answer breaks its grammar at a position (code points into the answer).
    #[error("{format}: at answer character {at}: expected {expected}, found {found:?}")]
    Syntax {
        /// The format.
        format: AnswerFormat,
        /// Code-point offset in the answer.
        at: usize,
        /// What was expected there.
        expected: String,
        /// A few characters of what was there.
        found: String,
    },
    /// The answer nests brackets deeper than any real answer does (runaway generation); it
    /// is not repaired, so its cost stays linear in its length.
    #[error("{format}: brackets nested {depth} deep (at most {max} are read)")]
    TooDeep {
        /// The format.
        format: AnswerFormat,
        /// How deep the answer nests (counting stops just past the limit).
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// The format answers one label per question, but the context does not say which.
    #[error("{format}: expected exactly one asked label, got {count}")]
    OneLabel {
        /// The format.
        format: AnswerFormat,
        /// How many labels the context held.
        count: usize,
    },
}

/// Writes `entities` as an answer in `format`.
///
/// Every entity label must be among `ctx.labels`. Entities are written in text order
/// (start, then longer first); `pile-ner` needs exactly one asked label and writes the
/// mentions of that label.
///
/// # Example
/// ```
/// use nerprep::answer::{parse, render, AnswerContext, AnswerFormat};
/// use nerprep::model::{Entity, Span};
/// let text = "Barak met Peres";
/// let labels = vec!["person".to_string()];
/// let ents = vec![
///     Entity::new(Span::new(0, 5).unwrap(), "person", "Barak"),
///     Entity::new(Span::new(10, 15).unwrap(), "person", "Peres"),
/// ];
/// let ctx = AnswerContext { text, labels: &labels };
/// let answer = render(AnswerFormat::InlineBracket, ctx, &ents).unwrap();
/// assert_eq!(answer, "[Barak person] met [Peres person]");
/// assert_eq!(parse(AnswerFormat::InlineBracket, ctx, &answer).unwrap()[1].mention, "Peres");
/// assert_eq!(render(AnswerFormat::B2ner, ctx, &ents).unwrap(), "person: Barak; person: Peres");
/// ```
pub fn render(format: AnswerFormat, ctx: AnswerContext<'_>, entities: &[Entity]) -> Result<String, RenderError> {
    let index = CharIndex::new(ctx.text);
    for e in entities {
        if !ctx.labels.contains(&e.label) {
            return Err(RenderError::LabelNotAsked { format, label: e.label.clone() });
        }
        if index.byte_range(e.span).is_none() {
            return Err(RenderError::OutsideText { format, span: e.span });
        }
        if e.span.is_empty() {
            return Err(RenderError::EmptySpan { format, label: e.label.clone(), span: e.span });
        }
    }
    let sorted = text_order(entities);
    match format {
        AnswerFormat::B2ner => Ok(b2ner::render(&sorted)),
        AnswerFormat::Iepile => Ok(json::render_grouped(ctx.labels, &sorted, true)),
        AnswerFormat::JsonGrouped => Ok(json::render_grouped(ctx.labels, &sorted, false)),
        AnswerFormat::PileNer => match ctx.labels {
            [label] => Ok(pile_ner::render(label, &sorted)),
            _ => Err(RenderError::OneLabel { format, count: ctx.labels.len() }),
        },
        AnswerFormat::InlineBracket | AnswerFormat::InlineXml => inline::render(format, ctx.text, &index, &sorted),
        AnswerFormat::JsonOccurrence => Ok(json::render_occurrence(ctx.text, &index, &sorted)),
        AnswerFormat::JsonOffset => Ok(json::render_offset(&sorted)),
    }
}

/// Reads an answer in `format` back into predictions, in the order the answer gives them.
///
/// `ctx.text` is needed by the inline formats (the answer must reproduce it once the markup
/// is removed) and `json-occurrence` (to resolve occurrence indices); `ctx.labels` guides
/// `b2ner` and the inline formats, and names the label a `pile-ner` answer is about. Labels
/// outside `ctx.labels` are accepted where the grammar allows and returned as written.
pub fn parse(format: AnswerFormat, ctx: AnswerContext<'_>, answer: &str) -> Result<Vec<Prediction>, ParseError> {
    match format {
        AnswerFormat::B2ner => b2ner::parse(ctx.labels, answer),
        AnswerFormat::Iepile | AnswerFormat::JsonGrouped => json::parse_grouped(format, answer),
        AnswerFormat::PileNer => match ctx.labels {
            [label] => pile_ner::parse(label, answer),
            _ => Err(ParseError::OneLabel { format, count: ctx.labels.len() }),
        },
        AnswerFormat::InlineBracket | AnswerFormat::InlineXml => inline::parse(format, ctx, answer),
        AnswerFormat::JsonOccurrence => json::parse_occurrence(ctx.text, answer),
        AnswerFormat::JsonOffset => json::parse_offset(answer),
    }
}

/// The entities in text order: by start, longer first, then as given (stable).
fn text_order(entities: &[Entity]) -> Vec<&Entity> {
    let mut sorted: Vec<&Entity> = entities.iter().collect();
    sorted.sort_by_key(|e| (e.span.start(), std::cmp::Reverse(e.span.end())));
    sorted
}

/// A comparable form of predictions under a format's [`Fidelity`]: sorted
/// `(label, mention, span)` triples, spans dropped for mention-only formats and duplicates
/// dropped for `iepile`.
pub fn canonical(format: AnswerFormat, predictions: impl IntoIterator<Item = Prediction>) -> Vec<Prediction> {
    let fidelity = format.fidelity();
    let mut out: Vec<Prediction> = predictions
        .into_iter()
        .map(|mut p| {
            if fidelity != Fidelity::Spans {
                p.span = None;
            }
            p
        })
        .collect();
    out.sort();
    if fidelity == Fidelity::Distinct {
        out.dedup();
    }
    out
}

/// True when `answer` parses back to exactly `entities` under `format`'s fidelity: the check
/// `emit` runs on every record before writing it.
pub fn round_trips(format: AnswerFormat, ctx: AnswerContext<'_>, entities: &[Entity], answer: &str) -> bool {
    match parse(format, ctx, answer) {
        Ok(parsed) => canonical(format, parsed) == canonical(format, entities.iter().map(Prediction::of)),
        Err(_) => false,
    }
}

/// The 1-based occurrence index of `span` among the occurrences of its text in `text`,
/// counting every start position (overlapping occurrences count).
pub fn occurrence_index(text: &str, index: &CharIndex, span: Span) -> Option<u32> {
    let range = index.byte_range(span)?;
    let mention = &text[range.clone()];
    let mut count = 0u32;
    let mut from = 0usize;
    while let Some(pos) = text[from..].find(mention).map(|p| p + from) {
        if pos > range.start {
            break;
        }
        count += 1;
        if pos == range.start {
            return Some(count);
        }
        from = pos + text[pos..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// The span of the `k`-th (1-based) occurrence of `mention` in `text`, counting every start
/// position; `None` when there are fewer occurrences or `mention` is empty.
pub fn nth_occurrence(text: &str, index: &CharIndex, mention: &str, k: u32) -> Option<Span> {
    if mention.is_empty() || k == 0 {
        return None;
    }
    let mut seen = 0u32;
    let mut from = 0usize;
    while let Some(pos) = text[from..].find(mention).map(|p| p + from) {
        seen += 1;
        if seen == k {
            let start = index.char_of_byte(pos)?;
            let end = index.char_of_byte(pos + mention.len())?;
            return Span::new(start, end).ok();
        }
        from = pos + text[pos..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// A few characters of `s` from byte `at`, for error messages.
fn snippet(s: &str, at: usize) -> String {
    let rest = s.get(at..).unwrap_or("");
    let mut out: String = rest.chars().take(24).collect();
    if rest.chars().nth(24).is_some() {
        out.push('…');
    }
    out
}

/// Code-point offset of byte `at` in `s`.
fn char_at(s: &str, at: usize) -> usize {
    s.get(..at).map_or(0, |p| p.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(text: &str, start: u32, end: u32, label: &str) -> Entity {
        let span = Span::new(start, end).unwrap();
        let mention = CharIndex::new(text).slice(text, span).unwrap().to_string();
        Entity::new(span, label, mention)
    }

    /// Seed 003 Table 1: the GENIA sentence with a nested PU.1 inside a DNA mention.
    const GENIA: &str =
        "This is the first demonstration of a specific interaction with PU.1 on a myeloid PU.1 binding site.";

    fn genia() -> (Vec<String>, Vec<Entity>) {
        let labels = ["DNA", "PROTEIN", "CELL_LINE", "CELL_TYPE", "RNA"].map(String::from).to_vec();
        let ents = vec![ent(GENIA, 63, 67, "PROTEIN"), ent(GENIA, 73, 98, "DNA"), ent(GENIA, 81, 85, "PROTEIN")];
        (labels, ents)
    }

    #[test]
    fn seed_003_examples_render_as_in_the_paper() {
        let (labels, ents) = genia();
        let ctx = AnswerContext { text: GENIA, labels: &labels };
        let r = |f| render(f, ctx, &ents).unwrap();
        assert!(r(AnswerFormat::InlineBracket).ends_with("with [PU.1 PROTEIN] on a [myeloid [PU.1 PROTEIN] binding site DNA]."));
        assert!(r(AnswerFormat::InlineXml)
            .ends_with("with <PROTEIN>PU.1</PROTEIN> on a <DNA>myeloid <PROTEIN>PU.1</PROTEIN> binding site</DNA>."));
        assert_eq!(
            r(AnswerFormat::JsonGrouped),
            r#"{"DNA": ["myeloid PU.1 binding site"], "PROTEIN": ["PU.1", "PU.1"], "CELL_LINE": [], "CELL_TYPE": [], "RNA": []}"#
        );
        assert_eq!(
            r(AnswerFormat::JsonOccurrence),
            r#"[{"text": "PU.1", "label": "PROTEIN", "occurrence_index": 1}, {"text": "myeloid PU.1 binding site", "label": "DNA", "occurrence_index": 1}, {"text": "PU.1", "label": "PROTEIN", "occurrence_index": 2}]"#
        );
        assert_eq!(
            r(AnswerFormat::JsonOffset),
            r#"[{"text": "PU.1", "label": "PROTEIN", "start": 63, "end": 67}, {"text": "myeloid PU.1 binding site", "label": "DNA", "start": 73, "end": 98}, {"text": "PU.1", "label": "PROTEIN", "start": 81, "end": 85}]"#
        );
        assert_eq!(r(AnswerFormat::B2ner), "PROTEIN: PU.1; DNA: myeloid PU.1 binding site; PROTEIN: PU.1");
        assert_eq!(
            r(AnswerFormat::Iepile),
            r#"{"DNA": ["myeloid PU.1 binding site"], "PROTEIN": ["PU.1"], "CELL_LINE": [], "CELL_TYPE": [], "RNA": []}"#
        );
    }

    #[test]
    fn every_format_round_trips_the_nested_example() {
        let (labels, ents) = genia();
        let ctx = AnswerContext { text: GENIA, labels: &labels };
        for format in AnswerFormat::ALL {
            if format == AnswerFormat::PileNer {
                continue;
            }
            let answer = render(format, ctx, &ents).unwrap();
            assert!(round_trips(format, ctx, &ents, &answer), "{format}: {answer}");
        }
    }

    #[test]
    fn empty_answers() {
        let labels = vec!["person".to_string()];
        let ctx = AnswerContext { text: "nothing here", labels: &labels };
        assert_eq!(render(AnswerFormat::B2ner, ctx, &[]).unwrap(), "None");
        assert_eq!(render(AnswerFormat::Iepile, ctx, &[]).unwrap(), r#"{"person": []}"#);
        assert_eq!(render(AnswerFormat::PileNer, ctx, &[]).unwrap(), "[]");
        assert_eq!(render(AnswerFormat::InlineXml, ctx, &[]).unwrap(), "nothing here");
        for format in AnswerFormat::ALL {
            let answer = render(format, ctx, &[]).unwrap();
            assert_eq!(parse(format, ctx, &answer).unwrap(), vec![], "{format}");
        }
    }

    #[test]
    fn render_refuses_what_it_cannot_write() {
        let text = "New York City Hall";
        let labels = vec!["a".to_string(), "b".to_string()];
        let ctx = AnswerContext { text, labels: &labels };
        let crossing = vec![ent(text, 0, 8, "a"), ent(text, 4, 13, "b")];
        assert!(matches!(render(AnswerFormat::InlineXml, ctx, &crossing), Err(RenderError::CrossingSpans { .. })));
        assert!(render(AnswerFormat::JsonOffset, ctx, &crossing).is_ok(), "offsets express crossing spans");
        let other = vec![ent(text, 0, 3, "c")];
        assert!(matches!(render(AnswerFormat::B2ner, ctx, &other), Err(RenderError::LabelNotAsked { .. })));
        let empty = vec![Entity::new(Span::new(2, 2).unwrap(), "a", "")];
        assert!(matches!(render(AnswerFormat::B2ner, ctx, &empty), Err(RenderError::EmptySpan { .. })));
        assert!(matches!(render(AnswerFormat::PileNer, ctx, &[]), Err(RenderError::OneLabel { count: 2, .. })));
    }

    #[test]
    fn occurrences_count_every_start_position() {
        let text = "aaa baa";
        let idx = CharIndex::new(text);
        assert_eq!(occurrence_index(text, &idx, Span::new(1, 3).unwrap()), Some(2));
        assert_eq!(occurrence_index(text, &idx, Span::new(5, 7).unwrap()), Some(3));
        assert_eq!(nth_occurrence(text, &idx, "aa", 3), Some(Span::new(5, 7).unwrap()));
        assert_eq!(nth_occurrence(text, &idx, "aa", 4), None);
        let zh = "青岛海牛队和青岛";
        let zi = CharIndex::new(zh);
        assert_eq!(nth_occurrence(zh, &zi, "青岛", 2), Some(Span::new(6, 8).unwrap()));
        assert_eq!(occurrence_index(zh, &zi, Span::new(6, 8).unwrap()), Some(2));
    }

    #[test]
    fn canonical_follows_fidelity() {
        let p = |m: &str, s: u32| Prediction { label: "x".into(), mention: m.into(), span: Some(Span::new(s, s + 1).unwrap()) };
        let preds = vec![p("a", 3), p("a", 0)];
        assert_eq!(canonical(AnswerFormat::JsonOffset, preds.clone()).len(), 2);
        assert_eq!(canonical(AnswerFormat::B2ner, preds.clone())[0].span, None);
        assert_eq!(canonical(AnswerFormat::B2ner, preds.clone()).len(), 2);
        assert_eq!(canonical(AnswerFormat::Iepile, preds).len(), 1);
    }

    #[test]
    fn names_round_trip() {
        for f in AnswerFormat::ALL {
            assert_eq!(f.as_str().parse::<AnswerFormat>().unwrap(), f);
        }
        assert!("xml".parse::<AnswerFormat>().unwrap_err().contains("inline-xml"));
    }
}
