//! `nerprep agreement` over the INCEpTION project fixture (two annotators who disagree and a
//! curation, written by dkpro-cassis): the figures the fixture script counted in Python
//! (expected.json) and the same worked out by hand.

use crate::common::{fixture, nerprep, nerprep_ok};
use crate::inception::ingest_layers;
use serde_json::Value;
use std::path::Path;

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn agreement(table: &Path, out: &Path) -> (Value, String) {
    let stderr = nerprep_ok(&["agreement", &s(table), "-o", &s(out)], 0);
    (serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap(), stderr)
}

fn tally(v: &Value) -> (u64, u64, u64) {
    (v["tp"].as_u64().unwrap(), v["fp"].as_u64().unwrap(), v["fn"].as_u64().unwrap())
}

#[test]
fn two_annotators_agree_as_counted_by_the_fixture_script_and_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let project = s(&fixture("xmi/project/frame_project.zip"));
    let (table, _) = ingest_layers(dir.path(), "all", &["--annotators", "all", &project], 0);
    let (report, stderr) = agreement(&table, &dir.path().join("agreement"));
    assert_eq!(report["annotators"], serde_json::json!(["alice", "bob"]));
    assert_eq!(report["units"], 2);
    let pair = &report["pairs"][0];
    assert_eq!((pair["first"].as_str(), pair["second"].as_str()), (Some("alice"), Some("bob")));

    let want: Value = serde_json::from_str(&std::fs::read_to_string(fixture("xmi/project/expected.json")).unwrap()).unwrap();
    let want = &want["agreement_alice_bob"];
    assert_eq!(tally(&pair["scores"]["micro"]), tally(&want["overall"]));
    for layer in ["Content", "Coreference", "Metadata"] {
        assert_eq!(tally(&pair["per_layer"][layer]), tally(&want["per_layer"][layer]), "{layer}");
    }
    // By hand: alice and bob share 11 of alice's 14 and bob's 13 entities (doc1: bob lacks
    // `poplar panel` and has `a landscape` for `landscape`; doc2: `lemons` food vs fruit).
    assert_eq!(tally(&pair["scores"]["micro"]), (11, 2, 3));
    assert!((pair["scores"]["micro"]["f1"].as_f64().unwrap() - 22.0 / 27.0).abs() < 1e-12);
    assert!((pair["scores"]["micro"]["precision"].as_f64().unwrap() - 11.0 / 13.0).abs() < 1e-12);
    assert_eq!(tally(&pair["per_layer"]["Metadata"]), (4, 0, 1));
    assert_eq!(tally(&pair["scores"]["per_type"]["fruit"]), (0, 1, 0));
    let disagreements = pair["disagreements"].as_array().unwrap();
    assert_eq!(disagreements.len(), 4);
    let lemons = disagreements.iter().find(|d| d["text"] == "lemons").unwrap();
    assert_eq!((lemons["first"][0]["label"].as_str(), lemons["second"][0]["label"].as_str()), (Some("food"), Some("fruit")));
    assert_eq!(lemons["first"][0]["layer"], "Content");
    let panel = disagreements.iter().find(|d| d["text"] == "poplar panel").unwrap();
    assert_eq!(panel["second"], serde_json::json!([]));
    // The confusion of the two: food -> fruit on the same span, and each one-sided mention.
    let csv = std::fs::read_to_string(dir.path().join("agreement/confusion.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("food,") && l.split(',').filter(|c| *c == "1").count() == 1), "{csv}");
    for f in ["report.md", "confusion.png", "provenance.json"] {
        assert!(dir.path().join("agreement").join(f).exists(), "{f}");
    }
    let md = std::fs::read_to_string(dir.path().join("agreement/report.md")).unwrap();
    assert!(md.contains("| alice – bob | 2 | 84.62 | 78.57 | 81.48 | 11 | 2 | 3 |"), "{md}");
    assert!(stderr.contains("agreement: read 4 = written 4"), "{stderr}");

    // The same run twice gives the same report; the curation is compared when asked for.
    let (again, _) = agreement(&table, &dir.path().join("again"));
    assert_eq!(again, report);
    let (table, _) = ingest_layers(dir.path(), "three", &["--annotators", "alice,bob,curation", &project], 0);
    let (report, _) = agreement(&table, &dir.path().join("three"));
    let pairs: Vec<String> = report["pairs"].as_array().unwrap().iter().map(|p| format!("{}-{}", p["first"], p["second"]).replace('"', "")).collect();
    assert_eq!(pairs, vec!["alice-bob", "alice-curation", "bob-curation"]);
    // alice differs from the curation only on `lemons`: 13 agreed, one each side.
    assert_eq!(tally(&report["pairs"][1]["scores"]["micro"]), (13, 1, 1));
}

#[test]
fn a_table_without_annotators_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest_layers(dir.path(), "curated", &[&s(&fixture("xmi/project/frame_project.zip"))], 0);
    let run = nerprep(&["agreement", &s(&table), "-o", &s(&dir.path().join("r"))]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr.contains("no document was annotated by two annotators (1 annotator(s) found)"), "{stderr}");
}
