//! Spans in Unicode code points and the index that turns them into byte ranges.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A half-open range `[start, end)` of **Unicode code points** (not bytes, not UTF-16
/// units) in a sample's text. Construction checks `start <= end`, so every `Span` is
/// well-formed; whether it fits a particular text is checked by [`CharIndex::slice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "(u32, u32)", into = "(u32, u32)")]
pub struct Span {
    start: u32,
    end: u32,
}

/// A span whose start lies after its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("span start {start} is after its end {end}")]
pub struct SpanError {
    /// The offending start.
    pub start: u32,
    /// The offending end.
    pub end: u32,
}

impl Span {
    /// A span `[start, end)`; fails when `start > end`.
    pub fn new(start: u32, end: u32) -> Result<Span, SpanError> {
        if start > end { Err(SpanError { start, end }) } else { Ok(Span { start, end }) }
    }

    /// First code point of the span.
    pub fn start(self) -> u32 {
        self.start
    }

    /// One past the last code point of the span.
    pub fn end(self) -> u32 {
        self.end
    }

    /// Length in code points.
    pub fn len(self) -> u32 {
        self.end - self.start
    }

    /// True for an empty span.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// True when the two spans share at least one code point.
    pub fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// True when `other` lies inside `self` (equal spans contain each other).
    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The span moved left by `offset` code points (for rebasing into a sub-text).
    pub fn shifted_left(self, offset: u32) -> Option<Span> {
        Some(Span { start: self.start.checked_sub(offset)?, end: self.end.checked_sub(offset)? })
    }
}

impl TryFrom<(u32, u32)> for Span {
    type Error = SpanError;

    fn try_from((start, end): (u32, u32)) -> Result<Self, Self::Error> {
        Span::new(start, end)
    }
}

impl From<Span> for (u32, u32) {
    fn from(s: Span) -> Self {
        (s.start, s.end)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// Maps code-point positions of one text to byte positions, so that many spans can be
/// sliced without rescanning the text. ASCII texts need no table at all.
#[derive(Debug, Clone)]
pub struct CharIndex {
    /// Byte offset of every code point, plus the text length at the end; empty for ASCII.
    bytes: Vec<u32>,
    len_chars: usize,
}

impl CharIndex {
    /// Builds the index for `text` in one pass.
    pub fn new(text: &str) -> CharIndex {
        if text.is_ascii() {
            return CharIndex { bytes: Vec::new(), len_chars: text.len() };
        }
        let mut bytes: Vec<u32> = text.char_indices().map(|(b, _)| b as u32).collect();
        let len_chars = bytes.len();
        bytes.push(text.len() as u32);
        CharIndex { bytes, len_chars }
    }

    /// Number of code points in the text.
    pub fn len_chars(&self) -> usize {
        self.len_chars
    }

    /// Byte offset of code point `pos` (`pos == len_chars` gives the text length).
    pub fn byte_of(&self, pos: u32) -> Option<usize> {
        let pos = pos as usize;
        if pos > self.len_chars {
            return None;
        }
        Some(if self.bytes.is_empty() { pos } else { self.bytes[pos] as usize })
    }

    /// Code-point position of byte offset `byte`, which must be a char boundary.
    pub fn char_of_byte(&self, byte: usize) -> Option<u32> {
        if self.bytes.is_empty() {
            return (byte <= self.len_chars).then_some(byte as u32);
        }
        self.bytes.binary_search(&(byte as u32)).ok().map(|i| i as u32)
    }

    /// The byte range of `span`, or `None` when it runs past the end of the text.
    pub fn byte_range(&self, span: Span) -> Option<std::ops::Range<usize>> {
        Some(self.byte_of(span.start)?..self.byte_of(span.end)?)
    }

    /// The text under `span`; `text` must be the text this index was built from.
    pub fn slice<'t>(&self, text: &'t str, span: Span) -> Option<&'t str> {
        text.get(self.byte_range(span)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_rejects_reversed_bounds() {
        assert_eq!(Span::new(3, 2), Err(SpanError { start: 3, end: 2 }));
        assert!(Span::new(2, 2).unwrap().is_empty());
    }

    #[test]
    fn overlap_and_containment() {
        let a = Span::new(0, 5).unwrap();
        let b = Span::new(4, 8).unwrap();
        let c = Span::new(5, 8).unwrap();
        assert!(a.overlaps(b) && !a.overlaps(c));
        assert!(a.contains(Span::new(1, 3).unwrap()) && !a.contains(b));
    }

    #[test]
    fn char_index_slices_code_points() {
        let text = "a😀b青c";
        let idx = CharIndex::new(text);
        assert_eq!(idx.len_chars(), 5);
        assert_eq!(idx.slice(text, Span::new(1, 4).unwrap()), Some("😀b青"));
        assert_eq!(idx.slice(text, Span::new(4, 6).unwrap()), None);
        assert_eq!(idx.char_of_byte(5), Some(2));
        assert_eq!(idx.char_of_byte(2), None);
    }

    #[test]
    fn char_index_ascii_fast_path() {
        let idx = CharIndex::new("hello");
        assert_eq!(idx.byte_of(5), Some(5));
        assert_eq!(idx.byte_of(6), None);
        assert_eq!(idx.char_of_byte(3), Some(3));
    }

    #[test]
    fn span_serde_rejects_reversed_pairs() {
        assert!(serde_json::from_str::<Span>("[4, 2]").is_err());
        assert_eq!(serde_json::from_str::<Span>("[2, 4]").unwrap(), Span::new(2, 4).unwrap());
    }
}
