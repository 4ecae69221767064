//! IEPile ingest over the real fixtures: the three variants, task filtering, merging.

use crate::answers::{add, expected_entities};
use crate::common::{fixture, ingest, label_counts, nerprep_ok, read_checked};
use nerprep::model::Sample;
use std::collections::BTreeMap;
use std::path::Path;

/// Every JSON object of a file (JSON Lines or one pretty-printed object), plainly parsed.
fn objects(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => vec![v],
        Err(_) => text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect(),
    }
}

/// (text, schema, answers per label) of an IEPile NER record.
type Decoded = (String, Vec<String>, Vec<(String, Vec<String>)>);

/// Decodes an IEPile NER record in any variant.
fn decode(v: &serde_json::Value, schema_file: &[String]) -> Decoded {
    let by_type = |items: &[serde_json::Value]| {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for it in items {
            let (t, m) = (it["entity_type"].as_str().unwrap().to_string(), it["entity"].as_str().unwrap().to_string());
            match out.iter_mut().find(|(l, _)| *l == t) {
                Some((_, ms)) => ms.push(m),
                None => out.push((t, vec![m])),
            }
        }
        out
    };
    if let Some(text) = v["text"].as_str() {
        return (text.to_string(), schema_file.to_vec(), by_type(v["entity"].as_array().unwrap()));
    }
    let ins: serde_json::Value = serde_json::from_str(v["instruction"].as_str().unwrap()).unwrap();
    let schema: Vec<String> = serde_json::from_value(ins["schema"].clone()).unwrap();
    let answers = match v["output"].as_str() {
        Some(out) => {
            let out: serde_json::Value = serde_json::from_str(out).unwrap();
            out.as_object().unwrap().iter().map(|(k, v)| (k.clone(), serde_json::from_value(v.clone()).unwrap())).collect()
        }
        None => by_type(serde_json::from_str::<serde_json::Value>(v["label"].as_str().unwrap()).unwrap().as_array().unwrap()),
    };
    (ins["input"].as_str().unwrap().to_string(), schema, answers)
}

fn ingest_dir(dir: &Path) -> (Vec<Sample>, String) {
    let (out, stderr) = ingest(dir, "iepile", "iepile", &[fixture("iepile")], 0);
    (read_checked(&out), stderr)
}

#[test]
fn every_variant_matches_an_independent_count_and_other_tasks_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (samples, stderr) = ingest_dir(dir.path());
    let schema_file: Vec<String> = serde_json::from_str(
        std::fs::read_to_string(fixture("iepile/data_NER_schema.json")).unwrap().lines().next().unwrap(),
    )
    .unwrap();
    // Directory order: DeepKE, README, sample, test, train, RE.
    let files = ["DeepKE_example_llm_test_ieplile_MSRA_record.json", "README_md_lines146-151_en_NER_example.json", "data_NER_sample.json", "data_NER_test.json", "data_NER_train.json", "data_RE_train.json"];
    let (mut expected, mut by_label, mut re) = (Vec::new(), BTreeMap::new(), 0);
    for f in files {
        for v in objects(&fixture(&format!("iepile/{f}"))) {
            if v["task"].as_str().is_some_and(|t| t != "NER") {
                re += 1;
                continue;
            }
            let (text, schema, answers) = decode(&v, &schema_file);
            add(&mut by_label, expected_entities(&text, &answers));
            expected.push((text, schema));
        }
    }
    assert_eq!(re, 72);
    assert_eq!(samples.len(), expected.len());
    for (s, (text, schema)) in samples.iter().zip(&expected) {
        assert_eq!((&s.text, &s.label_set), (text, schema));
        assert!(s.unaligned.is_empty(), "{:?}", s.unaligned);
    }
    assert_eq!(label_counts(&samples), by_label);
    assert!(stderr.contains(&format!("read {} = written {} + quarantined 0 + skipped 72 (skipped_task:RE 72)", expected.len() + 72, expected.len())), "{stderr}");
}

#[test]
fn chinese_records_align_including_a_one_character_mention_inside_a_word() {
    let dir = tempfile::tempdir().unwrap();
    let (samples, _) = ingest_dir(dir.path());
    let hu = samples.iter().find(|s| s.text.starts_with("胡老说") && s.id.contains("data_NER_sample")).unwrap();
    let e = &hu.entities[0];
    assert_eq!((e.label.as_str(), e.text.as_str(), e.span.start(), e.span.end()), ("人物", "胡", 0, 1));
    assert_eq!(hu.lang, "zh");
    let teams = samples.iter().find(|s| s.text.starts_with("相比之下") && s.id.contains("data_NER_train")).unwrap();
    let spans: Vec<_> = teams.entities.iter().map(|e| (e.text.as_str(), e.span.start(), e.span.end())).collect();
    assert_eq!(spans, vec![("广州松日队", 11, 16), ("青岛海牛队", 5, 10)], "answer order, code points");
    let msra = samples.iter().find(|s| s.dataset == "MSRA").unwrap();
    assert_eq!(msra.entities.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(), vec!["中华", "康有为", "梁启超", "谭嗣同", "严复"]);
}

#[test]
fn english_record_and_source_as_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let (samples, _) = ingest_dir(dir.path());
    let en = samples.iter().find(|s| s.dataset == "CoNLL2003").unwrap();
    assert_eq!(en.id, "CoNLL2003/unknown/README_md_lines146-151_en_NER_example:0");
    assert_eq!(en.label_set, vec!["person", "organization", "else", "location"]);
    let got: Vec<_> = en.entities.iter().map(|e| (e.label.as_str(), e.text.as_str(), e.span.start())).collect();
    // `Allenby` inside `Robert Allenby` is not annotated twice; its second occurrence is.
    assert_eq!(
        got,
        vec![("person", "Robert Allenby", 4), ("person", "Allenby", 91), ("person", "Miguel Angel Martin", 47), ("location", "Australia", 21), ("location", "Spain", 69)]
    );
    assert_eq!(en.meta["task"], "NER");
    assert!(samples.iter().any(|s| s.dataset == "NER" && s.meta.get("task").is_some()), "the repo samples say source NER");
    let test = samples.iter().find(|s| s.id.contains("data_NER_test")).unwrap();
    assert_eq!(test.dataset, "data_NER", "no source: from the file name");
    assert_eq!(test.meta["iepile_id"].as_str().map(str::len), Some(64));
    let out = dir.path().join("named.parquet");
    nerprep_ok(&["ingest", "--format", "iepile", "--dataset", "x", fixture("iepile").to_str().unwrap(), "-o", out.to_str().unwrap()], 0);
    assert!(read_checked(&out).iter().all(|s| s.dataset == "x" && s.id.starts_with("x/")));
}

#[test]
fn records_repeating_a_sentence_merge_per_mode() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped train and test files ask the same six sentences with different schema orders.
    let mut both = std::fs::read_to_string(fixture("iepile/data_NER_train.json")).unwrap();
    both.push_str(&std::fs::read_to_string(fixture("iepile/data_NER_test.json")).unwrap());
    let input = dir.path().join("both.json");
    std::fs::write(&input, both).unwrap();
    let run = |mode: &str| {
        let out = dir.path().join(format!("{mode}.parquet"));
        let stderr = nerprep_ok(
            &["ingest", "--format", "iepile", "--dataset", "d", "--merge", mode, input.to_str().unwrap(), "-o", out.to_str().unwrap()],
            0,
        );
        (read_checked(&out), stderr)
    };
    let (global, stderr) = run("global");
    assert_eq!(global.len(), 6);
    assert!(stderr.contains("read 12 = written 6 + quarantined 0 + skipped 6 (merged 6)"), "{stderr}");
    assert!(stderr.contains("merge:records_in_merged_samples 12, merge:samples_from_several_records 6"), "{stderr}");
    let train_only = {
        let (out, _) = ingest(dir.path(), "train", "iepile", &[fixture("iepile/data_NER_train.json")], 0);
        read_checked(&out)
    };
    for (merged, single) in global.iter().zip(&train_only) {
        assert_eq!(merged.text, single.text);
        assert_eq!(merged.entities, single.entities, "the same answers twice add nothing");
        assert_eq!(merged.meta["merged_records"], 2);
    }
    assert_eq!(run("consecutive").0.len(), 12);
    assert_eq!(run("none").0.len(), 12);
}
