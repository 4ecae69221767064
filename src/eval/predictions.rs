//! The predictions file `nerprep eval` reads: JSON Lines, one model answer (or one
//! conversation of answers) per line, keyed by the sample it answers.
//!
//! It is what `nerprep emit` writes, with the model's answer in place of the gold one, so
//! an emitted file scores F1 = 1 as it is. Each line is an object with:
//! - `sample_id`: the gold sample's id; when absent, `id` is used with emit's `@k` record
//!   suffix removed (`d/test/f:3@1` → `d/test/f:3`). Several lines may answer one sample
//!   (IEPile schema chunks); their predictions are pooled.
//! - `labels` (optional): the labels the instruction asked for, which decide out-of-domain
//!   types and which gold entities count (default: the gold sample's `label_set`).
//! - the answer, in the first of: `predict` or `prediction` (a model's output, as
//!   LLaMA-Factory's `generated_predictions.jsonl` names it), replacing the last assistant
//!   turn; `output` (alpaca, with earlier turns in `history`); `conversations` (sharegpt,
//!   `human`/`gpt` turns).
//!
//! For `pile-ner`, every assistant turn that answers a `What describes X in the text?`
//! question is an answer about `X`; for the other formats the last assistant turn is the
//! answer.

use crate::answer::pile_ner::label_of_question;
use crate::answer::AnswerFormat;
use serde_json::{Map, Value};

/// One answer to parse: the labels it is about and the text the model printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The labels the question asked (`None`: those of the record or the sample).
    pub labels: Option<Vec<String>>,
    /// The model's answer.
    pub text: String,
}

/// One usable line of the predictions file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictionRecord {
    /// 1-based line in the file.
    pub line: u64,
    /// The record id (`id`, else the sample id).
    pub id: String,
    /// The gold sample it answers.
    pub sample_id: String,
    /// The labels the record asked for, when it says.
    pub labels: Option<Vec<String>>,
    /// The answers it holds.
    pub answers: Vec<Answer>,
}

/// One exchange of a record.
struct Turn {
    user: String,
    assistant: String,
}

fn string_field(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("expected `{key}` to be a string, found {}", kind(other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else { return Err(format!("expected `{what}` to be a list, found {}", kind(v))) };
    items
        .iter()
        .map(|i| i.as_str().map(str::to_string).ok_or_else(|| format!("expected `{what}` to hold strings, found {}", kind(i))))
        .collect()
}

/// The sample an emitted record id belongs to: `{sample id}@{k}` → `{sample id}`.
pub fn sample_of_record_id(id: &str) -> &str {
    match id.rsplit_once('@') {
        Some((sample, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => sample,
        _ => id,
    }
}

fn turns(obj: &Map<String, Value>) -> Result<Vec<Turn>, String> {
    let mut turns = Vec::new();
    if let Some(conv) = obj.get("conversations") {
        let Value::Array(messages) = conv else {
            return Err(format!("expected `conversations` to be a list, found {}", kind(conv)));
        };
        for (i, m) in messages.iter().enumerate() {
            let Value::Object(m) = m else { return Err(format!("conversations[{i}]: expected an object")) };
            let from = string_field(m, "from")?.unwrap_or_default();
            let value = string_field(m, "value")?.unwrap_or_default();
            match from.as_str() {
                "human" | "user" => turns.push(Turn { user: value, assistant: String::new() }),
                "gpt" | "assistant" => match turns.last_mut() {
                    Some(t) if t.assistant.is_empty() => t.assistant = value,
                    _ => turns.push(Turn { user: String::new(), assistant: value }),
                },
                _ => {}
            }
        }
    } else if obj.contains_key("output") || obj.contains_key("instruction") {
        if let Some(h) = obj.get("history") {
            let Value::Array(pairs) = h else { return Err(format!("expected `history` to be a list, found {}", kind(h))) };
            for (i, pair) in pairs.iter().enumerate() {
                let pair = strings(pair, &format!("history[{i}]"))?;
                let [user, assistant] = <[String; 2]>::try_from(pair)
                    .map_err(|_| format!("history[{i}]: expected a [user, assistant] pair"))?;
                turns.push(Turn { user, assistant });
            }
        }
        let user = string_field(obj, "instruction")?.unwrap_or_default();
        let assistant = string_field(obj, "output")?.unwrap_or_default();
        turns.push(Turn { user, assistant });
    }
    let predicted = match string_field(obj, "predict")? {
        Some(p) => Some(p),
        None => string_field(obj, "prediction")?,
    };
    match (predicted, turns.last_mut()) {
        (Some(p), Some(last)) => last.assistant = p,
        (Some(p), None) => turns.push(Turn { user: String::new(), assistant: p }),
        (None, None) => return Err("expected the answer in `predict`, `prediction`, `output` or `conversations`".into()),
        (None, Some(_)) => {}
    }
    Ok(turns)
}

/// Reads one line (already parsed as JSON) into a record; the error says what was expected.
pub fn read_record(value: &Value, line: u64, format: AnswerFormat) -> Result<PredictionRecord, String> {
    let Value::Object(obj) = value else { return Err(format!("expected a JSON object, found {}", kind(value))) };
    let id = string_field(obj, "id")?;
    let sample_id = string_field(obj, "sample_id")?;
    let (id, sample_id) = match (id, sample_id) {
        (Some(id), Some(s)) => (id, s),
        (Some(id), None) => {
            let s = sample_of_record_id(&id).to_string();
            (id, s)
        }
        (None, Some(s)) => (s.clone(), s),
        (None, None) => return Err("expected `sample_id` or `id` naming the gold sample".into()),
    };
    let labels = obj.get("labels").map(|v| strings(v, "labels")).transpose()?;
    let turns = turns(obj)?;
    let answers = if format == AnswerFormat::PileNer {
        let asked: Vec<Answer> = turns
            .iter()
            .filter_map(|t| {
                let label = label_of_question(t.user.trim())?;
                Some(Answer { labels: Some(vec![label.to_string()]), text: t.assistant.clone() })
            })
            .collect();
        match (asked.is_empty(), labels.as_deref(), turns.last()) {
            (false, _, _) => asked,
            (true, Some([label]), Some(last)) => vec![Answer { labels: Some(vec![label.clone()]), text: last.assistant.clone() }],
            _ => return Err("pile-ner: expected `What describes <type> in the text?` questions, or one label in `labels`".into()),
        }
    } else {
        let last = turns.last().expect("turns() never returns an empty list");
        vec![Answer { labels: None, text: last.assistant.clone() }]
    };
    Ok(PredictionRecord { line, id, sample_id, labels, answers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_ids_name_their_sample() {
        assert_eq!(sample_of_record_id("d/test/f:3@1"), "d/test/f:3");
        assert_eq!(sample_of_record_id("d/test/f:3"), "d/test/f:3");
        assert_eq!(sample_of_record_id("a@b"), "a@b");
    }

    #[test]
    fn alpaca_records_with_and_without_predict() {
        let v = json!({"id": "s@0", "labels": ["person"], "instruction": "q", "input": "", "output": "person: A"});
        let r = read_record(&v, 3, AnswerFormat::B2ner).unwrap();
        assert_eq!((r.sample_id.as_str(), r.line), ("s", 3));
        assert_eq!(r.answers[0].text, "person: A");
        let v = json!({"id": "s@0", "output": "person: A", "predict": "None"});
        assert_eq!(read_record(&v, 1, AnswerFormat::B2ner).unwrap().answers[0].text, "None");
        let v = json!({"sample_id": "s", "predict": "None"});
        assert_eq!(read_record(&v, 1, AnswerFormat::B2ner).unwrap().id, "s");
    }

    #[test]
    fn pile_ner_conversations_answer_per_question() {
        let v = json!({"id": "s@0", "conversations": [
            {"from": "human", "value": "Text: Ada met Bob"},
            {"from": "gpt", "value": "I've read this text."},
            {"from": "human", "value": "What describes person in the text?"},
            {"from": "gpt", "value": "[\"Ada\", \"Bob\"]"},
            {"from": "human", "value": "What describes city in the text?"},
            {"from": "gpt", "value": "[]"}
        ]});
        let r = read_record(&v, 1, AnswerFormat::PileNer).unwrap();
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.answers[0].labels, Some(vec!["person".to_string()]));
        assert_eq!(r.answers[1].text, "[]");
    }

    #[test]
    fn bad_records_say_what_was_expected() {
        for (v, what) in [
            (json!([1]), "JSON object"),
            (json!({"output": "x"}), "`sample_id` or `id`"),
            (json!({"id": "s"}), "`predict`"),
            (json!({"id": 3, "output": "x"}), "`id` to be a string"),
            (json!({"id": "s", "labels": "x", "output": "x"}), "`labels` to be a list"),
            (json!({"id": "s", "output": "[]"}), "What describes"),
        ] {
            let err = read_record(&v, 1, AnswerFormat::PileNer).unwrap_err();
            assert!(err.contains(what), "{v}: {err}");
        }
    }
}
