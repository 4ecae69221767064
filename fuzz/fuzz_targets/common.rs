//! What the reader targets share: the input is written to a file (readers read files) and
//! read through the same calls `nerprep ingest` makes, then the invariants are checked.

#![allow(dead_code)]

use nerprep::ingest::{read_units, IngestParams};
use nerprep::model::SourceFormat;
use nerprep::params::StageParams;
use nerprep::readers::mentions::MergeMode;
use nerprep::readers::{self, Reader, VecSink};
use nerprep::report::Counts;
use std::path::PathBuf;

/// A scratch directory of this fuzzing process.
pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nerprep-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The reader `nerprep ingest` would choose for `format` (with `xmi_entity_type` as
/// `--entity-type`).
pub fn reader_for(format: SourceFormat, xmi_entity_type: Option<&str>) -> Box<dyn Reader> {
    let params = IngestParams {
        format: Some(format),
        merge: MergeMode::None,
        entity_type: xmi_entity_type.map(str::to_string).into_iter().collect(),
        ..IngestParams::default()
    };
    let valid = params.check().expect("fixed parameters are valid");
    readers::for_format(&valid).expect("the reader of fixed parameters builds")
}

/// Reads `files` (name, bytes; the first is the input) as `format` and checks that no
/// sample breaks the table invariants (every entity's text is the text under its span) and
/// that the counts balance. A file-level error (a refused encoding, an unusable type
/// system) is a fine outcome; a panic or a broken invariant is a finding.
pub fn read_and_check(format: SourceFormat, files: &[(&str, &[u8])], xmi_entity_type: Option<&str>) -> Option<VecSink> {
    read_and_check_with(reader_for(format, xmi_entity_type).as_mut(), files)
}

/// [`read_and_check`] with a reader kept by the caller between executions, so that what a
/// reader caches by path (XMI's type plans) is built once per process. Only sound when the
/// cached files (the type system) have the same bytes in every execution.
pub fn read_and_check_with(reader: &mut dyn Reader, files: &[(&str, &[u8])]) -> Option<VecSink> {
    let dir = scratch();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let input = dir.join(files[0].0);
    let mut counts = Counts::new("ingest");
    let found = reader.files(&[input], &mut counts).ok()?;
    let mut all = VecSink::default();
    for path in found {
        readers::check_text_encoding(&path).ok()?;
        let units = reader.units(&path).ok()?;
        let sink = read_units(&*reader, units).ok()?;
        all.samples.extend(sink.samples);
        all.quarantined.extend(sink.quarantined);
        all.counts.absorb(&sink.counts);
    }
    for sample in &all.samples {
        if let Err(e) = sample.check() {
            panic!("a sample breaks the table invariants: {e}\n{sample:?}");
        }
    }
    if let Err(e) = all.counts.check() {
        panic!("the counts do not balance: {e}");
    }
    Some(all)
}
