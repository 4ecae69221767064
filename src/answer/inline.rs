//! Inline answers (seed 003): the sentence rewritten with each entity enclosed, as
//! `[mention LABEL]` (bracket) or `<LABEL>mention</LABEL>` (XML); nested entities nest.
//!
//! Nothing is escaped, so brackets or angle brackets in the text, and labels with spaces or
//! `->`, make the markup ambiguous in places. The parser therefore walks the answer against
//! the original text: a character that continues the text is text, anything else must be
//! markup, and the asked labels are tried before other label spellings. Where both readings
//! fit, it backtracks (within a step budget) until the whole answer reproduces the text.

use super::{char_at, snippet, AnswerContext, AnswerFormat, ParseError, Prediction, RenderError};
use crate::model::{CharIndex, Entity, Span};

/// Longest label spelling accepted outside the asked label set.
const MAX_FREE_LABEL: usize = 64;

/// Writes `text` with the entities (in text order) enclosed.
pub(super) fn render(
    format: AnswerFormat,
    text: &str,
    index: &CharIndex,
    sorted: &[&Entity],
) -> Result<String, RenderError> {
    check_nesting(format, sorted)?;
    let mut out = String::with_capacity(text.len() + 24 * sorted.len());
    let mut open: Vec<&Entity> = Vec::new();
    let mut next = 0;
    for (pos, c) in (0u32..).zip(text.chars()) {
        close_until(format, &mut out, &mut open, pos);
        while next < sorted.len() && sorted[next].span.start() == pos {
            write_open(format, &mut out, &sorted[next].label);
            open.push(sorted[next]);
            next += 1;
        }
        out.push(c);
    }
    close_until(format, &mut out, &mut open, index.len_chars() as u32);
    Ok(out)
}

/// Spans must nest or be disjoint; two that cross cannot be written inline.
fn check_nesting(format: AnswerFormat, sorted: &[&Entity]) -> Result<(), RenderError> {
    let mut stack: Vec<Span> = Vec::new();
    for e in sorted {
        while stack.last().is_some_and(|t| t.end() <= e.span.start()) {
            stack.pop();
        }
        if let Some(&t) = stack.last()
            && e.span.end() > t.end()
        {
            return Err(RenderError::CrossingSpans { format, a: t, b: e.span });
        }
        stack.push(e.span);
    }
    Ok(())
}

fn close_until(format: AnswerFormat, out: &mut String, open: &mut Vec<&Entity>, pos: u32) {
    while let Some(e) = open.last().filter(|e| e.span.end() <= pos) {
        match format {
            AnswerFormat::InlineXml => {
                out.push_str("</");
                out.push_str(&e.label);
                out.push('>');
            }
            _ => {
                out.push(' ');
                out.push_str(&e.label);
                out.push(']');
            }
        }
        open.pop();
    }
}

fn write_open(format: AnswerFormat, out: &mut String, label: &str) {
    match format {
        AnswerFormat::InlineXml => {
            out.push('<');
            out.push_str(label);
            out.push('>');
        }
        _ => out.push('['),
    }
}

/// One step of the walk.
#[derive(Debug, Clone)]
enum Move {
    /// Answer and text advance together by this many bytes.
    Text(usize),
    /// Markup of this many bytes opens an entity (XML knows its label now).
    Open(usize, Option<String>),
    /// Markup of this many bytes closes the innermost entity with this label.
    Close(usize, String),
}

/// Where the walk is: bytes into the answer and the text, the open entities (text byte,
/// order opened, label if known) and the finished ones.
#[derive(Debug, Clone, Default)]
struct Walk {
    i: usize,
    j: usize,
    opened: usize,
    open: Vec<(usize, usize, Option<String>)>,
    done: Vec<(usize, usize, usize, String)>,
}

impl Walk {
    fn apply(&mut self, m: Move) {
        match m {
            Move::Text(n) => {
                self.i += n;
                self.j += n;
            }
            Move::Open(n, label) => {
                self.i += n;
                self.open.push((self.j, self.opened, label));
                self.opened += 1;
            }
            Move::Close(n, label) => {
                self.i += n;
                if let Some((start, order, _)) = self.open.pop() {
                    self.done.push((order, start, self.j, label));
                }
            }
        }
    }
}

/// Reads an inline answer against `ctx.text`.
pub(super) fn parse(format: AnswerFormat, ctx: AnswerContext<'_>, answer: &str) -> Result<Vec<Prediction>, ParseError> {
    let mut labels: Vec<&str> = ctx.labels.iter().map(String::as_str).collect();
    labels.sort_by_key(|l| std::cmp::Reverse(l.len()));
    let (a, t) = (answer, ctx.text);
    let budget = 32 * (a.len() + 64);
    let mut steps = 0usize;
    let mut furthest = 0usize;
    let mut pending = vec![Walk::default()];
    while let Some(mut walk) = pending.pop() {
        loop {
            if walk.i == a.len() && walk.j == t.len() && walk.open.is_empty() {
                return Ok(predictions(t, walk.done));
            }
            steps += 1;
            if steps > budget {
                return Err(ParseError::Syntax {
                    format,
                    at: char_at(a, furthest),
                    expected: format!("markup that can be read one way (gave up after {budget} steps)"),
                    found: snippet(a, furthest),
                });
            }
            furthest = furthest.max(walk.i);
            if let Some(n) = plain_text(format, a, t, &walk) {
                walk.apply(Move::Text(n));
                continue;
            }
            let mut moves = moves(format, &labels, a, t, &walk);
            if moves.is_empty() {
                break;
            }
            let first = moves.remove(0);
            for alt in moves.into_iter().rev() {
                let mut w = walk.clone();
                w.apply(alt);
                pending.push(w);
            }
            walk.apply(first);
        }
    }
    let expected = match format {
        AnswerFormat::InlineXml => "the text, `<LABEL>` or the closing tag of the open entity",
        _ => "the text, `[`, or ` LABEL]` closing an open entity",
    };
    Err(ParseError::Syntax { format, at: char_at(a, furthest), expected: expected.to_string(), found: snippet(a, furthest) })
}

/// The common case, decided without building the move list: the answer continues the text
/// with a character that cannot start markup here. Returns its length in bytes.
fn plain_text(format: AnswerFormat, a: &str, t: &str, w: &Walk) -> Option<usize> {
    let c = a[w.i..].chars().next()?;
    let markup = match format {
        AnswerFormat::InlineXml => c == '<',
        _ => c == '[' || (c == ' ' && !w.open.is_empty()),
    };
    (!markup && t[w.j..].starts_with(c)).then(|| c.len_utf8())
}

/// The possible next steps, most likely first: closing with an asked label, continuing the
/// text, opening, and last closing with a label outside the asked set.
fn moves(format: AnswerFormat, labels: &[&str], a: &str, t: &str, w: &Walk) -> Vec<Move> {
    let rest = &a[w.i..];
    let mut out = Vec::new();
    let literal = t[w.j..].chars().next().filter(|&c| rest.starts_with(c)).map(|c| Move::Text(c.len_utf8()));
    match format {
        AnswerFormat::InlineXml => {
            if let Some((_, _, Some(top))) = w.open.last() {
                let close = format!("</{top}>");
                if rest.starts_with(&close) {
                    out.push(Move::Close(close.len(), top.clone()));
                }
            }
            out.extend(literal);
            if rest.starts_with('<') && !rest.starts_with("</") {
                let known = labels.iter().find(|l| rest[1..].starts_with(*l) && rest[1 + l.len()..].starts_with('>'));
                match known {
                    Some(l) => out.push(Move::Open(l.len() + 2, Some(l.to_string()))),
                    None => {
                        if let Some(name) = free_label(&rest[1..], '>', '<') {
                            out.push(Move::Open(name.len() + 2, Some(name.to_string())));
                        }
                    }
                }
            }
        }
        _ => {
            let closing = !w.open.is_empty() && rest.starts_with(' ');
            let known = labels.iter().find(|l| closing && rest[1..].starts_with(*l) && rest[1 + l.len()..].starts_with(']'));
            if let Some(l) = known {
                out.push(Move::Close(l.len() + 2, l.to_string()));
            }
            out.extend(literal);
            if rest.starts_with('[') {
                out.push(Move::Open(1, None));
            }
            if closing
                && known.is_none()
                && let Some(name) = free_label(&rest[1..], ']', '[')
            {
                out.push(Move::Close(name.len() + 2, name.to_string()));
            }
        }
    }
    out
}

/// A label outside the asked set: the text up to `end`, short, on one line, without `bad`.
fn free_label(s: &str, end: char, bad: char) -> Option<&str> {
    let k = s.find(end)?;
    let name = &s[..k];
    let ok = !name.is_empty()
        && name.len() <= MAX_FREE_LABEL
        && !name.contains(bad)
        && !name.contains('\n')
        && !name.starts_with(' ')
        && !name.starts_with('/');
    ok.then_some(name)
}

/// Finished entities in the order they were opened (text order, outer first).
fn predictions(text: &str, mut done: Vec<(usize, usize, usize, String)>) -> Vec<Prediction> {
    done.sort_by_key(|d| d.0);
    let index = CharIndex::new(text);
    done.into_iter()
        .map(|(_, start, end, label)| {
            let span = match (index.char_of_byte(start), index.char_of_byte(end)) {
                (Some(s), Some(e)) => Span::new(s, e).ok(),
                _ => None,
            };
            Prediction { label, mention: text[start..end].to_string(), span }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (label, mention, (start, end)) of each prediction.
    type Read = Vec<(String, String, (u32, u32))>;

    fn read(format: AnswerFormat, text: &str, labels: &[&str], answer: &str) -> Result<Read, ParseError> {
        let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let ctx = AnswerContext { text, labels: &labels };
        Ok(parse(format, ctx, answer)?
            .into_iter()
            .map(|p| {
                let s = p.span.unwrap();
                (p.label, p.mention, (s.start(), s.end()))
            })
            .collect())
    }

    #[test]
    fn labels_with_spaces_and_arrows() {
        let text = "Barak announced 2 weeks ago that he would go";
        let got = read(
            AnswerFormat::InlineBracket,
            text,
            &["person", "date or period"],
            "[Barak person] announced [2 weeks ago date or period] that he would go",
        )
        .unwrap();
        assert_eq!(got[1], ("date or period".into(), "2 weeks ago".into(), (16, 27)));
        let zh = "暴雪中国发布了星际争霸2";
        let got = read(AnswerFormat::InlineXml, zh, &["组织机构名->公司"], "<组织机构名->公司>暴雪中国</组织机构名->公司>发布了<作品>星际争霸2</作品>").unwrap();
        assert_eq!(got[0], ("组织机构名->公司".into(), "暴雪中国".into(), (0, 4)));
        assert_eq!(got[1], ("作品".into(), "星际争霸2".into(), (7, 12)), "labels outside the set are read too");
    }

    #[test]
    fn brackets_in_the_text_backtrack() {
        let text = "see [1] and <b> here";
        let got = read(AnswerFormat::InlineBracket, text, &["ref"], "see [[1 ref]] and <b> here").unwrap();
        assert_eq!(got, vec![("ref".into(), "1".into(), (5, 6))]);
        let got = read(AnswerFormat::InlineXml, text, &["tag"], "see [1] and <tag><b></tag> here").unwrap();
        assert_eq!(got, vec![("tag".into(), "<b>".into(), (12, 15))]);
        let got = read(AnswerFormat::InlineBracket, text, &["x"], "see [1] and <b> [here unknown label]").unwrap();
        assert_eq!(got, vec![("unknown label".into(), "here".into(), (16, 20))]);
    }

    #[test]
    fn an_entity_starting_with_a_text_bracket_reads_the_other_way() {
        // `[1]` and `1]` both render as `[[1] ref]`: the parser reads text first, so the
        // round-trip check catches the entity `emit` could not write unambiguously.
        let text = "see [1] here";
        let labels = vec!["ref".to_string()];
        let ctx = AnswerContext { text, labels: &labels };
        let ents = vec![Entity::new(Span::new(4, 7).unwrap(), "ref", "[1]")];
        let answer = super::super::render(AnswerFormat::InlineBracket, ctx, &ents).unwrap();
        assert_eq!(answer, "see [[1] ref] here");
        assert_eq!(read(AnswerFormat::InlineBracket, text, &["ref"], &answer).unwrap()[0].1, "1]");
        assert!(!super::super::round_trips(AnswerFormat::InlineBracket, ctx, &ents, &answer));
    }

    #[test]
    fn answers_that_change_the_text_are_errors() {
        let text = "Barak met Peres";
        for (format, bad) in [
            (AnswerFormat::InlineBracket, "[Barak person] met Perez"),
            (AnswerFormat::InlineBracket, "[Barak person met Peres"),
            (AnswerFormat::InlineXml, "<person>Barak</location> met Peres"),
            (AnswerFormat::InlineXml, "<person>Barak met Peres"),
        ] {
            let err = read(format, text, &["person"], bad).unwrap_err();
            assert!(matches!(err, ParseError::Syntax { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn same_span_with_two_labels_nests() {
        let text = "Paris is nice";
        let e1 = Entity::new(Span::new(0, 5).unwrap(), "city", "Paris");
        let e2 = Entity::new(Span::new(0, 5).unwrap(), "location", "Paris");
        let sorted = vec![&e1, &e2];
        let out = render(AnswerFormat::InlineBracket, text, &CharIndex::new(text), &sorted).unwrap();
        assert_eq!(out, "[[Paris location] city] is nice");
        let got = read(AnswerFormat::InlineBracket, text, &["city", "location"], &out).unwrap();
        assert_eq!(got.len(), 2);
    }
}
