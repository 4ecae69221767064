//! `nerprep consensus` (SAM-NER Algorithm 1) on English and Chinese candidates.

use crate::common::{fixture, nerprep_ok};
use serde_json::Value;
use std::path::Path;

/// Files under fixtures/consensus, each used by a test below.
const KNOWN_FIXTURES: [&str; 3] = ["anchor.jsonl", "explorer.jsonl", "explorer_bad.jsonl"];

#[test]
fn every_consensus_fixture_is_registered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture("consensus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, KNOWN_FIXTURES, "register new consensus fixtures in KNOWN_FIXTURES");
}

fn run(explorer: &str, out: &Path, code: i32) -> (Vec<Value>, String) {
    let anchor = fixture("consensus/anchor.jsonl");
    let explorer = fixture(&format!("consensus/{explorer}"));
    let args = ["consensus", "--anchor", anchor.to_str().unwrap(), "--explorer", explorer.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let stderr = nerprep_ok(&args, code);
    let lines = std::fs::read_to_string(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (lines, stderr)
}

fn mentions(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|c| c["mention"].as_str().unwrap()).collect()
}

#[test]
fn one_token_explorer_candidates_need_the_anchor_in_english_and_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("candidates.jsonl");
    let (lines, stderr) = run("explorer.jsonl", &out, 0);
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["en-1", "zh-1", "en-2", "zh-2"], "anchor order, then explorer-only ids");

    let en = &lines[0];
    assert_eq!(
        mentions(&en["candidates"]),
        ["opinion-based recommender system", "text mining", "deep learning", "information retrieval"]
    );
    assert_eq!(mentions(&en["dropped"]), ["techniques", "approaches"]);
    assert_eq!(en["candidates"][2]["sources"], serde_json::json!(["anchor", "explorer"]));
    assert_eq!(en["candidates"][2]["labels"], serde_json::json!(["field", "technology"]));
    assert_eq!(en["counts"], serde_json::json!({"anchor": 3, "explorer": 5, "dropped": 2, "final": 4}));
    assert!(en["text"].as_str().unwrap().starts_with("Popular approaches"));

    // Chinese: one character is one token; words of two or more characters are kept.
    let zh = &lines[1];
    assert_eq!(mentions(&zh["candidates"]), ["青岛海牛队", "广州松日队", "雨中之战", "广州"]);
    assert_eq!(mentions(&zh["dropped"]), ["雨", "战"]);
    assert_eq!(zh["counts"]["final"], 4);

    assert_eq!(mentions(&lines[2]["candidates"]), ["Java"], "anchor-only sample kept whole");
    assert_eq!(mentions(&lines[3]["candidates"]), ["北京"]);
    assert_eq!(mentions(&lines[3]["dropped"]), ["京"]);

    assert!(stderr.contains("consensus: read 6 = written 6 + quarantined 0 + skipped 0"), "{stderr}");
    for note in ["dropped_candidates 5", "samples 4", "anchor_only_sample 1", "explorer_only_sample 1"] {
        assert!(stderr.contains(note), "missing `{note}` in {stderr}");
    }
    let again = dir.path().join("again.jsonl");
    run("explorer.jsonl", &again, 0);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap(), "same inputs, same bytes");
}

#[test]
fn bad_candidate_lines_exit_1_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (lines, stderr) = run("explorer_bad.jsonl", &dir.path().join("out.jsonl"), 1);
    let bad = fixture("consensus/explorer_bad.jsonl");
    for (line, reason) in [(2, "json_syntax"), (3, "bad_record"), (4, "duplicate_id")] {
        let location = format!("{}:{line}: {reason}", bad.display());
        assert!(stderr.contains(&location), "expected `{location}` in:\n{stderr}");
    }
    assert!(stderr.contains("read 7 = written 4 + quarantined 3"), "{stderr}");
    assert_eq!(lines.len(), 3, "the good lines are still merged");
}
