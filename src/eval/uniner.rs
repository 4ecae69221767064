//! UniversalNER's scorer, reimplemented: what `src/eval/evaluate.py` of
//! universal-ner/universal-ner (`NEREvaluator`, `parser`, `normalize_answer`) computes, so
//! that a score can be set beside the UniNER paper's numbers (issue 19).
//!
//! The unit is one question: one (passage, type) pair, answered by a JSON list of mentions.
//! An answer is read the way upstream reads it, quirks included:
//! - the model output is cut after its last `ASSISTANT:` and stripped (`get_response`);
//! - only a `[...]` at the very start is read, up to the **first** `]` and not across a line
//!   break (`re.match(r'\[(.*?)\]')`): `["a]b"]` reads `["a]`, which is not JSON, so the whole
//!   answer counts as an empty list, as does anything that is not such a list;
//! - every item must be a mention string: any other item (a number, `null`, an object) makes
//!   the whole answer empty, as upstream's exception handler does. (Upstream also reads a
//!   nested list as a tuple, but its first `]` always closes that inner list first, so a
//!   nested list never parses and the answer is empty.)
//! - each mention is normalised: lower case, ASCII punctuation removed, the words `a`, `an`,
//!   `the` removed, whitespace collapsed ([`normalise`]); duplicates after normalisation count
//!   once.
//!
//! A predicted mention is correct when it is among the normalised gold mentions of the same
//! question; precision, recall and F1 are micro-averaged over all questions. Upstream adds
//! `1e-10` to each denominator; we do not, which changes a score by less than `1e-9` and lets
//! a perfect answer score exactly 1.

use super::metrics::Tally;
use serde_json::Value;

/// Whitespace as Python's `str.split()` and `str.strip()` see it: Unicode white space plus
/// the four information separators U+001C..U+001F.
pub(super) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A word character of Python's `\b` on `str` patterns (alphanumeric or `_`).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replaces each whole word `a`, `an` or `the` with a space (`re.sub(r'\b(a|an|the)\b', ' ')`).
fn remove_articles(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let at_boundary = i == 0 || !is_word_char(chars[i - 1]);
        let article = ["the", "an", "a"].into_iter().find(|w| {
            let end = i + w.len();
            at_boundary
                && end <= chars.len()
                && chars[i..end].iter().copied().eq(w.chars())
                && (end == chars.len() || !is_word_char(chars[end]))
        });
        match article {
            Some(w) => {
                out.push(' ');
                i += w.len();
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// UniversalNER's `normalize_answer`: lower case, ASCII punctuation (Python's
/// `string.punctuation`) removed, articles removed, runs of whitespace collapsed to one space
/// and trimmed.
///
/// ```
/// use nerprep::eval::uniner::normalise;
/// assert_eq!(normalise("The  U.S. Army"), "us army");
/// ```
pub fn normalise(mention: &str) -> String {
    let lower = mention.to_lowercase();
    let without_punctuation: String = lower.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    let without_articles = remove_articles(&without_punctuation);
    without_articles.split(is_py_space).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// What upstream's `get_response` keeps of a model output: the text after its last
/// `ASSISTANT:`, stripped.
fn response(output: &str) -> &str {
    let after = output.rsplit("ASSISTANT:").next().unwrap_or(output);
    after.trim_matches(is_py_space)
}

/// The `[...]` upstream reads: at the start, up to the first `]`, on one line; `None` when
/// there is none.
fn leading_list(text: &str) -> Option<&str> {
    if !text.starts_with('[') {
        return None;
    }
    let close = text.find(']')?;
    let candidate = &text[..=close];
    (!candidate.contains('\n')).then_some(candidate)
}

/// The distinct normalised mentions of a gold or predicted answer, in answer order, exactly
/// as upstream's `parser` reads it (empty for anything it cannot read; see the module docs).
///
/// ```
/// use nerprep::eval::uniner::read_answer;
/// assert_eq!(read_answer(r#"["The Beatles", "beatles", "Yoko"] and more"#), ["beatles", "yoko"]);
/// assert!(read_answer(r#"["AC]DC"]"#).is_empty()); // read up to the first `]` only
/// ```
pub fn read_answer(answer: &str) -> Vec<String> {
    let Some(list) = leading_list(response(answer)) else { return Vec::new() };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(list) else { return Vec::new() };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in &items {
        let Some(mention) = item.as_str() else { return Vec::new() };
        let normalised = normalise(mention);
        if !out.contains(&normalised) {
            out.push(normalised);
        }
    }
    out
}

/// The gold answer of one question as the upstream file holds it: the gold mentions as a JSON
/// list, one per occurrence.
pub fn gold_answer<'a>(mentions: impl IntoIterator<Item = &'a str>) -> String {
    let list: Vec<&str> = mentions.into_iter().collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_string())
}

/// Scores one question: `tp` predicted items among the gold items, `fp` the others, `fn`
/// the gold items not predicted.
pub fn score_question(gold: &str, predicted: &str) -> Tally {
    let gold = read_answer(gold);
    let predicted = read_answer(predicted);
    let tp = predicted.iter().filter(|p| gold.contains(p)).count() as u64;
    Tally { tp, fp: predicted.len() as u64 - tp, fn_: gold.len() as u64 - tp }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mentions(items: &[&str]) -> Vec<String> {
        items.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn normalisation_lowers_case() {
        assert_eq!(normalise("NASA"), "nasa");
        assert_eq!(normalise("Ärzte"), "ärzte");
    }

    #[test]
    fn normalisation_removes_ascii_punctuation_only() {
        // `.`, `-`, `'` and `_` are in string.punctuation; `«»` and `’` are not.
        assert_eq!(normalise("U.S.-led"), "usled");
        assert_eq!(normalise("O'Neil_x"), "oneilx");
        assert_eq!(normalise("«Le Monde»"), "«le monde»");
        assert_eq!(normalise("McDonald’s"), "mcdonald’s");
    }

    #[test]
    fn normalisation_removes_whole_articles_only() {
        assert_eq!(normalise("The Hague"), "hague");
        assert_eq!(normalise("a tale of an ant"), "tale of ant");
        // Articles inside words stay: `theatre`, `anna`, `Thea`.
        assert_eq!(normalise("Theatre Anna Thea"), "theatre anna thea");
        // Punctuation goes first, so `the-end` becomes the one word `theend`.
        assert_eq!(normalise("the-end"), "theend");
        // A mention that is only an article normalises to the empty string.
        assert_eq!(normalise("The"), "");
    }

    #[test]
    fn normalisation_collapses_whitespace() {
        assert_eq!(normalise("  New \t York\n City "), "new york city");
        assert_eq!(normalise("New\u{a0}York"), "new york");
    }

    #[test]
    fn only_a_list_at_the_start_is_read() {
        assert_eq!(read_answer(r#"["Ada"]"#), mentions(&["ada"]));
        assert_eq!(read_answer(r#"  ["Ada"]  "#), mentions(&["ada"]), "stripped first");
        assert_eq!(read_answer(r#"USER: x ASSISTANT: ["Ada"]"#), mentions(&["ada"]), "after the last ASSISTANT:");
        assert!(read_answer(r#"Answer: ["Ada"]"#).is_empty(), "re.match anchors at the start");
        assert!(read_answer("Ada").is_empty());
        assert!(read_answer("[\"Ada\",\n\"Bob\"]").is_empty(), "`.` does not cross a line break");
        assert!(read_answer(r#"{"person": ["Ada"]}"#).is_empty());
    }

    #[test]
    fn everything_after_the_first_bracket_is_ignored() {
        // Quirk: `["a]b", "c"]` reads `["a]`, which is not JSON: the answer is empty.
        assert!(read_answer(r#"["a]b", "c"]"#).is_empty());
        // What follows the first `]` is never read, even a second list.
        assert_eq!(read_answer(r#"["x"] ["y"]"#), mentions(&["x"]));
    }

    #[test]
    fn items_that_are_not_strings_empty_the_whole_answer() {
        assert!(read_answer(r#"["Ada", 3]"#).is_empty());
        assert!(read_answer(r#"["Ada", null]"#).is_empty());
        assert!(read_answer(r#"["Ada", {"x": 1}]"#).is_empty());
        // A nested list is cut at its own `]`: `[["Ada", "Bob"]` is not JSON.
        assert!(read_answer(r#"[["Ada", "Bob"]]"#).is_empty());
        assert!(read_answer("['Ada']").is_empty(), "a Python repr is not JSON");
    }

    #[test]
    fn duplicates_after_normalisation_count_once() {
        assert_eq!(read_answer(r#"["The Beatles", "beatles", "BEATLES!"]"#), mentions(&["beatles"]));
    }

    #[test]
    fn question_counts_follow_the_definitions() {
        // Gold: `beatles`, `yoko ono`, `us` (from `U.S.`) — 3 items.
        // Predicted: `beatles` (from `the Beatles`) hit, `yoko` miss, `us` (from `US`) hit,
        // `beatles` again (from `Beatles.`) is a duplicate and counts once.
        // tp = 2, fp = 1 (`yoko`), fn = 1 (`yoko ono`).
        let gold = gold_answer(["Beatles", "Yoko Ono", "U.S."]);
        let t = score_question(&gold, r#"["the Beatles", "Yoko", "US", "Beatles."]"#);
        assert_eq!(t, Tally { tp: 2, fp: 1, fn_: 1 });
        // An unreadable answer predicts nothing: every gold item is a miss.
        assert_eq!(score_question(&gold, "I think: Beatles"), Tally { tp: 0, fp: 0, fn_: 3 });
        // A gold mention with a `]` empties the gold answer too (upstream parses gold the same
        // way, `["[1]` is not JSON): the prediction `["x"]` is one false positive, nothing is
        // missed.
        assert_eq!(score_question(&gold_answer(["[1]"]), r#"["x"]"#), Tally { tp: 0, fp: 1, fn_: 0 });
    }

    #[test]
    fn gold_answers_are_json_lists() {
        assert_eq!(gold_answer(["Ada", "say \"hi\""]), r#"["Ada","say \"hi\""]"#);
        assert_eq!(gold_answer([]), "[]");
    }
}
