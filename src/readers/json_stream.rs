//! Splits a JSON input into raw records without parsing it into a tree, so a file of any
//! size streams with memory bounded by its largest record.
//!
//! Two layouts are recognised from the first significant byte: a top-level JSON array
//! (`[ {...}, {...} ]`, B2NERD and UniversalNER files) yields its elements; anything else is
//! read as a sequence of whitespace-separated values (JSON Lines, or pretty-printed objects
//! one after another, as IEPile examples are). Each record carries its 1-based start line, so
//! errors can name `file:line`. Broken input never aborts the stream: a string that runs
//! into a raw newline, or a file that ends mid-record, is yielded as a [`SplitError`] and the
//! splitter resynchronises at the next line.

use super::{FileState, ReadError, Unit, UnitBody};
use crate::io::IoError;
use std::io::{self, BufRead};
use std::sync::Arc;

/// One top-level JSON value, as bytes, with where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// 0-based index of the record in the file.
    pub index: u64,
    /// 1-based line on which the record starts.
    pub line: u64,
    /// The record's bytes, exactly as in the file.
    pub bytes: Vec<u8>,
}

impl RawRecord {
    /// The bytes as text, lossily (for quarantine and messages).
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Why a stretch of input could not be cut into a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// 0-based index the record would have had.
    pub index: u64,
    /// 1-based line where the broken record starts.
    pub line: u64,
    /// Reason code for quarantine (`json_truncated`, `json_unterminated_string`, `json_syntax`).
    pub reason: &'static str,
    /// What was expected.
    pub message: String,
    /// The bytes that were skipped.
    pub bytes: Vec<u8>,
}

/// The two layouts the splitter understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One top-level array whose elements are the records.
    Array,
    /// Values one after another (JSON Lines or concatenated pretty-printed objects).
    Sequence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// Between records (inside the array when `Layout::Array`).
    Between,
    /// Inside a record; `depth` counts open brackets, `in_string`/`escaped` track strings.
    InRecord { depth: u32, in_string: bool, escaped: bool },
    /// After the closing `]` of an array: only whitespace may follow.
    Done,
}

/// Iterator over the records of a JSON input. See the module docs.
pub struct JsonRecords<R: BufRead> {
    input: R,
    state: State,
    layout: Option<Layout>,
    line: u64,
    record_line: u64,
    index: u64,
    current: Vec<u8>,
    pending: std::collections::VecDeque<Result<RawRecord, SplitError>>,
    io_error: Option<io::Error>,
    finished: bool,
    /// The input chunk being split, kept to reuse its allocation.
    chunk: Vec<u8>,
    /// Record buffers handed back with [`JsonRecords::recycle`].
    spare: Vec<Vec<u8>>,
    /// Bytes skipped at the start (UTF-8 BOM), reported once.
    pub bom: bool,
}

impl<R: BufRead> JsonRecords<R> {
    /// Starts splitting `input`.
    pub fn new(input: R) -> Self {
        JsonRecords {
            input,
            state: State::Start,
            layout: None,
            line: 1,
            record_line: 1,
            index: 0,
            current: Vec::new(),
            pending: Default::default(),
            io_error: None,
            finished: false,
            chunk: Vec::new(),
            spare: Vec::new(),
            bom: false,
        }
    }

    /// The layout detected from the first significant byte (`None` before it is seen).
    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    /// Hands a record's buffer back so that a later record can reuse its allocation (callers
    /// that process records in batches save one allocation per record).
    pub fn recycle(&mut self, mut bytes: Vec<u8>) {
        bytes.clear();
        self.spare.push(bytes);
    }

    /// An I/O error that ended the stream early, if any.
    pub fn take_io_error(&mut self) -> Option<io::Error> {
        self.io_error.take()
    }

    fn emit_record(&mut self) {
        // Records of one file have similar sizes: start the next one with this one's room.
        let room = self.current.len();
        let next = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(room));
        let bytes = std::mem::replace(&mut self.current, next);
        self.pending.push_back(Ok(RawRecord { index: self.index, line: self.record_line, bytes }));
        self.index += 1;
    }

    fn emit_error(&mut self, reason: &'static str, message: String) {
        let bytes = std::mem::take(&mut self.current);
        self.pending.push_back(Err(SplitError { index: self.index, line: self.record_line, reason, message, bytes }));
        self.index += 1;
    }

    fn start_record(&mut self, b: u8) -> State {
        self.record_line = self.line;
        self.current.push(b);
        match b {
            b'{' | b'[' => State::InRecord { depth: 1, in_string: false, escaped: false },
            b'"' => State::InRecord { depth: 0, in_string: true, escaped: false },
            _ => State::InRecord { depth: 0, in_string: false, escaped: false },
        }
    }

    /// Feeds one byte through the state machine.
    fn step(&mut self, b: u8) {
        self.state = match self.state {
            State::Start => match b {
                b if b.is_ascii_whitespace() => State::Start,
                b'[' => {
                    self.layout = Some(Layout::Array);
                    State::Between
                }
                _ => {
                    self.layout = Some(Layout::Sequence);
                    self.start_record(b)
                }
            },
            State::Between => match (b, self.layout) {
                (b, _) if b.is_ascii_whitespace() => State::Between,
                (b',', Some(Layout::Array)) => State::Between,
                (b']', Some(Layout::Array)) => State::Done,
                _ => self.start_record(b),
            },
            State::InRecord { depth, in_string: true, escaped } => {
                if b == b'\n' {
                    // JSON strings cannot hold a raw newline: the record is broken here.
                    self.emit_error("json_unterminated_string", "a string runs past the end of its line".into());
                    State::Between
                } else {
                    self.current.push(b);
                    match (escaped, b) {
                        (true, _) => State::InRecord { depth, in_string: true, escaped: false },
                        (false, b'\\') => State::InRecord { depth, in_string: true, escaped: true },
                        (false, b'"') if depth == 0 => {
                            self.emit_record();
                            State::Between
                        }
                        (false, b'"') => State::InRecord { depth, in_string: false, escaped: false },
                        _ => State::InRecord { depth, in_string: true, escaped: false },
                    }
                }
            }
            State::InRecord { depth: 0, in_string: false, .. } => {
                // A bare scalar (number, literal): it ends at a separator.
                let ends = b.is_ascii_whitespace() || b == b',' || (b == b']' && self.layout == Some(Layout::Array));
                if ends {
                    self.emit_record();
                    if b == b']' { State::Done } else { State::Between }
                } else {
                    self.current.push(b);
                    self.state
                }
            }
            State::InRecord { depth, in_string: false, .. } => {
                self.current.push(b);
                match b {
                    b'"' => State::InRecord { depth, in_string: true, escaped: false },
                    b'{' | b'[' => State::InRecord { depth: depth + 1, in_string: false, escaped: false },
                    b'}' | b']' if depth == 1 => {
                        self.emit_record();
                        State::Between
                    }
                    b'}' | b']' => State::InRecord { depth: depth - 1, in_string: false, escaped: false },
                    _ => self.state,
                }
            }
            State::Done => {
                if !b.is_ascii_whitespace() {
                    self.record_line = self.line;
                    self.current.push(b);
                    self.emit_error("json_syntax", "content after the closing `]` of the array".into());
                    // Everything after the array is reported once, as one record.
                    self.finished = true;
                }
                State::Done
            }
        };
        if b == b'\n' {
            self.line += 1;
        }
    }

    fn finish(&mut self) {
        match self.state {
            State::InRecord { depth: 0, in_string: false, .. } if !self.current.is_empty() => self.emit_record(),
            State::InRecord { .. } => {
                self.emit_error("json_truncated", "the input ends inside this record".into())
            }
            State::Between if self.layout == Some(Layout::Array) => {
                self.record_line = self.line;
                self.emit_error("json_truncated", "the input ends before the closing `]` of the array".into())
            }
            _ => {}
        }
        self.finished = true;
    }

    fn fill(&mut self) {
        while self.pending.is_empty() && !self.finished {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.io_error = Some(e);
                    self.finished = true;
                    return;
                }
            };
            if buf.is_empty() {
                self.finish();
                return;
            }
            let mut chunk = std::mem::take(&mut self.chunk);
            chunk.clear();
            chunk.extend_from_slice(buf);
            let n = chunk.len();
            self.input.consume(n);
            if self.state == State::Start && self.line == 1 && !self.bom && chunk.starts_with(b"\xEF\xBB\xBF") {
                self.bom = true;
                chunk.drain(..3);
            }
            let mut i = 0;
            while i < chunk.len() && !self.finished {
                if let State::InRecord { in_string: true, escaped: false, .. } = self.state {
                    // Plain string bytes cannot change the state: copy them in one go, up to
                    // the next quote, backslash or newline (which `step` handles).
                    let run = memchr::memchr3(b'"', b'\\', b'\n', &chunk[i..]).unwrap_or(chunk.len() - i);
                    self.current.extend_from_slice(&chunk[i..i + run]);
                    i += run;
                    if i == chunk.len() {
                        break;
                    }
                }
                self.step(chunk[i]);
                i += 1;
            }
            self.chunk = chunk;
        }
    }
}

impl<R: BufRead> Iterator for JsonRecords<R> {
    type Item = Result<RawRecord, SplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.fill();
        self.pending.pop_front()
    }
}

/// Most records per unit cut by [`JsonUnits`]: small enough that the units of a window keep
/// every core busy, large enough that per-unit overhead vanishes.
pub const UNIT_RECORDS: usize = 1024;
/// Most raw bytes per unit (long records make smaller units; a unit holds at least one).
pub const UNIT_BYTES: usize = 1 << 20;

/// Cuts a JSON input into [`Unit`]s of raw records (see [`UNIT_RECORDS`], [`UNIT_BYTES`]).
/// The first unit is yielded even when the input holds no record, so that file-level
/// notes it carries are counted; an I/O error ends the units with an error naming the file.
pub struct JsonUnits<R: BufRead> {
    records: JsonRecords<R>,
    file: Arc<FileState>,
    notes: Vec<&'static str>,
    index: u64,
    done: bool,
    unit_records: usize,
}

impl<R: BufRead> JsonUnits<R> {
    /// Units of `input`, the content of `file`; `notes` are counted with the first unit.
    pub fn new(file: Arc<FileState>, input: R, notes: Vec<&'static str>) -> Self {
        JsonUnits { records: JsonRecords::new(input), file, notes, index: 0, done: false, unit_records: UNIT_RECORDS }
    }

    /// Cuts units of at most `n` records (at least 1) instead of [`UNIT_RECORDS`].
    pub fn with_unit_records(mut self, n: usize) -> Self {
        self.unit_records = n.max(1);
        self
    }
}

impl<R: BufRead> Iterator for JsonUnits<R> {
    type Item = Result<Unit, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < self.unit_records && bytes < UNIT_BYTES {
            let Some(record) = self.records.next() else { break };
            bytes += match &record {
                Ok(raw) => raw.bytes.len(),
                Err(e) => e.bytes.len(),
            };
            batch.push(record);
        }
        if batch.is_empty() {
            self.done = true;
            if let Some(e) = self.records.take_io_error() {
                return Some(Err(IoError::new(&self.file.ctx.path, e).into()));
            }
            if self.index > 0 {
                return None;
            }
        }
        let mut notes = std::mem::take(&mut self.notes);
        if self.index == 0 && self.records.bom {
            notes.push("bom");
        }
        let unit = Unit { file: self.file.clone(), index: self.index, size: bytes as u64, notes, body: UnitBody::Records(batch) };
        self.index += 1;
        Some(Ok(unit))
    }
}

/// The 1-based file line of a `serde_json` error inside a record that starts on `record_line`.
pub fn error_line(record_line: u64, err: &serde_json::Error) -> u64 {
    record_line + (err.line() as u64).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str) -> Vec<Result<(u64, String), (u64, &'static str)>> {
        JsonRecords::new(input.as_bytes())
            .map(|r| match r {
                Ok(r) => Ok((r.line, String::from_utf8(r.bytes).unwrap())),
                Err(e) => Err((e.line, e.reason)),
            })
            .collect()
    }

    #[test]
    fn array_elements_with_nested_brackets_and_escapes() {
        let got = split("[{\"a\": \"]}\\\"\", \"b\": [1, {\"c\": 2}]}, {\"d\": 1}]");
        assert_eq!(got, vec![Ok((1, "{\"a\": \"]}\\\"\", \"b\": [1, {\"c\": 2}]}".into())), Ok((1, "{\"d\": 1}".into()))]);
    }

    #[test]
    fn json_lines_with_crlf_blank_lines_and_pretty_objects() {
        let got = split("{\"a\": 1}\r\n\r\n{\n  \"b\": 2\n}\n{\"c\": 3}");
        assert_eq!(got, vec![Ok((1, "{\"a\": 1}".into())), Ok((3, "{\n  \"b\": 2\n}".into())), Ok((6, "{\"c\": 3}".into()))]);
    }

    #[test]
    fn truncated_array_keeps_complete_records() {
        let got = split("[{\"a\": 1}, {\"b\": ");
        assert_eq!(got, vec![Ok((1, "{\"a\": 1}".into())), Err((1, "json_truncated"))]);
        let got = split("[{\"a\": 1}\n");
        assert_eq!(got, vec![Ok((1, "{\"a\": 1}".into())), Err((2, "json_truncated"))]);
    }

    #[test]
    fn unterminated_string_resyncs_at_next_line() {
        let got = split("{\"a\": \"oops}\n{\"b\": 2}\n");
        assert_eq!(got, vec![Err((1, "json_unterminated_string")), Ok((2, "{\"b\": 2}".into()))]);
    }

    #[test]
    fn empty_array_and_trailing_whitespace() {
        assert!(split("[]  \n").is_empty());
        assert!(split("").is_empty());
        assert_eq!(split("[1, 2]"), vec![Ok((1, "1".into())), Ok((1, "2".into()))]);
    }

    #[test]
    fn bom_is_skipped_and_reported() {
        let mut it = JsonRecords::new("\u{feff}[{\"a\": 1}]".as_bytes());
        assert_eq!(it.next().unwrap().unwrap().bytes, b"{\"a\": 1}");
        assert!(it.bom);
    }

    #[test]
    fn records_split_the_same_whatever_the_read_size() {
        let input = "[{\"a\": \"long \\\" string ]} with \\\\ escapes\"},\n {\"b\": [\"x\", \"y\\n\"]}, \"bare\", 12]";
        let whole: Vec<_> = JsonRecords::new(input.as_bytes()).map(|r| r.unwrap()).collect();
        assert_eq!(whole.len(), 4);
        for cap in [1, 2, 3, 7] {
            let small: Vec<_> = JsonRecords::new(io::BufReader::with_capacity(cap, input.as_bytes())).map(|r| r.unwrap()).collect();
            assert_eq!(small, whole, "read size {cap}");
        }
    }

    #[test]
    fn garbage_after_array_is_an_error() {
        assert_eq!(split("[1] x"), vec![Ok((1, "1".into())), Err((1, "json_syntax"))]);
    }
}
