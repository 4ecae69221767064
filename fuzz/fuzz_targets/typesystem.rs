//! The UIMA type system parser on any bytes: an error or a type system, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nerprep::uima::typesystem::TypeSystem::from_bytes(data, "fuzz.xml");
});
