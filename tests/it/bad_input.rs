//! Every bad-input fixture: exit code 1, a message naming file and line, nothing else lost.

use crate::common::{fixture, ingest, read_checked};
use nerprep::model::QuarantineRecord;
use std::path::Path;

/// (file under fixtures/bad, format, line named in the message, reason, good samples kept)
const KNOWN_BAD: [(&str, &str, u64, &str, usize); 8] = [
    ("crossner_bad_field_count.txt", "crossner", 4, "bad_field_count", 2),
    ("crossner_empty_token.txt", "crossner", 3, "empty_token", 2),
    ("crossner_bad_tag.txt", "crossner", 3, "bad_tag", 2),
    ("crossner_invalid_utf8.txt", "crossner", 3, "invalid_utf8", 2),
    ("b2nerd_truncated.json", "b2nerd", 1, "json_truncated", 1),
    ("b2nerd_bad_record.json", "b2nerd", 2, "bad_record", 2),
    ("iepile_bad_output.json", "iepile", 2, "bad_output", 2),
    ("pile_ner_missing_text_turn.json", "pile-ner", 3, "missing_text_turn", 2),
];

#[test]
fn every_bad_fixture_is_registered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = KNOWN_BAD.iter().map(|k| k.0.to_string()).collect();
    known.sort();
    assert_eq!(on_disk, known, "register new bad-input fixtures in KNOWN_BAD");
}

#[test]
fn bad_input_exits_1_names_file_and_line_and_keeps_good_records() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (file, format, line, reason, good)) in KNOWN_BAD.iter().enumerate() {
        let path = fixture(&format!("bad/{file}"));
        let (out, stderr) = ingest(dir.path(), &format!("b{i}"), format, std::slice::from_ref(&path), 1);
        let location = format!("{}:{line}: {reason}", path.display());
        assert!(stderr.contains(&location), "{file}: expected `{location}` in:\n{stderr}");
        assert_eq!(read_checked(&out).len(), *good, "{file}");
        let quarantine: Vec<QuarantineRecord> =
            nerprep::table::read_all(out.with_file_name(format!("b{i}.quarantine.parquet"))).unwrap();
        assert_eq!(quarantine.len(), 1, "{file}");
        assert_eq!(quarantine[0].reason, *reason);
        assert!(!quarantine[0].raw.is_empty() || *reason == "json_truncated");
        let counts = nerprep::table::read_counts(&out).unwrap().unwrap();
        counts.check().unwrap();
        assert_eq!(counts.written as usize, *good);
    }
}

#[test]
fn a_missing_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Path::new("no/such/file.txt");
    let out = crate::common::nerprep(&[
        "ingest", "--format", "crossner", missing.to_str().unwrap(), "-o", dir.path().join("x.parquet").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.txt"));
    assert!(!dir.path().join("x.parquet").exists(), "no partial output");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(crate::common::nerprep(&["ingest", "--format", "nope", "x", "-o", "y"]).status.code(), Some(2));
    assert_eq!(crate::common::nerprep(&["frobnicate"]).status.code(), Some(2));
}
