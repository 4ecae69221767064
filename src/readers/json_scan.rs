//! A small JSON scanner for the shape nearly every record of the mention readers has:
//! objects whose values are strings, lists of strings or lists of such objects.
//!
//! It exists for speed: IEPile nests JSON documents inside strings, and serde_json spends
//! most of a record's time on them (unescaping into a fresh buffer, matching fields through
//! visitors). The scanner reads the common record with `memchr` and one reused buffer, and
//! refuses everything else by returning `None`: numbers, literals, lone surrogates, unknown
//! keys, duplicates, anything malformed. The caller then parses the record with serde_json,
//! which decides and words every error. So the scanner never accepts a document serde_json
//! would reject, and never reads one differently (the readers' tests and the `json_scan`
//! fuzz target compare the two).
//!
//! A document held in a string (IEPile's `instruction` and `output`) is read in place when
//! the only escapes of that string are its quotes (`\"`), as they nearly always are: then
//! its own strings hold no escape at all, and reading it straight from the record takes one
//! pass instead of unescaping it into a buffer and scanning that ([`Scan::embedded`]).

use super::byte_search::string_stop;
use std::borrow::Cow;

/// A cursor over one JSON document (valid UTF-8 by construction: it is a `&str`).
#[derive(Debug)]
pub struct Scan<'a> {
    text: &'a str,
    at: usize,
    /// Reading a document held in a string of `text`, in place: its quotes are `\"`, and a
    /// bare `"` (the end of the holding string) ends it.
    embedded: bool,
}

/// The character a short escape (`\n`, `\"`, ...) stands for; `None` for `\u` (see
/// [`Scan::unicode_escape`]) and invalid ones.
fn unescape(code: u8) -> Option<char> {
    Some(match code {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

impl<'a> Scan<'a> {
    /// A scanner at the start of `text`.
    pub fn new(text: &'a str) -> Scan<'a> {
        Scan { text, at: 0, embedded: false }
    }

    /// A scanner over `bytes`, if they are UTF-8 (serde_json refuses invalid UTF-8 in any
    /// string; refusing it anywhere is the safe side).
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Scan<'a>> {
        std::str::from_utf8(bytes).ok().map(Scan::new)
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after JSON whitespace, not consumed. An embedded document reads `\"`
    /// as `"` and ends at a bare `"`; its only whitespace is the space (the others would be
    /// escaped in the holding string, and any other escape is a `\` no caller expects).
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        if self.embedded {
            while bytes.get(self.at) == Some(&b' ') {
                self.at += 1;
            }
            return match *bytes.get(self.at)? {
                b'"' => None,
                b'\\' if bytes.get(self.at + 1) == Some(&b'"') => Some(b'"'),
                b => Some(b),
            };
        }
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(self.at) {
            self.at += 1;
        }
        bytes.get(self.at).copied()
    }

    /// How many bytes a quote takes: `\"` in an embedded document.
    fn quote_len(&self) -> usize {
        if self.embedded { 2 } else { 1 }
    }

    /// Consumes `byte` (after whitespace), or refuses.
    fn expect(&mut self, byte: u8) -> Option<()> {
        let len = if byte == b'"' { self.quote_len() } else { 1 };
        (self.peek()? == byte).then(|| self.at += len)
    }

    /// The end of the document: only whitespace may follow.
    pub fn end(mut self) -> Option<()> {
        self.peek().is_none().then_some(())
    }

    /// A string without escapes (keys, short values), borrowed.
    pub fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = start + string_stop(&self.bytes()[start..])?;
        let closes = match self.embedded {
            false => self.bytes()[end] == b'"',
            true => self.bytes()[end] == b'\\' && self.bytes().get(end + 1) == Some(&b'"'),
        };
        if !closes {
            return None;
        }
        self.at = end + self.quote_len();
        Some(&self.text[start..end])
    }

    /// Reads with `read` the JSON document held in the string at the cursor, in place, when
    /// that string's only escapes are its quotes; then the document's own strings hold no
    /// escape and read as [`Scan::plain_string`]s, borrowed from the record. `None`, the
    /// cursor where it was, when the string is not of that kind or `read` refuses the
    /// document: the caller then unescapes it instead.
    pub fn embedded<T>(&mut self, read: impl FnOnce(&mut Scan<'a>) -> Option<T>) -> Option<T> {
        if self.embedded {
            return None;
        }
        let mut inner = Scan { text: self.text, at: self.at, embedded: false };
        inner.expect(b'"')?;
        inner.embedded = true;
        let value = read(&mut inner)?;
        // Only spaces may follow the document, up to the quote that closes its string.
        if inner.peek().is_some() || self.bytes().get(inner.at) != Some(&b'"') {
            return None;
        }
        self.at = inner.at + 1;
        Some(value)
    }

    /// A string, borrowed when it holds no escape.
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.at;
        if let Some(s) = self.plain_string() {
            return Some(Cow::Borrowed(s));
        }
        self.at = start;
        let mut out = String::new();
        self.string_into(&mut out)?;
        Some(Cow::Owned(out))
    }

    /// Appends the unescaped content of a string to `out`.
    pub fn string_into(&mut self, out: &mut String) -> Option<()> {
        self.string_content(Some(out))
    }

    /// Passes over a string, checking it as [`Scan::string_into`] does, copying nothing.
    pub fn skip_string(&mut self) -> Option<()> {
        self.string_content(None)
    }

    fn string_content(&mut self, mut out: Option<&mut String>) -> Option<()> {
        if self.embedded {
            let s = self.plain_string()?;
            if let Some(out) = out {
                out.push_str(s);
            }
            return Some(());
        }
        self.expect(b'"')?;
        loop {
            let start = self.at;
            let end = start + string_stop(&self.bytes()[start..])?;
            if self.bytes()[end] < 0x20 {
                return None;
            }
            // `"` and `\` are ASCII, so both ends are character boundaries.
            if let Some(out) = out.as_deref_mut() {
                out.push_str(&self.text[start..end]);
            }
            if self.bytes()[end] == b'"' {
                self.at = end + 1;
                return Some(());
            }
            let (c, len) = match *self.bytes().get(end + 1)? {
                b'u' => self.unicode_escape(end)?,
                code => (unescape(code)?, 2),
            };
            if let Some(out) = out.as_deref_mut() {
                out.push(c);
            }
            self.at = end + len;
        }
    }

    /// The character of the `\uXXXX` escape at `at` (a surrogate pair takes two escapes)
    /// and the escape's length; a lone surrogate is refused (serde_json refuses it in a
    /// string, with its own message).
    fn unicode_escape(&self, at: usize) -> Option<(char, usize)> {
        let hex = |from: usize| {
            let digits = std::str::from_utf8(self.bytes().get(from..from + 4)?).ok()?;
            // `from_str_radix` would take a sign; JSON takes four hex digits only.
            digits.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u32::from_str_radix(digits, 16).ok())?
        };
        let first = hex(at + 2)?;
        match first {
            0xD800..=0xDBFF => {
                if self.bytes().get(at + 6..at + 8)? != b"\\u" {
                    return None;
                }
                let second = hex(at + 8).filter(|s| (0xDC00..=0xDFFF).contains(s))?;
                let c = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))?;
                Some((c, 12))
            }
            _ => Some((char::from_u32(first)?, 6)),
        }
    }

    /// A list of strings.
    pub fn strings(&mut self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        self.array(|s| {
            out.push(s.string()?.into_owned());
            Some(())
        })?;
        Some(out)
    }

    /// A list: `item` reads each element, in order.
    pub fn array(&mut self, item: impl FnMut(&mut Scan<'a>) -> Option<()>) -> Option<()> {
        self.elements(b'[', b']', item)
    }

    /// An object: `field` reads the value of each key (escape-free keys only), in order.
    pub fn object(&mut self, mut field: impl FnMut(&'a str, &mut Scan<'a>) -> Option<()>) -> Option<()> {
        self.elements(b'{', b'}', |s| {
            let key = s.plain_string()?;
            s.expect(b':')?;
            field(key, s)
        })
    }

    /// `open`, then elements read by `element` and separated by commas, then `close`.
    fn elements(&mut self, open: u8, close: u8, mut element: impl FnMut(&mut Scan<'a>) -> Option<()>) -> Option<()> {
        self.expect(open)?;
        if self.peek()? != close {
            loop {
                element(self)?;
                if self.peek()? != b',' {
                    break;
                }
                self.at += 1;
            }
        }
        self.expect(close)
    }
}

/// A record read by `scan` when it takes it, else by serde_json: the one way the readers
/// use a scanner, so a refused record gets serde_json's reading and error.
pub fn scan_or_parse<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8], scan: fn(&'a [u8]) -> Option<T>) -> serde_json::Result<T> {
    scan(bytes).map_or_else(|| serde_json::from_slice(bytes), Ok)
}

/// Whether `scan` reads `bytes` as serde_json does: `Ok(false)` when it leaves them to
/// serde_json, `Err` saying how the two differ. For the tests and the `json_scan` fuzz
/// target, which hold each fast path to the slow one.
pub fn matches_serde<'a, T: serde::Deserialize<'a> + std::fmt::Debug>(bytes: &'a [u8], scan: fn(&'a [u8]) -> Option<T>) -> Result<bool, String> {
    let Some(scanned) = scan(bytes) else { return Ok(false) };
    let parsed: T = serde_json::from_slice(bytes).map_err(|e| format!("scanned what serde_json refuses: {e}"))?;
    let (scanned, parsed) = (format!("{scanned:?}"), format!("{parsed:?}"));
    if scanned == parsed { Ok(true) } else { Err(format!("scanned {scanned}, serde_json read {parsed}")) }
}

/// Sets `slot` once; a second value for it (a duplicate key) refuses the document.
pub fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings_of(doc: &str) -> Option<Vec<String>> {
        let mut scan = Scan::new(doc);
        let out = scan.strings()?;
        scan.end().map(|()| out)
    }

    #[test]
    fn lists_of_strings_read_as_serde_json_reads_them_or_are_refused() {
        let cases = [
            r#"[]"#,
            r#" [ "a" , "b" ] "#,
            r#"["with \"quotes\" and \\ and \/ \n\t\r\b\f"]"#,
            r#"["人物", "地理位置"]"#,
            r#"["\u0041\u00e9\u00E9\u0000", "\ud83d\ude00"]"#,
            r#"["\ud83d"]"#,
            r#"["\ud83d\u0041"]"#,
            r#"["\ude00"]"#,
            r#"["\u00g1"]"#,
            r#"["\u+041"]"#,
            r#"["\u00"]"#,
            r#"["a",]"#,
            r#"["a" "b"]"#,
            r#"["a"] x"#,
            r#"[1]"#,
            r#"[null]"#,
            "[\"tab\there\"]",
            r#"["bad \q escape"]"#,
            r#"["open"#,
            r#"["#,
        ];
        for doc in cases {
            let serde = serde_json::from_str::<Vec<String>>(doc).ok();
            match strings_of(doc) {
                Some(v) => assert_eq!(Some(v), serde, "{doc}"),
                None => assert!(serde.is_none(), "refused a valid document: {doc}"),
            }
        }
    }

    /// The list of strings held in the string `record` (a JSON string literal), read in
    /// place; the cursor after it when read.
    fn embedded_strings(record: &str) -> Option<(Vec<String>, usize)> {
        let mut scan = Scan::new(record);
        let list = scan.embedded(|s| s.strings())?;
        Some((list, scan.at))
    }

    #[test]
    fn a_document_in_a_string_reads_in_place_when_its_only_escapes_are_quotes() {
        // Read in place, as unescaping and then scanning would read them.
        for record in [r#""[\"a\", \"人物\"]""#, r#"" [ \"a b\" ,\"\" ] ""#, r#""[]""#] {
            let (list, end) = embedded_strings(record).unwrap_or_else(|| panic!("refused {record}"));
            let unescaped: String = serde_json::from_str(record).unwrap();
            assert_eq!(Some(list), strings_of(&unescaped), "{record}");
            assert_eq!(end, record.len(), "{record}");
        }
        // Any other escape, raw whitespace other than spaces, a bare quote or trailing
        // text: left to the unescaping path (which decides whether the document is valid).
        for record in [
            r#""[\"a\\n\"]""#,
            r#""[\"a\"]\n""#,
            r#""[\"\u0041\"]""#,
            "\"[\\\"a\\\"]\t\"",
            r#""[\"a\"] x""#,
            r#""[\"a"]""#,
            r#""[\"a\"]"#,
            r#""[\"a\", 1]""#,
        ] {
            assert_eq!(embedded_strings(record), None, "{record}");
            let mut scan = Scan::new(record);
            assert_eq!((scan.embedded(|s| s.strings()), scan.at), (None, 0), "the cursor stays: {record}");
        }
    }

    #[test]
    fn objects_give_keys_in_order_and_duplicates_can_be_refused() {
        let mut seen = Vec::new();
        let mut scan = Scan::new(r#"{"a": "x", "b": ["y"]}"#);
        let read = scan.object(|k, s| {
            seen.push(k);
            if k == "a" { s.string().map(drop) } else { s.strings().map(drop) }
        });
        assert_eq!((read, seen), (Some(()), vec!["a", "b"]));
        let mut one = None;
        let mut scan = Scan::new(r#"{"a": "x", "a": "y"}"#);
        assert_eq!(scan.object(|_, s| set_once(&mut one, s.string()?)), None);
        assert_eq!(Scan::new(r#"{"a\"b": "x"}"#).object(|_, s| s.string().map(drop)), None, "escaped keys are refused");
        assert_eq!(Scan::new("{}").object(|_, _| None), Some(()));
    }
}
