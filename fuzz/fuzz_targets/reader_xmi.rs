//! The XMI reader on any document, with the DKPro type system of the fixtures beside it: no
//! panic, every sample within the table invariants (UTF-16 offsets converted to code points
//! that slice to the entity text), counts balanced.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use nerprep::model::SourceFormat;

const TYPESYSTEM: &[u8] = include_bytes!("../../fixtures/xmi/important_dkpro_types.xml");

fuzz_target!(|data: &[u8]| {
    common::read_and_check(SourceFormat::Xmi, &[("doc.xmi", data), ("TypeSystem.xml", TYPESYSTEM)], None);
});
