//! `nerprep prune` over the real B2NERD and CrossNER fixtures (ingested by the binary, embedded with the
//! `hash` model through the library): determinism at 1 and 2 threads and in any input
//! order, accounting and capacity properties, diversity against random-per-type, bad input.

use crate::common::{fixture, ingest, nerprep_ok};
use arrow_array::{Array, BooleanArray, Float32Array, ListArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use nerprep::embed::hash::HashEmbedder;
use nerprep::embed::stage::{embed_table_with, DIM_KEY};
use nerprep::embed::{EmbedParams, What};
use nerprep::embed::Cache;
use nerprep::model::schema::{embedding_schema, embeddings_to_batch, EmbeddingKey, EmbeddingKeys};
use nerprep::model::Sample;
use nerprep::params::StageParams;
use nerprep::progress::NoProgress;
use nerprep::prune::{prune_tables, PruneOutputs, PruneParams, Strategy};
use nerprep::table::{read_all, read_batches, read_counts, BatchWriter};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Two samples tables (the B2NERD and the CrossNER fixtures) and their hash embeddings.
struct Corpus {
    dir: tempfile::TempDir,
    tables: Vec<PathBuf>,
    embs: Vec<PathBuf>,
}

fn embed(table: &Path, out: &Path, dim: usize, what: What) {
    let mut e = HashEmbedder::new(dim);
    let mut cache = Cache::in_memory(dim);
    let params = EmbedParams { model: format!("hash:{dim}").parse().unwrap(), what, ..Default::default() };
    let valid = params.check().unwrap();
    embed_table_with(&valid, &BTreeMap::new(), &mut e, &mut cache, table, out, &NoProgress).unwrap();
}

fn corpus() -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let mut tables = Vec::new();
    let mut embs = Vec::new();
    for name in ["b2nerd", "crossner"] {
        let (table, _) = ingest(dir.path(), name, name, &[fixture(name)], 0);
        let emb = dir.path().join(format!("{name}.emb.parquet"));
        embed(&table, &emb, 64, What::Text);
        tables.push(table);
        embs.push(emb);
    }
    Corpus { dir, tables, embs }
}

/// A decision row: kept, reason, pools, max similarity.
type Row = (bool, String, Vec<String>, Option<f32>);

fn decisions(path: &Path) -> Vec<(String, Row)> {
    let mut out = Vec::new();
    for b in read_batches(path).unwrap() {
        let s = |name: &str| b.column_by_name(name).unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
        let (id, reason) = (s("id"), s("reason"));
        let kept = b.column_by_name("kept").unwrap().as_any().downcast_ref::<BooleanArray>().unwrap().clone();
        let pools = b.column_by_name("pools").unwrap().as_any().downcast_ref::<ListArray>().unwrap().clone();
        let sim = b.column_by_name("max_similarity").unwrap().as_any().downcast_ref::<Float32Array>().unwrap().clone();
        for i in 0..b.num_rows() {
            let p = pools.value(i);
            let p = p.as_any().downcast_ref::<StringArray>().unwrap();
            let p = (0..p.len()).map(|j| p.value(j).to_string()).collect();
            let s = (!sim.is_null(i)).then(|| sim.value(i));
            out.push((id.value(i).to_string(), (kept.value(i), reason.value(i).to_string(), p, s)));
        }
    }
    out
}

fn run(c: &Corpus, name: &str, params: &PruneParams, threads: usize, reverse: bool) -> PruneOutputs {
    let (mut tables, mut embs) = (c.tables.clone(), c.embs.clone());
    if reverse {
        tables.reverse();
        embs.reverse();
    }
    let out = c.dir.path().join(format!("{name}.parquet"));
    let valid = params.check().unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| prune_tables(&tables, &embs, &out, &valid, &NoProgress)).unwrap().outputs
}

fn all_ids(c: &Corpus) -> Vec<String> {
    c.tables.iter().flat_map(|t| read_all::<Sample>(t).unwrap()).map(|s| s.id).collect()
}

#[test]
fn decisions_do_not_depend_on_threads_or_input_order_and_add_up() {
    let c = corpus();
    let params = PruneParams { per_type: 8, negatives_ratio: 0.5, seed: 11, ..Default::default() };
    let one = run(&c, "one", &params, 1, false);
    let two = run(&c, "two", &params, 2, true);
    let (d1, d2) = (decisions(&one.decisions), decisions(&two.decisions));
    let m1: BTreeMap<_, _> = d1.iter().cloned().collect();
    let m2: BTreeMap<_, _> = d2.iter().cloned().collect();
    assert_eq!(m1, m2, "same decisions at 1 and 2 threads, files in either order");
    let s1: serde_json::Value = serde_json::from_slice(&std::fs::read(&one.summary).unwrap()).unwrap();
    let s2: serde_json::Value = serde_json::from_slice(&std::fs::read(&two.summary).unwrap()).unwrap();
    assert_eq!(s1["pools"], s2["pools"]);

    // Every input sample has exactly one decision row, in input order.
    let ids = all_ids(&c);
    assert_eq!(d1.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), ids);
    // The pruned table holds the kept samples, in input order.
    let kept: Vec<String> = d1.iter().filter(|(_, r)| r.0).map(|(id, _)| id.clone()).collect();
    let pruned: Vec<String> = read_all::<Sample>(&one.samples).unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(pruned, kept);
    assert!(!kept.is_empty() && kept.len() < ids.len(), "{} of {}", kept.len(), ids.len());
    // kept + dropped = input, and the counts say so.
    let counts = read_counts(&one.samples).unwrap().unwrap();
    counts.check().unwrap();
    assert_eq!((counts.read, counts.written), (ids.len() as u64, kept.len() as u64));
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for (_, r) in d1.iter().filter(|(_, r)| !r.0) {
        *by_reason.entry(r.1.clone()).or_default() += 1;
    }
    assert_eq!(by_reason, counts.skipped);
    assert!(by_reason.contains_key("pool_full") && by_reason.contains_key("negative_quota_full"), "{by_reason:?}");
    // No pool over capacity; a kept sample was taken by a pool, a dropped one by none.
    let dataset_of: BTreeMap<String, String> =
        c.tables.iter().flat_map(|t| read_all::<Sample>(t).unwrap()).map(|s| (s.id, s.dataset)).collect();
    let mut sizes: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (id, (kept, reason, pools, _)) in &d1 {
        assert_eq!(*kept, reason == "kept");
        assert_eq!(*kept, !pools.is_empty(), "{id}");
        for p in pools {
            *sizes.entry((dataset_of[id].clone(), p.clone())).or_default() += 1;
        }
    }
    for ((dataset, label), n) in &sizes {
        let cap = if label == "(negative)" { 4 } else { 8 };
        assert!(*n <= cap, "{dataset}/{label}: {n} > {cap}");
    }
    assert!(sizes.values().any(|&n| n == 8), "some pool fills: {sizes:?}");
    // The summary agrees with the decisions.
    for row in s1["pools"].as_array().unwrap() {
        let key = (row["dataset"].as_str().unwrap().to_string(), row["label"].as_str().unwrap().to_string());
        assert_eq!(row["pool"].as_u64().unwrap() as usize, sizes.get(&key).copied().unwrap_or(0), "{key:?}");
    }
    // Provenance of the summary sits beside it.
    assert!(nerprep::provenance::read_sidecar(&one.summary).unwrap().is_some());
}

/// Mean over pools of at least two of the pools' mean pairwise cosine.
fn mean_pool_similarity(summary: &Path) -> (f64, f64) {
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    let rows: Vec<&serde_json::Value> = s["pools"].as_array().unwrap().iter().filter(|r| r["pool"].as_u64().unwrap() >= 2).collect();
    let mean = |key: &str| rows.iter().map(|r| r[key].as_f64().unwrap()).sum::<f64>() / rows.len() as f64;
    assert!(rows.len() >= 10, "{} pools", rows.len());
    (mean("pool_similarity"), mean("random_similarity"))
}

#[test]
fn diversity_pools_are_less_similar_than_random_per_type() {
    let c = corpus();
    let base = PruneParams { per_type: 20, seed: 5, ..Default::default() };
    let diverse = run(&c, "diverse", &base, 2, false);
    let random = run(&c, "random", &PruneParams { strategy: Strategy::RandomPerType, ..base.clone() }, 2, false);
    let strict = run(&c, "strict", &PruneParams { offset: -0.3, ..base.clone() }, 2, false);
    let (d, d_baseline) = mean_pool_similarity(&diverse.summary);
    let (r, _) = mean_pool_similarity(&random.summary);
    let (s, _) = mean_pool_similarity(&strict.summary);
    eprintln!("mean intra-pool cosine: diversity {d:.4} (its random baseline {d_baseline:.4}), random-per-type {r:.4}, offset -0.3 {s:.4}");
    assert!(d < r, "diversity {d} should be below random-per-type {r}");
    assert!(d < d_baseline, "diversity {d} should be below its random baseline {d_baseline}");
    assert!(s < d, "a stricter offset {s} should be more diverse than {d}");
}

#[test]
fn cli_writes_three_outputs_and_random_keeps_total() {
    let c = corpus();
    let out = c.dir.path().join("cli.parquet");
    let (t, e) = (c.tables[0].display().to_string(), c.embs[0].display().to_string());
    let o = out.display().to_string();
    let stderr = nerprep_ok(&["prune", &t, "--emb", &e, "-o", &o, "--strategy", "random", "--total", "25", "--seed", "3"], 0);
    assert!(stderr.contains("prune: read"), "{stderr}");
    let outputs = PruneOutputs::of(&out);
    assert_eq!(read_all::<Sample>(&outputs.samples).unwrap().len(), 25);
    assert!(outputs.decisions.ends_with("cli.decisions.parquet") && outputs.decisions.is_file());
    assert!(outputs.summary.ends_with("cli.summary.json") && outputs.summary.is_file());
    let counts = read_counts(&out).unwrap().unwrap();
    assert_eq!(counts.written, 25);
    assert_eq!(counts.skipped.get("not_sampled").copied(), Some(counts.read - 25));
}

#[test]
fn missing_embeddings_are_named_or_skipped_and_counted() {
    let c = corpus();
    let (t0, t1) = (c.tables[0].display().to_string(), c.tables[1].display().to_string());
    let e0 = c.embs[0].display().to_string();
    let o = c.dir.path().join("m.parquet").display().to_string();
    let stderr = nerprep_ok(&["prune", &t0, &t1, "--emb", &e0, "-o", &o], 1);
    let music = read_all::<Sample>(&c.tables[1]).unwrap();
    assert!(stderr.contains(&format!("{} of ", music.len())) && stderr.contains(&music[0].id), "{stderr}");
    assert!(stderr.contains("--missing skip"), "{stderr}");
    assert!(!Path::new(&o).exists(), "nothing written on error");
    nerprep_ok(&["prune", &t0, &t1, "--emb", &e0, "-o", &o, "--missing", "skip"], 0);
    let counts = read_counts(&o).unwrap().unwrap();
    counts.check().unwrap();
    assert_eq!(counts.skipped.get("missing_embedding").copied(), Some(music.len() as u64));
}

#[test]
fn bad_parameters_are_usage_errors_naming_the_flag() {
    let c = corpus();
    let (t, e) = (c.tables[0].display().to_string(), c.embs[0].display().to_string());
    let o = c.dir.path().join("p.parquet").display().to_string();
    let base = ["prune", t.as_str(), "--emb", e.as_str(), "-o", o.as_str()];
    for (extra, want) in [
        (&["--per-type", "0"][..], "--per-type must be at least 1, got 0"),
        (&["--offset", "1.5"][..], "--offset must be in [-1, 1], got 1.5"),
        (&["--offset", "-2"][..], "--offset must be in [-1, 1], got -2"),
        (&["--strategy", "threshold"][..], "--threshold is required by strategy threshold"),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let stderr = nerprep_ok(&args, 2);
        assert!(stderr.contains(want), "{extra:?}: {stderr}");
    }
}

/// Writes an embeddings table of `ids` with `values` (rows of `dim`).
fn write_emb(path: &Path, ids: &[String], dim: usize, values: &[f32]) {
    let meta = BTreeMap::from([(DIM_KEY.to_string(), dim.to_string())]);
    let mut w = BatchWriter::create(path, embedding_schema(dim, EmbeddingKeys::default()).unwrap(), &meta).unwrap();
    let rows: Vec<EmbeddingKey> = ids.iter().map(|id| EmbeddingKey { id: id.to_string(), ..Default::default() }).collect();
    w.write(&embeddings_to_batch(&rows, EmbeddingKeys::default(), dim, values).unwrap()).unwrap();
    w.finish(nerprep::provenance::Provenance::new("test", serde_json::json!({}))).unwrap();
}

#[test]
fn bad_vectors_and_mismatched_tables_are_clear_errors() {
    let c = corpus();
    let t = c.tables[0].display().to_string();
    let o = c.dir.path().join("b.parquet").display().to_string();
    let ids: Vec<String> = read_all::<Sample>(&c.tables[0]).unwrap().into_iter().map(|s| s.id).collect();
    // A NaN in the third sample's vector.
    let mut values = vec![0.5f32; ids.len() * 4];
    values[2 * 4 + 1] = f32::NAN;
    let nan = c.dir.path().join("nan.emb.parquet");
    write_emb(&nan, &ids, 4, &values);
    let stderr = nerprep_ok(&["prune", &t, "--emb", &nan.display().to_string(), "-o", &o], 1);
    assert!(stderr.contains(&format!("embedding of `{}` (row 2) holds NaN at position 1", ids[2])), "{stderr}");
    // Two embeddings tables of different lengths.
    let half = ids.len() / 2;
    let (a, b) = (c.dir.path().join("a.emb.parquet"), c.dir.path().join("b.emb.parquet"));
    write_emb(&a, &ids[..half], 4, &vec![0.5; half * 4]);
    write_emb(&b, &ids[half..], 8, &vec![0.5; (ids.len() - half) * 8]);
    let stderr = nerprep_ok(&["prune", &t, "--emb", &a.display().to_string(), "--emb", &b.display().to_string(), "-o", &o], 1);
    assert!(stderr.contains("vectors of 8 values, but") && stderr.contains("has 4"), "{stderr}");
    // Mention embeddings are not sample embeddings.
    let mentions = c.dir.path().join("mentions.emb.parquet");
    embed(&c.tables[0], &mentions, 16, What::Mentions);
    let stderr = nerprep_ok(&["prune", &t, "--emb", &mentions.display().to_string(), "-o", &o], 1);
    assert!(stderr.contains("holds `mentions` embeddings"), "{stderr}");
    // Not an embeddings table at all.
    let stderr = nerprep_ok(&["prune", &t, "--emb", &t, "-o", &o], 1);
    assert!(stderr.contains("not an embeddings table"), "{stderr}");
}

/// Rewrites a samples table in another writer's layout: its columns in reverse order, the
/// version-2 `archetype` column left out, and a column nerprep does not know added.
fn foreign_layout(table: &Path, out: &Path) {
    let batches = read_batches(table).unwrap();
    let schema = batches[0].schema();
    let mut fields: Vec<_> = schema.fields().iter().filter(|f| f.name() != "archetype").cloned().collect();
    fields.reverse();
    fields.push(Arc::new(Field::new("reviewer", DataType::Utf8, true)));
    let foreign = Arc::new(Schema::new(fields));
    let file = std::fs::File::create(out).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, foreign.clone(), None).unwrap();
    for b in &batches {
        let mut columns: Vec<_> = foreign.fields()[..foreign.fields().len() - 1]
            .iter()
            .map(|f| b.column_by_name(f.name()).unwrap().clone())
            .collect();
        columns.push(Arc::new(StringArray::from(vec![Some("ann"); b.num_rows()])));
        w.write(&RecordBatch::try_new(foreign.clone(), columns).unwrap()).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn a_samples_table_in_another_layout_is_pruned_like_the_canonical_one() {
    let c = corpus();
    let foreign = c.dir.path().join("foreign.parquet");
    foreign_layout(&c.tables[0], &foreign);
    let params = PruneParams { per_type: 5, seed: 4, ..Default::default() }.check().unwrap();
    let prune = |table: &Path, name: &str| {
        let out = c.dir.path().join(format!("{name}.parquet"));
        prune_tables(&[table.to_path_buf()], &c.embs[..1], &out, &params, &NoProgress).unwrap().outputs
    };
    let (canonical, other) = (prune(&c.tables[0], "canonical"), prune(&foreign, "other"));
    assert_eq!(decisions(&canonical.decisions), decisions(&other.decisions));
    let kept = read_all::<Sample>(&canonical.samples).unwrap();
    assert!(!kept.is_empty() && kept.len() < all_ids(&c).len());
    assert_eq!(read_all::<Sample>(&other.samples).unwrap(), kept, "the same samples kept, read back through the canonical layout");
    let written = read_batches(&other.samples).unwrap();
    assert_eq!(written[0].schema().fields(), nerprep::model::schema::samples_schema().fields(), "written in the canonical layout");
}
