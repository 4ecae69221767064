//! CrossNER / CoNLL-style reader: `TOKEN<TAB>TAG` per line, a blank line between sentences,
//! IOB2 tags.
//!
//! One sentence is one record and one sample. The text is the tokens joined with one space;
//! entity offsets are code points. Tolerated and counted (never hidden): a UTF-8 BOM, CRLF
//! line ends, `-DOCSTART-` lines, runs of blank lines, a missing final blank line, and an
//! `I-X` that does not continue an `X` entity (repaired to `B-X`, noted `repaired_bio`).
//! A malformed line (wrong field count, empty token, unknown tag, invalid UTF-8)
//! quarantines its whole sentence, naming the first bad line.

use super::{FileContext, ReadError, Reader, Sink};
use crate::io::IoError;
use crate::model::{Entity, SourceFormat, Span};
use std::io::BufRead;

/// Reads CrossNER CoNLL files. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct CrossnerReader;

/// One tag of an IOB2 sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag<'a> {
    /// Outside any entity.
    Outside,
    /// First token of an entity of this type.
    Begin(&'a str),
    /// A following token of an entity of this type.
    Inside(&'a str),
}

impl<'a> Tag<'a> {
    /// Parses `O`, `B-type` or `I-type`.
    pub fn parse(tag: &'a str) -> Option<Tag<'a>> {
        match tag.split_once('-') {
            _ if tag == "O" => Some(Tag::Outside),
            Some(("B", t)) if !t.is_empty() => Some(Tag::Begin(t)),
            Some(("I", t)) if !t.is_empty() => Some(Tag::Inside(t)),
            _ => None,
        }
    }
}

/// The problem that quarantines a sentence: first bad line, reason code, message.
struct Defect {
    line: u64,
    reason: &'static str,
    message: String,
}

/// A sentence being collected.
#[derive(Default)]
struct Sentence {
    first_line: u64,
    tokens: Vec<String>,
    tags: Vec<String>,
    raw: String,
    defect: Option<Defect>,
}

impl Sentence {
    fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.defect.is_none()
    }

    fn reject(&mut self, line: u64, reason: &'static str, message: String) {
        if self.defect.is_none() {
            self.defect = Some(Defect { line, reason, message });
        }
    }

    fn push_raw(&mut self, line: &str) {
        if self.raw.len() < crate::model::QuarantineRecord::RAW_LIMIT {
            self.raw.push_str(line);
            self.raw.push('\n');
        }
    }
}

/// Entities of a tagged token sequence, with the number of `I-` tags repaired to `B-`.
/// `tokens` and `tags` have equal length; offsets assume tokens joined by one space.
pub fn decode_iob2(tokens: &[String], tags: &[Tag<'_>]) -> (Vec<Entity>, u64) {
    let mut entities = Vec::new();
    let mut repaired = 0;
    let mut open: Option<(usize, u32, &str)> = None; // (first token, start char, type)
    let mut pos: u32 = 0;
    let mut starts = Vec::with_capacity(tokens.len());
    for t in tokens {
        starts.push(pos);
        pos += t.chars().count() as u32 + 1;
    }
    let close = |open: &mut Option<(usize, u32, &str)>, last: usize, entities: &mut Vec<Entity>| {
        if let Some((first, start, label)) = open.take() {
            let end = starts[last] + tokens[last].chars().count() as u32;
            let text = tokens[first..=last].join(" ");
            entities.push(Entity::new(Span::new(start, end).expect("start <= end"), label, text));
        }
    };
    for (i, tag) in tags.iter().enumerate() {
        match *tag {
            Tag::Outside => close(&mut open, i.wrapping_sub(1), &mut entities),
            Tag::Begin(t) => {
                close(&mut open, i.wrapping_sub(1), &mut entities);
                open = Some((i, starts[i], t));
            }
            Tag::Inside(t) => match open {
                Some((_, _, cur)) if cur == t => {}
                _ => {
                    repaired += 1;
                    close(&mut open, i.wrapping_sub(1), &mut entities);
                    open = Some((i, starts[i], t));
                }
            },
        }
    }
    if !tags.is_empty() {
        close(&mut open, tags.len() - 1, &mut entities);
    }
    (entities, repaired)
}

impl CrossnerReader {
    fn flush(&self, ctx: &FileContext, index: &mut u64, s: Sentence, sink: &mut dyn Sink) -> Result<(), ReadError> {
        if s.is_empty() {
            return Ok(());
        }
        let record = *index;
        *index += 1;
        sink.counts().read += 1;
        if let Some(d) = s.defect {
            let q = ctx.quarantine(Some(d.line), Some(record), d.reason, d.message, &s.raw);
            return sink.quarantine(q);
        }
        let tags: Vec<Tag<'_>> = s.tags.iter().map(|t| Tag::parse(t).expect("validated when read")).collect();
        let (entities, repaired) = decode_iob2(&s.tokens, &tags);
        sink.counts().note("repaired_bio", repaired);
        let mut sample = ctx.new_sample(SourceFormat::Crossner, record, s.tokens.join(" "));
        if s.tokens.iter().any(|t| t.contains(char::is_whitespace)) {
            // Splitting the text on spaces would not give the tokens back: keep them.
            sample.meta.insert("tokens".into(), serde_json::json!(s.tokens));
        }
        let mut label_set: Vec<String> = Vec::new();
        for e in &entities {
            if !label_set.contains(&e.label) {
                label_set.push(e.label.clone());
            }
        }
        sample.entities = entities;
        sample.label_set = label_set;
        sink.sample(sample)
    }
}

impl Reader for CrossnerReader {
    fn format(&self) -> SourceFormat {
        SourceFormat::Crossner
    }

    fn wants(&self, path: &std::path::Path) -> bool {
        matches!(path.extension().and_then(|e| e.to_str()), Some("txt" | "conll" | "bio" | "iob2"))
    }

    fn read(&self, ctx: &FileContext, input: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ReadError> {
        let mut buf = Vec::with_capacity(256);
        let mut line_no: u64 = 0;
        let mut index: u64 = 0;
        let mut sentence = Sentence::default();
        loop {
            buf.clear();
            let n = input.read_until(b'\n', &mut buf).map_err(|e| IoError::new(&ctx.path, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
                sink.counts().note("crlf", 1);
            }
            if line_no == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
                buf.drain(..3);
                sink.counts().note("bom", 1);
            }
            let line = match std::str::from_utf8(&buf) {
                Ok(l) => l,
                Err(e) => {
                    let lossy = String::from_utf8_lossy(&buf).into_owned();
                    sentence.push_raw(&lossy);
                    if sentence.tokens.is_empty() {
                        sentence.first_line = line_no;
                    }
                    sentence.reject(line_no, "invalid_utf8", format!("expected UTF-8 text: {e}"));
                    sentence.tokens.push(String::new());
                    sentence.tags.push(String::new());
                    continue;
                }
            };
            if line.trim().is_empty() {
                let done = std::mem::take(&mut sentence);
                self.flush(ctx, &mut index, done, sink)?;
                continue;
            }
            if line.starts_with("-DOCSTART-") {
                sink.counts().note("docstart", 1);
                let done = std::mem::take(&mut sentence);
                self.flush(ctx, &mut index, done, sink)?;
                continue;
            }
            if sentence.is_empty() {
                sentence.first_line = line_no;
            }
            sentence.push_raw(line);
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [token, tag] => {
                    if token.trim().is_empty() {
                        sentence.reject(line_no, "empty_token", "expected a non-empty token before the tab".into());
                    } else if Tag::parse(tag).is_none() {
                        sentence.reject(line_no, "bad_tag", format!("expected an IOB2 tag (O, B-type, I-type), found {tag:?}"));
                    }
                    sentence.tokens.push((*token).to_string());
                    sentence.tags.push((*tag).to_string());
                }
                _ => {
                    let msg = format!("expected 2 tab-separated fields (TOKEN<TAB>TAG), found {}", fields.len());
                    sentence.reject(line_no, "bad_field_count", msg);
                    sentence.tokens.push(String::new());
                    sentence.tags.push(String::new());
                }
            }
        }
        self.flush(ctx, &mut index, sentence, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::{LangPolicy, VecSink};
    use std::path::Path;

    fn read(input: &str) -> VecSink {
        let ctx = FileContext::derive(Path::new("t/politics_train.txt"), SourceFormat::Crossner, None, None, &LangPolicy::Auto);
        let mut sink = VecSink::default();
        sink.counts.stage = "ingest".into();
        CrossnerReader.read(&ctx, &mut input.as_bytes(), &mut sink).unwrap();
        sink.counts.check().unwrap();
        sink
    }

    fn spans(sink: &VecSink, i: usize) -> Vec<(u32, u32, &str, &str)> {
        sink.samples[i].entities.iter().map(|e| (e.span.start(), e.span.end(), e.label.as_str(), e.text.as_str())).collect()
    }

    #[test]
    fn decodes_iob2_into_code_point_spans() {
        let s = read("Baden-Württemberg\tB-location\nis\tO\nin\tO\nUnited\tB-country\nKingdom\tI-country\n");
        assert_eq!(s.samples[0].text, "Baden-Württemberg is in United Kingdom");
        assert_eq!(spans(&s, 0), vec![(0, 17, "location", "Baden-Württemberg"), (24, 38, "country", "United Kingdom")]);
        assert_eq!(s.samples[0].id, "crossner_politics/train/politics_train:0");
        s.samples[0].check().unwrap();
    }

    #[test]
    fn adjacent_b_tags_make_two_entities() {
        let s = read("A\tB-person\nB\tB-person\nC\tI-person\n");
        assert_eq!(spans(&s, 0), vec![(0, 1, "person", "A"), (2, 5, "person", "B C")]);
    }

    #[test]
    fn stray_inside_tags_are_repaired_and_counted() {
        let s = read("a\tO\nb\tI-misc\nc\tI-person\n");
        assert_eq!(spans(&s, 0), vec![(2, 3, "misc", "b"), (4, 5, "person", "c")]);
        assert_eq!(s.counts.notes["repaired_bio"], 2);
    }

    #[test]
    fn tolerates_bom_crlf_docstart_and_blank_runs() {
        let s = read("\u{feff}-DOCSTART-\tO\r\n\r\nA\tB-person\r\n\r\n\r\n\r\nB\tO\r\n");
        assert_eq!(s.samples.len(), 2);
        assert_eq!(s.counts.notes["bom"], 1);
        assert_eq!(s.counts.notes["docstart"], 1);
        assert_eq!(s.counts.notes["crlf"], 7);
        assert_eq!(s.samples[1].id, "crossner_politics/train/politics_train:1");
    }

    #[test]
    fn malformed_lines_quarantine_their_sentence_only() {
        let s = read("a\tO\n\nb\tO\tX\nc\tO\n\n\tO\n\nd\tQ-x\n\ne\tO\n");
        assert_eq!(s.samples.iter().map(|x| x.text.as_str()).collect::<Vec<_>>(), vec!["a", "e"]);
        let reasons: Vec<_> = s.quarantined.iter().map(|q| (q.line, q.reason.as_str())).collect();
        assert_eq!(reasons, vec![(Some(3), "bad_field_count"), (Some(6), "empty_token"), (Some(8), "bad_tag")]);
        assert_eq!(s.quarantined[0].raw, "b\tO\tX\nc\tO\n");
        assert_eq!(s.samples[1].id, "crossner_politics/train/politics_train:4");
    }

    #[test]
    fn invalid_utf8_is_quarantined() {
        let ctx = FileContext::derive(Path::new("t.txt"), SourceFormat::Crossner, Some("d"), None, &LangPolicy::Auto);
        let mut sink = VecSink::default();
        CrossnerReader.read(&ctx, &mut &b"a\tO\n\n\xff\tO\n"[..], &mut sink).unwrap();
        assert_eq!(sink.samples.len(), 1);
        assert_eq!(sink.quarantined[0].reason, "invalid_utf8");
    }
}
