//! JSON written the way Python's `json.dumps` writes it with default separators.
//!
//! IEPile and Pile-NER answers are strings produced by `json.dumps`: `", "` between items,
//! `": "` after keys, and either raw UTF-8 (`ensure_ascii=False`, IEPile) or `\uXXXX`
//! escapes for everything outside printable ASCII (`ensure_ascii=True`, Pile-NER). Emitting
//! the same bytes keeps our training data indistinguishable from the originals.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use std::io::{self, Write};

/// How non-ASCII characters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ascii {
    /// Raw UTF-8 (`ensure_ascii=False`).
    Raw,
    /// `\uXXXX` escapes, UTF-16 surrogate pairs beyond the BMP (`ensure_ascii=True`).
    Escaped,
}

/// A `serde_json` formatter with Python's default separators.
struct PyFormatter {
    ascii: Ascii,
}

impl Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        if self.ascii == Ascii::Raw {
            return w.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                w.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        // Python writes the same short escapes as serde_json, and `\u00XX` (lower-case hex)
        // for the other control characters.
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(w, "\\u{byte:04x}"),
        };
        w.write_all(s)
    }
}

/// Serialises `value` exactly as Python's `json.dumps(value, ensure_ascii=...)` would.
pub fn to_string<T: Serialize + ?Sized>(value: &T, ascii: Ascii) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = Serializer::with_formatter(&mut out, PyFormatter { ascii });
    value.serialize(&mut ser).expect("serialising JSON values into memory cannot fail");
    String::from_utf8(out).expect("the formatter writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_separators_and_raw_utf8() {
        // Byte-exact against data/NER/train.json line 2 of IEPile (see FORMATS.md).
        let v = json!({"人物": [], "组织机构": ["广州松日队", "青岛海牛队"], "地理位置": []});
        assert_eq!(to_string(&v, Ascii::Raw), r#"{"人物": [], "组织机构": ["广州松日队", "青岛海牛队"], "地理位置": []}"#);
    }

    #[test]
    fn ascii_mode_escapes_like_python() {
        // From UniversalNER's CrossNER_science file: `["\u03b1-olefins", "1-Butene", "1-Hexene"]`.
        let v = json!(["α-olefins", "1-Butene", "1-Hexene"]);
        assert_eq!(to_string(&v, Ascii::Escaped), r#"["\u03b1-olefins", "1-Butene", "1-Hexene"]"#);
        assert_eq!(to_string(&json!(["🤗\u{7f}"]), Ascii::Escaped), r#"["\ud83e\udd17\u007f"]"#);
        assert_eq!(to_string(&json!(["a\"b\\c\n\u{1}"]), Ascii::Raw), r#"["a\"b\\c\n\u0001"]"#);
    }
}
