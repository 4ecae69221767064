//! IEPile with the default `--merge consecutive`: the records of one sentence merge into one
//! sample, and cutting the input into units of 1 to 3 records (the first byte chooses) gives
//! the same samples, quarantine and counts as reading it whole (see common.rs).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use nerprep::readers::iepile::IepileReader;

fuzz_target!(|data: &[u8]| {
    let reader = IepileReader::default();
    common::check_merge_across_units(&reader, |path| reader.file_state(path), data);
});
