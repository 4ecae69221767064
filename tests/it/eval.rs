//! `nerprep eval` over real fixtures: perfect predictions written by `nerprep emit`, perturbed
//! predictions checked against a direct computation, LLM answers that need repairs, and bad
//! prediction files.

use crate::common::{fixture, ingest, nerprep, nerprep_ok, read_checked};
use nerprep::answer::{render, AnswerContext, AnswerFormat};
use nerprep::model::{CharIndex, Entity, Span};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files under fixtures/eval, each used by a test below.
const KNOWN_FIXTURES: [&str; 2] = ["bad_predictions.jsonl", "llm_answers_crossner_ai.jsonl"];

#[test]
fn every_eval_fixture_is_registered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture("eval"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, KNOWN_FIXTURES, "register new eval fixtures in KNOWN_FIXTURES");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `nerprep eval`, expecting `code`; returns report.json and stderr.
fn eval(gold: &Path, pred: &Path, format: &str, out: &Path, code: i32) -> (Value, String) {
    let stderr = nerprep_ok(&["eval", "--gold", s(gold), "--pred", s(pred), "--answer-format", format, "-o", s(out)], code);
    let report = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    (report, stderr)
}

fn error_counts(report: &Value) -> BTreeMap<String, u64> {
    report["errors"].as_array().unwrap().iter().map(|e| (e["type"].as_str().unwrap().to_string(), e["count"].as_u64().unwrap())).collect()
}

fn distinct_sample_ids(jsonl: &Path) -> usize {
    let text = std::fs::read_to_string(jsonl).unwrap();
    let ids: BTreeSet<String> =
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["sample_id"].as_str().unwrap().to_string()).collect();
    ids.len()
}

/// (template, answer format, container): every answer format at least once, both containers.
const EMIT_RUNS: [(&str, &str, &str); 9] = [
    ("b2ner", "b2ner", "alpaca"),
    ("b2ner", "inline-bracket", "sharegpt"),
    ("b2ner", "inline-xml", "alpaca"),
    ("b2ner", "json-grouped", "alpaca"),
    ("b2ner", "json-occurrence", "sharegpt"),
    ("b2ner", "json-offset", "alpaca"),
    ("iepile", "iepile", "sharegpt"),
    ("pile-ner", "pile-ner", "alpaca"),
    ("pile-ner", "pile-ner", "sharegpt"),
];

#[test]
fn perfect_predictions_from_emit_score_f1_one_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (en, _) = ingest(dir.path(), "ai", "b2nerd", &[fixture("b2nerd/CrossNER_AI/train.json")], 0);
    let (zh, _) = ingest(dir.path(), "zh", "iepile", &[fixture("iepile/data_NER_train.json")], 0);
    for (gold, name) in [(&en, "en"), (&zh, "zh")] {
        let gold_samples = read_checked(gold).len();
        for (template, format, container) in EMIT_RUNS {
            let tag = format!("{name}-{template}-{format}-{container}");
            let pred = dir.path().join(format!("{tag}.jsonl"));
            nerprep_ok(
                &["emit", s(gold), "--template", template, "--answer-format", format, "--container", container, "-o", s(&pred)],
                0,
            );
            let out = dir.path().join(&tag);
            let (r, _) = eval(gold, &pred, format, &out, 0);
            let emitted = distinct_sample_ids(&pred);
            assert!(emitted > 0, "{tag}: nothing emitted");
            assert_eq!(r["samples"], emitted as u64, "{tag}");
            assert_eq!(r["overall"]["micro"]["f1"], 1.0, "{tag}: {}", r["overall"]["micro"]);
            assert_eq!(r["overall"]["macro"]["f1"], 1.0, "{tag}");
            assert_eq!(r["overall"]["micro"]["fp"], 0, "{tag}");
            assert!(r["gold_entities"].as_u64().unwrap() > 0, "{tag}");
            assert!(error_counts(&r).values().all(|&n| n == 0), "{tag}: {:?}", error_counts(&r));
            assert!(r["counts"]["quarantined"].as_object().unwrap().is_empty(), "{tag}");
            let missing = r["counts"]["notes"]["gold_sample_without_prediction"].as_u64().unwrap_or(0);
            assert_eq!(missing as usize + emitted, gold_samples, "{tag}");
        }
    }
}

#[test]
fn eval_outputs_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (gold, _) = ingest(dir.path(), "ai", "b2nerd", &[fixture("b2nerd/CrossNER_AI/train.json")], 0);
    let pred = fixture("eval/llm_answers_crossner_ai.jsonl");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    eval(&gold, &pred, "iepile", &a, 0);
    eval(&gold, &pred, "iepile", &b, 0);
    for f in nerprep::eval::report::FILES {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    assert_eq!(&std::fs::read(a.join("confusion.png")).unwrap()[..4], b"\x89PNG");
}

/// Predictions made from gold by rule: every fifth entity dropped, the next relabelled, the
/// next cut one code point short, the rest kept; every third sample also predicts its
/// first word (under the first label) when that is not already gold.
fn perturb(text: &str, gold: &[Entity], labels: &[String], counter: &mut usize, sample_no: usize) -> Vec<Entity> {
    let index = CharIndex::new(text);
    let mut out = Vec::new();
    let with_span = |span: Span, label: &str| Entity::new(span, label, index.slice(text, span).unwrap());
    for e in gold {
        let i = *counter;
        *counter += 1;
        match i % 5 {
            0 => {}
            1 => {
                let k = labels.iter().position(|l| *l == e.label).unwrap();
                out.push(with_span(e.span, &labels[(k + 1) % labels.len()]));
            }
            2 if e.span.len() > 1 => out.push(with_span(Span::new(e.span.start(), e.span.end() - 1).unwrap(), &e.label)),
            _ => out.push(e.clone()),
        }
    }
    if sample_no % 3 == 0 {
        let first_word = text.split(' ').next().unwrap_or("");
        let span = Span::new(0, first_word.chars().count() as u32).unwrap();
        if !span.is_empty() && !gold.iter().any(|e| e.span == span && e.label == labels[0]) {
            out.push(with_span(span, &labels[0]));
        }
    }
    out
}

#[test]
fn f1_matches_a_direct_computation_on_perturbed_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let (gold_path, _) = ingest(dir.path(), "conll", "b2nerd", &[fixture("b2nerd/CoNLL2003/train.json")], 0);
    let samples = read_checked(&gold_path);
    let mut lines = String::new();
    let (mut gold_set, mut pred_set) = (BTreeSet::new(), BTreeSet::new());
    let mut exact_span_fp = 0u64;
    let mut counter = 0;
    for (n, sample) in samples.iter().enumerate() {
        let mut labels: Vec<String> = sample.label_set.clone();
        for e in &sample.entities {
            if !labels.contains(&e.label) {
                labels.push(e.label.clone());
            }
        }
        labels.sort();
        let predicted = perturb(&sample.text, &sample.entities, &labels, &mut counter, n);
        let answer = render(AnswerFormat::JsonOffset, AnswerContext { text: &sample.text, labels: &labels }, &predicted).unwrap();
        lines.push_str(&json!({"sample_id": sample.id, "labels": labels, "predict": answer}).to_string());
        lines.push('\n');
        let g: BTreeSet<(Span, String)> = sample.entities.iter().map(|e| (e.span, e.label.clone())).collect();
        let p: BTreeSet<(Span, String)> = predicted.iter().map(|e| (e.span, e.label.clone())).collect();
        exact_span_fp += p.iter().filter(|(s, l)| !g.contains(&(*s, l.clone())) && g.iter().any(|(gs, _)| gs == s)).count() as u64;
        gold_set.extend(g.into_iter().map(|(s, l)| (n, s, l)));
        pred_set.extend(p.into_iter().map(|(s, l)| (n, s, l)));
    }
    let pred_path = dir.path().join("perturbed.jsonl");
    std::fs::write(&pred_path, lines).unwrap();
    let (r, _) = eval(&gold_path, &pred_path, "json-offset", &dir.path().join("report"), 0);

    // The direct computation: set intersections per type.
    let types: BTreeSet<&String> = gold_set.iter().chain(&pred_set).map(|(_, _, l)| l).collect();
    let prf = |tp: usize, fp: usize, fn_: usize| {
        let p = if tp + fp == 0 { 0.0 } else { tp as f64 / (tp + fp) as f64 };
        let r = if tp + fn_ == 0 { 0.0 } else { tp as f64 / (tp + fn_) as f64 };
        (p, r, if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) })
    };
    let mut f1_sum = 0.0;
    for t in &types {
        let g: BTreeSet<_> = gold_set.iter().filter(|x| x.2 == **t).collect();
        let p: BTreeSet<_> = pred_set.iter().filter(|x| x.2 == **t).collect();
        let tp = g.intersection(&p).count();
        let (fp, fn_) = (p.len() - tp, g.len() - tp);
        let got = &r["overall"]["per_type"][t.as_str()];
        assert_eq!((got["tp"].as_u64(), got["fp"].as_u64(), got["fn"].as_u64()), (Some(tp as u64), Some(fp as u64), Some(fn_ as u64)), "{t}");
        let (_, _, f1) = prf(tp, fp, fn_);
        assert!((got["f1"].as_f64().unwrap() - f1).abs() < 1e-12, "{t}");
        f1_sum += f1;
    }
    let tp = gold_set.intersection(&pred_set).count();
    let (fp, fn_) = (pred_set.len() - tp, gold_set.len() - tp);
    let micro = &r["overall"]["micro"];
    assert_eq!((micro["tp"].as_u64(), micro["fp"].as_u64(), micro["fn"].as_u64()), (Some(tp as u64), Some(fp as u64), Some(fn_ as u64)));
    let (p, rec, f1) = prf(tp, fp, fn_);
    for (key, want) in [("precision", p), ("recall", rec), ("f1", f1)] {
        assert!((micro[key].as_f64().unwrap() - want).abs() < 1e-12, "micro {key}");
    }
    assert!((r["overall"]["macro"]["f1"].as_f64().unwrap() - f1_sum / types.len() as f64).abs() < 1e-12);
    assert!(f1 > 0.3 && f1 < 0.8, "the perturbation should hurt: F1 {f1}");
    assert_eq!(r["per_dataset"]["CoNLL2003"]["micro"], r["overall"]["micro"]);
    // Relabelled predictions on a gold span are type errors (every label is in the set).
    assert_eq!(error_counts(&r)["wrong_type"], exact_span_fp);
    assert_eq!(error_counts(&r)["ood_type"], 0);

    // The confusion matrix agrees: its diagonal holds the true positives.
    let csv = std::fs::read_to_string(dir.path().join("report/confusion.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let header = &rows[0];
    let diagonal: u64 = rows[1..]
        .iter()
        .filter(|row| row[0] != "O")
        .map(|row| {
            let col = header.iter().position(|h| *h == row[0]).unwrap();
            row[col].parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(diagonal, tp as u64);
    assert_eq!(header[0], "gold\\predicted");
    assert_eq!(header.last(), Some(&"O"));
}

#[test]
fn llm_answers_are_repaired_counted_and_scored() {
    let dir = tempfile::tempdir().unwrap();
    let (gold, _) = ingest(dir.path(), "ai", "b2nerd", &[fixture("b2nerd/CrossNER_AI/train.json")], 0);
    let out = dir.path().join("report");
    let (r, stderr) = eval(&gold, &fixture("eval/llm_answers_crossner_ai.jsonl"), "iepile", &out, 0);
    assert!(stderr.contains("eval: read 8 = written 8 + quarantined 0"), "{stderr}");
    let micro = &r["overall"]["micro"];
    assert_eq!((micro["tp"].as_u64(), micro["fp"].as_u64(), micro["fn"].as_u64()), (Some(13), Some(9), Some(21)));
    let notes = &r["counts"]["notes"];
    let expected_notes = [
        ("repair:code_fence", 1),
        ("repair:python_literal", 2),
        ("repair:trailing_comma", 1),
        ("repair:surrounding_prose", 1),
        ("repair:duplicate_keys", 1),
        ("repair:truncated", 1),
        ("repair:scalar_as_list", 2),
        ("repair:label_case", 1),
        ("unparseable_answer", 1),
        ("pred_repeated_listing", 1),
        ("gold_sample_without_prediction", 92),
    ];
    for (key, n) in expected_notes {
        assert_eq!(notes[key], n, "{key}: {notes}");
    }
    let want: BTreeMap<String, u64> = [
        ("ood_type", 1),
        ("wrong_type", 1),
        ("contains_gold", 1),
        ("contained_by_gold", 1),
        ("overlaps_gold", 1),
        ("completely_o", 3),
        ("ood_mention", 1),
        ("omitted_mention", 15),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(error_counts(&r), want);
    let ood = r["errors"].as_array().unwrap().iter().find(|e| e["type"] == "ood_mention").unwrap();
    assert_eq!(ood["examples"][0]["predicted"]["mention"], "Atlantis");
    assert_eq!(r["unparseable"][0]["line"], 5);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for section in ["## Per type", "## Error types", "### Completely-O", "## Unparseable answers", "repair:truncated 1"] {
        assert!(md.contains(section), "report.md lacks {section}");
    }
}

#[test]
fn bad_prediction_lines_exit_1_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (gold, _) = ingest(dir.path(), "ai", "b2nerd", &[fixture("b2nerd/CrossNER_AI/train.json")], 0);
    let pred: PathBuf = fixture("eval/bad_predictions.jsonl");
    let (r, stderr) = eval(&gold, &pred, "iepile", &dir.path().join("report"), 1);
    for (line, reason) in [(2, "json_syntax"), (3, "bad_record"), (5, "unknown_sample")] {
        let location = format!("{}:{line}: {reason}", pred.display());
        assert!(stderr.contains(&location), "expected `{location}` in:\n{stderr}");
    }
    assert!(stderr.contains("expected `sample_id` or `id`"), "{stderr}");
    assert_eq!(r["counts"]["read"], 4);
    assert_eq!(r["counts"]["written"], 1);
    assert_eq!(r["overall"]["micro"]["tp"], 1);
}

#[test]
fn eval_usage_errors_exit_2() {
    let out = nerprep(&["eval", "--gold", "g", "--pred", "p", "--answer-format", "xml", "-o", "o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inline-xml"));
}
