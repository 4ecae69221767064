//! The JSON record splitter on any bytes: no panic, every broken stretch's byte range lies
//! inside the input and starts where it says, lines never go backwards, memory bounded, and
//! the fast path gives exactly what stepping every byte gives (also when reads are short).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nerprep::readers::json_stream::JsonRecords;

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut last_line = 0;
    let mut last_end = 0;
    let fast: Vec<_> = JsonRecords::new(data).collect();
    let slow: Vec<_> = JsonRecords::new(std::io::BufReader::with_capacity(5, Trickle(data))).byte_at_a_time().collect();
    assert_eq!(fast, slow, "the fast path and byte-at-a-time disagree");
    for record in fast {
        let line = match record {
            Ok(r) => {
                assert!(r.bytes.len() <= data.len());
                r.line
            }
            Err(e) => {
                assert!(e.start <= e.end && e.end as usize <= data.len(), "byte range {}..{} of {}", e.start, e.end, data.len());
                assert!(e.start >= last_end, "broken stretches do not overlap");
                last_end = e.end;
                let kept = &data[e.start as usize..e.end as usize];
                assert!(kept.starts_with(&e.bytes[..e.bytes.len().min(kept.len())]) || e.bytes.first() == Some(&b'{'));
                e.line
            }
        };
        assert!(line >= last_line && line <= lines, "line {line} after {last_line}, of {lines}");
        last_line = line;
    }
});

/// Hands over at most 5 bytes per read, so records and the byte-order mark cross reads.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(5);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
