//! `nerprep cluster`: scikit-learn parity, k recovery on synthetic blobs, determinism
//! across thread counts, the real IEPile mapping end to end, and every kind of bad input.

use crate::common::{fixture, nerprep_ok};
use arrow_array::Array;
use nerprep::cluster::compare::{agreement, Reference};
use nerprep::cluster::kmeans::Matrix;
use nerprep::cluster::{self, silhouette::silhouette, ClusterParams, Sweep};
use nerprep::embed::stage::DIM_KEY;
use nerprep::model::schema::{embeddings_to_batch, EmbeddingKey, EmbeddingKeys};
use nerprep::params::StageParams;
use nerprep::progress::NoProgress;
use nerprep::provenance::Provenance;
use nerprep::table::BatchWriter;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes an embeddings table of `ids` and row-major `values`, its metadata saying `dim`.
fn write_table(path: &Path, ids: &[String], dim: usize, values: &[f32], metadata_dim: usize) {
    let rows: Vec<EmbeddingKey> = ids.iter().map(|id| EmbeddingKey { id: id.clone(), ..Default::default() }).collect();
    let batch = embeddings_to_batch(&rows, EmbeddingKeys::default(), dim, values).unwrap();
    let meta = BTreeMap::from([(DIM_KEY.to_string(), metadata_dim.to_string())]);
    let mut w = BatchWriter::create(path, batch.schema(), &meta).unwrap();
    w.write(&batch).unwrap();
    w.finish(Provenance::new("test", serde_json::json!({}))).unwrap();
}

/// `per` unit-ish vectors around each of `k` orthogonal directions of `dim` (small noise),
/// from a fixed linear congruential sequence: (ids, values, true cluster of each row).
fn blobs(k: usize, per: usize, dim: usize, noise: f32) -> (Vec<String>, Vec<f32>, Vec<usize>) {
    let mut state = 12345u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let (mut ids, mut values, mut truth) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..k {
        for i in 0..per {
            ids.push(format!("blob{c}/{i}"));
            values.extend((0..dim).map(|j| f32::from(u8::from(j == c)) + noise * next()));
            truth.push(c);
        }
    }
    (ids, values, truth)
}

fn params(k: &str, restarts: usize, refs: usize) -> ClusterParams {
    ClusterParams { k: k.parse().unwrap(), restarts, refs, ..ClusterParams::default() }
}

fn unit_matrix(dim: usize, mut values: Vec<f32>) -> Matrix {
    for row in values.chunks_exact_mut(dim) {
        nerprep::embed::normalize(row);
    }
    Matrix::new(dim, values)
}

#[test]
fn silhouette_and_ari_match_scikit_learn_on_fixed_labels() {
    let text = std::fs::read_to_string(fixture("cluster/sklearn_reference.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let dim = case["dim"].as_u64().unwrap() as usize;
        let values: Vec<f32> = case["rows"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32)).collect();
        let labels: Vec<u32> = case["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let k = *labels.iter().max().unwrap() as usize + 1;
        let m = unit_matrix(dim, values);
        let ours = silhouette(&m, &labels, k, 0, 0);
        let theirs = case["silhouette_cosine"].as_f64().unwrap();
        assert!((ours - theirs).abs() < 1e-6, "{name}: silhouette {ours} vs scikit-learn {theirs}");
        let other: Vec<u32> = case["other_labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let reference = Reference { classes: labels.iter().map(|&l| Some(l as usize)).collect(), names: vec![] };
        let ari = agreement(&other, &reference).ari;
        let expected = case["ari"].as_f64().unwrap();
        assert!((ari - expected).abs() < 1e-12, "{name}: ARI {ari} vs scikit-learn {expected}");
    }
}

#[test]
fn gap_and_silhouette_pick_the_true_k_of_separated_blobs() {
    for true_k in [3, 5] {
        let (_, values, _) = blobs(true_k, 40, 8, 0.2);
        let m = unit_matrix(8, values);
        let valid = params("2..8", 3, 5).check().unwrap();
        let s = cluster::sweep(&m, &valid, &NoProgress);
        assert_eq!(s.choices.gap_1se, Some(true_k), "gap 1-SE: {:?}", s.scores);
        assert_eq!(s.choices.max_silhouette, Some(true_k), "silhouette: {:?}", s.scores);
        assert!(s.choices.silhouette_peaks.contains(&true_k));
        // Each blob is one cluster at the true k.
        let fit = s.fit_of(true_k).unwrap();
        for b in 0..true_k {
            assert!(fit.labels[b * 40..(b + 1) * 40].iter().all(|&l| l == fit.labels[b * 40]), "blob {b} split");
        }
    }
}

fn sweep_on(threads: usize, m: &Matrix, p: &ClusterParams) -> Sweep {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let valid = p.check().unwrap();
    pool.install(|| cluster::sweep(m, &valid, &NoProgress))
}

#[test]
fn same_seed_gives_identical_scores_and_assignments_on_1_and_2_threads() {
    // More rows than one block of parallel work, and a sampled silhouette.
    let (_, values, _) = blobs(4, 400, 6, 1.2);
    let m = unit_matrix(6, values);
    for refs_box in [nerprep::cluster::RefsBox::Uniform, nerprep::cluster::RefsBox::Pca] {
        let p = ClusterParams { silhouette_sample: 1000, refs_box, ..params("2..5", 2, 3) };
        let (one, two) = (sweep_on(1, &m, &p), sweep_on(2, &m, &p));
        assert_eq!(one.scores, two.scores);
        assert_eq!(one.fits, two.fits);
        assert_eq!(one.silhouette_units, 1000);
        let other = sweep_on(2, &m, &ClusterParams { seed: 1, ..p.clone() });
        assert_ne!(one.scores, other.scores, "the seed matters");
    }
}

fn run_cli(dir: &Path, input: &Path, name: &str, extra: &[&str], code: i32) -> (PathBuf, String) {
    let out = dir.join(name);
    let (input, out_s) = (input.display().to_string(), out.display().to_string());
    let mut args = vec!["--quiet", "cluster", input.as_str()];
    args.extend(extra);
    args.extend(["-o", out_s.as_str()]);
    (out.clone(), nerprep_ok(&args, code))
}

#[test]
fn cli_outputs_are_complete_and_byte_identical_across_runs_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, values, _) = blobs(3, 30, 5, 0.3);
    let emb = dir.path().join("blobs.emb.parquet");
    write_table(&emb, &ids, 5, &values, 5);
    let args = ["--k", "2..5", "--restarts", "2", "--refs", "3", "--seed", "4"];
    let (a, _) = run_cli(dir.path(), &emb, "a", &args, 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nerprep"))
        .env("RAYON_NUM_THREADS", "1")
        .args(["--quiet", "cluster", emb.to_str().unwrap()])
        .args(args)
        .args(["-o", dir.path().join("b").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let b = dir.path().join("b");
    let files = ["assignments.parquet", "draft-mapping.yaml", "provenance.json", "scores.csv", "scores.json", "scores.png", "scores.svg"];
    let mut listed: Vec<String> = std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    listed.sort();
    assert_eq!(listed, files);
    for f in files {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f} differs between runs");
    }
    let scores: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(a.join("scores.json")).unwrap()).unwrap();
    assert_eq!(scores["choices"]["gap_1se"], 3);
    assert_eq!(scores["assigned_k"], 3);
    assert_eq!(scores["scores"].as_array().unwrap().len(), 4);
    let csv = std::fs::read_to_string(a.join("scores.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("k,inertia,silhouette,gap,s_k"));
    assert_eq!(csv.lines().count(), 5);
    assert_eq!(&std::fs::read(a.join("scores.png")).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::read_to_string(a.join("scores.svg")).unwrap().contains("<svg"));
    // The side table: keyed by id, in table order, the provenance names the input.
    let batches = nerprep::table::read_batches(a.join("assignments.parquet")).unwrap();
    let got: Vec<String> = batches.iter().flat_map(|b| {
        let col = b.column(0).as_any().downcast_ref::<arrow_array::StringArray>().unwrap().clone();
        (0..col.len()).map(move |i| col.value(i).to_string())
    }).collect();
    assert_eq!(got, ids);
    let prov = nerprep::table::read_provenance(a.join("assignments.parquet")).unwrap().unwrap();
    assert_eq!(prov.stage, "cluster");
    assert_eq!(prov.inputs[0].path, emb.display().to_string());
    assert_eq!(prov.params["k"], "2..5");
    let dir_prov: Provenance = serde_json::from_str(&std::fs::read_to_string(a.join("provenance.json")).unwrap()).unwrap();
    assert!(dir_prov.output.is_some());
}

#[test]
fn iepile_types_cluster_end_to_end_with_a_draft_mapping_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let emb = dir.path().join("iepile.types.emb.parquet");
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/iepile.yaml");
    let m = mapping.display().to_string();
    let args = ["--types-of", m.as_str(), "--model", "hash", "--k", "2..6", "--restarts", "2", "--refs", "3", "--compare", m.as_str()];
    let (out, _) = run_cli(dir.path(), &emb, "clusters", &args, 0);
    let curated = nerprep::taxonomy::Mapping::load(&mapping).unwrap();
    let labels: Vec<&str> = curated.entries().map(|e| e.label.as_str()).collect();
    let draft = nerprep::taxonomy::Mapping::load(out.join("draft-mapping.yaml")).unwrap();
    let mut drafted: Vec<&str> = draft.entries().map(|e| e.label.as_str()).collect();
    assert!(draft.entries().all(|e| !e.reviewed && e.rank.is_some()));
    drafted.sort_unstable();
    let mut expected = labels.clone();
    expected.sort_unstable();
    assert_eq!(drafted, expected, "every type once");
    let scores: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("scores.json")).unwrap()).unwrap();
    assert_eq!(scores["units"], labels.len());
    assert_eq!(scores["compare"]["matched"], labels.len());
    let k = scores["assigned_k"].as_u64().unwrap() as usize;
    assert_eq!(draft.groups.len(), k);
    for row in scores["scores"].as_array().unwrap() {
        let (ari, purity) = (row["ari"].as_f64().unwrap(), row["purity"].as_f64().unwrap());
        assert!((-1.0..=1.0).contains(&ari) && (0.0..=1.0).contains(&purity), "{row}");
    }
    assert!(std::fs::read_to_string(out.join("scores.csv")).unwrap().starts_with("k,inertia,silhouette,gap,s_k,ari,purity\n"));
}

#[test]
fn bad_embeddings_are_refused_with_a_message_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let ids = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
    let mut nan = vec![1.0f32; 12];
    nan[7] = f32::NAN;
    let mut zero = vec![1.0f32; 12];
    zero[3..6].fill(0.0);
    let cases: Vec<(&str, Vec<String>, usize, Vec<f32>, usize, &str)> = vec![
        ("nan", ids(4), 3, nan, 3, "row 2 (id `u2`) holds NaN at position 1"),
        ("zero", ids(4), 3, zero, 3, "row 1 (id `u1`) is all zeros"),
        ("mixed", ids(4), 3, vec![1.0; 12], 4, "vectors of 3, metadata says 4"),
        ("few", ids(4), 3, (0..12).map(|i| i as f32 + 1.0).collect(), 3, "4 units, fewer than the largest k (5)"),
        ("dup", vec!["a".into(), "b".into(), "a".into(), "c".into()], 3, vec![1.0; 12], 3, "id `a` appears in rows 0 and 2"),
    ];
    for (name, ids, dim, values, meta_dim, expected) in cases {
        let path = dir.path().join(format!("{name}.parquet"));
        write_table(&path, &ids, dim, &values, meta_dim);
        let (out, stderr) = run_cli(dir.path(), &path, name, &["--k", "2..5"], 1);
        assert!(stderr.contains(expected) && stderr.contains(&path.display().to_string()), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: nothing written");
    }
    let path = dir.path().join("not-parquet.parquet");
    std::fs::write(&path, b"hello").unwrap();
    let (_, stderr) = run_cli(dir.path(), &path, "np", &[], 1);
    assert!(stderr.contains("not-parquet.parquet"), "{stderr}");
}

#[test]
fn unusable_parameters_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.parquet");
    let (out, stderr) = run_cli(dir.path(), &path, "o", &["--k", "30..2"], 2);
    assert!(stderr.contains("--k must be a range lo..hi with 2 <= lo <= hi, got 30..2"), "{stderr}");
    assert!(!out.exists());
    let (_, stderr) = run_cli(dir.path(), &path, "o", &["--k", "2..x"], 2);
    assert!(stderr.contains("expected a range `lo..hi`"), "{stderr}");
    let (_, stderr) = run_cli(dir.path(), &path, "o", &["--refs", "1", "--restarts", "0"], 2);
    assert!(stderr.contains("--restarts must be at least 1") && stderr.contains("--refs must be at least 2"), "{stderr}");
}

#[test]
fn a_compare_mapping_that_lists_no_unit_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, values, _) = blobs(2, 5, 3, 0.1);
    let emb = dir.path().join("e.parquet");
    write_table(&emb, &ids, 3, &values, 3);
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/iepile.yaml");
    let (_, stderr) = run_cli(dir.path(), &emb, "o", &["--k", "2..3", "--refs", "2", "--compare", mapping.to_str().unwrap()], 1);
    assert!(stderr.contains("none of the 10 unit ids is a label or alias of the mapping (ids like `blob0/0`)"), "{stderr}");
}
