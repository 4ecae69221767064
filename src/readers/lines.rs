//! Line iteration for line-based formats, fast: the input is read in large blocks, each
//! block's complete lines are checked as UTF-8 in one pass and split with `memchr`, so a
//! line costs no allocation and no per-line read call.

use super::ReadError;
use crate::io::IoError;
use std::io::Read;
use std::path::Path;

const BLOCK: usize = 1 << 22;

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

/// Calls `f(line_number, line)` for every line of `input` (1-based numbers).
pub fn for_each_line(
    input: &mut dyn Read,
    path: &Path,
    mut f: impl FnMut(u64, Line<'_>) -> Result<(), ReadError>,
) -> Result<LineStats, ReadError> {
    let mut stats = LineStats::default();
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut line_no = 0u64;
    let mut eof = false;
    let mut first = true;
    while !eof {
        let filled = buf.len();
        buf.resize(filled + BLOCK, 0);
        let n = loop {
            match input.read(&mut buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(IoError::new(path, e).into()),
            }
        };
        buf.truncate(filled + n);
        eof = n == 0;
        if first && buf.len() >= 3 {
            first = false;
            if buf.starts_with(b"\xEF\xBB\xBF") {
                stats.bom = true;
                buf.drain(..3);
            }
        }
        // Complete lines only, unless the input has ended.
        let end = if eof { buf.len() } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                None => continue,
            }
        };
        let region = &buf[..end];
        let whole = std::str::from_utf8(region).ok();
        let mut pos = 0;
        while pos < region.len() {
            let stop = memchr::memchr(b'\n', &region[pos..]).map_or(region.len(), |i| pos + i);
            let len = split_line(&region[pos..stop], &mut stats);
            line_no += 1;
            let line = match whole {
                Some(text) => Line::Text(&text[pos..pos + len]),
                None => match std::str::from_utf8(&region[pos..pos + len]) {
                    Ok(text) => Line::Text(text),
                    Err(e) => Line::Invalid(&region[pos..pos + len], e),
                },
            };
            f(line_no, line)?;
            pos = stop + 1;
        }
        buf.drain(..end);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> (Vec<(u64, Result<String, Vec<u8>>)>, LineStats) {
        let mut out = Vec::new();
        let stats = for_each_line(&mut &input[..], Path::new("x"), |n, l| {
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
    fn long_inputs_cross_block_boundaries() {
        let line = "token\tO\n".repeat(BLOCK / 4);
        let (got, _) = lines(line.as_bytes());
        assert_eq!(got.len(), BLOCK / 4);
        assert!(got.iter().all(|(_, l)| l.as_deref() == Ok("token\tO")));
    }
}
