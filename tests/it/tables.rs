//! Tables other tools wrote or edited (pyarrow, Polars), provenance, and outputs that commit
//! as a unit: the stage contract (issue 12) seen from the command line.

use crate::common::{client_python, fixture, ingest, nerprep, nerprep_ok, scratch};
use nerprep::model::Sample;
use nerprep::provenance::{read_sidecar, Provenance};
use nerprep::table::{read_all, read_batches, read_provenance};
use std::path::{Path, PathBuf};
use arrow_array::Array;
use std::process::Command;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The CrossNER fixtures ingested, and the foreign variants the client script writes from
/// them; returns (dir, table, edited sample id).
fn foreign_tables(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = scratch(name);
    let (table, _) = ingest(&dir, "crossner", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/foreign_tables.py");
    let out = Command::new(client_python()).arg(script).arg(&table).arg(&dir).output().unwrap();
    assert!(out.status.success(), "client script failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (dir, table, report["edited"].as_str().unwrap().to_string())
}

#[test]
fn a_user_column_added_in_polars_survives_map() {
    let (dir, table, _) = foreign_tables("tables-polars");
    let rows = read_all::<Sample>(&table).unwrap().len();
    let input = dir.join("polars_extra.parquet");
    let out = dir.join("mapped.parquet");
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/crossner.yaml");
    nerprep_ok(&["map", s(&input), "--mapping", s(&mapping), "-o", s(&out)], 0);
    let batches = read_batches(&out).unwrap();
    let urls: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name("source_url").expect("source_url passes through map");
            let col = arrow_array::cast::AsArray::as_string::<i32>(col.as_ref());
            (0..col.len()).map(|i| col.value(i).to_string()).collect::<Vec<_>>()
        })
        .collect();
    let mapped = read_all::<Sample>(&out).unwrap();
    assert_eq!(mapped.len(), rows);
    assert_eq!(urls.len(), rows);
    assert_eq!(urls[0], format!("https://example.org/{}", mapped[0].id));
    assert!(mapped.iter().flat_map(|s| &s.entities).all(|e| e.archetype.is_some()), "every CrossNER label is mapped");
    // Polars' large_string columns read like ours everywhere else too.
    nerprep_ok(&["stats", s(&input)], 0);
}

#[test]
fn entities_of_the_wrong_type_are_named_not_a_panic() {
    let (dir, _, _) = foreign_tables("tables-wrong");
    let input = dir.join("wrong_entities.parquet");
    for args in [vec!["stats", s(&input)], vec!["emit", s(&input), "--template", "b2ner", "-o", s(&dir.join("x.jsonl"))]] {
        let stderr = nerprep_ok(&args, 1);
        assert!(
            stderr.contains("column 'entities' is list<utf8>, expected list<struct<start,end,label,text,…>>"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("wrong_entities.parquet"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!dir.join("x.jsonl").exists());
}

#[test]
fn a_table_from_a_future_version_is_refused() {
    let (dir, _, _) = foreign_tables("tables-future");
    let input = dir.join("future.parquet");
    let stderr = nerprep_ok(&["stats", s(&input)], 1);
    assert!(stderr.contains("table version 99 is newer than this nerprep reads (up to 1)"), "{stderr}");
}

#[test]
fn an_edited_span_is_quarantined_by_map_and_skipped_by_emit() {
    let (dir, table, edited) = foreign_tables("tables-edited");
    let rows = read_all::<Sample>(&table).unwrap().len();
    let input = dir.join("edited_span.parquet");
    let out = dir.join("mapped.parquet");
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/crossner.yaml");
    let stderr = nerprep_ok(&["map", s(&input), "--mapping", s(&mapping), "-o", s(&out)], 1);
    assert!(stderr.contains("1 rows are not valid samples"), "{stderr}");
    let mapped = read_all::<Sample>(&out).unwrap();
    assert_eq!(mapped.len(), rows - 1);
    assert!(mapped.iter().all(|s| s.id != edited));
    let quarantine: Vec<nerprep::model::QuarantineRecord> = read_all(nerprep::io::side_path(&out, "quarantine")).unwrap();
    assert_eq!(quarantine.len(), 1);
    assert_eq!(quarantine[0].reason, "span_text_mismatch");
    assert!(quarantine[0].message.contains(&edited), "{:?}", quarantine[0]);
    let counts = read_provenance(&out).unwrap().unwrap().counts.unwrap();
    assert_eq!((counts.read, counts.written, counts.quarantined_total()), (rows as u64, rows as u64 - 1, 1));

    let jsonl = dir.join("edited.jsonl");
    let stderr = nerprep_ok(&["emit", s(&input), "--template", "b2ner", "-o", s(&jsonl)], 0);
    assert!(stderr.contains("invalid_row:span_text_mismatch 1"), "{stderr}");
    let stderr = nerprep_ok(&["stats", s(&input)], 1);
    assert!(stderr.contains("1 rows are not valid samples"), "{stderr}");
}

/// The provenance of an ingest of `input` with `extra` flags, as JSON text.
fn ingest_provenance(dir: &Path, name: &str, input: &Path, extra: &[&str]) -> (Provenance, Vec<u8>) {
    let out = dir.join(format!("{name}.parquet"));
    let mut args = vec!["ingest", "--format", "crossner"];
    args.extend_from_slice(extra);
    args.extend([s(input), "-o", s(&out)]);
    nerprep_ok(&args, 0);
    (read_provenance(&out).unwrap().unwrap(), std::fs::read(&out).unwrap())
}

#[test]
fn provenance_is_stable_and_changes_with_a_parameter_or_an_input_byte() {
    let dir = scratch("tables-provenance");
    let input = dir.join("music_dev.txt");
    std::fs::copy(fixture("crossner/music_dev.txt"), &input).unwrap();
    let (a, bytes_a) = ingest_provenance(&dir, "a", &input, &[]);
    let (b, bytes_b) = ingest_provenance(&dir, "b", &input, &[]);
    assert_eq!(a, b);
    assert_eq!(bytes_a, bytes_b, "the same run twice gives the same bytes");
    assert_eq!(a.stage, "ingest");
    assert_eq!(a.inputs.len(), 1);
    assert_eq!(a.inputs[0].sha256, nerprep::provenance::sha256_file(&input).unwrap());
    let (c, _) = ingest_provenance(&dir, "c", &input, &["--split", "test"]);
    assert_ne!(c.params, a.params, "a parameter is part of the provenance");
    assert_eq!(c.inputs, a.inputs);
    let mut text = std::fs::read(&input).unwrap();
    let at = text.iter().position(|&b| b == b'e').unwrap(); // a letter of a token, not of a tag
    text[at] = b'a';
    std::fs::write(&input, &text).unwrap();
    let (d, _) = ingest_provenance(&dir, "d", &input, &[]);
    assert_ne!(d.inputs[0].sha256, a.inputs[0].sha256);

    // A table nerprep wrote is identified by the digest recorded in it, not hashed again.
    let jsonl = dir.join("a.jsonl");
    nerprep_ok(&["emit", s(&dir.join("a.parquet")), "--template", "b2ner", "-o", s(&jsonl)], 0);
    let emitted = read_sidecar(&jsonl).unwrap().unwrap();
    assert_eq!(emitted.inputs[0].sha256, a.output.clone().unwrap());
    assert_eq!(emitted.output.unwrap(), nerprep::provenance::sha256_file(&jsonl).unwrap());

    let out = nerprep(&["info", s(&dir.join("a.parquet"))]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("stage: ingest") && text.contains("rows: "), "{text}");
    assert!(text.contains("entities: list<struct<start,end,label,text,archetype,identifier,layer>>"), "{text}");
    let out = nerprep(&["info", s(&jsonl), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["provenance"]["stage"], "emit");
}

#[test]
fn two_emits_into_one_directory_at_once_both_reach_dataset_info() {
    let dir = scratch("tables-emit-race");
    let (table, _) = ingest(&dir, "music", "crossner", &[fixture("crossner/music_dev.txt")], 0);
    for round in 0..4 {
        let out = dir.join(format!("round{round}"));
        let bin = env!("CARGO_BIN_EXE_nerprep");
        let children: Vec<_> = ["one", "two", "three"]
            .iter()
            .map(|name| {
                Command::new(bin)
                    .args(["--quiet", "emit", s(&table), "--template", "b2ner", "-o"])
                    .arg(out.join(format!("{name}.jsonl")))
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("dataset_info.json")).unwrap()).unwrap();
        for name in ["one", "two", "three"] {
            assert_eq!(info[name]["file_name"], format!("{name}.jsonl"), "round {round}: {info}");
        }
    }
}
