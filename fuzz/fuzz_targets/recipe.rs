//! The recipe and stage-parameter loader on any text: problems with their lines, or a
//! recipe, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = nerprep::build::recipe::Recipe::parse(text, Path::new("fuzz.yaml"));
    let _ = nerprep::params::from_yaml::<nerprep::emit::EmitParams>(text, Path::new("fuzz.yaml"));
});
