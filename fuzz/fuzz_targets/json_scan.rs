//! The readers' JSON scanner against serde_json on any bytes: whenever the IEPile or the
//! Pile-NER fast path reads a record, serde_json must read it too, to the same values
//! (`readers::json_scan`: the scanner may leave a record to serde_json, never read it
//! otherwise).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nerprep::readers::{iepile, pile_ner};

fuzz_target!(|data: &[u8]| {
    for (reader, check) in [("iepile", iepile::scan_matches_serde as fn(&[u8]) -> Result<bool, String>), ("pile-ner", pile_ner::scan_matches_serde)] {
        if let Err(e) = check(data) {
            panic!("{reader}: {e}");
        }
    }
});
