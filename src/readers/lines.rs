//! Line iteration for line-based formats, fast: a unit's lines are checked as UTF-8 in one
//! pass and split at the newlines of 16-byte blocks, so a line costs no allocation and no
//! copy.
//!
//! [`LineUnits`] cuts a line-based file into units of whole records (sentences), counting
//! the records as it goes so each unit knows the index of its first one.

use super::byte_search::mask16;
use super::{FileState, ReadError, Unit, UnitBody};
use crate::io::IoError;
use std::io::Read;
use std::sync::Arc;

/// Bytes per unit cut by [`LineUnits`] (a unit ends at the first record break after this).
pub const UNIT_BYTES: usize = 1 << 20;

/// Bytes per read of [`LineUnits`]: small next to a unit, so what follows a cut is short.
const READ: usize = 1 << 18;

/// The positions of the `\n`s of a buffer, in order, as `memchr::memchr_iter` gives them,
/// found 16 bytes at a time: CoNLL lines are about ten bytes long, and a `memchr` search per
/// line cost more to set up than it searched.
struct Newlines<'a> {
    bytes: &'a [u8],
    /// Where the block after the one `mask` describes starts.
    next_block: usize,
    /// The newlines of the current block not yet yielded.
    mask: u32,
}

fn newlines(bytes: &[u8]) -> Newlines<'_> {
    Newlines { bytes, next_block: 0, mask: 0 }
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            let block = self.bytes.get(self.next_block..).filter(|b| !b.is_empty())?;
            self.mask = match block.first_chunk::<16>() {
                Some(first) => mask16(first, [b'\n'], false),
                None => block.iter().enumerate().fold(0, |mask, (i, &b)| mask | (u32::from(b == b'\n') << i)),
            };
            self.next_block += 16;
        }
        let bit = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.next_block - 16 + bit)
    }
}

/// One line, without its `\n` (and `\r`), as text or, when it is not UTF-8, as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A valid UTF-8 line.
    Text(&'a str),
    /// A line that is not UTF-8, with the decoding error.
    Invalid(&'a [u8], std::str::Utf8Error),
}

/// What the line splitter saw besides the lines themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Lines that ended in `\r\n`.
    pub crlf: u64,
    /// Whether the input started with a UTF-8 byte-order mark (removed from line 1).
    pub bom: bool,
}

fn split_line(raw: &[u8], stats: &mut LineStats) -> usize {
    if raw.last() == Some(&b'\r') {
        stats.crlf += 1;
        raw.len() - 1
    } else {
        raw.len()
    }
}

/// Calls `f(line_number, at, line)` for every line of `input` (a unit, held whole in
/// memory), numbered from `first_line` (1-based; a byte-order mark is looked for only when
/// that is the file's first line); `at` is where the line starts in `input`. The lines are
/// borrowed from `input`: nothing is copied.
pub fn for_each_line(
    input: &[u8],
    first_line: u64,
    mut f: impl FnMut(u64, usize, Line<'_>) -> Result<(), ReadError>,
) -> Result<LineStats, ReadError> {
    let mut stats = LineStats::default();
    let mut line_no = first_line.saturating_sub(1);
    let region = match input.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) if first_line == 1 => {
            stats.bom = true;
            rest
        }
        _ => input,
    };
    // One UTF-8 check for the whole unit; only a unit that fails it is checked line by line.
    let whole = std::str::from_utf8(region).ok();
    let skipped = input.len() - region.len();
    // One pass over the unit's newlines: a search per line would set up again for every line.
    let mut newlines = newlines(region);
    let mut pos = 0;
    while pos < region.len() {
        let stop = newlines.next().unwrap_or(region.len());
        let len = split_line(&region[pos..stop], &mut stats);
        line_no += 1;
        let line = match whole {
            Some(text) => Line::Text(&text[pos..pos + len]),
            None => match std::str::from_utf8(&region[pos..pos + len]) {
                Ok(text) => Line::Text(text),
                Err(e) => Line::Invalid(&region[pos..pos + len], e),
            },
        };
        f(line_no, skipped + pos, line)?;
        pos = stop + 1;
    }
    Ok(stats)
}

/// Cuts a line-based input into [`Unit`]s of whole records: a unit ends after a line for
/// which `ends_record` is true, once it holds [`UNIT_BYTES`]. A record is a run of lines
/// that do not end one; the units count them, so each knows its first record's index.
pub struct LineUnits<R: Read> {
    input: R,
    file: Arc<FileState>,
    ends_record: fn(&str) -> bool,
    buf: Vec<u8>,
    /// Bytes of `buf` already classified line by line.
    scanned: usize,
    /// Lines and records in `buf[..scanned]`.
    lines: u64,
    records: u64,
    /// Where the next unit starts in the file.
    first_line: u64,
    first_record: u64,
    in_record: bool,
    index: u64,
    unit_bytes: usize,
    eof: bool,
}

impl<R: Read> LineUnits<R> {
    /// Units of `input`, the content of `file`.
    pub fn new(file: Arc<FileState>, input: R, ends_record: fn(&str) -> bool) -> Self {
        LineUnits {
            input,
            file,
            ends_record,
            buf: Vec::new(),
            scanned: 0,
            lines: 0,
            records: 0,
            first_line: 1,
            first_record: 0,
            in_record: false,
            index: 0,
            unit_bytes: UNIT_BYTES,
            eof: false,
        }
    }

    /// Cuts units of about `n` bytes instead of [`UNIT_BYTES`] (tests cut tiny ones).
    pub fn with_unit_bytes(mut self, n: usize) -> Self {
        self.unit_bytes = n.max(1);
        self
    }

    /// Classifies one line (without its `\n`); true when it ends a record.
    fn classify(&mut self, line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = if self.first_line == 1 && self.lines == 0 { line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line) } else { line };
        // Most lines start with a token character: no need to decode them.
        let plain = line.first().is_some_and(|b| b.is_ascii_graphic() && *b != b'-');
        let ends = !plain && std::str::from_utf8(line).is_ok_and(self.ends_record);
        if ends {
            self.in_record = false;
        } else if !self.in_record {
            self.in_record = true;
            self.records += 1;
        }
        self.lines += 1;
        ends
    }

    /// Takes `buf[..end]` as the next unit. The bytes after `end` (less than a read) move to
    /// a new buffer with room for the next unit, so a unit's bytes are copied at most once.
    fn cut(&mut self, end: usize) -> Unit {
        let mut rest = Vec::with_capacity(self.buf.len() - end + self.unit_bytes.saturating_add(READ));
        rest.extend_from_slice(&self.buf[end..]);
        self.buf.truncate(end);
        let bytes = std::mem::replace(&mut self.buf, rest);
        self.scanned -= end;
        let size = bytes.len() as u64;
        let body = UnitBody::Lines { bytes, first_line: self.first_line, first_record: self.first_record, records: self.records };
        let unit = Unit { file: self.file.clone(), index: self.index, size, notes: Vec::new(), body };
        self.index += 1;
        self.first_line += self.lines;
        self.first_record += self.records;
        self.lines = 0;
        self.records = 0;
        unit
    }

    /// Reads up to [`READ`] more bytes into the buffer's spare room (not zeroed first);
    /// false at the end of the input.
    fn fill(&mut self) -> Result<bool, ReadError> {
        match (&mut self.input).take(READ as u64).read_to_end(&mut self.buf) {
            Ok(n) => Ok(n > 0),
            Err(e) => Err(IoError::new(&self.file.ctx.path, e).into()),
        }
    }
}

impl<R: Read> Iterator for LineUnits<R> {
    type Item = Result<Unit, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // The buffer is taken out while its lines are classified, to borrow it freely.
            let buf = std::mem::take(&mut self.buf);
            let mut cut_at = None;
            let from = self.scanned;
            for i in newlines(&buf[from..]) {
                let end = from + i;
                let ends = self.classify(&buf[self.scanned..end]);
                self.scanned = end + 1;
                if ends && self.scanned >= self.unit_bytes {
                    cut_at = Some(self.scanned);
                    break;
                }
            }
            if self.eof && cut_at.is_none() && self.scanned < buf.len() {
                self.classify(&buf[self.scanned..]);
                self.scanned = buf.len();
            }
            self.buf = buf;
            if let Some(end) = cut_at {
                return Some(Ok(self.cut(end)));
            }
            if self.eof {
                return (!self.buf.is_empty()).then(|| Ok(self.cut(self.buf.len())));
            }
            match self.fill() {
                Ok(more) => self.eof = !more,
                Err(e) => {
                    self.eof = true;
                    self.buf.clear();
                    self.scanned = 0;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn newlines_are_found_where_memchr_finds_them(
            bytes in proptest::collection::vec(proptest::sample::select(b"ab\n\r\t\x8a".to_vec()), 0..100),
            gap in 0usize..40,
        ) {
            // Newlines close together and, after `gap` bytes without one, far apart.
            let bytes: Vec<u8> = bytes.iter().enumerate().map(|(i, &b)| if i < gap && b == b'\n' { b'x' } else { b }).collect();
            proptest::prop_assert_eq!(newlines(&bytes).collect::<Vec<_>>(), memchr::memchr_iter(b'\n', &bytes).collect::<Vec<_>>());
        }
    }

    fn lines(input: &[u8]) -> (Vec<(u64, Result<String, Vec<u8>>)>, LineStats) {
        let mut out = Vec::new();
        let stats = for_each_line(input, 1, |n, at, l| {
            let bytes = match l {
                Line::Text(t) => t.as_bytes(),
                Line::Invalid(b, _) => b,
            };
            assert_eq!(&input[at..at + bytes.len()], bytes, "line {n} starts at {at}");
            out.push((n, match l {
                Line::Text(t) => Ok(t.to_string()),
                Line::Invalid(b, _) => Err(b.to_vec()),
            }));
            Ok(())
        })
        .unwrap();
        (out, stats)
    }

    #[test]
    fn splits_lines_with_crlf_bom_and_no_final_newline() {
        let (got, stats) = lines(b"\xEF\xBB\xBFa\r\n\nb");
        assert_eq!(got, vec![(1, Ok("a".into())), (2, Ok("".into())), (3, Ok("b".into()))]);
        assert_eq!(stats, LineStats { crlf: 1, bom: true });
    }

    #[test]
    fn invalid_utf8_is_confined_to_its_line() {
        let (got, _) = lines(b"ok\n\xff\xfe\nz\xc3\xa9\n");
        assert_eq!(got, vec![(1, Ok("ok".into())), (2, Err(vec![0xff, 0xfe])), (3, Ok("zé".into()))]);
    }

    #[test]
    fn units_of_a_long_input_cross_reads_and_lose_no_byte_or_record() {
        use crate::readers::crossner::{ends_sentence, CrossnerReader};
        let sentence = "token\tO\nother\tB-x\n\n";
        let count = (3 * READ + 2 * UNIT_BYTES) / sentence.len() + 1;
        let input = sentence.repeat(count);
        let file = CrossnerReader::default().file_state(std::path::Path::new("t/x_train.txt"));
        let units: Vec<Unit> = LineUnits::new(file, input.as_bytes(), ends_sentence).map(Result::unwrap).collect();
        assert!(units.len() >= 3, "{} units", units.len());
        let (mut joined, mut next_record, mut next_line) = (Vec::new(), 0, 1);
        for (i, unit) in units.iter().enumerate() {
            let UnitBody::Lines { bytes, first_line, first_record, records } = &unit.body else { panic!("not lines") };
            assert_eq!((unit.index, *first_record, *first_line), (i as u64, next_record, next_line));
            assert!(i + 1 == units.len() || (bytes.len() >= UNIT_BYTES && bytes.ends_with(b"\n\n")));
            assert_eq!(*records as usize, bytes.windows(2).filter(|w| w == b"\n\n").count());
            next_record += records;
            next_line += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            joined.extend_from_slice(bytes);
        }
        assert_eq!((joined, next_record), (input.into_bytes(), count as u64));
    }

    #[test]
    fn a_bom_is_looked_for_on_the_first_line_of_the_file_only() {
        let mut out = Vec::new();
        let stats = for_each_line(b"\xEF\xBB\xBFa\n", 7, |n, _, l| {
            out.push((n, l == Line::Text("\u{feff}a")));
            Ok(())
        })
        .unwrap();
        assert_eq!((out, stats.bom), (vec![(7, true)], false));
    }
}
