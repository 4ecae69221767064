//! What the reader targets share: the input is written to a file (readers read files) and
//! read through the same calls `nerprep ingest` makes, then the invariants are checked.

#![allow(dead_code)]

use nerprep::ingest::{read_units, IngestParams};
use nerprep::model::SourceFormat;
use nerprep::params::StageParams;
use nerprep::readers::json_stream::{JsonUnits, UNIT_RECORDS};
use nerprep::readers::mentions::MergeMode;
use nerprep::readers::{self, FileState, Reader, VecSink};
use nerprep::report::Counts;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    check_invariants(&all, "");
    Some(all)
}

/// Panics when a sample of `sink` breaks the table invariants or its counts do not balance;
/// `how` says how the input was read, for the message.
fn check_invariants(sink: &VecSink, how: &str) {
    for sample in &sink.samples {
        if let Err(e) = sample.check() {
            panic!("a sample breaks the table invariants{how}: {e}\n{sample:?}");
        }
    }
    if let Err(e) = sink.counts.check() {
        panic!("the counts do not balance{how}: {e}");
    }
}

/// The mention readers (IEPile, Pile-NER) merge consecutive records of one passage into one
/// sample by default (`--merge consecutive`), also across the units an input is cut into (the
/// ingest driver stitches them). `data` is read whole and cut into units of 1 to 3 records
/// (its first byte chooses): both reads must keep the invariants and give the same samples,
/// quarantine and counts, for where the cuts fall must not change the output. `file_state`
/// gives the reader's state of an input file, fresh for each read.
pub fn check_merge_across_units(reader: &dyn Reader, file_state: impl Fn(&Path) -> Arc<FileState>, data: &[u8]) {
    assert_eq!(reader.merge(), MergeMode::Consecutive, "the reader under test merges consecutive records");
    let cut = 1 + data.first().map_or(0, |b| usize::from(b % 3));
    let read = |unit_records: usize| {
        let file = file_state(Path::new("/nonexistent/fuzz/train.json"));
        let units = JsonUnits::new(file, std::io::Cursor::new(data.to_vec()), Vec::new()).with_unit_records(unit_records);
        let sink = read_units(reader, Box::new(units)).ok()?;
        check_invariants(&sink, &format!(" (merged, units of {unit_records} records)"));
        Some(sink)
    };
    match (read(UNIT_RECORDS), read(cut)) {
        (Some(whole), Some(pieces)) => {
            assert_eq!(whole.samples, pieces.samples, "samples differ with units of {cut} records");
            assert_eq!(whole.quarantined, pieces.quarantined, "quarantine differs with units of {cut} records");
            assert_eq!(whole.counts, pieces.counts, "counts differ with units of {cut} records");
        }
        (None, None) => {}
        (whole, pieces) => panic!(
            "the input is readable {} whole but {} in units of {cut} records",
            if whole.is_some() { "as a" } else { "not as a" },
            if pieces.is_some() { "it is" } else { "not" }
        ),
    }
}
