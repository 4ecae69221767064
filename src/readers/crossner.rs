//! CrossNER / CoNLL-style reader: `TOKEN<TAB>TAG` per line, a blank line between sentences,
//! IOB2 tags.
//!
//! One sentence is one record and one sample. The text is the tokens joined with one space;
//! entity offsets are code points. Tolerated and counted (never hidden): a UTF-8 BOM, CRLF
//! line ends, `-DOCSTART-` lines, runs of blank lines, a missing final blank line, and an
//! `I-X` that does not continue an `X` entity (repaired to `B-X`, noted `repaired_bio`).
//! A malformed line (wrong field count, empty token, unknown tag, invalid UTF-8)
//! quarantines its whole sentence, naming the first bad line.

use super::byte_search::mask16;
use super::lines::{for_each_line, Line, LineUnits};
use super::{open_digested, FileContext, FileState, Naming, Part, ReadError, Reader, Sink, Unit, UnitBody, Units};
use crate::model::{Entity, SourceFormat, Span};
use std::path::Path;
use std::sync::Arc;

/// Reads CrossNER CoNLL files. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct CrossnerReader {
    /// Dataset, split and language choices.
    pub naming: Naming,
}

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
        match tag.as_bytes() {
            b"O" => Some(Tag::Outside),
            [b'B', b'-', _, ..] => Some(Tag::Begin(&tag[2..])),
            [b'I', b'-', _, ..] => Some(Tag::Inside(&tag[2..])),
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

/// A token of the sentence being collected: its place in `Sentence::text`.
#[derive(Debug, Clone, Copy)]
struct Token {
    /// Byte range in the text.
    bytes: (u32, u32),
    /// Code-point offset of the first character.
    start: u32,
    /// Length in code points.
    chars: u32,
}

/// One token's tag with its label interned in `Sentence::labels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagId {
    Outside,
    Begin(u32),
    Inside(u32),
}

/// A sentence being collected. Buffers are reused from one sentence to the next, so a
/// sentence costs no allocation beyond the sample it becomes.
#[derive(Default)]
struct Sentence {
    text: String,
    tokens: Vec<Token>,
    tags: Vec<TagId>,
    labels: Vec<String>,
    /// True when a token holds whitespace, so the text cannot be split back into tokens.
    spaced_token: bool,
    /// Where each of its lines lies in the unit (start, length), for the raw text of a
    /// quarantine record: copying every line for the rare sentence that fails cost more.
    raw: Vec<(usize, usize)>,
    defect: Option<Defect>,
}

impl Sentence {
    fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.defect.is_none()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.tokens.clear();
        self.tags.clear();
        self.spaced_token = false;
        self.raw.clear();
        self.defect = None;
    }

    fn reject(&mut self, line: u64, reason: &'static str, message: String) {
        if self.defect.is_none() {
            self.defect = Some(Defect { line, reason, message });
        }
    }

    fn push_raw(&mut self, at: usize, len: usize) {
        self.raw.push((at, len));
    }

    /// The sentence's lines as text, each ended by `\n`, up to the first line that starts at
    /// or after [`crate::model::QuarantineRecord::RAW_LIMIT`] bytes.
    fn raw_text(&self, unit: &[u8]) -> String {
        let mut raw = String::new();
        for &(at, len) in &self.raw {
            if raw.len() >= crate::model::QuarantineRecord::RAW_LIMIT {
                break;
            }
            raw.push_str(&String::from_utf8_lossy(&unit[at..at + len]));
            raw.push('\n');
        }
        raw
    }

    fn intern(&mut self, label: &str) -> u32 {
        match self.labels.iter().position(|l| l == label) {
            Some(i) => i as u32,
            None => {
                self.labels.push(label.to_string());
                (self.labels.len() - 1) as u32
            }
        }
    }

    /// The interned label of the previous token's tag when it is `label`: an `I-` tag
    /// mostly continues the tag before it, and this spares it the search.
    fn continued(&self, label: &str) -> Option<u32> {
        match self.tags.last() {
            Some(TagId::Begin(id) | TagId::Inside(id)) if self.labels[*id as usize] == label => Some(*id),
            _ => None,
        }
    }

    /// Appends a token and its (already validated) tag.
    fn push(&mut self, token: &str, tag: Tag<'_>) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        let start_byte = self.text.len() as u32;
        let start = self.tokens.last().map_or(0, |t| t.start + t.chars + 1);
        let (chars, spaced) = measure(token);
        self.spaced_token |= spaced;
        self.text.push_str(token);
        self.tokens.push(Token { bytes: (start_byte, self.text.len() as u32), start, chars });
        let tag = match tag {
            Tag::Outside => TagId::Outside,
            Tag::Begin(l) => TagId::Begin(self.intern(l)),
            Tag::Inside(l) => TagId::Inside(self.continued(l).unwrap_or_else(|| self.intern(l))),
        };
        self.tags.push(tag);
    }

    /// Entities of the IOB2 tags, and how many `I-` tags had to be read as `B-`.
    fn entities(&self) -> (Vec<Entity>, u64) {
        let mut entities = Vec::new();
        let mut repaired = 0;
        let mut open: Option<(usize, u32)> = None; // (first token, label)
        let close = |open: &mut Option<(usize, u32)>, last: usize, entities: &mut Vec<Entity>| {
            if let Some((first, label)) = open.take() {
                let (a, b) = (self.tokens[first], self.tokens[last]);
                let span = Span::new(a.start, b.start + b.chars).expect("tokens are in order");
                let text = &self.text[a.bytes.0 as usize..b.bytes.1 as usize];
                entities.push(Entity::new(span, &self.labels[label as usize], text));
            }
        };
        for (i, &tag) in self.tags.iter().enumerate() {
            match tag {
                TagId::Outside => close(&mut open, i.wrapping_sub(1), &mut entities),
                TagId::Begin(l) => {
                    close(&mut open, i.wrapping_sub(1), &mut entities);
                    open = Some((i, l));
                }
                TagId::Inside(l) => match open {
                    Some((_, cur)) if cur == l => {}
                    _ => {
                        repaired += 1;
                        close(&mut open, i.wrapping_sub(1), &mut entities);
                        open = Some((i, l));
                    }
                },
            }
        }
        if !self.tags.is_empty() {
            close(&mut open, self.tags.len() - 1, &mut entities);
        }
        (entities, repaired)
    }
}

/// A token's length in code points and whether it holds whitespace. An ASCII token (nearly
/// all) is measured in one pass that looks for bytes at or below the space, and only a token
/// with such a byte is searched for whitespace.
fn measure(token: &str) -> (u32, bool) {
    let bytes = token.as_bytes();
    let (mut any_high, mut any_low) = (false, false);
    for &b in bytes {
        any_high |= b >= 0x80;
        any_low |= b <= b' ';
    }
    if any_high {
        return (token.chars().count() as u32, token.contains(char::is_whitespace));
    }
    (bytes.len() as u32, any_low && bytes.iter().any(u8::is_ascii_whitespace))
}

/// True for a line that ends a sentence: blank, or a `-DOCSTART-` line. Units are cut
/// after such lines only, so a sentence never spans two units.
pub fn ends_sentence(line: &str) -> bool {
    is_blank(line) || line.starts_with("-DOCSTART-")
}

/// True for a line with nothing but whitespace (as `str::trim` has it, so a vertical tab,
/// which `u8::is_ascii_whitespace` leaves out, counts too).
fn is_blank(line: &str) -> bool {
    match line.as_bytes().first() {
        None => true,
        Some(&b) if b.is_ascii() && !(b.is_ascii_whitespace() || b == 0x0b) => false,
        _ => line.trim().is_empty(),
    }
}

impl CrossnerReader {
    fn flush(&self, ctx: &FileContext, unit: &[u8], index: &mut u64, s: &mut Sentence, sink: &mut dyn Sink) -> Result<(), ReadError> {
        if s.is_empty() {
            return Ok(());
        }
        let record = *index;
        *index += 1;
        sink.counts().read += 1;
        if let Some(d) = s.defect.take() {
            let q = ctx.quarantine(Some(d.line), Some(record), d.reason, d.message, &s.raw_text(unit));
            s.clear();
            return sink.quarantine(q);
        }
        let (entities, repaired) = s.entities();
        sink.counts().note("repaired_bio", repaired);
        // The sample takes the text; the next sentence starts from a buffer of this size.
        let next = String::with_capacity(s.text.len());
        let text = std::mem::replace(&mut s.text, next);
        let mut sample = ctx.new_sample(SourceFormat::Crossner, record, text);
        if s.spaced_token {
            // Splitting the text on spaces would not give the tokens back: keep them.
            let tokens: Vec<&str> = s.tokens.iter().map(|t| &sample.text[t.bytes.0 as usize..t.bytes.1 as usize]).collect();
            sample.meta.insert("tokens".into(), serde_json::json!(tokens));
        }
        for e in &entities {
            if !sample.label_set.contains(&e.label) {
                sample.label_set.push(e.label.clone());
            }
        }
        sample.entities = entities;
        s.clear();
        sink.sample(sample)
    }
}

const FIELDS: &str = "expected 2 tab-separated fields (TOKEN<TAB>TAG)";

/// The first tab of the line of `len` bytes at `at` in `unit`, and whether another follows.
/// Most CoNLL lines are a dozen bytes: the 16 bytes from the line's start are searched in
/// one step when the unit holds them (a byte-by-byte search mispredicted its exit on every
/// line); a longer line takes `memchr`.
fn find_tabs(unit: &[u8], at: usize, len: usize) -> (Option<usize>, bool) {
    if len <= 16
        && let Some(block) = unit[at..].first_chunk::<16>()
    {
        let mask = mask16(block, [b'\t'], false) & ((1u32 << len) - 1);
        return ((mask != 0).then(|| mask.trailing_zeros() as usize), mask & mask.wrapping_sub(1) != 0);
    }
    let line = &unit[at..at + len];
    let first = memchr::memchr(b'\t', line);
    (first, first.is_some_and(|i| memchr::memchr(b'\t', &line[i + 1..]).is_some()))
}

impl CrossnerReader {
    /// The state of input file `path`.
    pub fn file_state(&self, path: &Path) -> Arc<FileState> {
        FileState::new(self.naming.context(path, SourceFormat::Crossner))
    }

    /// Reads the lines of one unit into `sink`.
    fn read_lines(&self, ctx: &FileContext, bytes: &[u8], first_line: u64, first_record: u64, sink: &mut dyn Sink) -> Result<(), ReadError> {
        let mut index = first_record;
        let mut s = Sentence::default();
        let stats = for_each_line(bytes, first_line, |line_no, at, line| {
            let line = match line {
                Line::Text(l) => l,
                Line::Invalid(invalid, e) => {
                    s.push_raw(at, invalid.len());
                    s.reject(line_no, "invalid_utf8", format!("expected UTF-8 text: {e}"));
                    return Ok(());
                }
            };
            if is_blank(line) {
                self.flush(ctx, bytes, &mut index, &mut s, sink)?;
                return Ok(());
            }
            if line.starts_with("-DOCSTART-") {
                sink.counts().note("docstart", 1);
                self.flush(ctx, bytes, &mut index, &mut s, sink)?;
                return Ok(());
            }
            s.push_raw(at, line.len());
            if s.defect.is_some() {
                return Ok(()); // already quarantined: only its raw lines are kept
            }
            match find_tabs(bytes, at, line.len()) {
                (None, _) => s.reject(line_no, "bad_field_count", format!("{FIELDS}, found 1")),
                (Some(_), true) => {
                    let n = line.split('\t').count();
                    s.reject(line_no, "bad_field_count", format!("{FIELDS}, found {n}"));
                }
                (Some(tab), false) => {
                    let (token, tag) = (&line[..tab], &line[tab + 1..]);
                    if is_blank(token) {
                        s.reject(line_no, "empty_token", "expected a non-empty token before the tab".into());
                    } else {
                        match Tag::parse(tag) {
                            Some(tag) => s.push(token, tag),
                            None => s.reject(line_no, "bad_tag", format!("expected an IOB2 tag (O, B-type, I-type), found {tag:?}")),
                        }
                    }
                }
            }
            Ok(())
        })?;
        sink.counts().note("crlf", stats.crlf);
        sink.counts().note("bom", u64::from(stats.bom));
        self.flush(ctx, bytes, &mut index, &mut s, sink)
    }
}

impl Reader for CrossnerReader {
    fn format(&self) -> SourceFormat {
        SourceFormat::Crossner
    }

    fn wants(&self, path: &Path) -> bool {
        matches!(path.extension().and_then(|e| e.to_str()), Some("txt" | "conll" | "bio" | "iob2"))
    }

    fn units<'a>(&'a self, path: &Path) -> Result<Units<'a>, ReadError> {
        let file = self.file_state(path);
        let input = open_digested(path, &file)?;
        Ok(Box::new(LineUnits::new(file, input, ends_sentence)))
    }

    fn digests_while_reading(&self) -> bool {
        true
    }

    fn parse(&self, unit: &Unit) -> Result<Part, ReadError> {
        let mut part = Part::default();
        if let UnitBody::Lines { bytes, first_line, first_record, records } = &unit.body {
            // One sample per record at most: no reallocation while the unit is read.
            part.samples.reserve(usize::try_from(*records).unwrap_or(0));
            self.read_lines(&unit.file.ctx, bytes, *first_line, *first_record, &mut part)?;
        }
        Ok(part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::{LangPolicy, VecSink};

    proptest::proptest! {
        #[test]
        fn tabs_are_found_as_a_plain_search_finds_them(
            unit in proptest::collection::vec(proptest::sample::select(b"ab\t\n\x80".to_vec()), 0..48),
            at in 0usize..48,
            len in 0usize..40,
        ) {
            let at = at.min(unit.len());
            let len = len.min(unit.len() - at);
            let line = &unit[at..at + len];
            let tabs: Vec<usize> = line.iter().enumerate().filter(|(_, b)| **b == b'\t').map(|(i, _)| i).collect();
            proptest::prop_assert_eq!(find_tabs(&unit, at, len), (tabs.first().copied(), tabs.len() > 1));
        }

        #[test]
        fn a_token_measures_as_its_code_points_and_whitespace(token in "[a-z \t\x0b\x0c\x00-\x1fé人\u{a0}\u{2003}]{0,24}") {
            let ascii = token.is_ascii();
            let chars = if ascii { token.len() } else { token.chars().count() } as u32;
            let spaced = if ascii { token.bytes().any(|b| b.is_ascii_whitespace()) } else { token.contains(char::is_whitespace) };
            proptest::prop_assert_eq!(measure(&token), (chars, spaced));
        }
    }

    fn read_as(reader: &CrossnerReader, path: &str, input: &[u8], unit_bytes: usize) -> VecSink {
        let file = reader.file_state(Path::new(path));
        let units = LineUnits::new(file, std::io::Cursor::new(input.to_vec()), ends_sentence).with_unit_bytes(unit_bytes);
        let sink = crate::ingest::read_units(reader, Box::new(units)).unwrap();
        sink.counts.check().unwrap();
        sink
    }

    fn read(input: &str) -> VecSink {
        let whole = read_as(&CrossnerReader::default(), "t/politics_train.txt", input.as_bytes(), super::super::lines::UNIT_BYTES);
        // Cut into the smallest units: the same samples, quarantine and counts.
        let cut = read_as(&CrossnerReader::default(), "t/politics_train.txt", input.as_bytes(), 1);
        assert_eq!((&cut.samples, &cut.quarantined, &cut.counts), (&whole.samples, &whole.quarantined, &whole.counts));
        whole
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
    fn a_line_of_a_vertical_tab_is_blank() {
        // Found by the reader_crossner fuzz target: the line was read as a record, so the
        // reader counted two where the lines hold one.
        let s = read("\u{b}\n\n'\tO\nL\tO\n");
        assert_eq!((s.counts.read, s.samples.len(), s.quarantined.len()), (1, 1, 0));
        assert_eq!(s.samples[0].text, "' L");
        // The fuzz input itself: one record, quarantined for its missing tags.
        let s = read("\u{b}\n\n'\nL");
        assert_eq!((s.counts.read, s.samples.len(), s.quarantined.len()), (1, 0, 1));
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
        let reader = CrossnerReader { naming: Naming { dataset: Some("d".into()), ..Naming::default() } };
        let sink = read_as(&reader, "t.txt", b"a\tO\n\n\xff\tO\n", 1);
        assert_eq!(sink.samples[0].lang, LangPolicy::Auto.lang_for("a"));
        assert_eq!(sink.samples.len(), 1);
        assert_eq!(sink.quarantined[0].reason, "invalid_utf8");
    }

    #[test]
    fn a_docstart_line_that_is_not_utf8_is_quarantined_not_dropped() {
        // Found by the reader_crossner fuzz target (its own count took the line for a
        // `-DOCSTART-` break; the reader cannot know what the bytes say, so it keeps them).
        let reader = CrossnerReader::default();
        let sink = read_as(&reader, "t/politics_train.txt", b"-DOCSTART-electio Oo\xff\xffB-m\x1f\0c", 1);
        assert_eq!((sink.counts.read, sink.samples.len(), sink.quarantined.len()), (1, 0, 1));
        assert_eq!((sink.quarantined[0].line, sink.quarantined[0].reason.as_str()), (Some(1), "invalid_utf8"));
        assert!(sink.quarantined[0].raw.starts_with("-DOCSTART-electio Oo\u{fffd}"));
        // Followed by a good sentence, which is read as usual.
        let sink = read_as(&reader, "t/politics_train.txt", b"-DOCSTART-\xff\n\na\tO\n", 1);
        assert_eq!((sink.counts.read, sink.samples.len(), sink.quarantined.len()), (2, 1, 1));
    }
}
