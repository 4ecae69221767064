//! Pile-NER / UniversalNER conversations: the fixed turns and the per-type answers.
//!
//! A conversation opens with `Text: <passage>` and the fixed acknowledgement, then asks one
//! question per type (`What describes <type> in the text?`), each answered by a JSON list
//! of mentions serialised as a string, a mention repeated once per occurrence. Answers are
//! written like the originals: Python's `json.dumps` with `ensure_ascii=True`.

use super::pyjson::{self, Ascii};
use super::{AnswerFormat, ParseError, Prediction};
use crate::model::Entity;
use serde_json::Value;

/// Prefix of the first human turn.
pub const TEXT_PREFIX: &str = "Text: ";
/// The assistant's fixed reply to the passage.
pub const ACKNOWLEDGEMENT: &str = "I've read this text.";
const QUESTION_PREFIX: &str = "What describes ";
const QUESTION_SUFFIX: &str = " in the text?";

/// The question asking for `label`.
pub fn question(label: &str) -> String {
    format!("{QUESTION_PREFIX}{label}{QUESTION_SUFFIX}")
}

/// The label a question asks for, if it has the Pile-NER shape.
pub fn label_of_question(question: &str) -> Option<&str> {
    question.strip_prefix(QUESTION_PREFIX)?.strip_suffix(QUESTION_SUFFIX).filter(|l| !l.is_empty())
}

/// The mentions of `label` (entities already in text order), one per occurrence.
pub(super) fn render(label: &str, entities: &[&Entity]) -> String {
    let mentions: Vec<&str> = entities.iter().filter(|e| e.label == label).map(|e| e.text.as_str()).collect();
    pyjson::to_string(&mentions, Ascii::Escaped)
}

/// A JSON list of mention strings, all of `label`.
pub(super) fn parse(label: &str, answer: &str) -> Result<Vec<Prediction>, ParseError> {
    let format = AnswerFormat::PileNer;
    let value: Value =
        serde_json::from_str(answer.trim()).map_err(|e| ParseError::Json { format, message: e.to_string() })?;
    let Value::Array(items) = value else {
        return Err(ParseError::Shape { format, expected: "a JSON list of mentions".into(), found: value.to_string() });
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(mention) => Ok(Prediction { label: label.to_string(), mention, span: None }),
            other => Err(ParseError::Shape { format, expected: "mention strings".into(), found: other.to_string() }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_round_trip() {
        assert_eq!(question("astronomical object"), "What describes astronomical object in the text?");
        assert_eq!(label_of_question(&question("Restaurant Name")), Some("Restaurant Name"));
        assert_eq!(label_of_question("What describes  in the text?"), None);
        assert_eq!(label_of_question("Who is it?"), None);
    }

    #[test]
    fn reads_real_answers() {
        // Answers from UniversalNER's CrossNER_science eval file.
        let got = parse("chemical compound", r#"["\u03b1-olefins", "1-Butene", "1-Hexene"]"#).unwrap();
        assert_eq!(got[0].mention, "α-olefins");
        assert_eq!(parse("x", "[]").unwrap(), vec![]);
        assert!(parse("x", r#"{"x": []}"#).is_err());
        assert!(parse("x", "['a']").is_err(), "Python repr is for the repair layer, not this parser");
    }
}
