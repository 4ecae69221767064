//! CoNLL / CrossNER writer: one `TOKEN<TAB>TAG` line per token, IOB2 tags, a blank line
//! after every sentence.
//!
//! Tokens come from the sample's `meta.tokens` when the reader kept them, otherwise from
//! splitting the text on whitespace. BIO cannot express overlapping spans or spans that cut
//! a token: such entities are left out of the tags and counted
//! (`entity_overlaps_another`, `entity_not_on_token_boundary`); samples without tokens are
//! skipped and counted (`empty_text`).

use crate::io::{write_atomic_with, IoError};
use crate::model::Sample;
use crate::report::Counts;
use crate::table::{TableError, TableReader};
use std::io::Write;
use std::path::Path;

/// Exporting failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the input table failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Writing the output failed.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// A token with its code-point span in the sample text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    start: u32,
    end: u32,
}

/// Tokens of `sample`: the reader's own if kept in `meta.tokens`, else whitespace runs.
fn tokens_of(sample: &Sample) -> Vec<Token> {
    if let Some(list) = sample.meta.get("tokens").and_then(|v| v.as_array()) {
        let mut pos = 0u32;
        return list
            .iter()
            .map(|t| {
                let text = t.as_str().unwrap_or_default().to_string();
                let len = text.chars().count() as u32;
                let tok = Token { text, start: pos, end: pos + len };
                pos += len + 1;
                tok
            })
            .collect();
    }
    let mut out = Vec::new();
    let mut current: Option<Token> = None;
    for (i, c) in sample.text.chars().enumerate() {
        let i = i as u32;
        if c.is_whitespace() {
            out.extend(current.take());
        } else {
            let tok = current.get_or_insert_with(|| Token { text: String::new(), start: i, end: i });
            tok.text.push(c);
            tok.end = i + 1;
        }
    }
    out.extend(current);
    out
}

/// IOB2 tags for one sample's tokens, counting entities that cannot be expressed.
fn tags_of(sample: &Sample, tokens: &[Token], counts: &mut Counts) -> Vec<String> {
    let mut tags = vec!["O".to_string(); tokens.len()];
    let mut taken = vec![false; tokens.len()];
    for e in &sample.entities {
        let first = tokens.iter().position(|t| t.start == e.span.start());
        let last = tokens.iter().position(|t| t.end == e.span.end());
        let (Some(first), Some(last)) = (first, last) else {
            counts.note("entity_not_on_token_boundary", 1);
            continue;
        };
        if first > last || taken[first..=last].iter().any(|&t| t) {
            counts.note("entity_overlaps_another", 1);
            continue;
        }
        for (k, tag) in tags[first..=last].iter_mut().enumerate() {
            *tag = format!("{}-{}", if k == 0 { "B" } else { "I" }, e.label);
        }
        taken[first..=last].iter_mut().for_each(|t| *t = true);
    }
    tags
}

/// Writes the samples of `input` to `output` as CoNLL; returns the counts
/// (records are samples, written are sentences).
pub fn export_conll(input: &Path, output: &Path) -> Result<Counts, ExportError> {
    let mut counts = Counts::new("export");
    write_atomic_with(output, |w| -> Result<(), ExportError> {
        for batch in TableReader::<Sample>::open(input)? {
            for sample in batch? {
                counts.read += 1;
                let tokens = tokens_of(&sample);
                if tokens.is_empty() {
                    counts.skip("empty_text", 1);
                    continue;
                }
                let tags = tags_of(&sample, &tokens, &mut counts);
                let io = |e| IoError::new(output, e);
                for (t, tag) in tokens.iter().zip(&tags) {
                    writeln!(w, "{}\t{}", t.text, tag).map_err(io)?;
                }
                writeln!(w).map_err(io)?;
                counts.written += 1;
            }
        }
        Ok(())
    })?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, SourceFormat, Span};

    fn sample(text: &str, ents: &[(u32, u32, &str)]) -> Sample {
        let mut s = Sample::new("i", "d", SourceFormat::B2nerd, "train", "en", text);
        for &(a, b, l) in ents {
            let t: String = text.chars().skip(a as usize).take((b - a) as usize).collect();
            s.entities.push(Entity::new(Span::new(a, b).unwrap(), l, t));
        }
        s
    }

    #[test]
    fn tags_follow_token_spans() {
        let s = sample("New  York is big", &[(0, 9, "loc")]);
        let toks = tokens_of(&s);
        assert_eq!(toks.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), vec!["New", "York", "is", "big"]);
        let mut c = Counts::new("export");
        assert_eq!(tags_of(&s, &toks, &mut c), vec!["B-loc", "I-loc", "O", "O"]);
    }

    #[test]
    fn inexpressible_entities_are_counted() {
        let s = sample("Kurdistan Party of Iran", &[(0, 23, "org"), (19, 23, "loc"), (0, 5, "x")]);
        let mut c = Counts::new("export");
        let tags = tags_of(&s, &tokens_of(&s), &mut c);
        assert_eq!(tags, vec!["B-org", "I-org", "I-org", "I-org"]);
        assert_eq!(c.notes["entity_overlaps_another"], 1);
        assert_eq!(c.notes["entity_not_on_token_boundary"], 1);
    }
}
