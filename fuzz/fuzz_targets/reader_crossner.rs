//! The CrossNER (CoNLL) reader on any bytes. Besides the shared invariants, the records it
//! reads are counted here from the lines: one per run of lines that are neither blank nor
//! `-DOCSTART-`. A line that is not UTF-8 is never a break: the reader cannot tell what it
//! says, so it quarantines it inside its record (`invalid_utf8`) rather than dropping it.
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
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let ends = std::str::from_utf8(line).is_ok_and(|l| l.trim().is_empty() || l.starts_with("-DOCSTART-"));
        if !ends && !inside {
            records += 1;
        }
        inside = !ends;
    }
    assert_eq!(sink.counts.read, records, "records read, counted from the lines");
});
