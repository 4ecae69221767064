//! B2NER answers: `label: mention; label: mention`, or `None` when there is nothing.
//!
//! `: ` and `; ` are separators, and nothing is escaped (the upstream evaluator notes the
//! ambiguity), so the parser splits with the asked labels as a guide: an item starts with a
//! known label followed by `: ` (longest label first), and a `; ` ends a mention only where
//! another item can start. Labels outside the asked set are still read (up to the first `: `)
//! so that `eval` can count out-of-domain types.

use super::{char_at, snippet, AnswerFormat, ParseError, Prediction};
use crate::model::Entity;

/// The answer when there is no entity.
pub const NONE: &str = "None";
const ITEM_SEP: &str = "; ";
const LABEL_SEP: &str = ": ";

/// Writes the entities (already in text order).
pub(super) fn render(entities: &[&Entity]) -> String {
    if entities.is_empty() {
        return NONE.to_string();
    }
    let items: Vec<String> = entities.iter().map(|e| format!("{}{LABEL_SEP}{}", e.label, e.text)).collect();
    items.join(ITEM_SEP)
}

/// Reads an answer; surrounding whitespace is ignored (B2NER's own targets start with a space).
pub(super) fn parse(labels: &[String], answer: &str) -> Result<Vec<Prediction>, ParseError> {
    let s = answer.trim();
    if s == NONE {
        return Ok(Vec::new());
    }
    let mut by_length: Vec<&str> = labels.iter().map(String::as_str).collect();
    by_length.sort_by_key(|l| std::cmp::Reverse(l.len()));
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let (label, mention_start) = label_at(s, pos, &by_length)?;
        let mention_end = mention_end(s, mention_start, &by_length);
        let mention = &s[mention_start..mention_end];
        if mention.is_empty() {
            return Err(syntax(s, mention_start, "a mention after `label: `"));
        }
        out.push(Prediction { label: label.to_string(), mention: mention.to_string(), span: None });
        if mention_end == s.len() {
            return Ok(out);
        }
        pos = mention_end + ITEM_SEP.len();
    }
}

/// The label of the item starting at `pos` and where its mention starts.
fn label_at<'s>(s: &'s str, pos: usize, by_length: &[&str]) -> Result<(&'s str, usize), ParseError> {
    let rest = &s[pos..];
    if let Some(label) = by_length.iter().find(|l| rest.starts_with(*l) && rest[l.len()..].starts_with(LABEL_SEP)) {
        return Ok((&rest[..label.len()], pos + label.len() + LABEL_SEP.len()));
    }
    match rest.find(LABEL_SEP) {
        Some(0) | None => Err(syntax(s, pos, "`label: mention` (or `None`)")),
        Some(k) => Ok((&rest[..k], pos + k + LABEL_SEP.len())),
    }
}

/// Where the mention starting at `from` ends: at the first `; ` after which another item can
/// start (a known label and `: `, or any text with a `: ` before the next `; `), else at the end.
fn mention_end(s: &str, from: usize, by_length: &[&str]) -> usize {
    let mut search = from;
    while let Some(k) = s[search..].find(ITEM_SEP).map(|k| k + search) {
        let next = &s[k + ITEM_SEP.len()..];
        let known = by_length.iter().any(|l| next.starts_with(*l) && next[l.len()..].starts_with(LABEL_SEP));
        let segment = next.find(ITEM_SEP).map_or(next, |e| &next[..e]);
        if k > from && (known || segment.find(LABEL_SEP).is_some_and(|p| p > 0)) {
            return k;
        }
        search = k + 1;
    }
    s.len()
}

fn syntax(s: &str, at: usize, expected: &str) -> ParseError {
    ParseError::Syntax { format: AnswerFormat::B2ner, at: char_at(s, at), expected: expected.to_string(), found: snippet(s, at) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ls: &[&str]) -> Vec<String> {
        ls.iter().map(|s| s.to_string()).collect()
    }

    fn pairs(p: Vec<Prediction>) -> Vec<(String, String)> {
        p.into_iter().map(|p| (p.label, p.mention)).collect()
    }

    #[test]
    fn reads_the_readme_demo_with_arrow_labels() {
        // B2NER README demo output (FORMATS.md), with B2NER's leading space.
        let ls = labels(&["组织机构名->公司", "人名", "作品名->游戏作品"]);
        let got = parse(&ls, " 组织机构名->公司: 暴雪中国; 人名: Moon; 作品名->游戏作品: 星际争霸2; 人名: Infi").unwrap();
        assert_eq!(
            pairs(got),
            vec![
                ("组织机构名->公司".into(), "暴雪中国".into()),
                ("人名".into(), "Moon".into()),
                ("作品名->游戏作品".into(), "星际争霸2".into()),
                ("人名".into(), "Infi".into())
            ]
        );
        assert_eq!(parse(&ls, " None").unwrap(), vec![]);
    }

    #[test]
    fn separators_inside_mentions_and_unknown_labels() {
        let ls = labels(&["work", "date or period"]);
        let got = parse(&ls, "work: Star Wars: Episode IV; date or period: 2 weeks; ago; city: Paris").unwrap();
        assert_eq!(
            pairs(got),
            vec![
                ("work".into(), "Star Wars: Episode IV".into()),
                ("date or period".into(), "2 weeks; ago".into()),
                ("city".into(), "Paris".into())
            ]
        );
    }

    #[test]
    fn malformed_answers_are_errors() {
        let ls = labels(&["person"]);
        for bad in ["", "Barak", "person: ", ": Barak"] {
            let err = parse(&ls, bad).unwrap_err();
            assert!(matches!(err, ParseError::Syntax { .. }), "{bad:?}: {err}");
        }
        let msg = parse(&ls, "person: A; Barak").map(pairs).unwrap();
        assert_eq!(msg, vec![("person".into(), "A; Barak".into())], "no `: ` after `; ` means the mention goes on");
    }
}
