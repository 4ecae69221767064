//! The repair layer in front of the strict answer parsers: what LLMs really print, turned
//! back into the format they were asked for, with every repair named and counted.
//!
//! [`parse_llm`] first tries the strict parser on the answer as printed. Only when that
//! fails does it repair, one step at a time, retrying the strict parser after each step, so
//! an answer gets the fewest repairs that make it readable:
//!
//! | repair | what it undoes | formats |
//! |---|---|---|
//! | `code_fence` | the answer wrapped in a Markdown ```` ``` ```` block (the first one is kept) | all |
//! | `none_variant` | `none`, `None.`, `"None"` for B2NER's empty answer | b2ner |
//! | `surrounding_prose` | text before or after the JSON value ("Here are the entities: …") | JSON formats |
//! | `python_literal` | Python `repr` output: single-quoted strings, `None`/`True`/`False` | JSON formats |
//! | `trailing_comma` | a comma before `]` or `}` | JSON formats |
//! | `scalar_as_list` | a label mapped to one string or `null` instead of a list | iepile, json-grouped |
//! | `duplicate_keys` | the same label twice in one object: the lists are joined | iepile, json-grouped |
//! | `truncated` | JSON cut short (the generation hit its token limit): the last incomplete item is dropped and the brackets closed | JSON formats |
//!
//! An answer that is still unreadable gives the strict parser's error on the answer as
//! printed. Repairs never invent entities: they only remove wrapping, fix quoting, join or
//! close what is there, and drop an item cut in the middle.

use super::json::Entries;
use super::{parse, AnswerContext, AnswerFormat, ParseError, Prediction};
use serde_json::{Map, Value};
use std::fmt;

/// One kind of repair; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Repair {
    /// A Markdown code fence around the answer.
    CodeFence,
    /// A spelling of B2NER's `None` other than exactly `None`.
    NoneVariant,
    /// Prose before or after the JSON value.
    SurroundingProse,
    /// Python literal syntax instead of JSON.
    PythonLiteral,
    /// A comma before a closing bracket.
    TrailingComma,
    /// A label mapped to a string or `null` instead of a list.
    ScalarAsList,
    /// A label given twice in one object.
    DuplicateKeys,
    /// JSON cut short.
    Truncated,
}

impl Repair {
    /// Every repair, in the order they are tried.
    pub const ALL: [Repair; 8] = [
        Repair::CodeFence,
        Repair::NoneVariant,
        Repair::SurroundingProse,
        Repair::PythonLiteral,
        Repair::TrailingComma,
        Repair::ScalarAsList,
        Repair::DuplicateKeys,
        Repair::Truncated,
    ];

    /// The name used in counts (`repair:<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Repair::CodeFence => "code_fence",
            Repair::NoneVariant => "none_variant",
            Repair::SurroundingProse => "surrounding_prose",
            Repair::PythonLiteral => "python_literal",
            Repair::TrailingComma => "trailing_comma",
            Repair::ScalarAsList => "scalar_as_list",
            Repair::DuplicateKeys => "duplicate_keys",
            Repair::Truncated => "truncated",
        }
    }
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Predictions read from an LLM answer, with the repairs that were needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The entities the answer gives.
    pub predictions: Vec<Prediction>,
    /// The repairs applied, in order (empty when the answer was well-formed).
    pub repairs: Vec<Repair>,
}

fn is_json_format(format: AnswerFormat) -> bool {
    matches!(
        format,
        AnswerFormat::Iepile
            | AnswerFormat::PileNer
            | AnswerFormat::JsonGrouped
            | AnswerFormat::JsonOccurrence
            | AnswerFormat::JsonOffset
    )
}

fn is_grouped(format: AnswerFormat) -> bool {
    matches!(format, AnswerFormat::Iepile | AnswerFormat::JsonGrouped)
}

/// Parses an answer as an LLM printed it: strictly if possible, else after the fewest
/// repairs (see the module docs). The error is the strict parser's, on the answer as printed.
///
/// # Example
/// ```
/// use nerprep::answer::repair::{parse_llm, Repair};
/// use nerprep::answer::{AnswerContext, AnswerFormat};
/// let labels = vec!["person".to_string(), "location".to_string()];
/// let ctx = AnswerContext { text: "Barak visited Paris", labels: &labels };
/// let answer = "Sure! ```json\n{'person': ['Barak'], 'location': ['Paris'],}\n```";
/// let got = parse_llm(AnswerFormat::Iepile, ctx, answer).unwrap();
/// assert_eq!(got.predictions.len(), 2);
/// assert_eq!(got.repairs, [Repair::CodeFence, Repair::PythonLiteral, Repair::TrailingComma]);
/// ```
pub fn parse_llm(format: AnswerFormat, ctx: AnswerContext<'_>, answer: &str) -> Result<Repaired, ParseError> {
    if let Some(depth) = too_deep(answer) {
        return Err(ParseError::TooDeep { format, depth, max: MAX_NESTING });
    }
    let attempt = |text: &str, repairs: &[Repair]| {
        parse(format, ctx, text).ok().map(|predictions| Repaired { predictions, repairs: repairs.to_vec() })
    };
    let mut repairs = Vec::new();
    let mut text = answer.to_string();
    // Fences come off first: B2NER's grammar would read "```\nlabel" as an unknown label.
    // An inline answer keeps them when the sample text itself has them.
    if !ctx.text.contains("```")
        && let Some(inner) = strip_code_fence(&text)
    {
        text = inner;
        repairs.push(Repair::CodeFence);
    }
    let original = match parse(format, ctx, &text) {
        Ok(predictions) => return Ok(Repaired { predictions, repairs }),
        // Errors speak of the answer as printed.
        Err(e) if repairs.is_empty() => e,
        Err(e) => parse(format, ctx, answer).err().unwrap_or(e),
    };
    if format == AnswerFormat::B2ner && is_none_variant(&text) {
        repairs.push(Repair::NoneVariant);
        return Ok(Repaired { predictions: Vec::new(), repairs });
    }
    if !is_json_format(format) {
        return Err(original);
    }
    if let Some(inner) = extract_json(&text) {
        text = inner;
        repairs.push(Repair::SurroundingProse);
        if let Some(done) = attempt(&text, &repairs) {
            return Ok(done);
        }
    }
    let (fixed, python, commas) = python_to_json(&text);
    if python || commas {
        text = fixed;
        repairs.extend(python.then_some(Repair::PythonLiteral));
        repairs.extend(commas.then_some(Repair::TrailingComma));
        if let Some(done) = attempt(&text, &repairs) {
            return Ok(done);
        }
    }
    let regroup = |text: &str, repairs: &mut Vec<Repair>| -> Option<String> {
        if !is_grouped(format) {
            return None;
        }
        let (fixed, scalars, duplicates) = normalise_grouped(text)?;
        repairs.extend(scalars.then_some(Repair::ScalarAsList));
        repairs.extend(duplicates.then_some(Repair::DuplicateKeys));
        (scalars || duplicates).then_some(fixed)
    };
    if let Some(fixed) = regroup(&text, &mut repairs) {
        text = fixed;
        if let Some(done) = attempt(&text, &repairs) {
            return Ok(done);
        }
    }
    for candidate in close_truncated(&text) {
        let mut tried = repairs.clone();
        tried.push(Repair::Truncated);
        let candidate = regroup(&candidate, &mut tried).unwrap_or(candidate);
        if let Some(done) = attempt(&candidate, &tried) {
            return Ok(done);
        }
    }
    Err(original)
}

/// The deepest bracket nesting an answer may have: deeper than any answer format needs
/// (JSON answers nest three deep) and than the JSON parser reads (128).
pub const MAX_NESTING: usize = 128;

/// The nesting depth of `answer` when it passes [`MAX_NESTING`] (brackets inside JSON
/// strings not counted), found in one pass.
fn too_deep(answer: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for c in answer.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(depth);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The content of the first Markdown code block (```` ```lang\n…\n``` ````), if the answer
/// has one; an unclosed fence (a truncated answer) keeps everything after it.
pub fn strip_code_fence(answer: &str) -> Option<String> {
    let open = answer.find("```")?;
    let after = &answer[open + 3..];
    // The info string (`json`, `python`, …) runs to the end of the line.
    let body_start = after.find('\n').map_or(after.len(), |n| n + 1);
    let info = &after[..body_start];
    let body = if info.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        &after[body_start..]
    } else {
        after
    };
    let inner = match body.find("```") {
        Some(close) => &body[..close],
        None => body,
    };
    Some(inner.trim().to_string())
}

fn is_none_variant(answer: &str) -> bool {
    let s = answer.trim().trim_matches(|c| c == '"' || c == '\'' || c == '.' || c == '`').trim();
    ["none", "null", "[]", "no entities", "无"].iter().any(|v| s.eq_ignore_ascii_case(v))
}

/// The first JSON-looking value in `answer` (from the first `{` or `[` to its matching
/// bracket, or to the end when it is never closed), when there is text around it.
pub fn extract_json(answer: &str) -> Option<String> {
    let trimmed = answer.trim();
    let start = trimmed.find(['{', '['])?;
    let end = matching_close(&trimmed[start..]).map_or(trimmed.len(), |e| start + e);
    let value = &trimmed[start..end];
    (value.len() < trimmed.len()).then(|| value.to_string())
}

/// The byte just after the bracket closing the one `s` starts with, skipping strings in
/// either quote style.
fn matching_close(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Rewrites Python literal syntax as JSON: single-quoted strings become double-quoted,
/// `None`/`True`/`False` become `null`/`true`/`false`, and commas before a closing bracket
/// are removed. Returns the text and whether each of the two repairs changed anything.
pub fn python_to_json(s: &str) -> (String, bool, bool) {
    let mut out = String::with_capacity(s.len() + 8);
    let (mut python, mut commas) = (false, false);
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                // A JSON string: copied as is, escapes included.
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        out.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if chars[i - 1] == '"' {
                        break;
                    }
                }
            }
            '\'' => {
                python = true;
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            match chars[i + 1] {
                                '\'' => out.push('\''),
                                other => {
                                    out.push('\\');
                                    out.push(other);
                                }
                            }
                            i += 2;
                            continue;
                        }
                        '"' => out.push_str("\\\""),
                        other => out.push(other),
                    }
                    i += 1;
                }
                if i < chars.len() {
                    out.push('"');
                    i += 1;
                }
            }
            ',' => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if matches!(next, Some(']') | Some('}')) {
                    commas = true;
                } else {
                    out.push(',');
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mapped = match word.as_str() {
                    "None" => Some("null"),
                    "True" => Some("true"),
                    "False" => Some("false"),
                    _ => None,
                };
                match mapped {
                    Some(m) => {
                        python = true;
                        out.push_str(m);
                    }
                    None => out.push_str(&word),
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    (out, python, commas)
}

/// Normalises a label → mentions object: a string value becomes a one-item list, `null` an
/// empty list, and repeated labels are joined into one list (first position kept).
/// Returns the object re-serialised and whether each repair changed anything; `None` when
/// the text is not a JSON object.
pub fn normalise_grouped(s: &str) -> Option<(String, bool, bool)> {
    let Entries(entries) = serde_json::from_str(s.trim()).ok()?;
    let (mut scalars, mut duplicates) = (false, false);
    let mut merged: Map<String, Value> = Map::new();
    for (label, value) in entries {
        let items = match value {
            Value::Array(items) => items,
            Value::String(_) => {
                scalars = true;
                vec![value]
            }
            Value::Null => {
                scalars = true;
                Vec::new()
            }
            other => vec![other],
        };
        match merged.get_mut(&label) {
            Some(Value::Array(existing)) => {
                duplicates = true;
                existing.extend(items);
            }
            _ => {
                merged.insert(label, Value::Array(items));
            }
        }
    }
    Some((Value::Object(merged).to_string(), scalars, duplicates))
}

/// Ways to close JSON that was cut short, best first: the text closed where it stops, then
/// closed before each earlier `,` (dropping the incomplete item), then after each opening
/// bracket. A string cut in the middle is never closed (the mention would be cut too).
pub fn close_truncated(s: &str) -> Vec<String> {
    #[derive(Clone)]
    struct Cut {
        at: usize,
        stack: Vec<char>,
    }
    // Only the last cuts are tried, so only they are kept: memory stays bounded by
    // CUTS × MAX_NESTING whatever the answer's length.
    const CUTS: usize = 64;
    let mut cuts: std::collections::VecDeque<Cut> = std::collections::VecDeque::with_capacity(CUTS + 1);
    let keep = |cuts: &mut std::collections::VecDeque<Cut>, cut: Cut| {
        if cuts.len() == CUTS {
            cuts.pop_front();
        }
        cuts.push_back(cut);
    };
    let mut stack: Vec<char> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => {
                stack.push(if c == '{' { '}' } else { ']' });
                if stack.len() > MAX_NESTING {
                    return Vec::new();
                }
                keep(&mut cuts, Cut { at: i + 1, stack: stack.clone() });
            }
            '}' | ']' if stack.pop() != Some(c) => return Vec::new(),
            ',' if !stack.is_empty() => keep(&mut cuts, Cut { at: i, stack: stack.clone() }),
            _ => {}
        }
    }
    if stack.is_empty() && !in_string {
        return Vec::new();
    }
    if !in_string {
        keep(&mut cuts, Cut { at: s.len(), stack: stack.clone() });
    }
    cuts.iter()
        .rev()
        .map(|cut| {
            let mut out = s[..cut.at].trim_end().trim_end_matches(':').trim_end().to_string();
            out.extend(cut.stack.iter().rev());
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["person", "location"].map(String::from).to_vec()
    }

    const TEXT: &str = "Barak visited Paris and met Peres";

    fn run(format: AnswerFormat, answer: &str) -> Result<Repaired, ParseError> {
        let labels = labels();
        parse_llm(format, AnswerContext { text: TEXT, labels: &labels }, answer)
    }

    fn mentions(r: &Repaired) -> Vec<(&str, &str)> {
        r.predictions.iter().map(|p| (p.label.as_str(), p.mention.as_str())).collect()
    }

    #[test]
    fn well_formed_answers_need_no_repair() {
        let r = run(AnswerFormat::Iepile, r#"{"person": ["Barak"], "location": []}"#).unwrap();
        assert!(r.repairs.is_empty());
        assert_eq!(mentions(&r), [("person", "Barak")]);
    }

    #[test]
    fn code_fences_are_stripped_for_every_format() {
        let r = run(AnswerFormat::B2ner, "```\nperson: Barak; location: Paris\n```").unwrap();
        assert_eq!(r.repairs, [Repair::CodeFence]);
        assert_eq!(mentions(&r), [("person", "Barak"), ("location", "Paris")]);
        let r = run(AnswerFormat::InlineXml, "```xml\n<person>Barak</person> visited Paris and met Peres\n```").unwrap();
        assert_eq!(r.repairs, [Repair::CodeFence]);
    }

    #[test]
    fn prose_around_json_is_dropped() {
        let answer = "Here are the entities:\n[{\"text\": \"Paris\", \"label\": \"location\", \"start\": 14, \"end\": 19}]\nHope this helps!";
        let r = run(AnswerFormat::JsonOffset, answer).unwrap();
        assert_eq!(r.repairs, [Repair::SurroundingProse]);
        assert_eq!(r.predictions[0].mention, "Paris");
    }

    #[test]
    fn python_repr_and_trailing_commas() {
        let r = run(AnswerFormat::JsonGrouped, "{'person': ['Barak', \"O'Neil\", 'Peres',], 'location': None}").unwrap();
        assert_eq!(r.repairs, [Repair::PythonLiteral, Repair::TrailingComma, Repair::ScalarAsList]);
        assert_eq!(mentions(&r), [("person", "Barak"), ("person", "O'Neil"), ("person", "Peres")]);
        let one = vec!["person".to_string()];
        let ctx = AnswerContext { text: TEXT, labels: &one };
        let r = parse_llm(AnswerFormat::PileNer, ctx, r#"['it\'s', 'say "hi"']"#).unwrap();
        assert_eq!(r.predictions.iter().map(|p| p.mention.as_str()).collect::<Vec<_>>(), ["it's", "say \"hi\""]);
    }

    #[test]
    fn duplicate_keys_are_joined() {
        let r = run(AnswerFormat::Iepile, r#"{"person": ["Barak"], "location": [], "person": ["Peres"]}"#).unwrap();
        assert_eq!(r.repairs, [Repair::DuplicateKeys]);
        assert_eq!(mentions(&r), [("person", "Barak"), ("person", "Peres")]);
    }

    #[test]
    fn truncated_json_keeps_complete_items_only() {
        let r = run(AnswerFormat::JsonGrouped, r#"{"person": ["Barak", "Per"#).unwrap();
        assert_eq!(r.repairs, [Repair::Truncated]);
        assert_eq!(mentions(&r), [("person", "Barak")]);
        let cut = r#"[{"text": "Barak", "label": "person", "start": 0, "end": 5}, {"text": "Paris", "label": "loc"#;
        let r = run(AnswerFormat::JsonOffset, cut).unwrap();
        assert_eq!(r.repairs, [Repair::Truncated]);
        assert_eq!(mentions(&r), [("person", "Barak")]);
        let r = run(AnswerFormat::Iepile, r#"{"person": ["Barak"], "location": ["#).unwrap();
        assert_eq!(mentions(&r), [("person", "Barak")]);
    }

    #[test]
    fn none_variants_for_b2ner() {
        for answer in ["none", "None.", "\"None\"", "NONE"] {
            let r = run(AnswerFormat::B2ner, answer).unwrap();
            assert_eq!(r.repairs, [Repair::NoneVariant], "{answer}");
            assert!(r.predictions.is_empty());
        }
    }

    #[test]
    fn hopeless_answers_give_the_strict_error() {
        let err = run(AnswerFormat::Iepile, "I could not find any entities.").unwrap_err();
        assert!(matches!(err, ParseError::Json { .. }), "{err}");
        let err = run(AnswerFormat::InlineXml, "<person>Barak</person> went home").unwrap_err();
        assert!(matches!(err, ParseError::Syntax { .. }), "{err}");
    }

    #[test]
    fn regression_runaway_nesting_is_refused_in_linear_time() {
        let answer = "[".repeat(200_000);
        let err = run(AnswerFormat::JsonOffset, &answer).unwrap_err();
        assert!(matches!(err, ParseError::TooDeep { depth: 129, .. }), "{err}");
        let within = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(!matches!(run(AnswerFormat::JsonOffset, &within), Err(ParseError::TooDeep { .. })));
        assert!(close_truncated(&format!("[{}", "1,".repeat(100_000))).len() <= 64);
    }

    #[test]
    fn truncation_candidates() {
        assert!(close_truncated(r#"{"a": []}"#).is_empty());
        assert_eq!(close_truncated(r#"{"a": ["x"]"#)[0], r#"{"a": ["x"]}"#);
        assert_eq!(close_truncated(r#"{"a": ["x", "y"#)[0], r#"{"a": ["x"]}"#);
        // A key without its value: closing where it stops is not JSON, dropping the item is.
        assert_eq!(close_truncated(r#"{"a": ["x"], "b":"#)[1], r#"{"a": ["x"]}"#);
    }
}
