//! The JSON answer formats: label-grouped objects (`iepile`, `json-grouped`) and entity lists
//! (`json-occurrence`, `json-offset`), written with Python's separators like the originals.

use super::pyjson::{self, Ascii};
use super::{nth_occurrence, occurrence_index, AnswerFormat, ParseError, Prediction};
use crate::model::{CharIndex, Entity, Span};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::fmt;

/// A label-grouped object: every asked label a key in order, its mentions in text order
/// (`distinct`: each mention once, as IEPile writes them).
pub(super) fn render_grouped(labels: &[String], entities: &[&Entity], distinct: bool) -> String {
    let mut map = Map::new();
    for label in labels {
        let mut mentions: Vec<&str> = Vec::new();
        for e in entities.iter().filter(|e| &e.label == label) {
            if !(distinct && mentions.contains(&e.text.as_str())) {
                mentions.push(&e.text);
            }
        }
        map.insert(label.clone(), json!(mentions));
    }
    pyjson::to_string(&Value::Object(map), Ascii::Raw)
}

/// `[{"text", "label", "occurrence_index"}]` in text order.
pub(super) fn render_occurrence(text: &str, index: &CharIndex, entities: &[&Entity]) -> String {
    let items: Vec<Value> = entities
        .iter()
        .map(|e| {
            let k = occurrence_index(text, index, e.span).expect("the span was checked to lie in the text");
            json!({"text": e.text, "label": e.label, "occurrence_index": k})
        })
        .collect();
    pyjson::to_string(&items, Ascii::Raw)
}

/// `[{"text", "label", "start", "end"}]` in text order, code points, end exclusive.
pub(super) fn render_offset(entities: &[&Entity]) -> String {
    let items: Vec<Value> = entities
        .iter()
        .map(|e| json!({"text": e.text, "label": e.label, "start": e.span.start(), "end": e.span.end()}))
        .collect();
    pyjson::to_string(&items, Ascii::Raw)
}

/// A JSON object's entries in order, duplicates kept (so they can be reported).
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn json_error(format: AnswerFormat, e: serde_json::Error) -> ParseError {
    ParseError::Json { format, message: e.to_string() }
}

fn shape(format: AnswerFormat, expected: impl Into<String>, found: impl Into<String>) -> ParseError {
    ParseError::Shape { format, expected: expected.into(), found: found.into() }
}

/// A short description of a JSON value for error messages.
fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s }
}

/// `{label: [mention, …], …}`; a repeated key is an error (which list would be meant?).
pub(super) fn parse_grouped(format: AnswerFormat, answer: &str) -> Result<Vec<Prediction>, ParseError> {
    let Entries(entries) = serde_json::from_str(answer.trim()).map_err(|e| json_error(format, e))?;
    let mut out = Vec::new();
    for (i, (label, value)) in entries.iter().enumerate() {
        if entries[..i].iter().any(|(l, _)| l == label) {
            return Err(shape(format, "each label once", format!("label {label:?} twice")));
        }
        let Value::Array(items) = value else {
            return Err(shape(format, format!("a list of mentions for {label:?}"), describe(value)));
        };
        for item in items {
            let Value::String(mention) = item else {
                return Err(shape(format, format!("mention strings for {label:?}"), describe(item)));
            };
            out.push(Prediction { label: label.clone(), mention: mention.clone(), span: None });
        }
    }
    Ok(out)
}

/// Reads a list of objects with exactly the keys `keys`, handing each to `each`.
fn parse_objects(
    format: AnswerFormat,
    answer: &str,
    keys: &[&str],
    mut each: impl FnMut(&Map<String, Value>) -> Result<Prediction, ParseError>,
) -> Result<Vec<Prediction>, ParseError> {
    let value: Value = serde_json::from_str(answer.trim()).map_err(|e| json_error(format, e))?;
    let Value::Array(items) = value else {
        return Err(shape(format, "a JSON list of entity objects", describe(&value)));
    };
    let expected = || format!("an object with exactly the keys {}", keys.join(", "));
    items
        .iter()
        .map(|item| {
            let Value::Object(obj) = item else { return Err(shape(format, expected(), describe(item))) };
            if obj.len() != keys.len() || !keys.iter().all(|k| obj.contains_key(*k)) {
                return Err(shape(format, expected(), describe(item)));
            }
            each(obj)
        })
        .collect()
}

fn string_field(format: AnswerFormat, obj: &Map<String, Value>, key: &str) -> Result<String, ParseError> {
    match &obj[key] {
        Value::String(s) => Ok(s.clone()),
        other => Err(shape(format, format!("a string `{key}`"), describe(other))),
    }
}

fn u32_field(format: AnswerFormat, obj: &Map<String, Value>, key: &str) -> Result<u32, ParseError> {
    obj[key]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| shape(format, format!("a non-negative integer `{key}`"), describe(&obj[key])))
}

/// `[{"text", "label", "occurrence_index"}]`, spans resolved in `text` (`None` when the text
/// has fewer occurrences than the index says).
pub(super) fn parse_occurrence(text: &str, answer: &str) -> Result<Vec<Prediction>, ParseError> {
    let format = AnswerFormat::JsonOccurrence;
    let index = CharIndex::new(text);
    parse_objects(format, answer, &["text", "label", "occurrence_index"], |obj| {
        let mention = string_field(format, obj, "text")?;
        let label = string_field(format, obj, "label")?;
        let k = u32_field(format, obj, "occurrence_index")?;
        if k == 0 {
            return Err(shape(format, "a 1-based `occurrence_index`", "0"));
        }
        let span = nth_occurrence(text, &index, &mention, k);
        Ok(Prediction { label, mention, span })
    })
}

/// `[{"text", "label", "start", "end"}]` with `start <= end`.
pub(super) fn parse_offset(answer: &str) -> Result<Vec<Prediction>, ParseError> {
    let format = AnswerFormat::JsonOffset;
    parse_objects(format, answer, &["text", "label", "start", "end"], |obj| {
        let mention = string_field(format, obj, "text")?;
        let label = string_field(format, obj, "label")?;
        let (start, end) = (u32_field(format, obj, "start")?, u32_field(format, obj, "end")?);
        let span = Span::new(start, end).map_err(|e| shape(format, "`start` <= `end`", e.to_string()))?;
        Ok(Prediction { label, mention, span: Some(span) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_reads_real_iepile_output() {
        // data/NER/train.json line 2 of IEPile.
        let got = parse_grouped(AnswerFormat::Iepile, r#"{"人物": [], "组织机构": ["广州松日队", "青岛海牛队"], "地理位置": []}"#).unwrap();
        let mentions: Vec<_> = got.iter().map(|p| (p.label.as_str(), p.mention.as_str())).collect();
        assert_eq!(mentions, vec![("组织机构", "广州松日队"), ("组织机构", "青岛海牛队")]);
    }

    #[test]
    fn grouped_rejects_wrong_shapes() {
        let f = AnswerFormat::JsonGrouped;
        for (bad, what) in [
            ("[]", "a JSON object"),
            (r#"{"a": "x"}"#, "a list of mentions"),
            (r#"{"a": [1]}"#, "mention strings"),
            (r#"{"a": [], "a": ["x"]}"#, "each label once"),
            (r#"{"a": ["x"]"#, "EOF"),
        ] {
            let err = parse_grouped(f, bad).unwrap_err().to_string();
            assert!(err.contains(what), "{bad}: {err}");
        }
    }

    #[test]
    fn object_lists_need_exact_keys_and_types() {
        assert!(parse_offset(r#"[{"text": "a", "label": "x", "start": 0}]"#).is_err());
        assert!(parse_offset(r#"[{"text": "a", "label": "x", "start": 0, "end": 1, "extra": 2}]"#).is_err());
        assert!(parse_offset(r#"[{"text": "a", "label": "x", "start": -1, "end": 1}]"#).is_err());
        assert!(parse_offset(r#"[{"text": "a", "label": "x", "start": 3, "end": 1}]"#).is_err());
        assert!(parse_offset(r#"{"text": "a"}"#).is_err());
        assert!(parse_occurrence("a", r#"[{"text": "a", "label": "x", "occurrence_index": 0}]"#).is_err());
        let p = parse_occurrence("a b a", r#"[{"text": "a", "label": "x", "occurrence_index": 3}]"#).unwrap();
        assert_eq!(p[0].span, None, "an index past the last occurrence leaves the span open");
    }
}
