//! The Iepile reader on any bytes: no panic, every sample within the table invariants, counts
//! balanced (see common.rs).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use nerprep::model::SourceFormat;

fuzz_target!(|data: &[u8]| {
    common::read_and_check(SourceFormat::Iepile, &[("train.json", data)], None);
});
