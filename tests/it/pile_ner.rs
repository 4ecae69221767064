//! Pile-NER ingest over the real UniversalNER evaluation files and SLIMER's derivative.

use crate::answers::{add, expected_entities};
use crate::common::{fixture, ingest, label_counts, nerprep_ok, read_checked};
use std::collections::BTreeMap;

/// (fixture, passages, types asked per passage)
const CONVERSATIONS: [(&str, usize, usize); 2] =
    [("pile-ner/CrossNER_science_head.json", 34, 16), ("pile-ner/mit-restaurant_head.json", 51, 8)];

/// (type, answer list) pairs of one passage.
type Answers = Vec<(String, Vec<String>)>;

/// Passages with their (type, answer list) pairs, grouped by a plain JSON parse.
fn passages(path: &std::path::Path) -> Vec<(String, Answers)> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out: Vec<(String, Answers)> = Vec::new();
    for r in v.as_array().unwrap() {
        let turns = r["conversations"].as_array().unwrap();
        let text = turns[0]["value"].as_str().unwrap().strip_prefix("Text: ").unwrap().to_string();
        let question = turns[2]["value"].as_str().unwrap();
        let label = question.strip_prefix("What describes ").unwrap().strip_suffix(" in the text?").unwrap();
        let answer: Vec<String> = serde_json::from_str(turns[3]["value"].as_str().unwrap()).unwrap();
        match out.last_mut() {
            Some((t, qa)) if *t == text => qa.push((label.to_string(), answer)),
            _ => out.push((text, vec![(label.to_string(), answer)])),
        }
    }
    out
}

#[test]
fn evaluation_files_give_one_sample_per_passage_with_independent_entity_counts() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (file, n, types)) in CONVERSATIONS.iter().enumerate() {
        let path = fixture(file);
        let (out, stderr) = ingest(dir.path(), &format!("p{i}"), "pile-ner", std::slice::from_ref(&path), 0);
        let samples = read_checked(&out);
        let expected = passages(&path);
        assert_eq!((samples.len(), expected.len()), (*n, *n), "{file}");
        let mut by_label = BTreeMap::new();
        for (sample, (text, qa)) in samples.iter().zip(&expected) {
            assert_eq!(&sample.text, text);
            assert_eq!(sample.label_set.len(), *types, "negatives stay in the label set");
            assert_eq!(sample.label_set, qa.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>());
            assert!(sample.unaligned.is_empty(), "{file}: every answer is in its passage: {:?}", sample.unaligned);
            assert_eq!(sample.meta["merged_records"], *types as u64);
            add(&mut by_label, expected_entities(text, qa));
        }
        assert_eq!(label_counts(&samples), by_label, "{file}");
        let records = n * types;
        assert!(stderr.contains(&format!("read {records} = written {n} + quarantined 0 + skipped {} (merged {})", records - n, records - n)), "{stderr}");
        assert!(stderr.contains(&format!("merge:samples_from_several_records {n}")), "{stderr}");
    }
}

#[test]
fn repeated_answers_map_to_successive_occurrences() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = ingest(dir.path(), "sci", "pile-ner", &[fixture("pile-ner/CrossNER_science_head.json")], 0);
    let samples = read_checked(&out);
    // Answers that list one string several times (e.g. `["5-oxo-ETE", "5-oxo-ETE"]`).
    let mut checked = 0;
    for s in &samples {
        let mut seen: BTreeMap<(&str, &str), Vec<u32>> = BTreeMap::new();
        for e in &s.entities {
            seen.entry((e.label.as_str(), e.text.as_str())).or_default().push(e.span.start());
        }
        for starts in seen.values().filter(|v| v.len() > 1) {
            assert!(starts.windows(2).all(|w| w[0] < w[1]), "distinct, increasing occurrences: {starts:?}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "the excerpt has repeated answers");
}

#[test]
fn slimer_derivative_reads_as_the_evaluation_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture("pile-ner/SLIMER_pileNER_FalseDef_validation_head.jsonl");
    let (out, stderr) = ingest(dir.path(), "slimer", "pile-ner", std::slice::from_ref(&path), 0);
    let samples = read_checked(&out);
    let mut by_label = BTreeMap::new();
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for v in &lines {
        let answer: Vec<String> = serde_json::from_str(v["output"].as_str().unwrap()).unwrap();
        let qa = vec![(v["tagName"].as_str().unwrap().to_string(), answer)];
        add(&mut by_label, expected_entities(v["input"].as_str().unwrap(), &qa));
    }
    assert_eq!(samples.len(), 133, "no two consecutive lines share a passage");
    assert_eq!(label_counts(&samples), by_label);
    assert_eq!(samples[0].meta["source_id"], "42805:1");
    assert!(samples.iter().all(|s| s.dataset == "SLIMER_pileNER_FalseDef_head" && s.split == "dev"));
    assert!(samples.iter().any(|s| s.text.contains('\n')), "passages keep their newlines");
    // Global merging folds the passages that recur later in the file.
    let distinct = lines.iter().map(|v| v["input"].as_str().unwrap()).collect::<std::collections::BTreeSet<_>>().len();
    let out = dir.path().join("slimer_global.parquet");
    nerprep_ok(&["ingest", "--format", "pile-ner", "--merge", "global", path.to_str().unwrap(), "-o", out.to_str().unwrap()], 0);
    let merged = read_checked(&out);
    assert_eq!(merged.len(), distinct);
    assert_eq!(label_counts(&merged).values().sum::<usize>(), by_label.values().sum::<usize>());
    assert!(stderr.contains("read 133 = written 133"), "{stderr}");
}

#[test]
fn the_gliner_file_is_reported_as_not_pile_ner() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture("pile-ner/GLiNER_examples_sample_data_NOT_pile-ner.json");
    let (_, stderr) = ingest(dir.path(), "gliner", "pile-ner", std::slice::from_ref(&path), 1);
    assert!(stderr.contains(&format!("{}:1: gliner_format", path.display())), "{stderr}");
    assert!(stderr.contains("quarantined 64 (gliner_format 64)"), "{stderr}");
}

#[test]
fn odd_conversations_are_tolerated_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = ingest(dir.path(), "odd", "pile-ner", &[fixture("edge/pile_ner_odd_conversations.jsonl")], 0);
    let samples = read_checked(&out);
    for note in [
        "answer_python_repr 1",
        "type_asked_twice 1",
        "question_without_answer 1",
        "unaligned:answer_unparsable 1",
        "unaligned:not_found 1",
        "definition_question 1",
    ] {
        assert!(stderr.contains(note), "{note} in {stderr}");
    }
    assert_eq!(samples.len(), 3);
    // `\u00e9` escapes and raw UTF-8 give the same text and the same code-point spans.
    assert_eq!(samples[0].text, samples[2].text);
    assert_eq!(samples[0].entities, samples[2].entities);
    assert_eq!(samples[0].entities.iter().map(|e| (e.text.as_str(), e.span.start())).collect::<Vec<_>>(), vec![("Café Müller", 0), ("Café Müller", 29), ("Köln", 22)]);
    assert_eq!(samples[1].label_set, vec!["person", "location", "organization", "a place or building where people pay to eat meals"]);
    assert_eq!(samples[1].unaligned.iter().map(|u| u.reason.as_str()).collect::<Vec<_>>(), vec!["answer_unparsable", "not_found"]);
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("pile-ner/CrossNER_science_head.json");
    let mut outputs = Vec::new();
    for threads in ["1", "3"] {
        let out = dir.path().join(format!("t{threads}.parquet"));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_nerprep"))
            .env("RAYON_NUM_THREADS", threads)
            .args(["ingest", "--format", "pile-ner", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(status.status.success());
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
}
