//! `nerprep stats` over ingested fixtures.

use crate::common::{fixture, ingest, nerprep};

#[test]
fn stats_json_counts_samples_labels_and_overlaps() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "conll", "b2nerd", &[fixture("b2nerd/CoNLL2003/train.json")], 0);
    let out = nerprep(&["stats", table.to_str().unwrap(), "--by", "dataset,label", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["samples"], 925);
    assert_eq!(v["labels"], 4);
    assert!(v["spans"]["overlapping"].as_u64().unwrap() + v["spans"]["nested"].as_u64().unwrap() > 0);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4);
    assert_eq!(groups[0]["key"], serde_json::json!(["CoNLL2003", "else"]));
    let total: u64 = groups.iter().map(|g| g["entities"].as_u64().unwrap()).sum();
    assert_eq!(total, v["entities"].as_u64().unwrap());
    assert_eq!(v["stage_counts"]["read"], 925);
}

#[test]
fn stats_markdown_reports_quarantined_records() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "bad", "crossner", &[fixture("bad/crossner_bad_tag.txt")], 1);
    let out = nerprep(&["stats", table.to_str().unwrap()]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("| quarantined records | 1 (bad_tag 1) |"), "{md}");
    assert!(md.contains("## By label"), "{md}");
}
