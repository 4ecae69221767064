//! B2NERD ingest over the real InstructUIE-layout fixtures.

use crate::common::{fixture, ingest, label_counts, read_checked};
use std::collections::BTreeMap;

const DATASETS: [(&str, &str); 4] = [
    ("CrossNER_AI", "train"),
    ("CoNLL2003", "train"),
    ("CrossNER_music", "dev"),
    ("mit-restaurant", "train"),
];

/// Entities per type, and records, counted with a plain JSON parse of the split file.
fn independent_counts(path: &std::path::Path) -> (usize, BTreeMap<String, usize>) {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let records = v.as_array().unwrap();
    let mut m = BTreeMap::new();
    for r in records {
        for e in r["entities"].as_array().unwrap() {
            *m.entry(e["type"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    (records.len(), m)
}

#[test]
fn every_dataset_matches_an_independent_count() {
    let dir = tempfile::tempdir().unwrap();
    for (ds, split) in DATASETS {
        let file = fixture(&format!("b2nerd/{ds}/{split}.json"));
        let (out, _) = ingest(dir.path(), ds, "b2nerd", std::slice::from_ref(&file), 0);
        let samples = read_checked(&out);
        let (records, by_type) = independent_counts(&file);
        assert_eq!(samples.len(), records, "{ds}");
        assert_eq!(label_counts(&samples), by_type, "{ds}");
        assert!(samples.iter().all(|s| s.unaligned.is_empty()), "{ds}: all offsets are right in these files");
        assert!(samples.iter().all(|s| s.dataset == ds && s.split == split));
    }
}

#[test]
fn labels_json_becomes_the_label_set_and_gaps_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = ingest(dir.path(), "music", "b2nerd", &[fixture("b2nerd/CrossNER_music/dev.json")], 0);
    let samples = read_checked(&out);
    let labels: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(fixture("b2nerd/CrossNER_music/labels.json")).unwrap()).unwrap();
    for s in &samples {
        assert_eq!(&s.label_set[..labels.len()], &labels[..]);
        assert!(s.entities.iter().all(|e| s.label_set.contains(&e.label)));
    }
    // The dev split uses CrossNER's raw `organisation`/`misc`, absent from labels.json.
    assert!(stderr.contains("label_missing_from_labels_json:organisation"), "{stderr}");
    assert!(stderr.contains("label_missing_from_labels_json:misc"), "{stderr}");
}

#[test]
fn overlapping_and_unsorted_spans_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = ingest(dir.path(), "conll", "b2nerd", &[fixture("b2nerd/CoNLL2003/train.json")], 0);
    let samples = read_checked(&out);
    let first = &samples[0];
    assert_eq!(first.text, "EU rejects German call to boycott British lamb .");
    assert_eq!(first.entities[0].text, "German", "source order, not text order");
    assert_eq!(first.label_set, vec!["location", "else", "organization", "person"]);
    let overlapping = samples
        .iter()
        .filter(|s| s.entities.iter().enumerate().any(|(i, a)| s.entities[i + 1..].iter().any(|b| a.span.overlaps(b.span))))
        .count();
    assert!(overlapping > 0);
}

#[test]
fn byte_offsets_are_caught_as_unaligned_not_shifted() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = ingest(dir.path(), "edge", "b2nerd", &[fixture("edge/b2nerd_offset_mismatch.json")], 0);
    let samples = read_checked(&out);
    let reasons: Vec<_> = samples[0].unaligned.iter().map(|u| (u.text.as_str(), u.reason.as_str())).collect();
    assert_eq!(reasons, vec![("Müller", "offset_mismatch"), ("said", "offset_mismatch")]);
    assert!(stderr.contains("unaligned:offset_mismatch 2"), "{stderr}");
}
