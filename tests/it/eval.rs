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
    if sample_no.is_multiple_of(3) {
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

/// Runs `nerprep eval` with `args` after the gold, on `threads` rayon threads, expecting `code`.
fn eval_with(gold: &Path, args: &[&str], threads: usize, code: i32) -> String {
    let mut all = vec!["eval", "--gold", s(gold)];
    all.extend_from_slice(args);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nerprep"))
        .args(&all)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("run nerprep");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "nerprep {all:?}\nstderr:\n{stderr}");
    stderr
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The UniversalNER evaluation excerpt as a predictions file: each record's conversation,
/// keyed by the gold sample of its passage, its answer replaced by `answer(record index, gold
/// answer)`.
fn uniner_predictions(gold: &Path, out: &Path, answer: impl Fn(usize, &str) -> String) -> PathBuf {
    let ids: BTreeMap<String, String> = crate::common::read_checked(gold).into_iter().map(|s| (s.text, s.id)).collect();
    let records: Value = read_json(&fixture("pile-ner/CrossNER_science_head.json"));
    let mut lines = String::new();
    for (i, r) in records.as_array().unwrap().iter().enumerate() {
        let turns = r["conversations"].as_array().unwrap();
        let text = turns[0]["value"].as_str().unwrap().strip_prefix("Text: ").unwrap();
        let mut conversation = turns.clone();
        conversation[3]["value"] = Value::String(answer(i, turns[3]["value"].as_str().unwrap()));
        lines.push_str(&json!({"sample_id": ids[text], "conversations": conversation}).to_string());
        lines.push('\n');
    }
    std::fs::write(out, lines).unwrap();
    out.to_path_buf()
}

fn uniner_scores(report: &Value) -> &Value {
    let published = report["published"].as_array().unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["scorer"], "uniner");
    &published[0]
}

fn tally(v: &Value) -> (u64, u64, u64) {
    (v["tp"].as_u64().unwrap(), v["fp"].as_u64().unwrap(), v["fn"].as_u64().unwrap())
}

#[test]
fn the_uniner_evaluation_file_scores_one_against_itself_and_the_hand_value_perturbed() {
    let dir = tempfile::tempdir().unwrap();
    let (gold, _) = ingest(dir.path(), "sci", "pile-ner", &[fixture("pile-ner/CrossNER_science_head.json")], 0);
    let itself = uniner_predictions(&gold, &dir.path().join("itself.jsonl"), |_, a| a.to_string());
    let args = |pred: &Path, out: &Path| {
        vec!["--pred".to_string(), s(pred).to_string(), "--answer-format".into(), "pile-ner".into(), "--scorer".into(), "all".into(), "-o".into(), s(out).to_string()]
    };
    let out = dir.path().join("itself");
    let a = args(&itself, &out);
    eval_with(&gold, &a.iter().map(String::as_str).collect::<Vec<_>>(), 2, 0);
    let r = read_json(&out.join("report.json"));
    let u = uniner_scores(&r);
    // 34 passages x 16 types = 544 questions; upstream's parser finds 147 distinct
    // normalised gold mentions in them (counted with evaluate.py's `parser`).
    assert_eq!(u["units"], 544);
    assert_eq!(tally(&u["micro"]), (147, 0, 0));
    assert_eq!(u["micro"]["f1"], 1.0);
    assert_eq!(u["dataset_mean_f1"], 1.0);
    assert_eq!(r["overall"]["micro"]["f1"], 1.0, "strict agrees on the file itself");

    // Perturbed by hand (record index: gold answer -> prediction):
    //   10 `["ESA", "Advanced Concepts Team"]` -> `[]`: 2 misses;
    //    0 `[]` -> `["ESA"]` (ESA is an organization, not a university): 1 false positive;
    //    2 `["99942 Apophis"]` -> `["THE 99942 apophis!"]`: normalises to the gold mention, no change;
    //   63 `["aciclovir triphoshate"]` -> `Answer: [...]`: not a list at the start, read as
    //      empty: 1 miss.
    // tp = 147 - 3 = 144, fp = 1, fn = 3; F1 = 2·144 / (2·144 + 1 + 3) = 288/292.
    let perturbed = uniner_predictions(&gold, &dir.path().join("perturbed.jsonl"), |i, a| match i {
        10 => "[]".to_string(),
        0 => r#"["ESA"]"#.to_string(),
        2 => r#"["THE 99942 apophis!"]"#.to_string(),
        63 => format!("Answer: {a}"),
        _ => a.to_string(),
    });
    let out = dir.path().join("perturbed");
    let a = args(&perturbed, &out);
    eval_with(&gold, &a.iter().map(String::as_str).collect::<Vec<_>>(), 2, 0);
    let r = read_json(&out.join("report.json"));
    let u = uniner_scores(&r);
    assert_eq!(tally(&u["micro"]), (144, 1, 3));
    assert!((u["micro"]["f1"].as_f64().unwrap() - 288.0 / 292.0).abs() < 1e-12, "{}", u["micro"]);
    assert_eq!(u["notes"]["answer_read_as_empty"], 1, "the `Answer: [...]` record");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Published scorers") && md.contains("| uniner | 544 questions |"), "{md}");
}

#[test]
fn bootstrap_intervals_hold_the_point_estimate_and_ignore_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (gold, _) = ingest(dir.path(), "sci", "pile-ner", &[fixture("pile-ner/CrossNER_science_head.json")], 0);
    // Every third question answered `[]`: scores well below 1, so intervals have width.
    let pred = uniner_predictions(&gold, &dir.path().join("p.jsonl"), |i, a| if i % 3 == 0 { "[]".into() } else { a.into() });
    let run = |threads: usize, seed: &str| {
        let out = dir.path().join(format!("t{threads}-s{seed}"));
        eval_with(&gold, &["--pred", s(&pred), "--answer-format", "pile-ner", "--scorer", "all", "--bootstrap", "300", "--seed", seed, "-o", s(&out)], threads, 0);
        std::fs::read(out.join("report.json")).unwrap()
    };
    let one = run(1, "5");
    assert_eq!(one, run(2, "5"), "same seed, 1 and 2 threads: same report");
    assert_ne!(one, run(2, "6"), "another seed draws other resamples");
    let r: Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(r["bootstrap"], json!({"resamples": 300, "seed": 5}));
    let dataset = r["per_dataset"].as_object().unwrap().values().next().unwrap();
    let scopes = [&r["overall"]["micro"], &r["overall"]["macro"], &dataset["micro"], &dataset["macro"], &uniner_scores(&r)["micro"]];
    for scope in scopes {
        let (f1, low, high) = (scope["f1"].as_f64().unwrap(), scope["f1_interval"]["low"].as_f64().unwrap(), scope["f1_interval"]["high"].as_f64().unwrap());
        assert!(low <= f1 && f1 <= high && low < high, "{scope}");
    }
    // Without resamples there is no interval.
    let out = dir.path().join("none");
    eval_with(&gold, &["--pred", s(&pred), "--answer-format", "pile-ner", "--bootstrap", "0", "-o", s(&out)], 2, 0);
    let r = read_json(&out.join("report.json"));
    assert!(r["overall"]["micro"].get("f1_interval").is_none() && r["bootstrap"].is_null());
}

/// A one-sentence B2NERD-layout dataset `Toy`: `Ada saw Paris , then Paris again .` with
/// `Ada` a person and both `Paris` locations; its gold table.
fn toy_gold(dir: &Path) -> PathBuf {
    let data = dir.join("Toy");
    std::fs::create_dir_all(&data).unwrap();
    let sentence = "Ada saw Paris , then Paris again .";
    let entities = json!([
        {"name": "Ada", "type": "person", "pos": [0, 3]},
        {"name": "Paris", "type": "location", "pos": [8, 13]},
        {"name": "Paris", "type": "location", "pos": [21, 26]}
    ]);
    std::fs::write(data.join("test.json"), json!([{"sentence": sentence, "entities": entities}]).to_string()).unwrap();
    std::fs::write(data.join("labels.json"), json!(["person", "location"]).to_string()).unwrap();
    ingest(dir, "toy", "b2nerd", &[data.join("test.json")], 0).0
}

#[test]
fn a_wrongly_typed_listing_of_a_mention_that_occurs_twice_is_one_false_positive() {
    let dir = tempfile::tempdir().unwrap();
    let gold = toy_gold(dir.path());
    let id = crate::common::read_checked(&gold)[0].id.clone();
    let pred = dir.path().join("p.jsonl");
    std::fs::write(&pred, json!({"sample_id": id, "predict": "person: Paris; person: Ada"}).to_string() + "\n").unwrap();
    let out = dir.path().join("report");
    eval_with(&gold, &["--pred", s(&pred), "--answer-format", "b2ner", "--scorer", "all", "-o", s(&out)], 2, 0);
    let r = read_json(&out.join("report.json"));
    // Strict: `person: Ada` is a hit; `person: Paris` is placed once, on the first gold
    // `Paris` (not on both occurrences): 1 false positive; both location `Paris` are missed.
    assert_eq!(tally(&r["overall"]["micro"]), (1, 1, 2));
    assert_eq!(error_counts(&r)["wrong_type"], 1);
    assert_eq!(r["placement"]["gold_same_label"], 1);
    assert_eq!(r["placement"]["gold_other_label"], 1);
    assert_eq!(r["placement"]["aligner"], 0);
    // B2NER compares sets of strings: gold {person:ada, location:paris} (the second `Paris`
    // is the same string), predicted {person:paris, person:ada}: tp 1, fp 1, fn 1.
    let b2ner = &r["published"][0];
    assert_eq!(b2ner["scorer"], "b2ner");
    assert_eq!((b2ner["units"].as_u64(), tally(&b2ner["micro"])), (Some(1), (1, 1, 1)));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Placement of listings") && md.contains("| `gold_other_label` | 1 |"), "{md}");
}

#[test]
fn two_prediction_files_get_a_paired_bootstrap_p_value() {
    let dir = tempfile::tempdir().unwrap();
    let (gold, _) = ingest(dir.path(), "ai", "b2nerd", &[fixture("b2nerd/CrossNER_AI/train.json")], 0);
    let perfect = dir.path().join("perfect.jsonl");
    nerprep_ok(&["emit", s(&gold), "--template", "b2ner", "-o", s(&perfect)], 0);
    // The same records answering `None`: nothing found.
    let text = std::fs::read_to_string(&perfect).unwrap();
    let nothing: String = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            json!({"sample_id": v["sample_id"], "labels": v["labels"], "predict": "None"}).to_string() + "\n"
        })
        .collect();
    let empty = dir.path().join("none.jsonl");
    std::fs::write(&empty, nothing).unwrap();
    let compare = |a: &Path, b: &Path, threads: usize, name: &str| {
        let out = dir.path().join(name);
        eval_with(&gold, &["--pred", s(a), "--pred", s(b), "--answer-format", "b2ner", "--scorer", "all", "--bootstrap", "200", "-o", s(&out)], threads, 0);
        out
    };
    let out = compare(&perfect, &empty, 2, "worse");
    let c = read_json(&out.join("comparison.json"));
    let row = |scorer: &str, average: &str| c["rows"].as_array().unwrap().iter().find(|r| r["scorer"] == scorer && r["average"] == average).unwrap().clone();
    let strict = row("strict", "micro");
    let a = read_json(&out.join("a/report.json"));
    assert_eq!(strict["a"], a["overall"]["micro"]["f1"]);
    assert_eq!(strict["a"], 1.0);
    assert_eq!(strict["b"], 0.0);
    // Every resample scores A 1 and B 0: δ* = δ = -1 each time, never as far from δ as δ is
    // from 0, so p = (1 + 0) / (200 + 1).
    assert_eq!(strict["p_value"].as_f64().unwrap(), 1.0 / 201.0);
    assert_eq!(row("b2ner", "micro")["p_value"].as_f64().unwrap(), 1.0 / 201.0);
    assert_eq!(row("strict", "macro")["difference"], -1.0);
    assert!(c["rows"].as_array().unwrap().iter().all(|r| r["scorer"] != "b2ner" || r["average"] == "micro"));
    assert_eq!(c["paired_samples"].as_u64(), a["samples"].as_u64());
    assert!(out.join("b/report.md").exists() && out.join("provenance.json").exists());
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    assert!(md.contains("| strict | micro | 100.00 | 0.00 | -100.00 |"), "{md}");

    // A file against itself: δ = 0 in every resample, p = 1. And the thread count changes nothing.
    let same = read_json(&compare(&perfect, &perfect, 2, "same").join("comparison.json"));
    assert!(same["rows"].as_array().unwrap().iter().all(|r| r["difference"] == 0.0 && r["p_value"] == 1.0), "{same}");
    let (one, two) = (compare(&perfect, &empty, 1, "one"), compare(&perfect, &empty, 2, "two"));
    assert_eq!(std::fs::read(one.join("comparison.json")).unwrap(), std::fs::read(two.join("comparison.json")).unwrap());
}

#[test]
fn mapped_gold_is_scored_per_archetype_too() {
    let dir = tempfile::tempdir().unwrap();
    let (gold, _) = ingest(dir.path(), "ai", "b2nerd", &[fixture("b2nerd/CrossNER_AI/train.json")], 0);
    let mapped = dir.path().join("mapped.parquet");
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/crossner.yaml");
    nerprep_ok(&["map", s(&gold), "--mapping", s(&mapping), "-o", s(&mapped)], 0);
    let samples = crate::common::read_checked(&mapped);
    // Two labels of one archetype: every entity of the first is predicted as the second.
    let mut by_archetype: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in samples.iter().flat_map(|s| &s.entities) {
        by_archetype.entry(e.archetype.clone().unwrap_or_default()).or_default().insert(e.label.clone());
    }
    let (from, to) = by_archetype.values().find(|l| l.len() >= 2).map(|l| (l.first().unwrap().clone(), l.last().unwrap().clone())).unwrap();
    let mut lines = String::new();
    let mut relabelled = 0u64;
    for sample in &samples {
        let mut labels = sample.label_set.clone();
        if !labels.contains(&to) {
            labels.push(to.clone());
        }
        let predicted: Vec<Entity> = sample
            .entities
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if e.label == from {
                    e.label = to.clone();
                    relabelled += 1;
                }
                e
            })
            .collect();
        let answer = render(AnswerFormat::JsonOffset, AnswerContext { text: &sample.text, labels: &labels }, &predicted).unwrap();
        lines.push_str(&json!({"sample_id": sample.id, "labels": labels, "predict": answer}).to_string());
        lines.push('\n');
    }
    assert!(relabelled > 0);
    let pred = dir.path().join("p.jsonl");
    std::fs::write(&pred, lines).unwrap();
    let out = dir.path().join("report");
    let (r, _) = eval(&mapped, &pred, "json-offset", &out, 0);
    // Strict: each relabelled entity is one false positive and one miss; per archetype the
    // label does not matter, so nothing is wrong.
    let (_, fp, fn_) = tally(&r["overall"]["micro"]);
    assert_eq!((fp, fn_), (relabelled, relabelled));
    let per_archetype = &r["per_archetype"];
    assert_eq!(tally(&per_archetype["micro"]).1 + tally(&per_archetype["micro"]).2, 0, "{per_archetype}");
    assert_eq!(per_archetype["micro"]["f1"], 1.0);
    assert_eq!(per_archetype["per_type"].as_object().unwrap().len(), by_archetype.len());
    assert!(per_archetype["micro"]["f1_interval"].is_object());
    assert!(std::fs::read_to_string(out.join("report.md")).unwrap().contains("## Per archetype"));
    // The unmapped table has none.
    let (r, _) = eval(&gold, &pred, "json-offset", &dir.path().join("unmapped"), 0);
    assert!(r["per_archetype"].is_null());
}

#[test]
fn scorer_and_pred_usage_errors_exit_2() {
    let out = nerprep(&["eval", "--gold", "g", "--pred", "p", "--answer-format", "b2ner", "--scorer", "uniner", "-o", "o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scorer uniner reads pile-ner answers"));
    let out = nerprep(&["eval", "--gold", "g", "--pred", "a", "--pred", "b", "--pred", "c", "--answer-format", "b2ner", "-o", "o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pred is given 3 times"));
    let out = nerprep(&["eval", "--gold", "g", "--pred", "a", "--pred", "b", "--bootstrap", "0", "--answer-format", "b2ner", "-o", "o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bootstrap must be at least 1 to compare"));
}
