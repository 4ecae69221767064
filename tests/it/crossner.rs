//! CrossNER ingest over the real fixtures: counts, offsets, round trip, determinism.

use crate::common::{fixture, ingest, label_counts, nerprep_ok, read_checked};
use std::collections::BTreeMap;

const FILES: [&str; 3] = ["crossner/politics_train.txt", "crossner/music_train.txt", "crossner/music_dev.txt"];

/// Entities per label counted straight from the B- tags of a CoNLL file.
fn count_b_tags(text: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        if let Some((_, tag)) = line.split_once('\t')
            && let Some(label) = tag.strip_prefix("B-") {
                *m.entry(label.to_string()).or_default() += 1;
            }
    }
    m
}

#[test]
fn entity_counts_match_the_b_tags_of_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in FILES.iter().enumerate() {
        let (out, _) = ingest(dir.path(), &format!("f{i}"), "crossner", &[fixture(f)], 0);
        let samples = read_checked(&out);
        let raw = std::fs::read_to_string(fixture(f)).unwrap();
        assert_eq!(label_counts(&samples), count_b_tags(&raw), "{f}");
        assert_eq!(samples.len(), raw.split("\n\n").filter(|s| !s.trim().is_empty()).count(), "{f}");
    }
}

#[test]
fn sample_identity_comes_from_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = ingest(dir.path(), "all", "crossner", &[fixture("crossner")], 0);
    let samples = read_checked(&out);
    assert_eq!(samples.len(), 200 + 100 + 380);
    assert!(stderr.contains("read 680 = written 680 + quarantined 0"), "{stderr}");
    // Directory inputs are read in path order: music_dev, music_train, politics_train.
    assert_eq!(samples[0].id, "crossner_music/dev/music_dev:0");
    assert_eq!(samples[380].dataset, "crossner_music");
    assert_eq!(samples[480].id, "crossner_politics/train/politics_train:0");
    assert!(samples.iter().all(|s| s.lang == "en"));
    let politics = &samples[480];
    assert!(politics.text.starts_with("Parties with mainly Eurosceptic views"), "{}", politics.text);
}

#[test]
fn non_ascii_mentions_have_code_point_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = ingest(dir.path(), "p", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let samples = read_checked(&out);
    let hits: Vec<_> = samples
        .iter()
        .flat_map(|s| s.entities.iter().map(move |e| (s, e)))
        .filter(|(s, e)| !e.text.is_ascii() || !s.text[..s.text.len().min(200)].is_ascii())
        .collect();
    assert!(!hits.is_empty(), "the politics fixture has non-ASCII text");
    for (s, e) in hits {
        let by_chars: String = s.text.chars().skip(e.span.start() as usize).take(e.span.len() as usize).collect();
        assert_eq!(by_chars, e.text);
    }
}

#[test]
fn conll_round_trip_reproduces_every_fixture_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in FILES.iter().enumerate() {
        let (table, _) = ingest(dir.path(), &format!("r{i}"), "crossner", &[fixture(f)], 0);
        let back = dir.path().join(format!("r{i}.txt"));
        nerprep_ok(&["export", "--format", "conll", table.to_str().unwrap(), "-o", back.to_str().unwrap()], 0);
        let original = std::fs::read_to_string(fixture(f)).unwrap();
        assert_eq!(std::fs::read_to_string(&back).unwrap(), original, "{f}");
    }
}

#[test]
fn ingest_is_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = ingest(dir.path(), "a", "crossner", &[fixture("crossner")], 0);
    let (b, _) = ingest(dir.path(), "b", "crossner", &[fixture("crossner")], 0);
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}
