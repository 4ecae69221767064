//! The XMI reader on any document, with the DKPro type system of the fixtures beside it: no
//! panic, every sample within the table invariants (UTF-16 offsets converted to code points
//! that slice to the entity text), counts balanced. The reader is kept between executions:
//! building the type plan of the 92 KB type system took about 90 % of each execution, and
//! the type system is the same file with the same bytes every time.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use nerprep::model::SourceFormat;
use nerprep::readers::Reader;
use std::cell::RefCell;

const TYPESYSTEM: &[u8] = include_bytes!("../../fixtures/xmi/important_dkpro_types.xml");

thread_local! {
    static READER: RefCell<Box<dyn Reader>> = RefCell::new(common::reader_for(SourceFormat::Xmi, None));
}

fuzz_target!(|data: &[u8]| {
    READER.with(|reader| {
        common::read_and_check_with(reader.borrow_mut().as_mut(), &[("doc.xmi", data), ("TypeSystem.xml", TYPESYSTEM)]);
    });
});
