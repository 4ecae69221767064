//! UTF-16 code units (UIMA's offsets) to Unicode code points (the table's offsets) and back.
//!
//! Both encodings agree except after characters outside the Basic Multilingual Plane, which
//! take two UTF-16 units (a surrogate pair) but one code point. So one pass over the text
//! records where those characters sit; an offset then converts by subtracting (or adding)
//! the number of such characters before it, a prefix count found by binary search. A text
//! without them (most text) needs no table at all.

use std::fmt;

/// Why a UTF-16 offset does not name a code-point position of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetError {
    /// The offset lies past the end of the text.
    PastEnd {
        /// The offset, in UTF-16 units.
        offset: u32,
        /// The text length, in UTF-16 units.
        len: u32,
    },
    /// The offset falls between the two halves of a surrogate pair.
    InsideSurrogatePair {
        /// The offset, in UTF-16 units.
        offset: u32,
    },
}

impl OffsetError {
    /// The machine-readable reason used in `unaligned` rows.
    pub fn reason(self) -> &'static str {
        match self {
            OffsetError::PastEnd { .. } => "offset_past_end",
            OffsetError::InsideSurrogatePair { .. } => "offset_in_surrogate_pair",
        }
    }
}

impl fmt::Display for OffsetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OffsetError::PastEnd { offset, len } => {
                write!(f, "UTF-16 offset {offset} is past the end of the text ({len} units)")
            }
            OffsetError::InsideSurrogatePair { offset } => {
                write!(f, "UTF-16 offset {offset} falls inside a surrogate pair")
            }
        }
    }
}

/// Converts offsets of one text between UTF-16 units and code points.
#[derive(Debug, Clone, Default)]
pub struct Utf16Index {
    /// UTF-16 offset of every supplementary-plane character, ascending.
    astral_utf16: Vec<u32>,
    /// Code-point offset of the same characters, ascending.
    astral_chars: Vec<u32>,
    len_utf16: u32,
    len_chars: u32,
}

impl Utf16Index {
    /// Builds the index in one pass over the bytes of `text`: every code point starts with a
    /// non-continuation byte, and exactly the supplementary ones with a 4-byte lead (`0xF0..`).
    pub fn new(text: &str) -> Utf16Index {
        let mut index = Utf16Index::default();
        let mut chars: u32 = 0;
        for &b in text.as_bytes() {
            if b & 0xC0 == 0x80 {
                continue;
            }
            if b >= 0xF0 {
                index.astral_utf16.push(chars + index.astral_chars.len() as u32);
                index.astral_chars.push(chars);
            }
            chars += 1;
        }
        index.len_chars = chars;
        index.len_utf16 = chars + index.astral_chars.len() as u32;
        index
    }

    /// Length of the text in UTF-16 units.
    pub fn len_utf16(&self) -> u32 {
        self.len_utf16
    }

    /// Length of the text in code points.
    pub fn len_chars(&self) -> u32 {
        self.len_chars
    }

    /// The code-point position of UTF-16 offset `offset` (`offset == len` is the end).
    pub fn to_char(&self, offset: u32) -> Result<u32, OffsetError> {
        if offset > self.len_utf16 {
            return Err(OffsetError::PastEnd { offset, len: self.len_utf16 });
        }
        let before = self.astral_utf16.partition_point(|&u| u < offset);
        if before > 0 && self.astral_utf16[before - 1] + 1 == offset {
            return Err(OffsetError::InsideSurrogatePair { offset });
        }
        Ok(offset - before as u32)
    }

    /// The UTF-16 offset of code-point position `pos`, or `None` past the end.
    pub fn to_utf16(&self, pos: u32) -> Option<u32> {
        if pos > self.len_chars {
            return None;
        }
        Some(pos + self.astral_chars.partition_point(|&c| c < pos) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bmp_text_maps_to_itself() {
        let ix = Utf16Index::new("Grüße, 青岛");
        assert_eq!((ix.len_utf16(), ix.len_chars()), (9, 9));
        assert_eq!(ix.to_char(9), Ok(9));
        assert_eq!(ix.to_char(10), Err(OffsetError::PastEnd { offset: 10, len: 9 }));
    }

    #[test]
    fn supplementary_characters_count_two_units() {
        // 🤗 (U+1F917) and 𠀋 (U+2000B) are two UTF-16 units each.
        let ix = Utf16Index::new("🤗 a𠀋b");
        assert_eq!((ix.len_utf16(), ix.len_chars()), (7, 5));
        let chars: Vec<_> = (0..=7).map(|u| ix.to_char(u).ok()).collect();
        assert_eq!(chars, vec![Some(0), None, Some(1), Some(2), Some(3), None, Some(4), Some(5)]);
        assert_eq!(ix.to_char(1), Err(OffsetError::InsideSurrogatePair { offset: 1 }));
        let units: Vec<_> = (0..=5).map(|c| ix.to_utf16(c).unwrap()).collect();
        assert_eq!(units, vec![0, 2, 3, 4, 6, 7]);
        assert_eq!(ix.to_utf16(6), None);
    }

    proptest! {
        #[test]
        fn agrees_with_encode_utf16(text in "\\PC{0,40}") {
            let ix = Utf16Index::new(&text);
            let mut unit = 0u32;
            for (i, c) in text.chars().enumerate() {
                prop_assert_eq!(ix.to_char(unit), Ok(i as u32));
                prop_assert_eq!(ix.to_utf16(i as u32), Some(unit));
                if c.len_utf16() == 2 {
                    prop_assert!(ix.to_char(unit + 1).is_err());
                }
                unit += c.len_utf16() as u32;
            }
            prop_assert_eq!(ix.len_utf16(), text.encode_utf16().count() as u32);
        }
    }
}
