//! Splits a JSON input into raw records without parsing it into a tree, so a file of any
//! size streams with memory bounded by its largest record.
//!
//! Two layouts are recognised from the first significant byte: a top-level JSON array
//! (`[ {...}, {...} ]`, B2NERD and UniversalNER files) yields its elements; anything else is
//! read as a sequence of whitespace-separated values (JSON Lines, or pretty-printed objects
//! one after another, as IEPile examples are). Each record carries its 1-based start line and
//! byte range, so errors can name `file:line`.
//!
//! Broken input never swallows what follows it. The splitter tracks strings and the kind of
//! every open bracket, so a record breaks where a closing bracket does not match, where a
//! string runs into a raw newline, or where a new record visibly begins before the current
//! one closed; it then *resynchronises* and every byte in between is yielded as one
//! [`SplitError`] with its byte range:
//! - in a sequence, at the next line that starts (column 0) with `{` or `[`: every line of
//!   JSON Lines does, and pretty-printers indent everything but a top-level value;
//! - in an array, at the next element that starts like the first one did: a `,` then an
//!   object whose first key is the first record's first key (the array's *signature*, e.g.
//!   `"sentence"` in B2NERD, `"id"` in UniversalNER). Elements are written alike by the tools
//!   that make these files, and nested objects start with other keys.
//!
//! A record longer than [`MAX_RECORD_BYTES`] or nested deeper than [`MAX_DEPTH`] is broken
//! too, so memory stays bounded whatever the input; of a broken stretch at most
//! [`KEEP_ERROR_BYTES`] are kept for quarantine.

use super::byte_search::memchr3_near;
use super::{FileState, ReadError, Unit, UnitBody};
use crate::io::IoError;
use bytes::{Bytes, BytesMut};
use std::io::{self, BufRead};
use std::sync::Arc;

/// Longest record accepted (bytes); a longer one is quarantined as `json_record_too_large`.
pub const MAX_RECORD_BYTES: usize = 256 << 20;
/// Deepest bracket nesting accepted; deeper is quarantined as `json_too_deep`.
pub const MAX_DEPTH: usize = 4096;
/// Bytes of a broken stretch kept for its quarantine record (the byte range names all of it).
pub const KEEP_ERROR_BYTES: usize = 1 << 20;
/// Bytes read from the input at a time (as large as the readers' buffers, so that a
/// `BufReader` hands them over without copying).
const CHUNK_BYTES: usize = 1 << 20;
/// A read goes into the room a short read left in the buffer before it (a pipe hands over
/// 64 KiB at a time) while that room holds at least this much; else into a fresh buffer.
const MIN_READ_ROOM: usize = 64 << 10;
/// The UTF-8 byte-order mark, skipped at the start of an input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A record that spans two reads is gathered in a block of about this size, each such
/// record a shared view of its block (a record within one read is a view of that read's
/// buffer, see [`JsonRecords::window`]).
const BLOCK_BYTES: usize = 1 << 20;
/// A record starts a new block when less room than this is left in the current one (or
/// more than [`BLOCK_BYTES`]: the block grew for a long record, and short records must not
/// keep that allocation alive).
const BLOCK_MIN_ROOM: usize = 64 << 10;

/// One top-level JSON value, as bytes, with where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// 0-based index of the record in the file.
    pub index: u64,
    /// 1-based line on which the record starts.
    pub line: u64,
    /// The record's bytes, exactly as in the file (a view of a block shared with the
    /// records read before and after it).
    pub bytes: Bytes,
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
    /// Reason code for quarantine (`json_truncated`, `json_unterminated_string`,
    /// `json_syntax`, `json_record_too_large`, `json_too_deep`).
    pub reason: &'static str,
    /// What was expected.
    pub message: String,
    /// Byte offset of the stretch in the file (a UTF-8 byte-order mark included).
    pub start: u64,
    /// Byte offset just past the stretch.
    pub end: u64,
    /// The bytes that were skipped (the first [`KEEP_ERROR_BYTES`] of them).
    pub bytes: Vec<u8>,
}

impl SplitError {
    /// The quarantine record of this stretch in the file `ctx` names.
    pub fn quarantine(&self, ctx: &super::FileContext) -> crate::model::QuarantineRecord {
        let message = format!("{} (bytes {}..{})", self.message, self.start, self.end);
        ctx.quarantine(Some(self.line), Some(self.index), self.reason, message, &String::from_utf8_lossy(&self.bytes))
    }
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
    /// Inside a record; its open brackets are on `JsonRecords::stack`.
    InRecord { in_string: bool, escaped: bool },
    /// Inside a bare scalar record (number, literal), which ends at a separator.
    Scalar,
    /// After a break: collecting the broken stretch up to the next record boundary.
    Skip { in_string: bool, escaped: bool },
    /// After the closing `]` of an array: only whitespace may follow.
    Done,
}

/// Watches an array for the start of an element: `,` then `{` then the first key. The
/// byte counts are where the element before the comma ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    Idle,
    /// After a `,`: `cut` is the length of the record buffer before it, `pos` its offset.
    Comma { cut: usize, pos: u64 },
    /// After `{` (and whitespace); `text` holds the bytes from the `{`.
    Brace { cut: usize, pos: u64, line: u64, start: u64, text: Vec<u8> },
    /// Inside the object's first key.
    Key { cut: usize, pos: u64, line: u64, start: u64, text: Vec<u8> },
}

/// `cut` value of the probe that learns the signature from the first record.
const LEARN: usize = usize::MAX;

/// Iterator over the records of a JSON input. See the module docs.
pub struct JsonRecords<R: BufRead> {
    input: R,
    state: State,
    layout: Option<Layout>,
    /// 1-based line of the current byte, and its byte offset.
    line: u64,
    pos: u64,
    /// Whether the current byte is the first of its line.
    line_start: bool,
    record_line: u64,
    record_start: u64,
    /// Whether the current record began at column 0 (a sequence's top-level values do).
    record_at_line_start: bool,
    index: u64,
    /// The current record (or broken stretch), at the end of the current block, when it
    /// was not kept in place (see `lazy`).
    current: BytesMut,
    /// The input read last, frozen: a record that lies wholly in it is yielded as a view of
    /// it, so its bytes are never copied. One allocation per read, freed by whichever parsing
    /// thread drops its last record.
    window: Bytes,
    /// Index in `window` of the byte being stepped.
    at: usize,
    /// The room after `window` in its buffer, where the next read goes.
    room: BytesMut,
    /// While `current` is empty, the kept bytes of the current record may be left in place:
    /// they are `window[start..end]`. Whatever reads or edits `current` copies them there
    /// first ([`JsonRecords::materialize`]).
    lazy: Option<(usize, usize)>,
    /// Whether the current record outgrew [`MAX_RECORD_BYTES`].
    oversized: bool,
    /// The open brackets of the current record.
    stack: Vec<u8>,
    /// Why the stretch being skipped is broken (set in `State::Skip`).
    broken: Option<(&'static str, String)>,
    /// The first key of the array's first record (see the module docs).
    signature: Option<Vec<u8>>,
    probe: Probe,
    pending: std::collections::VecDeque<Result<RawRecord, SplitError>>,
    io_error: Option<io::Error>,
    finished: bool,
    /// Whether every byte goes through [`JsonRecords::step`] (see [`JsonRecords::byte_at_a_time`]).
    byte_at_a_time: bool,
    /// Bytes skipped at the start (UTF-8 BOM), reported once.
    pub bom: bool,
    /// The input ended inside an array whose records were all complete (no closing `]`).
    pub unclosed_array: bool,
}

impl<R: BufRead> JsonRecords<R> {
    /// Starts splitting `input`.
    pub fn new(input: R) -> Self {
        JsonRecords {
            input,
            state: State::Start,
            layout: None,
            line: 1,
            pos: 0,
            line_start: true,
            record_line: 1,
            record_start: 0,
            record_at_line_start: true,
            index: 0,
            current: BytesMut::new(),
            window: Bytes::new(),
            at: 0,
            room: BytesMut::new(),
            lazy: None,
            oversized: false,
            stack: Vec::new(),
            broken: None,
            signature: None,
            probe: Probe::Idle,
            pending: Default::default(),
            io_error: None,
            finished: false,
            byte_at_a_time: false,
            bom: false,
            unclosed_array: false,
        }
    }

    /// Steps every byte through the state machine one at a time, without the fast path for
    /// the inside of records: slower, and the reference the fast path is tested against
    /// (unit tests and the `json_splitter` fuzz target require the same output).
    pub fn byte_at_a_time(mut self) -> Self {
        self.byte_at_a_time = true;
        self
    }

    /// The layout detected from the first significant byte (`None` before it is seen).
    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    /// An I/O error that ended the stream early, if any.
    pub fn take_io_error(&mut self) -> Option<io::Error> {
        self.io_error.take()
    }

    /// The most bytes kept of the record (or broken stretch) being read.
    fn cap(&self) -> usize {
        if matches!(self.state, State::Skip { .. }) { KEEP_ERROR_BYTES } else { MAX_RECORD_BYTES }
    }

    /// Keeps `window[from..to]`, which ends at or after the current byte and follows what was
    /// kept before, in place when it can ([`JsonRecords::lazy`]), else copied.
    fn keep_run(&mut self, from: usize, to: usize) {
        match self.lazy {
            Some((start, end)) if end == from && to - start <= self.cap() => self.lazy = Some((start, to)),
            None if self.current.is_empty() && to - from <= self.cap() => self.lazy = Some((from, to)),
            _ => {
                let window = self.window.clone();
                self.keep(&window[from..to]);
            }
        }
    }

    /// Keeps the byte being stepped.
    fn keep_byte(&mut self) {
        self.keep_run(self.at, self.at + 1);
    }

    /// Copies the bytes kept in place into `current`.
    fn materialize(&mut self) {
        if let Some((start, end)) = self.lazy.take() {
            self.current.extend_from_slice(&self.window[start..end]);
        }
    }

    /// How many bytes of the record (or broken stretch) are kept.
    fn kept_len(&self) -> usize {
        self.current.len() + self.lazy.map_or(0, |(start, end)| end - start)
    }

    /// Appends bytes to the record (or broken stretch), within the caps.
    fn keep(&mut self, bytes: &[u8]) {
        self.materialize();
        let cap = self.cap();
        let room = cap.saturating_sub(self.current.len());
        if bytes.len() > room {
            self.oversized = true;
        }
        self.current.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn emit_record(&mut self) {
        if let Some((start, end)) = self.lazy.take() {
            let bytes = self.window.slice(start..end);
            self.pending.push_back(Ok(RawRecord { index: self.index, line: self.record_line, bytes }));
            self.index += 1;
            return;
        }
        if self.oversized {
            let message = format!("the record is longer than {MAX_RECORD_BYTES} bytes");
            self.emit_error("json_record_too_large", message, self.pos + 1);
            return;
        }
        let bytes = self.current.split().freeze();
        if !(BLOCK_MIN_ROOM..=BLOCK_BYTES).contains(&self.current.capacity()) {
            self.current = BytesMut::with_capacity(BLOCK_BYTES);
        }
        self.pending.push_back(Ok(RawRecord { index: self.index, line: self.record_line, bytes }));
        self.index += 1;
    }

    /// Yields the stretch from the record's start to byte offset `end` as broken.
    fn emit_error(&mut self, reason: &'static str, message: String, end: u64) {
        self.materialize();
        let mut bytes = self.current.split().to_vec();
        bytes.truncate(KEEP_ERROR_BYTES);
        let (index, line, start) = (self.index, self.record_line, self.record_start);
        self.pending.push_back(Err(SplitError { index, line, reason, message, start, end, bytes }));
        self.index += 1;
        self.oversized = false;
        self.stack.clear();
    }

    /// The record being read is broken at the current byte: skip to the next boundary.
    fn break_record(&mut self, reason: &'static str, message: String) -> State {
        self.broken = Some((reason, message));
        self.stack.clear();
        self.materialize();
        self.current.truncate(KEEP_ERROR_BYTES);
        State::Skip { in_string: false, escaped: false }
    }

    /// Ends the broken stretch before the current byte (or before `end` when given).
    fn end_skip(&mut self, end: u64) {
        let (reason, message) = self.broken.take().unwrap_or(("json_syntax", "broken record".into()));
        self.emit_error(reason, message, end);
    }

    fn start_record(&mut self, b: u8) -> State {
        self.record_line = self.line;
        self.record_start = self.pos;
        self.record_at_line_start = self.line_start;
        self.keep_byte();
        match b {
            b'{' | b'[' => {
                self.stack.push(b);
                if b == b'{' && self.layout == Some(Layout::Array) && self.signature.is_none() {
                    self.probe = Probe::Brace { cut: LEARN, pos: 0, line: self.line, start: self.pos, text: Vec::new() };
                }
                State::InRecord { in_string: false, escaped: false }
            }
            b'"' => State::InRecord { in_string: true, escaped: false },
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => State::Scalar,
            _ => self.break_record("json_syntax", format!("`{}` where a record should start", b.escape_ascii())),
        }
    }

    /// Starts a record at an element the probe found: `{`, its first key, and on.
    fn start_probed(&mut self, line: u64, start: u64, text: Vec<u8>) -> State {
        self.record_line = line;
        self.record_start = start;
        self.record_at_line_start = false;
        self.materialize();
        self.current.extend_from_slice(&text);
        self.stack.push(b'{');
        State::InRecord { in_string: false, escaped: false }
    }

    /// Follows the element probe over one byte outside strings (arrays only).
    fn probe_outside_string(&mut self, b: u8) {
        let probe = std::mem::replace(&mut self.probe, Probe::Idle);
        self.probe = match (probe, b) {
            (_, b',') => Probe::Comma { cut: self.kept_len(), pos: self.pos },
            (Probe::Comma { cut, pos }, b'{') if self.signature.is_some() => {
                Probe::Brace { cut, pos, line: self.line, start: self.pos, text: vec![b'{'] }
            }
            (p @ Probe::Comma { .. }, b) if b.is_ascii_whitespace() => p,
            (Probe::Brace { cut, pos, line, start, mut text }, b) if b.is_ascii_whitespace() || b == b'"' => {
                text.push(b);
                if b == b'"' { Probe::Key { cut, pos, line, start, text } } else { Probe::Brace { cut, pos, line, start, text } }
            }
            _ => Probe::Idle,
        };
    }

    /// Follows the element probe over string bytes; at the closing quote of a first key,
    /// learns the signature or, when the key is the signature, starts the element.
    fn probe_string(&mut self, bytes: &[u8], closes: bool) -> Option<State> {
        let Probe::Key { text, .. } = &mut self.probe else { return None };
        let limit = self.signature.as_ref().map_or(256, |s| s.len()) + 64;
        text.extend_from_slice(bytes);
        if text.len() > limit {
            self.probe = Probe::Idle;
            return None;
        }
        if !closes {
            return None;
        }
        let Probe::Key { cut, pos, line, start, text } = std::mem::replace(&mut self.probe, Probe::Idle) else { return None };
        let open = text.iter().position(|&c| c == b'"').map_or(0, |i| i + 1);
        let key = &text[open..text.len().saturating_sub(1)];
        if cut == LEARN {
            self.signature = Some(key.to_vec());
            return None;
        }
        if self.signature.as_deref() != Some(key) {
            return None;
        }
        // A new element starts inside the current record or skipped stretch.
        self.materialize();
        self.current.truncate(cut.min(self.current.len()));
        match self.state {
            State::Skip { .. } => self.end_skip(pos),
            _ => {
                let message = format!("the record does not close before the next one starts on line {line}");
                self.emit_error("json_syntax", message, pos);
            }
        }
        Some(self.start_probed(line, start, text))
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
            State::InRecord { in_string: true, escaped } => self.string_byte(b, escaped),
            State::Scalar => {
                // A bare scalar (number, literal): it ends at a separator.
                let ends = b.is_ascii_whitespace() || b == b',' || (b == b']' && self.layout == Some(Layout::Array));
                let invalid = ends && {
                    self.materialize();
                    serde_json::from_slice::<serde_json::Value>(&self.current).is_err()
                };
                if invalid {
                    // Not a literal or number after all: broken up to the next boundary.
                    let message = format!("`{}` is not a JSON value", String::from_utf8_lossy(&self.current));
                    self.keep_byte();
                    self.break_record("json_syntax", message)
                } else if ends {
                    self.emit_record();
                    if b == b']' { State::Done } else { State::Between }
                } else {
                    self.keep_byte();
                    State::Scalar
                }
            }
            State::InRecord { in_string: false, .. } => self.structure_byte(b),
            State::Skip { in_string, escaped } => self.skip_byte(b, in_string, escaped),
            State::Done => {
                if !b.is_ascii_whitespace() {
                    self.record_line = self.line;
                    self.record_start = self.pos;
                    self.keep_byte();
                    // Everything after the array is reported once, as one record.
                    self.broken = Some(("json_syntax", "content after the closing `]` of the array".into()));
                    State::Skip { in_string: false, escaped: false }
                } else {
                    State::Done
                }
            }
        };
        self.pos += 1;
        self.line_start = b == b'\n';
        if b == b'\n' {
            self.line += 1;
        }
    }

    /// A byte inside a string of a record.
    fn string_byte(&mut self, b: u8, escaped: bool) -> State {
        if b == b'\n' {
            // JSON strings cannot hold a raw newline: the record is broken here.
            self.probe = Probe::Idle;
            let state = self.break_record("json_unterminated_string", "a string runs past the end of its line".into());
            self.keep_byte();
            return state;
        }
        self.keep_byte();
        let closes = !escaped && b == b'"';
        if let Some(state) = self.probe_string(&[b], closes) {
            return state;
        }
        match (escaped, b) {
            (true, _) => State::InRecord { in_string: true, escaped: false },
            (false, b'\\') => State::InRecord { in_string: true, escaped: true },
            (false, b'"') if self.stack.is_empty() => {
                self.emit_record();
                State::Between
            }
            (false, b'"') => State::InRecord { in_string: false, escaped: false },
            _ => State::InRecord { in_string: true, escaped: false },
        }
    }

    /// A byte of a record outside strings: brackets, and the signs of a broken record.
    fn structure_byte(&mut self, b: u8) -> State {
        if self.layout == Some(Layout::Sequence) && self.line_start && self.record_at_line_start && (b == b'{' || b == b'[') {
            // A top-level value starts while the record is open: it never closed.
            let message = format!("the record does not close before the next one starts on line {}", self.line);
            self.emit_error("json_syntax", message, self.pos);
            return self.start_record(b);
        }
        if self.layout == Some(Layout::Array) {
            self.probe_outside_string(b);
        }
        self.keep_byte();
        match b {
            b'"' => State::InRecord { in_string: true, escaped: false },
            b'{' | b'[' if self.stack.len() >= MAX_DEPTH => {
                self.break_record("json_too_deep", format!("the record nests deeper than {MAX_DEPTH} brackets"))
            }
            b'{' | b'[' => {
                self.stack.push(b);
                State::InRecord { in_string: false, escaped: false }
            }
            b'}' | b']' => {
                let expected = if b == b'}' { b'{' } else { b'[' };
                match self.stack.pop() {
                    Some(open) if open == expected => {
                        if self.stack.is_empty() {
                            self.emit_record();
                            State::Between
                        } else {
                            State::InRecord { in_string: false, escaped: false }
                        }
                    }
                    Some(open) => {
                        let want = if open == b'{' { '}' } else { ']' };
                        self.break_record("json_syntax", format!("`{}` where `{want}` was expected", b as char))
                    }
                    None => self.break_record("json_syntax", format!("unexpected `{}`", b as char)),
                }
            }
            _ => State::InRecord { in_string: false, escaped: false },
        }
    }

    /// A byte of a broken stretch: kept until the next record boundary (module docs).
    fn skip_byte(&mut self, b: u8, in_string: bool, escaped: bool) -> State {
        if self.layout == Some(Layout::Sequence) && self.line_start && (b == b'{' || b == b'[') {
            self.end_skip(self.pos);
            return self.start_record(b);
        }
        if b == b'\n' {
            // Strings cannot span lines: a new line starts outside any string.
            self.keep_byte();
            self.probe = Probe::Idle;
            return State::Skip { in_string: false, escaped: false };
        }
        if in_string {
            self.keep_byte();
            let closes = !escaped && b == b'"';
            if let Some(state) = self.probe_string(&[b], closes) {
                return state;
            }
            return match (escaped, b) {
                (false, b'\\') => State::Skip { in_string: true, escaped: true },
                (false, b'"') => State::Skip { in_string: false, escaped: false },
                _ => State::Skip { in_string: true, escaped: false },
            };
        }
        if self.layout == Some(Layout::Array) {
            self.probe_outside_string(b);
        }
        self.keep_byte();
        State::Skip { in_string: b == b'"', escaped: false }
    }

    fn finish(&mut self) {
        let end = self.pos;
        match self.state {
            State::Scalar => self.emit_record(),
            State::InRecord { .. } => self.emit_error("json_truncated", "the input ends inside this record".into(), end),
            State::Skip { .. } => self.end_skip(end),
            State::Between if self.layout == Some(Layout::Array) => self.unclosed_array = true,
            _ => {}
        }
        self.finished = true;
    }

    /// Consumes from `chunk[start..]` (`chunk` is the window) the bytes of the current record that change nothing but
    /// the bracket stack and whether a string is open, and returns where it stopped; the byte
    /// there (if any) goes through [`JsonRecords::step`]. It stops before every byte that can end
    /// or break the record, start a line, or move the element probe, so the result is the same
    /// as stepping each byte; it only saves the per-byte dispatch on the bulk of the input.
    fn fast_forward(&mut self, chunk: &[u8], start: usize) -> usize {
        let State::InRecord { mut in_string, escaped: false } = self.state else { return start };
        if self.line_start {
            return start;
        }
        let n = chunk.len();
        let mut i = start;
        if !matches!(self.probe, Probe::Idle) {
            // The probe follows the bytes: only a string's plain run is taken, and shown to it.
            if in_string {
                i += memchr3_near(b'"', b'\\', b'\n', &chunk[i..]).unwrap_or(n - i);
                let _ = self.probe_string(&chunk[start..i], false);
            }
        } else {
            let array = self.layout == Some(Layout::Array);
            while i < n {
                if in_string {
                    let Some(k) = memchr3_near(b'"', b'\\', b'\n', &chunk[i..]) else {
                        i = n;
                        break;
                    };
                    i += k;
                    match chunk[i] {
                        b'\\' if i + 1 < n && chunk[i + 1] != b'\n' => i += 2,
                        b'"' if !self.stack.is_empty() => {
                            in_string = false;
                            i += 1;
                        }
                        _ => break,
                    }
                    continue;
                }
                match chunk[i] {
                    b'"' => in_string = true,
                    b'{' | b'[' if self.stack.len() < MAX_DEPTH => self.stack.push(chunk[i]),
                    b'}' | b']' => {
                        let open = if chunk[i] == b'}' { b'{' } else { b'[' };
                        if self.stack.len() < 2 || self.stack.last() != Some(&open) {
                            break;
                        }
                        self.stack.pop();
                    }
                    // In an array a comma starts the element probe, which this byte ends.
                    b',' if array => match chunk[i + 1..].iter().position(|&c| !matches!(c, b' ' | b'\t' | b'\r' | b'\x0c')) {
                        Some(k) if !matches!(chunk[i + 1 + k], b'{' | b',' | b'\n') => i += k,
                        _ => break,
                    },
                    b'{' | b'[' | b'\n' => break,
                    _ => {}
                }
                i += 1;
            }
            self.state = State::InRecord { in_string, escaped: false };
        }
        if i > start {
            self.keep_run(start, i);
            self.pos += (i - start) as u64;
        }
        i
    }

    /// Reads on while the `n` bytes read first are a proper prefix of the byte-order mark, so
    /// that one cut across reads is still recognised; returns the bytes now in `chunk`.
    fn read_bom_whole(&mut self, chunk: &mut [u8], mut n: usize) -> usize {
        while n < BOM.len() && BOM.starts_with(&chunk[..n]) {
            match self.input.read(&mut chunk[n..]) {
                Ok(0) => break,
                Ok(more) => n += more,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.io_error = Some(e);
                    break;
                }
            }
        }
        n
    }

    fn fill(&mut self) {
        while self.pending.is_empty() && !self.finished {
            // The records of a read keep its buffer alive: the next read goes after them.
            let mut chunk = std::mem::take(&mut self.room);
            if chunk.len() < MIN_READ_ROOM {
                chunk = BytesMut::zeroed(CHUNK_BYTES);
            }
            let n = match self.input.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.room = chunk;
                    continue;
                }
                Err(e) => {
                    self.io_error = Some(e);
                    self.finished = true;
                    return;
                }
            };
            if n == 0 {
                self.finish();
                return;
            }
            let n = if self.pos == 0 { self.read_bom_whole(&mut chunk, n) } else { n };
            self.window = chunk.split_to(n).freeze();
            self.room = chunk;
            let window = self.window.clone();
            let mut i = 0;
            if self.state == State::Start && self.pos == 0 && !self.bom && window.starts_with(BOM) {
                self.bom = true;
                self.pos = 3;
                i = 3;
            }
            while i < n {
                if !self.byte_at_a_time {
                    i = self.fast_forward(&window, i);
                    if i == n {
                        break;
                    }
                }
                self.at = i;
                self.step(window[i]);
                i += 1;
            }
            // The next read is another window: a record still open continues in `current`.
            self.materialize();
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
        let mut batch = Vec::with_capacity(self.unit_records.min(UNIT_RECORDS));
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
            if self.index > 0 && !self.records.unclosed_array {
                return None;
            }
        }
        let mut notes = std::mem::take(&mut self.notes);
        if self.index == 0 && self.records.bom {
            notes.push("bom");
        }
        if std::mem::take(&mut self.records.unclosed_array) {
            notes.push("json_array_unclosed");
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
    use std::path::Path;
    use std::io::Read;

    /// Everything the splitter yields for `input`, read `cap` bytes at a time, and its flags.
    type Split = (Vec<Result<RawRecord, SplitError>>, bool, bool);

    fn split_all(input: &[u8], cap: usize, byte_at_a_time: bool) -> Split {
        let mut records = JsonRecords::new(Trickle(input, cap));
        if byte_at_a_time {
            records = records.byte_at_a_time();
        }
        let got = records.by_ref().collect();
        (got, records.bom, records.unclosed_array)
    }

    /// A reader that hands over at most `.1` bytes per call.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    impl BufRead for Trickle<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(&self.0[..self.1.min(self.0.len())])
        }
        fn consume(&mut self, n: usize) {
            self.0 = &self.0[n..];
        }
    }

    /// The splitter's output on `input`, checked to be the same byte at a time and in small
    /// reads as with the fast path in one read.
    fn checked_split(input: &[u8]) -> Split {
        let fast = split_all(input, usize::MAX, false);
        for cap in [1, 2, 3, 7, 64] {
            assert_eq!(split_all(input, cap, true), fast, "byte at a time, read size {cap}");
            assert_eq!(split_all(input, cap, false), fast, "fast path, read size {cap}");
        }
        fast
    }

    fn split(input: &str) -> Vec<Result<(u64, String), (u64, &'static str)>> {
        checked_split(input.as_bytes())
            .0
            .into_iter()
            .map(|r| match r {
                Ok(r) => Ok((r.line, String::from_utf8(r.bytes.to_vec()).unwrap())),
                Err(e) => Err((e.line, e.reason)),
            })
            .collect()
    }

    #[test]
    fn records_within_one_read_are_views_of_its_buffer() {
        let input = b"{\"a\": 1}\n{\"b\": 2}\n";
        // One read, and short reads (a pipe's) of one line each: the second read goes
        // into the same buffer, after the first.
        for cap in [usize::MAX, 9] {
            let (records, ..) = split_all(input, cap, false);
            let (a, b) = (records[0].as_ref().unwrap(), records[1].as_ref().unwrap());
            // Not copied: the second lies in the same buffer, where the input has it.
            assert_eq!(b.bytes.as_ptr() as usize - a.bytes.as_ptr() as usize, 9, "reads of {cap}");
            assert_eq!((&a.bytes[..], &b.bytes[..]), (&b"{\"a\": 1}"[..], &b"{\"b\": 2}"[..]));
        }
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
        let mut it = JsonRecords::new("[{\"a\": 1}\n".as_bytes());
        assert_eq!(it.next().unwrap().unwrap().bytes, &b"{\"a\": 1}"[..]);
        assert!(it.next().is_none(), "a missing `]` loses no record and invents none");
        assert!(it.unclosed_array);
    }

    #[test]
    fn unterminated_string_resyncs_at_next_line() {
        let got = split("{\"a\": \"oops}\n{\"b\": 2}\n");
        assert_eq!(got, vec![Err((1, "json_unterminated_string")), Ok((2, "{\"b\": 2}".into()))]);
        // The broken line's continuation belongs to the broken record, not to new ones.
        let got = split("{\"a\": \"oo\nps\"}\n{\"b\": 2}\n");
        assert_eq!(got, vec![Err((1, "json_unterminated_string")), Ok((3, "{\"b\": 2}".into()))]);
    }

    /// Issue 18, defect 1: one line with a mismatched bracket among good JSON Lines.
    #[test]
    fn a_mismatched_bracket_in_json_lines_breaks_only_its_line() {
        let good = "{\"task\": \"NER\", \"output\": [{\"a\": 1}]}\n";
        let input = format!("{}{{\"task\": \"NER\", \"output\": [}}\n{}", good.repeat(10), good.repeat(1000));
        let got = split(&input);
        assert_eq!(got.len(), 1011, "every line is a record");
        assert_eq!(got[10], Err((11, "json_syntax")));
        assert!(got.iter().enumerate().all(|(i, r)| (i == 10) != r.is_ok()));
    }

    #[test]
    fn a_record_that_never_closes_ends_where_the_next_line_starts_one() {
        let got = split("{\"a\": [1, 2}\n{\"b\": {\"c\": 1}\n{\"d\": 3}\n");
        assert_eq!(got, vec![Err((1, "json_syntax")), Err((2, "json_syntax")), Ok((3, "{\"d\": 3}".into()))]);
        // Pretty-printed objects: indented lines stay inside their record.
        let got = split("{\n  \"a\": [1,\n}\n{\n  \"b\": {\"c\": 1}\n}\n");
        assert_eq!(got, vec![Err((1, "json_syntax")), Ok((4, "{\n  \"b\": {\"c\": 1}\n}".into()))]);
    }

    #[test]
    fn a_broken_array_element_resyncs_at_the_next_element_like_the_first() {
        let rec = |s: &str| format!("{{\"sentence\": \"{s}\", \"entities\": [{{\"name\": \"x\", \"pos\": [0, 1]}}]}}");
        // A wrong closing bracket, then a missing one, then an unterminated string.
        let input = format!(
            "[{}, {{\"sentence\": \"b\", \"entities\": [}}, {}, {{\"sentence\": \"d\", \"entities\": [{{\"name\": \"x\"}}, {}, {{\"sentence\": \"f\n, {}]",
            rec("a"), rec("c"), rec("e"), rec("g")
        );
        let got = split(&input);
        let kinds: Vec<_> = got.iter().map(|r| r.as_ref().map(|(_, t)| t[14..15].to_string()).map_err(|e| e.1)).collect();
        assert_eq!(
            kinds,
            vec![Ok("a".into()), Err("json_syntax"), Ok("c".into()), Err("json_syntax"), Ok("e".into()), Err("json_unterminated_string"), Ok("g".into())]
        );
    }

    #[test]
    fn a_broken_stretch_names_its_byte_range() {
        let input = "[{\"id\": 1}, {\"id\": [}, {\"id\": 3}]";
        let errors: Vec<SplitError> = JsonRecords::new(input.as_bytes()).filter_map(Result::err).collect();
        assert_eq!(errors.len(), 1);
        let (start, end) = (errors[0].start as usize, errors[0].end as usize);
        assert_eq!(&input[start..end], "{\"id\": [}");
        assert_eq!(errors[0].bytes, &input.as_bytes()[start..end]);
    }

    /// Issue 18, defect 11: a broken last record was counted twice when a newline followed.
    #[test]
    fn a_broken_last_record_is_counted_once() {
        for input in ["[{\"a\": 1}, {\"b\": \"x\n", "[{\"a\": 1}, {\"b\": \"x\n\n", "{\"a\": 1}\n{\"b\": \"x\n"] {
            let got = split(input);
            assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1, "{input:?}: {got:?}");
            assert_eq!(got.len(), 2, "{input:?}");
        }
    }

    #[test]
    fn stray_text_and_closers_break_one_record_each() {
        let got = split("{\"a\": 1}\ngarbage, not json\n}\n{\"b\": 2}\nthis is not json\n{\"c\": 3}\n");
        let want = [Ok((1, "{\"a\": 1}".into())), Err((2, "json_syntax")), Ok((4, "{\"b\": 2}".into())), Err((5, "json_syntax")), Ok((6, "{\"c\": 3}".into()))];
        assert_eq!(got, want, "`this` looks like `true` at first: still one broken line");
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{{\"a\": {}\n{{\"b\": 2}}\n", "[".repeat(MAX_DEPTH + 10));
        let got = split(&deep);
        assert_eq!(got, vec![Err((1, "json_too_deep")), Ok((2, "{\"b\": 2}".into()))]);
    }

    #[test]
    fn empty_array_and_trailing_whitespace() {
        assert!(split("[]  \n").is_empty());
        assert!(split("").is_empty());
        assert_eq!(split("[1, 2]"), vec![Ok((1, "1".into())), Ok((1, "2".into()))]);
    }

    #[test]
    fn bom_is_skipped_and_reported() {
        let (got, bom, _) = checked_split("\u{feff}[{\"a\": 1}]".as_bytes());
        assert_eq!(got, vec![Ok(RawRecord { index: 0, line: 1, bytes: Bytes::from_static(b"{\"a\": 1}") })]);
        assert!(bom);
    }

    #[test]
    fn records_split_the_same_whatever_the_read_size() {
        let input = "[{\"a\": \"long \\\" string ]} with \\\\ escapes\"},\n {\"b\": [\"x\", \"y\\n\"]}, \"bare\", 12]";
        let (whole, ..) = checked_split(input.as_bytes());
        assert_eq!(whole.len(), 4);
        assert!(whole.iter().all(Result::is_ok));
    }

    /// The fast path changes nothing on the real fixtures and the bad-input files, whole and
    /// cut short at every few bytes (so that records break in every state).
    #[test]
    fn the_fast_path_splits_fixtures_as_byte_at_a_time() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files = 0;
        for dir in ["b2nerd/CoNLL2003", "b2nerd/CrossNER_AI", "b2nerd/CrossNER_music", "b2nerd/mit-restaurant", "iepile", "pile-ner", "bad", "edge"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if !matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "jsonl")) {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                let head = &bytes[..bytes.len().min(20_000)];
                assert_eq!(split_all(&bytes, usize::MAX, false), split_all(&bytes, usize::MAX, true), "{}", path.display());
                for cut in (0..head.len()).step_by(97) {
                    let (fast, slow) = (split_all(&head[..cut], 333, false), split_all(&head[..cut], 333, true));
                    assert_eq!(fast, slow, "{} cut at {cut}", path.display());
                }
                files += 1;
            }
        }
        assert!(files >= 10, "only {files} fixture files found");
    }

    #[test]
    fn garbage_after_array_is_an_error() {
        assert_eq!(split("[1] x"), vec![Ok((1, "1".into())), Err((1, "json_syntax"))]);
    }
}
