//! The CrossNER (CoNLL) reader on any bytes. Besides the shared invariants, the records it
//! reads are counted here from the lines: one per run of lines that are neither blank nor
//! `-DOCSTART-`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use nerprep::model::SourceFormat;

fuzz_target!(|data: &[u8]| {
    let Some(sink) = common::read_and_check(SourceFormat::Crossner, &[("music_train.txt", data)], None) else { return };
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut records = 0;
    let mut inside = false;
    for line in body.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned();
        let ends = line.trim().is_empty() || line.starts_with("-DOCSTART-");
        if !ends && !inside {
            records += 1;
        }
        inside = !ends;
    }
    assert_eq!(sink.counts.read, records, "records read, counted from the lines");
});
