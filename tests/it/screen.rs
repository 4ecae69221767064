//! `nerprep screen` on the hand-made pairs of `fixtures/screen/` (each outcome a known
//! number of times, English and Chinese), on the real CrossNER politics and music fixtures
//! (against a naive mentions × sentences oracle, B2NER's loop), seeded determinism at 1 and
//! 2 threads, the kNN check, and bad input.

use crate::common::{fixture, ingest, nerprep, nerprep_ok, scratch};
use arrow_array::{Array, StringArray, UInt32Array};
use nerprep::model::{Entity, Sample, SourceFormat, Span};
use nerprep::params::StageParams;
use nerprep::progress::NoProgress;
use nerprep::screen::{pair_key, screen_tables, ScreenParams};
use nerprep::table::{read_all, read_batches, TableWriter};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Ingests a `fixtures/screen/` directory as dataset `name`.
fn ingest_b2nerd(dir: &Path, rel: &str, name: &str) -> PathBuf {
    let out = dir.join(format!("{name}.parquet"));
    let src = fixture(&format!("screen/{rel}/train.json"));
    nerprep_ok(&["ingest", "--format", "b2nerd", "--dataset", name, &src.display().to_string(), "-o", &out.display().to_string()], 0);
    out
}

/// The rows of pairs.csv, keyed by `source_dataset/source_label -> target_dataset/target_label`.
fn pairs_csv(out: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(out.join("pairs.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let row: BTreeMap<String, String> = header.iter().zip(l.split(',')).map(|(h, v)| (h.to_string(), v.to_string())).collect();
            (format!("{}/{} -> {}/{}", row["source_dataset"], row["source_label"], row["target_dataset"], row["target_label"]), row)
        })
        .collect()
}

fn counts_of(row: &BTreeMap<String, String>) -> [u64; 6] {
    let n = |k: &str| row[k].parse::<u64>().unwrap();
    [n("matched"), n("consistent"), n("wrong_category"), n("not_extracted"), n("partially_extracted"), n("inside_longer")]
}

/// One row of conflicts.parquet: (pair, mention, start, end, kind, found label, found text).
type Conflict = (u32, String, u32, u32, String, Option<String>, Option<String>);

fn conflicts(out: &Path) -> Vec<Conflict> {
    let mut rows = Vec::new();
    for b in read_batches(out.join("conflicts.parquet")).unwrap() {
        let s = |name: &str| b.column_by_name(name).unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
        let u = |name: &str| b.column_by_name(name).unwrap().as_any().downcast_ref::<UInt32Array>().unwrap().clone();
        let (pair, start, end) = (u("pair"), u("start"), u("end"));
        let (mention, kind, fl, ft) = (s("mention"), s("kind"), s("found_label"), s("found_text"));
        let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
        for i in 0..b.num_rows() {
            rows.push((pair.value(i), mention.value(i).to_string(), start.value(i), end.value(i), kind.value(i).to_string(), opt(&fl, i), opt(&ft, i)));
        }
    }
    rows
}

/// The conflict rows of the pair of pairs.csv `row`, by kind, as (mention, start, end, kind,
/// found label, found text).
fn rows_of(out: &Path, row: &BTreeMap<String, String>) -> Vec<(String, u32, u32, String, Option<String>, Option<String>)> {
    let pair = row["pair"].parse::<u32>().unwrap();
    let mut rows: Vec<_> = conflicts(out).into_iter().filter(|r| r.0 == pair).map(|r| (r.1, r.2, r.3, r.4, r.5, r.6)).collect();
    rows.sort_by(|x, y| x.3.cmp(&y.3));
    rows
}

/// A row of [`rows_of`].
fn row(mention: &str, start: u32, end: u32, kind: &str, found: Option<(&str, &str)>) -> (String, u32, u32, String, Option<String>, Option<String>) {
    (mention.into(), start, end, kind.into(), found.map(|f| f.0.to_string()), found.map(|f| f.1.to_string()))
}

fn provenance(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("provenance.json")).unwrap()).unwrap()
}

#[test]
fn each_outcome_occurs_once_in_the_english_pair() {
    let dir = scratch("screen-en");
    let a = ingest_b2nerd(&dir, "en/alpha", "alpha");
    let b = ingest_b2nerd(&dir, "en/beta", "beta");
    let out = dir.join("out");
    let stderr = nerprep_ok(&["screen", &a.display().to_string(), &b.display().to_string(), "--min-matched", "1", "-o", &out.display().to_string()], 0);
    assert!(stderr.contains("2 datasets, 4 directed label pairs"), "{stderr}");
    let pairs = pairs_csv(&out);
    assert_eq!(pairs.len(), 4, "{:?}", pairs.keys());
    let loc = &pairs["alpha/location -> beta/Location"];
    assert_eq!(counts_of(loc), [4, 1, 1, 1, 1, 1]);
    assert_eq!(loc["conflict_ratio"], "0.7500");
    assert_eq!(loc["reason"], "same name");
    assert_eq!(counts_of(&pairs["alpha/organization -> beta/organisation"]), [1, 1, 0, 0, 0, 0]);
    assert_eq!(counts_of(&pairs["beta/Location -> alpha/location"]), [1, 1, 0, 0, 0, 1]);
    assert_eq!(counts_of(&pairs["beta/organisation -> alpha/organization"]), [2, 1, 1, 0, 0, 0]);

    assert_eq!(
        rows_of(&out, loc),
        vec![
            row("Paris", 10, 15, "consistent", Some(("Location", "Paris"))),
            row("Rome", 7, 11, "not_extracted", None),
            row("Costa Rica", 0, 10, "partially_extracted", Some(("Location", "Rica"))),
            row("Berlin", 0, 6, "wrong_category", Some(("organisation", "Berlin"))),
        ]
    );
    let counts = &provenance(&out)["counts"];
    assert_eq!(counts["notes"]["short_mention"], 1, "`X` is a single character: {counts}");
    assert_eq!(counts["read"].as_u64().unwrap(), 14);
    let sum = counts["written"].as_u64().unwrap()
        + counts["quarantined"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>()
        + counts["skipped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum, 14, "read = screened + quarantined + skipped: {counts}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("alpha location → beta Location"), "{report}");
    assert!(report.contains("'Berlin' labelled `organisation`"), "{report}");
    assert!(report.contains("[Costa Rica]"), "{report}");
    assert!(out.join("heatmap-01-location.png").is_file() && out.join("heatmap-02-organization.png").is_file());
}

#[test]
fn each_outcome_occurs_once_in_the_chinese_pair() {
    let dir = scratch("screen-zh");
    let a = ingest_b2nerd(&dir, "zh/zh_a", "zh_a");
    let b = ingest_b2nerd(&dir, "zh/zh_b", "zh_b");
    let out = dir.join("out");
    nerprep_ok(&["screen", &a.display().to_string(), &b.display().to_string(), "-o", &out.display().to_string()], 0);
    let pairs = pairs_csv(&out);
    assert_eq!(pairs.len(), 2, "组织 is only in zh_b: {:?}", pairs.keys());
    let place = &pairs["zh_a/地名 -> zh_b/地名"];
    assert_eq!(counts_of(place), [4, 1, 1, 1, 1, 1]);
    assert_eq!(counts_of(&pairs["zh_b/地名 -> zh_a/地名"]), [1, 1, 0, 0, 0, 0]);
    assert_eq!(
        rows_of(&out, place),
        vec![
            row("北京", 2, 4, "consistent", Some(("地名", "北京"))),
            row("广州", 0, 2, "not_extracted", None),
            row("南京", 2, 4, "partially_extracted", Some(("地名", "京西"))),
            row("上海", 0, 2, "wrong_category", Some(("组织", "上海"))),
        ],
        "offsets are code points"
    );
}

/// B2NER's way, written plainly: every mention against every sentence, every position.
fn oracle(source: &[Sample], target: &[Sample], source_key: &str, target_key: &str) -> [u64; 6] {
    let mut mentions: Vec<&str> = source.iter().flat_map(|s| &s.entities).filter(|e| pair_key(&e.label) == source_key).map(|e| e.text.as_str()).collect();
    mentions.sort_unstable();
    mentions.dedup();
    mentions.retain(|m| !m.trim().is_empty() && m.trim().chars().count() >= 2);
    let mut c = [0u64; 6];
    for s in target {
        let chars: Vec<char> = s.text.chars().collect();
        for m in &mentions {
            let mc: Vec<char> = m.chars().collect();
            for start in 0..=chars.len().saturating_sub(mc.len()) {
                let end = start + mc.len();
                if chars.len() < mc.len() || chars[start..end] != mc[..] {
                    continue;
                }
                let before = start.checked_sub(1).map(|i| chars[i]);
                let after = chars.get(end).copied();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if (word(before) && word(Some(chars[start]))) || (word(Some(chars[end - 1])) && word(after)) {
                    continue; // English only here: no Han or kana in these fixtures
                }
                let (st, en) = (start as u32, end as u32);
                let ents = &s.entities;
                let exact: Vec<&Entity> = ents.iter().filter(|e| e.span.start() == st && e.span.end() == en).collect();
                let inside = ents.iter().any(|e| e.span.start() <= st && e.span.end() >= en && (e.span.start(), e.span.end()) != (st, en));
                let overlap = ents.iter().any(|e| e.span.start() < en && e.span.end() > st);
                let kind = if !exact.is_empty() {
                    if exact.iter().any(|e| pair_key(&e.label) == target_key) { 1 } else { 2 }
                } else if inside {
                    5
                } else if overlap {
                    4
                } else {
                    3
                };
                c[kind] += 1;
            }
        }
    }
    c[0] = c[1] + c[2] + c[3] + c[4];
    c
}

fn crossner(dir: &Path) -> (PathBuf, PathBuf) {
    let (p, _) = ingest(dir, "politics", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let (m, _) = ingest(dir, "music", "crossner", &[fixture("crossner/music_train.txt"), fixture("crossner/music_dev.txt")], 0);
    (p, m)
}

#[test]
fn crossner_politics_and_music_agree_with_a_naive_loop() {
    let dir = scratch("screen-crossner");
    let (p, m) = crossner(&dir);
    let out = dir.join("out");
    nerprep_ok(&["screen", &p.display().to_string(), &m.display().to_string(), "-o", &out.display().to_string()], 0);
    let pairs = pairs_csv(&out);
    let politics = read_all::<Sample>(&p).unwrap();
    let music = read_all::<Sample>(&m).unwrap();
    for label in ["person", "location", "organisation", "country", "event", "misc"] {
        for (from, to, s, t) in [("crossner_politics", "crossner_music", &politics, &music), ("crossner_music", "crossner_politics", &music, &politics)] {
            let key = format!("{from}/{label} -> {to}/{label}");
            let row = pairs.get(&key).unwrap_or_else(|| panic!("{key} missing: {:?}", pairs.keys()));
            assert_eq!(counts_of(row), oracle(s, t, &pair_key(label), &pair_key(label)), "{key}");
        }
    }
    let person = &pairs["crossner_music/person -> crossner_politics/person"];
    assert!(counts_of(person)[0] > 0, "music's persons occur in politics: {person:?}");
    assert!(pairs.values().any(|r| counts_of(r)[2] > 0), "some wrong categories between the domains");
    // Every kept row slices to its mention in the target sample.
    let texts: BTreeMap<String, String> = politics.iter().chain(&music).map(|s| (s.id.clone(), s.text.clone())).collect();
    for b in read_batches(out.join("conflicts.parquet")).unwrap() {
        let s = |name: &str| b.column_by_name(name).unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
        let u = |name: &str| b.column_by_name(name).unwrap().as_any().downcast_ref::<UInt32Array>().unwrap().clone();
        let (ids, mentions, start, end) = (s("sample_id"), s("mention"), u("start"), u("end"));
        for i in 0..b.num_rows() {
            let text: String = texts[ids.value(i)].chars().skip(start.value(i) as usize).take((end.value(i) - start.value(i)) as usize).collect();
            assert_eq!(text, mentions.value(i));
        }
    }
}

fn run_lib(inputs: &[PathBuf], emb: &[PathBuf], out: &Path, params: &ScreenParams, threads: usize) {
    let valid = params.check().unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| screen_tables(inputs, emb, out, &valid, None, &NoProgress)).unwrap();
}

/// Every file of a directory with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect()
}

#[test]
fn outputs_are_seeded_and_the_same_at_one_and_two_threads() {
    let dir = scratch("screen-determinism");
    let (p, m) = crossner(&dir);
    let inputs = vec![p, m];
    let params = ScreenParams { max_rows_per_pair: 3, seed: 7, ..Default::default() };
    let (one, two, other) = (dir.join("one"), dir.join("two"), dir.join("other"));
    run_lib(&inputs, &[], &one, &params, 1);
    run_lib(&inputs, &[], &two, &params, 2);
    let (f1, f2) = (files(&one), files(&two));
    assert!(f1.contains_key("conflicts.parquet") && f1.contains_key("report.md"), "{:?}", f1.keys());
    assert_eq!(f1, f2, "byte-identical at 1 and 2 threads");
    run_lib(&inputs, &[], &other, &ScreenParams { seed: 8, ..params.clone() }, 2);
    let f3 = files(&other);
    assert_eq!(f1["pairs.csv"], f3["pairs.csv"], "counts do not depend on the seed");
    assert_ne!(conflicts(&one), conflicts(&other), "the sampled rows do");
    let counts = &provenance(&one)["counts"]["notes"];
    let (checked, rows, over) = (counts["occurrences_checked"].as_u64().unwrap(), counts["occurrence_rows"].as_u64().unwrap(), counts["over_row_cap"].as_u64().unwrap());
    assert_eq!(checked, rows + over);
    assert_eq!(rows as usize, conflicts(&one).len());
    assert!(over > 0);
}

/// A samples table of `samples` (id, dataset, text, entities as (start, end, label)).
fn table(path: &Path, samples: &[(&str, &str, &str, &[(u32, u32, &str)])]) -> PathBuf {
    let mut w = TableWriter::<Sample>::create(path).unwrap();
    for (id, dataset, text, ents) in samples {
        let mut s = Sample::new(*id, *dataset, SourceFormat::B2nerd, "train", "en", *text);
        for &(a, b, label) in *ents {
            let mention: String = text.chars().skip(a as usize).take((b - a) as usize).collect();
            s.entities.push(Entity::new(Span::new(a, b).unwrap(), label, mention));
        }
        w.push(s).unwrap();
    }
    w.finish(nerprep::provenance::Provenance::new("test", serde_json::json!({}))).unwrap();
    path.to_path_buf()
}

#[test]
fn one_dataset_or_no_shared_label_is_a_clear_error() {
    let dir = scratch("screen-bad");
    let one = table(&dir.join("one.parquet"), &[("a:0", "a", "Paris is big", &[(0, 5, "LOC")]), ("a:1", "a", "Rome", &[(0, 4, "LOC")])]);
    let out = nerprep(&["screen", &one.display().to_string(), "-o", &dir.join("o1").display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the inputs hold 1 dataset (`a`); screening compares at least two"), "{err}");
    let two = table(&dir.join("two.parquet"), &[("b:0", "b", "Paris is big", &[(0, 5, "city")])]);
    let out = nerprep(&["screen", &one.display().to_string(), &two.display().to_string(), "-o", &dir.join("o2").display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no label pairs across the 2 datasets (a: LOC; b: city)"), "{err}");
    assert!(!dir.join("o2").exists(), "nothing written");
    // The same tables pair once a mapping or label similarity says so.
    let out = dir.join("o3");
    nerprep_ok(&["screen", &one.display().to_string(), &two.display().to_string(), "--similar-labels", "-1", "--model", "hash", "-o", &out.display().to_string()], 0);
    let pairs = pairs_csv(&out);
    assert_eq!(counts_of(&pairs["a/LOC -> b/city"])[1], 1, "{pairs:?}");
    assert!(pairs["a/LOC -> b/city"]["reason"].starts_with("similar "));
    // The output may not be an input.
    let out = nerprep(&["screen", &one.display().to_string(), &two.display().to_string(), "-o", &one.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn case_variants_merge_empty_texts_are_counted_and_a_huge_mention_count_is_capped() {
    let dir = scratch("screen-edge");
    let many = "Paris ".repeat(100_000);
    let a = table(&dir.join("a.parquet"), &[("a:0", "a", "Paris", &[(0, 5, "Location")]), ("a:1", "a", "P", &[(0, 1, "location")]), ("a:2", "a", "", &[])]);
    let b = table(&dir.join("b.parquet"), &[("b:0", "b", &many, &[]), ("b:1", "b", "in Paris", &[(3, 8, "LOCATION ")])]);
    let out = dir.join("out");
    let params = ScreenParams { max_rows_per_pair: 50, ..Default::default() };
    run_lib(&[a.clone(), b.clone()], &[], &out, &params, 2);
    let pairs = pairs_csv(&out);
    assert_eq!(pairs.len(), 2, "Location, location and `LOCATION ` are one type: {:?}", pairs.keys());
    let row = &pairs["a/Location -> b/LOCATION "];
    assert_eq!(counts_of(row), [100_001, 1, 0, 100_000, 0, 0]);
    assert_eq!(row["rows"], "50");
    assert_eq!(conflicts(&out).iter().filter(|r| r.0.to_string() == row["pair"]).count(), 50);
    let counts = &provenance(&out)["counts"];
    assert_eq!(counts["skipped"]["empty_text"], 1, "{counts}");
    assert_eq!(counts["notes"]["short_mention"], 1, "`P` is not searched: {counts}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("- a: `Location` (1), `location` (1)"), "{report}");
}

#[test]
fn archetype_pairs_come_from_a_mapping() {
    let dir = scratch("screen-mapping");
    let (p, m) = crossner(&dir);
    let out = dir.join("out");
    let mapping = fixture("../mappings/crossner.yaml");
    nerprep_ok(&["screen", &p.display().to_string(), &m.display().to_string(), "--mapping", &mapping.display().to_string(), "-o", &out.display().to_string()], 0);
    let pairs = pairs_csv(&out);
    let row = &pairs["crossner_politics/politician -> crossner_music/musicalartist"];
    assert_eq!(row["reason"], "archetype Person");
    assert_eq!(pairs["crossner_politics/person -> crossner_music/person"]["reason"], "same name; archetype Person");
}

#[test]
fn the_knn_check_labels_mentions_by_their_neighbours() {
    use nerprep::embed::hash::HashEmbedder;
    use nerprep::embed::stage::embed_table_with;
    use nerprep::embed::{Cache, EmbedParams, What};
    let dir = scratch("screen-knn");
    let (p, m) = crossner(&dir);
    let embs: Vec<PathBuf> = [&p, &m]
        .iter()
        .map(|t| {
            let out = t.with_extension("mentions.parquet");
            let params = EmbedParams { model: "hash:64".parse().unwrap(), what: What::Mentions, context: 20, ..Default::default() };
            let mut cache = Cache::in_memory(64);
            embed_table_with(&params.check().unwrap(), &BTreeMap::new(), &mut HashEmbedder::new(64), &mut cache, t, &out, &NoProgress).unwrap();
            out
        })
        .collect();
    let params = ScreenParams { knn: Some(5), knn_sample: 30, ..Default::default() };
    let (one, two) = (dir.join("one"), dir.join("two"));
    run_lib(&[p.clone(), m.clone()], &embs, &one, &params, 1);
    run_lib(&[p.clone(), m.clone()], &embs, &two, &params, 2);
    assert_eq!(files(&one), files(&two), "byte-identical at 1 and 2 threads");
    let text = std::fs::read_to_string(one.join("knn.csv")).unwrap();
    let mut shares: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let e = shares.entry(format!("{}/{}/{}", f[0], f[1], f[2])).or_default();
        e.0 += f[5].parse::<f64>().unwrap();
        e.1 += f[4].parse::<u64>().unwrap();
    }
    assert!(shares.contains_key("crossner_politics/crossner_music/person"), "{:?}", shares.keys());
    for (key, (share, n)) in &shares {
        assert!((share - 1.0).abs() < 1e-3, "{key}: shares sum to {share}");
        assert!(*n >= 1 && *n <= 30, "{key}: {n} queried, at most 30");
    }
    assert!(std::fs::read_to_string(one.join("report.md")).unwrap().contains("## kNN check"));
    // --knn without embeddings is refused.
    let out = nerprep(&["screen", &p.display().to_string(), &m.display().to_string(), "--knn", "5", "-o", &dir.join("x").display().to_string()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--knn needs the mention embeddings"));
}

#[test]
fn a_directory_with_other_files_keeps_them_and_stale_heatmaps_of_an_own_directory_go() {
    let dir = scratch("screen-outdir");
    let a = ingest_b2nerd(&dir, "en/alpha", "alpha");
    let b = ingest_b2nerd(&dir, "en/beta", "beta");
    let (a, b) = (a.display().to_string(), b.display().to_string());
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    for _ in 0..2 {
        nerprep_ok(&["screen", &a, &b, "-o", &out.display().to_string()], 0);
        assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
        assert!(out.join("pairs.csv").is_file());
    }
    let own = dir.join("own");
    nerprep_ok(&["screen", &a, &b, "-o", &own.display().to_string()], 0);
    std::fs::write(own.join("heatmap-99-gone.png"), "stale").unwrap();
    nerprep_ok(&["screen", &a, &b, "-o", &own.display().to_string()], 0);
    assert!(!own.join("heatmap-99-gone.png").exists(), "a directory the screen wrote is replaced whole");
}
