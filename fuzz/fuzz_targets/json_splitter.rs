//! The JSON record splitter on any bytes: no panic, every broken stretch's byte range lies
//! inside the input and starts where it says, lines never go backwards, memory bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nerprep::readers::json_stream::JsonRecords;

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut last_line = 0;
    let mut last_end = 0;
    for record in JsonRecords::new(data) {
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
