//! `nerprep map` over the real CrossNER, B2NERD and IEPile fixtures.

use crate::common::{fixture, ingest, nerprep, read_checked};
use nerprep::model::{CharIndex, Entity, Sample, SourceFormat, Span};
use nerprep::table::{read_counts, TableWriter};
use nerprep::taxonomy::Mapping;
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).display().to_string()
}

fn run(args: &[&str], code: i32) -> String {
    let out = nerprep(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "nerprep {args:?}\n{stderr}");
    stderr
}

fn coverage(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn crossner_fixtures_map_completely_and_agree_with_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "crossner", "crossner", &[fixture("crossner")], 0);
    let out = dir.path().join("mapped.parquet");
    let report = dir.path().join("coverage.json");
    run(&["map", table.to_str().unwrap(), "--mapping", &repo("mappings/crossner.yaml"), "--unmapped", "error", "-r", report.to_str().unwrap(), "-o", out.to_str().unwrap()], 0);
    let mapping = Mapping::load(repo("mappings/crossner.yaml")).unwrap();
    let before = read_checked(&table);
    let after = read_checked(&out);
    assert_eq!(before.len(), after.len());
    let mut n = 0;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((b.id.as_str(), b.entities.len()), (a.id.as_str(), a.entities.len()));
        for (eb, ea) in b.entities.iter().zip(&a.entities) {
            assert_eq!(eb.archetype, None);
            assert_eq!(ea.archetype.as_deref(), mapping.archetype_of(&ea.label), "{}", ea.label);
            assert_eq!((eb.span, &eb.label), (ea.span, &ea.label));
            n += 1;
        }
    }
    let c = coverage(&report);
    assert_eq!(c["entities"].as_u64(), Some(n));
    assert_eq!((c["entity_share"].as_f64(), c["type_share"].as_f64()), (Some(1.0), Some(1.0)));
    let counts = read_counts(&out).unwrap().unwrap();
    counts.check().unwrap();
    assert_eq!((counts.read, counts.notes["entities_mapped_exact"]), (680, n));
}

#[test]
fn unmapped_types_are_reported_and_policies_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "b2nerd", "b2nerd", &[fixture("b2nerd")], 0);
    let maps = ["--mapping", &repo("mappings/crossner.yaml"), "--mapping", &repo("mappings/iepile.yaml")].map(String::from);
    let t = table.to_str().unwrap().to_string();

    // keep (default): MIT-Restaurant's Hours, Price and Rating are not in Table 4.
    let out = dir.path().join("keep.parquet");
    run(&[&["map", &t][..], &maps.iter().map(String::as_str).collect::<Vec<_>>(), &["-o", out.to_str().unwrap()]].concat(), 0);
    let md = std::fs::read_to_string(dir.path().join("keep.coverage.md")).unwrap();
    for label in ["Hours", "Price", "Rating"] {
        assert!(md.contains(&format!("| `{label}` |")), "{md}");
    }
    let kept = read_checked(&out);
    let unmapped: Vec<&Entity> = kept.iter().flat_map(|s| &s.entities).filter(|e| e.archetype.is_none()).collect();
    assert!(!unmapped.is_empty() && unmapped.iter().all(|e| ["Hours", "Price", "Rating"].contains(&e.label.as_str())));

    // misc: the same entities get Misc.
    let out = dir.path().join("misc.parquet");
    let report = dir.path().join("misc.json");
    run(&[&["map", &t, "--unmapped", "misc", "-r", report.to_str().unwrap()][..], &maps.iter().map(String::as_str).collect::<Vec<_>>(), &["-o", out.to_str().unwrap()]].concat(), 0);
    let c = coverage(&report);
    assert_eq!(c["entities_defaulted_misc"].as_u64(), Some(unmapped.len() as u64));
    assert!(read_checked(&out).iter().flat_map(|s| &s.entities).all(|e| e.archetype.is_some()));

    // error: exit 1 naming the table, a sample and the label; no table written.
    let out = dir.path().join("error.parquet");
    let stderr = run(&[&["map", &t, "--unmapped", "error"][..], &maps.iter().map(String::as_str).collect::<Vec<_>>(), &["-o", out.to_str().unwrap()]].concat(), 1);
    assert!(stderr.contains(&format!("error: {t}: sample mit-restaurant/train/train:4: label `Hours`")), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn normalize_matches_spacing_variants_and_reports_each_hit() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "music", "crossner", &[fixture("crossner/music_dev.txt")], 0);
    let samples = read_checked(&table);
    let count = |l: &str| samples.iter().flat_map(|s| &s.entities).filter(|e| e.label == l).count() as u64;
    // B2NERD's taxonomy spells `musical instrument` and `music genre` with a space.
    let b2nerd = repo("mappings/b2nerd.yaml");
    let out = dir.path().join("m.parquet");
    let report = dir.path().join("m.json");
    let plain = run(&["map", table.to_str().unwrap(), "--mapping", &b2nerd, "-r", report.to_str().unwrap(), "-o", out.to_str().unwrap()], 0);
    assert!(!plain.contains("normalised:"));
    assert_eq!(coverage(&report)["entities_normalized"].as_u64(), Some(0));
    let stderr = run(&["map", table.to_str().unwrap(), "--mapping", &b2nerd, "--normalize", "-r", report.to_str().unwrap(), "-o", out.to_str().unwrap()], 0);
    assert!(stderr.contains("normalised: `musicgenre` -> `music genre` (Creative_Work"), "{stderr}");
    let c = coverage(&report);
    let hits = c["normalized_hits"].as_array().unwrap();
    let hit = |l: &str| hits.iter().find(|h| h["label"] == l).unwrap_or_else(|| panic!("{l}: {hits:?}"));
    assert_eq!(hit("musicalinstrument")["entities"].as_u64(), Some(count("musicalinstrument")));
    assert_eq!(hit("musicgenre")["entities"].as_u64(), Some(count("musicgenre")));
    assert_eq!(c["entities_normalized"].as_u64(), Some(hits.iter().map(|h| h["entities"].as_u64().unwrap()).sum()));
    assert!(c["entities_via_unreviewed"].as_u64().unwrap() > 0, "b2nerd.yaml is a draft");
}

/// IEPile NER records (the repo's example files and the README's English record) as samples,
/// each mention annotated at every occurrence. A stand-in until the IEPile reader lands.
fn iepile_samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for file in ["iepile/data_NER_train.json", "iepile/README_md_lines146-151_en_NER_example.json", "iepile/DeepKE_example_llm_test_ieplile_MSRA_record.json"] {
        let text = std::fs::read_to_string(fixture(file)).unwrap();
        let stream = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
        for (i, rec) in stream.enumerate() {
            let rec = rec.unwrap();
            let instruction: serde_json::Value = serde_json::from_str(rec["instruction"].as_str().unwrap()).unwrap();
            let output: serde_json::Map<String, serde_json::Value> = serde_json::from_str(rec["output"].as_str().unwrap()).unwrap();
            let input = instruction["input"].as_str().unwrap();
            let source = rec["source"].as_str().unwrap();
            let mut s = Sample::new(format!("{source}/train/{file}:{i}"), source, SourceFormat::Iepile, "train", "und", input);
            let index = CharIndex::new(input);
            for (label, mentions) in &output {
                for m in mentions.as_array().unwrap() {
                    let m = m.as_str().unwrap();
                    for (byte, _) in input.match_indices(m) {
                        let start = index.char_of_byte(byte).unwrap();
                        let span = Span::new(start, start + m.chars().count() as u32).unwrap();
                        s.entities.push(Entity::new(span, label.as_str(), m));
                    }
                }
            }
            s.label_set = instruction["schema"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
            s.check().unwrap();
            out.push(s);
        }
    }
    out
}

fn write_table(dir: &Path, samples: Vec<Sample>) -> PathBuf {
    let path = dir.join("iepile.parquet");
    let mut w = TableWriter::<Sample>::create(&path).unwrap();
    for s in samples {
        w.push(s).unwrap();
    }
    w.finish(nerprep::provenance::Provenance::new("test", serde_json::json!({}))).unwrap();
    path
}

#[test]
fn iepile_fixtures_map_or_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let samples = iepile_samples();
    let labels: std::collections::BTreeSet<String> = samples.iter().flat_map(|s| &s.entities).map(|e| e.label.clone()).collect();
    assert!(labels.contains("person") && labels.contains("人物"), "{labels:?}");
    let table = write_table(dir.path(), samples);
    let t = table.to_str().unwrap();

    // Table 4 alone covers the English record; the Chinese labels are reported.
    let out = dir.path().join("en.parquet");
    let report = dir.path().join("en.json");
    run(&["map", t, "--mapping", &repo("mappings/iepile.yaml"), "-r", report.to_str().unwrap(), "-o", out.to_str().unwrap()], 0);
    let c = coverage(&report);
    let unmapped: std::collections::BTreeSet<&str> =
        c["unmapped_types"].as_array().unwrap().iter().map(|u| u["label"].as_str().unwrap()).collect();
    let chinese: std::collections::BTreeSet<&str> = labels.iter().map(String::as_str).filter(|l| !l.is_ascii()).collect();
    assert_eq!(unmapped, chinese);
    for s in read_checked(&out) {
        for e in &s.entities {
            assert_eq!(e.archetype.is_some(), e.label.is_ascii(), "{} in {}", e.label, s.id);
        }
    }

    // With the Chinese mapping too, every entity gets an archetype.
    let out = dir.path().join("all.parquet");
    run(&["map", t, "--mapping", &repo("mappings/iepile.yaml"), "--mapping", &repo("mappings/iepile-zh.yaml"), "--unmapped", "error", "-o", out.to_str().unwrap()], 0);
    let mapped = read_checked(&out);
    assert!(mapped.iter().flat_map(|s| &s.entities).all(|e| e.archetype.is_some()));
    let person = mapped.iter().flat_map(|s| &s.entities).find(|e| e.text == "康有为").unwrap();
    assert_eq!(person.archetype.as_deref(), Some("Person"));
}
